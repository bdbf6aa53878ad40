package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
	"k8s.io/utils/ptr"
	v1 "kubevirt.io/api/core/v1"

	subresourcesv1 "github.com/vm-apiserver/vm-apiserver/pkg/apis/subresources/v1"
	typedv1 "github.com/vm-apiserver/vm-apiserver/pkg/generated/clientset/versioned/typed/core/v1"
	"github.com/vm-apiserver/vm-apiserver/pkg/simulator"
	"github.com/vm-apiserver/vm-apiserver/test/framework"
)

// These tests run the real server (embedded etcd, HTTPS) with the simulated
// runtime inside it, as `vm-apiserver --runtime=simulated` does. The delays
// are short; the restart delay is tiny so that a later event is always past
// it (see noRestart).

// serverArgs turn the simulated runtime on with short delays.
var serverArgs = []string{
	"--runtime=simulated",
	"--simulated-start-delay=100ms",
	"--simulated-stop-delay=100ms",
	"--simulated-restart-delay=1ms",
}

// deadline bounds every wait; it is generous because CI machines are slow.
const deadline = 60 * time.Second

func startSimulatorServer(t *testing.T) typedv1.VirtualMachineInterface {
	t.Helper()
	return defaultVMs(t, framework.StartServer(t, serverArgs...))
}

// newVM is the seed's vm-cirros under another name and strategy.
func newSimulatedVM(name string, strategy v1.VirtualMachineRunStrategy) *v1.VirtualMachine {
	return &v1.VirtualMachine{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: v1.VirtualMachineSpec{
			RunStrategy: ptr.To(strategy),
			Template: &v1.VirtualMachineInstanceTemplateSpec{
				Spec: v1.VirtualMachineInstanceSpec{
					Domain: v1.DomainSpec{Devices: v1.Devices{Disks: []v1.Disk{
						{Name: "containerdisk", DiskDevice: v1.DiskDevice{Disk: &v1.DiskTarget{Bus: "virtio"}}},
					}}},
					Volumes: []v1.Volume{{Name: "containerdisk", VolumeSource: v1.VolumeSource{
						ContainerDisk: &v1.ContainerDiskSource{Image: "kubevirt/cirros-container-disk-demo:latest"},
					}}},
				},
			},
		},
	}
}

func create(t *testing.T, vms typedv1.VirtualMachineInterface, vm *v1.VirtualMachine) *v1.VirtualMachine {
	t.Helper()
	created, err := vms.Create(context.Background(), vm, metav1.CreateOptions{})
	require.NoError(t, err)
	return created
}

// waitUntil watches the VM from resourceVersion on until cond holds, and
// returns the VM then and the printable statuses written on the way (each
// change once).
func waitUntil(t *testing.T, vms typedv1.VirtualMachineInterface, from *v1.VirtualMachine, what string, cond func(*v1.VirtualMachine) bool) (*v1.VirtualMachine, []v1.VirtualMachinePrintableStatus) {
	t.Helper()
	if cond(from) {
		return from, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	selector := fields.OneTermEqualSelector("metadata.name", from.Name).String()
	lw := &cache.ListWatch{WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
		o.FieldSelector = selector
		return vms.Watch(ctx, o)
	}}
	var trace []v1.VirtualMachinePrintableStatus
	last := from
	_, err := watchtools.Until(ctx, from.ResourceVersion, lw, func(ev watch.Event) (bool, error) {
		vm, ok := ev.Object.(*v1.VirtualMachine)
		if !ok {
			return false, fmt.Errorf("unexpected %s event: %v", ev.Type, ev.Object)
		}
		if vm.Status.PrintableStatus != last.Status.PrintableStatus {
			trace = append(trace, vm.Status.PrintableStatus)
		}
		last = vm
		return cond(vm), nil
	})
	require.NoError(t, err, "VM %s never became %s; trace %v, last status %+v", from.Name, what, trace, last.Status)
	return last, trace
}

// settled is true once the runtime reports want for the VM's current spec
// and has no request left.
func settled(want v1.VirtualMachinePrintableStatus) func(*v1.VirtualMachine) bool {
	return func(vm *v1.VirtualMachine) bool {
		return vm.Status.PrintableStatus == want &&
			len(vm.Status.StateChangeRequests) == 0 &&
			vm.Status.ObservedGeneration == vm.Generation
	}
}

// injectFault sets the fault annotation and waits until the runtime has
// handled that value.
func injectFault(t *testing.T, vms typedv1.VirtualMachineInterface, name, value string) (*v1.VirtualMachine, []v1.VirtualMachinePrintableStatus) {
	t.Helper()
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, simulator.FaultAnnotation, value)
	vm, err := vms.Patch(context.Background(), name, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
	require.NoError(t, err)
	return waitUntil(t, vms, vm, "handled "+value, func(vm *v1.VirtualMachine) bool {
		c := faultCondition(vm)
		return c != nil && strings.HasPrefix(c.Message, fmt.Sprintf("fault %q:", value))
	})
}

