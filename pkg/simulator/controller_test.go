package simulator

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	testingclock "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	v1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/pkg/generated/clientset/versioned/fake"
)

// These tests run the whole controller loop (informer, queue, delays, status
// writes) against the generated fake clientset, with a fake clock that the
// test moves on. The end-to-end tests do the same against the real server.

func testVM(name string, strategy v1.VirtualMachineRunStrategy) *v1.VirtualMachine {
	return &v1.VirtualMachine{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Generation: 1, UID: types.UID("uid-" + name)},
		Spec: v1.VirtualMachineSpec{
			RunStrategy: ptr.To(strategy),
			Template:    &v1.VirtualMachineInstanceTemplateSpec{},
		},
	}
}

// startController runs a controller on client until the test ends.
func startController(t *testing.T, client *fake.Clientset, clk *testingclock.FakeClock) {
	t.Helper()
	c := New(client, Options{
		StartDelay: time.Minute, StopDelay: time.Minute, RestartDelay: time.Minute, Clock: clk,
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, 2) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
}

// waitFor polls the VM until cond holds, moving the fake clock on by step
// between polls so that the runtime's delays run out; it fails after a
// deadline of real time.
func waitFor(t *testing.T, client *fake.Clientset, clk *testingclock.FakeClock, step time.Duration, name string, cond func(*v1.VirtualMachine) bool) *v1.VirtualMachine {
	t.Helper()
	var last *v1.VirtualMachine
	require.Eventually(t, func() bool {
		vm, err := client.KubevirtV1().VirtualMachines("default").Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return false
		}
		last = vm
		if cond(vm) {
			return true
		}
		clk.Step(step)
		return false
	}, 20*time.Second, 10*time.Millisecond, "VM %s never reached the expected state", name)
	return last
}

func printable(want v1.VirtualMachinePrintableStatus) func(*v1.VirtualMachine) bool {
	return func(vm *v1.VirtualMachine) bool { return vm.Status.PrintableStatus == want }
}

func TestControllerStartsAlwaysVM(t *testing.T) {
	clk := testingclock.NewFakeClock(time.Now())
	client := fake.NewSimpleClientset(testVM("always", v1.RunStrategyAlways))
	startController(t, client, clk)

	// Without time passing the instance boots but does not run.
	vm := waitFor(t, client, clk, 0, "always", printable(v1.VirtualMachineStatusStarting))
	assert.True(t, vm.Status.Created)
	assert.Equal(t, v1.RunStrategyAlways, vm.Status.RunStrategy)
	assert.Equal(t, int64(1), vm.Status.ObservedGeneration)

	vm = waitFor(t, client, clk, time.Minute, "always", printable(v1.VirtualMachineStatusRunning))
	assert.True(t, vm.Status.Ready)
}

func TestControllerCarriesOutRequests(t *testing.T) {
	clk := testingclock.NewFakeClock(time.Now())
	vm := testVM("manual", v1.RunStrategyManual)
	vm.Status.StateChangeRequests = []v1.VirtualMachineStateChangeRequest{{Action: v1.StartRequest}}
	client := fake.NewSimpleClientset(vm)
	startController(t, client, clk)

	got := waitFor(t, client, clk, time.Minute, "manual", func(vm *v1.VirtualMachine) bool {
		return vm.Status.PrintableStatus == v1.VirtualMachineStatusRunning && len(vm.Status.StateChangeRequests) == 0
	})
	assert.Equal(t, v1.RunStrategyManual, got.Status.RunStrategy)

	// A stop request with a grace period of 0 stops without waiting.
	got.Status.StateChangeRequests = []v1.VirtualMachineStateChangeRequest{
		{Action: v1.StopRequest, Data: map[string]string{"gracePeriodSeconds": "0"}},
	}
	_, err := client.KubevirtV1().VirtualMachines("default").UpdateStatus(context.Background(), got, metav1.UpdateOptions{})
	require.NoError(t, err)
	got = waitFor(t, client, clk, 0, "manual", func(vm *v1.VirtualMachine) bool {
		return !vm.Status.Created && len(vm.Status.StateChangeRequests) == 0
	})
	assert.Equal(t, v1.VirtualMachineStatusStopped, got.Status.PrintableStatus)
}

func TestControllerInjectsFaults(t *testing.T) {
	clk := testingclock.NewFakeClock(time.Now())
	client := fake.NewSimpleClientset(testVM("once", v1.RunStrategyOnce))
	startController(t, client, clk)
	vm := waitFor(t, client, clk, time.Minute, "once", printable(v1.VirtualMachineStatusRunning))

	vm.Annotations = map[string]string{FaultAnnotation: "crash-1"}
	_, err := client.KubevirtV1().VirtualMachines("default").Update(context.Background(), vm, metav1.UpdateOptions{})
	require.NoError(t, err)

	vm = waitFor(t, client, clk, 0, "once", func(vm *v1.VirtualMachine) bool {
		return lastHandledFault(&vm.Status) == "crash-1"
	})
	assert.Equal(t, v1.VirtualMachineStatusStopped, vm.Status.PrintableStatus)
	assert.True(t, vm.Status.Created, "Once keeps the crashed instance")
	cond := findCondition(vm.Status.Conditions, ConditionSimulatedFault)
	require.NotNil(t, cond)
	assert.Equal(t, ReasonCrashInjected, cond.Reason)
}

func TestDefaultOptions(t *testing.T) {
	o := DefaultOptions()
	assert.Equal(t, DefaultStartDelay, o.StartDelay)
	assert.Equal(t, DefaultStopDelay, o.StopDelay)
	assert.Equal(t, DefaultRestartDelay, o.RestartDelay)
	assert.Equal(t, DefaultResyncPeriod, o.ResyncPeriod)
	assert.Equal(t, DefaultFieldManager, o.FieldManager)
	assert.NotNil(t, o.Clock)
	assert.Empty(t, o.Namespace)
}
