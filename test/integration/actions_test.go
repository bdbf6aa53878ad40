package integration

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubevirtv1 "kubevirt.io/api/core/v1"
)

// actionCase is one cell of the transition table (docs/api.md), driven
// with kubectl replace --raw through kube-apiserver.
type actionCase struct {
	name     string
	vm       func(name string) *kubevirtv1.VirtualMachine
	instance func(*kubevirtv1.VirtualMachineStatus) // nil: no instance
	action   string
	body     string // options, JSON; empty sends no body
	query    string

	wantConflict string   // a 409 whose message contains this
	wantStrategy string   // the runStrategy after the action ("" for a legacy VM)
	wantRunning  *bool    // spec.running after the action, for a legacy VM
	wantSCR      []string // status.stateChangeRequests, see formatSCR
}

func strategy(s kubevirtv1.VirtualMachineRunStrategy) func(string) *kubevirtv1.VirtualMachine {
	return func(name string) *kubevirtv1.VirtualMachine { return newVM(name, s) }
}

func legacy(running bool) func(string) *kubevirtv1.VirtualMachine {
	return func(name string) *kubevirtv1.VirtualMachine { return newLegacyVM(name, running) }
}

const (
	msgAlreadyRunning = "VM is already running"
	msgNotRunning     = "VM is not running"
	msgPending        = "a start or stop request is already pending"
)

var actionCases = []actionCase{
	// Always: start -, stop Halted, restart Always.
	{name: "Always start without instance", vm: strategy("Always"), action: "start", wantConflict: "Always does not support manual start requests"},
	{name: "Always start while running", vm: strategy("Always"), instance: running, action: "start", wantConflict: msgAlreadyRunning},
	{name: "Always stop", vm: strategy("Always"), instance: running, action: "stop", wantStrategy: "Halted"},
	{name: "Always stop with grace period", vm: strategy("Always"), instance: running, action: "stop", body: `{"gracePeriod":10}`,
		wantStrategy: "Halted", wantSCR: []string{"Stop{gracePeriodSeconds=10}"}},
	{name: "Always restart without instance", vm: strategy("Always"), action: "restart", wantConflict: msgNotRunning},
	{name: "Always restart", vm: strategy("Always"), instance: running, action: "restart", wantStrategy: "Always", wantSCR: []string{"Stop", "Start"}},

	// RerunOnFailure: start, stop and restart keep the strategy.
	{name: "RerunOnFailure start", vm: strategy("RerunOnFailure"), action: "start", wantStrategy: "RerunOnFailure", wantSCR: []string{"Start"}},
	{name: "RerunOnFailure start after finishing", vm: strategy("RerunOnFailure"), instance: finished, action: "start",
		wantStrategy: "RerunOnFailure", wantSCR: []string{"Stop", "Start"}},
	{name: "RerunOnFailure start while running", vm: strategy("RerunOnFailure"), instance: running, action: "start", wantConflict: msgAlreadyRunning},
	{name: "RerunOnFailure stop", vm: strategy("RerunOnFailure"), instance: running, action: "stop", wantStrategy: "RerunOnFailure", wantSCR: []string{"Stop"}},
	{name: "RerunOnFailure stop without instance", vm: strategy("RerunOnFailure"), action: "stop", wantConflict: msgNotRunning},
	{name: "RerunOnFailure restart", vm: strategy("RerunOnFailure"), instance: running, action: "restart",
		wantStrategy: "RerunOnFailure", wantSCR: []string{"Stop", "Start"}},

	// Manual: likewise.
	{name: "Manual start", vm: strategy("Manual"), action: "start", wantStrategy: "Manual", wantSCR: []string{"Start"}},
	{name: "Manual start paused", vm: strategy("Manual"), action: "start", body: `{"paused":true}`,
		wantStrategy: "Manual", wantSCR: []string{"Start{paused=true}"}},
	{name: "Manual stop", vm: strategy("Manual"), instance: running, action: "stop", wantStrategy: "Manual", wantSCR: []string{"Stop"}},
	{name: "Manual restart", vm: strategy("Manual"), instance: running, action: "restart", wantStrategy: "Manual", wantSCR: []string{"Stop", "Start"}},
	{name: "Manual restart without instance", vm: strategy("Manual"), action: "restart", wantConflict: msgNotRunning},

	// Halted: start Always, stop -, restart -.
	{name: "Halted start", vm: strategy("Halted"), action: "start", wantStrategy: "Always"},
	{name: "Halted start paused", vm: strategy("Halted"), action: "start", body: `{"paused":true}`,
		wantStrategy: "Always", wantSCR: []string{"Start{paused=true}"}},
	{name: "Halted start while still shutting down", vm: strategy("Halted"), instance: running, action: "start", wantConflict: msgAlreadyRunning},
	{name: "Halted stop", vm: strategy("Halted"), action: "stop", wantConflict: msgNotRunning},
	{name: "Halted stop while stopping", vm: strategy("Halted"), instance: running, action: "stop", wantConflict: "VM is already stopping"},
	{name: "Halted stop while stopping, faster", vm: strategy("Halted"), instance: running, action: "stop", body: `{"gracePeriod":0}`,
		wantStrategy: "Halted", wantSCR: []string{"Stop{gracePeriodSeconds=0}"}},
	{name: "Halted restart", vm: strategy("Halted"), action: "restart", wantConflict: "Halted does not support manual restart requests"},

	// Once.
	{name: "Once start", vm: strategy("Once"), action: "start", wantConflict: "Once does not support manual start requests"},
	{name: "Once stop", vm: strategy("Once"), instance: running, action: "stop", wantStrategy: "Halted"},
	{name: "Once restart", vm: strategy("Once"), instance: running, action: "restart", wantConflict: "Once does not support manual restart requests"},

	// Legacy VMs keep spec.running.
	{name: "legacy running stop", vm: legacy(true), instance: running, action: "stop", wantRunning: ptrTo(false)},
	{name: "legacy halted start", vm: legacy(false), action: "start", wantRunning: ptrTo(true)},

	// Options and dry-run.
	{name: "Halted start, dry-run in the query", vm: strategy("Halted"), action: "start", query: "?dryRun=All", wantStrategy: "Always"},
	{name: "Halted start, dry-run in the body", vm: strategy("Halted"), action: "start",
		body: `{"kind":"StartOptions","apiVersion":"subresources.kubevirt.io/v1","dryRun":["All"]}`, wantStrategy: "Always"},
}

