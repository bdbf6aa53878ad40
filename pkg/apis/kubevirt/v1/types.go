package v1

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// The JSON names below are KubeVirt's, so that KubeVirt clients and manifests
// work unchanged. Only a subset of KubeVirt's VirtualMachineInstance spec is
// modelled; unknown fields follow the server's field validation setting.

// RunStrategy names how the VM's instance should be kept running.
type RunStrategy string

// The supported run strategies.
const (
	RunStrategyAlways         RunStrategy = "Always"
	RunStrategyRerunOnFailure RunStrategy = "RerunOnFailure"
	RunStrategyOnce           RunStrategy = "Once"
	RunStrategyManual         RunStrategy = "Manual"
	RunStrategyHalted         RunStrategy = "Halted"
)

// PrintableStatus is the human readable state of a VM, as shown by kubectl.
type PrintableStatus string

// The printable statuses that vm-apiserver and its runtimes use.
const (
	PrintableStatusStopped  PrintableStatus = "Stopped"
	PrintableStatusStarting PrintableStatus = "Starting"
	PrintableStatusRunning  PrintableStatus = "Running"
	PrintableStatusPaused   PrintableStatus = "Paused"
	PrintableStatusStopping PrintableStatus = "Stopping"
)

// StateChangeRequestAction is the action a state change request asks for.
type StateChangeRequestAction string

// The state change request actions.
const (
	StartRequest StateChangeRequestAction = "Start"
	StopRequest  StateChangeRequestAction = "Stop"
)

// VirtualMachineConditionType names a condition of a VM.
type VirtualMachineConditionType string

// The condition types set by runtimes.
const (
	VirtualMachineReady  VirtualMachineConditionType = "Ready"
	VirtualMachinePaused VirtualMachineConditionType = "Paused"
)

// EvictionStrategy says what happens to a VM when its node is drained.
type EvictionStrategy string

// +genclient
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// VirtualMachine is a virtual machine whose instance is started, stopped and
// restarted according to its run strategy.
type VirtualMachine struct {
	metav1.TypeMeta `json:",inline"`
	// Standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the desired state of the VM.
	Spec VirtualMachineSpec `json:"spec"`
	// Status is the state of the VM as reported by its runtime.
	// +optional
	Status VirtualMachineStatus `json:"status,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// VirtualMachineList is a list of VirtualMachines.
type VirtualMachineList struct {
	metav1.TypeMeta `json:",inline"`
	// Standard list metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items is the list of VirtualMachines.
	Items []VirtualMachine `json:"items"`
}

// VirtualMachineSpec is the desired state of a VirtualMachine.
type VirtualMachineSpec struct {
	// Running is the deprecated boolean form of the run strategy: true means
	// Always and false means Halted. It must not be set together with
	// runStrategy; use runStrategy instead.
	// +optional
	Running *bool `json:"running,omitempty"`

	// RunStrategy is how the VM's instance is kept running. One of Always,
	// RerunOnFailure, Once, Manual or Halted.
	// +optional
	RunStrategy *RunStrategy `json:"runStrategy,omitempty"`

	// Template is the spec of the instance that the VM runs.
	Template *VirtualMachineInstanceTemplateSpec `json:"template"`
}

// VirtualMachineInstanceTemplateSpec describes the instance a VM creates.
type VirtualMachineInstanceTemplateSpec struct {
	// Metadata of the instance; labels and annotations are carried over.
	// +optional
	ObjectMeta metav1.ObjectMeta `json:"metadata,omitempty"`
	// Spec of the instance.
	// +optional
	Spec VirtualMachineInstanceSpec `json:"spec,omitempty"`
}

// VirtualMachineInstanceSpec is the specification of a VM instance.
type VirtualMachineInstanceSpec struct {
	// Domain is the virtual hardware of the instance.
	Domain DomainSpec `json:"domain"`

	// NodeSelector must match a node's labels for the instance to be scheduled there.
	// +optional
	// +mapType=atomic
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`
	// Affinity constrains where the instance may be scheduled.
	// +optional
	Affinity *corev1.Affinity `json:"affinity,omitempty"`
	// Tolerations let the instance be scheduled on tainted nodes.
	// +optional
	// +listType=atomic
	Tolerations []corev1.Toleration `json:"tolerations,omitempty"`
	// EvictionStrategy says what happens to the instance when its node is drained.
	// +optional
	EvictionStrategy *EvictionStrategy `json:"evictionStrategy,omitempty"`
	// TerminationGracePeriodSeconds is how long the guest gets to shut down.
	// +optional
	TerminationGracePeriodSeconds *int64 `json:"terminationGracePeriodSeconds,omitempty"`
	// Volumes are the storage that the instance's disks refer to.
	// +optional
	// +listType=map
	// +listMapKey=name
	Volumes []Volume `json:"volumes,omitempty"`
	// Hostname of the guest; defaults to the VM's name.
	// +optional
	Hostname string `json:"hostname,omitempty"`
	// Subdomain makes the guest's fully qualified name
	// "<hostname>.<subdomain>.<namespace>.svc.<cluster domain>".
	// +optional
	Subdomain string `json:"subdomain,omitempty"`
	// Networks are the networks that the instance's interfaces attach to.
	// +optional
	// +listType=map
	// +listMapKey=name
	Networks []Network `json:"networks,omitempty"`
}

