package fuzzer

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/types"
	virtv1 "kubevirt.io/api/core/v1"
)

const (
	mi = int64(1) << 20
	gi = int64(1) << 30
)

// domain builds spec.domain around a few decisions that its rules tie
// together: dedicated CPUs, huge pages, NUMA, memory hotplug and launch
// security.
func (g *generator) domain(in *instance) {
	d := &in.spec.Domain
	arch := in.spec.Architecture
	// One memory size serves requests, limits and guest, so that they agree;
	// all are multiples of 2Mi huge pages, the larger ones of 1Gi pages too.
	memory := pick(g, 128*mi, 256*mi, 512*mi, gi, 2*gi, 4*gi)
	dedicated := g.chance(.3)
	hugePages := ""
	if g.chance(.3) {
		hugePages = "2Mi"
		if memory%gi == 0 && g.chance(.5) {
			hugePages = "1Gi"
		}
	}
	numa := dedicated && hugePages != "" && g.chance(.6)
	realtime := numa && g.chance(.6)
	// Launch security is only checked in depth on amd64; on s390x it is an
	// empty marker.
	switch {
	case (arch == "amd64" || arch == "") && g.chance(.25):
		in.launchSecurityOnAMD64 = true
	case arch == "s390x" && g.chance(.3):
		d.LaunchSecurity = &virtv1.LaunchSecurity{}
	default:
		d.LaunchSecurity = nil
	}
	// Memory hotplug is ruled out by pinned or encrypted memory.
	hotplug := !numa && !realtime && !in.launchSecurityOnAMD64 && d.LaunchSecurity == nil &&
		(arch == "" || arch == "amd64") && memory >= gi && g.chance(.4)

	g.resources(&d.Resources, memory, dedicated)
	g.cpu(in, dedicated, numa, realtime)
	g.memory(d, memory, hugePages, hotplug)
	g.firmware(in)
	g.devices(in)
	// The supplemental pool is the one policy that needs a size.
	if p := pick(g, "", virtv1.IOThreadsPolicyShared, virtv1.IOThreadsPolicyAuto, virtv1.IOThreadsPolicySupplementalPool); p != "" {
		d.IOThreadsPolicy = &p
		if p == virtv1.IOThreadsPolicySupplementalPool {
			d.IOThreads = &virtv1.DiskIOThreads{SupplementalPoolThreadCount: ptrTo(uint32(g.between(1, 8)))}
		}
	} else {
		d.IOThreadsPolicy = nil
	}
	if d.IOThreads != nil && d.IOThreads.SupplementalPoolThreadCount == nil && g.chance(.5) {
		d.IOThreads = nil
	}
	if d.Machine != nil {
		d.Machine.Type = pick(g, "", "q35", "pc-q35-rhel9.6.0")
	}
	d.RebootPolicy = optional(g, pick(g, virtv1.RebootPolicyReboot, virtv1.RebootPolicyTerminate))
}

// resources sets memory and CPU requests and limits, equal and in whole CPUs
// for dedicated placement, requests within limits otherwise.
func (g *generator) resources(res *virtv1.ResourceRequirements, memory int64, dedicated bool) {
	res.Requests, res.Limits = corev1.ResourceList{}, corev1.ResourceList{}
	memQ := *resource.NewQuantity(memory, resource.BinarySI)
	if dedicated {
		// The CPU count is set by cpu() once the topology is known.
		res.Requests[corev1.ResourceMemory] = memQ
		if g.chance(.5) {
			res.Limits[corev1.ResourceMemory] = memQ
		}
	} else {
		if g.chance(.8) {
			res.Requests[corev1.ResourceMemory] = memQ
		}
		if g.chance(.4) {
			res.Limits[corev1.ResourceMemory] = memQ
		}
		// Fractional CPUs are fine without pinning; the limit stays above the request.
		milli := int64(g.between(1, 40)) * 100
		if g.chance(.6) {
			res.Requests[corev1.ResourceCPU] = *resource.NewMilliQuantity(milli, resource.DecimalSI)
		}
		if g.chance(.4) {
			res.Limits[corev1.ResourceCPU] = *resource.NewMilliQuantity(milli+int64(g.intn(4))*500, resource.DecimalSI)
		}
	}
	// An extended resource, whose request must equal its limit in a pod.
	if g.chance(.2) {
		one := *resource.NewQuantity(1, resource.DecimalSI)
		res.Requests["devices.example.com/fpga"], res.Limits["devices.example.com/fpga"] = one, one
	}
	if len(res.Requests) == 0 {
		res.Requests = nil
	}
	if len(res.Limits) == 0 {
		res.Limits = nil
	}
}

