package e2e

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptrace"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	kubevirtv1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/test/framework"
)

// scrapeMetrics reads the server's /metrics with the admin's credentials and
// parses it as Prometheus' text format.
func scrapeMetrics(t *testing.T, s *framework.Server) map[string]*dto.MetricFamily {
	t.Helper()
	transport, err := rest.TransportFor(s.RESTConfig)
	require.NoError(t, err)
	resp, err := (&http.Client{Transport: transport}).Get(s.URL + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	return families
}

// metricSample is the value of the sample of family name whose labels are
// labels, or 0 when there is none.
func metricSample(families map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	family, ok := families[name]
	if !ok {
		return 0
	}
	for _, m := range family.GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		if len(got) != len(labels) {
			continue
		}
		match := true
		for k, v := range labels {
			match = match && got[k] == v
		}
		if !match {
			continue
		}
		switch {
		case m.GetCounter() != nil:
			return m.GetCounter().GetValue()
		case m.GetGauge() != nil:
			return m.GetGauge().GetValue()
		case m.GetHistogram() != nil:
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	return 0
}

// TestMetricsCountWhatWasDone runs a scripted sequence of actions and checks
// that /metrics counts exactly it: the action counters and latency
// histogram by their deltas (the registry belongs to the test process), and
// the VM gauges by their values.
func TestMetricsCountWhatWasDone(t *testing.T) {
	s := framework.StartServer(t)
	vms := defaultVMs(t, s)
	ctx := context.Background()
	for name, strategy := range map[string]kubevirtv1.VirtualMachineRunStrategy{
		"m-always-1": kubevirtv1.RunStrategyAlways, "m-always-2": kubevirtv1.RunStrategyAlways,
		"m-halted": kubevirtv1.RunStrategyHalted, "m-manual": kubevirtv1.RunStrategyManual,
	} {
		vm := typedVM(t, name)
		vm.Spec.RunStrategy = ptr.To(strategy)
		_, err := vms.Create(ctx, vm, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	before := scrapeMetrics(t, s)
	actions := newActionClient(t, s)

	// The script: what each request must be counted as.
	script := []struct {
		action, vm, body, result string
		code                     int
	}{
		{"stop", "m-always-1", "", "accepted", http.StatusAccepted},
		{"start", "m-halted", "", "accepted", http.StatusAccepted},
		{"stop", "m-always-2", `{"dryRun":["All"]}`, "dry_run", http.StatusAccepted},
		{"start", "m-always-2", "", "conflict", http.StatusConflict},
		{"restart", "m-manual", "", "conflict", http.StatusConflict},
		{"stop", "m-always-2", `{"gracePeriod":-1}`, "invalid", http.StatusBadRequest},
		{"start", "m-missing", "", "invalid", http.StatusNotFound},
	}
	for _, step := range script {
		code, body := actions.do(http.MethodPut, "v1", step.vm, step.action, "", step.body)
		require.Equal(t, step.code, code, "%s %s: %v", step.action, step.vm, body)
	}

	after := scrapeMetrics(t, s)
	want := map[[2]string]float64{}
	perAction := map[string]float64{}
	for _, step := range script {
		want[[2]string{step.action, step.result}]++
		perAction[step.action]++
	}
	for _, action := range []string{"start", "stop", "restart"} {
		for _, result := range []string{"accepted", "dry_run", "conflict", "invalid", "denied", "error"} {
			labels := map[string]string{"action": action, "result": result}
			delta := metricSample(after, "vm_apiserver_actions_total", labels) - metricSample(before, "vm_apiserver_actions_total", labels)
			assert.Equal(t, want[[2]string{action, result}], delta, "vm_apiserver_actions_total%v", labels)
		}
		labels := map[string]string{"action": action}
		delta := metricSample(after, "vm_apiserver_action_duration_seconds", labels) - metricSample(before, "vm_apiserver_action_duration_seconds", labels)
		assert.Equal(t, perAction[action], delta, "observations of vm_apiserver_action_duration_seconds%v", labels)
	}

	// The gauges follow the informer: after the script m-always-1 is
	// Halted, m-halted and m-always-2 are Always, m-manual is Manual, and
	// no runtime wrote a status.
	wantStrategies := map[string]float64{"Always": 2, "Halted": 1, "Manual": 1}
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		got := scrapeMetrics(t, s)
		for strategy, n := range wantStrategies {
			if metricSample(got, "vm_apiserver_virtualmachines_by_run_strategy", map[string]string{"run_strategy": strategy}) != n {
				return false, nil
			}
		}
		return metricSample(got, "vm_apiserver_virtualmachines_by_status", map[string]string{"printable_status": "Unknown"}) == 4, nil
	})
	require.NoError(t, err, "the VM gauges never reached the script's result")
	got := scrapeMetrics(t, s)
	assert.Greater(t, metricSample(got, "vm_apiserver_virtualmachines_status_longest_seconds", map[string]string{"printable_status": "Unknown"}), 0.0)
}

// TestClientCertificateVerifiedOncePerConnection: the admin's requests on
// one HTTP/2 connection cost one verification of its certificate, and
// every new connection its own, as vm_apiserver_certificate_verifications_
// total counts them. The test counts the connections its requests open
// (a client may open a new one at any time) and expects exactly one
// verification for each. (A certificate of a foreign CA fails the TLS
// handshake; one whose CA left the bundle while its connection stayed open
// is refused on every request: pkg/certauth's tests and the reliability
// suite's CA rotations.)
func TestClientCertificateVerifiedOncePerConnection(t *testing.T) {
	s := framework.StartServer(t)
	verified := map[string]string{"authenticator": "client-cert", "result": "verified"}
	refused := map[string]string{"authenticator": "client-cert", "result": "refused"}
	opened := 0
	trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
		if !info.Reused {
			opened++
		}
	}}
	do := func(c *http.Client, path string) []byte {
		req, err := http.NewRequestWithContext(httptrace.WithClientTrace(t.Context(), trace), http.MethodGet, s.URL+path, nil)
		require.NoError(t, err)
		resp, err := c.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
		return body
	}
	transport, err := rest.TransportFor(s.RESTConfig)
	require.NoError(t, err)
	shared := &http.Client{Transport: transport}
	counts := func() (float64, float64) {
		parser := expfmt.NewTextParser(model.UTF8Validation)
		families, err := parser.TextToMetricFamilies(bytes.NewReader(do(shared, "/metrics")))
		require.NoError(t, err)
		return metricSample(families, "vm_apiserver_certificate_verifications_total", verified),
			metricSample(families, "vm_apiserver_certificate_verifications_total", refused)
	}
	vms := "/apis/kubevirt.io/v1/namespaces/default/virtualmachines"

	// One HTTP/2 connection for many requests.
	do(shared, vms)
	v0, r0 := counts()
	opened = 0
	for range 30 {
		do(shared, vms)
	}
	v1, r1 := counts()
	assert.Less(t, opened, 30, "every request opened a connection")
	assert.Equal(t, float64(opened), v1-v0, "verifications for %d new connections", opened)

	// A connection per request.
	config := rest.CopyConfig(s.RESTConfig)
	tlsConfig, err := rest.TLSConfigFor(config)
	require.NoError(t, err)
	single := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsConfig, DisableKeepAlives: true}}
	opened = 0
	for range 3 {
		do(single, vms)
	}
	v2, r2 := counts()
	assert.GreaterOrEqual(t, opened, 3)
	assert.Equal(t, float64(opened), v2-v1, "verifications for %d new connections", opened)
	assert.Equal(t, r0, r1)
	assert.Equal(t, r0, r2, "no certificate was refused")
}