func TestActionsTable(t *testing.T) {
	suite.Require(t)
	ns := newNamespace(t)
	for i, tc := range actionCases {
		t.Run(tc.name, func(t *testing.T) {
			name := fmt.Sprintf("vm-%d", i)
			createVM(t, ns, tc.vm(name))
			if tc.instance != nil {
				setStatus(t, ns, name, tc.instance)
			}
			before := getVM(t, ns, name)
			dryRun := strings.Contains(tc.query, "dryRun") || strings.Contains(tc.body, "dryRun")

			out, err := kubectlAction(t, env.kubeconfig, subresourcesV1, ns, name, tc.action, tc.query, tc.body)
			after := getVM(t, ns, name)

			if tc.wantConflict != "" {
				require.Error(t, err, "expected a 409, got: %s", out)
				assert.Contains(t, out, "(Conflict)")
				assert.Contains(t, out, tc.wantConflict)
				assert.Equal(t, before.ResourceVersion, after.ResourceVersion, "nothing is written on a conflict")
				return
			}
			require.NoError(t, err)
			var returned kubevirtv1.VirtualMachine
			require.NoError(t, json.Unmarshal([]byte(out), &returned), out)

			if dryRun {
				assert.Equal(t, before.ResourceVersion, after.ResourceVersion, "dry-run writes nothing")
				assertActionResult(t, tc, &returned)
				return
			}
			assert.Equal(t, after.ResourceVersion, returned.ResourceVersion, "the body is the VM as stored")
			assertActionResult(t, tc, after)
		})
	}
}

