package simulator

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"k8s.io/utils/ptr"
	v1 "kubevirt.io/api/core/v1"
)

var testTiming = timing{start: 2 * time.Second, stop: 3 * time.Second, restart: time.Second}

func stopReq(data map[string]string) v1.VirtualMachineStateChangeRequest {
	return v1.VirtualMachineStateChangeRequest{Action: v1.StopRequest, Data: data}
}

func startReq(data map[string]string) v1.VirtualMachineStateChangeRequest {
	return v1.VirtualMachineStateChangeRequest{Action: v1.StartRequest, Data: data}
}

func reqs(r ...v1.VirtualMachineStateChangeRequest) []v1.VirtualMachineStateChangeRequest { return r }

func TestDecide(t *testing.T) {
	const (
		always = v1.RunStrategyAlways
		rerun  = v1.RunStrategyRerunOnFailure
		manual = v1.RunStrategyManual
		halted = v1.RunStrategyHalted
		once   = v1.RunStrategyOnce
	)
	tests := []struct {
		name string
		obs  observation
		// want holds next, dropRequest and requeue; fault is checked apart.
		want decision
	}{
		// Starting.
		{"booting waits for the start delay",
			observation{strategy: always, phase: phaseStarting, inPhase: 500 * time.Millisecond},
			decision{next: phaseStarting, requeue: 1500 * time.Millisecond}},
		{"booted instance runs",
			observation{strategy: always, phase: phaseStarting, inPhase: 2 * time.Second},
			decision{next: phaseRunning}},
		{"booted instance carries out the start request",
			observation{strategy: manual, phase: phaseStarting, inPhase: 3 * time.Second, requests: reqs(startReq(nil))},
			decision{next: phaseRunning, dropRequest: true}},
		{"paused start boots paused",
			observation{strategy: always, phase: phaseStarting, inPhase: 3 * time.Second, requests: reqs(startReq(map[string]string{"paused": "true"}))},
			decision{next: phasePaused, dropRequest: true}},
		{"Halted stops a booting instance",
			observation{strategy: halted, phase: phaseStarting},
			decision{next: phaseStopping}},
		{"stop request stops a booting instance",
			observation{strategy: manual, phase: phaseStarting, requests: reqs(stopReq(nil))},
			decision{next: phaseStopping}},

		// Stopping.
		{"shutting down waits for the stop delay",
			observation{strategy: halted, phase: phaseStopping, inPhase: time.Second},
			decision{next: phaseStopping, requeue: 2 * time.Second}},
		{"shut down under Halted leaves no instance",
			observation{strategy: halted, phase: phaseStopping, inPhase: 3 * time.Second},
			decision{next: phaseNone}},
		{"shut down carries out the stop request",
			observation{strategy: manual, phase: phaseStopping, inPhase: 3 * time.Second, requests: reqs(stopReq(nil))},
			decision{next: phaseNone, dropRequest: true}},
		{"restart's stop leaves the start request pending",
			observation{strategy: always, phase: phaseStopping, inPhase: 3 * time.Second, requests: reqs(stopReq(nil), startReq(nil))},
			decision{next: phaseNone, dropRequest: true}},
		{"grace period 0 in the request stops at once",
			observation{strategy: halted, phase: phaseStopping, requests: reqs(stopReq(map[string]string{"gracePeriodSeconds": "0"}))},
			decision{next: phaseNone, dropRequest: true}},
		{"template grace period 0 stops at once",
			observation{strategy: halted, phase: phaseStopping, terminationGracePeriod: ptr.To[int64](0)},
			decision{next: phaseNone}},
		{"request grace period overrides the template's",
			observation{strategy: halted, phase: phaseStopping, terminationGracePeriod: ptr.To[int64](0), requests: reqs(stopReq(map[string]string{"gracePeriodSeconds": "30"}))},
			decision{next: phaseStopping, requeue: 3 * time.Second}},

		// Running or paused.
		{"Always keeps a running instance",
			observation{strategy: always, lastStrategy: always, phase: phaseRunning},
			decision{next: phaseRunning}},
		{"restart under Always stops first",
			observation{strategy: always, phase: phaseRunning, requests: reqs(stopReq(nil), startReq(nil))},
			decision{next: phaseStopping}},
		{"start request for a running instance is done",
			observation{strategy: manual, phase: phaseRunning, requests: reqs(startReq(nil))},
			decision{next: phaseRunning, dropRequest: true}},
		{"Halted stops a running instance",
			observation{strategy: halted, phase: phaseRunning},
			decision{next: phaseStopping}},
		{"Halted stops a paused instance",
			observation{strategy: halted, phase: phasePaused},
			decision{next: phaseStopping}},
		{"Manual leaves a running instance alone",
			observation{strategy: manual, phase: phaseRunning},
			decision{next: phaseRunning}},
		{"stop request under RerunOnFailure",
			observation{strategy: rerun, phase: phasePaused, requests: reqs(stopReq(nil))},
			decision{next: phaseStopping}},

		// Finished.
		{"Always waits before replacing a crashed instance",
			observation{strategy: always, phase: phaseFailed, inPhase: 200 * time.Millisecond},
			decision{next: phaseFailed, requeue: 800 * time.Millisecond}},
		{"Always replaces a crashed instance",
			observation{strategy: always, phase: phaseFailed, inPhase: time.Second},
			decision{next: phaseStarting}},
		{"Always replaces a shut-down instance",
			observation{strategy: always, phase: phaseSucceeded, inPhase: time.Second},
			decision{next: phaseStarting}},
		{"RerunOnFailure replaces a crashed instance",
			observation{strategy: rerun, lastStrategy: rerun, phase: phaseFailed, inPhase: time.Second},
			decision{next: phaseStarting}},
		{"RerunOnFailure keeps a shut-down instance",
			observation{strategy: rerun, lastStrategy: rerun, phase: phaseSucceeded, inPhase: time.Hour},
			decision{next: phaseSucceeded}},
		{"Manual keeps a crashed instance",
			observation{strategy: manual, phase: phaseFailed, inPhase: time.Hour},
			decision{next: phaseFailed}},
		{"Once keeps a crashed instance",
			observation{strategy: once, lastStrategy: once, phase: phaseFailed, inPhase: time.Hour},
			decision{next: phaseFailed}},
		{"Once keeps a shut-down instance",
			observation{strategy: once, lastStrategy: once, phase: phaseSucceeded, inPhase: time.Hour},
			decision{next: phaseSucceeded}},
		{"Halted removes a finished instance",
			observation{strategy: halted, phase: phaseSucceeded},
			decision{next: phaseNone}},
		{"stop request removes a finished instance",
			observation{strategy: manual, phase: phaseSucceeded, requests: reqs(stopReq(nil), startReq(nil))},
			decision{next: phaseNone, dropRequest: true}},
		{"start request replaces a finished instance",
			observation{strategy: manual, phase: phaseSucceeded, requests: reqs(startReq(nil))},
			decision{next: phaseStarting}},

		// No instance.
		{"Always starts an instance",
			observation{strategy: always, phase: phaseNone},
			decision{next: phaseStarting}},
		{"RerunOnFailure starts when just switched to",
			observation{strategy: rerun, lastStrategy: halted, phase: phaseNone},
			decision{next: phaseStarting}},
		{"RerunOnFailure starts a new VM",
			observation{strategy: rerun, phase: phaseNone},
			decision{next: phaseStarting}},
		{"RerunOnFailure stays stopped after a stop",
			observation{strategy: rerun, lastStrategy: rerun, phase: phaseNone},
			decision{next: phaseNone}},
		{"RerunOnFailure starts on a start request",
			observation{strategy: rerun, lastStrategy: rerun, phase: phaseNone, requests: reqs(startReq(nil))},
			decision{next: phaseStarting}},
		{"Manual waits for a request",
			observation{strategy: manual, lastStrategy: manual, phase: phaseNone},
			decision{next: phaseNone}},
		{"Manual starts on a start request",
			observation{strategy: manual, lastStrategy: manual, phase: phaseNone, requests: reqs(startReq(nil))},
			decision{next: phaseStarting}},
		{"Halted stays without an instance",
			observation{strategy: halted, phase: phaseNone},
			decision{next: phaseNone}},
		{"Halted drops a start request",
			observation{strategy: halted, phase: phaseNone, requests: reqs(startReq(nil))},
			decision{next: phaseNone, dropRequest: true}},
		{"Once starts its one instance",
			observation{strategy: once, phase: phaseNone},
			decision{next: phaseStarting}},
		{"stop request with no instance is done",
			observation{strategy: manual, phase: phaseNone, requests: reqs(stopReq(nil), startReq(nil))},
			decision{next: phaseNone, dropRequest: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := decide(tc.obs, testTiming)
			assert.Equal(t, tc.want.next, got.next, "next phase (%s)", got.why)
			assert.Equal(t, tc.want.dropRequest, got.dropRequest, "dropRequest (%s)", got.why)
			assert.Equal(t, tc.want.requeue, got.requeue, "requeue (%s)", got.why)
			assert.Nil(t, got.fault)
			assert.NotEmpty(t, got.why)
		})
	}
}

