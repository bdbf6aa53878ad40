package validation

import (
	"encoding/base64"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	virtv1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
)

const (
	vol0 = tmplSpec + "volumes[0]"
	vol1 = tmplSpec + "volumes[1]"
	vol2 = tmplSpec + "volumes[2]"
)

// setScratch replaces the source of the scratch volume, which has a disk of
// its own, so that only the source's rules apply.
func setScratch(src virtv1.VolumeSource) func(vm *kubevirt.VirtualMachine) {
	return func(vm *kubevirt.VirtualMachine) { tmpl(vm).Volumes[2].VolumeSource = src }
}

// TestValidateVolumes covers volume names, the one-source rule and the
// required fields of each source.
func TestValidateVolumes(t *testing.T) {
	runCreateCases(t, []vmCase{
		{
			name: "volume name not a DNS label",
			mutate: func(vm *kubevirt.VirtualMachine) {
				tmpl(vm).Volumes[2].Name = "Scratch"
				devs(vm).Disks = devs(vm).Disks[:2]
			},
			want: []wantErr{{field.ErrorTypeInvalid, vol2 + ".name"}},
		},
		{
			name:   "duplicate volume name",
			mutate: func(vm *kubevirt.VirtualMachine) { tmpl(vm).Volumes[2].Name = "containerdisk" },
			// The disk "scratch" now names no volume either.
			want: []wantErr{
				{field.ErrorTypeDuplicate, vol2 + ".name"},
				{field.ErrorTypeInvalid, disk2 + ".name"},
			},
		},
		{
			name:   "volume without source",
			mutate: setScratch(virtv1.VolumeSource{}),
			want:   []wantErr{{field.ErrorTypeRequired, vol2}},
		},
		{
			name: "volume with two sources",
			mutate: func(vm *kubevirt.VirtualMachine) {
				tmpl(vm).Volumes[0].Ephemeral = &virtv1.EphemeralVolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "c"}}
			},
			want: []wantErr{{field.ErrorTypeForbidden, vol0 + ".ephemeral"}},
		},
		{
			name: "every newer source counts",
			mutate: setScratch(virtv1.VolumeSource{
				ContainerPath: &virtv1.ContainerPathVolumeSource{Path: "/mnt/data"},
				MemoryDump:    &virtv1.MemoryDumpVolumeSource{},
			}),
			want: []wantErr{
				{field.ErrorTypeForbidden, vol2 + ".containerPath"},
				{field.ErrorTypeRequired, vol2 + ".memoryDump.claimName"},
			},
		},
		{
			name:   "container disk without image",
			mutate: func(vm *kubevirt.VirtualMachine) { tmpl(vm).Volumes[0].ContainerDisk.Image = "" },
			want:   []wantErr{{field.ErrorTypeRequired, vol0 + ".containerDisk.image"}},
		},
		{
			name:   "container disk with unknown pull policy",
			mutate: func(vm *kubevirt.VirtualMachine) { tmpl(vm).Volumes[0].ContainerDisk.ImagePullPolicy = "Sometimes" },
			want:   []wantErr{{field.ErrorTypeNotSupported, vol0 + ".containerDisk.imagePullPolicy"}},
		},
		{
			name:   "container disk path with relative parts",
			mutate: func(vm *kubevirt.VirtualMachine) { tmpl(vm).Volumes[0].ContainerDisk.Path = "/disk/../etc/passwd" },
			want:   []wantErr{{field.ErrorTypeInvalid, vol0 + ".containerDisk.path"}},
		},
		{
			name:   "container disk path at the root",
			mutate: func(vm *kubevirt.VirtualMachine) { tmpl(vm).Volumes[0].ContainerDisk.Path = "/" },
			want:   []wantErr{{field.ErrorTypeInvalid, vol0 + ".containerDisk.path"}},
		},
		{
			name:   "empty disk of zero capacity",
			mutate: func(vm *kubevirt.VirtualMachine) { tmpl(vm).Volumes[2].EmptyDisk.Capacity = q("0") },
			want:   []wantErr{{field.ErrorTypeInvalid, vol2 + ".emptyDisk.capacity"}},
		},
		{
			name:   "PVC without claim name",
			mutate: setScratch(virtv1.VolumeSource{PersistentVolumeClaim: &virtv1.PersistentVolumeClaimVolumeSource{}}),
			want:   []wantErr{{field.ErrorTypeRequired, vol2 + ".persistentVolumeClaim.claimName"}},
		},
		{
			name:   "ephemeral without claim",
			mutate: setScratch(virtv1.VolumeSource{Ephemeral: &virtv1.EphemeralVolumeSource{}}),
			want:   []wantErr{{field.ErrorTypeRequired, vol2 + ".ephemeral.persistentVolumeClaim"}},
		},
		{
			name:   "DataVolume without name",
			mutate: setScratch(virtv1.VolumeSource{DataVolume: &virtv1.DataVolumeSource{}}),
			want:   []wantErr{{field.ErrorTypeRequired, vol2 + ".dataVolume.name"}},
		},
		{
			name: "Secret, ConfigMap and service account without names",
			mutate: func(vm *kubevirt.VirtualMachine) {
				tmpl(vm).Volumes[0].VolumeSource = virtv1.VolumeSource{Secret: &virtv1.SecretVolumeSource{}}
				tmpl(vm).Volumes[1].VolumeSource = virtv1.VolumeSource{ConfigMap: &virtv1.ConfigMapVolumeSource{}}
				tmpl(vm).Volumes[2].VolumeSource = virtv1.VolumeSource{ServiceAccount: &virtv1.ServiceAccountVolumeSource{}}
			},
			want: []wantErr{
				{field.ErrorTypeRequired, vol0 + ".secret.secretName"},
				{field.ErrorTypeRequired, vol1 + ".configMap.name"},
				{field.ErrorTypeRequired, vol2 + ".serviceAccount.serviceAccountName"},
			},
		},
		{
			name: "two service account volumes",
			mutate: func(vm *kubevirt.VirtualMachine) {
				sa := virtv1.VolumeSource{ServiceAccount: &virtv1.ServiceAccountVolumeSource{ServiceAccountName: "default"}}
				tmpl(vm).Volumes[1].VolumeSource, tmpl(vm).Volumes[2].VolumeSource = sa, sa
			},
			want: []wantErr{{field.ErrorTypeForbidden, vol2 + ".serviceAccount"}},
		},
		{
			name:   "host disk without path, with unknown type",
			mutate: setScratch(virtv1.VolumeSource{HostDisk: &virtv1.HostDisk{Type: "Directory"}}),
			want: []wantErr{
				{field.ErrorTypeRequired, vol2 + ".hostDisk.path"},
				{field.ErrorTypeNotSupported, vol2 + ".hostDisk.type"},
			},
		},
		{
			name:   "existing host disk with a capacity",
			mutate: setScratch(virtv1.VolumeSource{HostDisk: &virtv1.HostDisk{Path: "/data/disk.img", Type: virtv1.HostDiskExists, Capacity: q("1Gi")}}),
			want:   []wantErr{{field.ErrorTypeForbidden, vol2 + ".hostDisk.capacity"}},
		},
		{
			name:   "host disk created with a capacity",
			mutate: setScratch(virtv1.VolumeSource{HostDisk: &virtv1.HostDisk{Path: "/data/disk.img", Type: virtv1.HostDiskExistsOrCreate, Capacity: q("1Gi")}}),
		},
		{
			name:   "sysprep without source",
			mutate: setScratch(virtv1.VolumeSource{Sysprep: &virtv1.SysprepSource{}}),
			want:   []wantErr{{field.ErrorTypeRequired, vol2 + ".sysprep"}},
		},
		{
			name:   "sysprep from a Secret and a ConfigMap",
			mutate: setScratch(virtv1.VolumeSource{Sysprep: &virtv1.SysprepSource{Secret: ref("a"), ConfigMap: ref("b")}}),
			want:   []wantErr{{field.ErrorTypeForbidden, vol2 + ".sysprep.configMap"}},
		},
		{
			name:   "container path without path",
			mutate: setScratch(virtv1.VolumeSource{ContainerPath: &virtv1.ContainerPathVolumeSource{}}),
			want:   []wantErr{{field.ErrorTypeRequired, vol2 + ".containerPath.path"}},
		},
	})
}