// DomainSpec is the virtual hardware of an instance.
type DomainSpec struct {
	// Resources are the compute resources requested for the instance.
	// +optional
	Resources ResourceRequirements `json:"resources,omitempty"`
	// CPU is the guest's CPU topology.
	// +optional
	CPU *CPU `json:"cpu,omitempty"`
	// Memory is the guest's memory.
	// +optional
	Memory *Memory `json:"memory,omitempty"`
	// Machine is the emulated machine type.
	// +optional
	Machine *Machine `json:"machine,omitempty"`
	// Firmware is the guest's firmware.
	// +optional
	Firmware *Firmware `json:"firmware,omitempty"`
	// Devices are the guest's devices.
	Devices Devices `json:"devices"`
}

// ResourceRequirements are the compute resources of an instance.
type ResourceRequirements struct {
	// Requests are the minimum resources the instance needs.
	// +optional
	Requests corev1.ResourceList `json:"requests,omitempty"`
	// Limits are the most resources the instance may use.
	// +optional
	Limits corev1.ResourceList `json:"limits,omitempty"`
	// OvercommitGuestOverhead lets the instance's overhead be overcommitted.
	// +optional
	OvercommitGuestOverhead bool `json:"overcommitGuestOverhead,omitempty"`
}

// CPU is the guest's CPU topology.
type CPU struct {
	// Cores per socket.
	// +optional
	Cores uint32 `json:"cores,omitempty"`
	// Sockets of the guest.
	// +optional
	Sockets uint32 `json:"sockets,omitempty"`
	// Threads per core.
	// +optional
	Threads uint32 `json:"threads,omitempty"`
	// Model is the CPU model, or host-model or host-passthrough.
	// +optional
	Model string `json:"model,omitempty"`
	// DedicatedCPUPlacement pins the guest's vCPUs to dedicated host CPUs.
	// +optional
	DedicatedCPUPlacement bool `json:"dedicatedCpuPlacement,omitempty"`
}

// Memory is the guest's memory.
type Memory struct {
	// Guest is the amount of memory the guest sees.
	// +optional
	Guest *resource.Quantity `json:"guest,omitempty"`
}

// Machine is the emulated machine type.
type Machine struct {
	// Type is the machine type, for example q35.
	// +optional
	Type string `json:"type,omitempty"`
}

// Firmware is the guest's firmware.
type Firmware struct {
	// UUID is the system UUID of the guest.
	// +optional
	UUID types.UID `json:"uuid,omitempty"`
	// Bootloader selects BIOS or EFI.
	// +optional
	Bootloader *Bootloader `json:"bootloader,omitempty"`
	// Serial is the system serial number of the guest.
	// +optional
	Serial string `json:"serial,omitempty"`
}

