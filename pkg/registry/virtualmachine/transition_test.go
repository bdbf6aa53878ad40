package virtualmachine

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	virtv1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
	"github.com/vm-apiserver/vm-apiserver/pkg/apis/subresources"
)

// The strategy rows of the tests: the six run strategies plus the two
// legacy spec.running values.
const (
	sAlways   = "Always"
	sRerun    = "RerunOnFailure"
	sManual   = "Manual"
	sHalted   = "Halted"
	sOnce     = "Once"
	sReceiver = "WaitAsReceiver"
	sLegacyOn = "running:true"
	sLegacyOf = "running:false"
)

// instance is the runtime view the test VM's status gives.
type instance int

const (
	none     instance = iota // status never written
	active                   // created, Running
	finished                 // created, Stopped: the guest shut itself down
	failed                   // created, Stopped, Ready reason GuestCrashed
)

func (i instance) String() string { return [...]string{"none", "active", "finished", "failed"}[i] }

// pendingSCR is the request list of a VM with a request pending.
var pendingSCR = []virtv1.VirtualMachineStateChangeRequest{{Action: virtv1.StartRequest}}

// testVM builds a valid VM with the given strategy row, instance and, if
// pending, a pending Start request.
func testVM(strategy string, inst instance, pending bool) *kubevirt.VirtualMachine {
	vm := &kubevirt.VirtualMachine{
		ObjectMeta: metav1.ObjectMeta{Name: "vm1", Namespace: "ns", ResourceVersion: "7", Generation: 3},
		Spec: virtv1.VirtualMachineSpec{
			Template: &virtv1.VirtualMachineInstanceTemplateSpec{
				Spec: virtv1.VirtualMachineInstanceSpec{Hostname: "guest"},
			},
		},
	}
	switch strategy {
	case sLegacyOn:
		vm.Spec.Running = ptr.To(true)
	case sLegacyOf:
		vm.Spec.Running = ptr.To(false)
	default:
		vm.Spec.RunStrategy = ptr.To(virtv1.VirtualMachineRunStrategy(strategy))
	}
	switch inst {
	case active:
		vm.Status.Created, vm.Status.Ready, vm.Status.PrintableStatus = true, true, virtv1.VirtualMachineStatusRunning
	case finished, failed:
		vm.Status.Created, vm.Status.PrintableStatus = true, virtv1.VirtualMachineStatusStopped
		reason := "GuestShutdown"
		if inst == failed {
			reason = kubevirt.InstanceFailedReason
		}
		vm.Status.Conditions = []virtv1.VirtualMachineCondition{{Type: virtv1.VirtualMachineReady, Status: "False", Reason: reason}}
	}
	if pending {
		vm.Status.StateChangeRequests = append([]virtv1.VirtualMachineStateChangeRequest(nil), pendingSCR...)
	}
	return vm
}

// outcome is what a test expects: a conflict text, or the strategy row the
// spec ends in and the exact SCR.
type outcome struct {
	conflict string
	strategy string
	scr      []virtv1.VirtualMachineStateChangeRequest
}

func fail(msg string) outcome { return outcome{conflict: msg} }
func ok(strategy string, scr ...virtv1.VirtualMachineStateChangeRequest) outcome {
	return outcome{strategy: strategy, scr: scr}
}

// keep expects the strategy unchanged and the SCR as it was (nil or pending).
func keep(strategy string, pending bool) outcome {
	if pending {
		return ok(strategy, pendingSCR...)
	}
	return ok(strategy)
}

var (
	reqStart       = virtv1.VirtualMachineStateChangeRequest{Action: virtv1.StartRequest}
	reqStartPaused = virtv1.VirtualMachineStateChangeRequest{Action: virtv1.StartRequest, Data: map[string]string{"paused": "true"}}
	reqStop        = virtv1.VirtualMachineStateChangeRequest{Action: virtv1.StopRequest}
)

func reqStopGrace(n int) virtv1.VirtualMachineStateChangeRequest {
	return virtv1.VirtualMachineStateChangeRequest{Action: virtv1.StopRequest, Data: map[string]string{"gracePeriodSeconds": fmt.Sprint(n)}}
}

type decideCase struct {
	strategy string
	action   Action
	inst     instance
	pending  bool
	opts     subresources.ActionOptions
	want     outcome
}

func (c decideCase) name() string {
	return fmt.Sprintf("%s/%s/%s/pending=%t/paused=%t/grace=%v", c.strategy, c.action, c.inst, c.pending, c.opts.Paused, ptr.Deref(c.opts.GracePeriodSeconds, -99))
}

