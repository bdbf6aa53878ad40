package simulator

import (
	"fmt"

	v1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
)

// pendingVolumeRequests is the VM's status.volumeRequests without those its
// template already shows, as KubeVirt's VM controller trims them: an add is
// done once a volume and a disk of its name are there, a remove once
// neither is. nil when none is left.
func pendingVolumeRequests(vm *v1.VirtualMachine) []v1.VirtualMachineVolumeRequest {
	if vm.Spec.Template == nil {
		return vm.Status.VolumeRequests
	}
	var pending []v1.VirtualMachineVolumeRequest
	for i := range vm.Status.VolumeRequests {
		if !kubevirt.VolumeRequestDone(&vm.Spec.Template.Spec, &vm.Status.VolumeRequests[i]) {
			pending = append(pending, *vm.Status.VolumeRequests[i].DeepCopy())
		}
	}
	return pending
}

// volumeSnapshotStatuses is status.volumeSnapshotStatuses as KubeVirt's
// snapshot controller reports it, one entry per volume of the template, hot
// plugged or not, in its order: a volume that is not a PVC, DataVolume or
// memory dump cannot be snapshotted at all, and the others could only with a
// VolumeSnapshotClass, which the simulated storage has none of. Their
// texts are KubeVirt's; the simulated claims have no storage class, which
// KubeVirt names as [].
func volumeSnapshotStatuses(vm *v1.VirtualMachine) []v1.VolumeSnapshotStatus {
	if vm.Spec.Template == nil {
		return nil
	}
	var statuses []v1.VolumeSnapshotStatus
	for _, vol := range vm.Spec.Template.Spec.Volumes {
		status := v1.VolumeSnapshotStatus{Name: vol.Name}
		if vol.PersistentVolumeClaim != nil || vol.DataVolume != nil || vol.MemoryDump != nil {
			status.Reason = fmt.Sprintf("No VolumeSnapshotClass: Volume snapshots are not configured for this StorageClass [] [%s]", vol.Name)
		} else {
			status.Reason = fmt.Sprintf("Snapshot is not supported for this volumeSource type [%s]", vol.Name)
		}
		statuses = append(statuses, status)
	}
	return statuses
}
