package validation

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	virtv1 "kubevirt.io/api/core/v1"
	cdiv1 "kubevirt.io/containerized-data-importer-api/pkg/apis/core/v1beta1"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
)

// Realistic VMs of the kinds KubeVirt's documentation shows. None of them may
// be refused.

// minimalCirrosVM is the smallest cirros VM: no interfaces or networks,
// which KubeVirt adds itself, and disks without bus.
func minimalCirrosVM() *kubevirt.VirtualMachine {
	return &kubevirt.VirtualMachine{
		ObjectMeta: metav1.ObjectMeta{Name: "vm-cirros", Namespace: "default"},
		Spec: virtv1.VirtualMachineSpec{
			RunStrategy: ptr.To(virtv1.RunStrategyHalted),
			Template: &virtv1.VirtualMachineInstanceTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"kubevirt.io/vm": "vm-cirros"}},
				Spec: virtv1.VirtualMachineInstanceSpec{
					Domain: virtv1.DomainSpec{
						Resources: virtv1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceMemory: q("128Mi")}},
						Devices: virtv1.Devices{Disks: []virtv1.Disk{
							{Name: "containerdisk", DiskDevice: virtv1.DiskDevice{Disk: &virtv1.DiskTarget{Bus: virtv1.DiskBusVirtio}}},
							{Name: "cloudinitdisk", DiskDevice: virtv1.DiskDevice{Disk: &virtv1.DiskTarget{Bus: virtv1.DiskBusVirtio}}},
						}},
					},
					TerminationGracePeriodSeconds: ptr.To[int64](0),
					Volumes: []virtv1.Volume{
						{Name: "containerdisk", VolumeSource: virtv1.VolumeSource{ContainerDisk: &virtv1.ContainerDiskSource{Image: "quay.io/kubevirt/cirros-container-disk-demo:devel"}}},
						{Name: "cloudinitdisk", VolumeSource: virtv1.VolumeSource{CloudInitNoCloud: &virtv1.CloudInitNoCloudSource{UserData: "#!/bin/sh\necho hello\n"}}},
					},
				},
			},
		},
	}
}

// instancetypeVM takes CPU and memory from an instancetype and a preference
// and boots from a DataVolume imported from a registry.
func instancetypeVM() *kubevirt.VirtualMachine {
	vm := minimalCirrosVM()
	vm.Name = "vm-fedora-u1"
	vm.Spec.Instancetype = &virtv1.InstancetypeMatcher{Name: "u1.medium", Kind: "VirtualMachineClusterInstancetype"}
	vm.Spec.Preference = &virtv1.PreferenceMatcher{Name: "fedora", Kind: "VirtualMachineClusterPreference"}
	vm.Spec.Template.Spec.Domain = virtv1.DomainSpec{Devices: virtv1.Devices{}}
	vm.Spec.Template.Spec.Volumes = []virtv1.Volume{
		{Name: "rootdisk", VolumeSource: virtv1.VolumeSource{DataVolume: &virtv1.DataVolumeSource{Name: "fedora-root"}}},
		{Name: "cloudinitdisk", VolumeSource: virtv1.VolumeSource{CloudInitNoCloud: &virtv1.CloudInitNoCloudSource{UserData: "#cloud-config\n"}}},
	}
	vm.Spec.DataVolumeTemplates = []virtv1.DataVolumeTemplateSpec{{
		ObjectMeta: metav1.ObjectMeta{Name: "fedora-root"},
		Spec: cdiv1.DataVolumeSpec{
			Source: &cdiv1.DataVolumeSource{Registry: &cdiv1.DataVolumeSourceRegistry{URL: ptr.To("docker://quay.io/containerdisks/fedora:latest")}},
			Storage: &cdiv1.StorageSpec{Resources: corev1.VolumeResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceStorage: q("30Gi")},
			}},
		},
	}, {
		ObjectMeta: metav1.ObjectMeta{Name: "fedora-data"},
		Spec: cdiv1.DataVolumeSpec{
			SourceRef: &cdiv1.DataVolumeSourceRef{Kind: "DataSource", Name: "fedora", Namespace: ptr.To("openshift-virtualization-os-images")},
			PVC:       &corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}},
		},
	}}
	vm.Spec.Template.Spec.Volumes = append(vm.Spec.Template.Spec.Volumes, virtv1.Volume{Name: "data", VolumeSource: virtv1.VolumeSource{
		PersistentVolumeClaim: &virtv1.PersistentVolumeClaimVolumeSource{PersistentVolumeClaimVolumeSource: corev1.PersistentVolumeClaimVolumeSource{ClaimName: "fedora-data"}},
	}})
	return vm
}