// cells lists every (strategy row, action, instance, pending) cell with
// default options, then the cells that options change.
var cells = []decideCase{
	// start: an active instance always refuses.
	{sAlways, ActionStart, active, false, subresources.ActionOptions{}, fail(msgAlreadyRunning)},
	{sAlways, ActionStart, active, true, subresources.ActionOptions{}, fail(msgAlreadyRunning)},
	{sLegacyOn, ActionStart, active, false, subresources.ActionOptions{}, fail(msgAlreadyRunning)},
	{sLegacyOn, ActionStart, active, true, subresources.ActionOptions{}, fail(msgAlreadyRunning)},
	{sRerun, ActionStart, active, false, subresources.ActionOptions{}, fail(msgAlreadyRunning)},
	{sRerun, ActionStart, active, true, subresources.ActionOptions{}, fail(msgAlreadyRunning)},
	{sManual, ActionStart, active, false, subresources.ActionOptions{}, fail(msgAlreadyRunning)},
	{sManual, ActionStart, active, true, subresources.ActionOptions{}, fail(msgAlreadyRunning)},
	{sHalted, ActionStart, active, false, subresources.ActionOptions{}, fail(msgAlreadyRunning)},
	{sHalted, ActionStart, active, true, subresources.ActionOptions{}, fail(msgAlreadyRunning)},
	{sLegacyOf, ActionStart, active, false, subresources.ActionOptions{}, fail(msgAlreadyRunning)},
	{sLegacyOf, ActionStart, active, true, subresources.ActionOptions{}, fail(msgAlreadyRunning)},
	{sOnce, ActionStart, active, false, subresources.ActionOptions{}, fail(msgAlreadyRunning)},
	{sOnce, ActionStart, active, true, subresources.ActionOptions{}, fail(msgAlreadyRunning)},
	// start: Always and Once never take a manual start.
	{sAlways, ActionStart, none, false, subresources.ActionOptions{}, fail(msgAlwaysNoStart)},
	{sAlways, ActionStart, none, true, subresources.ActionOptions{}, fail(msgAlwaysNoStart)},
	{sAlways, ActionStart, finished, false, subresources.ActionOptions{}, fail(msgAlwaysNoStart)},
	{sAlways, ActionStart, failed, false, subresources.ActionOptions{}, fail(msgAlwaysNoStart)},
	{sAlways, ActionStart, finished, true, subresources.ActionOptions{}, fail(msgAlwaysNoStart)},
	{sAlways, ActionStart, failed, true, subresources.ActionOptions{}, fail(msgAlwaysNoStart)},
	{sLegacyOn, ActionStart, none, false, subresources.ActionOptions{}, fail(msgAlwaysNoStart)},
	{sLegacyOn, ActionStart, none, true, subresources.ActionOptions{}, fail(msgAlwaysNoStart)},
	{sLegacyOn, ActionStart, finished, false, subresources.ActionOptions{}, fail(msgAlwaysNoStart)},
	{sLegacyOn, ActionStart, failed, false, subresources.ActionOptions{}, fail(msgAlwaysNoStart)},
	{sLegacyOn, ActionStart, finished, true, subresources.ActionOptions{}, fail(msgAlwaysNoStart)},
	{sLegacyOn, ActionStart, failed, true, subresources.ActionOptions{}, fail(msgAlwaysNoStart)},
	{sOnce, ActionStart, none, false, subresources.ActionOptions{}, fail(msgOnceNoStart)},
	{sOnce, ActionStart, none, true, subresources.ActionOptions{}, fail(msgOnceNoStart)},
	{sOnce, ActionStart, finished, false, subresources.ActionOptions{}, fail(msgOnceNoStart)},
	{sOnce, ActionStart, failed, false, subresources.ActionOptions{}, fail(msgOnceNoStart)},
	{sOnce, ActionStart, finished, true, subresources.ActionOptions{}, fail(msgOnceNoStart)},
	{sOnce, ActionStart, failed, true, subresources.ActionOptions{}, fail(msgOnceNoStart)},
	// start: RerunOnFailure and Manual queue a Start, after a Stop of a
	// finished instance; a failed RerunOnFailure instance is the runtime's to
	// replace. KubeVirt's "error handling for StartVMRequestHandler / should
	// fail on VM with RunStrategy / RerunOnFailure with VMI in phase Failed"
	// and "should not fail on VM with RunStrategy / Manual with VMI in state
	// Failed".
	{sRerun, ActionStart, none, false, subresources.ActionOptions{}, ok(sRerun, reqStart)},
	{sRerun, ActionStart, none, true, subresources.ActionOptions{}, fail(msgPending)},
	{sRerun, ActionStart, finished, false, subresources.ActionOptions{}, ok(sRerun, reqStop, reqStart)},
	{sRerun, ActionStart, failed, false, subresources.ActionOptions{}, fail(msgRerunFailed)},
	{sRerun, ActionStart, finished, true, subresources.ActionOptions{}, fail(msgPending)},
	{sRerun, ActionStart, failed, true, subresources.ActionOptions{}, fail(msgRerunFailed)},
	{sManual, ActionStart, none, false, subresources.ActionOptions{}, ok(sManual, reqStart)},
	{sManual, ActionStart, none, true, subresources.ActionOptions{}, fail(msgPending)},
	{sManual, ActionStart, finished, false, subresources.ActionOptions{}, ok(sManual, reqStop, reqStart)},
	{sManual, ActionStart, failed, false, subresources.ActionOptions{}, ok(sManual, reqStop, reqStart)},
	{sManual, ActionStart, finished, true, subresources.ActionOptions{}, fail(msgPending)},
	{sManual, ActionStart, failed, true, subresources.ActionOptions{}, fail(msgPending)},
	// start: Halted becomes Always and writes no request.
	{sHalted, ActionStart, none, false, subresources.ActionOptions{}, ok(sAlways)},
	{sHalted, ActionStart, none, true, subresources.ActionOptions{}, keep(sAlways, true)},
	{sHalted, ActionStart, finished, false, subresources.ActionOptions{}, ok(sAlways)},
	{sHalted, ActionStart, failed, false, subresources.ActionOptions{}, ok(sAlways)},
	{sHalted, ActionStart, finished, true, subresources.ActionOptions{}, keep(sAlways, true)},
	{sHalted, ActionStart, failed, true, subresources.ActionOptions{}, keep(sAlways, true)},
	{sLegacyOf, ActionStart, none, false, subresources.ActionOptions{}, ok(sLegacyOn)},
	{sLegacyOf, ActionStart, none, true, subresources.ActionOptions{}, keep(sLegacyOn, true)},
	{sLegacyOf, ActionStart, finished, false, subresources.ActionOptions{}, ok(sLegacyOn)},
	{sLegacyOf, ActionStart, failed, false, subresources.ActionOptions{}, ok(sLegacyOn)},
	{sLegacyOf, ActionStart, finished, true, subresources.ActionOptions{}, keep(sLegacyOn, true)},
	{sLegacyOf, ActionStart, failed, true, subresources.ActionOptions{}, keep(sLegacyOn, true)},

	// stop: Always and Once become Halted whatever the instance, dropping what was pending.
	{sAlways, ActionStop, none, false, subresources.ActionOptions{}, ok(sHalted)},
	{sAlways, ActionStop, none, true, subresources.ActionOptions{}, ok(sHalted)},
	{sAlways, ActionStop, active, false, subresources.ActionOptions{}, ok(sHalted)},
	{sAlways, ActionStop, active, true, subresources.ActionOptions{}, ok(sHalted)},
	{sAlways, ActionStop, finished, false, subresources.ActionOptions{}, ok(sHalted)},
	{sAlways, ActionStop, failed, false, subresources.ActionOptions{}, ok(sHalted)},
	{sAlways, ActionStop, finished, true, subresources.ActionOptions{}, ok(sHalted)},
	{sAlways, ActionStop, failed, true, subresources.ActionOptions{}, ok(sHalted)},
	{sLegacyOn, ActionStop, none, false, subresources.ActionOptions{}, ok(sLegacyOf)},
	{sLegacyOn, ActionStop, none, true, subresources.ActionOptions{}, ok(sLegacyOf)},
	{sLegacyOn, ActionStop, active, false, subresources.ActionOptions{}, ok(sLegacyOf)},
	{sLegacyOn, ActionStop, active, true, subresources.ActionOptions{}, ok(sLegacyOf)},
	{sLegacyOn, ActionStop, finished, false, subresources.ActionOptions{}, ok(sLegacyOf)},
	{sLegacyOn, ActionStop, failed, false, subresources.ActionOptions{}, ok(sLegacyOf)},
	{sLegacyOn, ActionStop, finished, true, subresources.ActionOptions{}, ok(sLegacyOf)},
	{sLegacyOn, ActionStop, failed, true, subresources.ActionOptions{}, ok(sLegacyOf)},
	{sOnce, ActionStop, none, false, subresources.ActionOptions{}, ok(sHalted)},
	{sOnce, ActionStop, none, true, subresources.ActionOptions{}, ok(sHalted)},
	{sOnce, ActionStop, active, false, subresources.ActionOptions{}, ok(sHalted)},
	{sOnce, ActionStop, active, true, subresources.ActionOptions{}, ok(sHalted)},
	{sOnce, ActionStop, finished, false, subresources.ActionOptions{}, ok(sHalted)},
	{sOnce, ActionStop, failed, false, subresources.ActionOptions{}, ok(sHalted)},
	{sOnce, ActionStop, finished, true, subresources.ActionOptions{}, ok(sHalted)},
	{sOnce, ActionStop, failed, true, subresources.ActionOptions{}, ok(sHalted)},
	// stop: RerunOnFailure and Manual need an active instance; the Stop replaces what was pending.
	{sRerun, ActionStop, none, false, subresources.ActionOptions{}, fail(msgNotRunning)},
	{sRerun, ActionStop, none, true, subresources.ActionOptions{}, fail(msgNotRunning)},
	{sRerun, ActionStop, active, false, subresources.ActionOptions{}, ok(sRerun, reqStop)},
	{sRerun, ActionStop, active, true, subresources.ActionOptions{}, ok(sRerun, reqStop)},
	{sRerun, ActionStop, finished, false, subresources.ActionOptions{}, fail(msgNotRunning)},
	{sRerun, ActionStop, failed, false, subresources.ActionOptions{}, fail(msgNotRunning)},
	{sRerun, ActionStop, finished, true, subresources.ActionOptions{}, fail(msgNotRunning)},
	{sRerun, ActionStop, failed, true, subresources.ActionOptions{}, fail(msgNotRunning)},
	{sManual, ActionStop, none, false, subresources.ActionOptions{}, fail(msgNotRunning)},
	{sManual, ActionStop, none, true, subresources.ActionOptions{}, fail(msgNotRunning)},
	{sManual, ActionStop, active, false, subresources.ActionOptions{}, ok(sManual, reqStop)},
	{sManual, ActionStop, active, true, subresources.ActionOptions{}, ok(sManual, reqStop)},
	{sManual, ActionStop, finished, false, subresources.ActionOptions{}, fail(msgNotRunning)},
	{sManual, ActionStop, failed, false, subresources.ActionOptions{}, fail(msgNotRunning)},
	{sManual, ActionStop, finished, true, subresources.ActionOptions{}, fail(msgNotRunning)},
	{sManual, ActionStop, failed, true, subresources.ActionOptions{}, fail(msgNotRunning)},
	// stop: Halted is already stopping, or not running at all.
	{sHalted, ActionStop, none, false, subresources.ActionOptions{}, fail(msgNotRunning)},
	{sHalted, ActionStop, none, true, subresources.ActionOptions{}, fail(msgNotRunning)},
	{sHalted, ActionStop, active, false, subresources.ActionOptions{}, fail(msgShorterGrace)},
	{sHalted, ActionStop, active, true, subresources.ActionOptions{}, fail(msgShorterGrace)},
	{sHalted, ActionStop, finished, false, subresources.ActionOptions{}, fail(msgNotRunning)},
	{sHalted, ActionStop, failed, false, subresources.ActionOptions{}, fail(msgNotRunning)},
	{sHalted, ActionStop, finished, true, subresources.ActionOptions{}, fail(msgNotRunning)},
	{sHalted, ActionStop, failed, true, subresources.ActionOptions{}, fail(msgNotRunning)},
	{sLegacyOf, ActionStop, none, false, subresources.ActionOptions{}, fail(msgNotRunning)},
	{sLegacyOf, ActionStop, none, true, subresources.ActionOptions{}, fail(msgNotRunning)},
	{sLegacyOf, ActionStop, active, false, subresources.ActionOptions{}, fail(msgShorterGrace)},
	{sLegacyOf, ActionStop, active, true, subresources.ActionOptions{}, fail(msgShorterGrace)},
	{sLegacyOf, ActionStop, finished, false, subresources.ActionOptions{}, fail(msgNotRunning)},
	{sLegacyOf, ActionStop, failed, false, subresources.ActionOptions{}, fail(msgNotRunning)},
	{sLegacyOf, ActionStop, finished, true, subresources.ActionOptions{}, fail(msgNotRunning)},
	{sLegacyOf, ActionStop, failed, true, subresources.ActionOptions{}, fail(msgNotRunning)},

	// restart: Halted and Once refuse whatever the state.
	{sHalted, ActionRestart, none, false, subresources.ActionOptions{}, fail(msgHaltedNoRestart)},
	{sHalted, ActionRestart, none, true, subresources.ActionOptions{}, fail(msgHaltedNoRestart)},
	{sHalted, ActionRestart, active, false, subresources.ActionOptions{}, fail(msgHaltedNoRestart)},
	{sHalted, ActionRestart, active, true, subresources.ActionOptions{}, fail(msgHaltedNoRestart)},
	{sHalted, ActionRestart, finished, false, subresources.ActionOptions{}, fail(msgHaltedNoRestart)},
	{sHalted, ActionRestart, failed, false, subresources.ActionOptions{}, fail(msgHaltedNoRestart)},
	{sHalted, ActionRestart, finished, true, subresources.ActionOptions{}, fail(msgHaltedNoRestart)},
	{sHalted, ActionRestart, failed, true, subresources.ActionOptions{}, fail(msgHaltedNoRestart)},
	{sLegacyOf, ActionRestart, none, false, subresources.ActionOptions{}, fail(msgHaltedNoRestart)},
	{sLegacyOf, ActionRestart, none, true, subresources.ActionOptions{}, fail(msgHaltedNoRestart)},
	{sLegacyOf, ActionRestart, active, false, subresources.ActionOptions{}, fail(msgHaltedNoRestart)},
	{sLegacyOf, ActionRestart, active, true, subresources.ActionOptions{}, fail(msgHaltedNoRestart)},
	{sLegacyOf, ActionRestart, finished, false, subresources.ActionOptions{}, fail(msgHaltedNoRestart)},
	{sLegacyOf, ActionRestart, failed, false, subresources.ActionOptions{}, fail(msgHaltedNoRestart)},
	{sLegacyOf, ActionRestart, finished, true, subresources.ActionOptions{}, fail(msgHaltedNoRestart)},
	{sLegacyOf, ActionRestart, failed, true, subresources.ActionOptions{}, fail(msgHaltedNoRestart)},
	{sOnce, ActionRestart, none, false, subresources.ActionOptions{}, fail(msgOnceNoRestart)},
	{sOnce, ActionRestart, none, true, subresources.ActionOptions{}, fail(msgOnceNoRestart)},
	{sOnce, ActionRestart, active, false, subresources.ActionOptions{}, fail(msgOnceNoRestart)},
	{sOnce, ActionRestart, active, true, subresources.ActionOptions{}, fail(msgOnceNoRestart)},
	{sOnce, ActionRestart, finished, false, subresources.ActionOptions{}, fail(msgOnceNoRestart)},
	{sOnce, ActionRestart, failed, false, subresources.ActionOptions{}, fail(msgOnceNoRestart)},
	{sOnce, ActionRestart, finished, true, subresources.ActionOptions{}, fail(msgOnceNoRestart)},
	{sOnce, ActionRestart, failed, true, subresources.ActionOptions{}, fail(msgOnceNoRestart)},
	// WaitAsReceiver: every action is refused; a start first says that an
	// active instance is running.
	{sReceiver, ActionStart, active, false, subresources.ActionOptions{}, fail(msgAlreadyRunning)},
	{sReceiver, ActionStart, active, true, subresources.ActionOptions{}, fail(msgAlreadyRunning)},
	{sReceiver, ActionStart, none, false, subresources.ActionOptions{}, fail(msgReceiverNoStart)},
	{sReceiver, ActionStart, none, true, subresources.ActionOptions{}, fail(msgReceiverNoStart)},
	{sReceiver, ActionStart, finished, false, subresources.ActionOptions{}, fail(msgReceiverNoStart)},
	{sReceiver, ActionStart, failed, false, subresources.ActionOptions{}, fail(msgReceiverNoStart)},
	{sReceiver, ActionStart, finished, true, subresources.ActionOptions{}, fail(msgReceiverNoStart)},
	{sReceiver, ActionStart, failed, true, subresources.ActionOptions{}, fail(msgReceiverNoStart)},
	{sReceiver, ActionStop, none, false, subresources.ActionOptions{}, fail(msgReceiverNoStop)},
	{sReceiver, ActionStop, none, true, subresources.ActionOptions{}, fail(msgReceiverNoStop)},
	{sReceiver, ActionStop, active, false, subresources.ActionOptions{}, fail(msgReceiverNoStop)},
	{sReceiver, ActionStop, active, true, subresources.ActionOptions{}, fail(msgReceiverNoStop)},
	{sReceiver, ActionStop, finished, false, subresources.ActionOptions{}, fail(msgReceiverNoStop)},
	{sReceiver, ActionStop, failed, false, subresources.ActionOptions{}, fail(msgReceiverNoStop)},
	{sReceiver, ActionStop, finished, true, subresources.ActionOptions{}, fail(msgReceiverNoStop)},
	{sReceiver, ActionStop, failed, true, subresources.ActionOptions{}, fail(msgReceiverNoStop)},
	{sReceiver, ActionRestart, none, false, subresources.ActionOptions{}, fail(msgReceiverNoRest)},
	{sReceiver, ActionRestart, none, true, subresources.ActionOptions{}, fail(msgReceiverNoRest)},
	{sReceiver, ActionRestart, active, false, subresources.ActionOptions{}, fail(msgReceiverNoRest)},
	{sReceiver, ActionRestart, active, true, subresources.ActionOptions{}, fail(msgReceiverNoRest)},
	{sReceiver, ActionRestart, finished, false, subresources.ActionOptions{}, fail(msgReceiverNoRest)},
	{sReceiver, ActionRestart, failed, false, subresources.ActionOptions{}, fail(msgReceiverNoRest)},
	{sReceiver, ActionRestart, finished, true, subresources.ActionOptions{}, fail(msgReceiverNoRest)},
	{sReceiver, ActionRestart, failed, true, subresources.ActionOptions{}, fail(msgReceiverNoRest)},
	// restart: the others need an instance, active or finished, and nothing
	// pending. KubeVirt's "error handling for RestartVMRequestHandler /
	// should not fail with VMI and RunStrategy" (a Failed VMI) and "should
	// fail anytime without VMI and RunStrategy".
	{sAlways, ActionRestart, none, false, subresources.ActionOptions{}, fail(msgNotRunning)},
	{sAlways, ActionRestart, none, true, subresources.ActionOptions{}, fail(msgNotRunning)},
	{sAlways, ActionRestart, active, false, subresources.ActionOptions{}, ok(sAlways, reqStop, reqStart)},
	{sAlways, ActionRestart, active, true, subresources.ActionOptions{}, fail(msgPending)},
	{sAlways, ActionRestart, finished, false, subresources.ActionOptions{}, ok(sAlways, reqStop, reqStart)},
	{sAlways, ActionRestart, failed, false, subresources.ActionOptions{}, ok(sAlways, reqStop, reqStart)},
	{sAlways, ActionRestart, finished, true, subresources.ActionOptions{}, fail(msgPending)},
	{sAlways, ActionRestart, failed, true, subresources.ActionOptions{}, fail(msgPending)},
	{sLegacyOn, ActionRestart, none, false, subresources.ActionOptions{}, fail(msgNotRunning)},
	{sLegacyOn, ActionRestart, none, true, subresources.ActionOptions{}, fail(msgNotRunning)},
	{sLegacyOn, ActionRestart, active, false, subresources.ActionOptions{}, ok(sLegacyOn, reqStop, reqStart)},
	{sLegacyOn, ActionRestart, active, true, subresources.ActionOptions{}, fail(msgPending)},
	{sLegacyOn, ActionRestart, finished, false, subresources.ActionOptions{}, ok(sLegacyOn, reqStop, reqStart)},
	{sLegacyOn, ActionRestart, failed, false, subresources.ActionOptions{}, ok(sLegacyOn, reqStop, reqStart)},
	{sLegacyOn, ActionRestart, finished, true, subresources.ActionOptions{}, fail(msgPending)},
	{sLegacyOn, ActionRestart, failed, true, subresources.ActionOptions{}, fail(msgPending)},
	{sRerun, ActionRestart, none, false, subresources.ActionOptions{}, fail(msgNotRunning)},
	{sRerun, ActionRestart, none, true, subresources.ActionOptions{}, fail(msgNotRunning)},
	{sRerun, ActionRestart, active, false, subresources.ActionOptions{}, ok(sRerun, reqStop, reqStart)},
	{sRerun, ActionRestart, active, true, subresources.ActionOptions{}, fail(msgPending)},
	{sRerun, ActionRestart, finished, false, subresources.ActionOptions{}, ok(sRerun, reqStop, reqStart)},
	{sRerun, ActionRestart, failed, false, subresources.ActionOptions{}, ok(sRerun, reqStop, reqStart)},
	{sRerun, ActionRestart, finished, true, subresources.ActionOptions{}, fail(msgPending)},
	{sRerun, ActionRestart, failed, true, subresources.ActionOptions{}, fail(msgPending)},
	{sManual, ActionRestart, none, false, subresources.ActionOptions{}, fail(msgNotRunning)},
	{sManual, ActionRestart, none, true, subresources.ActionOptions{}, fail(msgNotRunning)},
	{sManual, ActionRestart, active, false, subresources.ActionOptions{}, ok(sManual, reqStop, reqStart)},
	{sManual, ActionRestart, active, true, subresources.ActionOptions{}, fail(msgPending)},
	{sManual, ActionRestart, finished, false, subresources.ActionOptions{}, ok(sManual, reqStop, reqStart)},
	{sManual, ActionRestart, failed, false, subresources.ActionOptions{}, ok(sManual, reqStop, reqStart)},
	{sManual, ActionRestart, finished, true, subresources.ActionOptions{}, fail(msgPending)},
	{sManual, ActionRestart, failed, true, subresources.ActionOptions{}, fail(msgPending)},

	// paused start.
	{sRerun, ActionStart, none, false, subresources.ActionOptions{Paused: true}, ok(sRerun, reqStartPaused)},
	{sRerun, ActionStart, finished, false, subresources.ActionOptions{Paused: true}, ok(sRerun, reqStop, reqStartPaused)},
	{sManual, ActionStart, none, false, subresources.ActionOptions{Paused: true}, ok(sManual, reqStartPaused)},
	{sManual, ActionStart, none, true, subresources.ActionOptions{Paused: true}, fail(msgPending)},
	{sHalted, ActionStart, none, false, subresources.ActionOptions{Paused: true}, ok(sAlways, reqStartPaused)},
	{sHalted, ActionStart, finished, false, subresources.ActionOptions{Paused: true}, ok(sAlways, reqStartPaused)},
	{sHalted, ActionStart, none, true, subresources.ActionOptions{Paused: true}, fail(msgPending)},
	{sHalted, ActionStart, active, false, subresources.ActionOptions{Paused: true}, fail(msgAlreadyRunning)},
	{sLegacyOf, ActionStart, none, false, subresources.ActionOptions{Paused: true}, ok(sLegacyOn, reqStartPaused)},
	{sLegacyOf, ActionStart, none, true, subresources.ActionOptions{Paused: true}, fail(msgPending)},
	{sAlways, ActionStart, none, false, subresources.ActionOptions{Paused: true}, fail(msgAlwaysNoStart)},
	{sOnce, ActionStart, none, false, subresources.ActionOptions{Paused: true}, fail(msgOnceNoStart)},

	// stop with a grace period.
	{sAlways, ActionStop, active, false, subresources.ActionOptions{GracePeriodSeconds: ptr.To[int64](30)}, ok(sHalted, reqStopGrace(30))},
	{sAlways, ActionStop, active, true, subresources.ActionOptions{GracePeriodSeconds: ptr.To[int64](30)}, ok(sHalted, reqStopGrace(30))},
	{sAlways, ActionStop, none, false, subresources.ActionOptions{GracePeriodSeconds: ptr.To[int64](0)}, ok(sHalted, reqStopGrace(0))},
	{sLegacyOn, ActionStop, active, false, subresources.ActionOptions{GracePeriodSeconds: ptr.To[int64](30)}, ok(sLegacyOf, reqStopGrace(30))},
	{sOnce, ActionStop, active, true, subresources.ActionOptions{GracePeriodSeconds: ptr.To[int64](30)}, ok(sHalted, reqStopGrace(30))},
	{sRerun, ActionStop, active, true, subresources.ActionOptions{GracePeriodSeconds: ptr.To[int64](30)}, ok(sRerun, reqStopGrace(30))},
	{sManual, ActionStop, active, false, subresources.ActionOptions{GracePeriodSeconds: ptr.To[int64](0)}, ok(sManual, reqStopGrace(0))},
	{sManual, ActionStop, finished, false, subresources.ActionOptions{GracePeriodSeconds: ptr.To[int64](0)}, fail(msgNotRunning)},
	{sHalted, ActionStop, active, false, subresources.ActionOptions{GracePeriodSeconds: ptr.To[int64](0)}, ok(sHalted, reqStopGrace(0))},
	{sHalted, ActionStop, active, true, subresources.ActionOptions{GracePeriodSeconds: ptr.To[int64](30)}, ok(sHalted, reqStopGrace(30))},
	{sHalted, ActionStop, none, false, subresources.ActionOptions{GracePeriodSeconds: ptr.To[int64](30)}, fail(msgNotRunning)},
	{sHalted, ActionStop, finished, false, subresources.ActionOptions{GracePeriodSeconds: ptr.To[int64](30)}, fail(msgNotRunning)},
	{sLegacyOf, ActionStop, active, false, subresources.ActionOptions{GracePeriodSeconds: ptr.To[int64](5)}, ok(sLegacyOf, reqStopGrace(5))},

	// forced restart.
	{sAlways, ActionRestart, active, false, subresources.ActionOptions{GracePeriodSeconds: ptr.To[int64](0)}, ok(sAlways, reqStopGrace(1), reqStart)},
	{sRerun, ActionRestart, active, false, subresources.ActionOptions{GracePeriodSeconds: ptr.To[int64](0)}, ok(sRerun, reqStopGrace(1), reqStart)},
	{sLegacyOn, ActionRestart, active, false, subresources.ActionOptions{GracePeriodSeconds: ptr.To[int64](0)}, ok(sLegacyOn, reqStopGrace(1), reqStart)},
	{sManual, ActionRestart, active, true, subresources.ActionOptions{GracePeriodSeconds: ptr.To[int64](0)}, fail(msgPending)},
	{sHalted, ActionRestart, active, false, subresources.ActionOptions{GracePeriodSeconds: ptr.To[int64](0)}, fail(msgHaltedNoRestart)},
}

