package validation

import (
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
	virtv1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
)

// TestValidateDevices covers input, sound, video, panic and GPU display
// devices.
func TestValidateDevices(t *testing.T) {
	ramFBDisplay := virtv1.GPU{Name: "g", DeviceName: "nvidia.com/GRID", VirtualGPUOptions: &virtv1.VGPUOptions{
		Display: &virtv1.VGPUDisplayOptions{},
	}}
	runCreateCases(t, []vmCase{
		{
			name: "tablet inputs",
			mutate: func(vm *kubevirt.VirtualMachine) {
				devs(vm).Inputs = []virtv1.Input{{Name: "t1", Type: virtv1.InputTypeTablet}, {Name: "t2", Type: virtv1.InputTypeTablet, Bus: virtv1.InputBusVirtio}}
			},
		},
		{
			name: "keyboard on a PS/2 bus",
			mutate: func(vm *kubevirt.VirtualMachine) {
				devs(vm).Inputs = []virtv1.Input{{Name: "kbd", Type: virtv1.InputTypeKeyboard, Bus: "ps2"}}
			},
			want: []wantErr{
				{field.ErrorTypeNotSupported, devices + "inputs[0].bus"},
				{field.ErrorTypeNotSupported, devices + "inputs[0].type"},
			},
		},
		{
			name:   "sound device without name, of an unknown model",
			mutate: func(vm *kubevirt.VirtualMachine) { devs(vm).Sound = &virtv1.SoundDevice{Model: "sb16"} },
			want: []wantErr{
				{field.ErrorTypeRequired, devices + "sound.name"},
				{field.ErrorTypeNotSupported, devices + "sound.model"},
			},
		},
		{
			name: "video without the graphics device",
			mutate: func(vm *kubevirt.VirtualMachine) {
				devs(vm).Video = &virtv1.VideoDevice{Type: "virtio"}
				devs(vm).AutoattachGraphicsDevice = ptr.To(false)
			},
			want: []wantErr{{field.ErrorTypeForbidden, devices + "video"}},
		},
		{
			name: "panic devices",
			mutate: func(vm *kubevirt.VirtualMachine) {
				devs(vm).PanicDevices = []virtv1.PanicDevice{{}, {Model: ptr.To(virtv1.Isa)}, {Model: ptr.To(virtv1.PanicDeviceModel("s390"))}}
			},
			want: []wantErr{{field.ErrorTypeNotSupported, devices + "panicDevices[2].model"}},
		},
		{
			name: "panic devices on s390x",
			mutate: func(vm *kubevirt.VirtualMachine) {
				tmpl(vm).Architecture = "s390x"
				devs(vm).PanicDevices = []virtv1.PanicDevice{{}}
			},
			want: []wantErr{{field.ErrorTypeForbidden, devices + "panicDevices"}},
		},
		{
			name: "two ramfb displays",
			mutate: func(vm *kubevirt.VirtualMachine) {
				second := *ramFBDisplay.DeepCopy()
				second.Name = "h"
				// A display whose ramfb is left unset does not use it.
				third := *ramFBDisplay.DeepCopy()
				third.VirtualGPUOptions.Display.RamFB = &virtv1.FeatureState{}
				devs(vm).GPUs = []virtv1.GPU{ramFBDisplay, second, third}
			},
			want: []wantErr{{field.ErrorTypeForbidden, devices + "gpus[1].virtualGPUOptions.display"}},
		},
	})
}