func assertActionResult(t *testing.T, tc actionCase, vm *kubevirtv1.VirtualMachine) {
	t.Helper()
	if tc.wantRunning != nil {
		assert.Nil(t, vm.Spec.RunStrategy, "a legacy VM is not migrated to runStrategy")
		require.NotNil(t, vm.Spec.Running)
		assert.Equal(t, *tc.wantRunning, *vm.Spec.Running)
	} else {
		assert.Nil(t, vm.Spec.Running)
		require.NotNil(t, vm.Spec.RunStrategy)
		assert.Equal(t, tc.wantStrategy, string(*vm.Spec.RunStrategy))
	}
	assert.Equal(t, tc.wantSCR, formatSCR(vm.Status.StateChangeRequests))
}

// formatSCR writes requests as Action or Action{key=value,...}.
func formatSCR(reqs []kubevirtv1.VirtualMachineStateChangeRequest) []string {
	var out []string
	for _, r := range reqs {
		s := string(r.Action)
		if len(r.Data) > 0 {
			var kv []string
			for k, v := range r.Data {
				kv = append(kv, k+"="+v)
			}
			sort.Strings(kv)
			s += "{" + strings.Join(kv, ",") + "}"
		}
		out = append(out, s)
	}
	return out
}

// kubectlAction PUTs an action with kubectl replace --raw, the body read
// from a file (empty: no body at all).
func kubectlAction(t *testing.T, kubeconfig, groupVersion, ns, name, action, query, body string) (string, error) {
	t.Helper()
	file := writeFile(t, "options.json", body)
	return env.kubectlAs(t.Context(), kubeconfig, "replace", "--raw",
		actionPath(groupVersion, ns, name, action)+query, "-f", file)
}

func TestActionPendingRequestBlocks(t *testing.T) {
	suite.Require(t)
	ns := newNamespace(t)
	createVM(t, ns, newVM("vm", kubevirtv1.RunStrategyManual))
	_, err := kubectlAction(t, env.kubeconfig, subresourcesV1, ns, "vm", "start", "", "")
	require.NoError(t, err)
	out, err := kubectlAction(t, env.kubeconfig, subresourcesV1, ns, "vm", "start", "", "")
	require.Error(t, err)
	assert.Contains(t, out, msgPending)
}

// TestActionHTTP checks the wire: 202 with the VM for both versions and for
// virtctl's bodiless, Content-Type-less PUT; typed errors otherwise.
func TestActionHTTP(t *testing.T) {
	suite.Require(t)
	ns := newNamespace(t)
	tests := []struct {
		name         string
		groupVersion string
		action       string
		vmName       string
		query        string
		contentType  string
		body         string
		wantCode     int
		wantReason   metav1.StatusReason
	}{
		{"v1, no body, no Content-Type", subresourcesV1, "start", "vm-1", "", "", "", http.StatusAccepted, ""},
		{"v1alpha3, JSON options", subresourcesV1a, "start", "vm-2", "", "application/json", `{"paused":false}`, http.StatusAccepted, ""},
		{"YAML options", subresourcesV1, "start", "vm-3", "", "application/yaml", "paused: false\n", http.StatusAccepted, ""},
		{"malformed body", subresourcesV1, "start", "vm-4", "", "application/json", `{"paused":`, http.StatusBadRequest, metav1.StatusReasonBadRequest},
		{"wrong kind", subresourcesV1, "start", "vm-5", "", "application/json", `{"kind":"StopOptions","apiVersion":"subresources.kubevirt.io/v1"}`,
			http.StatusBadRequest, metav1.StatusReasonBadRequest},
		{"dryRun other than All", subresourcesV1, "start", "vm-6", "?dryRun=Yes", "", "", http.StatusBadRequest, metav1.StatusReasonBadRequest},
		{"negative grace period", subresourcesV1, "stop", "vm-7", "", "application/json", `{"gracePeriod":-1}`, http.StatusBadRequest, metav1.StatusReasonBadRequest},
		{"restart grace period other than 0", subresourcesV1, "restart", "vm-8", "", "application/json", `{"gracePeriodSeconds":5}`,
			http.StatusBadRequest, metav1.StatusReasonBadRequest},
		{"forced restart", subresourcesV1, "restart", "vm-9", "", "application/json", `{"gracePeriodSeconds":0}`, http.StatusAccepted, ""},
		{"unknown VM", subresourcesV1, "start", "no-such-vm", "", "", "", http.StatusNotFound, metav1.StatusReasonNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.vmName != "no-such-vm" {
				// Stop and restart need a running instance to be allowed.
				strategy := kubevirtv1.RunStrategyHalted
				if tt.action != "start" {
					strategy = kubevirtv1.RunStrategyAlways
				}
				createVM(t, ns, newVM(tt.vmName, strategy))
				if tt.action != "start" {
					setStatus(t, ns, tt.vmName, running)
				}
			}
			var body []byte
			if tt.body != "" {
				body = []byte(tt.body)
			}
			path := actionPath(tt.groupVersion, ns, tt.vmName, tt.action) + tt.query
			resp, err := do(t.Context(), env.admin, http.MethodPut, path, body, tt.contentType)
			require.NoError(t, err)
			require.Equal(t, tt.wantCode, resp.code, string(resp.body))
			if tt.wantCode == http.StatusAccepted {
				var vm kubevirtv1.VirtualMachine
				require.NoError(t, json.Unmarshal(resp.body, &vm))
				assert.Equal(t, "VirtualMachine", vm.Kind)
				assert.Equal(t, "kubevirt.io/v1", vm.APIVersion)
				assert.Equal(t, tt.vmName, vm.Name)
				assert.Equal(t, kubevirtv1.RunStrategyAlways, *vm.Spec.RunStrategy)
				assert.Equal(t, getVM(t, ns, tt.vmName).ResourceVersion, vm.ResourceVersion)
				return
			}
			var status metav1.Status
			require.NoError(t, json.Unmarshal(resp.body, &status), string(resp.body))
			assert.Equal(t, tt.wantReason, status.Reason)
			assert.Equal(t, int32(tt.wantCode), status.Code)
		})
	}
}

