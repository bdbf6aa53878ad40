package fuzzer

import (
	"encoding/base64"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	virtv1 "kubevirt.io/api/core/v1"
)

// volumeKinds are the sources a generated volume can have, by JSON name.
var volumeKinds = []string{
	"hostDisk", "persistentVolumeClaim", "cloudInitNoCloud", "cloudInitConfigDrive", "sysprep",
	"containerDisk", "ephemeral", "emptyDisk", "dataVolume", "configMap", "secret", "downwardAPI",
	"serviceAccount", "downwardMetrics", "memoryDump", "containerPath",
}

// singletonKinds may back one volume only.
var singletonKinds = map[string]bool{"serviceAccount": true, "downwardMetrics": true, "memoryDump": true}

// storage builds the volumes, one for each DataVolume template and a few
// more of random kinds, and presents them as disks or filesystems.
func (g *generator) storage(in *instance, dvNames []string) {
	spec := in.spec
	spec.Volumes = nil
	used := map[string]bool{}
	for _, dv := range dvNames {
		vol := virtv1.Volume{Name: g.name("vol")}
		if g.chance(.7) {
			vol.DataVolume = &virtv1.DataVolumeSource{Name: dv, Hotpluggable: g.chance(.3)}
		} else {
			vol.PersistentVolumeClaim = &virtv1.PersistentVolumeClaimVolumeSource{Hotpluggable: g.chance(.3)}
			vol.PersistentVolumeClaim.ClaimName = dv
		}
		spec.Volumes = append(spec.Volumes, vol)
	}
	// Kinds that may back one volume only are skipped when drawn twice.
	for range g.between(1, 6) {
		kind := pick(g, volumeKinds...)
		if singletonKinds[kind] && used[kind] {
			continue
		}
		used[kind] = true
		spec.Volumes = append(spec.Volumes, g.volume(in, kind))
	}

	devices := &spec.Domain.Devices
	// Each volume gets a disk or a filesystem, most of the time; a volume
	// without either is still valid, KubeVirt then adds a plain disk.
	devices.Disks, devices.Filesystems = nil, nil
	for i := range spec.Volumes {
		vol := &spec.Volumes[i]
		switch {
		case vol.MemoryDump != nil:
			// A memory dump target is attached by KubeVirt, not presented.
		case vol.ContainerPath != nil || (canBeFilesystem(vol) && g.chance(.3)):
			devices.Filesystems = append(devices.Filesystems, virtv1.Filesystem{Name: vol.Name, Virtiofs: &virtv1.FilesystemVirtiofs{}})
		case g.chance(.9):
			devices.Disks = append(devices.Disks, g.disk(vol.Name, vol))
		}
	}
	// An empty CD-ROM drive, waiting for a hotplugged volume.
	if g.chance(.2) {
		devices.Disks = append(devices.Disks, g.disk(g.name("cdrom"), nil))
	}
}

func canBeFilesystem(vol *virtv1.Volume) bool {
	return vol.ConfigMap != nil || vol.Secret != nil || vol.ServiceAccount != nil || vol.DownwardAPI != nil ||
		vol.PersistentVolumeClaim != nil || vol.DataVolume != nil
}

