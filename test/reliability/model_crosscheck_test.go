package reliability

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubevirtv1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/pkg/api/scheme"
	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
	"github.com/vm-apiserver/vm-apiserver/pkg/apis/subresources"
	"github.com/vm-apiserver/vm-apiserver/pkg/registry/virtualmachine"
)

func ptr[T any](v T) *T { return &v }

// TestModelMatchesContractTable spot-checks the model against the cells of
// the transition table of docs/api.md, written out by hand. These run without any process.
func TestModelMatchesContractTable(t *testing.T) {
	running := vmState{Exists: true, Created: true, Printable: "Running"}
	finished := vmState{Exists: true, Created: true, Printable: stopped}
	none := vmState{Exists: true}
	with := func(s vmState, strategy, scr string) vmState { s.Strategy, s.SCR = strategy, scr; return s }
	legacy := func(s vmState) vmState { s.Legacy = true; return s }
	tests := []struct {
		name     string
		state    vmState
		in       opInput
		want     vmState
		conflict string
	}{
		{"Always start, active", with(running, always, ""), opInput{Kind: opStart}, vmState{}, txtAlreadyRunning},
		{"Always start, no instance", with(none, always, ""), opInput{Kind: opStart}, vmState{}, txtAlwaysNoStart},
		{"Always stop", with(running, always, "Start"), opInput{Kind: opStop}, with(running, halted, ""), ""},
		{"Always stop with grace", with(running, always, ""), opInput{Kind: opStop, Grace: ptr[int64](7)}, with(running, halted, "Stop{gracePeriodSeconds=7}"), ""},
		{"legacy Always stop", legacy(with(running, always, "")), opInput{Kind: opStop}, legacy(with(running, halted, "")), ""},
		{"Always restart, no instance", with(none, always, ""), opInput{Kind: opRestart}, vmState{}, txtNotRunning},
		{"Always restart, finished", with(finished, always, ""), opInput{Kind: opRestart}, with(finished, always, "Stop,Start"), ""},
		{"Always restart", with(running, always, ""), opInput{Kind: opRestart}, with(running, always, "Stop,Start"), ""},
		{"Always forced restart", with(running, always, ""), opInput{Kind: opRestart, Grace: ptr[int64](0)}, with(running, always, "Stop{gracePeriodSeconds=1},Start"), ""},
		{"Always restart, pending", with(running, always, "Stop"), opInput{Kind: opRestart}, vmState{}, txtPending},
		{"RerunOnFailure start, no instance", with(none, rerunOnFailure, ""), opInput{Kind: opStart}, with(none, rerunOnFailure, "Start"), ""},
		{"RerunOnFailure start, finished", with(finished, rerunOnFailure, ""), opInput{Kind: opStart}, with(finished, rerunOnFailure, "Stop,Start"), ""},
		{"RerunOnFailure start paused", with(none, rerunOnFailure, ""), opInput{Kind: opStart, Paused: true}, with(none, rerunOnFailure, "Start{paused=true}"), ""},
		{"RerunOnFailure start, pending", with(none, rerunOnFailure, "Start"), opInput{Kind: opStart}, vmState{}, txtPending},
		{"RerunOnFailure stop, not active", with(finished, rerunOnFailure, ""), opInput{Kind: opStop}, vmState{}, txtNotRunning},
		{"RerunOnFailure stop replaces pending", with(running, rerunOnFailure, "Stop,Start"), opInput{Kind: opStop}, with(running, rerunOnFailure, "Stop"), ""},
		{"Manual start, active", with(running, manual, ""), opInput{Kind: opStart}, vmState{}, txtAlreadyRunning},
		{"Manual restart", with(running, manual, ""), opInput{Kind: opRestart}, with(running, manual, "Stop,Start"), ""},
		{"Halted start", with(none, halted, ""), opInput{Kind: opStart}, with(none, always, ""), ""},
		{"legacy Halted start", legacy(with(none, halted, "")), opInput{Kind: opStart}, legacy(with(none, always, "")), ""},
		{"Halted start paused", with(finished, halted, ""), opInput{Kind: opStart, Paused: true}, with(finished, always, "Start{paused=true}"), ""},
		{"Halted start paused, pending", with(none, halted, "Stop"), opInput{Kind: opStart, Paused: true}, vmState{}, txtPending},
		{"Halted start, still shutting down", with(running, halted, ""), opInput{Kind: opStart}, vmState{}, txtAlreadyRunning},
		{"Halted stop, not active", with(none, halted, ""), opInput{Kind: opStop}, vmState{}, txtNotRunning},
		{"Halted stop, stopping", with(running, halted, ""), opInput{Kind: opStop}, vmState{}, txtShorterGrace},
		{"Halted stop, grace not shorter than the pending Stop's", with(running, halted, "Stop{gracePeriodSeconds=5}"), opInput{Kind: opStop, Grace: ptr[int64](5)}, vmState{}, txtShorterGrace},
		{"Halted stop, grace shorter than the pending Stop's", with(running, halted, "Stop{gracePeriodSeconds=5}"), opInput{Kind: opStop, Grace: ptr[int64](4)}, with(running, halted, "Stop{gracePeriodSeconds=4}"), ""},
		{"Halted stop with grace", with(running, halted, ""), opInput{Kind: opStop, Grace: ptr[int64](0)}, with(running, halted, "Stop{gracePeriodSeconds=0}"), ""},
		{"Halted restart", with(running, halted, ""), opInput{Kind: opRestart}, vmState{}, txtHaltedNoRestart},
		{"Once start, active", with(running, once, ""), opInput{Kind: opStart}, vmState{}, txtAlreadyRunning},
		{"Once start", with(finished, once, ""), opInput{Kind: opStart}, vmState{}, txtOnceNoStart},
		{"Once stop", with(running, once, ""), opInput{Kind: opStop}, with(running, halted, ""), ""},
		{"Once restart", with(running, once, ""), opInput{Kind: opRestart}, vmState{}, txtOnceNoRestart},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, conflict := expectAction(tt.state, tt.in)
			assert.Equal(t, tt.conflict, conflict)
			if tt.conflict == "" {
				assert.Equal(t, tt.want, got)
			}
		})
	}
}

