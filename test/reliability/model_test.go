package reliability

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/anishathalye/porcupine"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubevirtv1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/pkg/api/scheme"
	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
	"github.com/vm-apiserver/vm-apiserver/pkg/apis/subresources"
	"github.com/vm-apiserver/vm-apiserver/pkg/registry/virtualmachine"
)

// This file is the sequential specification that porcupine checks the
// recorded histories against: the actions as the transition table decides
// them, plus the plain writes (runStrategy, status) and reads that the load
// mixes in.

// The run strategies and the printable statuses the model needs.
const (
	always         = "Always"
	rerunOnFailure = "RerunOnFailure"
	manual         = "Manual"
	halted         = "Halted"
	once           = "Once"
	stopped        = "Stopped"
)

// The 409 texts of the contract.
const (
	txtAlreadyRunning  = "VM is already running"
	txtNotRunning      = "VM is not running"
	txtShorterGrace    = "VM is already stopping: Halted only supports manual stop requests with a shorter graceperiod"
	txtAlreadyStopping = "VM is already stopping"
	txtPending         = "a start or stop request is already pending"
	txtAlwaysNoStart   = "Always does not support manual start requests"
	txtOnceNoStart     = "Once does not support manual start requests"
	txtHaltedNoRestart = "Halted does not support manual restart requests"
	txtOnceNoRestart   = "Once does not support manual restart requests"
)

// vmState is what the contract depends on, in a comparable form. Strategy
// is the effective strategy; Legacy says it is kept in spec.running. SCR is
// status.stateChangeRequests rendered by renderSCR.
type vmState struct {
	Exists    bool   `json:"exists"`
	Legacy    bool   `json:"legacy,omitempty"`
	Strategy  string `json:"strategy,omitempty"`
	Created   bool   `json:"created,omitempty"`
	Printable string `json:"printable,omitempty"`
	SCR       string `json:"scr,omitempty"`
}

func (s vmState) active() bool { return s.Created && s.Printable != stopped }

// String renders a state for porcupine's visualization.
func (s vmState) String() string {
	if !s.Exists {
		return "absent"
	}
	field := "runStrategy"
	if s.Legacy {
		field = "running"
	}
	inst := "no instance"
	if s.Created {
		inst = "instance " + s.Printable
	}
	return fmt.Sprintf("%s(%s) %s scr=[%s]", s.Strategy, field, inst, s.SCR)
}

// The SCR entries, rendered.
func startReq(paused bool) string {
	if paused {
		return "Start{paused=true}"
	}
	return "Start"
}

func stopReq(grace *int64) string {
	if grace == nil {
		return "Stop"
	}
	return "Stop{gracePeriodSeconds=" + strconv.FormatInt(*grace, 10) + "}"
}