// passthroughVM passes a GPU with a display, a host device and a TPM through,
// on EFI with secure boot and SMM, and pins its CPUs.
func passthroughVM() *kubevirt.VirtualMachine {
	vm := cirrosVM()
	d := &vm.Spec.Template.Spec.Domain
	d.Devices.GPUs = []virtv1.GPU{{Name: "gpu1", DeviceName: "nvidia.com/GRID_T4-1Q", VirtualGPUOptions: &virtv1.VGPUOptions{
		Display: &virtv1.VGPUDisplayOptions{Enabled: ptr.To(true), RamFB: &virtv1.FeatureState{Enabled: ptr.To(true)}},
	}}}
	d.Devices.HostDevices = []virtv1.HostDevice{{Name: "nic", DeviceName: "intel.com/qat"}}
	d.Devices.TPM = &virtv1.TPMDevice{Persistent: ptr.To(true)}
	d.Firmware = &virtv1.Firmware{Bootloader: &virtv1.Bootloader{EFI: &virtv1.EFI{Persistent: ptr.To(true)}}}
	d.Features = &virtv1.Features{SMM: &virtv1.FeatureState{}}
	d.CPU = &virtv1.CPU{Cores: 4, DedicatedCPUPlacement: true, IsolateEmulatorThread: true}
	d.Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: q("128Mi")}
	return vm
}

// legacyVM still uses the deprecated spec.running.
func legacyVM() *kubevirt.VirtualMachine {
	vm := cirrosVM()
	vm.Spec.RunStrategy = nil
	vm.Spec.Running = ptr.To(true)
	return vm
}

// multusVM has a bridge on the pod network and SR-IOV and plugin bindings
// on two multus networks.
func multusVM() *kubevirt.VirtualMachine {
	vm := cirrosVM()
	spec := &vm.Spec.Template.Spec
	spec.Domain.Devices.Interfaces = []virtv1.Interface{
		{Name: "default", InterfaceBindingMethod: virtv1.InterfaceBindingMethod{Bridge: &virtv1.InterfaceBridge{}}},
		{Name: "sriov-net", InterfaceBindingMethod: virtv1.InterfaceBindingMethod{SRIOV: &virtv1.InterfaceSRIOV{}}, MacAddress: "de:ad:00:00:be:ef"},
		{Name: "ptp_net", Binding: &virtv1.PluginBinding{Name: "managedtap"}, State: virtv1.InterfaceStateLinkDown},
	}
	spec.Networks = []virtv1.Network{
		{Name: "default", NetworkSource: virtv1.NetworkSource{Pod: &virtv1.PodNetwork{}}},
		{Name: "sriov-net", NetworkSource: virtv1.NetworkSource{Multus: &virtv1.MultusNetwork{NetworkName: "sriov/sriov-network"}}},
		{Name: "ptp_net", NetworkSource: virtv1.NetworkSource{Multus: &virtv1.MultusNetwork{NetworkName: "ptp-conf"}}},
	}
	return vm
}

// kernelBootVM boots an external kernel from a container image.
func kernelBootVM() *kubevirt.VirtualMachine {
	vm := minimalCirrosVM()
	vm.Spec.Template.Spec.Domain.Firmware = &virtv1.Firmware{KernelBoot: &virtv1.KernelBoot{
		KernelArgs: "console=ttyS0",
		Container: &virtv1.KernelBootContainer{
			Image: "quay.io/kubevirt/alpine-ext-kernel-boot-demo", KernelPath: "/boot/vmlinuz-virt", InitrdPath: "/boot/initramfs-virt",
		},
	}}
	return vm
}

// realtimeVM pins CPUs with NUMA passthrough, huge pages and a realtime mask.
func realtimeVM() *kubevirt.VirtualMachine {
	vm := minimalCirrosVM()
	d := &vm.Spec.Template.Spec.Domain
	d.CPU = &virtv1.CPU{Sockets: 1, Cores: 2, Threads: 1, DedicatedCPUPlacement: true,
		NUMA: &virtv1.NUMA{GuestMappingPassthrough: &virtv1.NUMAGuestMappingPassthrough{}}, Realtime: &virtv1.Realtime{Mask: "0"}}
	d.Memory = &virtv1.Memory{Hugepages: &virtv1.Hugepages{PageSize: "2Mi"}}
	d.Resources = virtv1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: q("2"), corev1.ResourceMemory: q("1Gi")},
		Limits:   corev1.ResourceList{corev1.ResourceCPU: q("2"), corev1.ResourceMemory: q("1Gi")},
	}
	return vm
}

