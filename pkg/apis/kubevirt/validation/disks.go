package validation

import (
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
	virtv1 "kubevirt.io/api/core/v1"
)

const (
	maxDiskSerialLength = 256
	// Custom block sizes are powers of two within these bounds, in bytes.
	minCustomBlockSize = 512
	maxCustomBlockSize = 2 * 1024 * 1024
)

var (
	supportedDiskBuses     = []virtv1.DiskBus{virtv1.DiskBusVirtio, virtv1.DiskBusSCSI, virtv1.DiskBusSATA, virtv1.DiskBusUSB}
	supportedCacheModes    = []virtv1.DriverCache{virtv1.CacheNone, virtv1.CacheWriteThrough, virtv1.CacheWriteBack}
	supportedIOModes       = []virtv1.DriverIO{virtv1.IONative, virtv1.IOThreads}
	supportedErrorPolicies = []virtv1.DiskErrorPolicy{
		virtv1.DiskErrorPolicyStop, virtv1.DiskErrorPolicyIgnore, virtv1.DiskErrorPolicyReport, virtv1.DiskErrorPolicyEnospace,
	}
	diskTargetNames = []string{"disk", "lun", "cdrom"}
)

// validateDisks validates spec.domain.devices.disks against the volumes they
// present, and the boot orders, which disks and interfaces share.
func validateDisks(spec *virtv1.VirtualMachineInstanceSpec, fldPath lazyPath) field.ErrorList {
	volumes := map[string]*virtv1.Volume{}
	for i := range spec.Volumes {
		volumes[spec.Volumes[i].Name] = &spec.Volumes[i]
	}

	var allErrs field.ErrorList
	disksPath := fldPath.child("domain", "devices", "disks")
	names := sets.New[string]()
	bootOrders := sets.New[uint]()
	for i := range spec.Domain.Devices.Disks {
		disk := &spec.Domain.Devices.Disks[i]
		idxPath := disksPath.index(i)
		nameErrs := validateUniqueLabelName(disk.Name, names, idxPath.child("name"))
		allErrs = append(allErrs, nameErrs...)

		// A CD-ROM may be declared without a volume: its tray is then empty
		// until a volume is hotplugged into it.
		vol := volumes[disk.Name]
		if len(nameErrs) == 0 && vol == nil && disk.CDRom == nil {
			allErrs = append(allErrs, field.Invalid(idxPath().Child("name"), disk.Name, "must match the name of a volume"))
		}
		allErrs = append(allErrs, validateDisk(disk, idxPath)...)
		if vol != nil {
			allErrs = append(allErrs, validateDiskForVolume(disk, vol, idxPath)...)
		}
		allErrs = append(allErrs, validateBootOrder(disk.BootOrder, bootOrders, idxPath.child("bootOrder"))...)
	}
	ifacesPath := fldPath.child("domain", "devices", "interfaces")
	for i, iface := range spec.Domain.Devices.Interfaces {
		allErrs = append(allErrs, validateBootOrder(iface.BootOrder, bootOrders, ifacesPath.index(i).child("bootOrder"))...)
	}
	return allErrs
}

// validateBootOrder checks that a boot order is positive and not yet taken
// by another disk or interface, and records it.
// Boot orders are shared by disks and interfaces: one sequence for the
// firmware to try.
func validateBootOrder(order *uint, seen sets.Set[uint], fldPath lazyPath) field.ErrorList {
	switch {
	case order == nil:
		return nil
	case *order < 1:
		return field.ErrorList{field.Invalid(fldPath(), *order, "must be 1 or greater")}
	case seen.Has(*order):
		return field.ErrorList{field.Duplicate(fldPath(), *order)}
	}
	seen.Insert(*order)
	return nil
}

// diskBus returns the bus of the disk's first target, empty without one.
func diskBus(disk *virtv1.Disk) virtv1.DiskBus {
	switch {
	case disk.Disk != nil:
		return disk.Disk.Bus
	case disk.LUN != nil:
		return disk.LUN.Bus
	case disk.CDRom != nil:
		return disk.CDRom.Bus
	}
	return ""
}

// busOf, busOfLUN and busOfCDRom read the bus of a target that may be nil.
func busOf(t *virtv1.DiskTarget) virtv1.DiskBus {
	if t == nil {
		return ""
	}
	return t.Bus
}

func busOfLUN(t *virtv1.LunTarget) virtv1.DiskBus {
	if t == nil {
		return ""
	}
	return t.Bus
}

func busOfCDRom(t *virtv1.CDRomTarget) virtv1.DiskBus {
	if t == nil {
		return ""
	}
	return t.Bus
}