// Bootloader selects BIOS or EFI; at most one may be set.
type Bootloader struct {
	// BIOS boots the guest with a legacy BIOS.
	// +optional
	BIOS *BIOS `json:"bios,omitempty"`
	// EFI boots the guest with EFI.
	// +optional
	EFI *EFI `json:"efi,omitempty"`
}

// BIOS configures a legacy BIOS.
type BIOS struct {
	// UseSerial sends the BIOS output to the serial console.
	// +optional
	UseSerial *bool `json:"useSerial,omitempty"`
}

// EFI configures EFI firmware.
type EFI struct {
	// SecureBoot enables EFI secure boot.
	// +optional
	SecureBoot *bool `json:"secureBoot,omitempty"`
	// Persistent keeps the EFI variables across reboots.
	// +optional
	Persistent *bool `json:"persistent,omitempty"`
}

// Devices are the guest's devices.
type Devices struct {
	// Disks are the guest's disks; each names a volume.
	// +optional
	// +listType=map
	// +listMapKey=name
	Disks []Disk `json:"disks,omitempty"`
	// Interfaces are the guest's network interfaces; each names a network.
	// +optional
	// +listType=map
	// +listMapKey=name
	Interfaces []Interface `json:"interfaces,omitempty"`
	// Rng gives the guest a virtio random number generator.
	// +optional
	Rng *Rng `json:"rng,omitempty"`
	// AutoattachPodInterface adds a pod network interface when none is given.
	// +optional
	AutoattachPodInterface *bool `json:"autoattachPodInterface,omitempty"`
	// AutoattachGraphicsDevice adds a graphics device.
	// +optional
	AutoattachGraphicsDevice *bool `json:"autoattachGraphicsDevice,omitempty"`
}

// Rng is a virtio random number generator.
type Rng struct{}

// Disk is a guest disk backed by the volume of the same name.
type Disk struct {
	// Name of the disk; it must match a volume's name.
	Name string `json:"name"`
	// DiskDevice is how the disk is presented to the guest.
	DiskDevice `json:",inline"`
	// BootOrder is the disk's place in the boot order, starting at 1.
	// +optional
	BootOrder *uint `json:"bootOrder,omitempty"`
	// Serial is the disk's serial number.
	// +optional
	Serial string `json:"serial,omitempty"`
	// Cache is the disk's cache mode: none, writethrough or writeback.
	// +optional
	Cache string `json:"cache,omitempty"`
}

// DiskDevice is how a disk is presented to the guest; at most one is set.
type DiskDevice struct {
	// Disk presents the volume as a disk.
	// +optional
	Disk *DiskTarget `json:"disk,omitempty"`
	// LUN presents the volume as a SCSI LUN.
	// +optional
	LUN *LunTarget `json:"lun,omitempty"`
	// CDRom presents the volume as a CD-ROM.
	// +optional
	CDRom *CDRomTarget `json:"cdrom,omitempty"`
}

// DiskTarget presents a volume as a disk.
type DiskTarget struct {
	// Bus is the disk's bus: virtio, sata, scsi or usb.
	// +optional
	Bus string `json:"bus,omitempty"`
	// ReadOnly makes the disk read-only.
	// +optional
	ReadOnly bool `json:"readonly,omitempty"`
}

// LunTarget presents a volume as a SCSI LUN.
type LunTarget struct {
	// Bus is the LUN's bus.
	// +optional
	Bus string `json:"bus,omitempty"`
	// ReadOnly makes the LUN read-only.
	// +optional
	ReadOnly bool `json:"readonly,omitempty"`
}

// CDRomTarget presents a volume as a CD-ROM.
type CDRomTarget struct {
	// Bus is the CD-ROM's bus.
	// +optional
	Bus string `json:"bus,omitempty"`
	// ReadOnly makes the CD-ROM read-only; it defaults to true.
	// +optional
	ReadOnly *bool `json:"readonly,omitempty"`
	// Tray is open or closed.
	// +optional
	Tray string `json:"tray,omitempty"`
}