// wantVM is in with the spec and SCR that o describes.
func wantVM(in *kubevirt.VirtualMachine, o outcome) *kubevirt.VirtualMachine {
	want := in.DeepCopy()
	want.Spec.Running, want.Spec.RunStrategy = nil, nil
	switch o.strategy {
	case sLegacyOn:
		want.Spec.Running = ptr.To(true)
	case sLegacyOf:
		want.Spec.Running = ptr.To(false)
	default:
		want.Spec.RunStrategy = ptr.To(virtv1.VirtualMachineRunStrategy(o.strategy))
	}
	want.Status.StateChangeRequests = o.scr
	return want
}

// conflictMessage is the full message of the 409 carrying msg for VM vm1.
func conflictMessage(msg string) string {
	return `Operation cannot be fulfilled on virtualmachines.kubevirt.io "vm1": ` + msg
}

func TestDecideTable(t *testing.T) {
	// Every default-option cell of the 8 rows x 3 actions x 4 instances x 2 is listed.
	seen := map[string]bool{}
	for _, c := range cells {
		if !c.opts.Paused && c.opts.GracePeriodSeconds == nil && c.opts.DryRun == nil {
			seen[fmt.Sprint(c.strategy, c.action, c.inst, c.pending)] = true
		}
	}
	require.Len(t, seen, 8*3*4*2, "every cell of the table has a case")

	for _, c := range cells {
		t.Run(c.name(), func(t *testing.T) {
			in := testVM(c.strategy, c.inst, c.pending)
			before := in.DeepCopy()

			got, err := Decide(in, c.action, &c.opts)

			assert.Equal(t, before, in, "Decide must not change its input")
			if c.want.conflict != "" {
				require.Error(t, err)
				assert.Nil(t, got)
				status, isStatus := err.(apierrors.APIStatus)
				require.True(t, isStatus, "a typed API error")
				assert.Equal(t, int32(http.StatusConflict), status.Status().Code)
				assert.Equal(t, metav1.StatusReasonConflict, status.Status().Reason)
				assert.Equal(t, conflictMessage(c.want.conflict), status.Status().Message)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, wantVM(before, c.want), got)
			// The result is a copy: changing it leaves the input alone.
			got.Spec.Template.Spec.Hostname = "changed"
			assert.Equal(t, before, in)
		})
	}
}