// renderSCR renders status.stateChangeRequests as the model writes them.
func renderSCR(reqs []kubevirtv1.VirtualMachineStateChangeRequest) string {
	parts := make([]string, 0, len(reqs))
	for _, r := range reqs {
		s := string(r.Action)
		if len(r.Data) > 0 {
			keys := make([]string, 0, len(r.Data))
			for k := range r.Data {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			kv := make([]string, 0, len(keys))
			for _, k := range keys {
				kv = append(kv, k+"="+r.Data[k])
			}
			s += "{" + strings.Join(kv, ",") + "}"
		}
		if r.UID != nil {
			s += "@" + string(*r.UID)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ",")
}

// stateOf reads the model state from a VirtualMachine as JSON.
func stateOf(body []byte) (vmState, error) {
	var vm kubevirtv1.VirtualMachine
	if err := json.Unmarshal(body, &vm); err != nil {
		return vmState{}, err
	}
	if vm.Kind != "VirtualMachine" {
		return vmState{}, fmt.Errorf("not a VirtualMachine: kind %q", vm.Kind)
	}
	return stateOfVM(&vm)
}

// stateOfVM reads the model state from a versioned VirtualMachine.
func stateOfVM(vm *kubevirtv1.VirtualMachine) (vmState, error) {
	s := vmState{Exists: true, Created: vm.Status.Created, Printable: string(vm.Status.PrintableStatus), SCR: renderSCR(vm.Status.StateChangeRequests)}
	switch {
	case vm.Spec.Running != nil && vm.Spec.RunStrategy != nil:
		return s, fmt.Errorf("both spec.running and spec.runStrategy are set")
	case vm.Spec.Running != nil:
		s.Legacy, s.Strategy = true, halted
		if *vm.Spec.Running {
			s.Strategy = always
		}
	case vm.Spec.RunStrategy != nil:
		s.Strategy = string(*vm.Spec.RunStrategy)
	default:
		return s, fmt.Errorf("no run strategy")
	}
	return s, nil
}

// opKind is what an operation of the history does.
type opKind string

// The operations of the load.
const (
	opCreate      opKind = "create"
	opGet         opKind = "get"
	opStart       opKind = "start"
	opStop        opKind = "stop"
	opRestart     opKind = "restart"
	opSetStrategy opKind = "setStrategy" // merge patch of spec.runStrategy, or spec.running on a legacy VM
	opWriteStatus opKind = "writeStatus" // merge patch of status, as a runtime writes it
)

// opInput is one call.
type opInput struct {
	VM     string `json:"vm"`
	Kind   opKind `json:"kind"`
	Server int    `json:"server"`
	DryRun bool   `json:"dryRun,omitempty"`
	// start
	Paused bool `json:"paused,omitempty"`
	// stop (gracePeriod) and restart (gracePeriodSeconds, only 0)
	Grace *int64 `json:"grace,omitempty"`
	// create and setStrategy
	Strategy string `json:"strategy,omitempty"`
	Legacy   bool   `json:"legacy,omitempty"`
	// Previous says the call went to a server of the pinned previous build,
	// which TestRollingUpgrade runs beside this one.
	Previous bool `json:"previous,omitempty"`
	// writeStatus
	Created   bool   `json:"created,omitempty"`
	Printable string `json:"printable,omitempty"`
	ClearSCR  bool   `json:"clearSCR,omitempty"`
}

// outcome classifies an answer.
type outcome string

// The outcomes. An unknown outcome (a 5xx, a timeout, a dropped connection)
// may or may not have taken effect, at any time after the call.
const (
	outOK       outcome = "ok"
	outConflict outcome = "conflict"
	outUnknown  outcome = "unknown"
	outRejected outcome = "rejected" // any other 4xx: the suite reports it as a failure
)

// opOutput is one answer.
type opOutput struct {
	Outcome  outcome `json:"outcome"`
	Code     int     `json:"code,omitempty"`
	State    vmState `json:"state"`              // ok: the VM in the answer
	Conflict string  `json:"conflict,omitempty"` // conflict: the reason text after the object name
	Detail   string  `json:"detail,omitempty"`
}

// expectAction applies an action to s as the server's transition table
// decides it (virtualmachine.Decide, on a VM in state s): the new state, or
// the text of the 409 that refuses it. The table's cells are tested one by
// one in the package that holds it; what the model adds is the check that
// the servers applied each action once, atomically, in some order.
func expectAction(s vmState, in opInput) (vmState, string) {
	key := decideKey{state: s, kind: in.Kind, paused: in.Paused, grace: -1}
	if in.Grace != nil {
		key.grace = *in.Grace
	}
	if v, ok := decided.Load(key); ok {
		r := v.(decideResult)
		return r.state, r.conflict
	}
	next, conflict, err := decide(vmOfState(s), in)
	if err != nil {
		// Not an answer the table gives; no observed 409 can match it.
		return s, "model: " + err.Error()
	}
	if conflict != "" {
		next = s
	}
	decided.Store(key, decideResult{next, conflict})
	return next, conflict
}

// decideKey and decideResult memoize expectAction: porcupine asks the same
// question many times while it searches for an order.
type decideKey struct {
	state  vmState
	kind   opKind
	paused bool
	grace  int64
}

type decideResult struct {
	state    vmState
	conflict string
}

var decided sync.Map

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

// vmOfState is a VM in state s, the inverse of stateOfVM.
func vmOfState(s vmState) *kubevirtv1.VirtualMachine {
	vm := &kubevirtv1.VirtualMachine{
		TypeMeta:   metav1.TypeMeta{Kind: "VirtualMachine", APIVersion: "kubevirt.io/v1"},
		ObjectMeta: metav1.ObjectMeta{Name: "vm", Namespace: "ns"},
		Status: kubevirtv1.VirtualMachineStatus{
			Created:             s.Created,
			PrintableStatus:     kubevirtv1.VirtualMachinePrintableStatus(s.Printable),
			StateChangeRequests: parseSCR(s.SCR),
		},
	}
	if s.Legacy {
		running := s.Strategy == always
		vm.Spec.Running = &running
	} else {
		strategy := kubevirtv1.VirtualMachineRunStrategy(s.Strategy)
		vm.Spec.RunStrategy = &strategy
	}
	return vm
}

// parseSCR reads a list rendered by renderSCR back.
func parseSCR(scr string) []kubevirtv1.VirtualMachineStateChangeRequest {
	var out []kubevirtv1.VirtualMachineStateChangeRequest
	for scr != "" {
		end := strings.IndexAny(scr, ",{")
		if end < 0 {
			end = len(scr)
		}
		req := kubevirtv1.VirtualMachineStateChangeRequest{Action: kubevirtv1.StateChangeRequestAction(scr[:end])}
		scr = scr[end:]
		if strings.HasPrefix(scr, "{") {
			closing := strings.Index(scr, "}")
			req.Data = map[string]string{}
			for _, kv := range strings.Split(scr[1:closing], ",") {
				k, v, _ := strings.Cut(kv, "=")
				req.Data[k] = v
			}
			scr = scr[closing+1:]
		}
		scr = strings.TrimPrefix(scr, ",")
		out = append(out, req)
	}
	return out
}

// expectPreviousAction is expectAction as the pinned previous build answers,
// whose contract differed in three cells that the load reaches: a restart
// needed an active instance (a finished one was "not running"), a forced
// restart's Stop carried grace period 0, and a stop of a Halted VM still
// shutting down took any grace period ("already stopping" without one).
func expectPreviousAction(s vmState, in opInput) (vmState, string) {
	next := s
	switch {
	case in.Kind == opRestart && s.Strategy != halted && s.Strategy != once && !s.active():
		return s, txtNotRunning
	case in.Kind == opRestart && in.Grace != nil:
		if next, conflict := expectAction(s, in); conflict != "" {
			return next, conflict
		}
		zero := int64(0)
		next.SCR = stopReq(&zero) + "," + startReq(false)
		return next, ""
	case in.Kind == opStop && s.Strategy == halted && s.active():
		if in.Grace == nil {
			return s, txtAlreadyStopping
		}
		next.SCR = stopReq(in.Grace)
		return next, ""
	}
	return expectAction(s, in)
}

// expectWrite is the state after a plain write (create, setStrategy,
// writeStatus).
func expectWrite(s vmState, in opInput) vmState {
	next := s
	switch in.Kind {
	case opCreate:
		return vmState{Exists: true, Legacy: in.Legacy, Strategy: in.Strategy}
	case opSetStrategy:
		next.Strategy = in.Strategy
	case opWriteStatus:
		next.Created, next.Printable = in.Created, in.Printable
		if in.ClearSCR {
			next.SCR = ""
		}
	}
	return next
}

// step is the nondeterministic step of the model: the states the VM may be
// in after the operation, none if the answer is impossible from s.
func step(s vmState, in opInput, out opOutput) []vmState {
	if out.Outcome == outRejected {
		// Reported as a failure of its own; it changed nothing.
		return []vmState{s}
	}
	switch in.Kind {
	case opGet:
		if out.Outcome == outOK && out.State == s {
			return []vmState{s}
		}
		return nil
	case opCreate:
		if s.Exists {
			return nil
		}
		want := expectWrite(s, in)
		switch out.Outcome {
		case outOK:
			if out.State == want {
				return []vmState{want}
			}
		case outUnknown:
			return []vmState{s, want}
		}
		return nil
	case opSetStrategy, opWriteStatus:
		if !s.Exists {
			return nil
		}
		want := expectWrite(s, in)
		switch out.Outcome {
		case outOK:
			if out.State == want {
				return []vmState{want}
			}
		case outUnknown:
			return []vmState{s, want}
		}
		return nil
	case opStart, opStop, opRestart:
		if !s.Exists {
			return nil
		}
		want, conflict := expectAction(s, in)
		if in.Previous {
			want, conflict = expectPreviousAction(s, in)
		}
		switch out.Outcome {
		case outOK:
			if conflict != "" || out.State != want {
				return nil
			}
			if in.DryRun {
				return []vmState{s}
			}
			return []vmState{want}
		case outConflict:
			if out.Conflict == conflict {
				return []vmState{s}
			}
		case outUnknown:
			if conflict != "" || in.DryRun {
				return []vmState{s}
			}
			return []vmState{s, want}
		}
		return nil
	}
	return nil
}

// describeInput renders a call for the visualization.
func describeInput(in opInput) string {
	var args []string
	switch in.Kind {
	case opStart:
		if in.Paused {
			args = append(args, "paused")
		}
	case opStop, opRestart:
		if in.Grace != nil {
			args = append(args, "grace="+strconv.FormatInt(*in.Grace, 10))
		}
	case opCreate, opSetStrategy:
		args = append(args, in.Strategy)
		if in.Legacy {
			args = append(args, "legacy")
		}
	case opWriteStatus:
		args = append(args, fmt.Sprintf("created=%t", in.Created), in.Printable)
		if in.ClearSCR {
			args = append(args, "clear SCR")
		}
	}
	if in.DryRun {
		args = append(args, "dryRun")
	}
	return fmt.Sprintf("%s(%s)@server%d", in.Kind, strings.Join(args, ","), in.Server)
}

// describeOutput renders an answer for the visualization.
func describeOutput(out opOutput) string {
	switch out.Outcome {
	case outOK:
		return fmt.Sprintf("%d %s", out.Code, out.State)
	case outConflict:
		return fmt.Sprintf("409 %q", out.Conflict)
	default:
		return fmt.Sprintf("%s %d %s", out.Outcome, out.Code, out.Detail)
	}
}

// lifecycleModel is the porcupine model, partitioned by VM: operations on
// different VMs never interact, which keeps the check fast.
var lifecycleModel = porcupine.NondeterministicModel{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byVM := map[string][]porcupine.Operation{}
		var names []string
		for _, op := range history {
			vm := op.Input.(opInput).VM
			if _, ok := byVM[vm]; !ok {
				names = append(names, vm)
			}
			byVM[vm] = append(byVM[vm], op)
		}
		sort.Strings(names)
		out := make([][]porcupine.Operation, 0, len(names))
		for _, n := range names {
			out = append(out, byVM[n])
		}
		return out
	},
	Init: func() []any { return []any{vmState{}} },
	Step: func(state, input, output any) []any {
		next := step(state.(vmState), input.(opInput), output.(opOutput))
		out := make([]any, len(next))
		for i, s := range next {
			out[i] = s
		}
		return out
	},
	Equal:             func(a, b any) bool { return a.(vmState) == b.(vmState) },
	DescribeOperation: func(in, out any) string { return describeInput(in.(opInput)) + " -> " + describeOutput(out.(opOutput)) },
	DescribeState:     func(s any) string { return s.(vmState).String() },
}