// confidentialVM runs under AMD SEV with attestation, which needs a paused
// start and EFI without secure boot.
func confidentialVM() *kubevirt.VirtualMachine {
	vm := minimalCirrosVM()
	spec := &vm.Spec.Template.Spec
	spec.Architecture = "amd64"
	spec.StartStrategy = ptr.To(virtv1.StartStrategyPaused)
	spec.Domain.LaunchSecurity = &virtv1.LaunchSecurity{SEV: &virtv1.SEV{
		Policy: &virtv1.SEVPolicy{EncryptedState: ptr.To(true)}, Attestation: &virtv1.SEVAttestation{},
	}}
	spec.Domain.Firmware = &virtv1.Firmware{Bootloader: &virtv1.Bootloader{EFI: &virtv1.EFI{SecureBoot: ptr.To(false)}}}
	return vm
}

// hotplugVM can grow its memory up to maxGuest.
func hotplugVM() *kubevirt.VirtualMachine {
	vm := minimalCirrosVM()
	vm.Spec.Template.Spec.Domain.Memory = &virtv1.Memory{Guest: qp("2Gi"), MaxGuest: qp("8Gi")}
	vm.Spec.Template.Spec.Domain.CPU = &virtv1.CPU{Sockets: 2, MaxSockets: 8}
	return vm
}

// draVM takes a GPU and an SR-IOV network from DRA resource claims.
func draVM() *kubevirt.VirtualMachine {
	vm := cirrosVM()
	spec := &vm.Spec.Template.Spec
	spec.ResourceClaims = []virtv1.VirtualMachineInstanceResourceClaim{
		{Name: "gpu-claim", ResourceClaimTemplateName: ptr.To("single-gpu")},
		{Name: "nic-claim", ResourceClaimName: ptr.To("sriov-vf")},
	}
	spec.Domain.Devices.GPUs = []virtv1.GPU{{Name: "gpu", ClaimRequest: &virtv1.ClaimRequest{ClaimName: "gpu-claim", RequestName: "gpu"}}}
	spec.Domain.Devices.Interfaces = append(spec.Domain.Devices.Interfaces,
		virtv1.Interface{Name: "vf", InterfaceBindingMethod: virtv1.InterfaceBindingMethod{SRIOV: &virtv1.InterfaceSRIOV{}}})
	spec.Networks = append(spec.Networks, virtv1.Network{Name: "vf", NetworkSource: virtv1.NetworkSource{
		ResourceClaim: &virtv1.ClaimRequest{ClaimName: "nic-claim", RequestName: "vf"},
	}})
	return vm
}

// TestValidVirtualMachines accepts each realistic VM as a create and as an
// update.
func TestValidVirtualMachines(t *testing.T) {
	for name, build := range map[string]func() *kubevirt.VirtualMachine{
		"cirros with ports and scratch disk": cirrosVM,
		"minimal cirros":                     minimalCirrosVM,
		"instancetype and DataVolumes":       instancetypeVM,
		"GPU, host device and TPM":           passthroughVM,
		"legacy spec.running":                legacyVM,
		"multus and SR-IOV":                  multusVM,
		"external kernel":                    kernelBootVM,
		"realtime with NUMA and huge pages":  realtimeVM,
		"SEV with attestation":               confidentialVM,
		"memory and CPU hotplug":             hotplugVM,
		"DRA GPU and network":                draVM,
	} {
		t.Run(name, func(t *testing.T) {
			vm := build()
			assertErrors(t, nil, ValidateVirtualMachine(vm))

			// An update to the same VM is valid too.
			old := vm.DeepCopy()
			old.ResourceVersion = "1"
			updated := old.DeepCopy()
			assertErrors(t, nil, ValidateVirtualMachineUpdate(updated, old))
		})
	}
}

// TestEveryRunStrategyIsValid accepts each run strategy KubeVirt defines,
// WaitAsReceiver included.
func TestEveryRunStrategyIsValid(t *testing.T) {
	for _, s := range kubevirt.SupportedRunStrategies {
		t.Run(string(s), func(t *testing.T) {
			vm := cirrosVM()
			vm.Spec.RunStrategy = ptr.To(s)
			assertErrors(t, nil, ValidateVirtualMachine(vm))
		})
	}
}
