package virtualmachine

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/ptr"
	virtv1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
)

// addPVC is an addvolume request for claim as a virtio disk named name.
func addPVC(name, claim string) *virtv1.VirtualMachineVolumeRequest {
	return &virtv1.VirtualMachineVolumeRequest{AddVolumeOptions: &virtv1.AddVolumeOptions{
		Name: name,
		Disk: &virtv1.Disk{DiskDevice: virtv1.DiskDevice{Disk: &virtv1.DiskTarget{Bus: virtv1.DiskBusVirtio}}},
		VolumeSource: &virtv1.HotplugVolumeSource{PersistentVolumeClaim: &virtv1.PersistentVolumeClaimVolumeSource{
			PersistentVolumeClaimVolumeSource: corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim},
		}},
	}}
}

func removeVolume(name string) *virtv1.VirtualMachineVolumeRequest {
	return &virtv1.VirtualMachineVolumeRequest{RemoveVolumeOptions: &virtv1.RemoveVolumeOptions{Name: name}}
}

// withHotplugged adds a hot plugged PVC volume name, mounting claim, to vm.
func withHotplugged(vm *kubevirt.VirtualMachine, name, claim string) *kubevirt.VirtualMachine {
	spec := &vm.Spec.Template.Spec
	spec.Volumes = append(spec.Volumes, virtv1.Volume{Name: name, VolumeSource: virtv1.VolumeSource{
		PersistentVolumeClaim: &virtv1.PersistentVolumeClaimVolumeSource{
			PersistentVolumeClaimVolumeSource: corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim}, Hotpluggable: true,
		},
	}})
	spec.Domain.Devices.Disks = append(spec.Domain.Devices.Disks, virtv1.Disk{Name: name,
		DiskDevice: virtv1.DiskDevice{Disk: &virtv1.DiskTarget{Bus: virtv1.DiskBusSCSI}}})
	return vm
}

func TestPrepareVolumeRequest(t *testing.T) {
	tests := []struct {
		name    string
		req     *virtv1.VirtualMachineVolumeRequest
		wantMsg string
	}{
		{"add without name", func() *virtv1.VirtualMachineVolumeRequest { r := addPVC("", "c"); return r }(), "AddVolumeOptions requires name to be set"},
		{"add without disk", func() *virtv1.VirtualMachineVolumeRequest {
			r := addPVC("d", "c")
			r.AddVolumeOptions.Disk = nil
			return r
		}(), "AddVolumeOptions requires disk to not be nil"},
		{"add without source", func() *virtv1.VirtualMachineVolumeRequest {
			r := addPVC("d", "c")
			r.AddVolumeOptions.VolumeSource = nil
			return r
		}(), "AddVolumeOptions requires VolumeSource to not be nil"},
		{"remove without name", removeVolume(""), "RemoveVolumeOptions requires name to be set"},
		{"neither", &virtv1.VirtualMachineVolumeRequest{}, "a volume request needs addVolumeOptions or removeVolumeOptions"},
		{"add complete", addPVC("d", "c"), ""},
		{"remove complete", removeVolume("d"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := PrepareVolumeRequest(tt.req)
			if tt.wantMsg == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.True(t, apierrors.IsBadRequest(err), "want a 400, got %v", err)
			assert.Equal(t, tt.wantMsg, err.(apierrors.APIStatus).Status().Message)
		})
	}
}

func TestPrepareVolumeRequestCompletes(t *testing.T) {
	pvc := addPVC("data", "claim")
	pvc.AddVolumeOptions.Disk.Name = "other"
	require.NoError(t, PrepareVolumeRequest(pvc))
	assert.Equal(t, "data", pvc.AddVolumeOptions.Disk.Name, "the disk takes the volume's name")
	assert.True(t, pvc.AddVolumeOptions.VolumeSource.PersistentVolumeClaim.Hotpluggable, "a PVC source is marked hotpluggable")

	dv := &virtv1.VirtualMachineVolumeRequest{AddVolumeOptions: &virtv1.AddVolumeOptions{
		Name: "dv", Disk: &virtv1.Disk{},
		VolumeSource: &virtv1.HotplugVolumeSource{DataVolume: &virtv1.DataVolumeSource{Name: "dv"}},
	}}
	require.NoError(t, PrepareVolumeRequest(dv))
	assert.True(t, dv.AddVolumeOptions.VolumeSource.DataVolume.Hotpluggable, "a DataVolume source is marked hotpluggable")
}

