package validation

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
	virtv1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
)

const (
	requests = domain + "resources.requests"
	limits   = domain + "resources.limits"
)

// dom returns the domain of the VM's template.
func dom(vm *kubevirt.VirtualMachine) *virtv1.DomainSpec { return &vm.Spec.Template.Spec.Domain }

// TestValidateResourcesAndMemory covers requests, limits, guest memory, huge
// pages, memory hotplug and I/O threads.
func TestValidateResourcesAndMemory(t *testing.T) {
	runCreateCases(t, []vmCase{
		{
			name:   "negative request",
			mutate: func(vm *kubevirt.VirtualMachine) { dom(vm).Resources.Requests[corev1.ResourceMemory] = q("-1") },
			want:   []wantErr{{field.ErrorTypeInvalid, requests + "[memory]"}},
		},
		{
			name: "negative limit",
			mutate: func(vm *kubevirt.VirtualMachine) {
				dom(vm).Resources.Limits = corev1.ResourceList{corev1.ResourceCPU: q("-1")}
			},
			want: []wantErr{{field.ErrorTypeInvalid, limits + "[cpu]"}},
		},
		{
			name: "requests above limits, for any resource",
			mutate: func(vm *kubevirt.VirtualMachine) {
				dom(vm).Resources.Requests[corev1.ResourceCPU] = q("2")
				dom(vm).Resources.Requests[corev1.ResourceEphemeralStorage] = q("2Gi")
				dom(vm).Resources.Limits = corev1.ResourceList{
					corev1.ResourceMemory: q("64Mi"), corev1.ResourceCPU: q("1"), corev1.ResourceEphemeralStorage: q("1Gi"),
				}
			},
			want: []wantErr{
				{field.ErrorTypeInvalid, requests + "[memory]"},
				{field.ErrorTypeInvalid, requests + "[cpu]"},
				{field.ErrorTypeInvalid, requests + "[ephemeral-storage]"},
			},
		},
		{
			name: "a zero limit is no limit",
			mutate: func(vm *kubevirt.VirtualMachine) {
				dom(vm).Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: q("0")}
			},
		},
		{
			name:   "memory request below 1M",
			mutate: func(vm *kubevirt.VirtualMachine) { dom(vm).Resources.Requests[corev1.ResourceMemory] = q("512Ki") },
			want:   []wantErr{{field.ErrorTypeInvalid, requests + "[memory]"}},
		},
		{
			name:   "zero guest memory",
			mutate: func(vm *kubevirt.VirtualMachine) { dom(vm).Memory = &virtv1.Memory{Guest: qp("0")} },
			want:   []wantErr{{field.ErrorTypeInvalid, domain + "memory.guest"}},
		},
		{
			name: "guest memory above the limit",
			mutate: func(vm *kubevirt.VirtualMachine) {
				dom(vm).Memory = &virtv1.Memory{Guest: qp("256Mi")}
				dom(vm).Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: q("128Mi")}
			},
			want: []wantErr{{field.ErrorTypeInvalid, domain + "memory.guest"}},
		},
		{
			name:   "guest memory without limit",
			mutate: func(vm *kubevirt.VirtualMachine) { dom(vm).Memory = &virtv1.Memory{Guest: qp("1Gi")} },
		},
		{
			name: "huge page size that is no quantity",
			mutate: func(vm *kubevirt.VirtualMachine) {
				dom(vm).Memory = &virtv1.Memory{Hugepages: &virtv1.Hugepages{PageSize: "large"}}
			},
			want: []wantErr{{field.ErrorTypeInvalid, domain + "memory.hugepages.pageSize"}},
		},
		{
			name: "huge pages larger than the memory",
			mutate: func(vm *kubevirt.VirtualMachine) {
				dom(vm).Memory = &virtv1.Memory{Hugepages: &virtv1.Hugepages{PageSize: "1Gi"}}
			},
			want: []wantErr{{field.ErrorTypeInvalid, domain + "memory.hugepages.pageSize"}},
		},
		{
			name: "memory not a multiple of the huge page size",
			mutate: func(vm *kubevirt.VirtualMachine) {
				dom(vm).Resources.Requests[corev1.ResourceMemory] = q("129Mi")
				dom(vm).Memory = &virtv1.Memory{Hugepages: &virtv1.Hugepages{PageSize: "2Mi"}}
			},
			want: []wantErr{{field.ErrorTypeInvalid, domain + "memory.hugepages.pageSize"}},
		},
		{
			name: "hotplug with a guest smaller than 1Gi",
			mutate: func(vm *kubevirt.VirtualMachine) {
				dom(vm).Memory = &virtv1.Memory{Guest: qp("512Mi"), MaxGuest: qp("2Gi")}
			},
			want: []wantErr{{field.ErrorTypeInvalid, domain + "memory.maxGuest"}},
		},
		{
			name: "hotplug maximum below the guest memory",
			mutate: func(vm *kubevirt.VirtualMachine) {
				dom(vm).Memory = &virtv1.Memory{Guest: qp("2Gi"), MaxGuest: qp("1Gi")}
			},
			want: []wantErr{{field.ErrorTypeInvalid, domain + "memory.maxGuest"}},
		},
		{
			name: "hotplug with unaligned memory",
			mutate: func(vm *kubevirt.VirtualMachine) {
				dom(vm).Memory = &virtv1.Memory{Guest: qp("2Gi"), MaxGuest: qp("4097Mi")}
			},
			want: []wantErr{{field.ErrorTypeInvalid, domain + "memory.maxGuest"}},
		},
		{
			name: "hotplug on arm64",
			mutate: func(vm *kubevirt.VirtualMachine) {
				tmpl(vm).Architecture = "arm64"
				dom(vm).Memory = &virtv1.Memory{Guest: qp("2Gi"), MaxGuest: qp("4Gi")}
			},
			want: []wantErr{{field.ErrorTypeInvalid, domain + "memory.maxGuest"}},
		},
		{
			name: "supplemental I/O thread pool without a size",
			mutate: func(vm *kubevirt.VirtualMachine) {
				dom(vm).IOThreadsPolicy = ptr.To(virtv1.IOThreadsPolicySupplementalPool)
			},
			want: []wantErr{{field.ErrorTypeRequired, domain + "ioThreads.supplementalPoolThreadCount"}},
		},
		{
			name: "unknown I/O threads policy",
			mutate: func(vm *kubevirt.VirtualMachine) {
				dom(vm).IOThreadsPolicy = ptr.To(virtv1.IOThreadsPolicy("dedicated"))
			},
			want: []wantErr{{field.ErrorTypeNotSupported, domain + "ioThreadsPolicy"}},
		},
	})
}

