package simulator

import (
	"testing"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
	v1 "kubevirt.io/api/core/v1"
)

func claimVolume(name string) v1.Volume {
	return v1.Volume{Name: name, VolumeSource: v1.VolumeSource{PersistentVolumeClaim: &v1.PersistentVolumeClaimVolumeSource{
		PersistentVolumeClaimVolumeSource: corev1.PersistentVolumeClaimVolumeSource{ClaimName: name}, Hotpluggable: true,
	}}}
}

func volumeVM(volumes []string, requests ...v1.VirtualMachineVolumeRequest) *v1.VirtualMachine {
	spec := v1.VirtualMachineInstanceSpec{}
	spec.Volumes = append(spec.Volumes, v1.Volume{Name: "root", VolumeSource: v1.VolumeSource{ContainerDisk: &v1.ContainerDiskSource{Image: "img"}}})
	spec.Domain.Devices.Disks = append(spec.Domain.Devices.Disks, v1.Disk{Name: "root"})
	for _, name := range volumes {
		spec.Volumes = append(spec.Volumes, claimVolume(name))
		spec.Domain.Devices.Disks = append(spec.Domain.Devices.Disks, v1.Disk{Name: name})
	}
	return &v1.VirtualMachine{
		Spec:   v1.VirtualMachineSpec{Template: &v1.VirtualMachineInstanceTemplateSpec{Spec: spec}},
		Status: v1.VirtualMachineStatus{VolumeRequests: requests},
	}
}

func addRequest(name string) v1.VirtualMachineVolumeRequest {
	return v1.VirtualMachineVolumeRequest{AddVolumeOptions: &v1.AddVolumeOptions{
		Name: name, Disk: &v1.Disk{Name: name},
		VolumeSource: &v1.HotplugVolumeSource{PersistentVolumeClaim: claimVolume(name).PersistentVolumeClaim},
	}}
}

func removeRequest(name string) v1.VirtualMachineVolumeRequest {
	return v1.VirtualMachineVolumeRequest{RemoveVolumeOptions: &v1.RemoveVolumeOptions{Name: name}}
}

func TestPendingVolumeRequests(t *testing.T) {
	tests := []struct {
		name string
		vm   *v1.VirtualMachine
		want []v1.VirtualMachineVolumeRequest
	}{
		{"none", volumeVM(nil), nil},
		{"an add the template shows is done", volumeVM([]string{"data"}, addRequest("data")), nil},
		{"an add the template lacks waits", volumeVM(nil, addRequest("data")), []v1.VirtualMachineVolumeRequest{addRequest("data")}},
		{"a remove the template shows waits", volumeVM([]string{"data"}, removeRequest("data")), []v1.VirtualMachineVolumeRequest{removeRequest("data")}},
		{"a remove the template lacks is done", volumeVM(nil, removeRequest("data")), nil},
		{"only the done ones go, in order", volumeVM([]string{"a"}, addRequest("a"), addRequest("b"), removeRequest("c"), removeRequest("a")),
			[]v1.VirtualMachineVolumeRequest{addRequest("b"), removeRequest("a")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, pendingVolumeRequests(tt.vm))
		})
	}
}

func TestVolumeSnapshotStatuses(t *testing.T) {
	vm := volumeVM([]string{"data"})
	vm.Spec.Template.Spec.Volumes = append(vm.Spec.Template.Spec.Volumes, v1.Volume{Name: "dv",
		VolumeSource: v1.VolumeSource{DataVolume: &v1.DataVolumeSource{Name: "dv", Hotpluggable: true}}})
	assert.Equal(t, []v1.VolumeSnapshotStatus{
		{Name: "root", Reason: "Snapshot is not supported for this volumeSource type [root]"},
		{Name: "data", Reason: "No VolumeSnapshotClass: Volume snapshots are not configured for this StorageClass [] [data]"},
		{Name: "dv", Reason: "No VolumeSnapshotClass: Volume snapshots are not configured for this StorageClass [] [dv]"},
	}, volumeSnapshotStatuses(vm))
	assert.Nil(t, volumeSnapshotStatuses(&v1.VirtualMachine{}), "no template, no volumes")
}
