package simulator

import (
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	v1 "kubevirt.io/api/core/v1"
)

// FaultAnnotation injects a fault into a VM's simulated instance. Its value is
// "crash-<token>" (the guest crashes) or "shutdown-<token>" (the guest shuts
// itself down); the token is any text that makes the value new. The runtime
// acts once on each value that differs from the last one it handled, for
// example:
//
//	kubectl annotate vm vm-cirros --overwrite simulated.vm-apiserver.io/fault=crash-$(date +%s)
const FaultAnnotation = "simulated.vm-apiserver.io/fault"

// ConditionSimulatedFault is the condition in which the runtime records the
// last fault value it handled. Its status is True when the fault hit a
// running instance and False when it was ignored or not understood; its
// message starts with the quoted value.
const ConditionSimulatedFault v1.VirtualMachineConditionType = "SimulatedFault"

// Reasons of the SimulatedFault condition.
const (
	ReasonCrashInjected    = "GuestCrashInjected"
	ReasonShutdownInjected = "GuestShutdownInjected"
	ReasonFaultIgnored     = "FaultIgnored"
	ReasonFaultInvalid     = "FaultInvalid"
)

// faultKind is what a fault annotation asks for.
type faultKind int

const (
	faultInvalid faultKind = iota
	faultCrash
	faultShutdown
)

// parseFault reads the kind from an annotation value such as "crash-3".
func parseFault(value string) faultKind {
	kind, _, _ := strings.Cut(value, "-")
	switch kind {
	case "crash":
		return faultCrash
	case "shutdown":
		return faultShutdown
	}
	return faultInvalid
}

// faultMessagePrefix starts the SimulatedFault message; the quoted value
// follows it.
const faultMessagePrefix = "fault "

// lastHandledFault returns the fault value recorded in the SimulatedFault
// condition, or "" when there is none.
func lastHandledFault(status *v1.VirtualMachineStatus) string {
	c := findCondition(status.Conditions, ConditionSimulatedFault)
	if c == nil {
		return ""
	}
	rest, ok := strings.CutPrefix(c.Message, faultMessagePrefix)
	if !ok {
		return ""
	}
	quoted, err := strconv.QuotedPrefix(rest)
	if err != nil {
		return ""
	}
	value, err := strconv.Unquote(quoted)
	if err != nil {
		return ""
	}
	return value
}

// pendingFault returns the VM's fault annotation when the runtime has not
// handled that value yet, and "" otherwise.
func pendingFault(vm *v1.VirtualMachine) string {
	value := vm.Annotations[FaultAnnotation]
	if value == "" || value == lastHandledFault(&vm.Status) {
		return ""
	}
	return value
}

// faultOutcome is how the runtime handled one fault value.
type faultOutcome struct {
	value   string
	applied bool
	reason  string
	detail  string
}

// condition renders the outcome as the SimulatedFault condition.
func (f faultOutcome) condition() v1.VirtualMachineCondition {
	status := corev1.ConditionFalse
	if f.applied {
		status = corev1.ConditionTrue
	}
	return v1.VirtualMachineCondition{
		Type:    ConditionSimulatedFault,
		Status:  status,
		Reason:  f.reason,
		Message: fmt.Sprintf("%s%q: %s", faultMessagePrefix, f.value, f.detail),
	}
}

// recordFault writes the outcome into status. The transition time is the
// time of this fault, whatever the previous one was.
func recordFault(status *v1.VirtualMachineStatus, f faultOutcome, now metav1.Time) {
	status.Conditions = removeCondition(status.Conditions, ConditionSimulatedFault)
	status.Conditions = setCondition(status.Conditions, f.condition(), now)
}
