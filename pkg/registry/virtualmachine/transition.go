package virtualmachine

import (
	"errors"
	"strconv"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
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

// The texts of the 409s, as the lifecycle contract words them.
const (
	msgAlreadyRunning  = "VM is already running"
	msgNotRunning      = "VM is not running"
	msgAlreadyStopping = "VM is already stopping"
	msgPending         = "a start or stop request is already pending"
	msgAlwaysNoStart   = "Always does not support manual start requests"
	msgOnceNoStart     = "Once does not support manual start requests"
	msgHaltedNoRestart = "Halted does not support manual restart requests"
	msgOnceNoRestart   = "Once does not support manual restart requests"
	msgReceiverNoStart = "WaitAsReceiver does not support manual start requests"
	msgReceiverNoStop  = "WaitAsReceiver does not support manual stop requests"
	msgReceiverNoRest  = "WaitAsReceiver does not support manual restart requests"
	msgNoRunStrategy   = "VM has no run strategy"
	msgUnknownStrategy = "VM has an unsupported run strategy"
)

// The keys and value of a state change request's data, as KubeVirt's runtime reads them.
const (
	scrDataGracePeriod  = "gracePeriodSeconds"
	scrDataPaused       = "paused"
	scrDataPausedIsTrue = "true"
)

// Decide applies action to vm and returns the VM to store, or the API error
// that refuses it. It never changes vm: the result is a deep copy.
//
// "active" means status.created && printableStatus != Stopped, "finished"
// means status.created && printableStatus == Stopped, and a VM whose status
// was never written has neither. SCR is status.stateChangeRequests. The
// strategy is the effective one (spec.running true/false counts as
// Always/Halted); where a cell sets the strategy, a legacy VM gets
// spec.running rewritten instead (Always -> true, Halted -> false).
// Every "409" below carries the quoted text; nothing is written on any error.
//
//	strategy        start                          stop                              restart
//	--------------  -----------------------------  --------------------------------  ------------------------------
//	Always          active: 409 "VM is already     strategy := Halted;               not active: 409 "VM is not
//	                running"; else 409 "Always     grace given: SCR := [Stop{grace}]  running"; SCR pending: 409
//	                does not support manual start  else SCR := [] (a stop replaces   "a start or stop request is
//	                requests"                      anything pending)                 already pending"; else
//	                                                                                 SCR := [Stop, Start]
//	RerunOnFailure  active: 409 "VM is already     not active: 409 "VM is not        as Always
//	and Manual      running"; SCR pending: 409     running"; else
//	                pending; else SCR := [Start]   SCR := [Stop{grace if given}]
//	                or [Stop, Start] if finished;  (replacing anything pending)
//	                Start carries paused
//	Halted          active: 409 "VM is already     not active: 409 "VM is not        409 "Halted does not support
//	                running" (still shutting       running"; grace given:            manual restart requests"
//	                down); else strategy :=        SCR := [Stop{grace}]; else 409
//	                Always; paused also sets       "VM is already stopping"
//	                SCR := [Start{paused}] (409
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
//
// The strategy is unchanged wherever the table does not set it. A forced
// restart (GracePeriodSeconds = 0) puts gracePeriodSeconds "0" on its Stop.
// A Halted start without paused leaves SCR as it is: it writes no request.
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
	if kubevirt.InstanceActive(status) {
		return conflict(vm, msgAlreadyRunning)
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
			if len(status.StateChangeRequests) > 0 {
				return conflict(vm, msgPending)
			}
			status.StateChangeRequests = []virtv1.VirtualMachineStateChangeRequest{startRequest(true)}
		}
		setStrategy(vm, virtv1.RunStrategyAlways)
		return nil
	default: // RerunOnFailure, Manual
		if len(status.StateChangeRequests) > 0 {
			return conflict(vm, msgPending)
		}
		var requests []virtv1.VirtualMachineStateChangeRequest
		if kubevirt.InstanceFinished(status) {
			// The old instance must go before a new one can start.
			requests = append(requests, stopRequest(nil))
		}
		status.StateChangeRequests = append(requests, startRequest(opts.Paused))
		return nil
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
		// request, since Halted alone already makes the runtime stop.
		status.StateChangeRequests = nil
		if opts.GracePeriodSeconds != nil {
			status.StateChangeRequests = []virtv1.VirtualMachineStateChangeRequest{stopRequest(opts.GracePeriodSeconds)}
		}
		return nil
	case virtv1.RunStrategyHalted:
		if !kubevirt.InstanceActive(status) {
			return conflict(vm, msgNotRunning)
		}
		if opts.GracePeriodSeconds == nil {
			return conflict(vm, msgAlreadyStopping)
		}
		// A shorter grace period speeds up the shutdown already under way.
		status.StateChangeRequests = []virtv1.VirtualMachineStateChangeRequest{stopRequest(opts.GracePeriodSeconds)}
		return nil
	default: // RerunOnFailure, Manual
		if !kubevirt.InstanceActive(status) {
			return conflict(vm, msgNotRunning)
		}
		status.StateChangeRequests = []virtv1.VirtualMachineStateChangeRequest{stopRequest(opts.GracePeriodSeconds)}
		return nil
	}
}

// restart applies the restart column of the table to vm, a copy owned by Decide.
func restart(vm *kubevirt.VirtualMachine, strategy virtv1.VirtualMachineRunStrategy, opts *subresources.ActionOptions) error {
	status := &vm.Status
	switch strategy {
	case virtv1.RunStrategyHalted:
		return conflict(vm, msgHaltedNoRestart)
	case virtv1.RunStrategyOnce:
		return conflict(vm, msgOnceNoRestart)
	case virtv1.RunStrategyWaitAsReceiver:
		return conflict(vm, msgReceiverNoRest)
	}
	if !kubevirt.InstanceActive(status) {
		return conflict(vm, msgNotRunning)
	}
	if len(status.StateChangeRequests) > 0 {
		return conflict(vm, msgPending)
	}
	status.StateChangeRequests = []virtv1.VirtualMachineStateChangeRequest{
		stopRequest(opts.GracePeriodSeconds),
		startRequest(false),
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