func (g *generator) cpu(in *instance, dedicated, numa, realtime bool) {
	d := &in.spec.Domain
	if d.CPU == nil && !dedicated && g.chance(.5) {
		return
	}
	cpu := orNew(d.CPU)
	d.CPU = cpu
	cpu.Model = pick(g, "", virtv1.CPUModeHostModel, virtv1.CPUModeHostPassthrough, "Haswell-noTSX")
	for i := range cpu.Features {
		cpu.Features[i].Name = pick(g, "vmx", "svm", "pcid", "ssbd")
		cpu.Features[i].Policy = pick(g, "", "force", "require", "optional", "disable", "forbid")
	}
	// At least one socket, so that the vCPU count is never zero.
	cpu.Sockets, cpu.Cores, cpu.Threads = uint32(g.between(1, 4)), uint32(g.intn(3)), uint32(g.intn(3))
	cpu.MaxSockets = 0
	if g.chance(.5) {
		cpu.MaxSockets = cpu.Sockets + uint32(g.intn(4))
	}
	cpu.DedicatedCPUPlacement = dedicated
	cpu.IsolateEmulatorThread = dedicated && g.chance(.5)
	cpu.NUMA, cpu.Realtime = nil, nil
	if numa {
		cpu.NUMA = &virtv1.NUMA{GuestMappingPassthrough: &virtv1.NUMAGuestMappingPassthrough{}}
	}
	if realtime {
		cpu.Realtime = &virtv1.Realtime{Mask: pick(g, "", "0-3,^1")}
	}
	if !dedicated {
		return
	}
	// Dedicated CPUs come in whole numbers, with at most two threads per core
	// (one on arm64), and the request and limit equal to the vCPU count.
	cpu.Threads = uint32(g.between(1, 2))
	if in.spec.Architecture == "arm64" {
		cpu.Threads = 1
	}
	vcpus := int64(cpu.Sockets) * int64(max(cpu.Cores, 1)) * int64(cpu.Threads)
	q := *resource.NewQuantity(vcpus, resource.DecimalSI)
	res := &d.Resources
	switch g.intn(3) {
	case 0:
		res.Requests[corev1.ResourceCPU] = q
	case 1:
		res.Limits = orMap(res.Limits)
		res.Limits[corev1.ResourceCPU] = q
	default:
		res.Requests[corev1.ResourceCPU] = q
		res.Limits = orMap(res.Limits)
		res.Limits[corev1.ResourceCPU] = q
	}
}

func orMap(m corev1.ResourceList) corev1.ResourceList {
	if m == nil {
		return corev1.ResourceList{}
	}
	return m
}

// memory sets spec.domain.memory: the guest size within the limit, huge
// pages that divide it, and for hotplug a larger aligned maximum.
func (g *generator) memory(d *virtv1.DomainSpec, memory int64, hugePages string, hotplug bool) {
	if d.Memory == nil && hugePages == "" && !hotplug && g.chance(.5) {
		return
	}
	mem := orNew(d.Memory)
	d.Memory = mem
	// Hotplug needs an explicit guest size to grow from.
	mem.Guest = nil
	if hotplug || g.chance(.6) {
		mem.Guest = resource.NewQuantity(memory, resource.BinarySI)
	}
	mem.Hugepages = nil
	if hugePages != "" {
		mem.Hugepages = &virtv1.Hugepages{PageSize: hugePages}
	}
	mem.MaxGuest = nil
	if hotplug {
		mem.MaxGuest = resource.NewQuantity(memory*int64(g.between(1, 4)), resource.BinarySI)
	}
	if mem.ReservedOverhead != nil {
		mem.ReservedOverhead.AddedOverhead = optional(g, *resource.NewQuantity(int64(g.between(0, 512))*mi, resource.BinarySI))
		if mem.ReservedOverhead.MemLock != nil {
			*mem.ReservedOverhead.MemLock = pick[virtv1.MemLockRequirement](g, virtv1.MemLockRequired, virtv1.MemLockNotRequired)
		}
	}
}

