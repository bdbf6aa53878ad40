package v1

import (
	"fmt"

	"k8s.io/apimachinery/pkg/conversion"
	"k8s.io/apimachinery/pkg/runtime"
	virtv1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
)

// The conversions move the envelope and hand spec and status over as they
// are: both sides hold kubevirt.io/api's structs, so nothing can be lost.
// Like generated conversions, they share memory with their input; the
// apiserver copies an object before it converts one it must not change.

func addConversionFuncs(scheme *runtime.Scheme) error {
	funcs := []struct {
		a, b any
		fn   conversion.ConversionFunc
	}{
		{(*virtv1.VirtualMachine)(nil), (*kubevirt.VirtualMachine)(nil), func(a, b any, s conversion.Scope) error {
			return Convert_v1_VirtualMachine_To_kubevirt_VirtualMachine(a.(*virtv1.VirtualMachine), b.(*kubevirt.VirtualMachine), s)
		}},
		{(*kubevirt.VirtualMachine)(nil), (*virtv1.VirtualMachine)(nil), func(a, b any, s conversion.Scope) error {
			return Convert_kubevirt_VirtualMachine_To_v1_VirtualMachine(a.(*kubevirt.VirtualMachine), b.(*virtv1.VirtualMachine), s)
		}},
		{(*virtv1.VirtualMachineList)(nil), (*kubevirt.VirtualMachineList)(nil), func(a, b any, s conversion.Scope) error {
			return Convert_v1_VirtualMachineList_To_kubevirt_VirtualMachineList(a.(*virtv1.VirtualMachineList), b.(*kubevirt.VirtualMachineList), s)
		}},
		{(*kubevirt.VirtualMachineList)(nil), (*virtv1.VirtualMachineList)(nil), func(a, b any, s conversion.Scope) error {
			return Convert_kubevirt_VirtualMachineList_To_v1_VirtualMachineList(a.(*kubevirt.VirtualMachineList), b.(*virtv1.VirtualMachineList), s)
		}},
	}
	for _, f := range funcs {
		if err := scheme.AddConversionFunc(f.a, f.b, f.fn); err != nil {
			return fmt.Errorf("registering a VirtualMachine conversion: %w", err)
		}
	}
	return nil
}

// Convert_v1_VirtualMachine_To_kubevirt_VirtualMachine converts a
// kubevirt.io/v1 VirtualMachine to the internal shell.
func Convert_v1_VirtualMachine_To_kubevirt_VirtualMachine(in *virtv1.VirtualMachine, out *kubevirt.VirtualMachine, _ conversion.Scope) error {
	out.ObjectMeta = in.ObjectMeta
	out.Spec = in.Spec
	out.Status = in.Status
	return nil
}

// Convert_kubevirt_VirtualMachine_To_v1_VirtualMachine converts the internal
// shell to a kubevirt.io/v1 VirtualMachine.
func Convert_kubevirt_VirtualMachine_To_v1_VirtualMachine(in *kubevirt.VirtualMachine, out *virtv1.VirtualMachine, _ conversion.Scope) error {
	out.ObjectMeta = in.ObjectMeta
	out.Spec = in.Spec
	out.Status = in.Status
	return nil
}

// Convert_v1_VirtualMachineList_To_kubevirt_VirtualMachineList converts a
// kubevirt.io/v1 list to the internal shell.
func Convert_v1_VirtualMachineList_To_kubevirt_VirtualMachineList(in *virtv1.VirtualMachineList, out *kubevirt.VirtualMachineList, s conversion.Scope) error {
	out.ListMeta = in.ListMeta
	if in.Items == nil {
		out.Items = nil
		return nil
	}
	out.Items = make([]kubevirt.VirtualMachine, len(in.Items))
	for i := range in.Items {
		if err := Convert_v1_VirtualMachine_To_kubevirt_VirtualMachine(&in.Items[i], &out.Items[i], s); err != nil {
			return err
		}
	}
	return nil
}

// Convert_kubevirt_VirtualMachineList_To_v1_VirtualMachineList converts the
// internal list to a kubevirt.io/v1 list.
func Convert_kubevirt_VirtualMachineList_To_v1_VirtualMachineList(in *kubevirt.VirtualMachineList, out *virtv1.VirtualMachineList, s conversion.Scope) error {
	out.ListMeta = in.ListMeta
	if in.Items == nil {
		out.Items = nil
		return nil
	}
	out.Items = make([]virtv1.VirtualMachine, len(in.Items))
	for i := range in.Items {
		if err := Convert_kubevirt_VirtualMachine_To_v1_VirtualMachine(&in.Items[i], &out.Items[i], s); err != nil {
			return err
		}
	}
	return nil
}