// TestValidateCPU covers CPU features and topology and the rules of
// dedicated CPU placement, NUMA passthrough and realtime.
func TestValidateCPU(t *testing.T) {
	dedicated := func(cpu virtv1.CPU, res virtv1.ResourceRequirements) func(vm *kubevirt.VirtualMachine) {
		return func(vm *kubevirt.VirtualMachine) {
			cpu.DedicatedCPUPlacement = true
			dom(vm).CPU = &cpu
			dom(vm).Resources = res
		}
	}
	whole := func(cpuReq, cpuLim string) virtv1.ResourceRequirements {
		res := virtv1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceMemory: q("1Gi")}, Limits: corev1.ResourceList{}}
		if cpuReq != "" {
			res.Requests[corev1.ResourceCPU] = q(cpuReq)
		}
		if cpuLim != "" {
			res.Limits[corev1.ResourceCPU] = q(cpuLim)
		}
		return res
	}
	cpuPath := domain + "cpu"
	runCreateCases(t, []vmCase{
		{
			name: "unknown CPU feature policy",
			mutate: func(vm *kubevirt.VirtualMachine) {
				dom(vm).CPU = &virtv1.CPU{Features: []virtv1.CPUFeature{{Name: "vmx", Policy: "want"}}}
			},
			want: []wantErr{{field.ErrorTypeNotSupported, cpuPath + ".features[0].policy"}},
		},
		{
			name:   "more sockets than maxSockets",
			mutate: func(vm *kubevirt.VirtualMachine) { dom(vm).CPU = &virtv1.CPU{Sockets: 4, MaxSockets: 2} },
			want:   []wantErr{{field.ErrorTypeInvalid, cpuPath + ".sockets"}},
		},
		{
			name:   "isolated emulator thread without dedicated CPUs",
			mutate: func(vm *kubevirt.VirtualMachine) { dom(vm).CPU = &virtv1.CPU{IsolateEmulatorThread: true} },
			want:   []wantErr{{field.ErrorTypeInvalid, cpuPath + ".isolateEmulatorThread"}},
		},
		{
			name: "NUMA passthrough without dedicated CPUs and huge pages",
			mutate: func(vm *kubevirt.VirtualMachine) {
				dom(vm).CPU = &virtv1.CPU{NUMA: &virtv1.NUMA{GuestMappingPassthrough: &virtv1.NUMAGuestMappingPassthrough{}}}
			},
			want: []wantErr{
				{field.ErrorTypeRequired, cpuPath + ".dedicatedCpuPlacement"},
				{field.ErrorTypeRequired, domain + "memory.hugepages"},
			},
		},
		{
			name:   "realtime without dedicated CPUs and NUMA",
			mutate: func(vm *kubevirt.VirtualMachine) { dom(vm).CPU = &virtv1.CPU{Realtime: &virtv1.Realtime{}} },
			want: []wantErr{
				{field.ErrorTypeRequired, cpuPath + ".dedicatedCpuPlacement"},
				{field.ErrorTypeRequired, cpuPath + ".numa.guestMappingPassthrough"},
			},
		},
		{name: "dedicated with equal whole CPUs", mutate: dedicated(virtv1.CPU{Cores: 2}, whole("2", "2"))},
		{name: "dedicated with a CPU limit only", mutate: dedicated(virtv1.CPU{}, whole("", "4"))},
		{
			name:   "dedicated with fractional CPUs",
			mutate: dedicated(virtv1.CPU{}, whole("1500m", "1500m")),
			want: []wantErr{
				{field.ErrorTypeInvalid, requests + "[cpu]"},
				{field.ErrorTypeInvalid, limits + "[cpu]"},
			},
		},
		{
			name:   "dedicated with request and limit apart",
			mutate: dedicated(virtv1.CPU{}, whole("2", "4")),
			want:   []wantErr{{field.ErrorTypeInvalid, requests + "[cpu]"}},
		},
		{
			name:   "dedicated with a topology the CPUs do not match",
			mutate: dedicated(virtv1.CPU{Sockets: 2, Cores: 2}, whole("2", "2")),
			want:   []wantErr{{field.ErrorTypeInvalid, cpuPath + ".dedicatedCpuPlacement"}},
		},
		{
			name:   "dedicated with three threads",
			mutate: dedicated(virtv1.CPU{Threads: 3}, whole("3", "")),
			want:   []wantErr{{field.ErrorTypeInvalid, cpuPath + ".threads"}},
		},
		{
			name: "dedicated with two threads on arm64",
			mutate: func(vm *kubevirt.VirtualMachine) {
				dedicated(virtv1.CPU{Threads: 2}, whole("2", ""))(vm)
				tmpl(vm).Architecture = "arm64"
			},
			want: []wantErr{{field.ErrorTypeInvalid, cpuPath + ".threads"}},
		},
		{
			name: "dedicated with memory request and limit apart",
			mutate: func(vm *kubevirt.VirtualMachine) {
				dedicated(virtv1.CPU{}, whole("2", ""))(vm)
				dom(vm).Resources.Limits[corev1.ResourceMemory] = q("2Gi")
			},
			want: []wantErr{{field.ErrorTypeInvalid, requests + "[memory]"}},
		},
		{
			name:   "dedicated without memory",
			mutate: dedicated(virtv1.CPU{Cores: 1}, virtv1.ResourceRequirements{}),
			want:   []wantErr{{field.ErrorTypeRequired, requests + "[memory]"}},
		},
		{
			name: "dedicated without memory but with an instancetype",
			mutate: func(vm *kubevirt.VirtualMachine) {
				dedicated(virtv1.CPU{Cores: 1}, virtv1.ResourceRequirements{})(vm)
				vm.Spec.Instancetype = &virtv1.InstancetypeMatcher{Name: "cx1.large"}
			},
		},
	})
}

