package simulator

import (
	"strconv"
	"time"

	v1 "kubevirt.io/api/core/v1"
)

// Keys of a state change request's data, as the lifecycle actions write them.
const (
	dataGracePeriod = "gracePeriodSeconds"
	dataPaused      = "paused"
)

// observation is everything a decision depends on: one VM at one moment.
type observation struct {
	// strategy is the VM's effective run strategy ("" when it has none).
	strategy v1.VirtualMachineRunStrategy
	// lastStrategy is status.runStrategy: the strategy of the previous write.
	lastStrategy v1.VirtualMachineRunStrategy
	// phase is the instance's phase, and inPhase how long it has been in it.
	phase   phase
	inPhase time.Duration
	// requests is status.stateChangeRequests.
	requests []v1.VirtualMachineStateChangeRequest
	// fault is a fault annotation value not handled yet, or "".
	fault string
	// terminationGracePeriod is the template's grace period, if set.
	terminationGracePeriod *int64
}

// timing holds the simulated durations.
type timing struct {
	start, stop, restart time.Duration
}

// decision is one step of the runtime for one VM. Each step is one status
// write at most; the next step follows from the watch event of that write or
// from the requeue.
type decision struct {
	// next is the instance's phase after the step (the current one if it stays).
	next phase
	// dropRequest removes status.stateChangeRequests[0], which has been carried out.
	dropRequest bool
	// fault is the fault that this step handles, if any.
	fault *faultOutcome
	// requeue asks to look again after this long, for a step that waits.
	requeue time.Duration
	// why says in words what the step does, for the log.
	why string
}

// stay keeps the instance as it is.
func stay(o observation, why string) decision { return decision{next: o.phase, why: why} }

// decide returns the runtime's next step for a VM. It is a pure function of
// its inputs, which is what the table tests exercise.
//
// The order matters: a pending fault hits a running guest first; then the
// first state change request, which always wins over the run strategy (that
// is how restart works under Always); then the strategy itself:
//
//	Always          keep an instance; replace a finished one
//	RerunOnFailure  replace a crashed instance, not one that shut down; start
//	                when the strategy has just been switched to it
//	Manual          act on requests only
//	Halted          no instance; stop any, drop start requests
//	Once            start when there is no instance; never replace one
func decide(o observation, t timing) decision {
	var first *v1.VirtualMachineStateChangeRequest
	if len(o.requests) > 0 {
		first = &o.requests[0]
	}
	stopRequested := first != nil && first.Action == v1.StopRequest
	startRequested := first != nil && first.Action == v1.StartRequest
	halted := o.strategy == v1.RunStrategyHalted

	if o.fault != "" {
		if d, ok := decideFault(o); ok {
			return d
		}
	}

	switch o.phase {
	case phaseStarting:
		if stopRequested || halted {
			return decision{next: phaseStopping, why: "stop the booting instance"}
		}
		if left := t.start - o.inPhase; left > 0 {
			return decision{next: phaseStarting, requeue: left, why: "instance still booting"}
		}
		if startRequested && first.Data[dataPaused] == "true" {
			return decision{next: phasePaused, dropRequest: true, why: "instance booted paused"}
		}
		return decision{next: phaseRunning, dropRequest: startRequested, why: "instance booted"}

	case phaseStopping:
		if left := stopDuration(o, t) - o.inPhase; left > 0 {
			return decision{next: phaseStopping, requeue: left, why: "instance still shutting down"}
		}
		return decision{next: phaseNone, dropRequest: stopRequested, why: "instance shut down"}

	case phaseRunning, phasePaused:
		switch {
		case stopRequested:
			return decision{next: phaseStopping, why: "stop request"}
		case startRequested:
			// The instance already runs: the request has nothing left to do.
			return decision{next: o.phase, dropRequest: true, why: "start request for a running instance"}
		case halted:
			return decision{next: phaseStopping, why: "run strategy Halted"}
		}
		return stay(o, "instance running")

	case phaseSucceeded, phaseFailed:
		switch {
		case stopRequested:
			// A finished instance has nothing to shut down: remove it at once.
			return decision{next: phaseNone, dropRequest: true, why: "stop request removes the finished instance"}
		case halted:
			return decision{next: phaseNone, why: "run strategy Halted removes the finished instance"}
		case startRequested:
			return decision{next: phaseStarting, why: "start request replaces the finished instance"}
		case o.strategy == v1.RunStrategyAlways,
			o.strategy == v1.RunStrategyRerunOnFailure && o.phase == phaseFailed:
			if left := t.restart - o.inPhase; left > 0 {
				return decision{next: o.phase, requeue: left, why: "waiting to replace the finished instance"}
			}
			return decision{next: phaseStarting, why: "run strategy " + string(o.strategy) + " replaces the finished instance"}
		}
		return stay(o, "finished instance stays")

	default: // phaseNone
		switch {
		case stopRequested:
			return decision{next: phaseNone, dropRequest: true, why: "stop request with no instance"}
		case startRequested && halted:
			// Halted never runs an instance; the server turns a start on a
			// Halted VM into Always, so a Start request here is obsolete.
			return decision{next: phaseNone, dropRequest: true, why: "start request dropped under Halted"}
		case startRequested:
			return decision{next: phaseStarting, why: "start request"}
		case o.strategy == v1.RunStrategyAlways:
			return decision{next: phaseStarting, why: "run strategy Always"}
		case o.strategy == v1.RunStrategyRerunOnFailure && o.lastStrategy != v1.RunStrategyRerunOnFailure:
			return decision{next: phaseStarting, why: "run strategy switched to RerunOnFailure"}
		case o.strategy == v1.RunStrategyOnce:
			return decision{next: phaseStarting, why: "run strategy Once"}
		}
		return stay(o, "no instance")
	}
}

// decideFault handles a pending fault. ok is false when the fault must wait
// for a booting or stopping instance to settle.
func decideFault(o observation) (d decision, ok bool) {
	f := faultOutcome{value: o.fault}
	next := o.phase
	switch kind := parseFault(o.fault); {
	case kind == faultInvalid:
		f.reason, f.detail = ReasonFaultInvalid, "not understood; use crash-<token> or shutdown-<token>"
	case o.phase == phaseStarting || o.phase == phaseStopping:
		return decision{}, false
	case !o.phase.up():
		f.reason, f.detail = ReasonFaultIgnored, "no running instance to inject it into"
	case kind == faultCrash:
		f.applied, f.reason, f.detail = true, ReasonCrashInjected, "the guest crashed"
		next = phaseFailed
	default:
		f.applied, f.reason, f.detail = true, ReasonShutdownInjected, "the guest shut itself down"
		next = phaseSucceeded
	}
	return decision{next: next, fault: &f, why: "fault " + strconv.Quote(o.fault) + ": " + f.detail}, true
}

// stopDuration is how long the instance takes to shut down: the configured
// stop delay, cut short by the grace period of the stop request or, without
// one, of the template. A grace period of 0 stops the instance at once.
func stopDuration(o observation, t timing) time.Duration {
	d := t.stop
	grace := o.terminationGracePeriod
	if len(o.requests) > 0 && o.requests[0].Action == v1.StopRequest {
		if s, ok := o.requests[0].Data[dataGracePeriod]; ok {
			if g, err := strconv.ParseInt(s, 10, 64); err == nil && g >= 0 {
				grace = &g
			}
		}
	}
	if grace != nil && time.Duration(*grace)*time.Second < d {
		d = time.Duration(*grace) * time.Second
	}
	return d
}
