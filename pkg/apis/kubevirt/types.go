package kubevirt

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// These are the internal types of the kubevirt.io group: the form that the
// registry, the strategy and the lifecycle actions work on. They mirror
// kubevirt.io/v1 field for field; the wire names live in package v1.

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

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// VirtualMachine is a virtual machine whose instance is started, stopped and
// restarted according to its run strategy.
type VirtualMachine struct {
	metav1.TypeMeta
	// Standard object metadata.
	metav1.ObjectMeta

	// Spec is the desired state of the VM.
	Spec VirtualMachineSpec
	// Status is the state of the VM as reported by its runtime.
	Status VirtualMachineStatus
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// VirtualMachineList is a list of VirtualMachines.
type VirtualMachineList struct {
	metav1.TypeMeta
	// Standard list metadata.
	metav1.ListMeta
	// Items is the list of VirtualMachines.
	Items []VirtualMachine
}

// VirtualMachineSpec is the desired state of a VirtualMachine.
type VirtualMachineSpec struct {
	// Running is the deprecated boolean form of the run strategy: true means
	// Always and false means Halted. It must not be set together with
	// runStrategy; use runStrategy instead.
	Running *bool

	// RunStrategy is how the VM's instance is kept running. One of Always,
	// RerunOnFailure, Once, Manual or Halted.
	RunStrategy *RunStrategy

	// Template is the spec of the instance that the VM runs.
	Template *VirtualMachineInstanceTemplateSpec
}

// VirtualMachineInstanceTemplateSpec describes the instance a VM creates.
type VirtualMachineInstanceTemplateSpec struct {
	// Metadata of the instance; labels and annotations are carried over.
	ObjectMeta metav1.ObjectMeta
	// Spec of the instance.
	Spec VirtualMachineInstanceSpec
}

// VirtualMachineInstanceSpec is the specification of a VM instance.
type VirtualMachineInstanceSpec struct {
	// Domain is the virtual hardware of the instance.
	Domain DomainSpec

	// NodeSelector must match a node's labels for the instance to be scheduled there.
	NodeSelector map[string]string
	// Affinity constrains where the instance may be scheduled.
	Affinity *corev1.Affinity
	// Tolerations let the instance be scheduled on tainted nodes.
	Tolerations []corev1.Toleration
	// EvictionStrategy says what happens to the instance when its node is drained.
	EvictionStrategy *EvictionStrategy
	// TerminationGracePeriodSeconds is how long the guest gets to shut down.
	TerminationGracePeriodSeconds *int64
	// Volumes are the storage that the instance's disks refer to.
	Volumes []Volume
	// Hostname of the guest; defaults to the VM's name.
	Hostname string
	// Subdomain makes the guest's fully qualified name
	// "<hostname>.<subdomain>.<namespace>.svc.<cluster domain>".
	Subdomain string
	// Networks are the networks that the instance's interfaces attach to.
	Networks []Network
}

// DomainSpec is the virtual hardware of an instance.
type DomainSpec struct {
	// Resources are the compute resources requested for the instance.
	Resources ResourceRequirements
	// CPU is the guest's CPU topology.
	CPU *CPU
	// Memory is the guest's memory.
	Memory *Memory
	// Machine is the emulated machine type.
	Machine *Machine
	// Firmware is the guest's firmware.
	Firmware *Firmware
	// Devices are the guest's devices.
	Devices Devices
}

// ResourceRequirements are the compute resources of an instance.
type ResourceRequirements struct {
	// Requests are the minimum resources the instance needs.
	Requests corev1.ResourceList
	// Limits are the most resources the instance may use.
	Limits corev1.ResourceList
	// OvercommitGuestOverhead lets the instance's overhead be overcommitted.
	OvercommitGuestOverhead bool
}

// CPU is the guest's CPU topology.
type CPU struct {
	// Cores per socket.
	Cores uint32
	// Sockets of the guest.
	Sockets uint32
	// Threads per core.
	Threads uint32
	// Model is the CPU model, or host-model or host-passthrough.
	Model string
	// DedicatedCPUPlacement pins the guest's vCPUs to dedicated host CPUs.
	DedicatedCPUPlacement bool
}

// Memory is the guest's memory.
type Memory struct {
	// Guest is the amount of memory the guest sees.
	Guest *resource.Quantity
}

// Machine is the emulated machine type.
type Machine struct {
	// Type is the machine type, for example q35.
	Type string
}

// Firmware is the guest's firmware.
type Firmware struct {
	// UUID is the system UUID of the guest.
	UUID types.UID
	// Bootloader selects BIOS or EFI.
	Bootloader *Bootloader
	// Serial is the system serial number of the guest.
	Serial string
}

// Bootloader selects BIOS or EFI; at most one may be set.
type Bootloader struct {
	// BIOS boots the guest with a legacy BIOS.
	BIOS *BIOS
	// EFI boots the guest with EFI.
	EFI *EFI
}

// BIOS configures a legacy BIOS.
type BIOS struct {
	// UseSerial sends the BIOS output to the serial console.
	UseSerial *bool
}

// EFI configures EFI firmware.
type EFI struct {
	// SecureBoot enables EFI secure boot.
	SecureBoot *bool
	// Persistent keeps the EFI variables across reboots.
	Persistent *bool
}

// Devices are the guest's devices.
type Devices struct {
	// Disks are the guest's disks; each names a volume.
	Disks []Disk
	// Interfaces are the guest's network interfaces; each names a network.
	Interfaces []Interface
	// Rng gives the guest a virtio random number generator.
	Rng *Rng
	// AutoattachPodInterface adds a pod network interface when none is given.
	AutoattachPodInterface *bool
	// AutoattachGraphicsDevice adds a graphics device.
	AutoattachGraphicsDevice *bool
}

// Rng is a virtio random number generator.
type Rng struct{}

// Disk is a guest disk backed by the volume of the same name.
type Disk struct {
	// Name of the disk; it must match a volume's name.
	Name string
	// DiskDevice is how the disk is presented to the guest.
	DiskDevice
	// BootOrder is the disk's place in the boot order, starting at 1.
	BootOrder *uint
	// Serial is the disk's serial number.
	Serial string
	// Cache is the disk's cache mode: none, writethrough or writeback.
	Cache string
}

// DiskDevice is how a disk is presented to the guest; at most one is set.
type DiskDevice struct {
	// Disk presents the volume as a disk.
	Disk *DiskTarget
	// LUN presents the volume as a SCSI LUN.
	LUN *LunTarget
	// CDRom presents the volume as a CD-ROM.
	CDRom *CDRomTarget
}

// DiskTarget presents a volume as a disk.
type DiskTarget struct {
	// Bus is the disk's bus: virtio, sata, scsi or usb.
	Bus string
	// ReadOnly makes the disk read-only.
	ReadOnly bool
}

// LunTarget presents a volume as a SCSI LUN.
type LunTarget struct {
	// Bus is the LUN's bus.
	Bus string
	// ReadOnly makes the LUN read-only.
	ReadOnly bool
}

// CDRomTarget presents a volume as a CD-ROM.
type CDRomTarget struct {
	// Bus is the CD-ROM's bus.
	Bus string
	// ReadOnly makes the CD-ROM read-only; it defaults to true.
	ReadOnly *bool
	// Tray is open or closed.
	Tray string
}

// Interface is a guest network interface attached to the network of the same name.
type Interface struct {
	// Name of the interface; it must match a network's name.
	Name string
	// Model is the emulated NIC model, for example virtio or e1000.
	Model string
	// InterfaceBindingMethod is how the interface is connected.
	InterfaceBindingMethod
	// MacAddress is the interface's MAC address.
	MacAddress string
	// Ports are the ports forwarded to the guest; all ports when empty.
	Ports []Port
}

// InterfaceBindingMethod is how an interface is connected; at most one is set.
type InterfaceBindingMethod struct {
	// Bridge connects the interface to a bridge.
	Bridge *InterfaceBridge
	// Masquerade connects the interface through NAT.
	Masquerade *InterfaceMasquerade
}

// InterfaceBridge connects an interface to a bridge.
type InterfaceBridge struct{}

// InterfaceMasquerade connects an interface through NAT.
type InterfaceMasquerade struct{}

// Port is a port forwarded to the guest.
type Port struct {
	// Name of the port.
	Name string
	// Protocol is TCP or UDP; it defaults to TCP.
	Protocol string
	// Port number.
	Port int32
}

// Volume is storage that a disk refers to by name.
type Volume struct {
	// Name of the volume; disks refer to it by this name.
	Name string
	// VolumeSource is where the volume's data comes from.
	VolumeSource
}

// VolumeSource is where a volume's data comes from; exactly one is set.
type VolumeSource struct {
	// ContainerDisk is a disk image shipped in a container image.
	ContainerDisk *ContainerDiskSource
	// CloudInitNoCloud is cloud-init user and network data in NoCloud format.
	CloudInitNoCloud *CloudInitNoCloudSource
	// CloudInitConfigDrive is cloud-init user and network data in ConfigDrive format.
	CloudInitConfigDrive *CloudInitConfigDriveSource
	// PersistentVolumeClaim attaches a PVC in the VM's namespace.
	PersistentVolumeClaim *PersistentVolumeClaimVolumeSource
	// DataVolume attaches a CDI DataVolume in the VM's namespace.
	DataVolume *DataVolumeSource
	// EmptyDisk is a sparse, temporary disk.
	EmptyDisk *EmptyDiskSource
	// Secret attaches a Secret as a disk.
	Secret *SecretVolumeSource
	// ConfigMap attaches a ConfigMap as a disk.
	ConfigMap *ConfigMapVolumeSource
}

// ContainerDiskSource is a disk image shipped in a container image.
type ContainerDiskSource struct {
	// Image is the container image that holds the disk.
	Image string
	// ImagePullSecret names the secret used to pull the image.
	ImagePullSecret string
	// Path of the disk image inside the container image.
	Path string
	// ImagePullPolicy is Always, Never or IfNotPresent.
	ImagePullPolicy corev1.PullPolicy
}

// CloudInitNoCloudSource is cloud-init data in NoCloud format.
type CloudInitNoCloudSource struct {
	// UserDataSecretRef names a secret that holds the user data.
	UserDataSecretRef *corev1.LocalObjectReference
	// UserDataBase64 is the user data, base64 encoded.
	UserDataBase64 string
	// UserData is the user data.
	UserData string
	// NetworkDataSecretRef names a secret that holds the network data.
	NetworkDataSecretRef *corev1.LocalObjectReference
	// NetworkDataBase64 is the network data, base64 encoded.
	NetworkDataBase64 string
	// NetworkData is the network data.
	NetworkData string
}

// CloudInitConfigDriveSource is cloud-init data in ConfigDrive format.
type CloudInitConfigDriveSource struct {
	// UserDataSecretRef names a secret that holds the user data.
	UserDataSecretRef *corev1.LocalObjectReference
	// UserDataBase64 is the user data, base64 encoded.
	UserDataBase64 string
	// UserData is the user data.
	UserData string
	// NetworkDataSecretRef names a secret that holds the network data.
	NetworkDataSecretRef *corev1.LocalObjectReference
	// NetworkDataBase64 is the network data, base64 encoded.
	NetworkDataBase64 string
	// NetworkData is the network data.
	NetworkData string
}

// PersistentVolumeClaimVolumeSource attaches a PVC.
type PersistentVolumeClaimVolumeSource struct {
	// ClaimName is the name of the PVC in the VM's namespace.
	ClaimName string
	// ReadOnly attaches the PVC read-only.
	ReadOnly bool
	// Hotpluggable marks the volume as hot-pluggable.
	Hotpluggable bool
}

// DataVolumeSource attaches a CDI DataVolume.
type DataVolumeSource struct {
	// Name of the DataVolume in the VM's namespace.
	Name string
	// Hotpluggable marks the volume as hot-pluggable.
	Hotpluggable bool
}

// EmptyDiskSource is a sparse, temporary disk.
type EmptyDiskSource struct {
	// Capacity is the size of the disk.
	Capacity resource.Quantity
}

// SecretVolumeSource attaches a Secret as a disk.
type SecretVolumeSource struct {
	// SecretName is the name of the Secret in the VM's namespace.
	SecretName string
	// Optional lets the VM start when the Secret does not exist.
	Optional *bool
	// VolumeLabel is the label of the disk's file system.
	VolumeLabel string
}

// ConfigMapVolumeSource attaches a ConfigMap as a disk.
type ConfigMapVolumeSource struct {
	// Name of the ConfigMap in the VM's namespace.
	Name string
	// Optional lets the VM start when the ConfigMap does not exist.
	Optional *bool
	// VolumeLabel is the label of the disk's file system.
	VolumeLabel string
}

// Network is a network that interfaces attach to by name.
type Network struct {
	// Name of the network; interfaces refer to it by this name.
	Name string
	// NetworkSource is the kind of network; exactly one is set.
	NetworkSource
}

// NetworkSource is the kind of a network; exactly one is set.
type NetworkSource struct {
	// Pod is the pod network.
	Pod *PodNetwork
	// Multus is a secondary network defined by a NetworkAttachmentDefinition.
	Multus *MultusNetwork
}

// PodNetwork is the pod network.
type PodNetwork struct {
	// VMNetworkCIDR is the IPv4 CIDR of the guest's side of a masquerade interface.
	VMNetworkCIDR string
	// VMIPv6NetworkCIDR is the IPv6 CIDR of the guest's side of a masquerade interface.
	VMIPv6NetworkCIDR string
}

// MultusNetwork is a secondary network defined by a NetworkAttachmentDefinition.
type MultusNetwork struct {
	// NetworkName is the NetworkAttachmentDefinition, as "name" or "namespace/name".
	NetworkName string
	// Default makes this the default route instead of the pod network.
	Default bool
}

// VirtualMachineStatus is the state of a VM as reported by its runtime.
type VirtualMachineStatus struct {
	// Created is true when an instance exists for the VM.
	Created bool
	// Ready is true when the instance is running and ready.
	Ready bool
	// PrintableStatus is the VM's state in a word, as kubectl shows it.
	PrintableStatus PrintableStatus
	// RunStrategy is the run strategy that the runtime last acted on.
	RunStrategy RunStrategy
	// Conditions are the VM's conditions, such as Ready.
	Conditions []VirtualMachineCondition
	// StateChangeRequests are start and stop requests waiting for the runtime.
	StateChangeRequests []VirtualMachineStateChangeRequest
	// ObservedGeneration is the generation that the runtime last acted on.
	ObservedGeneration int64
}

// VirtualMachineStateChangeRequest asks the runtime to start or stop the instance.
type VirtualMachineStateChangeRequest struct {
	// Action is Start or Stop.
	Action StateChangeRequestAction
	// Data holds the request's options, such as gracePeriodSeconds or paused.
	Data map[string]string
	// UID is the instance that a Stop request applies to.
	UID *types.UID
}

// VirtualMachineCondition is a condition of a VM.
type VirtualMachineCondition struct {
	// Type of the condition, such as Ready.
	Type VirtualMachineConditionType
	// Status is True, False or Unknown.
	Status corev1.ConditionStatus
	// LastProbeTime is when the condition was last probed.
	LastProbeTime metav1.Time
	// LastTransitionTime is when the condition last changed status.
	LastTransitionTime metav1.Time
	// Reason is a one-word reason for the condition.
	Reason string
	// Message says in words why the condition has its status.
	Message string
}
