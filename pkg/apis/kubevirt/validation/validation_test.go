package validation

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
)

// Prefixes of the field paths that the cases below expect.
const (
	tmplSpec = "spec.template.spec."
	devices  = tmplSpec + "domain.devices."
)

// wantErr is an expected validation error: its type and its field path.
type wantErr struct {
	Type  field.ErrorType
	Field string
}

// validVM returns a VM that passes validation and uses most of the template.
func validVM() *kubevirt.VirtualMachine {
	return &kubevirt.VirtualMachine{
		ObjectMeta: metav1.ObjectMeta{Name: "vm-cirros", Namespace: "default", Labels: map[string]string{"app": "demo"}},
		Spec: kubevirt.VirtualMachineSpec{
			RunStrategy: ptr.To(kubevirt.RunStrategyAlways),
			Template: &kubevirt.VirtualMachineInstanceTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"kubevirt.io/vm": "vm-cirros"}},
				Spec: kubevirt.VirtualMachineInstanceSpec{
					Domain: kubevirt.DomainSpec{
						Resources: kubevirt.ResourceRequirements{
							Requests: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("128Mi")},
						},
						Memory: &kubevirt.Memory{Guest: ptr.To(resource.MustParse("128Mi"))},
						Devices: kubevirt.Devices{
							Disks: []kubevirt.Disk{
								{Name: "containerdisk", DiskDevice: kubevirt.DiskDevice{Disk: &kubevirt.DiskTarget{Bus: "virtio"}}, BootOrder: ptr.To[uint](1)},
								{Name: "cloudinitdisk", DiskDevice: kubevirt.DiskDevice{Disk: &kubevirt.DiskTarget{Bus: "virtio"}}},
								{Name: "scratch"},
							},
							Interfaces: []kubevirt.Interface{{
								Name:                   "default",
								InterfaceBindingMethod: kubevirt.InterfaceBindingMethod{Masquerade: &kubevirt.InterfaceMasquerade{}},
								Ports:                  []kubevirt.Port{{Name: "ssh", Port: 22, Protocol: "TCP"}, {Port: 53, Protocol: "UDP"}},
							}},
						},
					},
					NodeSelector:                  map[string]string{"kubernetes.io/os": "linux"},
					Tolerations:                   []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "vms", Effect: corev1.TaintEffectNoSchedule}},
					TerminationGracePeriodSeconds: ptr.To[int64](0),
					Hostname:                      "cirros",
					Subdomain:                     "vms",
					Volumes: []kubevirt.Volume{
						{Name: "containerdisk", VolumeSource: kubevirt.VolumeSource{ContainerDisk: &kubevirt.ContainerDiskSource{Image: "kubevirt/cirros-container-disk-demo:latest"}}},
						{Name: "cloudinitdisk", VolumeSource: kubevirt.VolumeSource{CloudInitNoCloud: &kubevirt.CloudInitNoCloudSource{UserData: "#cloud-config"}}},
						{Name: "scratch", VolumeSource: kubevirt.VolumeSource{EmptyDisk: &kubevirt.EmptyDiskSource{Capacity: resource.MustParse("1Gi")}}},
					},
					Networks: []kubevirt.Network{{Name: "default", NetworkSource: kubevirt.NetworkSource{Pod: &kubevirt.PodNetwork{}}}},
				},
			},
		},
	}
}

// assertErrors checks that errs holds exactly the wanted types and fields.
func assertErrors(t *testing.T, want []wantErr, errs field.ErrorList) {
	t.Helper()
	got := make([]wantErr, 0, len(errs))
	for _, e := range errs {
		got = append(got, wantErr{Type: e.Type, Field: e.Field})
	}
	if len(want) == 0 {
		assert.Empty(t, errs, "unexpected errors: %v", errs)
		return
	}
	assert.ElementsMatch(t, want, got, "errors: %v", errs)
}

func tmpl(vm *kubevirt.VirtualMachine) *kubevirt.VirtualMachineInstanceSpec {
	return &vm.Spec.Template.Spec
}