// TestModelAgreesWithDecide runs the model and virtualmachine.Decide on every
// combination of strategy, field, instance, pending requests and options.
// The model was written from the contract on its own; where the two
// disagree, one of them misreads the table.
func TestModelAgreesWithDecide(t *testing.T) {
	type inst struct {
		created   bool
		printable string
	}
	instances := []inst{{false, ""}, {false, stopped}, {true, stopped}, {true, "Running"}, {true, "Starting"}}
	scrs := [][]kubevirtv1.VirtualMachineStateChangeRequest{
		nil,
		{{Action: kubevirtv1.StartRequest}},
		{{Action: kubevirtv1.StopRequest, Data: map[string]string{"gracePeriodSeconds": "3"}}},
		{{Action: kubevirtv1.StopRequest}, {Action: kubevirtv1.StartRequest}},
	}
	inputs := []opInput{
		{Kind: opStart}, {Kind: opStart, Paused: true},
		{Kind: opStop}, {Kind: opStop, Grace: ptr[int64](0)}, {Kind: opStop, Grace: ptr[int64](30)},
		{Kind: opRestart}, {Kind: opRestart, Grace: ptr[int64](0)},
	}
	type variant struct {
		strategy string
		legacy   bool
	}
	variants := []variant{{always, false}, {rerunOnFailure, false}, {manual, false}, {halted, false}, {once, false}, {always, true}, {halted, true}}
	checked := 0
	for _, v := range variants {
		for _, ins := range instances {
			for _, scr := range scrs {
				for _, in := range inputs {
					vm := &kubevirtv1.VirtualMachine{
						TypeMeta:   metav1.TypeMeta{Kind: "VirtualMachine", APIVersion: "kubevirt.io/v1"},
						ObjectMeta: metav1.ObjectMeta{Name: "vm", Namespace: "ns"},
						Status: kubevirtv1.VirtualMachineStatus{
							Created: ins.created, PrintableStatus: kubevirtv1.VirtualMachinePrintableStatus(ins.printable), StateChangeRequests: scr,
						},
					}
					if v.legacy {
						vm.Spec.Running = ptr(v.strategy == always)
					} else {
						vm.Spec.RunStrategy = ptr(kubevirtv1.VirtualMachineRunStrategy(v.strategy))
					}
					before, err := stateOfVM(vm)
					require.NoError(t, err)
					name := fmt.Sprintf("%s %s", before, describeInput(in))

					wantState, wantConflict := expectAction(before, in)
					gotState, gotConflict, err := decide(vm, in)
					require.NoError(t, err, name)
					assert.Equal(t, wantConflict, gotConflict, name)
					if wantConflict == "" && gotConflict == "" {
						assert.Equal(t, wantState, gotState, name)
					}
					checked++
				}
			}
		}
	}
	t.Logf("model and Decide agree on %d cases", checked)
}

// decide runs virtualmachine.Decide on a versioned VM and reads the result
// back as a model state, or the text of its 409.
func decide(vm *kubevirtv1.VirtualMachine, in opInput) (vmState, string, error) {
	internal := &kubevirt.VirtualMachine{}
	if err := scheme.Scheme.Convert(vm, internal, nil); err != nil {
		return vmState{}, "", err
	}
	opts := &subresources.ActionOptions{Paused: in.Paused, GracePeriodSeconds: in.Grace}
	out, err := virtualmachine.Decide(internal, virtualmachine.Action(in.Kind), opts)
	if err != nil {
		var status apierrors.APIStatus
		if errors.As(err, &status) && status.Status().Code == 409 {
			return vmState{}, conflictText(status.Status().Message), nil
		}
		return vmState{}, "", err
	}
	versioned := &kubevirtv1.VirtualMachine{}
	if err := scheme.Scheme.Convert(out, versioned, nil); err != nil {
		return vmState{}, "", err
	}
	s, err := stateOfVM(versioned)
	return s, "", err
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

// TestModelOfThePreviousRelease spot-checks the cells where the previous
// release, which TestRollingUpgrade runs beside this one, answered
// otherwise, and that it answers as the current one elsewhere.
func TestModelOfThePreviousRelease(t *testing.T) {
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
