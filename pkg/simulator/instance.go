package simulator

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	v1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
)

// Reasons of the Ready condition. They name the phase of the simulated
// instance; GuestCrashed and GuestShutdown also tell apart the two ways a
// finished instance can have ended, which RerunOnFailure needs to know.
const (
	ReasonNoInstance    = "NoInstance"
	ReasonStarting      = "Starting"
	ReasonRunning       = "Running"
	ReasonPaused        = "Paused"
	ReasonStopping      = "Stopping"
	ReasonGuestCrashed  = kubevirt.InstanceFailedReason
	ReasonGuestShutdown = "GuestShutdown"
)

// ReasonStartedPaused is the reason of the Paused condition of an instance
// started with a paused start request.
const ReasonStartedPaused = "StartedPaused"

// phase is the state of a VM's simulated instance.
type phase string

const (
	// phaseNone: there is no instance.
	phaseNone phase = "None"
	// phaseStarting: an instance is booting.
	phaseStarting phase = "Starting"
	// phaseRunning: the instance runs and is ready.
	phaseRunning phase = "Running"
	// phasePaused: the instance runs with its vCPUs paused.
	phasePaused phase = "Paused"
	// phaseStopping: the instance is shutting down.
	phaseStopping phase = "Stopping"
	// phaseSucceeded: the guest shut itself down; the instance is finished.
	phaseSucceeded phase = "Succeeded"
	// phaseFailed: the guest crashed; the instance is finished.
	phaseFailed phase = "Failed"
)

// up reports whether the guest is running (possibly paused).
func (p phase) up() bool { return p == phaseRunning || p == phasePaused }

// finished reports whether the instance exists but has ended.
func (p phase) finished() bool { return p == phaseSucceeded || p == phaseFailed }

// observePhase reads the instance's phase back from status, so that the
// runtime keeps no state that a restart would lose.
func observePhase(status *v1.VirtualMachineStatus) phase {
	if !status.Created {
		return phaseNone
	}
	switch status.PrintableStatus {
	case v1.VirtualMachineStatusStarting:
		return phaseStarting
	case v1.VirtualMachineStatusRunning:
		return phaseRunning
	case v1.VirtualMachineStatusPaused:
		return phasePaused
	case v1.VirtualMachineStatusStopping:
		return phaseStopping
	case v1.VirtualMachineStatusStopped:
		if kubevirt.InstanceFailed(status) {
			return phaseFailed
		}
		return phaseSucceeded
	}
	// Some other writer left a status we do not know. The server counts it as
	// an active instance, and so do we; the next write normalises it.
	return phaseRunning
}

// setPhase writes phase p into status: created, printableStatus, ready and
// the Ready and Paused conditions. It is the inverse of observePhase.
func setPhase(status *v1.VirtualMachineStatus, p phase, now metav1.Time) {
	status.Created = p != phaseNone
	status.Ready = p == phaseRunning
	switch p {
	case phaseNone, phaseSucceeded, phaseFailed:
		status.PrintableStatus = v1.VirtualMachineStatusStopped
	default:
		status.PrintableStatus = v1.VirtualMachinePrintableStatus(p)
	}

	ready := v1.VirtualMachineCondition{Type: v1.VirtualMachineReady, Status: corev1.ConditionFalse}
	switch p {
	case phaseNone:
		ready.Reason, ready.Message = ReasonNoInstance, "The VM has no instance."
	case phaseStarting:
		ready.Reason, ready.Message = ReasonStarting, "The instance is booting."
	case phaseRunning:
		ready.Status, ready.Reason, ready.Message = corev1.ConditionTrue, ReasonRunning, "The instance is running."
	case phasePaused:
		ready.Reason, ready.Message = ReasonPaused, "The instance is paused."
	case phaseStopping:
		ready.Reason, ready.Message = ReasonStopping, "The instance is shutting down."
	case phaseSucceeded:
		ready.Reason, ready.Message = ReasonGuestShutdown, "The guest shut itself down; the instance has finished."
	case phaseFailed:
		ready.Reason, ready.Message = ReasonGuestCrashed, "The guest crashed; the instance has finished."
	}
	status.Conditions = setCondition(status.Conditions, ready, now)

	if p == phasePaused {
		status.Conditions = setCondition(status.Conditions, v1.VirtualMachineCondition{
			Type:    v1.VirtualMachinePaused,
			Status:  corev1.ConditionTrue,
			Reason:  ReasonStartedPaused,
			Message: "The instance was started with its vCPUs paused.",
		}, now)
	} else {
		status.Conditions = removeCondition(status.Conditions, v1.VirtualMachinePaused)
	}
}

// findCondition returns the condition of type t, or nil.
func findCondition(conds []v1.VirtualMachineCondition, t v1.VirtualMachineConditionType) *v1.VirtualMachineCondition {
	for i := range conds {
		if conds[i].Type == t {
			return &conds[i]
		}
	}
	return nil
}

// setCondition adds or replaces the condition of c's type. The transition
// time moves only when the condition's status changes.
func setCondition(conds []v1.VirtualMachineCondition, c v1.VirtualMachineCondition, now metav1.Time) []v1.VirtualMachineCondition {
	if old := findCondition(conds, c.Type); old != nil {
		c.LastTransitionTime = old.LastTransitionTime
		if old.Status != c.Status || old.LastTransitionTime.IsZero() {
			c.LastTransitionTime = now
		}
		c.LastProbeTime = old.LastProbeTime
		*old = c
		return conds
	}
	c.LastTransitionTime = now
	return append(conds, c)
}

// removeCondition drops the condition of type t.
func removeCondition(conds []v1.VirtualMachineCondition, t v1.VirtualMachineConditionType) []v1.VirtualMachineCondition {
	var out []v1.VirtualMachineCondition
	for _, c := range conds {
		if c.Type != t {
			out = append(out, c)
		}
	}
	return out
}
