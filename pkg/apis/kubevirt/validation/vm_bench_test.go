package validation

import (
	"testing"

	virtv1 "kubevirt.io/api/core/v1"
)

// BenchmarkValidateVirtualMachineUpdate is the validation of a start or a
// stop: an update of a valid VM that changes only its run strategy. Its
// allocations are paid by every write of a VM.
func BenchmarkValidateVirtualMachineUpdate(b *testing.B) {
	oldVM := cirrosVM()
	oldVM.ResourceVersion = "7"
	newVM := oldVM.DeepCopy()
	halted := virtv1.RunStrategyHalted
	newVM.Spec.RunStrategy, newVM.Spec.Running = &halted, nil
	b.ReportAllocs()
	for b.Loop() {
		if errs := ValidateVirtualMachineUpdate(newVM, oldVM); len(errs) > 0 {
			b.Fatal(errs)
		}
	}
}
