package virtualmachine

import (
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/validation/field"
	virtv1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt/validation"
)

// The volume hotplug actions; the values are the subresource names.
const (
	ActionAddVolume    Action = "addvolume"
	ActionRemoveVolume Action = "removevolume"
)

// IsVolumeAction reports whether action is addvolume or removevolume, whose
// body is a KubeVirt volume request rather than lifecycle options.
func IsVolumeAction(action Action) bool {
	return action == ActionAddVolume || action == ActionRemoveVolume
}

// HotplugMode is how a volume request is recorded on the VM.
type HotplugMode string

const (
	// HotplugDeclarative writes the disk and the volume straight into (or
	// out of) spec.template.spec, as KubeVirt does under its
	// DeclarativeHotplugVolumes feature gate. It is the default.
	HotplugDeclarative HotplugMode = "declarative"
	// HotplugRequests appends the request to status.volumeRequests for the
	// runtime to carry out, as KubeVirt does under its older HotplugVolumes
	// feature gate.
	HotplugRequests HotplugMode = "requests"
)

// The texts of the refusals. Each is KubeVirt's, so that clients matching on
// them keep working; the misspelling in msgAddPendingDup is KubeVirt's too.
const (
	msgAddNeedsName     = "AddVolumeOptions requires name to be set"
	msgAddNeedsDisk     = "AddVolumeOptions requires disk to not be nil"
	msgAddNeedsSource   = "AddVolumeOptions requires VolumeSource to not be nil"
	msgRemoveNeedsName  = "RemoveVolumeOptions requires name to be set"
	msgVolumeExists     = "Unable to add volume [%s] because volume with that name already exists"
	msgSourceExists     = "Unable to add volume source [%s] because it already exists"
	msgNotHotpluggable  = "Unable to remove volume [%s] because it is not hotpluggable"
	msgNoSuchVolume     = "Unable to remove volume [%s] because it does not exist"
	msgAddPending       = "add volume request for volume [%s] already exists"
	msgAddWhileRemoving = "unable to add volume since a remove volume request for volume [%s] already exists and is still being processed"
	msgRemovePending    = "a remove volume request for volume [%s] already exists and is still being processed"
	msgDiskBus          = "AddVolume request for disk [%s] requires bus to be 'scsi' or 'virtio'. [%s] is not permitted."
	msgLUNBus           = "AddVolume request for LUN [%s] requires bus to be 'scsi'. [%s] is not permitted."
	msgDiskDevice       = "AddVolume request for [%s] requires diskDevice of type 'disk' or 'lun' to be used."
	msgIOThread         = "AddVolume request for [%s] requires virtio bus for IOThreads."
	msgBootOrder        = "must have a boot order > 0, if supplied"
	msgDiskNameTaken    = "AddVolume request for [%s] conflicts with an existing disk of the same name"
)

// PrepareVolumeRequest checks the fields a volume request must carry and
// completes it as KubeVirt does before it looks at the VM: the disk takes
// the volume's name, and a DataVolume or PVC source is marked hotpluggable
// (a hot plugged volume is one so marked, whatever the client sent). The
// answer to a missing field is a 400 with KubeVirt's text.
func PrepareVolumeRequest(req *virtv1.VirtualMachineVolumeRequest) error {
	switch {
	case req.AddVolumeOptions != nil:
		add := req.AddVolumeOptions
		switch {
		case add.Name == "":
			return apierrors.NewBadRequest(msgAddNeedsName)
		case add.Disk == nil:
			return apierrors.NewBadRequest(msgAddNeedsDisk)
		case add.VolumeSource == nil:
			return apierrors.NewBadRequest(msgAddNeedsSource)
		}
		add.Disk.Name = add.Name
		if add.VolumeSource.DataVolume != nil {
			add.VolumeSource.DataVolume.Hotpluggable = true
		} else if add.VolumeSource.PersistentVolumeClaim != nil {
			add.VolumeSource.PersistentVolumeClaim.Hotpluggable = true
		}
	case req.RemoveVolumeOptions != nil:
		if req.RemoveVolumeOptions.Name == "" {
			return apierrors.NewBadRequest(msgRemoveNeedsName)
		}
	default:
		return apierrors.NewBadRequest("a volume request needs addVolumeOptions or removeVolumeOptions")
	}
	return nil
}

