package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	v1 "kubevirt.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/vm-apiserver/vm-apiserver/pkg/generated/clientset/versioned"
	"github.com/vm-apiserver/vm-apiserver/pkg/standalone"
	"github.com/vm-apiserver/vm-apiserver/test/framework"
)

// monitoringComponent is the kustomize component with the ServiceMonitor,
// its RBAC and the PrometheusRule.
const monitoringComponent = "../../artifacts/components/monitoring"

// prometheusProgram returns the path of prometheus or promtool, or skips
// the test without it.
func prometheusProgram(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("no %s on PATH: run hack/ensure-prometheus.sh (make test-unit does)", name)
	}
	return path
}

// monitoringRules returns the spec (the rule groups) of the PrometheusRule
// in the component's resources, as a Prometheus rules file.
func monitoringRules(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(monitoringComponent, "kustomization.yaml"))
	require.NoError(t, err)
	var kustomization struct {
		Kind      string   `json:"kind"`
		Resources []string `json:"resources"`
	}
	require.NoError(t, yaml.Unmarshal(data, &kustomization))
	require.Equal(t, "Component", kustomization.Kind)

	var specs []any
	for _, file := range kustomization.Resources {
		raw, err := os.ReadFile(filepath.Join(monitoringComponent, file))
		require.NoError(t, err)
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(raw), 4096)
		for {
			var obj map[string]any
			err := dec.Decode(&obj)
			if errors.Is(err, io.EOF) {
				break
			}
			require.NoError(t, err, file)
			if obj["kind"] == "PrometheusRule" && obj["apiVersion"] == "monitoring.coreos.com/v1" {
				specs = append(specs, obj["spec"])
			}
		}
	}
	require.Len(t, specs, 1, "one PrometheusRule in %s", monitoringComponent)
	rules, err := yaml.Marshal(specs[0])
	require.NoError(t, err)
	return rules
}

// ruleGroups is the part of a rules file the tests read.
type ruleGroups struct {
	Groups []struct {
		Name  string `json:"name"`
		Rules []struct {
			Alert       string            `json:"alert"`
			Record      string            `json:"record"`
			Expr        string            `json:"expr"`
			For         string            `json:"for"`
			Labels      map[string]string `json:"labels"`
			Annotations map[string]string `json:"annotations"`
		} `json:"rules"`
	} `json:"groups"`
}

// TestMonitoringRules checks the PrometheusRule of the monitoring
// component with promtool: it must load, every alert must carry what
// on-call needs, and promtool's unit tests (testdata/monitoring-rules-test.yaml)
// must see the alerts fire when they should and not otherwise.
func TestMonitoringRules(t *testing.T) {
	promtool := prometheusProgram(t, "promtool")
	rules := monitoringRules(t)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "rules.yaml"), rules, 0o644))

	t.Run("promtool check rules", func(t *testing.T) {
		out, err := exec.Command(promtool, "check", "rules", filepath.Join(dir, "rules.yaml")).CombinedOutput()
		require.NoError(t, err, "%s", out)
		assert.Contains(t, string(out), "SUCCESS")
	})

	t.Run("every alert has for, severity, summary, description and runbook", func(t *testing.T) {
		var g ruleGroups
		require.NoError(t, yaml.Unmarshal(rules, &g))
		alerts := map[string]bool{}
		for _, group := range g.Groups {
			for _, r := range group.Rules {
				if r.Alert == "" {
					continue
				}
				alerts[r.Alert] = true
				assert.NotEmpty(t, r.For, r.Alert)
				assert.Contains(t, []string{"warning", "critical"}, r.Labels["severity"], r.Alert)
				for _, a := range []string{"summary", "description", "runbook"} {
					assert.NotEmpty(t, r.Annotations[a], "%s: annotation %s", r.Alert, a)
				}
			}
		}
		for _, name := range []string{"VMAPIServerDown", "VMAPIServerActionErrorsHigh", "VMAPIServerVirtualMachineStuck", "VMAPIServerEtcdLatencyHigh", "VMAPIServerEtcdOutOfSpace"} {
			assert.True(t, alerts[name], "alert %s", name)
		}
	})

	t.Run("promtool test rules", func(t *testing.T) {
		unit, err := os.ReadFile(filepath.Join("testdata", "monitoring-rules-test.yaml"))
		require.NoError(t, err)
		// The unit tests name rules.yaml, relative to their own file.
		require.NoError(t, os.WriteFile(filepath.Join(dir, "monitoring-rules-test.yaml"), unit, 0o644))
		cmd := exec.Command(promtool, "test", "rules", "monitoring-rules-test.yaml")
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		assert.Contains(t, string(out), "SUCCESS")
	})
}

// promAPI queries Prometheus' HTTP API.
type promAPI struct {
	base string
	http *http.Client
}

