package virtualmachine

import (
	virtv1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
	"github.com/vm-apiserver/vm-apiserver/pkg/apis/subresources"
)

// condition is what a rule of the transition table tests, on the VM as
// stored and the action's options.
type condition struct {
	// doc names the condition in docs/api.md, where the terms are defined.
	doc   string
	holds func(vm *kubevirt.VirtualMachine, opts *subresources.ActionOptions) bool
}

// The conditions the table uses.
var (
	otherwise = condition{"otherwise", func(*kubevirt.VirtualMachine, *subresources.ActionOptions) bool { return true }}
	// As in KubeVirt, an instance in the Unknown state (its node is lost)
	// does not count as running for a start.
	whenRunning = condition{"active instance, unless `Unknown`", func(vm *kubevirt.VirtualMachine, _ *subresources.ActionOptions) bool {
		return kubevirt.InstanceActive(&vm.Status) && vm.Status.PrintableStatus != virtv1.VirtualMachineStatusUnknown
	}}
	whenNotActive = condition{"no active instance", func(vm *kubevirt.VirtualMachine, _ *subresources.ActionOptions) bool {
		return !kubevirt.InstanceActive(&vm.Status)
	}}
	whenNoInstance = condition{"no instance", func(vm *kubevirt.VirtualMachine, _ *subresources.ActionOptions) bool {
		return !kubevirt.InstanceExists(&vm.Status)
	}}
	whenFinished = condition{"finished instance", func(vm *kubevirt.VirtualMachine, _ *subresources.ActionOptions) bool {
		return kubevirt.InstanceFinished(&vm.Status)
	}}
	whenFailed = condition{"failed instance", func(vm *kubevirt.VirtualMachine, _ *subresources.ActionOptions) bool {
		return kubevirt.InstanceFailed(&vm.Status)
	}}
	whenPending = condition{"pending", func(vm *kubevirt.VirtualMachine, _ *subresources.ActionOptions) bool {
		return len(vm.Status.StateChangeRequests) > 0
	}}
	whenPaused = condition{"`paused`", func(_ *kubevirt.VirtualMachine, opts *subresources.ActionOptions) bool {
		return opts.Paused
	}}
	whenPausedAndPending = condition{"`paused` and pending", func(vm *kubevirt.VirtualMachine, opts *subresources.ActionOptions) bool {
		return opts.Paused && len(vm.Status.StateChangeRequests) > 0
	}}
	whenGraceGiven = condition{"grace period given", func(_ *kubevirt.VirtualMachine, opts *subresources.ActionOptions) bool {
		return opts.GracePeriodSeconds != nil
	}}
	// The shutdown of a Halted VM is under way already; only a grace period
	// shorter than the one it runs under changes anything.
	whenNoShorterGrace = condition{"no grace period given, or one not shorter than the grace period in force", func(vm *kubevirt.VirtualMachine, opts *subresources.ActionOptions) bool {
		if opts.GracePeriodSeconds == nil {
			return true
		}
		inForce := graceInForce(vm)
		return inForce != nil && *opts.GracePeriodSeconds >= *inForce
	}}
	whenRecoveryRequired = condition{"`ManualRecoveryRequired` is `True`", func(vm *kubevirt.VirtualMachine, _ *subresources.ActionOptions) bool {
		return kubevirt.ConditionTrue(&vm.Status, virtv1.VirtualMachineManualRecoveryRequired)
	}}
	whenVolumesChanging = condition{"`VolumesChange` is `True`", func(vm *kubevirt.VirtualMachine, _ *subresources.ActionOptions) bool {
		return kubevirt.ConditionTrue(&vm.Status, conditionVolumesChange)
	}}
)

// request is a state change request a rule writes, filled in from the options.
type request int

const (
	// newStart is a Start, paused if the options ask for it.
	newStart request = iota
	// newStartPlain is a Start that is never paused, a restart's.
	newStartPlain
	// newStop is a Stop without a grace period.
	newStop
	// newStopGrace is a Stop with the options' grace period, if given.
	newStopGrace
	// newStopForced is a restart's Stop: ForcedRestartGracePeriodSeconds on
	// a forced restart (gracePeriodSeconds 0), else without a grace period.
	newStopForced
)

// rule is one line of a cell of the table: when its condition holds, it
// refuses the action with a 409, or sets the strategy and the requests.
type rule struct {
	when condition
	// refuse is the 409's text; when set, nothing is written.
	refuse string
	// strategy is the strategy to write; "" keeps it.
	strategy virtv1.VirtualMachineRunStrategy
	// scr replaces status.stateChangeRequests when not nil; nil keeps them.
	scr []request
	// keepStartFailure says the write leaves status.startFailure: a change of
	// the strategy, as KubeVirt's stop of Always and Once is. Any other
	// write of requests ends the crash-loop back-off, so that a manual
	// action is tried at once.
	keepStartFailure bool
}

// set is a rule's scr: the list the requests are replaced with (possibly empty).
func set(reqs ...request) []request {
	if reqs == nil {
		return []request{}
	}
	return reqs
}

