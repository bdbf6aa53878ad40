package reliability

import (
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func ptr[T any](v T) *T { return &v }

// TestModelStateRoundTrip checks that the model reads back the VM it builds
// for Decide, requests and their data included.
func TestModelStateRoundTrip(t *testing.T) {
	states := []vmState{
		{Exists: true, Strategy: always},
		{Exists: true, Legacy: true, Strategy: halted, Created: true, Printable: "Running", SCR: "Stop{gracePeriodSeconds=3}"},
		{Exists: true, Strategy: rerunOnFailure, Created: true, Printable: stopped, SCR: "Stop,Start{paused=true}"},
		{Exists: true, Strategy: manual, SCR: "Start"},
	}
	for _, s := range states {
		got, err := stateOfVM(vmOfState(s))
		require.NoError(t, err)
		assert.Equal(t, s, got)
	}
}

// TestModelFollowsDecide spot-checks that the model answers as the
// transition table does, through Decide: a state change and a 409, each
// with the option the table reads.
func TestModelFollowsDecide(t *testing.T) {
	running := vmState{Exists: true, Created: true, Printable: "Running"}
	with := func(s vmState, strategy, scr string) vmState { s.Strategy, s.SCR = strategy, scr; return s }
	next, conflict := expectAction(with(running, always, ""), opInput{Kind: opStop, Grace: ptr[int64](7)})
	assert.Empty(t, conflict)
	assert.Equal(t, with(running, halted, "Stop{gracePeriodSeconds=7}"), next)

	next, conflict = expectAction(with(running, halted, "Stop{gracePeriodSeconds=5}"), opInput{Kind: opStop, Grace: ptr[int64](5)})
	assert.Equal(t, txtShorterGrace, conflict)
	assert.Equal(t, with(running, halted, "Stop{gracePeriodSeconds=5}"), next, "a refused action leaves the state")

	next, conflict = expectAction(with(running, manual, ""), opInput{Kind: opRestart, Grace: ptr[int64](0)})
	assert.Empty(t, conflict)
	assert.Equal(t, with(running, manual, "Stop{gracePeriodSeconds=1},Start"), next)
}

// TestCheckerCatchesViolations feeds porcupine small hand-made histories:
// the model must reject a lost write, an unjustified 409 and an action
// applied twice, and accept races resolved either way and calls of unknown
// outcome that did or did not take effect.
func TestCheckerCatchesViolations(t *testing.T) {
	const vm = "v"
	op := func(client int, call, ret int64, in opInput, out opOutput) porcupine.Operation {
		in.VM = vm
		return porcupine.Operation{ClientId: client, Input: in, Call: call, Output: out, Return: ret}
	}
	ok := func(s vmState) opOutput { return opOutput{Outcome: outOK, Code: 200, State: s} }
	conflict := func(text string) opOutput { return opOutput{Outcome: outConflict, Code: 409, Conflict: text} }
	unknown := opOutput{Outcome: outUnknown, Code: 504}
	st := func(strategy, scr string, created bool, printable string) vmState {
		return vmState{Exists: true, Strategy: strategy, SCR: scr, Created: created, Printable: printable}
	}
	createAlways := op(0, 0, 1, opInput{Kind: opCreate, Strategy: always}, ok(st(always, "", false, "")))
	createHalted := op(0, 0, 1, opInput{Kind: opCreate, Strategy: halted}, ok(st(halted, "", false, "")))
	running := op(0, 2, 3, opInput{Kind: opWriteStatus, Created: true, Printable: "Running"}, ok(st(rerunOnFailure, "", true, "Running")))
	createRerun := op(0, 0, 1, opInput{Kind: opCreate, Strategy: rerunOnFailure}, ok(st(rerunOnFailure, "", false, "")))
	tests := []struct {
		name    string
		history []porcupine.Operation
		want    porcupine.CheckResult
	}{
		{"lost stop", []porcupine.Operation{
			createAlways,
			op(1, 2, 3, opInput{Kind: opStop}, ok(st(halted, "", false, ""))),
			op(2, 4, 5, opInput{Kind: opGet}, ok(st(always, "", false, ""))),
		}, porcupine.Illegal},
		{"unjustified 409", []porcupine.Operation{
			createHalted,
			op(1, 2, 3, opInput{Kind: opStart}, conflict(txtAlreadyRunning)),
		}, porcupine.Illegal},
		{"restart applied twice", []porcupine.Operation{
			createRerun, running,
			op(1, 4, 5, opInput{Kind: opRestart}, ok(st(rerunOnFailure, "Stop,Start", true, "Running"))),
			op(2, 6, 7, opInput{Kind: opRestart}, ok(st(rerunOnFailure, "Stop,Start", true, "Running"))),
		}, porcupine.Illegal},
		{"concurrent starts, one wins", []porcupine.Operation{
			createHalted,
			op(1, 2, 5, opInput{Kind: opStart}, conflict(txtAlwaysNoStart)),
			op(2, 3, 4, opInput{Kind: opStart}, ok(st(always, "", false, ""))),
		}, porcupine.Ok},
		{"unknown stop that took effect", []porcupine.Operation{
			createAlways,
			op(1, 2, math.MaxInt64, opInput{Kind: opStop}, unknown),
			op(2, 4, 5, opInput{Kind: opGet}, ok(st(halted, "", false, ""))),
		}, porcupine.Ok},
		{"unknown stop that did not", []porcupine.Operation{
			createAlways,
			op(1, 2, math.MaxInt64, opInput{Kind: opStop}, unknown),
			op(2, 4, 5, opInput{Kind: opGet}, ok(st(always, "", false, ""))),
		}, porcupine.Ok},
		{"dry-run leaves no trace", []porcupine.Operation{
			createAlways,
			op(1, 2, 3, opInput{Kind: opStop, DryRun: true}, ok(st(halted, "", false, ""))),
			op(2, 4, 5, opInput{Kind: opGet}, ok(st(halted, "", false, ""))),
		}, porcupine.Illegal},
	}
	model := lifecycleModel.ToModel()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			result, info := porcupine.CheckOperationsVerbose(model, tt.history, time.Minute)
			assert.Equal(t, tt.want, result)
			if result == porcupine.Illegal {
				// The visualization of a failing history can be written.
				require.NoError(t, porcupine.VisualizePath(model, info, filepath.Join(t.TempDir(), "history.html")))
				require.NoError(t, writeHistory(filepath.Join(t.TempDir(), "history.json"), tt.history))
			}
		})
	}
}

