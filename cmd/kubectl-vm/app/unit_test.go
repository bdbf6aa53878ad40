package app

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/utils/ptr"
	v1 "kubevirt.io/api/core/v1"
)

func TestFlagChecks(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"stop grace period without force", []string{"stop", "vm", "--grace-period=0"}, "--force and --grace-period must be used together"},
		{"stop force without grace period", []string{"stop", "vm", "--force"}, "--force and --grace-period must be used together"},
		{"restart grace period without force", []string{"restart", "vm", "--grace-period=0"}, "--force and --grace-period must be used together"},
		{"wait with dry run", []string{"start", "vm", "--wait", "--dry-run"}, "--wait cannot be used with --dry-run"},
		{"zero timeout", []string{"start", "vm", "--timeout=0s"}, "--timeout must be greater than zero"},
		{"start has no grace period", []string{"start", "vm", "--grace-period=0"}, "unknown flag: --grace-period"},
		{"stop has no paused", []string{"stop", "vm", "--paused"}, "unknown flag: --paused"},
		{"name is required", []string{"start"}, "name one or more VMs, or select them with -l SELECTOR or --all"},
		{"names and a selector", []string{"stop", "a", "-l", "x=y"}, "name VMs or select them with -l or --all, not both"},
		{"names and all", []string{"stop", "a", "--all"}, "name VMs or select them with -l or --all, not both"},
		{"all and a selector", []string{"stop", "--all", "-l", "x=y"}, "--all and -l/--selector cannot be used together"},
		{"names across all namespaces", []string{"restart", "a", "-A"}, "a VM cannot be named across all namespaces"},
		{"all namespaces alone", []string{"restart", "-A"}, "name one or more VMs, or select them with -l SELECTOR or --all"},
		{"bad selector", []string{"start", "-l", "x==,"}, `-l "x==,"`},
		{"no requests in flight", []string{"start", "--all", "--max-in-flight=0"}, "--max-in-flight must be at least 1"},
		{"client dry run", []string{"stop", "a", "--dry-run=client"}, "only the server can check an action: use --dry-run=server"},
		{"unknown dry run", []string{"stop", "a", "--dry-run=maybe"}, `must be "none" or "server", not "maybe"`},
		{"wait with server dry run", []string{"start", "--all", "--wait", "--dry-run=server"}, "--wait cannot be used with --dry-run"},
		{"one name only", []string{"status", "a", "b"}, "accepts 1 arg(s), received 2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			streams, _, out, _ := genericiooptions.NewTestIOStreams()
			cmd := NewCommand(streams)
			// An unreachable server proves the checks run before any request.
			cmd.SetArgs(append([]string{"--server=https://127.0.0.1:1"}, tc.args...))
			err := cmd.Execute()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantErr)
			assert.Empty(t, out.String())
		})
	}
}

func TestExpectation(t *testing.T) {
	vm := func(status v1.VirtualMachinePrintableStatus, observed int64, requests ...v1.StateChangeRequestAction) *v1.VirtualMachine {
		vm := &v1.VirtualMachine{ObjectMeta: metav1.ObjectMeta{Generation: 2}}
		vm.Status.PrintableStatus = status
		vm.Status.ObservedGeneration = observed
		for _, a := range requests {
			vm.Status.StateChangeRequests = append(vm.Status.StateChangeRequests, v1.VirtualMachineStateChangeRequest{Action: a})
		}
		return vm
	}
	running := expectation{want: v1.VirtualMachineStatusRunning}
	tests := []struct {
		name string
		vm   *v1.VirtualMachine
		want bool
	}{
		{"running and seen", vm(v1.VirtualMachineStatusRunning, 2), true},
		{"running but the runtime has not seen the new spec", vm(v1.VirtualMachineStatusRunning, 1), false},
		{"running with a request pending (restart not begun)", vm(v1.VirtualMachineStatusRunning, 2, v1.StopRequest, v1.StartRequest), false},
		{"starting", vm(v1.VirtualMachineStatusStarting, 2, v1.StartRequest), false},
		{"stopped", vm(v1.VirtualMachineStatusStopped, 2), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, running.met(tc.vm, 2))
		})
	}
}

func TestProgress(t *testing.T) {
	vm := &v1.VirtualMachine{ObjectMeta: metav1.ObjectMeta{Name: "vm", Generation: 3}}
	assert.Equal(t, "vm: Stopped, waiting for the runtime to see the change", progress(vm, 3))

	vm.Status.PrintableStatus = v1.VirtualMachineStatusStopping
	vm.Status.ObservedGeneration = 3
	vm.Status.StateChangeRequests = []v1.VirtualMachineStateChangeRequest{
		{Action: v1.StopRequest, Data: map[string]string{"gracePeriodSeconds": "0", "b": "x"}},
		{Action: v1.StartRequest},
	}
	assert.Equal(t, "vm: Stopping, pending Stop(b=x, gracePeriodSeconds=0), Start", progress(vm, 3))
}