// TestValidateCloudInit covers where cloud-init data may come from and how
// large inline data may be.
func TestValidateCloudInit(t *testing.T) {
	noCloud := func(ci virtv1.CloudInitNoCloudSource) func(vm *kubevirt.VirtualMachine) {
		return setScratch(virtv1.VolumeSource{CloudInitNoCloud: &ci})
	}
	ciPath := vol2 + ".cloudInitNoCloud"
	runCreateCases(t, []vmCase{
		{name: "network data only", mutate: noCloud(virtv1.CloudInitNoCloudSource{NetworkData: "version: 2"})},
		{name: "user data from a Secret", mutate: noCloud(virtv1.CloudInitNoCloudSource{UserDataSecretRef: ref("userdata")})},
		{
			name:   "no data",
			mutate: setScratch(virtv1.VolumeSource{CloudInitConfigDrive: &virtv1.CloudInitConfigDriveSource{}}),
			want:   []wantErr{{field.ErrorTypeRequired, vol2 + ".cloudInitConfigDrive"}},
		},
		{
			name:   "a Secret reference without name is no data",
			mutate: noCloud(virtv1.CloudInitNoCloudSource{UserDataSecretRef: ref("")}),
			want:   []wantErr{{field.ErrorTypeRequired, ciPath}},
		},
		{
			name:   "two user data sources",
			mutate: noCloud(virtv1.CloudInitNoCloudSource{UserData: "#cloud-config", UserDataBase64: "I2Nsb3VkLWNvbmZpZw=="}),
			want:   []wantErr{{field.ErrorTypeForbidden, ciPath}},
		},
		{
			name:   "two network data sources",
			mutate: noCloud(virtv1.CloudInitNoCloudSource{NetworkData: "version: 2", NetworkDataSecretRef: ref("net")}),
			want:   []wantErr{{field.ErrorTypeForbidden, ciPath}},
		},
		{
			name:   "user data that is not base64",
			mutate: noCloud(virtv1.CloudInitNoCloudSource{UserDataBase64: "not base64!"}),
			want:   []wantErr{{field.ErrorTypeInvalid, ciPath + ".userDataBase64"}},
		},
		{
			name: "inline data over 2048 bytes",
			mutate: noCloud(virtv1.CloudInitNoCloudSource{
				UserData:          strings.Repeat("a", 2049),
				NetworkDataBase64: base64.StdEncoding.EncodeToString([]byte(strings.Repeat("b", 2049))),
			}),
			want: []wantErr{
				{field.ErrorTypeTooLong, ciPath + ".userData"},
				{field.ErrorTypeTooLong, ciPath + ".networkDataBase64"},
			},
		},
		{
			name:   "inline data of exactly 2048 bytes",
			mutate: noCloud(virtv1.CloudInitNoCloudSource{UserData: strings.Repeat("a", 2048)}),
		},
	})
}