// TestModelOfThePreviousBuild spot-checks the cells where the pinned
// previous build, which TestRollingUpgrade runs beside this one, answered
// otherwise, and that it answers as the current one elsewhere.
func TestModelOfThePreviousBuild(t *testing.T) {
	running := vmState{Exists: true, Created: true, Printable: "Running"}
	finished := vmState{Exists: true, Created: true, Printable: stopped}
	with := func(s vmState, strategy, scr string) vmState { s.Strategy, s.SCR = strategy, scr; return s }
	tests := []struct {
		name     string
		state    vmState
		in       opInput
		want     vmState
		conflict string
	}{
		{"restart of a finished instance", with(finished, manual, ""), opInput{Kind: opRestart}, vmState{}, txtNotRunning},
		{"forced restart", with(running, always, ""), opInput{Kind: opRestart, Grace: ptr[int64](0)}, with(running, always, "Stop{gracePeriodSeconds=0},Start"), ""},
		{"forced restart, pending", with(running, always, "Start"), opInput{Kind: opRestart, Grace: ptr[int64](0)}, vmState{}, txtPending},
		{"Halted stop without grace", with(running, halted, ""), opInput{Kind: opStop}, vmState{}, txtAlreadyStopping},
		{"Halted stop with a longer grace", with(running, halted, "Stop{gracePeriodSeconds=5}"), opInput{Kind: opStop, Grace: ptr[int64](30)}, with(running, halted, "Stop{gracePeriodSeconds=30}"), ""},
		{"restart of Halted", with(finished, halted, ""), opInput{Kind: opRestart}, vmState{}, txtHaltedNoRestart},
		{"Manual start, as now", with(finished, manual, ""), opInput{Kind: opStart}, with(finished, manual, "Stop,Start"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, conflict := expectPreviousAction(tt.state, tt.in)
			assert.Equal(t, tt.conflict, conflict)
			if tt.conflict == "" {
				assert.Equal(t, tt.want, got)
			}
		})
	}
}