// TestDecideRuntimeView pins the definitions of active and finished on
// statuses other than the three above.
func TestDecideRuntimeView(t *testing.T) {
	tests := []struct {
		name   string
		status virtv1.VirtualMachineStatus
		want   outcome // of a Manual start
	}{
		{"created without printable status is active", virtv1.VirtualMachineStatus{Created: true}, fail(msgAlreadyRunning)},
		{"created and starting is active", virtv1.VirtualMachineStatus{Created: true, PrintableStatus: virtv1.VirtualMachineStatusStarting}, fail(msgAlreadyRunning)},
		{"created and stopping is active", virtv1.VirtualMachineStatus{Created: true, PrintableStatus: virtv1.VirtualMachineStatusStopping}, fail(msgAlreadyRunning)},
		{"created and paused is active", virtv1.VirtualMachineStatus{Created: true, PrintableStatus: virtv1.VirtualMachineStatusPaused}, fail(msgAlreadyRunning)},
		{"stopped but not created is no instance", virtv1.VirtualMachineStatus{PrintableStatus: virtv1.VirtualMachineStatusStopped}, ok(sManual, reqStart)},
		{"running but not created is no instance", virtv1.VirtualMachineStatus{PrintableStatus: virtv1.VirtualMachineStatusRunning}, ok(sManual, reqStart)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := testVM(sManual, none, false)
			in.Status = tt.status
			got, err := Decide(in, ActionStart, &subresources.ActionOptions{})
			if tt.want.conflict != "" {
				require.Error(t, err)
				assert.Equal(t, conflictMessage(tt.want.conflict), err.Error())
				return
			}
			require.NoError(t, err)
			assert.Equal(t, wantVM(in, tt.want), got)
		})
	}
}