func TestDecideVolumeRefusals(t *testing.T) {
	withCDROM := func() *kubevirt.VirtualMachine {
		vm := newVM()
		vm.Spec.Template.Spec.Domain.Devices.Disks = append(vm.Spec.Template.Spec.Domain.Devices.Disks,
			virtv1.Disk{Name: "cd", DiskDevice: virtv1.DiskDevice{CDRom: &virtv1.CDRomTarget{Bus: virtv1.DiskBusSATA}}})
		return vm
	}
	pendingAdd := func() *kubevirt.VirtualMachine {
		vm := newVM()
		vm.Status.VolumeRequests = []virtv1.VirtualMachineVolumeRequest{*addPVC("data", "claim")}
		return vm
	}
	pendingRemove := func() *kubevirt.VirtualMachine {
		vm := withHotplugged(newVM(), "data", "claim")
		vm.Status.VolumeRequests = []virtv1.VirtualMachineVolumeRequest{*removeVolume("data")}
		return vm
	}
	disk := func(d virtv1.Disk) *virtv1.VirtualMachineVolumeRequest {
		r := addPVC("data", "claim")
		r.AddVolumeOptions.Disk = &d
		return r
	}
	tests := []struct {
		name     string
		vm       *kubevirt.VirtualMachine
		req      *virtv1.VirtualMachineVolumeRequest
		modes    []HotplugMode
		wantCode int32
		wantMsg  string
	}{
		{"add: volume name taken", newVM(), addPVC("root", "claim"), bothModes, http.StatusConflict,
			"Unable to add volume [root] because volume with that name already exists"},
		{"add: claim mounted already", withHotplugged(newVM(), "data", "claim"), addPVC("more", "claim"), bothModes, http.StatusConflict,
			"Unable to add volume source [claim] because it already exists"},
		{"add: disk name taken", withCDROM(), addPVC("cd", "claim"), bothModes, http.StatusConflict,
			"AddVolume request for [cd] conflicts with an existing disk of the same name"},
		{"add: pending add", pendingAdd(), addPVC("data", "other"), []HotplugMode{HotplugRequests}, http.StatusConflict,
			"add volume request for volume [data] already exists"},
		{"add: pending remove", func() *kubevirt.VirtualMachine {
			vm := newVM()
			vm.Status.VolumeRequests = []virtv1.VirtualMachineVolumeRequest{*removeVolume("data")}
			return vm
		}(), addPVC("data", "claim"), []HotplugMode{HotplugRequests}, http.StatusConflict,
			"unable to add volume since a remove volume request for volume [data] already exists and is still being processed"},
		{"remove: pending remove", pendingRemove(), removeVolume("data"), []HotplugMode{HotplugRequests}, http.StatusConflict,
			"a remove volume request for volume [data] already exists and is still being processed"},
		{"remove: no such volume", newVM(), removeVolume("data"), bothModes, http.StatusConflict,
			"Unable to remove volume [data] because it does not exist"},
		{"remove: not hot plugged", newVM(), removeVolume("root"), bothModes, http.StatusConflict,
			"Unable to remove volume [root] because it is not hotpluggable"},
		{"add: sata disk", newVM(), disk(virtv1.Disk{DiskDevice: virtv1.DiskDevice{Disk: &virtv1.DiskTarget{Bus: virtv1.DiskBusSATA}}}), bothModes,
			http.StatusUnprocessableEntity, "AddVolume request for disk [data] requires bus to be 'scsi' or 'virtio'. [sata] is not permitted."},
		{"add: LUN on virtio", newVM(), disk(virtv1.Disk{DiskDevice: virtv1.DiskDevice{LUN: &virtv1.LunTarget{Bus: virtv1.DiskBusVirtio}}}), bothModes,
			http.StatusUnprocessableEntity, "AddVolume request for LUN [data] requires bus to be 'scsi'. [virtio] is not permitted."},
		{"add: CD-ROM", newVM(), disk(virtv1.Disk{DiskDevice: virtv1.DiskDevice{CDRom: &virtv1.CDRomTarget{Bus: virtv1.DiskBusSCSI}}}), bothModes,
			http.StatusUnprocessableEntity, "AddVolume request for [data] requires diskDevice of type 'disk' or 'lun' to be used."},
		{"add: no device", newVM(), disk(virtv1.Disk{}), bothModes,
			http.StatusUnprocessableEntity, "AddVolume request for [data] requires diskDevice of type 'disk' or 'lun' to be used."},
		{"add: I/O thread on scsi", newVM(), disk(virtv1.Disk{DedicatedIOThread: ptr.To(true), DiskDevice: virtv1.DiskDevice{Disk: &virtv1.DiskTarget{Bus: virtv1.DiskBusSCSI}}}), bothModes,
			http.StatusUnprocessableEntity, "AddVolume request for [data] requires virtio bus for IOThreads."},
		{"add: boot order 0", newVM(), disk(virtv1.Disk{BootOrder: ptr.To(uint(0)), DiskDevice: virtv1.DiskDevice{Disk: &virtv1.DiskTarget{Bus: virtv1.DiskBusSCSI}}}), bothModes,
			http.StatusUnprocessableEntity, "must have a boot order > 0, if supplied"},
		{"add: no source in the request form", newVM(), func() *virtv1.VirtualMachineVolumeRequest {
			r := addPVC("data", "claim")
			r.AddVolumeOptions.VolumeSource = &virtv1.HotplugVolumeSource{}
			return r
		}(), []HotplugMode{HotplugRequests}, http.StatusUnprocessableEntity, "must specify exactly one volume source"},
		{"neither option", newVM(), &virtv1.VirtualMachineVolumeRequest{}, bothModes, http.StatusBadRequest,
			"a volume request needs addVolumeOptions or removeVolumeOptions"},
	}
	for _, tt := range tests {
		for _, mode := range tt.modes {
			t.Run(tt.name+"/"+string(mode), func(t *testing.T) {
				before := tt.vm.DeepCopy()
				_, err := DecideVolume(tt.vm, tt.req, mode)
				require.Error(t, err)
				status, ok := err.(apierrors.APIStatus)
				require.True(t, ok, "want a metav1.Status error, got %T", err)
				assert.Equal(t, tt.wantCode, status.Status().Code)
				assert.Contains(t, status.Status().Message, tt.wantMsg)
				assert.Equal(t, before, tt.vm, "the VM read must not change")
			})
		}
	}
}