func TestPrintStatus(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	vm := &v1.VirtualMachine{
		ObjectMeta: metav1.ObjectMeta{Name: "vm-cirros", Namespace: "default", Generation: 2},
		Spec:       v1.VirtualMachineSpec{Running: ptr.To(true)},
		Status: v1.VirtualMachineStatus{
			Created: true, Ready: true, PrintableStatus: v1.VirtualMachineStatusRunning,
			RunStrategy: v1.RunStrategyAlways, ObservedGeneration: 2,
			Conditions: []v1.VirtualMachineCondition{{
				Type: v1.VirtualMachineReady, Status: corev1.ConditionTrue, Reason: "Running",
				Message: "The instance is running.", LastTransitionTime: metav1.NewTime(now.Add(-90 * time.Second)),
			}},
		},
	}
	var out bytes.Buffer
	require.NoError(t, printStatus(&out, vm, now))
	want := `Name:              vm-cirros
Namespace:         default
Run strategy:      Always (from the deprecated spec.running: true)
Status:            Running
Created:           true
Ready:             true
Pending requests:  <none>
Runtime:           acted on Always at generation 2 (current generation 2)
Conditions:
  TYPE   STATUS  REASON   AGE  MESSAGE
  Ready  True    Running  90s  The instance is running.
`
	assert.Equal(t, want, out.String())

	out.Reset()
	require.NoError(t, printStatus(&out, &v1.VirtualMachine{ObjectMeta: metav1.ObjectMeta{Name: "new"}}, now))
	assert.Contains(t, out.String(), "Stopped (no runtime has reported on this VM yet)")
	assert.Contains(t, out.String(), "Run strategy:      <none>")
	assert.Contains(t, out.String(), "Conditions:  <none>")
}

func TestDryRunFlag(t *testing.T) {
	tests := []struct {
		value string
		want  bool
	}{
		{"server", true}, {"true", true}, {"none", false}, {"false", false},
	}
	for _, tc := range tests {
		t.Run(tc.value, func(t *testing.T) {
			dryRun := !tc.want
			f := dryRunFlag{&dryRun}
			require.NoError(t, f.Set(tc.value))
			assert.Equal(t, tc.want, dryRun)
			assert.Equal(t, map[bool]string{true: "server", false: "none"}[tc.want], f.String())
		})
	}
}

func TestSingleForm(t *testing.T) {
	tests := []struct {
		name  string
		o     actionOptions
		names []string
		want  bool
	}{
		{"one name", actionOptions{}, []string{"a"}, true},
		{"two names", actionOptions{}, []string{"a", "b"}, false},
		{"a selector", actionOptions{selector: "x=y"}, nil, false},
		{"all", actionOptions{all: true}, nil, false},
		{"all in every namespace", actionOptions{all: true, allNamespaces: true}, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.o.single(tc.names))
		})
	}
}

func TestDescribeTarget(t *testing.T) {
	for _, tc := range []struct {
		action, want string
	}{{actionStart, "started"}, {actionStop, "stopped"}, {actionRestart, "restarted"}} {
		assert.Equal(t, tc.want, pastTense(tc.action))
	}
	o := &actionOptions{}
	assert.Equal(t, "virtualmachine.kubevirt.io/web-1", o.describe(target{"default", "web-1"}))
	o.allNamespaces = true
	assert.Equal(t, "virtualmachine.kubevirt.io/web-1 in namespace team-a", o.describe(target{"team-a", "web-1"}))
}

func TestActOnAllBoundsRequestsAndKeepsOrder(t *testing.T) {
	var targets []target
	delay := map[string]time.Duration{}
	for i := range 20 {
		name := fmt.Sprintf("vm-%02d", i)
		targets = append(targets, target{"default", name})
		// Later targets answer sooner, so answers arrive out of order.
		delay[name] = time.Duration(20-i) * time.Millisecond
	}
	var (
		mu                sync.Mutex
		inFlight, maxSeen int
		full              = make(chan struct{}) // closed once 3 are in flight
		once              sync.Once
	)
	act := func(tg target) (*v1.VirtualMachine, error) {
		mu.Lock()
		inFlight++
		maxSeen = max(maxSeen, inFlight)
		if inFlight == 3 {
			once.Do(func() { close(full) })
		}
		mu.Unlock()
		// The first requests wait for one another, so that they overlap
		// however the goroutines are scheduled.
		select {
		case <-full:
		case <-time.After(10 * time.Second):
		}
		time.Sleep(delay[tg.name])
		mu.Lock()
		inFlight--
		mu.Unlock()
		if tg.name == "vm-07" {
			return nil, errors.New("refused")
		}
		return &v1.VirtualMachine{ObjectMeta: metav1.ObjectMeta{Name: tg.name}}, nil
	}
	var reported []string
	outcomes := actOnAll(targets, 3, act, func(tg target, _ outcome) {
		reported = append(reported, tg.name)
	})
	require.Len(t, outcomes, 20)
	assert.Equal(t, 3, maxSeen, "--max-in-flight requests at once, and no more")
	var want []string
	for _, tg := range targets {
		want = append(want, tg.name)
	}
	assert.Equal(t, want, reported, "reported in the order of the targets")
	for i, r := range outcomes {
		if targets[i].name == "vm-07" {
			require.EqualError(t, r.err, "refused")
			assert.Nil(t, r.vm)
			continue
		}
		require.NoError(t, r.err)
		assert.Equal(t, targets[i].name, r.vm.Name)
	}
}