func faultCondition(vm *v1.VirtualMachine) *v1.VirtualMachineCondition {
	for i := range vm.Status.Conditions {
		if vm.Status.Conditions[i].Type == simulator.ConditionSimulatedFault {
			return &vm.Status.Conditions[i]
		}
	}
	return nil
}

// noRestart proves that the runtime left a finished instance alone. The
// runtime replaces a finished instance on the first look after the restart
// delay (1ms). A second fault value is such a look, long after it: had the
// runtime restarted the instance, the fault would hit a running guest; as it
// did not, the fault finds no running instance and is ignored.
func noRestart(t *testing.T, vms typedv1.VirtualMachineInterface, name string) {
	t.Helper()
	vm, trace := injectFault(t, vms, name, "crash-probe")
	assert.Empty(t, trace, "the instance stays as it was")
	assert.Equal(t, simulator.ReasonFaultIgnored, faultCondition(vm).Reason)
	assert.Equal(t, v1.VirtualMachineStatusStopped, vm.Status.PrintableStatus)
	assert.True(t, vm.Status.Created, "the finished instance is kept")
}

func TestEndToEnd(t *testing.T) {
	vms := startSimulatorServer(t)
	ctx := context.Background()

	t.Run("start on Halted runs under Always", func(t *testing.T) {
		vm := create(t, vms, newSimulatedVM("halted-start", v1.RunStrategyHalted))
		vm, _ = waitUntil(t, vms, vm, "reported", settled(v1.VirtualMachineStatusStopped))
		assert.False(t, vm.Status.Created)

		vm, err := vms.Start(ctx, vm.Name, nil)
		require.NoError(t, err)
		assert.Equal(t, v1.RunStrategyAlways, *vm.Spec.RunStrategy)
		vm, trace := waitUntil(t, vms, vm, "Running", settled(v1.VirtualMachineStatusRunning))
		assert.Equal(t, []v1.VirtualMachinePrintableStatus{v1.VirtualMachineStatusStarting, v1.VirtualMachineStatusRunning}, trace)
		assert.Equal(t, v1.RunStrategyAlways, vm.Status.RunStrategy)
		assert.True(t, vm.Status.Ready)
		assert.True(t, vm.Status.Created)
	})

	t.Run("paused start on Halted ends Paused", func(t *testing.T) {
		vm := create(t, vms, newSimulatedVM("halted-paused", v1.RunStrategyHalted))
		vm, err := vms.Start(ctx, vm.Name, &subresourcesv1.StartOptions{Paused: true})
		require.NoError(t, err)
		vm, _ = waitUntil(t, vms, vm, "Paused", settled(v1.VirtualMachineStatusPaused))
		assert.False(t, vm.Status.Ready)
	})

	t.Run("restart on Always stops then runs again", func(t *testing.T) {
		vm := create(t, vms, newSimulatedVM("always-restart", v1.RunStrategyAlways))
		vm, _ = waitUntil(t, vms, vm, "Running", settled(v1.VirtualMachineStatusRunning))

		vm, err := vms.Restart(ctx, vm.Name, nil)
		require.NoError(t, err)
		require.Len(t, vm.Status.StateChangeRequests, 2)
		vm, trace := waitUntil(t, vms, vm, "Running again", settled(v1.VirtualMachineStatusRunning))
		assert.Equal(t, []v1.VirtualMachinePrintableStatus{
			v1.VirtualMachineStatusStopping, v1.VirtualMachineStatusStopped, v1.VirtualMachineStatusStarting, v1.VirtualMachineStatusRunning,
		}, trace)
		assert.Empty(t, vm.Status.StateChangeRequests)
		assert.Equal(t, v1.RunStrategyAlways, *vm.Spec.RunStrategy)
	})

	t.Run("forced stop on Always halts at once", func(t *testing.T) {
		vm := create(t, vms, newSimulatedVM("always-stop", v1.RunStrategyAlways))
		vm, _ = waitUntil(t, vms, vm, "Running", settled(v1.VirtualMachineStatusRunning))
		vm, err := vms.Stop(ctx, vm.Name, &subresourcesv1.StopOptions{GracePeriod: ptr.To[int64](0)})
		require.NoError(t, err)
		assert.Equal(t, v1.RunStrategyHalted, *vm.Spec.RunStrategy)
		vm, _ = waitUntil(t, vms, vm, "Stopped", settled(v1.VirtualMachineStatusStopped))
		assert.False(t, vm.Status.Created)
		assert.Equal(t, v1.RunStrategyHalted, vm.Status.RunStrategy)
	})

	t.Run("stop on Manual ends Stopped and stays Manual", func(t *testing.T) {
		vm := create(t, vms, newSimulatedVM("manual-stop", v1.RunStrategyManual))
		vm, _ = waitUntil(t, vms, vm, "reported", settled(v1.VirtualMachineStatusStopped))
		vm, err := vms.Start(ctx, vm.Name, nil)
		require.NoError(t, err)
		vm, _ = waitUntil(t, vms, vm, "Running", settled(v1.VirtualMachineStatusRunning))

		vm, err = vms.Stop(ctx, vm.Name, nil)
		require.NoError(t, err)
		vm, trace := waitUntil(t, vms, vm, "Stopped", settled(v1.VirtualMachineStatusStopped))
		assert.Equal(t, []v1.VirtualMachinePrintableStatus{v1.VirtualMachineStatusStopping, v1.VirtualMachineStatusStopped}, trace)
		assert.Equal(t, v1.RunStrategyManual, *vm.Spec.RunStrategy)
		assert.Equal(t, v1.RunStrategyManual, vm.Status.RunStrategy)
		assert.False(t, vm.Status.Created)
	})

	t.Run("RerunOnFailure reruns after a crash, not after a shutdown", func(t *testing.T) {
		vm := create(t, vms, newSimulatedVM("rerun-faults", v1.RunStrategyRerunOnFailure))
		vm, _ = waitUntil(t, vms, vm, "Running", settled(v1.VirtualMachineStatusRunning))

		vm, _ = injectFault(t, vms, vm.Name, "crash-1")
		assert.Equal(t, simulator.ReasonCrashInjected, faultCondition(vm).Reason)
		_, trace := waitUntil(t, vms, vm, "Running again", settled(v1.VirtualMachineStatusRunning))
		assert.Equal(t, []v1.VirtualMachinePrintableStatus{v1.VirtualMachineStatusStarting, v1.VirtualMachineStatusRunning}, trace,
			"after the crash (Stopped) the runtime starts a new instance")

		vm, _ = injectFault(t, vms, vm.Name, "shutdown-1")
		assert.Equal(t, simulator.ReasonShutdownInjected, faultCondition(vm).Reason)
		assert.Equal(t, v1.VirtualMachineStatusStopped, vm.Status.PrintableStatus)
		noRestart(t, vms, vm.Name)
	})

	t.Run("Once never reruns", func(t *testing.T) {
		vm := create(t, vms, newSimulatedVM("once", v1.RunStrategyOnce))
		vm, _ = waitUntil(t, vms, vm, "Running", settled(v1.VirtualMachineStatusRunning))
		vm, _ = injectFault(t, vms, vm.Name, "crash-1")
		assert.Equal(t, v1.VirtualMachineStatusStopped, vm.Status.PrintableStatus)
		noRestart(t, vms, vm.Name)
	})

	t.Run("Always reruns after a guest shutdown", func(t *testing.T) {
		vm := create(t, vms, newSimulatedVM("always-shutdown", v1.RunStrategyAlways))
		vm, _ = waitUntil(t, vms, vm, "Running", settled(v1.VirtualMachineStatusRunning))
		vm, _ = injectFault(t, vms, vm.Name, "shutdown-1")
		_, trace := waitUntil(t, vms, vm, "Running again", settled(v1.VirtualMachineStatusRunning))
		assert.Equal(t, []v1.VirtualMachinePrintableStatus{v1.VirtualMachineStatusStarting, v1.VirtualMachineStatusRunning}, trace)
	})

	t.Run("legacy running:false start sets running:true", func(t *testing.T) {
		vm := newSimulatedVM("legacy", v1.RunStrategyHalted)
		vm.Spec.RunStrategy, vm.Spec.Running = nil, ptr.To(false)
		vm = create(t, vms, vm)
		vm, err := vms.Start(ctx, vm.Name, nil)
		require.NoError(t, err)
		require.NotNil(t, vm.Spec.Running)
		assert.True(t, *vm.Spec.Running)
		assert.Nil(t, vm.Spec.RunStrategy)
		vm, _ = waitUntil(t, vms, vm, "Running", settled(v1.VirtualMachineStatusRunning))
		assert.Equal(t, v1.RunStrategyAlways, vm.Status.RunStrategy)
	})

	t.Run("a second start while one is pending is a conflict", func(t *testing.T) {
		vm := create(t, vms, newSimulatedVM("manual-twice", v1.RunStrategyManual))
		vm, err := vms.Start(ctx, vm.Name, nil)
		require.NoError(t, err)
		require.Len(t, vm.Status.StateChangeRequests, 1)

		_, err = vms.Start(ctx, vm.Name, nil)
		require.Error(t, err)
		assert.True(t, apierrors.IsConflict(err), "got %v", err)
		// Whether the runtime has begun the first start yet decides which
		// rule answers: both are 409s.
		assert.Regexp(t, "a start or stop request is already pending|VM is already running", err.Error())

		_, _ = waitUntil(t, vms, vm, "Running", settled(v1.VirtualMachineStatusRunning))
	})
}