var bothModes = []HotplugMode{HotplugDeclarative, HotplugRequests}

func TestDecideVolumeDeclarative(t *testing.T) {
	t.Run("add", func(t *testing.T) {
		req := addPVC("data", "claim")
		require.NoError(t, PrepareVolumeRequest(req))
		out, err := DecideVolume(newVM(), req, HotplugDeclarative)
		require.NoError(t, err)
		spec := out.Spec.Template.Spec
		require.Len(t, spec.Volumes, 2)
		assert.Equal(t, virtv1.Volume{Name: "data", VolumeSource: virtv1.VolumeSource{
			PersistentVolumeClaim: &virtv1.PersistentVolumeClaimVolumeSource{
				PersistentVolumeClaimVolumeSource: corev1.PersistentVolumeClaimVolumeSource{ClaimName: "claim"}, Hotpluggable: true,
			},
		}}, spec.Volumes[1])
		require.Len(t, spec.Domain.Devices.Disks, 2)
		assert.Equal(t, virtv1.Disk{Name: "data", DiskDevice: virtv1.DiskDevice{Disk: &virtv1.DiskTarget{Bus: virtv1.DiskBusVirtio}}},
			spec.Domain.Devices.Disks[1])
		assert.Empty(t, out.Status.VolumeRequests, "the declarative form records no request")
	})
	t.Run("add a DataVolume", func(t *testing.T) {
		req := &virtv1.VirtualMachineVolumeRequest{AddVolumeOptions: &virtv1.AddVolumeOptions{
			Name: "dv", Disk: &virtv1.Disk{DiskDevice: virtv1.DiskDevice{LUN: &virtv1.LunTarget{Bus: virtv1.DiskBusSCSI}}},
			VolumeSource: &virtv1.HotplugVolumeSource{DataVolume: &virtv1.DataVolumeSource{Name: "dv-claim"}},
		}}
		require.NoError(t, PrepareVolumeRequest(req))
		out, err := DecideVolume(newVM(), req, HotplugDeclarative)
		require.NoError(t, err)
		assert.Equal(t, &virtv1.DataVolumeSource{Name: "dv-claim", Hotpluggable: true}, out.Spec.Template.Spec.Volumes[1].DataVolume)
		assert.Equal(t, "dv", out.Spec.Template.Spec.Domain.Devices.Disks[1].Name)
	})
	t.Run("remove by volume name", func(t *testing.T) {
		out, err := DecideVolume(withHotplugged(newVM(), "data", "claim"), removeVolume("data"), HotplugDeclarative)
		require.NoError(t, err)
		assert.Equal(t, newVM().Spec, out.Spec, "the hot plugged disk and volume are gone, the rest is as it was")
	})
	t.Run("remove of the last volumes", func(t *testing.T) {
		vm := withHotplugged(newVM(), "data", "claim")
		vm.Spec.Template.Spec.Volumes = vm.Spec.Template.Spec.Volumes[1:]
		vm.Spec.Template.Spec.Domain.Devices.Disks = vm.Spec.Template.Spec.Domain.Devices.Disks[1:]
		out, err := DecideVolume(vm, removeVolume("data"), HotplugDeclarative)
		require.NoError(t, err)
		assert.Empty(t, out.Spec.Template.Spec.Volumes)
		assert.Empty(t, out.Spec.Template.Spec.Domain.Devices.Disks)
	})
}

