package validation

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
	virtv1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
)

const (
	disk0 = devices + "disks[0]"
	disk2 = devices + "disks[2]"
)

// usePVC turns the scratch volume into a claim, which a LUN may present.
func usePVC(vm *kubevirt.VirtualMachine) {
	src := virtv1.VolumeSource{PersistentVolumeClaim: &virtv1.PersistentVolumeClaimVolumeSource{}}
	src.PersistentVolumeClaim.ClaimName = "data"
	tmpl(vm).Volumes[2].VolumeSource = src
}

// TestValidateDisks covers disk names, targets, buses, driver settings, boot
// orders and what targets require of their volumes.
func TestValidateDisks(t *testing.T) {
	runCreateCases(t, []vmCase{
		{
			name:   "disk name not a DNS label",
			mutate: func(vm *kubevirt.VirtualMachine) { devs(vm).Disks[0].Name = "Root.Disk" },
			want:   []wantErr{{field.ErrorTypeInvalid, disk0 + ".name"}},
		},
		{
			name:   "disk name empty",
			mutate: func(vm *kubevirt.VirtualMachine) { devs(vm).Disks[0].Name = "" },
			want:   []wantErr{{field.ErrorTypeRequired, disk0 + ".name"}},
		},
		{
			name:   "duplicate disk name",
			mutate: func(vm *kubevirt.VirtualMachine) { devs(vm).Disks[1].Name = "containerdisk" },
			want:   []wantErr{{field.ErrorTypeDuplicate, devices + "disks[1].name"}},
		},
		{
			name:   "disk names no volume",
			mutate: func(vm *kubevirt.VirtualMachine) { devs(vm).Disks[2].Name = "missing" },
			want:   []wantErr{{field.ErrorTypeInvalid, disk2 + ".name"}},
		},
		{
			name: "empty CD-ROM without a volume",
			mutate: func(vm *kubevirt.VirtualMachine) {
				devs(vm).Disks = append(devs(vm).Disks, virtv1.Disk{Name: "cd", DiskDevice: virtv1.DiskDevice{CDRom: &virtv1.CDRomTarget{}}})
			},
		},
		{
			name:   "volume without disk",
			mutate: func(vm *kubevirt.VirtualMachine) { devs(vm).Disks = devs(vm).Disks[:2] },
		},
		{
			name: "disk with two targets",
			mutate: func(vm *kubevirt.VirtualMachine) {
				devs(vm).Disks[0].CDRom = &virtv1.CDRomTarget{Bus: virtv1.DiskBusSATA}
			},
			want: []wantErr{{field.ErrorTypeForbidden, disk0 + ".cdrom"}},
		},
		{
			name:   "unknown bus",
			mutate: func(vm *kubevirt.VirtualMachine) { devs(vm).Disks[0].Disk.Bus = "ide" },
			want:   []wantErr{{field.ErrorTypeNotSupported, disk0 + ".disk.bus"}},
		},
		{
			name: "virtio CD-ROM",
			mutate: func(vm *kubevirt.VirtualMachine) {
				devs(vm).Disks[2].CDRom = &virtv1.CDRomTarget{Bus: virtv1.DiskBusVirtio}
			},
			want: []wantErr{{field.ErrorTypeInvalid, disk2 + ".cdrom.bus"}},
		},
		{
			name: "read-only SATA hard disk",
			mutate: func(vm *kubevirt.VirtualMachine) {
				devs(vm).Disks[0].Disk = &virtv1.DiskTarget{Bus: virtv1.DiskBusSATA, ReadOnly: true}
			},
			want: []wantErr{{field.ErrorTypeInvalid, disk0 + ".disk.readonly"}},
		},
		{
			name: "dedicated I/O thread off virtio",
			mutate: func(vm *kubevirt.VirtualMachine) {
				devs(vm).Disks[0].Disk.Bus = virtv1.DiskBusSCSI
				devs(vm).Disks[0].DedicatedIOThread = ptr.To(true)
			},
			want: []wantErr{{field.ErrorTypeInvalid, disk0 + ".dedicatedIOThread"}},
		},
		{
			name:   "dedicated I/O thread without bus",
			mutate: func(vm *kubevirt.VirtualMachine) { devs(vm).Disks[2].DedicatedIOThread = ptr.To(true) },
		},
		{
			name: "PCI address off virtio and malformed",
			mutate: func(vm *kubevirt.VirtualMachine) {
				devs(vm).Disks[0].Disk = &virtv1.DiskTarget{Bus: virtv1.DiskBusSCSI, PciAddress: "81:01.0"}
			},
			want: []wantErr{
				{field.ErrorTypeInvalid, disk0 + ".disk.pciAddress"},
				{field.ErrorTypeInvalid, disk0 + ".disk.pciAddress"},
			},
		},
		{
			name:   "PCI address on virtio",
			mutate: func(vm *kubevirt.VirtualMachine) { devs(vm).Disks[0].Disk.PciAddress = "0000:81:01.0" },
		},
		{
			name:   "serial with a space",
			mutate: func(vm *kubevirt.VirtualMachine) { devs(vm).Disks[0].Serial = "disk 1" },
			want:   []wantErr{{field.ErrorTypeInvalid, disk0 + ".serial"}},
		},
		{
			name:   "serial too long",
			mutate: func(vm *kubevirt.VirtualMachine) { devs(vm).Disks[0].Serial = strings.Repeat("a", 257) },
			want:   []wantErr{{field.ErrorTypeTooLong, disk0 + ".serial"}},
		},
		{
			name: "unknown cache, io and error policy",
			mutate: func(vm *kubevirt.VirtualMachine) {
				d := &devs(vm).Disks[0]
				d.Cache, d.IO, d.ErrorPolicy = "unsafe", "io_uring", ptr.To(virtv1.DiskErrorPolicy("retry"))
			},
			want: []wantErr{
				{field.ErrorTypeNotSupported, disk0 + ".cache"},
				{field.ErrorTypeNotSupported, disk0 + ".io"},
				{field.ErrorTypeNotSupported, disk0 + ".errorPolicy"},
			},
		},
		{
			name:   "boot order zero",
			mutate: func(vm *kubevirt.VirtualMachine) { devs(vm).Disks[0].BootOrder = ptr.To[uint](0) },
			want:   []wantErr{{field.ErrorTypeInvalid, disk0 + ".bootOrder"}},
		},
		{
			name:   "duplicate boot order",
			mutate: func(vm *kubevirt.VirtualMachine) { devs(vm).Disks[1].BootOrder = ptr.To[uint](1) },
			want:   []wantErr{{field.ErrorTypeDuplicate, devices + "disks[1].bootOrder"}},
		},
		{
			name: "LUN on a container disk",
			mutate: func(vm *kubevirt.VirtualMachine) {
				devs(vm).Disks[0].DiskDevice = virtv1.DiskDevice{LUN: &virtv1.LunTarget{Bus: virtv1.DiskBusSCSI}}
			},
			want: []wantErr{{field.ErrorTypeInvalid, disk0 + ".lun"}},
		},
		{
			name: "LUN on a claim",
			mutate: func(vm *kubevirt.VirtualMachine) {
				usePVC(vm)
				devs(vm).Disks[2].DiskDevice = virtv1.DiskDevice{LUN: &virtv1.LunTarget{Bus: virtv1.DiskBusSCSI, Reservation: true}}
			},
		},
		{
			name: "downwardMetrics volume as a CD-ROM and on sata",
			mutate: func(vm *kubevirt.VirtualMachine) {
				tmpl(vm).Volumes[2].VolumeSource = virtv1.VolumeSource{DownwardMetrics: &virtv1.DownwardMetricsVolumeSource{}}
				devs(vm).Disks[2].CDRom = &virtv1.CDRomTarget{}
				tmpl(vm).Volumes[1].VolumeSource = virtv1.VolumeSource{DownwardMetrics: &virtv1.DownwardMetricsVolumeSource{}}
				devs(vm).Disks[1].Disk.Bus = virtv1.DiskBusSATA
			},
			want: []wantErr{
				{field.ErrorTypeRequired, disk2 + ".disk"},
				{field.ErrorTypeInvalid, devices + "disks[1].disk.bus"},
				{field.ErrorTypeForbidden, tmplSpec + "volumes[2].downwardMetrics"},
			},
		},
	})
}

