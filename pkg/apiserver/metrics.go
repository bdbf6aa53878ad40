package apiserver

import (
	"github.com/prometheus/client_golang/prometheus"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/component-base/metrics"
	"k8s.io/component-base/metrics/legacyregistry"

	"github.com/vm-apiserver/vm-apiserver/pkg/certauth"
	"github.com/vm-apiserver/vm-apiserver/pkg/simulator"
)

// newMetricsRegistry is the registry of vm-apiserver's own metrics, one per
// server, and the one place where they are registered: the actions'
// (actionmetrics.go), the dropped Events (events.go), the VM gauges of vms
// (vmmetrics.go), the certificate verifications (pkg/certauth) and the
// simulated runtime's. k8s.io/apiserver's own metrics stay in its legacy
// registry; serveMetrics serves both.
func newMetricsRegistry(vms *vmCollector) (metrics.KubeRegistry, error) {
	registry := metrics.NewKubeRegistry()
	for _, m := range []metrics.Registerable{actionsTotal, actionDuration, droppedEvents} {
		if err := registry.Register(m); err != nil {
			return nil, err
		}
	}
	if err := simulator.RegisterMetrics(registry.Register); err != nil {
		return nil, err
	}
	if err := certauth.RegisterMetrics(registry.Register); err != nil {
		return nil, err
	}
	if err := registry.CustomRegister(vms); err != nil {
		return nil, err
	}
	return registry, nil
}

// serveMetrics serves at /metrics the generic server's metrics and those of
// own, in place of the generic server's handler, which serves only its own.
func serveMetrics(s *genericapiserver.GenericAPIServer, own metrics.KubeRegistry) {
	mux := s.Handler.NonGoRestfulMux
	mux.Unregister("/metrics")
	mux.Handle("/metrics", metrics.HandlerFor(prometheus.Gatherers{legacyregistry.DefaultGatherer, own},
		metrics.HandlerOpts{ErrorHandling: metrics.HTTPErrorOnError}))
}