func TestDecideVolumeRequests(t *testing.T) {
	t.Run("add appends a request, template unchanged", func(t *testing.T) {
		vm := newVM()
		vm.Status.VolumeRequests = []virtv1.VirtualMachineVolumeRequest{*addPVC("first", "c1")}
		req := addPVC("second", "c2")
		require.NoError(t, PrepareVolumeRequest(req))
		out, err := DecideVolume(vm, req, HotplugRequests)
		require.NoError(t, err)
		assert.Equal(t, vm.Spec, out.Spec)
		assert.Equal(t, []virtv1.VirtualMachineVolumeRequest{*addPVC("first", "c1"), *req}, out.Status.VolumeRequests)
	})
	t.Run("remove withdraws a pending add of the volume", func(t *testing.T) {
		vm := withHotplugged(newVM(), "data", "claim")
		vm.Status.VolumeRequests = []virtv1.VirtualMachineVolumeRequest{*addPVC("other", "c2")}
		// KubeVirt checks the template only: a pending add of "other" cannot be removed
		// before it lands, but a pending add of a name in the template is withdrawn.
		vm.Status.VolumeRequests = append(vm.Status.VolumeRequests, *addPVC("data", "claim"))
		out, err := DecideVolume(vm, removeVolume("data"), HotplugRequests)
		require.NoError(t, err)
		assert.Equal(t, []virtv1.VirtualMachineVolumeRequest{*addPVC("other", "c2"), *removeVolume("data")}, out.Status.VolumeRequests)
		assert.Equal(t, vm.Spec, out.Spec)
	})
	t.Run("a VM without a template", func(t *testing.T) {
		vm := newVM()
		vm.Spec.Template = nil
		req := addPVC("data", "claim")
		require.NoError(t, PrepareVolumeRequest(req))
		out, err := DecideVolume(vm, req, HotplugRequests)
		require.NoError(t, err)
		assert.Nil(t, out.Spec.Template)
		assert.Len(t, out.Status.VolumeRequests, 1)
	})
}

func TestDecideVolumeUnknownMode(t *testing.T) {
	_, err := DecideVolume(newVM(), addPVC("data", "claim"), "other")
	require.Error(t, err)
	assert.True(t, apierrors.IsBadRequest(err))
}

func TestApplyVolumeRequestIsDoneAfterwards(t *testing.T) {
	for _, req := range []*virtv1.VirtualMachineVolumeRequest{addPVC("data", "claim"), removeVolume("data")} {
		spec := withHotplugged(newVM(), "old", "oc").Spec.Template.Spec
		if req.RemoveVolumeOptions != nil {
			spec = withHotplugged(newVM(), "data", "claim").Spec.Template.Spec
		}
		assert.False(t, kubevirt.VolumeRequestDone(&spec, req))
		kubevirt.ApplyVolumeRequest(&spec, req)
		assert.True(t, kubevirt.VolumeRequestDone(&spec, req))
		again := *spec.DeepCopy()
		kubevirt.ApplyVolumeRequest(&again, req)
		assert.Equal(t, spec, again, "applying a request twice changes nothing more")
	}
}