func TestValidateVirtualMachine(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(vm *kubevirt.VirtualMachine)
		want   []wantErr
	}{
		{name: "valid", mutate: func(*kubevirt.VirtualMachine) {}},
		{
			name: "legacy running is valid",
			mutate: func(vm *kubevirt.VirtualMachine) {
				vm.Spec.RunStrategy = nil
				vm.Spec.Running = ptr.To(false)
			},
		},
		{
			name:   "every supported run strategy is valid",
			mutate: func(vm *kubevirt.VirtualMachine) { vm.Spec.RunStrategy = ptr.To(kubevirt.RunStrategyRerunOnFailure) },
		},
		{
			name:   "running and runStrategy both set",
			mutate: func(vm *kubevirt.VirtualMachine) { vm.Spec.Running = ptr.To(true) },
			want:   []wantErr{{field.ErrorTypeForbidden, "spec.running"}},
		},
		{
			name:   "neither running nor runStrategy",
			mutate: func(vm *kubevirt.VirtualMachine) { vm.Spec.RunStrategy = nil },
			want:   []wantErr{{field.ErrorTypeRequired, "spec.runStrategy"}},
		},
		{
			name:   "unknown run strategy",
			mutate: func(vm *kubevirt.VirtualMachine) { vm.Spec.RunStrategy = ptr.To(kubevirt.RunStrategy("Sometimes")) },
			want:   []wantErr{{field.ErrorTypeNotSupported, "spec.runStrategy"}},
		},
		{
			name:   "missing template",
			mutate: func(vm *kubevirt.VirtualMachine) { vm.Spec.Template = nil },
			want:   []wantErr{{field.ErrorTypeRequired, "spec.template"}},
		},
		{
			name:   "missing namespace",
			mutate: func(vm *kubevirt.VirtualMachine) { vm.Namespace = "" },
			want:   []wantErr{{field.ErrorTypeRequired, "metadata.namespace"}},
		},
		{
			name:   "name not a DNS subdomain",
			mutate: func(vm *kubevirt.VirtualMachine) { vm.Name = "Bad_Name" },
			want:   []wantErr{{field.ErrorTypeInvalid, "metadata.name"}},
		},
		{
			name:   "invalid label",
			mutate: func(vm *kubevirt.VirtualMachine) { vm.Labels = map[string]string{"bad key!": "x"} },
			want:   []wantErr{{field.ErrorTypeInvalid, "metadata.labels"}},
		},
		{
			name: "invalid template label",
			mutate: func(vm *kubevirt.VirtualMachine) {
				vm.Spec.Template.ObjectMeta.Labels = map[string]string{"app": "not valid!"}
			},
			want: []wantErr{{field.ErrorTypeInvalid, "spec.template.metadata.labels"}},
		},
		{
			name: "invalid template annotation",
			mutate: func(vm *kubevirt.VirtualMachine) {
				vm.Spec.Template.ObjectMeta.Annotations = map[string]string{"bad key!": "x"}
			},
			want: []wantErr{{field.ErrorTypeInvalid, "spec.template.metadata.annotations"}},
		},

		// Disks.
		{
			name:   "disk name not a DNS label",
			mutate: func(vm *kubevirt.VirtualMachine) { tmpl(vm).Domain.Devices.Disks[0].Name = "Root.Disk" },
			want:   []wantErr{{field.ErrorTypeInvalid, devices + "disks[0].name"}},
		},
		{
			name:   "disk name empty",
			mutate: func(vm *kubevirt.VirtualMachine) { tmpl(vm).Domain.Devices.Disks[0].Name = "" },
			want:   []wantErr{{field.ErrorTypeRequired, devices + "disks[0].name"}},
		},
		{
			name:   "duplicate disk name",
			mutate: func(vm *kubevirt.VirtualMachine) { tmpl(vm).Domain.Devices.Disks[1].Name = "containerdisk" },
			want:   []wantErr{{field.ErrorTypeDuplicate, devices + "disks[1].name"}},
		},
		{
			name:   "disk names no volume",
			mutate: func(vm *kubevirt.VirtualMachine) { tmpl(vm).Domain.Devices.Disks[2].Name = "missing" },
			want:   []wantErr{{field.ErrorTypeInvalid, devices + "disks[2].name"}},
		},
		{
			name: "disk with two device types",
			mutate: func(vm *kubevirt.VirtualMachine) {
				tmpl(vm).Domain.Devices.Disks[0].CDRom = &kubevirt.CDRomTarget{Bus: "sata"}
			},
			want: []wantErr{{field.ErrorTypeForbidden, devices + "disks[0].cdrom"}},
		},
		{
			name:   "boot order zero",
			mutate: func(vm *kubevirt.VirtualMachine) { tmpl(vm).Domain.Devices.Disks[0].BootOrder = ptr.To[uint](0) },
			want:   []wantErr{{field.ErrorTypeInvalid, devices + "disks[0].bootOrder"}},
		},
		{
			name:   "duplicate boot order",
			mutate: func(vm *kubevirt.VirtualMachine) { tmpl(vm).Domain.Devices.Disks[1].BootOrder = ptr.To[uint](1) },
			want:   []wantErr{{field.ErrorTypeDuplicate, devices + "disks[1].bootOrder"}},
		},

		// Volumes.
		{
			name: "volume name not a DNS label",
			mutate: func(vm *kubevirt.VirtualMachine) {
				tmpl(vm).Volumes[2].Name = "Scratch"
				tmpl(vm).Domain.Devices.Disks = tmpl(vm).Domain.Devices.Disks[:2]
			},
			want: []wantErr{{field.ErrorTypeInvalid, tmplSpec + "volumes[2].name"}},
		},
		{
			name:   "duplicate volume name",
			mutate: func(vm *kubevirt.VirtualMachine) { tmpl(vm).Volumes[2].Name = "containerdisk" },
			// The disk "scratch" now names no volume either.
			want: []wantErr{
				{field.ErrorTypeDuplicate, tmplSpec + "volumes[2].name"},
				{field.ErrorTypeInvalid, devices + "disks[2].name"},
			},
		},
		{
			name:   "volume without source",
			mutate: func(vm *kubevirt.VirtualMachine) { tmpl(vm).Volumes[2].VolumeSource = kubevirt.VolumeSource{} },
			want:   []wantErr{{field.ErrorTypeRequired, tmplSpec + "volumes[2]"}},
		},
		{
			name: "volume with two sources",
			mutate: func(vm *kubevirt.VirtualMachine) {
				tmpl(vm).Volumes[0].PersistentVolumeClaim = &kubevirt.PersistentVolumeClaimVolumeSource{ClaimName: "disk"}
			},
			want: []wantErr{{field.ErrorTypeForbidden, tmplSpec + "volumes[0].persistentVolumeClaim"}},
		},
		{
			name:   "container disk without image",
			mutate: func(vm *kubevirt.VirtualMachine) { tmpl(vm).Volumes[0].ContainerDisk.Image = "" },
			want:   []wantErr{{field.ErrorTypeRequired, tmplSpec + "volumes[0].containerDisk.image"}},
		},
		{
			name:   "container disk with unknown pull policy",
			mutate: func(vm *kubevirt.VirtualMachine) { tmpl(vm).Volumes[0].ContainerDisk.ImagePullPolicy = "Sometimes" },
			want:   []wantErr{{field.ErrorTypeNotSupported, tmplSpec + "volumes[0].containerDisk.imagePullPolicy"}},
		},
		{
			name:   "empty disk of zero capacity",
			mutate: func(vm *kubevirt.VirtualMachine) { tmpl(vm).Volumes[2].EmptyDisk.Capacity = resource.MustParse("0") },
			want:   []wantErr{{field.ErrorTypeInvalid, tmplSpec + "volumes[2].emptyDisk.capacity"}},
		},
		{
			name:   "empty disk of negative capacity",
			mutate: func(vm *kubevirt.VirtualMachine) { tmpl(vm).Volumes[2].EmptyDisk.Capacity = resource.MustParse("-1Gi") },
			want:   []wantErr{{field.ErrorTypeInvalid, tmplSpec + "volumes[2].emptyDisk.capacity"}},
		},
		{
			name: "PVC without claim name",
			mutate: func(vm *kubevirt.VirtualMachine) {
				tmpl(vm).Volumes[2].VolumeSource = kubevirt.VolumeSource{PersistentVolumeClaim: &kubevirt.PersistentVolumeClaimVolumeSource{}}
			},
			want: []wantErr{{field.ErrorTypeRequired, tmplSpec + "volumes[2].persistentVolumeClaim.claimName"}},
		},
		{
			name: "DataVolume without name",
			mutate: func(vm *kubevirt.VirtualMachine) {
				tmpl(vm).Volumes[2].VolumeSource = kubevirt.VolumeSource{DataVolume: &kubevirt.DataVolumeSource{}}
			},
			want: []wantErr{{field.ErrorTypeRequired, tmplSpec + "volumes[2].dataVolume.name"}},
		},
		{
			name: "Secret without name",
			mutate: func(vm *kubevirt.VirtualMachine) {
				tmpl(vm).Volumes[2].VolumeSource = kubevirt.VolumeSource{Secret: &kubevirt.SecretVolumeSource{}}
			},
			want: []wantErr{{field.ErrorTypeRequired, tmplSpec + "volumes[2].secret.secretName"}},
		},
		{
			name: "ConfigMap without name",
			mutate: func(vm *kubevirt.VirtualMachine) {
				tmpl(vm).Volumes[2].VolumeSource = kubevirt.VolumeSource{ConfigMap: &kubevirt.ConfigMapVolumeSource{}}
			},
			want: []wantErr{{field.ErrorTypeRequired, tmplSpec + "volumes[2].configMap.name"}},
		},
		{
			name: "cloud-init without data",
			mutate: func(vm *kubevirt.VirtualMachine) {
				tmpl(vm).Volumes[1].VolumeSource = kubevirt.VolumeSource{CloudInitConfigDrive: &kubevirt.CloudInitConfigDriveSource{}}
			},
			want: []wantErr{{field.ErrorTypeRequired, tmplSpec + "volumes[1].cloudInitConfigDrive"}},
		},
		{
			name: "cloud-init with two user data sources",
			mutate: func(vm *kubevirt.VirtualMachine) {
				tmpl(vm).Volumes[1].CloudInitNoCloud.UserDataBase64 = "I2Nsb3VkLWNvbmZpZw=="
			},
			want: []wantErr{{field.ErrorTypeForbidden, tmplSpec + "volumes[1].cloudInitNoCloud"}},
		},
		{
			name: "cloud-init with two network data sources",
			mutate: func(vm *kubevirt.VirtualMachine) {
				ci := tmpl(vm).Volumes[1].CloudInitNoCloud
				ci.NetworkData = "version: 2"
				ci.NetworkDataSecretRef = &corev1.LocalObjectReference{Name: "net"}
			},
			want: []wantErr{{field.ErrorTypeForbidden, tmplSpec + "volumes[1].cloudInitNoCloud"}},
		},

		// Interfaces and networks.
		{
			name: "interface name not a DNS label",
			mutate: func(vm *kubevirt.VirtualMachine) {
				tmpl(vm).Domain.Devices.Interfaces[0].Name = "Default"
				tmpl(vm).Networks[0].Name = "Default"
			},
			want: []wantErr{
				{field.ErrorTypeInvalid, devices + "interfaces[0].name"},
				{field.ErrorTypeInvalid, tmplSpec + "networks[0].name"},
			},
		},
		{
			name: "duplicate interface name",
			mutate: func(vm *kubevirt.VirtualMachine) {
				d := &tmpl(vm).Domain.Devices
				d.Interfaces = append(d.Interfaces, kubevirt.Interface{Name: "default"})
			},
			want: []wantErr{{field.ErrorTypeDuplicate, devices + "interfaces[1].name"}},
		},
		{
			name:   "interface names no network",
			mutate: func(vm *kubevirt.VirtualMachine) { tmpl(vm).Domain.Devices.Interfaces[0].Name = "other" },
			want:   []wantErr{{field.ErrorTypeInvalid, devices + "interfaces[0].name"}},
		},
		{
			name: "interface with bridge and masquerade",
			mutate: func(vm *kubevirt.VirtualMachine) {
				tmpl(vm).Domain.Devices.Interfaces[0].Bridge = &kubevirt.InterfaceBridge{}
			},
			want: []wantErr{{field.ErrorTypeForbidden, devices + "interfaces[0].masquerade"}},
		},
		{
			name:   "port 0",
			mutate: func(vm *kubevirt.VirtualMachine) { tmpl(vm).Domain.Devices.Interfaces[0].Ports[0].Port = 0 },
			want:   []wantErr{{field.ErrorTypeInvalid, devices + "interfaces[0].ports[0].port"}},
		},
		{
			name:   "port above 65535",
			mutate: func(vm *kubevirt.VirtualMachine) { tmpl(vm).Domain.Devices.Interfaces[0].Ports[1].Port = 65536 },
			want:   []wantErr{{field.ErrorTypeInvalid, devices + "interfaces[0].ports[1].port"}},
		},
		{
			name:   "unknown port protocol",
			mutate: func(vm *kubevirt.VirtualMachine) { tmpl(vm).Domain.Devices.Interfaces[0].Ports[0].Protocol = "SCTP" },
			want:   []wantErr{{field.ErrorTypeNotSupported, devices + "interfaces[0].ports[0].protocol"}},
		},
		{
			name:   "empty port protocol means TCP",
			mutate: func(vm *kubevirt.VirtualMachine) { tmpl(vm).Domain.Devices.Interfaces[0].Ports[0].Protocol = "" },
		},
		{
			name: "invalid port name",
			mutate: func(vm *kubevirt.VirtualMachine) {
				tmpl(vm).Domain.Devices.Interfaces[0].Ports[0].Name = "not a port name"
			},
			want: []wantErr{{field.ErrorTypeInvalid, devices + "interfaces[0].ports[0].name"}},
		},
		{
			name: "duplicate network name",
			mutate: func(vm *kubevirt.VirtualMachine) {
				tmpl(vm).Networks = append(tmpl(vm).Networks, kubevirt.Network{
					Name: "default", NetworkSource: kubevirt.NetworkSource{Multus: &kubevirt.MultusNetwork{NetworkName: "br"}},
				})
			},
			want: []wantErr{{field.ErrorTypeDuplicate, tmplSpec + "networks[1].name"}},
		},
		{
			name:   "network without source",
			mutate: func(vm *kubevirt.VirtualMachine) { tmpl(vm).Networks[0].Pod = nil },
			want:   []wantErr{{field.ErrorTypeRequired, tmplSpec + "networks[0]"}},
		},
		{
			name: "network with pod and multus",
			mutate: func(vm *kubevirt.VirtualMachine) {
				tmpl(vm).Networks[0].Multus = &kubevirt.MultusNetwork{NetworkName: "br"}
			},
			want: []wantErr{{field.ErrorTypeForbidden, tmplSpec + "networks[0].multus"}},
		},
		{
			name: "multus without network name",
			mutate: func(vm *kubevirt.VirtualMachine) {
				tmpl(vm).Networks[0].NetworkSource = kubevirt.NetworkSource{Multus: &kubevirt.MultusNetwork{}}
			},
			want: []wantErr{{field.ErrorTypeRequired, tmplSpec + "networks[0].multus.networkName"}},
		},
		{
			name: "two pod networks",
			mutate: func(vm *kubevirt.VirtualMachine) {
				tmpl(vm).Networks = append(tmpl(vm).Networks, kubevirt.Network{
					Name: "second", NetworkSource: kubevirt.NetworkSource{Pod: &kubevirt.PodNetwork{}},
				})
			},
			want: []wantErr{{field.ErrorTypeForbidden, tmplSpec + "networks[1].pod"}},
		},

		// The rest of the instance spec.
		{
			name:   "negative termination grace period",
			mutate: func(vm *kubevirt.VirtualMachine) { tmpl(vm).TerminationGracePeriodSeconds = ptr.To[int64](-1) },
			want:   []wantErr{{field.ErrorTypeInvalid, tmplSpec + "terminationGracePeriodSeconds"}},
		},
		{
			name:   "hostname not a DNS label",
			mutate: func(vm *kubevirt.VirtualMachine) { tmpl(vm).Hostname = "host.example" },
			want:   []wantErr{{field.ErrorTypeInvalid, tmplSpec + "hostname"}},
		},
		{
			name:   "subdomain not a DNS label",
			mutate: func(vm *kubevirt.VirtualMachine) { tmpl(vm).Subdomain = "-vms" },
			want:   []wantErr{{field.ErrorTypeInvalid, tmplSpec + "subdomain"}},
		},
		{
			name:   "invalid node selector",
			mutate: func(vm *kubevirt.VirtualMachine) { tmpl(vm).NodeSelector = map[string]string{"zone": "a b"} },
			want:   []wantErr{{field.ErrorTypeInvalid, tmplSpec + "nodeSelector"}},
		},
		{
			name:   "toleration with unknown operator",
			mutate: func(vm *kubevirt.VirtualMachine) { tmpl(vm).Tolerations[0].Operator = "Lt" },
			want:   []wantErr{{field.ErrorTypeNotSupported, tmplSpec + "tolerations[0].operator"}},
		},
		{
			name:   "toleration with unknown effect",
			mutate: func(vm *kubevirt.VirtualMachine) { tmpl(vm).Tolerations[0].Effect = "NoAdmit" },
			want:   []wantErr{{field.ErrorTypeNotSupported, tmplSpec + "tolerations[0].effect"}},
		},
		{
			name:   "toleration Exists with a value",
			mutate: func(vm *kubevirt.VirtualMachine) { tmpl(vm).Tolerations[0].Operator = corev1.TolerationOpExists },
			want:   []wantErr{{field.ErrorTypeInvalid, tmplSpec + "tolerations[0].value"}},
		},
		{
			name: "toleration Equal without key",
			mutate: func(vm *kubevirt.VirtualMachine) {
				tmpl(vm).Tolerations[0] = corev1.Toleration{Operator: corev1.TolerationOpEqual}
			},
			want: []wantErr{{field.ErrorTypeInvalid, tmplSpec + "tolerations[0].operator"}},
		},
		{
			name: "toleration Exists without key tolerates everything",
			mutate: func(vm *kubevirt.VirtualMachine) {
				tmpl(vm).Tolerations[0] = corev1.Toleration{Operator: corev1.TolerationOpExists}
			},
		},
		{
			name:   "toleration seconds without NoExecute",
			mutate: func(vm *kubevirt.VirtualMachine) { tmpl(vm).Tolerations[0].TolerationSeconds = ptr.To[int64](30) },
			want:   []wantErr{{field.ErrorTypeInvalid, tmplSpec + "tolerations[0].effect"}},
		},
		{
			name:   "toleration with invalid key",
			mutate: func(vm *kubevirt.VirtualMachine) { tmpl(vm).Tolerations[0].Key = "bad key" },
			want:   []wantErr{{field.ErrorTypeInvalid, tmplSpec + "tolerations[0].key"}},
		},
		{
			name: "unknown eviction strategy",
			mutate: func(vm *kubevirt.VirtualMachine) {
				tmpl(vm).EvictionStrategy = ptr.To(kubevirt.EvictionStrategy("Never"))
			},
			want: []wantErr{{field.ErrorTypeNotSupported, tmplSpec + "evictionStrategy"}},
		},
		{
			name: "negative resource request",
			mutate: func(vm *kubevirt.VirtualMachine) {
				tmpl(vm).Domain.Resources.Requests[corev1.ResourceMemory] = resource.MustParse("-1")
			},
			want: []wantErr{{field.ErrorTypeInvalid, tmplSpec + "domain.resources.requests[memory]"}},
		},
		{
			name: "negative resource limit",
			mutate: func(vm *kubevirt.VirtualMachine) {
				tmpl(vm).Domain.Resources.Limits = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("-1")}
			},
			want: []wantErr{{field.ErrorTypeInvalid, tmplSpec + "domain.resources.limits[cpu]"}},
		},
		{
			name:   "zero guest memory",
			mutate: func(vm *kubevirt.VirtualMachine) { tmpl(vm).Domain.Memory.Guest = ptr.To(resource.MustParse("0")) },
			want:   []wantErr{{field.ErrorTypeInvalid, tmplSpec + "domain.memory.guest"}},
		},
		{
			name: "BIOS and EFI",
			mutate: func(vm *kubevirt.VirtualMachine) {
				tmpl(vm).Domain.Firmware = &kubevirt.Firmware{Bootloader: &kubevirt.Bootloader{BIOS: &kubevirt.BIOS{}, EFI: &kubevirt.EFI{}}}
			},
			want: []wantErr{{field.ErrorTypeForbidden, tmplSpec + "domain.firmware.bootloader.efi"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			vm := validVM()
			tc.mutate(vm)
			assertErrors(t, tc.want, ValidateVirtualMachine(vm))
		})
	}
}