// DecideVolume applies the volume request req, prepared by
// PrepareVolumeRequest, to vm in the given mode and returns the VM to store,
// or the API error that refuses it. It never changes vm.
//
// As KubeVirt: a name or claim already among the template's volumes, or a
// pending request of the same name, is a 409, and so is the removal of a
// volume the template lacks or did not hot plug. A disk that cannot be hot
// plugged (a bus other than scsi or virtio, a LUN off scsi, a device that is
// neither disk nor lun) is a 422, as KubeVirt's admission answers it, and so
// is a template that the request would leave invalid.
func DecideVolume(vm *kubevirt.VirtualMachine, req *virtv1.VirtualMachineVolumeRequest, mode HotplugMode) (*kubevirt.VirtualMachine, error) {
	if req.AddVolumeOptions == nil && req.RemoveVolumeOptions == nil {
		return nil, apierrors.NewBadRequest("a volume request needs addVolumeOptions or removeVolumeOptions")
	}
	if mode != HotplugDeclarative && mode != HotplugRequests {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("unknown volume hotplug mode %q", mode))
	}
	var spec virtv1.VirtualMachineInstanceSpec
	if vm.Spec.Template != nil {
		spec = vm.Spec.Template.Spec
	}
	if msg := checkTemplateVolumes(&spec, req); msg != "" {
		return nil, conflict(vm, msg)
	}
	if add := req.AddVolumeOptions; add != nil {
		if errs := hotplugDiskErrors(add.Disk, add.Name); len(errs) > 0 {
			return nil, apierrors.NewInvalid(kubevirt.Kind("VirtualMachine"), vm.Name, errs)
		}
		// KubeVirt's own check looks at volumes only; a disk of the name
		// without a volume (an empty CD-ROM) would get a second disk of the
		// same name, which its admission then refuses as a duplicate.
		for _, disk := range spec.Domain.Devices.Disks {
			if disk.Name == add.Name {
				return nil, conflict(vm, fmt.Sprintf(msgDiskNameTaken, add.Name))
			}
		}
	}

	out := vm.DeepCopy()
	if mode == HotplugRequests {
		if msg := checkPendingRequests(vm.Status.VolumeRequests, req); msg != "" {
			return nil, conflict(vm, msg)
		}
		out.Status.VolumeRequests = queueVolumeRequest(vm.Status.VolumeRequests, req)
		// What the runtime will write into the template must be valid
		// there; KubeVirt's admission checks the same before it records
		// the request.
		probe := vm.DeepCopy()
		if probe.Spec.Template == nil {
			probe.Spec.Template = &virtv1.VirtualMachineInstanceTemplateSpec{}
		}
		for i := range out.Status.VolumeRequests {
			kubevirt.ApplyVolumeRequest(&probe.Spec.Template.Spec, &out.Status.VolumeRequests[i])
		}
		if errs := validation.ValidateVirtualMachineSpec(&probe.Spec, field.NewPath("spec")); len(errs) > 0 {
			return nil, apierrors.NewInvalid(kubevirt.Kind("VirtualMachine"), vm.Name, errs)
		}
		return out, nil
	}
	if out.Spec.Template == nil {
		out.Spec.Template = &virtv1.VirtualMachineInstanceTemplateSpec{}
	}
	kubevirt.ApplyVolumeRequest(&out.Spec.Template.Spec, req.DeepCopy())
	return out, nil
}

// checkTemplateVolumes returns KubeVirt's refusal of req against the
// template's volumes, or "". An add may reuse neither a volume's name nor
// the DataVolume or claim another volume mounts; a remove needs a volume of
// that name (or mounting that claim) that was hot plugged.
func checkTemplateVolumes(spec *virtv1.VirtualMachineInstanceSpec, req *virtv1.VirtualMachineVolumeRequest) string {
	if add := req.AddVolumeOptions; add != nil {
		source := hotplugSourceName(add.VolumeSource)
		for i := range spec.Volumes {
			vol := &spec.Volumes[i]
			if vol.Name == add.Name {
				return fmt.Sprintf(msgVolumeExists, add.Name)
			}
			if source != "" && volumeSourceName(vol) == source {
				return fmt.Sprintf(msgSourceExists, source)
			}
		}
		return ""
	}
	name := req.RemoveVolumeOptions.Name
	for i := range spec.Volumes {
		vol := &spec.Volumes[i]
		if vol.Name != name && volumeSourceName(vol) != name {
			continue
		}
		if !kubevirt.IsHotpluggedVolume(vol) {
			return fmt.Sprintf(msgNotHotpluggable, vol.Name)
		}
		return ""
	}
	return fmt.Sprintf(msgNoSuchVolume, name)
}