// volume builds a volume of the given kind with its required fields set.
func (g *generator) volume(in *instance, kind string) virtv1.Volume {
	vol := virtv1.Volume{Name: g.name("vol")}
	src := &vol.VolumeSource
	switch kind {
	case "hostDisk":
		src.HostDisk = fillNew[virtv1.HostDisk](g)
		src.HostDisk.Path = "/var/lib/vms/" + g.label() + ".img"
		src.HostDisk.Type = pick(g, virtv1.HostDiskExists, virtv1.HostDiskExistsOrCreate)
		src.HostDisk.Capacity = resource.Quantity{}
		if src.HostDisk.Type == virtv1.HostDiskExistsOrCreate {
			src.HostDisk.Capacity = *resource.NewQuantity(int64(g.between(1, 64))<<30, resource.BinarySI)
		}
	case "persistentVolumeClaim":
		src.PersistentVolumeClaim = fillNew[virtv1.PersistentVolumeClaimVolumeSource](g)
		src.PersistentVolumeClaim.ClaimName = g.label()
	case "cloudInitNoCloud":
		ci := fillNew[virtv1.CloudInitNoCloudSource](g)
		g.cloudInit(&ci.UserDataSecretRef, &ci.UserDataBase64, &ci.UserData, &ci.NetworkDataSecretRef, &ci.NetworkDataBase64, &ci.NetworkData)
		src.CloudInitNoCloud, in.noCloud = ci, true
	case "cloudInitConfigDrive":
		ci := fillNew[virtv1.CloudInitConfigDriveSource](g)
		g.cloudInit(&ci.UserDataSecretRef, &ci.UserDataBase64, &ci.UserData, &ci.NetworkDataSecretRef, &ci.NetworkDataBase64, &ci.NetworkData)
		src.CloudInitConfigDrive, in.configDrive = ci, true
	case "sysprep":
		src.Sysprep = &virtv1.SysprepSource{}
		if g.chance(.5) {
			src.Sysprep.Secret = &corev1.LocalObjectReference{Name: g.label()}
		} else {
			src.Sysprep.ConfigMap = &corev1.LocalObjectReference{Name: g.label()}
		}
	case "containerDisk":
		cd := fillNew[virtv1.ContainerDiskSource](g)
		cd.Image = pick(g, "quay.io/kubevirt/cirros-container-disk-demo", "registry.example.com/"+g.label()+":v1")
		cd.ImagePullPolicy = pick(g, "", corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever)
		cd.Path = pick(g, "", "/disk/"+g.label()+".qcow2")
		src.ContainerDisk = cd
	// A copy-on-write overlay over a claim.
	case "ephemeral":
		src.Ephemeral = &virtv1.EphemeralVolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{
			ClaimName: g.label(), ReadOnly: g.chance(.5),
		}}
	case "emptyDisk":
		src.EmptyDisk = &virtv1.EmptyDiskSource{Capacity: *resource.NewQuantity(int64(g.between(1, 16))<<30, resource.BinarySI)}
	case "dataVolume":
		src.DataVolume = &virtv1.DataVolumeSource{Name: g.label(), Hotpluggable: g.chance(.3)}
	case "configMap":
		src.ConfigMap = fillNew[virtv1.ConfigMapVolumeSource](g)
		src.ConfigMap.Name = g.label()
	case "secret":
		src.Secret = fillNew[virtv1.SecretVolumeSource](g)
		src.Secret.SecretName = g.label()
		in.secretVolumes = append(in.secretVolumes, vol.Name)
	case "downwardAPI":
		src.DownwardAPI = fillNew[virtv1.DownwardAPIVolumeSource](g)
		for i := range src.DownwardAPI.Fields {
			g.downwardAPIFile(&src.DownwardAPI.Fields[i])
		}
	// Remembered so that spec.serviceAccountName can agree with it.
	case "serviceAccount":
		src.ServiceAccount = &virtv1.ServiceAccountVolumeSource{ServiceAccountName: g.label()}
		in.serviceAccountVolume = src.ServiceAccount.ServiceAccountName
	case "downwardMetrics":
		src.DownwardMetrics = &virtv1.DownwardMetricsVolumeSource{}
	case "memoryDump":
		src.MemoryDump = fillNew[virtv1.MemoryDumpVolumeSource](g)
		src.MemoryDump.ClaimName = g.label()
	default: // containerPath
		src.ContainerPath = &virtv1.ContainerPathVolumeSource{Path: "/mnt/" + g.label(), ReadOnly: optional(g, g.chance(.5))}
	}
	return vol
}

// downwardAPIFile makes a projected file refer to a pod field or to a
// resource of the compute container, as the pod API requires.
func (g *generator) downwardAPIFile(f *corev1.DownwardAPIVolumeFile) {
	f.Path = g.label()
	if f.Mode != nil {
		*f.Mode = int32(g.intn(0o777))
	}
	if g.chance(.5) {
		f.FieldRef = &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: pick(g, "metadata.labels", "metadata.annotations", "metadata.name")}
		f.ResourceFieldRef = nil
	} else {
		f.FieldRef = nil
		f.ResourceFieldRef = &corev1.ResourceFieldSelector{
			ContainerName: "compute", Resource: pick(g, "limits.memory", "requests.cpu"),
			Divisor: resource.MustParse(pick(g, "1", "1Mi")),
		}
	}
}

// cloudInit picks where the user data and the network data come from: at
// most one place each, at least one of the two.
func (g *generator) cloudInit(userRef **corev1.LocalObjectReference, userB64, user *string,
	netRef **corev1.LocalObjectReference, netB64, net *string) {
	choose := func(ref **corev1.LocalObjectReference, b64, plain *string, what int, content string) {
		*ref, *b64, *plain = nil, "", ""
		switch what {
		case 1:
			*ref = &corev1.LocalObjectReference{Name: g.label()}
		case 2:
			*b64 = base64.StdEncoding.EncodeToString([]byte(content))
		case 3:
			*plain = content
		}
	}
	// 0 is no source; at least one of user and network data is needed.
	userSrc, netSrc := g.intn(4), g.intn(4)
	if userSrc == 0 && netSrc == 0 {
		userSrc = 3
	}
	choose(userRef, userB64, user, userSrc, "#cloud-config\nhostname: "+g.label()+"\n")
	choose(netRef, netB64, net, netSrc, "version: 2\nethernets:\n  eth0:\n    dhcp4: true\n")
}