func TestRunStrategyMessages(t *testing.T) {
	tests := []struct {
		name     string
		mutate   func(spec *kubevirt.VirtualMachineSpec)
		contains []string
	}{
		{
			name:     "both set says why and what to use",
			mutate:   func(spec *kubevirt.VirtualMachineSpec) { spec.Running = ptr.To(true) },
			contains: []string{"spec.running", "mutually exclusive", "deprecated", "use spec.runStrategy"},
		},
		{
			name:     "neither set",
			mutate:   func(spec *kubevirt.VirtualMachineSpec) { spec.RunStrategy = nil },
			contains: []string{"spec.runStrategy", "a run strategy must be specified"},
		},
		{
			name:     "unknown strategy lists the supported ones",
			mutate:   func(spec *kubevirt.VirtualMachineSpec) { spec.RunStrategy = ptr.To(kubevirt.RunStrategy("Sometimes")) },
			contains: []string{`"Sometimes"`, `"Always"`, `"RerunOnFailure"`, `"Once"`, `"Manual"`, `"Halted"`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			vm := validVM()
			tc.mutate(&vm.Spec)
			errs := ValidateVirtualMachineSpec(&vm.Spec, field.NewPath("spec"))
			require.Len(t, errs, 1)
			for _, want := range tc.contains {
				assert.Contains(t, errs[0].Error(), want)
			}
		})
	}
}

