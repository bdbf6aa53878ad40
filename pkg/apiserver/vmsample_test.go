package apiserver

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	k8sv1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	virtv1 "kubevirt.io/api/core/v1"
	cdiv1 "kubevirt.io/containerized-data-importer-api/pkg/apis/core/v1beta1"
)

// sampleVM is a VirtualMachine of the size and shape users send: several
// disks, interfaces and volumes, cloud-init, affinity, a data volume template.
func sampleVM() *virtv1.VirtualMachine {
	var disks []virtv1.Disk
	var volumes []virtv1.Volume
	for i, name := range []string{"rootdisk", "datadisk", "scratch", "logs", "db", "wal", "backup"} {
		disks = append(disks, virtv1.Disk{Name: name, BootOrder: ptr.To(uint(i + 1)), Serial: fmt.Sprintf("SN-%04d", i),
			DiskDevice: virtv1.DiskDevice{Disk: &virtv1.DiskTarget{Bus: virtv1.DiskBusVirtio}}, Cache: virtv1.CacheNone, IO: virtv1.IONative})
		source := virtv1.VolumeSource{DataVolume: &virtv1.DataVolumeSource{Name: "vm-sample-" + name}}
		if i >= 4 {
			source = virtv1.VolumeSource{PersistentVolumeClaim: &virtv1.PersistentVolumeClaimVolumeSource{
				PersistentVolumeClaimVolumeSource: k8sv1.PersistentVolumeClaimVolumeSource{ClaimName: "pvc-" + name}}}
		}
		volumes = append(volumes, virtv1.Volume{Name: name, VolumeSource: source})
	}
	disks = append(disks, virtv1.Disk{Name: "tools", DiskDevice: virtv1.DiskDevice{CDRom: &virtv1.CDRomTarget{Bus: virtv1.DiskBusSATA}}})
	volumes = append(volumes, virtv1.Volume{Name: "tools", VolumeSource: virtv1.VolumeSource{
		ContainerDisk: &virtv1.ContainerDiskSource{Image: "quay.io/containerdisks/tools:latest", ImagePullPolicy: k8sv1.PullIfNotPresent}}})
	disks = append(disks, virtv1.Disk{Name: "cloudinit", DiskDevice: virtv1.DiskDevice{Disk: &virtv1.DiskTarget{Bus: virtv1.DiskBusVirtio}}})
	volumes = append(volumes, virtv1.Volume{Name: "cloudinit", VolumeSource: virtv1.VolumeSource{CloudInitNoCloud: &virtv1.CloudInitNoCloudSource{
		UserData:    "#cloud-config\nuser: fedora\npassword: changeme\nchpasswd: { expire: False }\nssh_pwauth: true\npackages:\n  - qemu-guest-agent\nruncmd:\n  - systemctl enable --now qemu-guest-agent\n",
		NetworkData: "version: 2\nethernets:\n  eth0:\n    dhcp4: true\n  eth1:\n    addresses: [10.10.0.5/24]\n",
	}}})
	interfaces := []virtv1.Interface{
		{Name: "default", InterfaceBindingMethod: virtv1.InterfaceBindingMethod{Masquerade: &virtv1.InterfaceMasquerade{}},
			Ports: []virtv1.Port{{Name: "http", Port: 80}, {Name: "ssh", Port: 22}}},
		{Name: "storage", Model: "virtio", MacAddress: "02:00:00:00:00:02", InterfaceBindingMethod: virtv1.InterfaceBindingMethod{Bridge: &virtv1.InterfaceBridge{}},
			DHCPOptions: &virtv1.DHCPOptions{BootFileName: "pxe.efi", NTPServers: []string{"10.0.0.1", "10.0.0.2"}}},
		{Name: "backup", Model: "virtio", InterfaceBindingMethod: virtv1.InterfaceBindingMethod{Bridge: &virtv1.InterfaceBridge{}}},
	}
	networks := []virtv1.Network{
		{Name: "default", NetworkSource: virtv1.NetworkSource{Pod: &virtv1.PodNetwork{VMNetworkCIDR: "10.0.2.0/24"}}},
		{Name: "storage", NetworkSource: virtv1.NetworkSource{Multus: &virtv1.MultusNetwork{NetworkName: "storage-net"}}},
		{Name: "backup", NetworkSource: virtv1.NetworkSource{Multus: &virtv1.MultusNetwork{NetworkName: "backup-net"}}},
	}
	now := metav1.NewTime(time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC))
	term := k8sv1.PodAffinityTerm{TopologyKey: "kubernetes.io/hostname", LabelSelector: &metav1.LabelSelector{
		MatchLabels: map[string]string{"app": "sample"}}}
	return &virtv1.VirtualMachine{
		TypeMeta: metav1.TypeMeta{APIVersion: "kubevirt.io/v1", Kind: "VirtualMachine"},
		ObjectMeta: metav1.ObjectMeta{Name: "vm-sample", Namespace: "default",
			Labels: map[string]string{"app": "sample", "tier": "backend", "kubevirt.io/os": "fedora"},
			Annotations: map[string]string{"description": "a sample virtual machine", "kubevirt.io/latest-observed-api-version": "v1",
				"kubevirt.io/storage-observed-api-version": "v1", "owner": "team-databases", "cost-center": "cc-4711"},
			Finalizers: []string{"kubevirt.io/virtualMachineControllerFinalize"}},
		Status: virtv1.VirtualMachineStatus{Created: true, Ready: true, PrintableStatus: virtv1.VirtualMachineStatusRunning,
			Conditions: []virtv1.VirtualMachineCondition{
				{Type: virtv1.VirtualMachineReady, Status: k8sv1.ConditionTrue, LastTransitionTime: now},
				{Type: virtv1.VirtualMachineConditionType("LiveMigratable"), Status: k8sv1.ConditionFalse, LastTransitionTime: now,
					Reason: "DisksNotLiveMigratable", Message: "cannot migrate VMI: PVC pvc-db is not shared, live migration requires that all PVCs must be shared (using ReadWriteMany access mode)"}}},
		Spec: virtv1.VirtualMachineSpec{
			RunStrategy:  ptr.To(virtv1.RunStrategyAlways),
			Instancetype: &virtv1.InstancetypeMatcher{Name: "u1.large", Kind: "virtualmachineclusterinstancetype"},
			Preference:   &virtv1.PreferenceMatcher{Name: "fedora", Kind: "virtualmachineclusterpreference"},
			DataVolumeTemplates: []virtv1.DataVolumeTemplateSpec{{
				ObjectMeta: metav1.ObjectMeta{Name: "vm-sample-datadisk"},
				Spec: cdiv1.DataVolumeSpec{
					Source: &cdiv1.DataVolumeSource{Blank: &cdiv1.DataVolumeBlankImage{}},
					Storage: &cdiv1.StorageSpec{AccessModes: []k8sv1.PersistentVolumeAccessMode{k8sv1.ReadWriteMany}, StorageClassName: ptr.To("ceph-block"),
						Resources: k8sv1.VolumeResourceRequirements{Requests: k8sv1.ResourceList{k8sv1.ResourceStorage: resource.MustParse("100Gi")}}},
				},
			}, {
				ObjectMeta: metav1.ObjectMeta{Name: "vm-sample-rootdisk"},
				Spec: cdiv1.DataVolumeSpec{
					Source: &cdiv1.DataVolumeSource{Registry: &cdiv1.DataVolumeSourceRegistry{URL: ptr.To("docker://quay.io/containerdisks/fedora:41")}},
					Storage: &cdiv1.StorageSpec{AccessModes: []k8sv1.PersistentVolumeAccessMode{k8sv1.ReadWriteOnce},
						Resources: k8sv1.VolumeResourceRequirements{Requests: k8sv1.ResourceList{k8sv1.ResourceStorage: resource.MustParse("30Gi")}}},
				},
			}},
			Template: &virtv1.VirtualMachineInstanceTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "sample", "kubevirt.io/domain": "vm-sample"}},
				Spec: virtv1.VirtualMachineInstanceSpec{
					Domain: virtv1.DomainSpec{
						CPU:     &virtv1.CPU{Cores: 2, Sockets: 1, Threads: 1, Model: "host-passthrough"},
						Memory:  &virtv1.Memory{Guest: ptr.To(resource.MustParse("4Gi"))},
						Machine: &virtv1.Machine{Type: "q35"},
						Resources: virtv1.ResourceRequirements{
							Requests: k8sv1.ResourceList{k8sv1.ResourceMemory: resource.MustParse("4Gi"), k8sv1.ResourceCPU: resource.MustParse("2")},
							Limits:   k8sv1.ResourceList{k8sv1.ResourceMemory: resource.MustParse("4Gi")}},
						Features: &virtv1.Features{ACPI: virtv1.FeatureState{Enabled: ptr.To(true)}, SMM: &virtv1.FeatureState{Enabled: ptr.To(true)}},
						Firmware: &virtv1.Firmware{Bootloader: &virtv1.Bootloader{EFI: &virtv1.EFI{SecureBoot: ptr.To(true)}}},
						Clock:    &virtv1.Clock{ClockOffset: virtv1.ClockOffset{UTC: &virtv1.ClockOffsetUTC{}}, Timer: &virtv1.Timer{RTC: &virtv1.RTCTimer{TickPolicy: virtv1.RTCTickPolicyCatchup}}},
						Devices:  virtv1.Devices{Disks: disks, Interfaces: interfaces, Rng: &virtv1.Rng{}, AutoattachGraphicsDevice: ptr.To(false)},
					},
					NodeSelector: map[string]string{"kubernetes.io/arch": "amd64"},
					Affinity: &k8sv1.Affinity{
						NodeAffinity: &k8sv1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &k8sv1.NodeSelector{
							NodeSelectorTerms: []k8sv1.NodeSelectorTerm{{MatchExpressions: []k8sv1.NodeSelectorRequirement{
								{Key: "node-role.kubernetes.io/worker", Operator: k8sv1.NodeSelectorOpExists},
								{Key: "topology.kubernetes.io/zone", Operator: k8sv1.NodeSelectorOpIn, Values: []string{"zone-a", "zone-b"}}}}}}},
						PodAntiAffinity: &k8sv1.PodAntiAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []k8sv1.WeightedPodAffinityTerm{
							{Weight: 100, PodAffinityTerm: term}}},
					},
					Tolerations: []k8sv1.Toleration{{Key: "dedicated", Operator: k8sv1.TolerationOpEqual, Value: "vms", Effect: k8sv1.TaintEffectNoSchedule},
						{Key: "node.kubernetes.io/unreachable", Operator: k8sv1.TolerationOpExists, Effect: k8sv1.TaintEffectNoExecute, TolerationSeconds: ptr.To(int64(300))}},
					TopologySpreadConstraints: []k8sv1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: "topology.kubernetes.io/zone",
						WhenUnsatisfiable: k8sv1.ScheduleAnyway, LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "sample"}}}},
					ReadinessProbe: &virtv1.Probe{Handler: virtv1.Handler{TCPSocket: &k8sv1.TCPSocketAction{Port: intstr.FromInt32(22)}},
						InitialDelaySeconds: 30, PeriodSeconds: 10, FailureThreshold: 3},
					EvictionStrategy:              ptr.To(virtv1.EvictionStrategyLiveMigrate),
					TerminationGracePeriodSeconds: ptr.To(int64(180)),
					Volumes:                       volumes,
					Networks:                      networks,
					DNSConfig:                     &k8sv1.PodDNSConfig{Nameservers: []string{"10.0.0.10"}, Searches: []string{"default.svc.cluster.local"}},
					AccessCredentials: []virtv1.AccessCredential{{SSHPublicKey: &virtv1.SSHPublicKeyAccessCredential{
						Source:            virtv1.SSHPublicKeyAccessCredentialSource{Secret: &virtv1.AccessCredentialSecretSource{SecretName: "my-ssh-keys"}},
						PropagationMethod: virtv1.SSHPublicKeyAccessCredentialPropagationMethod{NoCloud: &virtv1.NoCloudSSHPublicKeyAccessCredentialPropagation{}}}}},
				},
			},
		},
	}
}

func sampleVMJSON(tb testing.TB) []byte {
	tb.Helper()
	data, err := json.Marshal(sampleVM())
	require.NoError(tb, err)
	return data
}

// inject inserts extra right after the first occurrence of anchor, or right
// before it when extra ends in a comma.
func inject(tb testing.TB, doc []byte, anchor, extra string) []byte {
	tb.Helper()
	s := string(doc)
	i := strings.Index(s, anchor)
	require.GreaterOrEqual(tb, i, 0, fmt.Sprintf("anchor %s not in document", anchor))
	if !strings.HasSuffix(extra, ",") {
		i += len(anchor)
	}
	return []byte(s[:i] + extra + s[i:])
}