// Interface is a guest network interface attached to the network of the same name.
type Interface struct {
	// Name of the interface; it must match a network's name.
	Name string `json:"name"`
	// Model is the emulated NIC model, for example virtio or e1000.
	// +optional
	Model string `json:"model,omitempty"`
	// InterfaceBindingMethod is how the interface is connected.
	InterfaceBindingMethod `json:",inline"`
	// MacAddress is the interface's MAC address.
	// +optional
	MacAddress string `json:"macAddress,omitempty"`
	// Ports are the ports forwarded to the guest; all ports when empty.
	// +optional
	// +listType=atomic
	Ports []Port `json:"ports,omitempty"`
}

// InterfaceBindingMethod is how an interface is connected; at most one is set.
type InterfaceBindingMethod struct {
	// Bridge connects the interface to a bridge.
	// +optional
	Bridge *InterfaceBridge `json:"bridge,omitempty"`
	// Masquerade connects the interface through NAT.
	// +optional
	Masquerade *InterfaceMasquerade `json:"masquerade,omitempty"`
}

// InterfaceBridge connects an interface to a bridge.
type InterfaceBridge struct{}

// InterfaceMasquerade connects an interface through NAT.
type InterfaceMasquerade struct{}

// Port is a port forwarded to the guest.
type Port struct {
	// Name of the port.
	// +optional
	Name string `json:"name,omitempty"`
	// Protocol is TCP or UDP; it defaults to TCP.
	// +optional
	Protocol string `json:"protocol,omitempty"`
	// Port number.
	Port int32 `json:"port"`
}

// Volume is storage that a disk refers to by name.
type Volume struct {
	// Name of the volume; disks refer to it by this name.
	Name string `json:"name"`
	// VolumeSource is where the volume's data comes from.
	VolumeSource `json:",inline"`
}

// VolumeSource is where a volume's data comes from; exactly one is set.
type VolumeSource struct {
	// ContainerDisk is a disk image shipped in a container image.
	// +optional
	ContainerDisk *ContainerDiskSource `json:"containerDisk,omitempty"`
	// CloudInitNoCloud is cloud-init user and network data in NoCloud format.
	// +optional
	CloudInitNoCloud *CloudInitNoCloudSource `json:"cloudInitNoCloud,omitempty"`
	// CloudInitConfigDrive is cloud-init user and network data in ConfigDrive format.
	// +optional
	CloudInitConfigDrive *CloudInitConfigDriveSource `json:"cloudInitConfigDrive,omitempty"`
	// PersistentVolumeClaim attaches a PVC in the VM's namespace.
	// +optional
	PersistentVolumeClaim *PersistentVolumeClaimVolumeSource `json:"persistentVolumeClaim,omitempty"`
	// DataVolume attaches a CDI DataVolume in the VM's namespace.
	// +optional
	DataVolume *DataVolumeSource `json:"dataVolume,omitempty"`
	// EmptyDisk is a sparse, temporary disk.
	// +optional
	EmptyDisk *EmptyDiskSource `json:"emptyDisk,omitempty"`
	// Secret attaches a Secret as a disk.
	// +optional
	Secret *SecretVolumeSource `json:"secret,omitempty"`
	// ConfigMap attaches a ConfigMap as a disk.
	// +optional
	ConfigMap *ConfigMapVolumeSource `json:"configMap,omitempty"`
}

// ContainerDiskSource is a disk image shipped in a container image.
type ContainerDiskSource struct {
	// Image is the container image that holds the disk.
	Image string `json:"image"`
	// ImagePullSecret names the secret used to pull the image.
	// +optional
	ImagePullSecret string `json:"imagePullSecret,omitempty"`
	// Path of the disk image inside the container image.
	// +optional
	Path string `json:"path,omitempty"`
	// ImagePullPolicy is Always, Never or IfNotPresent.
	// +optional
	ImagePullPolicy corev1.PullPolicy `json:"imagePullPolicy,omitempty"`
}