func TestValidateVirtualMachineUpdate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(vm *kubevirt.VirtualMachine)
		want   []wantErr
	}{
		{name: "spec change is valid", mutate: func(vm *kubevirt.VirtualMachine) { vm.Spec.RunStrategy = ptr.To(kubevirt.RunStrategyHalted) }},
		{
			name:   "update runs full spec validation",
			mutate: func(vm *kubevirt.VirtualMachine) { vm.Spec.Running = ptr.To(true) },
			want:   []wantErr{{field.ErrorTypeForbidden, "spec.running"}},
		},
		{
			name:   "template removed",
			mutate: func(vm *kubevirt.VirtualMachine) { vm.Spec.Template = nil },
			want:   []wantErr{{field.ErrorTypeRequired, "spec.template"}},
		},
		{
			name:   "name is immutable",
			mutate: func(vm *kubevirt.VirtualMachine) { vm.Name = "renamed" },
			want:   []wantErr{{field.ErrorTypeInvalid, "metadata.name"}},
		},
		{
			name:   "resourceVersion is required",
			mutate: func(vm *kubevirt.VirtualMachine) { vm.ResourceVersion = "" },
			want:   []wantErr{{field.ErrorTypeInvalid, "metadata.resourceVersion"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			oldVM := validVM()
			oldVM.ResourceVersion = "7"
			newVM := oldVM.DeepCopy()
			tc.mutate(newVM)
			assertErrors(t, tc.want, ValidateVirtualMachineUpdate(newVM, oldVM))
		})
	}
}

