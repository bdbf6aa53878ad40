package kubevirt

// SupportedRunStrategies lists every run strategy in the order used in messages.
var SupportedRunStrategies = []RunStrategy{
	RunStrategyAlways, RunStrategyRerunOnFailure, RunStrategyOnce, RunStrategyManual, RunStrategyHalted,
}

// IsSupported reports whether s is one of the supported run strategies.
func (s RunStrategy) IsSupported() bool {
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
func (spec *VirtualMachineSpec) EffectiveRunStrategy() (strategy RunStrategy, ok bool) {
	switch {
	case spec.RunStrategy != nil:
		return *spec.RunStrategy, true
	case spec.Running != nil && *spec.Running:
		return RunStrategyAlways, true
	case spec.Running != nil:
		return RunStrategyHalted, true
	}
	return "", false
}

// IsLegacy reports whether the VM uses the deprecated spec.running field.
func (spec *VirtualMachineSpec) IsLegacy() bool {
	return spec.Running != nil && spec.RunStrategy == nil
}

// InstanceActive reports whether the runtime says the VM has an instance that
// has not finished: status.created is true and printableStatus is not Stopped.
func (status *VirtualMachineStatus) InstanceActive() bool {
	return status.Created && status.PrintableStatus != PrintableStatusStopped
}

// InstanceFinished reports whether the runtime says the VM's instance exists
// but has stopped: status.created is true and printableStatus is Stopped.
func (status *VirtualMachineStatus) InstanceFinished() bool {
	return status.Created && status.PrintableStatus == PrintableStatusStopped
}