func TestDecideFault(t *testing.T) {
	tests := []struct {
		name        string
		phase       phase
		fault       string
		wantNext    phase
		wantHandled bool
		wantApplied bool
		wantReason  string
	}{
		{"crash hits a running guest", phaseRunning, "crash-1", phaseFailed, true, true, ReasonCrashInjected},
		{"shutdown hits a paused guest", phasePaused, "shutdown-a", phaseSucceeded, true, true, ReasonShutdownInjected},
		{"bare crash works too", phaseRunning, "crash", phaseFailed, true, true, ReasonCrashInjected},
		{"crash without an instance is ignored", phaseNone, "crash-1", phaseNone, true, false, ReasonFaultIgnored},
		{"crash on a finished instance is ignored", phaseSucceeded, "crash-2", phaseSucceeded, true, false, ReasonFaultIgnored},
		{"unknown fault is reported", phaseRunning, "explode-1", phaseRunning, true, false, ReasonFaultInvalid},
		{"crash waits for a booting guest", phaseStarting, "crash-1", phaseStarting, false, false, ""},
		{"crash waits for a stopping guest", phaseStopping, "crash-1", phaseStopping, false, false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := decide(observation{strategy: v1.RunStrategyManual, phase: tc.phase, fault: tc.fault, inPhase: time.Millisecond}, testTiming)
			assert.Equal(t, tc.wantNext, got.next)
			if !tc.wantHandled {
				assert.Nil(t, got.fault)
				return
			}
			if assert.NotNil(t, got.fault) {
				assert.Equal(t, tc.fault, got.fault.value)
				assert.Equal(t, tc.wantApplied, got.fault.applied)
				assert.Equal(t, tc.wantReason, got.fault.reason)
			}
		})
	}
}

func TestStopDuration(t *testing.T) {
	tests := []struct {
		name     string
		template *int64
		requests []v1.VirtualMachineStateChangeRequest
		want     time.Duration
	}{
		{"stop delay by default", nil, nil, 3 * time.Second},
		{"short template grace period", ptr.To[int64](1), nil, time.Second},
		{"long template grace period", ptr.To[int64](600), nil, 3 * time.Second},
		{"request grace period", ptr.To[int64](600), reqs(stopReq(map[string]string{"gracePeriodSeconds": "2"})), 2 * time.Second},
		{"malformed request grace period falls back", ptr.To[int64](1), reqs(stopReq(map[string]string{"gracePeriodSeconds": "x"})), time.Second},
		{"start request has no grace period", ptr.To[int64](1), reqs(startReq(map[string]string{"gracePeriodSeconds": "0"})), time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := observation{terminationGracePeriod: tc.template, requests: tc.requests}
			assert.Equal(t, tc.want, stopDuration(o, testTiming))
		})
	}
}
