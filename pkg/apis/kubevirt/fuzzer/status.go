package fuzzer

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	virtv1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
)

var printableStatuses = []virtv1.VirtualMachinePrintableStatus{
	virtv1.VirtualMachineStatusStopped, virtv1.VirtualMachineStatusProvisioning, virtv1.VirtualMachineStatusStarting,
	virtv1.VirtualMachineStatusRunning, virtv1.VirtualMachineStatusPaused, virtv1.VirtualMachineStatusStopping,
	virtv1.VirtualMachineStatusTerminating, virtv1.VirtualMachineStatusCrashLoopBackOff, virtv1.VirtualMachineStatusMigrating,
	virtv1.VirtualMachineStatusUnknown, virtv1.VirtualMachineStatusUnschedulable, virtv1.VirtualMachineStatusErrImagePull,
	virtv1.VirtualMachineStatusImagePullBackOff, virtv1.VirtualMachineStatusPvcNotFound, virtv1.VirtualMachineStatusDataVolumeError,
	virtv1.VirtualMachineStatusWaitingForVolumeBinding, virtv1.VirtualMachineStatusWaitingForReceiver,
}

var conditionTypes = []virtv1.VirtualMachineConditionType{
	virtv1.VirtualMachineFailure, virtv1.VirtualMachineReady, virtv1.VirtualMachinePaused,
	virtv1.VirtualMachineRestartRequired, virtv1.VirtualMachineManualRecoveryRequired, "LiveMigratable", "AgentConnected",
}

// status fills a status at random and then makes the parts that validation
// reads well-formed: the run strategy, the generations, the conditions, the
// state change requests and the hotplug volume requests.
func (g *generator) status() virtv1.VirtualMachineStatus {
	var s virtv1.VirtualMachineStatus
	g.fill(&s)
	// Known values keep the status realistic; validation would take any short one.
	s.PrintableStatus = pick(g, printableStatuses...)
	s.RunStrategy = pick(g, append([]virtv1.VirtualMachineRunStrategy{""}, kubevirt.SupportedRunStrategies...)...)
	s.ObservedGeneration = int64(g.intn(1000))
	// The controller desires a generation it has not yet observed, or the same.
	s.DesiredGeneration = s.ObservedGeneration + int64(g.intn(3))

	// Condition types are unique: take a random window of the known ones.
	first := g.intn(len(conditionTypes))
	for i := range s.Conditions {
		s.Conditions[i].Type = conditionTypes[(first+i)%len(conditionTypes)]
		s.Conditions[i].Status = pick(g, corev1.ConditionTrue, corev1.ConditionFalse, corev1.ConditionUnknown)
	}
	for i := range s.StateChangeRequests {
		s.StateChangeRequests[i].Action = pick(g, virtv1.StartRequest, virtv1.StopRequest)
	}
	for i := range s.VolumeRequests {
		g.volumeRequest(&s.VolumeRequests[i], i)
	}
	normalize(&s)
	return s
}

// volumeRequest makes request i add or remove its own volume; an added one
// comes with a hotpluggable disk and a single source.
func (g *generator) volumeRequest(req *virtv1.VirtualMachineVolumeRequest, i int) {
	name := fmt.Sprintf("hotplug-%d", i)
	if req.AddVolumeOptions == nil || (req.RemoveVolumeOptions != nil && g.chance(.5)) {
		req.AddVolumeOptions = nil
		req.RemoveVolumeOptions = orNew(req.RemoveVolumeOptions)
		req.RemoveVolumeOptions.Name = name
		return
	}
	req.RemoveVolumeOptions = nil
	add := req.AddVolumeOptions
	add.Name = name
	// Exactly one of the two claim sources.
	src := orNew(add.VolumeSource)
	if src.PersistentVolumeClaim != nil && (src.DataVolume == nil || g.chance(.5)) {
		src.DataVolume = nil
		src.PersistentVolumeClaim.ClaimName = g.label()
	} else {
		src.PersistentVolumeClaim = nil
		src.DataVolume = orNew(src.DataVolume)
		src.DataVolume.Name = g.label()
	}
	add.VolumeSource = src

	// A hotplugged disk is a disk on scsi or virtio, or a LUN on scsi.
	disk := orNew(add.Disk)
	disk.Name = name
	disk.DiskDevice = virtv1.DiskDevice{}
	if g.chance(.7) {
		disk.Disk = &virtv1.DiskTarget{Bus: pick(g, virtv1.DiskBusSCSI, virtv1.DiskBusVirtio), ReadOnly: g.chance(.3)}
		if disk.Disk.Bus == virtv1.DiskBusVirtio && g.chance(.5) {
			disk.Disk.PciAddress = fmt.Sprintf("0000:%02x:%02x.0", g.intn(256), g.intn(32))
		}
	} else {
		disk.LUN = &virtv1.LunTarget{Bus: virtv1.DiskBusSCSI, ReadOnly: g.chance(.3), Reservation: g.chance(.3)}
	}
	if disk.Disk == nil || disk.Disk.Bus != virtv1.DiskBusVirtio {
		disk.DedicatedIOThread = optional(g, false)
	}
	if disk.BootOrder != nil {
		*disk.BootOrder = uint(g.between(1, 10))
	}
	add.Disk = disk
}
