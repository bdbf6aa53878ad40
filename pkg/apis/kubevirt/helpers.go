package kubevirt

import (
	corev1 "k8s.io/api/core/v1"
	virtv1 "kubevirt.io/api/core/v1"
)

// SupportedRunStrategies lists every run strategy KubeVirt defines, in the
// order used in messages.
var SupportedRunStrategies = []virtv1.VirtualMachineRunStrategy{
	virtv1.RunStrategyAlways, virtv1.RunStrategyRerunOnFailure, virtv1.RunStrategyOnce,
	virtv1.RunStrategyManual, virtv1.RunStrategyHalted, virtv1.RunStrategyWaitAsReceiver,
}

// IsSupportedRunStrategy reports whether s is one of the supported run strategies.
func IsSupportedRunStrategy(s virtv1.VirtualMachineRunStrategy) bool {
	for _, known := range SupportedRunStrategies {
		if s == known {
			return true
		}
	}
	return false
}

// EffectiveRunStrategy is spec.runStrategy when it is set; otherwise the
// deprecated spec.running maps true to Always and false to Halted. ok is false
// when neither field is set.
func EffectiveRunStrategy(spec *virtv1.VirtualMachineSpec) (strategy virtv1.VirtualMachineRunStrategy, ok bool) {
	switch {
	case spec.RunStrategy != nil:
		return *spec.RunStrategy, true
	case spec.Running != nil && *spec.Running:
		return virtv1.RunStrategyAlways, true
	case spec.Running != nil:
		return virtv1.RunStrategyHalted, true
	}
	return "", false
}

// IsLegacy reports whether the VM uses the deprecated spec.running field.
func IsLegacy(spec *virtv1.VirtualMachineSpec) bool {
	return spec.Running != nil && spec.RunStrategy == nil
}

// InstanceActive reports whether the runtime says the VM has an instance that
// has not finished: status.created is true and printableStatus is not Stopped.
func InstanceActive(status *virtv1.VirtualMachineStatus) bool {
	return status.Created && status.PrintableStatus != virtv1.VirtualMachineStatusStopped
}

// InstanceFinished reports whether the runtime says the VM's instance exists
// but has stopped: status.created is true and printableStatus is Stopped.
func InstanceFinished(status *virtv1.VirtualMachineStatus) bool {
	return status.Created && status.PrintableStatus == virtv1.VirtualMachineStatusStopped
}

// InstanceFailedReason is the reason of the Ready condition by which a
// runtime reports that a finished instance failed (the guest crashed, or the
// instance was lost), as opposed to one whose guest shut itself down. It is
// how the VM's status tells KubeVirt's Failed instance phase from Succeeded.
const InstanceFailedReason = "GuestCrashed"

// InstanceExists reports whether the runtime says the VM has an instance,
// active or finished: status.created is true.
func InstanceExists(status *virtv1.VirtualMachineStatus) bool {
	return status.Created
}

// InstanceFailed reports whether the VM's instance has finished by failing:
// it is finished and the Ready condition's reason is InstanceFailedReason.
func InstanceFailed(status *virtv1.VirtualMachineStatus) bool {
	if !InstanceFinished(status) {
		return false
	}
	ready := Condition(status, virtv1.VirtualMachineReady)
	return ready != nil && ready.Reason == InstanceFailedReason
}

// Condition returns the status condition of type t, or nil.
func Condition(status *virtv1.VirtualMachineStatus, t virtv1.VirtualMachineConditionType) *virtv1.VirtualMachineCondition {
	for i := range status.Conditions {
		if status.Conditions[i].Type == t {
			return &status.Conditions[i]
		}
	}
	return nil
}

// ConditionTrue reports whether the status has a condition of type t with status True.
func ConditionTrue(status *virtv1.VirtualMachineStatus, t virtv1.VirtualMachineConditionType) bool {
	c := Condition(status, t)
	return c != nil && c.Status == corev1.ConditionTrue
}