// refuse is a rule that answers a 409 with msg when c holds.
func refuse(c condition, msg string) rule { return rule{when: c, refuse: msg} }

// commonRules come before each strategy's own rules, in every row.
var commonRules = map[Action][]rule{
	ActionStart: {
		refuse(whenRunning, msgAlreadyRunning),
		refuse(whenRecoveryRequired, msgRecovery),
	},
	ActionRestart: {
		refuse(whenVolumesChanging, msgRecovery),
	},
}

// restartRunning is the restart cell of the strategies that keep an instance
// running: a finished instance is restarted too, its Stop removing it and
// the Start booting the next one.
var restartRunning = []rule{
	refuse(whenNoInstance, msgNotRunning),
	refuse(whenPending, msgPending),
	{when: otherwise, scr: set(newStopForced, newStartPlain)},
}

// stopToHalted is the stop cell of Always and Once: the strategy becomes
// Halted, which already makes the runtime stop; a request is needed only to
// carry a grace period. Anything pending is dropped.
var stopToHalted = []rule{
	{when: whenGraceGiven, strategy: virtv1.RunStrategyHalted, scr: set(newStopGrace), keepStartFailure: true},
	{when: otherwise, strategy: virtv1.RunStrategyHalted, scr: set(), keepStartFailure: true},
}

// stopManual is the stop cell of RerunOnFailure and Manual: a Stop replaces
// whatever was pending.
var stopManual = []rule{
	refuse(whenNotActive, msgNotRunning),
	{when: otherwise, scr: set(newStopGrace)},
}

// transitionTable is the run-strategy transition table: for each supported
// strategy and action, the rules in the order they are tried. A
// WaitAsReceiver VM is the target of a migration from another cluster: its
// instance is the migration's to start and stop, so every action refuses it.
var transitionTable = map[virtv1.VirtualMachineRunStrategy]map[Action][]rule{
	virtv1.RunStrategyAlways: {
		ActionStart:   {refuse(otherwise, msgAlwaysNoStart)},
		ActionStop:    stopToHalted,
		ActionRestart: restartRunning,
	},
	virtv1.RunStrategyRerunOnFailure: {
		ActionStart: {
			// A failed instance is the runtime's to replace, not the user's.
			refuse(whenFailed, msgRerunFailed),
			refuse(whenPending, msgPending),
			// The old instance must go before a new one can start.
			{when: whenFinished, scr: set(newStop, newStart)},
			{when: otherwise, scr: set(newStart)},
		},
		ActionStop:    stopManual,
		ActionRestart: restartRunning,
	},
	virtv1.RunStrategyManual: {
		ActionStart: {
			refuse(whenPending, msgPending),
			{when: whenFinished, scr: set(newStop, newStart)},
			{when: otherwise, scr: set(newStart)},
		},
		ActionStop:    stopManual,
		ActionRestart: restartRunning,
	},
	virtv1.RunStrategyHalted: {
		ActionStart: {
			refuse(whenPausedAndPending, msgPending),
			{when: whenPaused, strategy: virtv1.RunStrategyAlways, scr: set(newStart)},
			{when: otherwise, strategy: virtv1.RunStrategyAlways},
		},
		ActionStop: {
			refuse(whenNotActive, msgNotRunning),
			refuse(whenNoShorterGrace, msgShorterGrace),
			{when: otherwise, scr: set(newStopGrace)},
		},
		ActionRestart: {refuse(otherwise, msgHaltedNoRestart)},
	},
	virtv1.RunStrategyOnce: {
		ActionStart:   {refuse(otherwise, msgOnceNoStart)},
		ActionStop:    stopToHalted,
		ActionRestart: {refuse(otherwise, msgOnceNoRestart)},
	},
	virtv1.RunStrategyWaitAsReceiver: {
		ActionStart:   {refuse(otherwise, msgReceiverNoStart)},
		ActionStop:    {refuse(otherwise, msgReceiverNoStop)},
		ActionRestart: {refuse(otherwise, msgReceiverNoRest)},
	},
}

// apply writes what r sets into vm, a copy owned by Decide.
func (r rule) apply(vm *kubevirt.VirtualMachine, opts *subresources.ActionOptions) {
	if r.strategy != "" {
		setStrategy(vm, r.strategy)
	}
	if r.scr == nil {
		return
	}
	var reqs []virtv1.VirtualMachineStateChangeRequest
	for _, req := range r.scr {
		reqs = append(reqs, req.build(opts))
	}
	vm.Status.StateChangeRequests = reqs
	if !r.keepStartFailure {
		vm.Status.StartFailure = nil
	}
}

// build fills req in from the options.
func (req request) build(opts *subresources.ActionOptions) virtv1.VirtualMachineStateChangeRequest {
	switch req {
	case newStart:
		return startRequest(opts.Paused)
	case newStartPlain:
		return startRequest(false)
	case newStopGrace:
		return stopRequest(opts.GracePeriodSeconds)
	case newStopForced:
		if opts.GracePeriodSeconds != nil {
			grace := ForcedRestartGracePeriodSeconds
			return stopRequest(&grace)
		}
	}
	return stopRequest(nil)
}
