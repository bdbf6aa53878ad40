package validation

import (
	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
	virtv1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
)

var (
	supportedConditionStatuses = []corev1.ConditionStatus{corev1.ConditionTrue, corev1.ConditionFalse, corev1.ConditionUnknown}
	supportedRequestActions    = []virtv1.StateChangeRequestAction{virtv1.StartRequest, virtv1.StopRequest}
)

// ValidateVirtualMachineStatus validates a VM status as a runtime writes it.
// The status is mostly free-form reporting; only what the lifecycle and the
// volume hotplug machinery interpret is checked.
func ValidateVirtualMachineStatus(status *virtv1.VirtualMachineStatus, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList

	if len(status.PrintableStatus) > MaxPrintableStatusLength {
		allErrs = append(allErrs, field.TooLong(fldPath.Child("printableStatus"), status.PrintableStatus, MaxPrintableStatusLength))
	}
	if status.RunStrategy != "" && !kubevirt.IsSupportedRunStrategy(status.RunStrategy) {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("runStrategy"), status.RunStrategy, kubevirt.SupportedRunStrategies))
	}
	// ValidateNonnegativeField reports a negative value only; its path is
	// built for that case alone.
	if status.ObservedGeneration < 0 {
		allErrs = append(allErrs, apimachineryvalidation.ValidateNonnegativeField(status.ObservedGeneration, fldPath.Child("observedGeneration"))...)
	}
	if status.DesiredGeneration < 0 {
		allErrs = append(allErrs, apimachineryvalidation.ValidateNonnegativeField(status.DesiredGeneration, fldPath.Child("desiredGeneration"))...)
	}

	// Conditions are keyed by type, so a type may appear once.
	seenTypes := sets.New[virtv1.VirtualMachineConditionType]()
	condsPath := lazy(fldPath).child("conditions")
	for i, cond := range status.Conditions {
		idxPath := condsPath.index(i)
		switch {
		case cond.Type == "":
			allErrs = append(allErrs, field.Required(idxPath().Child("type"), "a condition type is required"))
		case seenTypes.Has(cond.Type):
			allErrs = append(allErrs, field.Duplicate(idxPath().Child("type"), cond.Type))
		default:
			seenTypes.Insert(cond.Type)
		}
		allErrs = append(allErrs, validateOneOf(cond.Status, supportedConditionStatuses, idxPath.child("status"))...)
	}

	// The controller acts on start and stop requests only.
	requestsPath := lazy(fldPath).child("stateChangeRequests")
	for i, req := range status.StateChangeRequests {
		allErrs = append(allErrs, validateOneOf(req.Action, supportedRequestActions, requestsPath.index(i).child("action"))...)
	}
	allErrs = append(allErrs, validateVolumeRequests(status.VolumeRequests, lazy(fldPath).child("volumeRequests"))...)
	return allErrs
}

// validateVolumeRequests checks the hotplug requests queued in the status:
// each adds or removes one named volume, a name is added or removed at most
// once, and an added volume comes with a hotpluggable disk and one source.
func validateVolumeRequests(requests []virtv1.VirtualMachineVolumeRequest, fldPath lazyPath) field.ErrorList {
	var allErrs field.ErrorList
	added, removed := sets.New[string](), sets.New[string]()
	for i, req := range requests {
		idxPath := fldPath.index(i)
		switch {
		case req.AddVolumeOptions != nil && req.RemoveVolumeOptions != nil:
			allErrs = append(allErrs, field.Forbidden(idxPath().Child("removeVolumeOptions"),
				"may not be set together with addVolumeOptions"))
		case req.AddVolumeOptions != nil:
			allErrs = append(allErrs, validateAddVolume(req.AddVolumeOptions, added, idxPath.child("addVolumeOptions"))...)
		case req.RemoveVolumeOptions != nil:
			namePath := idxPath.child("removeVolumeOptions", "name")
			switch name := req.RemoveVolumeOptions.Name; {
			case name == "":
				allErrs = append(allErrs, field.Required(namePath(), "the volume to remove is required"))
			case removed.Has(name):
				allErrs = append(allErrs, field.Duplicate(namePath(), name))
			default:
				removed.Insert(name)
			}
		default:
			allErrs = append(allErrs, field.Required(idxPath(), "must specify addVolumeOptions or removeVolumeOptions"))
		}
	}
	return allErrs
}

func validateAddVolume(opts *virtv1.AddVolumeOptions, added sets.Set[string], fldPath lazyPath) field.ErrorList {
	var allErrs field.ErrorList
	switch {
	case opts.Name == "":
		allErrs = append(allErrs, field.Required(fldPath().Child("name"), "the volume to add is required"))
	case added.Has(opts.Name):
		allErrs = append(allErrs, field.Duplicate(fldPath().Child("name"), opts.Name))
	default:
		added.Insert(opts.Name)
	}

	// Only claims can be hotplugged.
	if src := opts.VolumeSource; src == nil || countSet(src.PersistentVolumeClaim != nil, src.DataVolume != nil) != 1 {
		allErrs = append(allErrs, field.Required(fldPath().Child("volumeSource"),
			"must specify exactly one of persistentVolumeClaim and dataVolume"))
	}

	diskPath := fldPath.child("disk")
	disk := opts.Disk
	if disk == nil {
		return append(allErrs, field.Required(diskPath(), "a hotplugged volume needs a disk"))
	}
	// A hotplugged disk is a disk on virtio or scsi, or a LUN on scsi.
	bus := diskBus(disk)
	switch {
	case disk.Disk != nil:
		allErrs = append(allErrs, validateOneOf(bus, []virtv1.DiskBus{virtv1.DiskBusSCSI, virtv1.DiskBusVirtio},
			diskPath.child("disk", "bus"))...)
	case disk.LUN != nil:
		allErrs = append(allErrs, validateOneOf(bus, []virtv1.DiskBus{virtv1.DiskBusSCSI}, diskPath.child("lun", "bus"))...)
	default:
		allErrs = append(allErrs, field.Required(diskPath(), "a hotplugged volume needs a disk or lun target"))
	}
	if isTrue(disk.DedicatedIOThread) && bus != virtv1.DiskBusVirtio {
		allErrs = append(allErrs, field.Invalid(diskPath().Child("dedicatedIOThread"), true, "requires the virtio bus"))
	}
	if disk.BootOrder != nil && *disk.BootOrder < 1 {
		allErrs = append(allErrs, field.Invalid(diskPath().Child("bootOrder"), *disk.BootOrder, "must be 1 or greater"))
	}
	return allErrs
}