// CloudInitNoCloudSource is cloud-init data in NoCloud format.
type CloudInitNoCloudSource struct {
	// UserDataSecretRef names a secret that holds the user data.
	// +optional
	UserDataSecretRef *corev1.LocalObjectReference `json:"secretRef,omitempty"`
	// UserDataBase64 is the user data, base64 encoded.
	// +optional
	UserDataBase64 string `json:"userDataBase64,omitempty"`
	// UserData is the user data.
	// +optional
	UserData string `json:"userData,omitempty"`
	// NetworkDataSecretRef names a secret that holds the network data.
	// +optional
	NetworkDataSecretRef *corev1.LocalObjectReference `json:"networkDataSecretRef,omitempty"`
	// NetworkDataBase64 is the network data, base64 encoded.
	// +optional
	NetworkDataBase64 string `json:"networkDataBase64,omitempty"`
	// NetworkData is the network data.
	// +optional
	NetworkData string `json:"networkData,omitempty"`
}

// CloudInitConfigDriveSource is cloud-init data in ConfigDrive format.
type CloudInitConfigDriveSource struct {
	// UserDataSecretRef names a secret that holds the user data.
	// +optional
	UserDataSecretRef *corev1.LocalObjectReference `json:"secretRef,omitempty"`
	// UserDataBase64 is the user data, base64 encoded.
	// +optional
	UserDataBase64 string `json:"userDataBase64,omitempty"`
	// UserData is the user data.
	// +optional
	UserData string `json:"userData,omitempty"`
	// NetworkDataSecretRef names a secret that holds the network data.
	// +optional
	NetworkDataSecretRef *corev1.LocalObjectReference `json:"networkDataSecretRef,omitempty"`
	// NetworkDataBase64 is the network data, base64 encoded.
	// +optional
	NetworkDataBase64 string `json:"networkDataBase64,omitempty"`
	// NetworkData is the network data.
	// +optional
	NetworkData string `json:"networkData,omitempty"`
}

// PersistentVolumeClaimVolumeSource attaches a PVC.
type PersistentVolumeClaimVolumeSource struct {
	// ClaimName is the name of the PVC in the VM's namespace.
	ClaimName string `json:"claimName"`
	// ReadOnly attaches the PVC read-only.
	// +optional
	ReadOnly bool `json:"readOnly,omitempty"`
	// Hotpluggable marks the volume as hot-pluggable.
	// +optional
	Hotpluggable bool `json:"hotpluggable,omitempty"`
}

// DataVolumeSource attaches a CDI DataVolume.
type DataVolumeSource struct {
	// Name of the DataVolume in the VM's namespace.
	Name string `json:"name"`
	// Hotpluggable marks the volume as hot-pluggable.
	// +optional
	Hotpluggable bool `json:"hotpluggable,omitempty"`
}

// EmptyDiskSource is a sparse, temporary disk.
type EmptyDiskSource struct {
	// Capacity is the size of the disk.
	Capacity resource.Quantity `json:"capacity"`
}

// SecretVolumeSource attaches a Secret as a disk.
type SecretVolumeSource struct {
	// SecretName is the name of the Secret in the VM's namespace.
	// +optional
	SecretName string `json:"secretName,omitempty"`
	// Optional lets the VM start when the Secret does not exist.
	// +optional
	Optional *bool `json:"optional,omitempty"`
	// VolumeLabel is the label of the disk's file system.
	// +optional
	VolumeLabel string `json:"volumeLabel,omitempty"`
}

// ConfigMapVolumeSource attaches a ConfigMap as a disk.
type ConfigMapVolumeSource struct {
	// Name of the ConfigMap in the VM's namespace.
	// +optional
	Name string `json:"name,omitempty"`
	// Optional lets the VM start when the ConfigMap does not exist.
	// +optional
	Optional *bool `json:"optional,omitempty"`
	// VolumeLabel is the label of the disk's file system.
	// +optional
	VolumeLabel string `json:"volumeLabel,omitempty"`
}