// TestDecideRefusals covers inputs that no valid VM or decoded options produce.
func TestDecideRefusals(t *testing.T) {
	noStrategy := testVM(sManual, active, false)
	noStrategy.Spec.RunStrategy = nil
	unknown := testVM("Sometimes", active, false)

	tests := []struct {
		name     string
		vm       *kubevirt.VirtualMachine
		action   Action
		opts     subresources.ActionOptions
		code     int32
		contains string
	}{
		{"no run strategy", noStrategy, ActionStart, subresources.ActionOptions{}, http.StatusConflict, msgNoRunStrategy},
		{"unsupported run strategy", unknown, ActionStop, subresources.ActionOptions{}, http.StatusConflict, `unsupported run strategy "Sometimes"`},
		{"negative grace period", testVM(sAlways, active, false), ActionStop, subresources.ActionOptions{GracePeriodSeconds: ptr.To[int64](-1)}, http.StatusBadRequest, "must not be negative"},
		{"restart grace other than 0", testVM(sAlways, active, false), ActionRestart, subresources.ActionOptions{GracePeriodSeconds: ptr.To[int64](5)}, http.StatusBadRequest, "only gracePeriodSeconds 0"},
		{"unknown action", testVM(sAlways, active, false), Action("pause"), subresources.ActionOptions{}, http.StatusBadRequest, `unknown action "pause"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := tt.vm.DeepCopy()
			got, err := Decide(tt.vm, tt.action, &tt.opts)
			require.Error(t, err)
			assert.Nil(t, got)
			assert.Equal(t, tt.code, statusCode(err))
			assert.Contains(t, err.Error(), tt.contains)
			assert.Equal(t, before, tt.vm)
		})
	}
}

// statusCode is the HTTP code of an API error, 0 for any other error.
func statusCode(err error) int32 {
	if status, ok := err.(apierrors.APIStatus); ok {
		return status.Status().Code
	}
	return 0
}

// TestDecideHaltedStopGrace: a Halted VM whose instance is still shutting
// down takes a stop only with a grace period shorter than the one in force,
// which is a pending Stop's, else the template's. The first five rows are
// KubeVirt's "for VM with RunStrategyHalted, should" entries, with the
// instance's terminationGracePeriodSeconds as the template's.
func TestDecideHaltedStopGrace(t *testing.T) {
	stopGrace := func(n int) []virtv1.VirtualMachineStateChangeRequest {
		return []virtv1.VirtualMachineStateChangeRequest{reqStopGrace(n)}
	}
	tests := []struct {
		name     string
		template *int64
		pending  []virtv1.VirtualMachineStateChangeRequest
		grace    *int64
		want     outcome
	}{
		{"fail with nil graceperiod", ptr.To[int64](1800), nil, nil, fail(msgShorterGrace)},
		{"fail with equal graceperiod", ptr.To[int64](1800), nil, ptr.To[int64](1800), fail(msgShorterGrace)},
		{"fail with greater graceperiod", ptr.To[int64](1800), nil, ptr.To[int64](2400), fail(msgShorterGrace)},
		{"not fail with non-nil graceperiod and nil termination graceperiod", nil, nil, ptr.To[int64](1800), ok(sHalted, reqStopGrace(1800))},
		{"not fail with shorter graceperiod and non-nil termination graceperiod", ptr.To[int64](1800), nil, ptr.To[int64](800), ok(sHalted, reqStopGrace(800))},
		{"a pending Stop's grace is the one in force", ptr.To[int64](1800), stopGrace(60), ptr.To[int64](60), fail(msgShorterGrace)},
		{"shorter than a pending Stop's grace", ptr.To[int64](1800), stopGrace(60), ptr.To[int64](5), ok(sHalted, reqStopGrace(5))},
		{"a pending Stop without grace leaves the template's", ptr.To[int64](30), []virtv1.VirtualMachineStateChangeRequest{reqStop}, ptr.To[int64](10), ok(sHalted, reqStopGrace(10))},
		{"a pending Start is replaced", ptr.To[int64](30), pendingSCR, ptr.To[int64](0), ok(sHalted, reqStopGrace(0))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := testVM(sHalted, active, false)
			in.Spec.Template.Spec.TerminationGracePeriodSeconds = tt.template
			in.Status.StateChangeRequests = tt.pending
			got, err := Decide(in, ActionStop, &subresources.ActionOptions{GracePeriodSeconds: tt.grace})
			if tt.want.conflict != "" {
				require.Error(t, err)
				assert.Equal(t, int32(http.StatusConflict), statusCode(err))
				assert.Equal(t, conflictMessage(tt.want.conflict), err.Error())
				return
			}
			require.NoError(t, err)
			assert.Equal(t, wantVM(in, tt.want), got)
		})
	}
}

// TestDecideStartFailure: every write of a Start or Stop request removes
// status.startFailure, so a manual action ends the crash-loop back-off; a
// write of the strategy alone keeps it, as in KubeVirt.
func TestDecideStartFailure(t *testing.T) {
	tests := []struct {
		strategy string
		action   Action
		inst     instance
		opts     subresources.ActionOptions
		kept     bool
	}{
		{sManual, ActionStart, none, subresources.ActionOptions{}, false},
		{sRerun, ActionStart, finished, subresources.ActionOptions{}, false},
		{sManual, ActionStop, active, subresources.ActionOptions{}, false},
		{sRerun, ActionStop, active, subresources.ActionOptions{GracePeriodSeconds: ptr.To[int64](3)}, false},
		{sAlways, ActionRestart, active, subresources.ActionOptions{}, false},
		{sManual, ActionRestart, failed, subresources.ActionOptions{GracePeriodSeconds: ptr.To[int64](0)}, false},
		{sHalted, ActionStart, none, subresources.ActionOptions{Paused: true}, false},
		{sHalted, ActionStop, active, subresources.ActionOptions{GracePeriodSeconds: ptr.To[int64](0)}, false},
		{sHalted, ActionStart, none, subresources.ActionOptions{}, true},
		{sLegacyOf, ActionStart, failed, subresources.ActionOptions{}, true},
		{sAlways, ActionStop, active, subresources.ActionOptions{}, true},
		{sOnce, ActionStop, active, subresources.ActionOptions{}, true},
		{sAlways, ActionStop, active, subresources.ActionOptions{GracePeriodSeconds: ptr.To[int64](5)}, true},
	}
	for _, tt := range tests {
		name := fmt.Sprintf("%s/%s/%s/paused=%t/grace=%v", tt.strategy, tt.action, tt.inst, tt.opts.Paused, ptr.Deref(tt.opts.GracePeriodSeconds, -1))
		t.Run(name, func(t *testing.T) {
			in := testVM(tt.strategy, tt.inst, false)
			failure := &virtv1.VirtualMachineStartFailure{ConsecutiveFailCount: 3, RetryAfterTimestamp: &metav1.Time{}}
			in.Status.StartFailure = failure.DeepCopy()
			got, err := Decide(in, tt.action, &tt.opts)
			require.NoError(t, err)
			if tt.kept {
				assert.Equal(t, failure, got.Status.StartFailure)
			} else {
				assert.Nil(t, got.Status.StartFailure)
			}
			assert.Equal(t, failure, in.Status.StartFailure, "the input is never changed")
		})
	}
}

// TestDecideRecoveryConditions: KubeVirt's "should fail when the volume
// migration in ongoing" for start (ManualRecoveryRequired) and restart
// (VolumesChange); other actions and False conditions are not affected.
func TestDecideRecoveryConditions(t *testing.T) {
	withCondition := func(vm *kubevirt.VirtualMachine, c virtv1.VirtualMachineConditionType, status string) *kubevirt.VirtualMachine {
		vm.Status.Conditions = append(vm.Status.Conditions, virtv1.VirtualMachineCondition{Type: c, Status: corev1.ConditionStatus(status)})
		return vm
	}
	recovery := virtv1.VirtualMachineManualRecoveryRequired
	volumes := virtv1.VirtualMachineConditionType(virtv1.VirtualMachineInstanceVolumesChange)
	tests := []struct {
		name   string
		vm     *kubevirt.VirtualMachine
		action Action
		want   outcome
	}{
		{"start with ManualRecoveryRequired", withCondition(testVM(sManual, none, false), recovery, "True"), ActionStart, fail(msgRecovery)},
		{"start of Halted with ManualRecoveryRequired", withCondition(testVM(sHalted, finished, false), recovery, "True"), ActionStart, fail(msgRecovery)},
		{"start of an active VM says it runs first", withCondition(testVM(sManual, active, false), recovery, "True"), ActionStart, fail(msgAlreadyRunning)},
		{"start with ManualRecoveryRequired False", withCondition(testVM(sManual, none, false), recovery, "False"), ActionStart, ok(sManual, reqStart)},
		{"restart with VolumesChange", withCondition(testVM(sAlways, active, false), volumes, "True"), ActionRestart, fail(msgRecovery)},
		{"restart of Halted with VolumesChange", withCondition(testVM(sHalted, active, false), volumes, "True"), ActionRestart, fail(msgRecovery)},
		{"restart with VolumesChange False", withCondition(testVM(sAlways, active, false), volumes, "False"), ActionRestart, ok(sAlways, reqStop, reqStart)},
		{"stop with ManualRecoveryRequired", withCondition(testVM(sManual, active, false), recovery, "True"), ActionStop, ok(sManual, reqStop)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decide(tt.vm, tt.action, &subresources.ActionOptions{})
			if tt.want.conflict != "" {
				require.Error(t, err)
				assert.Equal(t, int32(http.StatusConflict), statusCode(err))
				assert.Equal(t, conflictMessage(tt.want.conflict), err.Error())
				return
			}
			require.NoError(t, err)
			assert.Equal(t, wantVM(tt.vm, tt.want), got)
		})
	}
}