// TestValidateResourceClaims covers spec.resourceClaims and the GPUs, host
// devices and networks that take their devices from them.
func TestValidateResourceClaims(t *testing.T) {
	claims := func(vm *kubevirt.VirtualMachine) {
		tmpl(vm).ResourceClaims = []virtv1.VirtualMachineInstanceResourceClaim{
			{Name: "gpus", ResourceClaimTemplateName: ptr.To("two-gpus")},
			{Name: "devs", ResourceClaimName: ptr.To("fpga")},
		}
	}
	claim := func(name, request string) *virtv1.ClaimRequest {
		return &virtv1.ClaimRequest{ClaimName: name, RequestName: request}
	}
	rcPath := tmplSpec + "resourceClaims"
	runCreateCases(t, []vmCase{
		{
			name: "claims without name or source, with both sources, badly named",
			mutate: func(vm *kubevirt.VirtualMachine) {
				tmpl(vm).ResourceClaims = []virtv1.VirtualMachineInstanceResourceClaim{
					{},
					{Name: "a", ResourceClaimName: ptr.To("x"), ResourceClaimTemplateName: ptr.To("y")},
					{Name: "a", ResourceClaimName: ptr.To("Not_Valid")},
					{Name: "B", ResourceClaimTemplateName: ptr.To("t")},
				}
			},
			want: []wantErr{
				{field.ErrorTypeRequired, rcPath + "[0].name"},
				{field.ErrorTypeRequired, rcPath + "[0]"},
				{field.ErrorTypeForbidden, rcPath + "[1].resourceClaimTemplateName"},
				{field.ErrorTypeDuplicate, rcPath + "[2].name"},
				{field.ErrorTypeInvalid, rcPath + "[2].resourceClaimName"},
				{field.ErrorTypeInvalid, rcPath + "[3].name"},
			},
		},
		{
			name: "DRA GPUs and host devices",
			mutate: func(vm *kubevirt.VirtualMachine) {
				claims(vm)
				devs(vm).GPUs = []virtv1.GPU{{Name: "g1", ClaimRequest: claim("gpus", "gpu-0")}, {Name: "g2", ClaimRequest: claim("gpus", "gpu-1")}}
				devs(vm).HostDevices = []virtv1.HostDevice{{Name: "h1", ClaimRequest: claim("devs", "fpga")}, {Name: "h2", DeviceName: "intel.com/qat"}}
			},
		},
		{
			name: "GPUs mixing DRA and device names",
			mutate: func(vm *kubevirt.VirtualMachine) {
				claims(vm)
				devs(vm).GPUs = []virtv1.GPU{{Name: "g1", ClaimRequest: claim("gpus", "gpu-0")}, {Name: "g2", DeviceName: "nvidia.com/T4"}}
			},
			want: []wantErr{{field.ErrorTypeInvalid, devices + "gpus"}},
		},
		{
			name: "host devices without device or claim, or with both",
			mutate: func(vm *kubevirt.VirtualMachine) {
				devs(vm).HostDevices = []virtv1.HostDevice{{Name: "h1"}, {Name: "h2", DeviceName: "x/y", ClaimRequest: claim("devs", "r")}}
			},
			want: []wantErr{
				{field.ErrorTypeRequired, devices + "hostDevices[0].deviceName"},
				{field.ErrorTypeForbidden, devices + "hostDevices[1].claimName"},
			},
		},
		{
			name: "claim requests incomplete, undeclared or used twice",
			mutate: func(vm *kubevirt.VirtualMachine) {
				claims(vm)
				devs(vm).GPUs = []virtv1.GPU{{Name: "g1", ClaimRequest: claim("gpus", "")}, {Name: "g2", ClaimRequest: claim("other", "r")}}
				devs(vm).HostDevices = []virtv1.HostDevice{{Name: "h1", ClaimRequest: claim("devs", "r")}, {Name: "h2", ClaimRequest: claim("devs", "r")}}
				devs(vm).Interfaces = append(devs(vm).Interfaces, virtv1.Interface{Name: "vf", Binding: &virtv1.PluginBinding{Name: "sriov"}})
				tmpl(vm).Networks = append(tmpl(vm).Networks, virtv1.Network{Name: "vf", NetworkSource: virtv1.NetworkSource{
					ResourceClaim: claim("devs", "r"),
				}})
			},
			want: []wantErr{
				{field.ErrorTypeRequired, devices + "gpus[0].requestName"},
				{field.ErrorTypeNotFound, devices + "gpus[1].claimName"},
				{field.ErrorTypeDuplicate, devices + "hostDevices[1]"},
				{field.ErrorTypeDuplicate, tmplSpec + "networks[1].resourceClaim"},
			},
		},
	})
}