// disk presents a volume, or an empty CD-ROM when vol is nil, with a target
// that suits it and valid driver settings.
func (g *generator) disk(name string, vol *virtv1.Volume) virtv1.Disk {
	d := *fillNew[virtv1.Disk](g)
	d.Name = name
	d.DiskDevice = virtv1.DiskDevice{}
	claim := vol != nil && (vol.PersistentVolumeClaim != nil || vol.DataVolume != nil)
	// A LUN needs a claim and downward metrics a plain disk; an absent volume
	// can only be an empty CD-ROM.
	target := pick(g, "none", "disk", "disk", "cdrom", "lun")
	switch {
	case vol == nil:
		target = "cdrom"
	case vol.DownwardMetrics != nil:
		target = "disk"
	case target == "lun" && !claim:
		target = "disk"
	}
	var bus virtv1.DiskBus
	switch target {
	case "disk":
		bus = pick(g, "", virtv1.DiskBusVirtio, virtv1.DiskBusVirtio, virtv1.DiskBusSCSI, virtv1.DiskBusSATA, virtv1.DiskBusUSB)
		if vol != nil && vol.DownwardMetrics != nil {
			bus = pick(g, "", virtv1.DiskBusVirtio)
		}
		t := &virtv1.DiskTarget{Bus: bus, ReadOnly: bus != virtv1.DiskBusSATA && g.chance(.3)}
		if bus == virtv1.DiskBusVirtio && g.chance(.3) {
			t.PciAddress = fmt.Sprintf("0000:%02x:%02x.%d", g.intn(256), g.intn(32), g.intn(8))
		}
		d.Disk = t
	case "lun":
		bus = pick(g, "", virtv1.DiskBusSCSI, virtv1.DiskBusVirtio)
		d.LUN = &virtv1.LunTarget{Bus: bus, ReadOnly: g.chance(.3), Reservation: g.chance(.3)}
	case "cdrom":
		bus = pick(g, "", virtv1.DiskBusSATA, virtv1.DiskBusSCSI, virtv1.DiskBusUSB)
		d.CDRom = &virtv1.CDRomTarget{Bus: bus, ReadOnly: optional(g, g.chance(.5)),
			Tray: pick(g, "", virtv1.TrayStateOpen, virtv1.TrayStateClosed)}
	}
	// Serials use letters, digits and _.+- only.
	d.Serial = pick(g, "", "SN-"+g.label()+"_1.2+x")
	// A dedicated I/O thread needs virtio, or no bus yet.
	if bus != "" && bus != virtv1.DiskBusVirtio {
		d.DedicatedIOThread = optional(g, false)
	}
	d.Cache = pick(g, "", virtv1.CacheNone, virtv1.CacheWriteThrough, virtv1.CacheWriteBack)
	d.IO = pick(g, "", virtv1.IONative, virtv1.IOThreads)
	d.ErrorPolicy = optional(g, pick(g, virtv1.DiskErrorPolicyStop, virtv1.DiskErrorPolicyIgnore,
		virtv1.DiskErrorPolicyReport, virtv1.DiskErrorPolicyEnospace))
	d.BlockSize = g.blockSize(bus)
	return d
}

// blockSize returns no block size, a volume-matched one or a custom one
// that the bus supports; a custom size turns volume matching off.
func (g *generator) blockSize(bus virtv1.DiskBus) *virtv1.BlockSize {
	switch g.intn(3) {
	case 0:
		return nil
	case 1:
		return &virtv1.BlockSize{MatchVolume: &virtv1.FeatureState{Enabled: optional(g, g.chance(.5))}}
	}
	// Powers of two, logical no larger than physical, 512 on SATA.
	logical := pick(g, uint(512), 4096)
	if bus == virtv1.DiskBusSATA {
		logical = 512
	}
	custom := &virtv1.CustomBlockSize{Logical: logical, Physical: pick(g, logical, 4096, 65536)}
	if custom.Physical < logical {
		custom.Physical = logical
	}
	if g.chance(.5) {
		custom.DiscardGranularity = ptrTo(logical * uint(g.between(1, 8)))
	}
	bs := &virtv1.BlockSize{Custom: custom}
	if g.chance(.3) {
		bs.MatchVolume = &virtv1.FeatureState{Enabled: ptrTo(false)}
	}
	return bs
}

// fillNew returns a new T filled at random.
func fillNew[T any](g *generator) *T {
	v := new(T)
	g.fill(v)
	return v
}