// TestValidateFirmware covers the bootloader, secure boot and SMM, external
// kernels and ACPI tables.
func TestValidateFirmware(t *testing.T) {
	efi := func(secureBoot *bool) func(vm *kubevirt.VirtualMachine) {
		return func(vm *kubevirt.VirtualMachine) {
			dom(vm).Firmware = &virtv1.Firmware{Bootloader: &virtv1.Bootloader{EFI: &virtv1.EFI{SecureBoot: secureBoot}}}
		}
	}
	fwPath := domain + "firmware"
	runCreateCases(t, []vmCase{
		{
			name: "BIOS and EFI",
			mutate: func(vm *kubevirt.VirtualMachine) {
				dom(vm).Firmware = &virtv1.Firmware{Bootloader: &virtv1.Bootloader{BIOS: &virtv1.BIOS{}, EFI: &virtv1.EFI{SecureBoot: ptr.To(false)}}}
			},
			want: []wantErr{{field.ErrorTypeForbidden, fwPath + ".bootloader.efi"}},
		},
		{name: "EFI without secure boot", mutate: efi(ptr.To(false))},
		{
			name:   "EFI secure boot by default needs SMM",
			mutate: efi(nil),
			want:   []wantErr{{field.ErrorTypeRequired, domain + "features.smm"}},
		},
		{
			name: "secure boot with SMM disabled",
			mutate: func(vm *kubevirt.VirtualMachine) {
				efi(ptr.To(true))(vm)
				dom(vm).Features = &virtv1.Features{SMM: &virtv1.FeatureState{Enabled: ptr.To(false)}}
			},
			want: []wantErr{{field.ErrorTypeRequired, domain + "features.smm"}},
		},
		{
			name: "secure boot with SMM",
			mutate: func(vm *kubevirt.VirtualMachine) {
				efi(nil)(vm)
				dom(vm).Features = &virtv1.Features{SMM: &virtv1.FeatureState{}}
			},
		},
		{
			name: "kernel arguments without a kernel",
			mutate: func(vm *kubevirt.VirtualMachine) {
				dom(vm).Firmware = &virtv1.Firmware{KernelBoot: &virtv1.KernelBoot{KernelArgs: "quiet"}}
			},
			want: []wantErr{{field.ErrorTypeForbidden, fwPath + ".kernelBoot.kernelArgs"}},
		},
		{
			name: "kernel container without image and paths",
			mutate: func(vm *kubevirt.VirtualMachine) {
				dom(vm).Firmware = &virtv1.Firmware{KernelBoot: &virtv1.KernelBoot{Container: &virtv1.KernelBootContainer{}}}
			},
			want: []wantErr{
				{field.ErrorTypeRequired, fwPath + ".kernelBoot.container.image"},
				{field.ErrorTypeRequired, fwPath + ".kernelBoot.container"},
			},
		},
		{
			name: "kernel path that is relative",
			mutate: func(vm *kubevirt.VirtualMachine) {
				dom(vm).Firmware = &virtv1.Firmware{KernelBoot: &virtv1.KernelBoot{Container: &virtv1.KernelBootContainer{
					Image: "kernel:latest", KernelPath: "boot/vmlinuz",
				}}}
			},
			want: []wantErr{{field.ErrorTypeInvalid, fwPath + ".kernelBoot.container.kernelPath"}},
		},
		{
			name:   "ACPI without tables",
			mutate: func(vm *kubevirt.VirtualMachine) { dom(vm).Firmware = &virtv1.Firmware{ACPI: &virtv1.ACPI{}} },
			want:   []wantErr{{field.ErrorTypeRequired, fwPath + ".acpi"}},
		},
		{
			name: "ACPI tables from a missing volume and from a non-Secret one",
			mutate: func(vm *kubevirt.VirtualMachine) {
				dom(vm).Firmware = &virtv1.Firmware{ACPI: &virtv1.ACPI{SlicNameRef: "missing", MsdmNameRef: "scratch"}}
			},
			want: []wantErr{
				{field.ErrorTypeNotFound, fwPath + ".acpi.slicNameRef"},
				{field.ErrorTypeInvalid, fwPath + ".acpi.msdmNameRef"},
			},
		},
		{
			name: "ACPI table from a Secret volume",
			mutate: func(vm *kubevirt.VirtualMachine) {
				tmpl(vm).Volumes[2].VolumeSource = virtv1.VolumeSource{Secret: &virtv1.SecretVolumeSource{SecretName: "slic"}}
				dom(vm).Firmware = &virtv1.Firmware{ACPI: &virtv1.ACPI{SlicNameRef: "scratch"}}
			},
		},
	})
}

