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
// The answer comes from transitionTable: the rules of commonRules for the
// action, then those of the VM's effective strategy (spec.running true or
// false counts as Always or Halted), in order; the first rule whose
// condition holds decides. Its 409 text refuses the action, or it sets the
// strategy and the state change requests. docs/api.md renders the same
// table (TransitionTableMarkdown), and a test keeps the two equal.
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
	if action != ActionStart && action != ActionStop && action != ActionRestart {
		return nil, apierrors.NewBadRequest("unknown action " + strconv.Quote(string(action)))
	}

	strategy, ok := kubevirt.EffectiveRunStrategy(&vm.Spec)
	if !ok {
		return nil, conflict(vm, msgNoRunStrategy)
	}
	rules, ok := transitionTable[strategy]
	if !ok {
		return nil, conflict(vm, msgUnknownStrategy+" "+strconv.Quote(string(strategy)))
	}

	for _, r := range append(commonRules[action], rules[action]...) {
		if !r.when.holds(vm, opts) {
			continue
		}
		if r.refuse != "" {
			return nil, conflict(vm, r.refuse)
		}
		out := vm.DeepCopy()
		r.apply(out, opts)
		return out, nil
	}
	// Every list of the table ends with a rule that always holds.
	return nil, conflict(vm, msgUnknownStrategy+" "+strconv.Quote(string(strategy)))
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
