package virtualmachine

import (
	"errors"
	"strconv"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/ptr"
	virtv1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
	"github.com/vm-apiserver/vm-apiserver/pkg/apis/subresources"
)

// Action is one of the VM lifecycle actions.
type Action string

// The lifecycle actions; the values are the subresource names.
const (
	ActionStart   Action = "start"
	ActionStop    Action = "stop"
	ActionRestart Action = "restart"
)

// The texts of the 409s. Where KubeVirt refuses the same request, the text
// is KubeVirt's, so that clients matching on it keep working.
const (
	msgAlreadyRunning  = "VM is already running"
	msgNotRunning      = "VM is not running"
	msgShorterGrace    = "VM is already stopping: Halted only supports manual stop requests with a shorter graceperiod"
	msgPending         = "a start or stop request is already pending"
	msgAlwaysNoStart   = "Always does not support manual start requests"
	msgOnceNoStart     = "Once does not support manual start requests"
	msgRerunFailed     = "RerunOnFailure does not support starting VM from failed state"
	msgHaltedNoRestart = "Halted does not support manual restart requests"
	msgOnceNoRestart   = "Once does not support manual restart requests"
	msgReceiverNoStart = "WaitAsReceiver does not support manual start requests"
	msgReceiverNoStop  = "WaitAsReceiver does not support manual stop requests"
	msgReceiverNoRest  = "WaitAsReceiver does not support manual restart requests"
	msgRecovery        = "VM recovery required: Volume migration failed, leaving some volumes pointing to non-consistent targets; manual intervention is needed to reassign them to their original volumes."
	msgNoRunStrategy   = "VM has no run strategy"
	msgUnknownStrategy = "VM has an unsupported run strategy"
)

// The keys and value of a state change request's data, as KubeVirt's runtime reads them.
const (
	scrDataGracePeriod  = "gracePeriodSeconds"
	scrDataPaused       = "paused"
	scrDataPausedIsTrue = "true"
)

// ForcedRestartGracePeriodSeconds is the grace period a forced restart
// (gracePeriodSeconds 0) puts on its Stop. KubeVirt gives the old instance
// this one second, not zero, so that its disks are released before the new
// instance starts: with no grace at all, both could run at once.
const ForcedRestartGracePeriodSeconds int64 = 1

// conditionVolumesChange is the VM condition KubeVirt sets while a volume
// migration is under way; a restart then would leave volumes inconsistent.
const conditionVolumesChange = virtv1.VirtualMachineConditionType(virtv1.VirtualMachineInstanceVolumesChange)

