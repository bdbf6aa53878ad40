package kubevirt

import (
	virtv1 "kubevirt.io/api/core/v1"
)

// ApplyVolumeRequest changes spec as one volume request asks, the way
// KubeVirt folds a request into a VM's template: an add appends the volume
// (its DataVolume or PVC source marked hotpluggable) and, when the request
// has one, the disk under the volume's name, unless a volume of that name is
// there already; a remove drops every volume and disk of that name. A
// request with neither options changes nothing.
func ApplyVolumeRequest(spec *virtv1.VirtualMachineInstanceSpec, req *virtv1.VirtualMachineVolumeRequest) {
	switch {
	case req.AddVolumeOptions != nil:
		add := req.AddVolumeOptions
		for _, vol := range spec.Volumes {
			if vol.Name == add.Name {
				return
			}
		}
		vol := virtv1.Volume{Name: add.Name}
		if src := add.VolumeSource; src != nil {
			switch {
			case src.PersistentVolumeClaim != nil:
				vol.PersistentVolumeClaim = src.PersistentVolumeClaim.DeepCopy()
				vol.PersistentVolumeClaim.Hotpluggable = true
			case src.DataVolume != nil:
				vol.DataVolume = src.DataVolume.DeepCopy()
				vol.DataVolume.Hotpluggable = true
			}
		}
		spec.Volumes = append(spec.Volumes, vol)
		if add.Disk != nil {
			disk := add.Disk.DeepCopy()
			disk.Name = add.Name
			spec.Domain.Devices.Disks = append(spec.Domain.Devices.Disks, *disk)
		}
	case req.RemoveVolumeOptions != nil:
		name := req.RemoveVolumeOptions.Name
		var volumes []virtv1.Volume
		for _, vol := range spec.Volumes {
			if vol.Name != name {
				volumes = append(volumes, vol)
			}
		}
		var disks []virtv1.Disk
		for _, disk := range spec.Domain.Devices.Disks {
			if disk.Name != name {
				disks = append(disks, disk)
			}
		}
		spec.Volumes, spec.Domain.Devices.Disks = volumes, disks
	}
}

// VolumeRequestDone reports whether spec already shows what req asked for:
// for an add, a volume and a disk of its name; for a remove, neither. A
// runtime drops a request from status.volumeRequests once it is done.
func VolumeRequestDone(spec *virtv1.VirtualMachineInstanceSpec, req *virtv1.VirtualMachineVolumeRequest) bool {
	var name string
	switch {
	case req.AddVolumeOptions != nil:
		name = req.AddVolumeOptions.Name
	case req.RemoveVolumeOptions != nil:
		name = req.RemoveVolumeOptions.Name
	default:
		return true
	}
	hasVolume, hasDisk := false, false
	for _, vol := range spec.Volumes {
		hasVolume = hasVolume || vol.Name == name
	}
	for _, disk := range spec.Domain.Devices.Disks {
		hasDisk = hasDisk || disk.Name == name
	}
	if req.AddVolumeOptions != nil {
		return hasVolume && hasDisk
	}
	return !hasVolume && !hasDisk
}

// IsHotpluggedVolume reports whether vol was hot plugged: a DataVolume or PVC
// source marked hotpluggable. Only those may be removed by a removevolume.
func IsHotpluggedVolume(vol *virtv1.Volume) bool {
	return (vol.DataVolume != nil && vol.DataVolume.Hotpluggable) ||
		(vol.PersistentVolumeClaim != nil && vol.PersistentVolumeClaim.Hotpluggable)
}