// validateDisk checks a disk's own fields: at most one target, buses the
// targets support, the PCI address, serial, driver settings and block size.
func validateDisk(disk *virtv1.Disk, fldPath lazyPath) field.ErrorList {
	var allErrs field.ErrorList
	// No target at all is fine: KubeVirt makes it a plain disk.
	targets := setNames(diskTargetNames, disk.Disk != nil, disk.LUN != nil, disk.CDRom != nil)
	if len(targets) > 1 {
		allErrs = append(allErrs, field.Forbidden(fldPath().Child(targets[1]), "may not be set together with "+targets[0]))
	}

	for _, t := range []struct {
		set  bool
		bus  virtv1.DiskBus
		name string
	}{{disk.Disk != nil, busOf(disk.Disk), "disk"}, {disk.LUN != nil, busOfLUN(disk.LUN), "lun"}, {disk.CDRom != nil, busOfCDRom(disk.CDRom), "cdrom"}} {
		if t.set && t.bus != "" {
			allErrs = append(allErrs, validateOneOf(t.bus, supportedDiskBuses, fldPath.child(t.name, "bus"))...)
		}
	}
	// q35 machines have no virtio CD-ROM.
	if disk.CDRom != nil && disk.CDRom.Bus == virtv1.DiskBusVirtio {
		allErrs = append(allErrs, field.Invalid(fldPath().Child("cdrom", "bus"), disk.CDRom.Bus, "a CD-ROM cannot use the virtio bus"))
	}
	if disk.Disk != nil && disk.Disk.Bus == virtv1.DiskBusSATA && disk.Disk.ReadOnly {
		allErrs = append(allErrs, field.Invalid(fldPath().Child("disk", "readonly"), true, "a SATA hard disk cannot be read-only"))
	}
	// Without a bus yet, the disk gets virtio, which has I/O threads.
	if bus := diskBus(disk); bus != "" && isTrue(disk.DedicatedIOThread) && bus != virtv1.DiskBusVirtio {
		allErrs = append(allErrs, field.Invalid(fldPath().Child("dedicatedIOThread"), true, "requires the virtio bus"))
	}
	// Only a virtio disk is a PCI device of its own.
	if d := disk.Disk; d != nil && d.PciAddress != "" {
		pciPath := fldPath.child("disk", "pciAddress")
		if d.Bus != virtv1.DiskBusVirtio {
			allErrs = append(allErrs, field.Invalid(pciPath(), d.PciAddress, "a PCI address requires the virtio bus"))
		}
		allErrs = append(allErrs, validatePCIAddress(d.PciAddress, pciPath)...)
	}

	// The serial is written into the domain XML and seen by the guest.
	if disk.Serial != "" {
		serialPath := fldPath.child("serial")
		if len([]rune(disk.Serial)) > maxDiskSerialLength {
			allErrs = append(allErrs, field.TooLong(serialPath(), "", maxDiskSerialLength))
		}
		if !diskSerialPattern.MatchString(disk.Serial) {
			allErrs = append(allErrs, field.Invalid(serialPath(), disk.Serial, "may only contain letters, digits and _.+-"))
		}
	}
	if disk.Cache != "" {
		allErrs = append(allErrs, validateOneOf(disk.Cache, supportedCacheModes, fldPath.child("cache"))...)
	}
	if disk.IO != "" {
		allErrs = append(allErrs, validateOneOf(disk.IO, supportedIOModes, fldPath.child("io"))...)
	}
	if disk.ErrorPolicy != nil {
		allErrs = append(allErrs, validateOneOf(*disk.ErrorPolicy, supportedErrorPolicies, fldPath.child("errorPolicy"))...)
	}
	if bs := disk.BlockSize; bs != nil && bs.Custom != nil {
		allErrs = append(allErrs, validateCustomBlockSize(disk, fldPath.child("blockSize"))...)
	}
	return allErrs
}

// validateCustomBlockSize reports the first problem of a custom block size,
// as KubeVirt does.
func validateCustomBlockSize(disk *virtv1.Disk, fldPath lazyPath) field.ErrorList {
	custom := disk.BlockSize.Custom
	customPath := fldPath.child("custom")
	if mv := disk.BlockSize.MatchVolume; mv != nil && enabledUnlessFalse(mv.Enabled) {
		return field.ErrorList{field.Forbidden(fldPath().Child("matchVolume"), "may not be enabled together with a custom size")}
	}
	switch {
	case custom.Logical > custom.Physical:
		return field.ErrorList{field.Invalid(customPath().Child("logical"), custom.Logical, "must not be greater than the physical size")}
	case diskBus(disk) == virtv1.DiskBusSATA && custom.Logical != minCustomBlockSize:
		// The emulated SATA controller only knows 512-byte sectors.
		return field.ErrorList{field.Invalid(customPath().Child("logical"), custom.Logical, "must be 512 on the sata bus")}
	case custom.DiscardGranularity != nil && custom.Logical != 0 && *custom.DiscardGranularity%custom.Logical != 0:
		return field.ErrorList{field.Invalid(customPath().Child("discardGranularity"), *custom.DiscardGranularity,
			"must be a multiple of the logical size")}
	}
	var allErrs field.ErrorList
	for _, size := range []struct {
		value uint
		name  string
	}{{custom.Logical, "logical"}, {custom.Physical, "physical"}} {
		if size.value < minCustomBlockSize || size.value > maxCustomBlockSize || size.value&(size.value-1) != 0 {
			allErrs = append(allErrs, field.Invalid(customPath().Child(size.name), size.value,
				"must be a power of two between 512 and 2097152"))
		}
	}
	return allErrs
}

// validateDiskForVolume checks what a disk target requires of its volume.
func validateDiskForVolume(disk *virtv1.Disk, vol *virtv1.Volume, fldPath lazyPath) field.ErrorList {
	var allErrs field.ErrorList
	// A LUN passes a block device through, so it needs a claim behind it.
	if disk.LUN != nil && vol.PersistentVolumeClaim == nil && vol.DataVolume == nil {
		allErrs = append(allErrs, field.Invalid(fldPath().Child("lun"), vol.Name,
			"a LUN requires a persistentVolumeClaim or dataVolume volume"))
	}
	if vol.DownwardMetrics != nil {
		switch {
		case disk.Disk == nil:
			allErrs = append(allErrs, field.Required(fldPath().Child("disk"), "a downwardMetrics volume must be presented as a disk"))
		case disk.Disk.Bus != "" && disk.Disk.Bus != virtv1.DiskBusVirtio:
			allErrs = append(allErrs, field.Invalid(fldPath().Child("disk", "bus"), disk.Disk.Bus,
				"a downwardMetrics volume requires the virtio bus"))
		}
	}
	return allErrs
}
