package validation

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
	virtv1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
)

// pvcHotplug is a valid request to hotplug claim as a virtio disk.
func pvcHotplug(name string) virtv1.VirtualMachineVolumeRequest {
	src := &virtv1.HotplugVolumeSource{PersistentVolumeClaim: &virtv1.PersistentVolumeClaimVolumeSource{}}
	src.PersistentVolumeClaim.ClaimName = "claim"
	return virtv1.VirtualMachineVolumeRequest{AddVolumeOptions: &virtv1.AddVolumeOptions{
		Name: name, VolumeSource: src,
		Disk: &virtv1.Disk{Name: name, DiskDevice: virtv1.DiskDevice{Disk: &virtv1.DiskTarget{Bus: virtv1.DiskBusVirtio}}},
	}}
}

// TestValidateVirtualMachineStatusUpdate writes each status through the
// status subresource of the cirros VM.
func TestValidateVirtualMachineStatusUpdate(t *testing.T) {
	withDisk := func(disk virtv1.Disk) []virtv1.VirtualMachineVolumeRequest {
		req := pvcHotplug("hp")
		req.AddVolumeOptions.Disk = &disk
		return []virtv1.VirtualMachineVolumeRequest{req}
	}
	tests := []struct {
		name   string
		status virtv1.VirtualMachineStatus
		mutate func(vm *kubevirt.VirtualMachine)
		want   []wantErr
	}{
		{
			name: "valid status",
			status: virtv1.VirtualMachineStatus{
				Created: true, Ready: true, PrintableStatus: virtv1.VirtualMachineStatusRunning,
				RunStrategy: virtv1.RunStrategyWaitAsReceiver, ObservedGeneration: 3, DesiredGeneration: 4,
				Conditions: []virtv1.VirtualMachineCondition{
					{Type: virtv1.VirtualMachineReady, Status: corev1.ConditionTrue},
					{Type: virtv1.VirtualMachinePaused, Status: corev1.ConditionFalse},
					{Type: "Custom", Status: corev1.ConditionUnknown},
				},
				StateChangeRequests: []virtv1.VirtualMachineStateChangeRequest{
					{Action: virtv1.StopRequest, Data: map[string]string{"gracePeriodSeconds": "0"}},
					{Action: virtv1.StartRequest},
				},
				VolumeRequests: []virtv1.VirtualMachineVolumeRequest{
					pvcHotplug("a"), {RemoveVolumeOptions: &virtv1.RemoveVolumeOptions{Name: "a"}},
				},
			},
		},
		{
			name:   "printableStatus is free-form",
			status: virtv1.VirtualMachineStatus{PrintableStatus: "WaitingForSomethingNew"},
		},
		{
			name:   "status update does not validate the spec",
			mutate: func(vm *kubevirt.VirtualMachine) { vm.Spec.Running = ptr.To(true) },
		},
		{
			name: "unknown state change action",
			status: virtv1.VirtualMachineStatus{StateChangeRequests: []virtv1.VirtualMachineStateChangeRequest{
				{Action: virtv1.StartRequest}, {Action: "Restart"},
			}},
			want: []wantErr{{field.ErrorTypeNotSupported, "status.stateChangeRequests[1].action"}},
		},
		{
			name:   "empty condition type",
			status: virtv1.VirtualMachineStatus{Conditions: []virtv1.VirtualMachineCondition{{Status: corev1.ConditionTrue}}},
			want:   []wantErr{{field.ErrorTypeRequired, "status.conditions[0].type"}},
		},
		{
			name: "duplicate condition type",
			status: virtv1.VirtualMachineStatus{Conditions: []virtv1.VirtualMachineCondition{
				{Type: virtv1.VirtualMachineReady, Status: corev1.ConditionTrue},
				{Type: virtv1.VirtualMachineReady, Status: corev1.ConditionFalse},
			}},
			want: []wantErr{{field.ErrorTypeDuplicate, "status.conditions[1].type"}},
		},
		{
			name: "unknown condition status",
			status: virtv1.VirtualMachineStatus{Conditions: []virtv1.VirtualMachineCondition{
				{Type: virtv1.VirtualMachineReady, Status: "Maybe"},
			}},
			want: []wantErr{{field.ErrorTypeNotSupported, "status.conditions[0].status"}},
		},
		{
			name:   "printableStatus too long",
			status: virtv1.VirtualMachineStatus{PrintableStatus: virtv1.VirtualMachinePrintableStatus(strings.Repeat("x", MaxPrintableStatusLength+1))},
			want:   []wantErr{{field.ErrorTypeTooLong, "status.printableStatus"}},
		},
		{
			name:   "negative observedGeneration",
			status: virtv1.VirtualMachineStatus{ObservedGeneration: -1},
			want:   []wantErr{{field.ErrorTypeInvalid, "status.observedGeneration"}},
		},
		{
			name:   "negative desiredGeneration",
			status: virtv1.VirtualMachineStatus{DesiredGeneration: -1},
			want:   []wantErr{{field.ErrorTypeInvalid, "status.desiredGeneration"}},
		},
		{
			name:   "unknown status runStrategy",
			status: virtv1.VirtualMachineStatus{RunStrategy: "Sometimes"},
			want:   []wantErr{{field.ErrorTypeNotSupported, "status.runStrategy"}},
		},
		{
			name:   "volume request neither adds nor removes",
			status: virtv1.VirtualMachineStatus{VolumeRequests: []virtv1.VirtualMachineVolumeRequest{{}}},
			want:   []wantErr{{field.ErrorTypeRequired, "status.volumeRequests[0]"}},
		},
		{
			name: "volume request adds and removes",
			status: virtv1.VirtualMachineStatus{VolumeRequests: []virtv1.VirtualMachineVolumeRequest{{
				AddVolumeOptions: pvcHotplug("a").AddVolumeOptions, RemoveVolumeOptions: &virtv1.RemoveVolumeOptions{Name: "a"},
			}}},
			want: []wantErr{{field.ErrorTypeForbidden, "status.volumeRequests[0].removeVolumeOptions"}},
		},
		{
			name: "volume added twice",
			status: virtv1.VirtualMachineStatus{VolumeRequests: []virtv1.VirtualMachineVolumeRequest{
				pvcHotplug("a"), pvcHotplug("a"),
			}},
			want: []wantErr{{field.ErrorTypeDuplicate, "status.volumeRequests[1].addVolumeOptions.name"}},
		},
		{
			name: "volume removed twice, or without a name",
			status: virtv1.VirtualMachineStatus{VolumeRequests: []virtv1.VirtualMachineVolumeRequest{
				{RemoveVolumeOptions: &virtv1.RemoveVolumeOptions{Name: "a"}},
				{RemoveVolumeOptions: &virtv1.RemoveVolumeOptions{Name: "a"}},
				{RemoveVolumeOptions: &virtv1.RemoveVolumeOptions{}},
			}},
			want: []wantErr{
				{field.ErrorTypeDuplicate, "status.volumeRequests[1].removeVolumeOptions.name"},
				{field.ErrorTypeRequired, "status.volumeRequests[2].removeVolumeOptions.name"},
			},
		},
		{
			name: "added volume without name, source or disk",
			status: virtv1.VirtualMachineStatus{VolumeRequests: []virtv1.VirtualMachineVolumeRequest{
				{AddVolumeOptions: &virtv1.AddVolumeOptions{}},
			}},
			want: []wantErr{
				{field.ErrorTypeRequired, "status.volumeRequests[0].addVolumeOptions.name"},
				{field.ErrorTypeRequired, "status.volumeRequests[0].addVolumeOptions.volumeSource"},
				{field.ErrorTypeRequired, "status.volumeRequests[0].addVolumeOptions.disk"},
			},
		},
		{
			name: "hotplugged disk on the sata bus",
			status: virtv1.VirtualMachineStatus{VolumeRequests: withDisk(virtv1.Disk{Name: "hp",
				DiskDevice: virtv1.DiskDevice{Disk: &virtv1.DiskTarget{Bus: virtv1.DiskBusSATA}}})},
			want: []wantErr{{field.ErrorTypeNotSupported, "status.volumeRequests[0].addVolumeOptions.disk.disk.bus"}},
		},
		{
			name: "hotplugged LUN not on scsi",
			status: virtv1.VirtualMachineStatus{VolumeRequests: withDisk(virtv1.Disk{Name: "hp",
				DiskDevice: virtv1.DiskDevice{LUN: &virtv1.LunTarget{Bus: virtv1.DiskBusVirtio}}})},
			want: []wantErr{{field.ErrorTypeNotSupported, "status.volumeRequests[0].addVolumeOptions.disk.lun.bus"}},
		},
		{
			name: "hotplugged CD-ROM",
			status: virtv1.VirtualMachineStatus{VolumeRequests: withDisk(virtv1.Disk{Name: "hp",
				DiskDevice: virtv1.DiskDevice{CDRom: &virtv1.CDRomTarget{Bus: virtv1.DiskBusSATA}}})},
			want: []wantErr{{field.ErrorTypeRequired, "status.volumeRequests[0].addVolumeOptions.disk"}},
		},
		{
			name: "hotplugged disk with an I/O thread off virtio and boot order 0",
			status: virtv1.VirtualMachineStatus{VolumeRequests: withDisk(virtv1.Disk{Name: "hp",
				DiskDevice: virtv1.DiskDevice{Disk: &virtv1.DiskTarget{Bus: virtv1.DiskBusSCSI}}, DedicatedIOThread: ptr.To(true),
				BootOrder: ptr.To[uint](0)})},
			want: []wantErr{
				{field.ErrorTypeInvalid, "status.volumeRequests[0].addVolumeOptions.disk.dedicatedIOThread"},
				{field.ErrorTypeInvalid, "status.volumeRequests[0].addVolumeOptions.disk.bootOrder"},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			oldVM := cirrosVM()
			oldVM.ResourceVersion = "7"
			newVM := oldVM.DeepCopy()
			newVM.Status = tc.status
			if tc.mutate != nil {
				tc.mutate(newVM)
			}
			sinkTableCase(t, newVM, oldVM)
			assertErrors(t, tc.want, ValidateVirtualMachineStatusUpdate(newVM, oldVM))
		})
	}
}