// get decodes the data of a successful answer to path into data.
func (p promAPI) get(ctx context.Context, path string, query url.Values, data any) error {
	u := p.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := p.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	var answer struct {
		Status    string          `json:"status"`
		Data      json.RawMessage `json:"data"`
		ErrorType string          `json:"errorType"`
		Error     string          `json:"error"`
	}
	if err := json.Unmarshal(body, &answer); err != nil {
		return fmt.Errorf("GET %s: %d %s: %w", path, resp.StatusCode, body, err)
	}
	if answer.Status != "success" {
		return fmt.Errorf("GET %s: %s: %s", path, answer.ErrorType, answer.Error)
	}
	return json.Unmarshal(answer.Data, data)
}

// sample is one element of an instant vector.
type sample struct {
	Labels map[string]string
	Value  float64
}

// query evaluates an instant query that returns a vector.
func (p promAPI) query(ctx context.Context, q string) ([]sample, error) {
	var data struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"` // [unix time, "value"]
		} `json:"result"`
	}
	if err := p.get(ctx, "/api/v1/query", url.Values{"query": {q}}, &data); err != nil {
		return nil, err
	}
	if data.ResultType != "vector" {
		return nil, fmt.Errorf("%s: a %s, not a vector", q, data.ResultType)
	}
	out := make([]sample, 0, len(data.Result))
	for _, r := range data.Result {
		s, ok := r.Value[1].(string)
		if !ok {
			return nil, fmt.Errorf("%s: value %v", q, r.Value)
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", q, err)
		}
		out = append(out, sample{Labels: r.Metric, Value: v})
	}
	return out, nil
}

// byLabels sums a vector by the values of the given labels, joined by "/".
func byLabels(v []sample, labels ...string) map[string]float64 {
	out := map[string]float64{}
	for _, s := range v {
		key := make([]string, len(labels))
		for i, l := range labels {
			key[i] = s.Labels[l]
		}
		out[strings.Join(key, "/")] += s.Value
	}
	return out
}

// target is an active target of /api/v1/targets.
type target struct {
	Labels     map[string]string `json:"labels"`
	ScrapeURL  string            `json:"scrapeUrl"`
	Health     string            `json:"health"`
	LastError  string            `json:"lastError"`
	LastScrape time.Time         `json:"lastScrape"`
}

func (p promAPI) targets(ctx context.Context) ([]target, error) {
	var data struct {
		ActiveTargets []target `json:"activeTargets"`
	}
	err := p.get(ctx, "/api/v1/targets", url.Values{"state": {"active"}}, &data)
	return data.ActiveTargets, err
}

// ruleHealth maps each rule of /api/v1/rules to its health, or its last
// error when it has one.
func (p promAPI) ruleHealth(ctx context.Context) (map[string]string, error) {
	var data struct {
		Groups []struct {
			Rules []struct {
				Name      string `json:"name"`
				Health    string `json:"health"`
				LastError string `json:"lastError"`
			} `json:"rules"`
		} `json:"groups"`
	}
	if err := p.get(ctx, "/api/v1/rules", nil, &data); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, g := range data.Groups {
		for _, r := range g.Rules {
			out[r.Name] = r.Health
			if r.LastError != "" {
				out[r.Name] = r.Health + ": " + r.LastError
			}
		}
	}
	return out, nil
}