// TestActionOtherMethods: an action is reachable by PUT only, so a GET (for
// example kubectl get --raw) can never start a VM.
func TestActionOtherMethods(t *testing.T) {
	suite.Require(t)
	ns := newNamespace(t)
	createVM(t, ns, newVM("vm", kubevirtv1.RunStrategyHalted))
	before := getVM(t, ns, "vm")

	for _, gv := range []string{subresourcesV1, subresourcesV1a} {
		for _, action := range []string{"start", "stop", "restart"} {
			for _, method := range []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete} {
				t.Run(gv+"/"+action+"/"+method, func(t *testing.T) {
					resp, err := do(t.Context(), env.admin, method, actionPath(gv, ns, "vm", action), nil, "")
					require.NoError(t, err)
					assert.Equal(t, http.StatusMethodNotAllowed, resp.code, string(resp.body))
				})
			}
		}
	}
	t.Run("kubectl get --raw", func(t *testing.T) {
		out, err := env.kubectl(t.Context(), "get", "--raw", actionPath(subresourcesV1, ns, "vm", "start"))
		require.Error(t, err)
		assert.Contains(t, out, "MethodNotAllowed")
	})
	after := getVM(t, ns, "vm")
	assert.Equal(t, before.ResourceVersion, after.ResourceVersion, "no method but PUT changes the VM")
	assert.Equal(t, kubevirtv1.RunStrategyHalted, *after.Spec.RunStrategy)
}

// TestActionsTypedClient uses the clientset's Start/Stop/Restart, as a Go
// program would.
func TestActionsTypedClient(t *testing.T) {
	suite.Require(t)
	ns := newNamespace(t)
	vms := env.vms.KubevirtV1().VirtualMachines(ns)
	createVM(t, ns, newVM("vm", kubevirtv1.RunStrategyHalted))

	vm, err := vms.Start(t.Context(), "vm", nil)
	require.NoError(t, err)
	assert.Equal(t, kubevirtv1.RunStrategyAlways, *vm.Spec.RunStrategy)
	setStatus(t, ns, "vm", running)
	vm, err = vms.Restart(t.Context(), "vm", nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"Stop", "Start"}, formatSCR(vm.Status.StateChangeRequests))
	vm, err = vms.Stop(t.Context(), "vm", nil)
	require.NoError(t, err)
	assert.Equal(t, kubevirtv1.RunStrategyHalted, *vm.Spec.RunStrategy)
}
