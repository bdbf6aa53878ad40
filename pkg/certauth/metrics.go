package certauth

import "k8s.io/component-base/metrics"

var verificationsTotal = metrics.NewCounterVec(&metrics.CounterOpts{
	Namespace: "vm_apiserver",
	Name:      "certificate_verifications_total",
	Help: "Client certificate chains verified against a CA bundle, by authenticator (client-cert or front-proxy) and result (verified or refused). " +
		"A verified chain is remembered for its connection until the bundle changes or a certificate of the chain expires, so a connection's later requests are not counted.",
	StabilityLevel: metrics.ALPHA,
}, []string{"authenticator", "result"})

// RegisterMetrics registers the certificate verification counter with
// register, the Register of the registry the server serves at /metrics.
func RegisterMetrics(register func(metrics.Registerable) error) error {
	return register(verificationsTotal)
}

// countVerification counts the verifications of one authenticator.
func countVerification(authenticator string) func(ok bool) {
	return func(ok bool) {
		result := "verified"
		if !ok {
			result = "refused"
		}
		verificationsTotal.WithLabelValues(authenticator, result).Inc()
	}
}