// checkPendingRequests returns KubeVirt's refusal of req against the
// requests already waiting in status.volumeRequests, or "".
func checkPendingRequests(pending []virtv1.VirtualMachineVolumeRequest, req *virtv1.VirtualMachineVolumeRequest) string {
	for _, p := range pending {
		switch {
		case req.AddVolumeOptions != nil && p.AddVolumeOptions != nil && p.AddVolumeOptions.Name == req.AddVolumeOptions.Name:
			return fmt.Sprintf(msgAddPending, req.AddVolumeOptions.Name)
		case req.AddVolumeOptions != nil && p.RemoveVolumeOptions != nil && p.RemoveVolumeOptions.Name == req.AddVolumeOptions.Name:
			return fmt.Sprintf(msgAddWhileRemoving, req.AddVolumeOptions.Name)
		case req.RemoveVolumeOptions != nil && p.RemoveVolumeOptions != nil && p.RemoveVolumeOptions.Name == req.RemoveVolumeOptions.Name:
			return fmt.Sprintf(msgRemovePending, req.RemoveVolumeOptions.Name)
		}
	}
	return ""
}

// queueVolumeRequest returns pending with req appended. A remove first
// withdraws a pending add of the same volume, as KubeVirt does, so that the
// runtime never plugs a volume only to unplug it.
func queueVolumeRequest(pending []virtv1.VirtualMachineVolumeRequest, req *virtv1.VirtualMachineVolumeRequest) []virtv1.VirtualMachineVolumeRequest {
	out := make([]virtv1.VirtualMachineVolumeRequest, 0, len(pending)+1)
	for _, p := range pending {
		if req.RemoveVolumeOptions != nil && p.AddVolumeOptions != nil && p.AddVolumeOptions.Name == req.RemoveVolumeOptions.Name {
			continue
		}
		out = append(out, *p.DeepCopy())
	}
	return append(out, *req.DeepCopy())
}

// hotplugDiskErrors checks that disk can be hot plugged, with the texts of
// KubeVirt's admission: a disk on scsi or virtio, a LUN on scsi, a
// dedicated I/O thread only on virtio, a boot order above 0.
func hotplugDiskErrors(disk *virtv1.Disk, name string) field.ErrorList {
	path := field.NewPath("addVolumeOptions", "disk")
	var bus virtv1.DiskBus
	switch {
	case disk.Disk != nil:
		bus = disk.Disk.Bus
		if bus != virtv1.DiskBusSCSI && bus != virtv1.DiskBusVirtio {
			return field.ErrorList{field.Invalid(path.Child("disk", "bus"), string(bus), fmt.Sprintf(msgDiskBus, name, bus))}
		}
	case disk.LUN != nil:
		bus = disk.LUN.Bus
		if bus != virtv1.DiskBusSCSI {
			return field.ErrorList{field.Invalid(path.Child("lun", "bus"), string(bus), fmt.Sprintf(msgLUNBus, name, bus))}
		}
	default:
		return field.ErrorList{field.Required(path, fmt.Sprintf(msgDiskDevice, name))}
	}
	if disk.DedicatedIOThread != nil && *disk.DedicatedIOThread && bus != virtv1.DiskBusVirtio {
		return field.ErrorList{field.Invalid(path.Child("dedicatedIOThread"), true, fmt.Sprintf(msgIOThread, name))}
	}
	if disk.BootOrder != nil && *disk.BootOrder < 1 {
		return field.ErrorList{field.Invalid(path.Child("bootOrder"), *disk.BootOrder, msgBootOrder)}
	}
	return nil
}

// hotplugSourceName is the DataVolume or claim a hotplug source names.
func hotplugSourceName(src *virtv1.HotplugVolumeSource) string {
	switch {
	case src == nil:
		return ""
	case src.DataVolume != nil:
		return src.DataVolume.Name
	case src.PersistentVolumeClaim != nil:
		return src.PersistentVolumeClaim.ClaimName
	}
	return ""
}

// volumeSourceName is the DataVolume or claim vol mounts, or "".
func volumeSourceName(vol *virtv1.Volume) string {
	switch {
	case vol.DataVolume != nil:
		return vol.DataVolume.Name
	case vol.PersistentVolumeClaim != nil:
		return vol.PersistentVolumeClaim.ClaimName
	}
	return ""
}