// TestValidateLaunchSecurity covers SEV, SNP and TDX, checked in depth on
// an explicit amd64 only.
func TestValidateLaunchSecurity(t *testing.T) {
	lsPath := domain + "launchSecurity"
	withLS := func(arch string, ls virtv1.LaunchSecurity) func(vm *kubevirt.VirtualMachine) {
		return func(vm *kubevirt.VirtualMachine) {
			tmpl(vm).Architecture = arch
			dom(vm).LaunchSecurity = &ls
			dom(vm).Firmware = &virtv1.Firmware{Bootloader: &virtv1.Bootloader{EFI: &virtv1.EFI{SecureBoot: ptr.To(false)}}}
		}
	}
	runCreateCases(t, []vmCase{
		{name: "SNP on amd64", mutate: withLS("amd64", virtv1.LaunchSecurity{SNP: &virtv1.SEVSNP{}})},
		{name: "unchecked without architecture", mutate: withLS("", virtv1.LaunchSecurity{})},
		{name: "Secure Execution on s390x", mutate: withLS("s390x", virtv1.LaunchSecurity{})},
		{
			name:   "launch security on arm64",
			mutate: withLS("arm64", virtv1.LaunchSecurity{}),
			want:   []wantErr{{field.ErrorTypeInvalid, tmplSpec + "architecture"}},
		},
		{
			name:   "no type on amd64",
			mutate: withLS("amd64", virtv1.LaunchSecurity{}),
			want:   []wantErr{{field.ErrorTypeRequired, lsPath}},
		},
		{
			name:   "two types",
			mutate: withLS("amd64", virtv1.LaunchSecurity{SEV: &virtv1.SEV{}, TDX: &virtv1.TDX{}}),
			want:   []wantErr{{field.ErrorTypeForbidden, lsPath + ".tdx"}},
		},
		{
			name: "SEV with secure boot, attestation while starting, a bootable NIC",
			mutate: func(vm *kubevirt.VirtualMachine) {
				withLS("amd64", virtv1.LaunchSecurity{SEV: &virtv1.SEV{Attestation: &virtv1.SEVAttestation{}}})(vm)
				dom(vm).Firmware.Bootloader.EFI.SecureBoot = nil
				dom(vm).Features = &virtv1.Features{SMM: &virtv1.FeatureState{}}
				devs(vm).Interfaces[0].BootOrder = ptr.To[uint](5)
			},
			want: []wantErr{
				{field.ErrorTypeInvalid, domain + "firmware.bootloader.efi.secureBoot"},
				{field.ErrorTypeInvalid, lsPath + ".sev.attestation"},
				{field.ErrorTypeForbidden, devices + "interfaces[0].bootOrder"},
			},
		},
		{
			name: "SNP without EFI",
			mutate: func(vm *kubevirt.VirtualMachine) {
				withLS("amd64", virtv1.LaunchSecurity{SNP: &virtv1.SEVSNP{}})(vm)
				dom(vm).Firmware = nil
			},
			want: []wantErr{{field.ErrorTypeRequired, domain + "firmware.bootloader.efi"}},
		},
		{
			name: "TDX with SMM and persistent EFI",
			mutate: func(vm *kubevirt.VirtualMachine) {
				withLS("amd64", virtv1.LaunchSecurity{TDX: &virtv1.TDX{}})(vm)
				dom(vm).Firmware.Bootloader.EFI.Persistent = ptr.To(true)
				dom(vm).Features = &virtv1.Features{SMM: &virtv1.FeatureState{}}
			},
			want: []wantErr{
				{field.ErrorTypeForbidden, domain + "features.smm"},
				{field.ErrorTypeInvalid, domain + "firmware.bootloader.efi.persistent"},
			},
		},
		{
			name: "TDX secure boot needs no SMM",
			mutate: func(vm *kubevirt.VirtualMachine) {
				withLS("amd64", virtv1.LaunchSecurity{TDX: &virtv1.TDX{}})(vm)
				dom(vm).Firmware.Bootloader.EFI.SecureBoot = nil
			},
		},
	})
}