// TestPrometheusScrapesTheServer runs a real Prometheus against a
// standalone server with the simulated runtime. It scrapes /metrics over
// HTTPS with the admin client certificate, 1s apart, and evaluates the
// monitoring component's rules. The test drives actions and reads the
// counters back through Prometheus' API. The server's counters belong to
// the test process, which earlier tests' servers counted into too, so the
// test compares increases over a baseline read before its own actions.
func TestPrometheusScrapesTheServer(t *testing.T) {
	prometheus := prometheusProgram(t, "prometheus")
	began := time.Now()
	s := framework.StartServer(t, serverArgs...)
	ctx := context.Background()

	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "rules.yaml"), monitoringRules(t), 0o644))
	hostPort := strings.TrimPrefix(s.URL, "https://")
	config := map[string]any{
		"global": map[string]any{
			"scrape_interval":     "1s",
			"scrape_timeout":      "1s",
			"evaluation_interval": "1s",
		},
		"rule_files": []string{filepath.Join(dir, "rules.yaml")},
		"scrape_configs": []any{map[string]any{
			// The job the ServiceMonitor's Service name gives in a cluster,
			// which the rules filter on.
			"job_name":        "vm-apiserver",
			"scheme":          "https",
			"metrics_path":    "/metrics",
			"scrape_interval": "1s",
			"tls_config": map[string]any{
				"ca_file":   filepath.Join(s.DataDir, standalone.CAFile),
				"cert_file": filepath.Join(s.DataDir, standalone.AdminCertFile),
				"key_file":  filepath.Join(s.DataDir, standalone.AdminKeyFile),
			},
			"static_configs": []any{map[string]any{"targets": []string{hostPort}}},
		}},
	}
	configYAML, err := yaml.Marshal(config)
	require.NoError(t, err)
	configFile := filepath.Join(dir, "prometheus.yml")
	require.NoError(t, os.WriteFile(configFile, configYAML, 0o644))

	listen := fmt.Sprintf("127.0.0.1:%d", framework.FreePort(t))
	// Stopped (SIGTERM, then SIGKILL) when the test ends, before the server.
	proc := framework.StartProcess(t, dir, "prometheus", prometheus,
		"--config.file="+configFile,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+listen,
	)
	prom := promAPI{base: "http://" + listen, http: &http.Client{Timeout: 5 * time.Second}}
	poll := func(t *testing.T, what string, cond framework.Condition) {
		t.Helper()
		require.NoError(t, framework.Poll(ctx, 250*time.Millisecond, deadline, what, func(ctx context.Context) (bool, error) {
			if err := proc.Alive(); err != nil {
				return false, err
			}
			return cond(ctx)
		}))
	}

	poll(t, "Prometheus to be ready", func(ctx context.Context) (bool, error) {
		resp, err := prom.http.Get(prom.base + "/-/ready")
		if err != nil {
			return false, err
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, fmt.Errorf("/-/ready: %s", resp.Status)
	})

	// The target answers over TLS with the client certificate.
	poll(t, "the vm-apiserver target to be up", func(ctx context.Context) (bool, error) {
		targets, err := prom.targets(ctx)
		if err != nil {
			return false, err
		}
		if len(targets) != 1 {
			return false, fmt.Errorf("targets %+v", targets)
		}
		tg := targets[0]
		return tg.Health == "up", fmt.Errorf("target %s is %q: %s", tg.ScrapeURL, tg.Health, tg.LastError)
	})
	targets, err := prom.targets(ctx)
	require.NoError(t, err)
	require.Len(t, targets, 1)
	assert.Equal(t, s.URL+"/metrics", targets[0].ScrapeURL)
	assert.Equal(t, "vm-apiserver", targets[0].Labels["job"])
	assert.Empty(t, targets[0].LastError)

	// The baseline: "up" and the scraped samples are stored together, so a
	// query after up==1 sees what the server had counted before this test acted.
	poll(t, "a stored scrape", func(ctx context.Context) (bool, error) {
		v, err := prom.query(ctx, `up{job="vm-apiserver"} == 1`)
		return err == nil && len(v) == 1, err
	})
	const (
		actionsQuery   = `vm_apiserver_actions_total{job="vm-apiserver"}`
		durationsQuery = `vm_apiserver_action_duration_seconds_count{job="vm-apiserver"}`
		simulatorQuery = `vm_apiserver_simulator_request_duration_seconds_count{job="vm-apiserver"}`
	)
	// The labels each is compared by.
	labels := map[string][]string{actionsQuery: {"action", "result"}, durationsQuery: {"action"}, simulatorQuery: {"state"}}
	baseline := map[string]map[string]float64{}
	for q, by := range labels {
		v, err := prom.query(ctx, q)
		require.NoError(t, err)
		baseline[q] = byLabels(v, by...)
	}

	// gained is what the counters of q gained over the baseline, by label values.
	gained := func(ctx context.Context, q string) (map[string]float64, error) {
		v, err := prom.query(ctx, q)
		if err != nil {
			return nil, err
		}
		out := map[string]float64{}
		for k, n := range byLabels(v, labels[q]...) {
			if d := n - baseline[q][k]; d != 0 {
				out[k] = d
			}
		}
		return out, nil
	}
	waitGained := func(q string, want map[string]float64) {
		t.Helper()
		poll(t, "Prometheus to have scraped "+q, func(ctx context.Context) (bool, error) {
			got, err := gained(ctx, q)
			if err != nil {
				return false, err
			}
			return assert.ObjectsAreEqual(want, got), fmt.Errorf("gained %v, want %v", got, want)
		})
	}

	// The actions: a stop of a stopped VM (409), then two rounds of start and
	// stop, each waiting for the simulated runtime to settle. Prometheus
	// scrapes between the rounds, so that it sees the counters grow.
	client, err := versioned.NewForConfig(s.RESTConfig)
	require.NoError(t, err)
	vms := client.KubevirtV1().VirtualMachines("default")
	vm := create(t, vms, newSimulatedVM("metrics-vm", v1.RunStrategyHalted))
	vm, _ = waitUntil(t, vms, vm, "Stopped", settled(v1.VirtualMachineStatusStopped))
	_, err = vms.Stop(ctx, vm.Name, nil)
	require.True(t, apierrors.IsConflict(err), "stopping a stopped VM: %v", err)
	for round := 1; round <= 2; round++ {
		vm, err = vms.Start(ctx, vm.Name, nil)
		require.NoError(t, err)
		vm, _ = waitUntil(t, vms, vm, "Running", settled(v1.VirtualMachineStatusRunning))
		vm, err = vms.Stop(ctx, vm.Name, nil)
		require.NoError(t, err)
		vm, _ = waitUntil(t, vms, vm, "Stopped", settled(v1.VirtualMachineStatusStopped))
		n := float64(round)
		waitGained(actionsQuery, map[string]float64{"start/accepted": n, "stop/accepted": n, "stop/conflict": 1})
	}
	// Each answered action is timed, the conflict too; the runtime timed
	// each request until the VM was Running or Stopped.
	waitGained(durationsQuery, map[string]float64{"start": 2, "stop": 3})
	waitGained(simulatorQuery, map[string]float64{"Running": 2, "Stopped": 2})

	// Nothing acts any more: a scrape that starts a second later or more
	// finds the same counts.
	settledAt := time.Now()
	poll(t, "a later scrape", func(ctx context.Context) (bool, error) {
		targets, err := prom.targets(ctx)
		if err != nil || len(targets) != 1 {
			return false, fmt.Errorf("targets %+v: %w", targets, err)
		}
		tg := targets[0]
		return tg.Health == "up" && tg.LastScrape.After(settledAt.Add(time.Second)), fmt.Errorf("last scrape %s: %s %s", tg.LastScrape, tg.Health, tg.LastError)
	})
	got, err := gained(ctx, actionsQuery)
	require.NoError(t, err)
	assert.Equal(t, map[string]float64{"start/accepted": 2, "stop/accepted": 2, "stop/conflict": 1}, got, "vm_apiserver_actions_total gained")

	t.Run("VM gauges", func(t *testing.T) {
		// This server holds the process's VM gauges; it has one VM, Halted and Stopped.
		poll(t, "the VM gauges", func(ctx context.Context) (bool, error) {
			status, err := prom.query(ctx, `vm_apiserver_virtualmachines_by_status{job="vm-apiserver"} > 0`)
			if err != nil {
				return false, err
			}
			strategy, err := prom.query(ctx, `vm_apiserver_virtualmachines_by_run_strategy{job="vm-apiserver"} > 0`)
			if err != nil {
				return false, err
			}
			s, r := byLabels(status, "printable_status"), byLabels(strategy, "run_strategy")
			ok := assert.ObjectsAreEqual(map[string]float64{"Stopped": 1}, s) && assert.ObjectsAreEqual(map[string]float64{"Halted": 1}, r)
			return ok, fmt.Errorf("by status %v, by run strategy %v", s, r)
		})
		v, err := prom.query(ctx, `vm_apiserver_virtualmachines_status_longest_seconds{job="vm-apiserver",printable_status="Stopped"}`)
		require.NoError(t, err)
		require.Len(t, v, 1)
		assert.GreaterOrEqual(t, v[0].Value, 0.0)
		assert.LessOrEqual(t, v[0].Value, time.Since(began).Seconds(), "the VM is younger than the test")
	})

	t.Run("the generic apiserver and simulator metrics", func(t *testing.T) {
		for _, q := range []string{
			`apiserver_request_total{job="vm-apiserver",group="subresources.kubevirt.io",subresource="stop"}`,
			`apiserver_request_duration_seconds_bucket{job="vm-apiserver"}`,
			`etcd_request_duration_seconds_bucket{job="vm-apiserver"}`,
			`vm_apiserver_simulator_transitions_total{job="vm-apiserver"}`,
		} {
			v, err := prom.query(ctx, q)
			require.NoError(t, err)
			assert.NotEmpty(t, v, q)
		}
	})

	t.Run("the component's rules evaluate", func(t *testing.T) {
		poll(t, "every rule to evaluate without error", func(ctx context.Context) (bool, error) {
			health, err := prom.ruleHealth(ctx)
			if err != nil {
				return false, err
			}
			for name, h := range health {
				if h != "ok" {
					return false, fmt.Errorf("rule %s: %s", name, h)
				}
			}
			return len(health) > 0, errors.New("no rules loaded")
		})
		poll(t, "the recording rule vm_apiserver:actions:rate5m", func(ctx context.Context) (bool, error) {
			v, err := prom.query(ctx, `vm_apiserver:actions:rate5m`)
			if err != nil {
				return false, err
			}
			rates := byLabels(v, "action", "result")
			return rates["stop/accepted"] > 0, fmt.Errorf("rates %v", rates)
		})
	})
}