// Network is a network that interfaces attach to by name.
type Network struct {
	// Name of the network; interfaces refer to it by this name.
	Name string `json:"name"`
	// NetworkSource is the kind of network; exactly one is set.
	NetworkSource `json:",inline"`
}

// NetworkSource is the kind of a network; exactly one is set.
type NetworkSource struct {
	// Pod is the pod network.
	// +optional
	Pod *PodNetwork `json:"pod,omitempty"`
	// Multus is a secondary network defined by a NetworkAttachmentDefinition.
	// +optional
	Multus *MultusNetwork `json:"multus,omitempty"`
}

// PodNetwork is the pod network.
type PodNetwork struct {
	// VMNetworkCIDR is the IPv4 CIDR of the guest's side of a masquerade interface.
	// +optional
	VMNetworkCIDR string `json:"vmNetworkCIDR,omitempty"`
	// VMIPv6NetworkCIDR is the IPv6 CIDR of the guest's side of a masquerade interface.
	// +optional
	VMIPv6NetworkCIDR string `json:"vmIPv6NetworkCIDR,omitempty"`
}

// MultusNetwork is a secondary network defined by a NetworkAttachmentDefinition.
type MultusNetwork struct {
	// NetworkName is the NetworkAttachmentDefinition, as "name" or "namespace/name".
	NetworkName string `json:"networkName"`
	// Default makes this the default route instead of the pod network.
	// +optional
	Default bool `json:"default,omitempty"`
}

// VirtualMachineStatus is the state of a VM as reported by its runtime.
type VirtualMachineStatus struct {
	// Created is true when an instance exists for the VM.
	// +optional
	Created bool `json:"created,omitempty"`
	// Ready is true when the instance is running and ready.
	// +optional
	Ready bool `json:"ready,omitempty"`
	// PrintableStatus is the VM's state in a word, as kubectl shows it.
	// +optional
	PrintableStatus PrintableStatus `json:"printableStatus,omitempty"`
	// RunStrategy is the run strategy that the runtime last acted on.
	// +optional
	RunStrategy RunStrategy `json:"runStrategy,omitempty"`
	// Conditions are the VM's conditions, such as Ready.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []VirtualMachineCondition `json:"conditions,omitempty"`
	// StateChangeRequests are start and stop requests waiting for the runtime.
	// +optional
	// +listType=atomic
	StateChangeRequests []VirtualMachineStateChangeRequest `json:"stateChangeRequests,omitempty"`
	// ObservedGeneration is the generation that the runtime last acted on.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
}

// VirtualMachineStateChangeRequest asks the runtime to start or stop the instance.
type VirtualMachineStateChangeRequest struct {
	// Action is Start or Stop.
	Action StateChangeRequestAction `json:"action"`
	// Data holds the request's options, such as gracePeriodSeconds or paused.
	// +optional
	Data map[string]string `json:"data,omitempty"`
	// UID is the instance that a Stop request applies to.
	// +optional
	UID *types.UID `json:"uid,omitempty"`
}

// VirtualMachineCondition is a condition of a VM.
type VirtualMachineCondition struct {
	// Type of the condition, such as Ready.
	Type VirtualMachineConditionType `json:"type"`
	// Status is True, False or Unknown.
	Status corev1.ConditionStatus `json:"status"`
	// LastProbeTime is when the condition was last probed.
	// +optional
	// +nullable
	LastProbeTime metav1.Time `json:"lastProbeTime,omitempty"`
	// LastTransitionTime is when the condition last changed status.
	// +optional
	// +nullable
	LastTransitionTime metav1.Time `json:"lastTransitionTime,omitempty"`
	// Reason is a one-word reason for the condition.
	// +optional
	Reason string `json:"reason,omitempty"`
	// Message says in words why the condition has its status.
	// +optional
	Message string `json:"message,omitempty"`
}