// TestValidateBlockSize covers the custom block size of the first disk.
func TestValidateBlockSize(t *testing.T) {
	custom := func(logical, physical uint, discard *uint) func(vm *kubevirt.VirtualMachine) {
		return func(vm *kubevirt.VirtualMachine) {
			devs(vm).Disks[0].BlockSize = &virtv1.BlockSize{Custom: &virtv1.CustomBlockSize{
				Logical: logical, Physical: physical, DiscardGranularity: discard,
			}}
		}
	}
	sizePath := disk0 + ".blockSize"
	runCreateCases(t, []vmCase{
		{name: "custom block size", mutate: custom(512, 4096, ptr.To[uint](4096))},
		{
			name: "matching the volume",
			mutate: func(vm *kubevirt.VirtualMachine) {
				devs(vm).Disks[0].BlockSize = &virtv1.BlockSize{MatchVolume: &virtv1.FeatureState{}}
			},
		},
		{
			name: "custom size and volume matching",
			mutate: func(vm *kubevirt.VirtualMachine) {
				custom(512, 512, nil)(vm)
				devs(vm).Disks[0].BlockSize.MatchVolume = &virtv1.FeatureState{Enabled: ptr.To(true)}
			},
			want: []wantErr{{field.ErrorTypeForbidden, sizePath + ".matchVolume"}},
		},
		{
			name: "custom size with volume matching off",
			mutate: func(vm *kubevirt.VirtualMachine) {
				custom(512, 512, nil)(vm)
				devs(vm).Disks[0].BlockSize.MatchVolume = &virtv1.FeatureState{Enabled: ptr.To(false)}
			},
		},
		{
			name:   "logical above physical",
			mutate: custom(4096, 512, nil),
			want:   []wantErr{{field.ErrorTypeInvalid, sizePath + ".custom.logical"}},
		},
		{
			name:   "discard granularity not a multiple",
			mutate: custom(4096, 4096, ptr.To[uint](6000)),
			want:   []wantErr{{field.ErrorTypeInvalid, sizePath + ".custom.discardGranularity"}},
		},
		{
			name:   "sizes not powers of two or out of range",
			mutate: custom(1000, 4194304, nil),
			want: []wantErr{
				{field.ErrorTypeInvalid, sizePath + ".custom.logical"},
				{field.ErrorTypeInvalid, sizePath + ".custom.physical"},
			},
		},
		{
			name: "4k sectors on sata",
			mutate: func(vm *kubevirt.VirtualMachine) {
				custom(4096, 4096, nil)(vm)
				devs(vm).Disks[0].Disk.Bus = virtv1.DiskBusSATA
			},
			want: []wantErr{{field.ErrorTypeInvalid, sizePath + ".custom.logical"}},
		},
	})
}