func TestValidateVirtualMachineStatusUpdate(t *testing.T) {
	tests := []struct {
		name   string
		status kubevirt.VirtualMachineStatus
		mutate func(vm *kubevirt.VirtualMachine)
		want   []wantErr
	}{
		{
			name: "valid status",
			status: kubevirt.VirtualMachineStatus{
				Created: true, Ready: true, PrintableStatus: kubevirt.PrintableStatusRunning,
				RunStrategy: kubevirt.RunStrategyAlways, ObservedGeneration: 3,
				Conditions: []kubevirt.VirtualMachineCondition{
					{Type: kubevirt.VirtualMachineReady, Status: corev1.ConditionTrue},
					{Type: kubevirt.VirtualMachinePaused, Status: corev1.ConditionFalse},
					{Type: "Custom", Status: corev1.ConditionUnknown},
				},
				StateChangeRequests: []kubevirt.VirtualMachineStateChangeRequest{
					{Action: kubevirt.StopRequest, Data: map[string]string{"gracePeriodSeconds": "0"}},
					{Action: kubevirt.StartRequest},
				},
			},
		},
		{
			name:   "printableStatus is free-form",
			status: kubevirt.VirtualMachineStatus{PrintableStatus: "WaitingForVolumeBinding"},
		},
		{
			name: "status update does not validate the spec",
			mutate: func(vm *kubevirt.VirtualMachine) {
				vm.Spec.Running = ptr.To(true)
			},
		},
		{
			name: "unknown state change action",
			status: kubevirt.VirtualMachineStatus{StateChangeRequests: []kubevirt.VirtualMachineStateChangeRequest{
				{Action: kubevirt.StartRequest}, {Action: "Restart"},
			}},
			want: []wantErr{{field.ErrorTypeNotSupported, "status.stateChangeRequests[1].action"}},
		},
		{
			name: "empty condition type",
			status: kubevirt.VirtualMachineStatus{Conditions: []kubevirt.VirtualMachineCondition{
				{Status: corev1.ConditionTrue},
			}},
			want: []wantErr{{field.ErrorTypeRequired, "status.conditions[0].type"}},
		},
		{
			name: "duplicate condition type",
			status: kubevirt.VirtualMachineStatus{Conditions: []kubevirt.VirtualMachineCondition{
				{Type: kubevirt.VirtualMachineReady, Status: corev1.ConditionTrue},
				{Type: kubevirt.VirtualMachineReady, Status: corev1.ConditionFalse},
			}},
			want: []wantErr{{field.ErrorTypeDuplicate, "status.conditions[1].type"}},
		},
		{
			name: "unknown condition status",
			status: kubevirt.VirtualMachineStatus{Conditions: []kubevirt.VirtualMachineCondition{
				{Type: kubevirt.VirtualMachineReady, Status: "Maybe"},
			}},
			want: []wantErr{{field.ErrorTypeNotSupported, "status.conditions[0].status"}},
		},
		{
			name:   "printableStatus too long",
			status: kubevirt.VirtualMachineStatus{PrintableStatus: kubevirt.PrintableStatus(strings.Repeat("x", MaxPrintableStatusLength+1))},
			want:   []wantErr{{field.ErrorTypeTooLong, "status.printableStatus"}},
		},
		{
			name:   "negative observedGeneration",
			status: kubevirt.VirtualMachineStatus{ObservedGeneration: -1},
			want:   []wantErr{{field.ErrorTypeInvalid, "status.observedGeneration"}},
		},
		{
			name:   "unknown status runStrategy",
			status: kubevirt.VirtualMachineStatus{RunStrategy: "Sometimes"},
			want:   []wantErr{{field.ErrorTypeNotSupported, "status.runStrategy"}},
		},
		{
			name:   "namespace is immutable",
			mutate: func(vm *kubevirt.VirtualMachine) { vm.Namespace = "other" },
			want:   []wantErr{{field.ErrorTypeInvalid, "metadata.namespace"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			oldVM := validVM()
			oldVM.ResourceVersion = "7"
			newVM := oldVM.DeepCopy()
			newVM.Status = tc.status
			if tc.mutate != nil {
				tc.mutate(newVM)
			}
			assertErrors(t, tc.want, ValidateVirtualMachineStatusUpdate(newVM, oldVM))
		})
	}
}