// firmware picks BIOS or EFI, an external kernel and ACPI tables, and the
// SMM feature that secure boot needs; with launch security on amd64 it
// applies the confidential computing rules.
func (g *generator) firmware(in *instance) {
	d := &in.spec.Domain
	fw := orNew(d.Firmware)
	d.Firmware = fw
	// A random version 4 UUID, as the firmware expects one.
	fw.UUID = types.UID(fmt.Sprintf("%08x-0000-4000-8000-%012x", g.r.Uint32(), g.r.Int63n(1<<48)))
	fw.Bootloader = nil
	switch g.intn(3) {
	case 0:
		fw.Bootloader = &virtv1.Bootloader{BIOS: &virtv1.BIOS{UseSerial: optional(g, g.chance(.5))}}
	case 1:
		fw.Bootloader = &virtv1.Bootloader{EFI: &virtv1.EFI{SecureBoot: optional(g, g.chance(.5)), Persistent: optional(g, g.chance(.5))}}
	}
	fw.KernelBoot = nil
	if g.chance(.3) {
		kb := &virtv1.KernelBoot{}
		if g.chance(.8) {
			kb.KernelArgs = pick(g, "", "console=ttyS0")
			kb.Container = &virtv1.KernelBootContainer{
				Image: "quay.io/kubevirt/alpine-ext-kernel-boot-demo", ImagePullSecret: pick(g, "", g.label()),
				ImagePullPolicy: pick(g, "", corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever),
				KernelPath:      pick(g, "", "/boot/vmlinuz"), InitrdPath: "/boot/initramfs",
			}
			if g.chance(.3) {
				kb.Container.KernelPath, kb.Container.InitrdPath = "/boot/vmlinuz", ""
			}
		}
		fw.KernelBoot = kb
	}
	fw.ACPI = nil
	if g.chance(.25) {
		g.acpi(in, fw)
	}

	features := orNew(d.Features)
	d.Features = features
	if in.launchSecurityOnAMD64 {
		g.launchSecurity(in)
	}
	tdx := d.LaunchSecurity != nil && d.LaunchSecurity.TDX != nil
	efi := fw.Bootloader != nil && fw.Bootloader.EFI != nil
	secureBoot := efi && (fw.Bootloader.EFI.SecureBoot == nil || *fw.Bootloader.EFI.SecureBoot)
	// TDX firmware refuses SMM; secure boot requires it everywhere else.
	switch {
	case tdx:
		features.SMM = pick(g, nil, &virtv1.FeatureState{Enabled: ptrTo(false)})
	case secureBoot:
		features.SMM = &virtv1.FeatureState{Enabled: pick(g, nil, ptrTo(true))}
	}
}

// acpi points the SLIC and MSDM tables at Secret volumes, adding one when
// the instance has none.
func (g *generator) acpi(in *instance, fw *virtv1.Firmware) {
	if len(in.secretVolumes) == 0 {
		vol := virtv1.Volume{Name: g.name("acpi"), VolumeSource: virtv1.VolumeSource{Secret: &virtv1.SecretVolumeSource{SecretName: g.label()}}}
		in.spec.Volumes = append(in.spec.Volumes, vol)
		in.secretVolumes = append(in.secretVolumes, vol.Name)
	}
	acpi := &virtv1.ACPI{}
	switch g.intn(3) {
	case 0:
		acpi.SlicNameRef = pick(g, in.secretVolumes...)
	case 1:
		acpi.MsdmNameRef = pick(g, in.secretVolumes...)
	default:
		acpi.SlicNameRef, acpi.MsdmNameRef = pick(g, in.secretVolumes...), pick(g, in.secretVolumes...)
	}
	fw.ACPI = acpi
}

// launchSecurity enables one of SEV, SNP and TDX on amd64, with EFI firmware
// that suits it; SEV attestation needs a paused start.
func (g *generator) launchSecurity(in *instance) {
	d := &in.spec.Domain
	ls := &virtv1.LaunchSecurity{}
	// SEV and SNP cannot boot with secure boot; SNP and TDX cannot keep EFI
	// variables.
	efi := &virtv1.EFI{Persistent: optional(g, false)}
	switch g.intn(3) {
	case 0:
		sev := fillNew[virtv1.SEV](g)
		if sev.Attestation != nil {
			in.startPaused = true
		}
		ls.SEV = sev
		efi.SecureBoot = ptrTo(false)
		efi.Persistent = optional(g, g.chance(.5))
	case 1:
		ls.SNP = &virtv1.SEVSNP{}
		efi.SecureBoot = ptrTo(false)
	default:
		ls.TDX = &virtv1.TDX{}
		efi.SecureBoot = optional(g, g.chance(.5))
	}
	d.LaunchSecurity = ls
	d.Firmware.Bootloader = &virtv1.Bootloader{EFI: efi}
}