// Decide applies action to vm and returns the VM to store, or the API error
// that refuses it. It never changes vm: the result is a deep copy.
//
// The instance is what status says (package kubevirt): "active" is created
// and not Stopped, "finished" is created and Stopped, "failed" is finished
// with the Ready reason kubevirt.InstanceFailedReason, and a VM whose status
// was never written has none. SCR is status.stateChangeRequests. The
// strategy is the effective one (spec.running true/false counts as
// Always/Halted); where a cell sets the strategy, a legacy VM gets
// spec.running rewritten instead (Always -> true, Halted -> false).
// Every "409" below carries the quoted text; nothing is written on any error.
//
//	strategy        start                          stop                              restart
//	--------------  -----------------------------  --------------------------------  ------------------------------
//	Always          active: 409 "VM is already     strategy := Halted;               no instance: 409 "VM is not
//	                running"; else 409 "Always     grace given: SCR := [Stop{grace}]  running"; SCR pending: 409
//	                does not support manual start  else SCR := [] (a stop replaces   "a start or stop request is
//	                requests"                      anything pending)                 already pending"; else
//	                                                                                 SCR := [Stop, Start]
//	RerunOnFailure  active: 409 "VM is already     not active: 409 "VM is not        as Always
//	and Manual      running"; RerunOnFailure and   running"; else
//	                failed: 409; SCR pending: 409  SCR := [Stop{grace if given}]
//	                pending; else SCR := [Start]   (replacing anything pending)
//	                or [Stop, Start] if finished;
//	                Start carries paused
//	Halted          active: 409 "VM is already     not active: 409 "VM is not        409 "Halted does not support
//	                running" (still shutting       running"; a grace shorter than    manual restart requests"
//	                down); else strategy :=        the one in force: SCR :=
//	                Always; paused also sets       [Stop{grace}]; else 409 (shorter
//	                SCR := [Start{paused}] (409    grace only)
//	                pending if SCR is non-empty)
//	Once            active: 409 "VM is already     strategy := Halted; grace as      409 "Once does not support
//	                running"; else 409 "Once does  for Always                        manual restart requests"
//	                not support manual start
//	                requests"
//	WaitAsReceiver  active: 409 "VM is already     409 "WaitAsReceiver does not      409 "WaitAsReceiver does not
//	                running"; else 409             support manual stop requests"     support manual restart
//	                "WaitAsReceiver does not                                         requests"
//	                support manual start requests"
//
// A WaitAsReceiver VM is the target of a migration from another cluster: its
// instance is the migration's to start and stop, so every action refuses it.
// As in KubeVirt, a start is refused while the ManualRecoveryRequired
// condition is True, and a restart while VolumesChange is True.
//
// The strategy is unchanged wherever the table does not set it. Every write
// of a Start or Stop request also removes status.startFailure, so that a
// manual action ends the crash-loop back-off; a write of the strategy alone
// keeps it. A forced restart (GracePeriodSeconds = 0) puts
// ForcedRestartGracePeriodSeconds on its Stop. A Halted start without paused
// leaves SCR as it is: it writes no request.
func Decide(vm *kubevirt.VirtualMachine, action Action, opts *subresources.ActionOptions) (*kubevirt.VirtualMachine, error) {
	if opts == nil {
		opts = &subresources.ActionOptions{}
	}
	// Options that arrive here have been decoded and checked already; these
	// checks keep Decide total for any caller.
	if opts.GracePeriodSeconds != nil && *opts.GracePeriodSeconds < 0 {
		return nil, apierrors.NewBadRequest("the grace period must not be negative")
	}
	if action == ActionRestart && opts.GracePeriodSeconds != nil && *opts.GracePeriodSeconds != 0 {
		return nil, apierrors.NewBadRequest("a restart accepts only gracePeriodSeconds 0 (a forced restart)")
	}

	strategy, ok := kubevirt.EffectiveRunStrategy(&vm.Spec)
	if !ok {
		return nil, conflict(vm, msgNoRunStrategy)
	}
	if !kubevirt.IsSupportedRunStrategy(strategy) {
		return nil, conflict(vm, msgUnknownStrategy+" "+strconv.Quote(string(strategy)))
	}

	out := vm.DeepCopy()
	var err error
	switch action {
	case ActionStart:
		err = start(out, strategy, opts)
	case ActionStop:
		err = stop(out, strategy, opts)
	case ActionRestart:
		err = restart(out, strategy, opts)
	default:
		err = apierrors.NewBadRequest("unknown action " + strconv.Quote(string(action)))
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// start applies the start column of the table to vm, a copy owned by Decide.
func start(vm *kubevirt.VirtualMachine, strategy virtv1.VirtualMachineRunStrategy, opts *subresources.ActionOptions) error {
	status := &vm.Status
	// As in KubeVirt, an instance in the Unknown state (its node is lost)
	// does not count as running for a start.
	if kubevirt.InstanceActive(status) && status.PrintableStatus != virtv1.VirtualMachineStatusUnknown {
		return conflict(vm, msgAlreadyRunning)
	}
	if kubevirt.ConditionTrue(status, virtv1.VirtualMachineManualRecoveryRequired) {
		return conflict(vm, msgRecovery)
	}
	switch strategy {
	case virtv1.RunStrategyAlways:
		return conflict(vm, msgAlwaysNoStart)
	case virtv1.RunStrategyOnce:
		return conflict(vm, msgOnceNoStart)
	case virtv1.RunStrategyWaitAsReceiver:
		return conflict(vm, msgReceiverNoStart)
	case virtv1.RunStrategyHalted:
		if opts.Paused {
			if err := setRequests(vm, startRequest(true)); err != nil {
				return err
			}
		}
		setStrategy(vm, virtv1.RunStrategyAlways)
		return nil
	default: // RerunOnFailure, Manual
		if strategy == virtv1.RunStrategyRerunOnFailure && kubevirt.InstanceFailed(status) {
			// A failed instance is the runtime's to replace, not the user's.
			return conflict(vm, msgRerunFailed)
		}
		if kubevirt.InstanceFinished(status) {
			// The old instance must go before a new one can start.
			return setRequests(vm, stopRequest(nil), startRequest(opts.Paused))
		}
		return setRequests(vm, startRequest(opts.Paused))
	}
}

// stop applies the stop column of the table to vm, a copy owned by Decide.
func stop(vm *kubevirt.VirtualMachine, strategy virtv1.VirtualMachineRunStrategy, opts *subresources.ActionOptions) error {
	status := &vm.Status
	switch strategy {
	case virtv1.RunStrategyWaitAsReceiver:
		return conflict(vm, msgReceiverNoStop)
	case virtv1.RunStrategyAlways, virtv1.RunStrategyOnce:
		setStrategy(vm, virtv1.RunStrategyHalted)
		// A stop replaces whatever was pending; only a grace period needs a
		// request, since Halted alone already makes the runtime stop. This
		// is a change of the strategy, as in KubeVirt, so startFailure stays.
		status.StateChangeRequests = nil
		if opts.GracePeriodSeconds != nil {
			status.StateChangeRequests = []virtv1.VirtualMachineStateChangeRequest{stopRequest(opts.GracePeriodSeconds)}
		}
		return nil
	case virtv1.RunStrategyHalted:
		if !kubevirt.InstanceActive(status) {
			return conflict(vm, msgNotRunning)
		}
		// The shutdown is under way already; only a shorter grace period
		// than the one it runs under changes anything.
		if opts.GracePeriodSeconds == nil {
			return conflict(vm, msgShorterGrace)
		}
		if inForce := graceInForce(vm); inForce != nil && *opts.GracePeriodSeconds >= *inForce {
			return conflict(vm, msgShorterGrace)
		}
		replaceRequests(vm, stopRequest(opts.GracePeriodSeconds))
		return nil
	default: // RerunOnFailure, Manual
		if !kubevirt.InstanceActive(status) {
			return conflict(vm, msgNotRunning)
		}
		replaceRequests(vm, stopRequest(opts.GracePeriodSeconds))
		return nil
	}
}

// restart applies the restart column of the table to vm, a copy owned by Decide.
func restart(vm *kubevirt.VirtualMachine, strategy virtv1.VirtualMachineRunStrategy, opts *subresources.ActionOptions) error {
	if kubevirt.ConditionTrue(&vm.Status, conditionVolumesChange) {
		return conflict(vm, msgRecovery)
	}
	switch strategy {
	case virtv1.RunStrategyHalted:
		return conflict(vm, msgHaltedNoRestart)
	case virtv1.RunStrategyOnce:
		return conflict(vm, msgOnceNoRestart)
	case virtv1.RunStrategyWaitAsReceiver:
		return conflict(vm, msgReceiverNoRest)
	}
	// A finished instance is restarted too: its Stop removes it and the
	// Start boots the next one.
	if !kubevirt.InstanceExists(&vm.Status) {
		return conflict(vm, msgNotRunning)
	}
	var grace *int64
	if opts.GracePeriodSeconds != nil {
		grace = ptr.To(ForcedRestartGracePeriodSeconds)
	}
	return setRequests(vm, stopRequest(grace), startRequest(false))
}

// setRequests sets SCR to requests, refusing when requests are pending: a
// start or restart must not reorder or drop what is already queued. Like
// every write of requests, it ends a crash-loop back-off.
func setRequests(vm *kubevirt.VirtualMachine, requests ...virtv1.VirtualMachineStateChangeRequest) error {
	if len(vm.Status.StateChangeRequests) > 0 {
		return conflict(vm, msgPending)
	}
	replaceRequests(vm, requests...)
	return nil
}

// replaceRequests sets SCR to requests whatever was pending, as a stop does,
// and removes status.startFailure.
func replaceRequests(vm *kubevirt.VirtualMachine, requests ...virtv1.VirtualMachineStateChangeRequest) {
	vm.Status.StateChangeRequests = requests
	vm.Status.StartFailure = nil
}

// graceInForce is the grace period the VM's instance shuts down under: that
// of a pending Stop request if it carries one, else the template's
// terminationGracePeriodSeconds. It is nil when neither says; the runtime's
// own default is not known here.
func graceInForce(vm *kubevirt.VirtualMachine) *int64 {
	for _, req := range vm.Status.StateChangeRequests {
		if req.Action != virtv1.StopRequest {
			continue
		}
		if v, err := strconv.ParseInt(req.Data[scrDataGracePeriod], 10, 64); err == nil {
			return &v
		}
	}
	if vm.Spec.Template != nil {
		return vm.Spec.Template.Spec.TerminationGracePeriodSeconds
	}
	return nil
}

// setStrategy writes strategy in the field the VM already uses: spec.running
// for a legacy VM (only Always and Halted occur there), else spec.runStrategy.
func setStrategy(vm *kubevirt.VirtualMachine, strategy virtv1.VirtualMachineRunStrategy) {
	if kubevirt.IsLegacy(&vm.Spec) {
		running := strategy == virtv1.RunStrategyAlways
		vm.Spec.Running = &running
		return
	}
	vm.Spec.RunStrategy = &strategy
}

// startRequest is a Start state change request, paused if asked.
func startRequest(paused bool) virtv1.VirtualMachineStateChangeRequest {
	req := virtv1.VirtualMachineStateChangeRequest{Action: virtv1.StartRequest}
	if paused {
		req.Data = map[string]string{scrDataPaused: scrDataPausedIsTrue}
	}
	return req
}

// stopRequest is a Stop state change request carrying the grace period if given.
func stopRequest(gracePeriodSeconds *int64) virtv1.VirtualMachineStateChangeRequest {
	req := virtv1.VirtualMachineStateChangeRequest{Action: virtv1.StopRequest}
	if gracePeriodSeconds != nil {
		req.Data = map[string]string{scrDataGracePeriod: strconv.FormatInt(*gracePeriodSeconds, 10)}
	}
	return req
}

// conflict is the 409 that refuses an action, with the contract's text.
func conflict(vm *kubevirt.VirtualMachine, msg string) error {
	return apierrors.NewConflict(kubevirt.Resource("virtualmachines"), vm.Name, errors.New(msg))
}
