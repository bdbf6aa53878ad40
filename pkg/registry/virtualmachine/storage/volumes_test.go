package storage

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
	kubevirtv1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
	"github.com/vm-apiserver/vm-apiserver/pkg/registry/virtualmachine"
)

// volumeSpec is a Halted VM with one container disk, "root".
func volumeSpec() kubevirtv1.VirtualMachineSpec {
	spec := strategySpec(kubevirtv1.RunStrategyHalted)
	spec.Template = &kubevirtv1.VirtualMachineInstanceTemplateSpec{Spec: kubevirtv1.VirtualMachineInstanceSpec{
		Domain: kubevirtv1.DomainSpec{Devices: kubevirtv1.Devices{
			Disks: []kubevirtv1.Disk{{Name: "root", DiskDevice: kubevirtv1.DiskDevice{Disk: &kubevirtv1.DiskTarget{Bus: kubevirtv1.DiskBusVirtio}}}},
		}},
		Volumes: []kubevirtv1.Volume{{Name: "root", VolumeSource: kubevirtv1.VolumeSource{
			ContainerDisk: &kubevirtv1.ContainerDiskSource{Image: "quay.io/containerdisks/fedora:latest"},
		}}},
	}}
	return spec
}

// addClaim is the prepared addvolume request of a scsi disk name on claim.
func addClaim(t *testing.T, name, claim string) *kubevirtv1.VirtualMachineVolumeRequest {
	t.Helper()
	req := &kubevirtv1.VirtualMachineVolumeRequest{AddVolumeOptions: &kubevirtv1.AddVolumeOptions{
		Name: name,
		Disk: &kubevirtv1.Disk{DiskDevice: kubevirtv1.DiskDevice{Disk: &kubevirtv1.DiskTarget{Bus: kubevirtv1.DiskBusSCSI}}},
		VolumeSource: &kubevirtv1.HotplugVolumeSource{PersistentVolumeClaim: &kubevirtv1.PersistentVolumeClaimVolumeSource{
			PersistentVolumeClaimVolumeSource: corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim},
		}},
	}}
	require.NoError(t, virtualmachine.PrepareVolumeRequest(req))
	return req
}

func removeClaim(name string) *kubevirtv1.VirtualMachineVolumeRequest {
	return &kubevirtv1.VirtualMachineVolumeRequest{RemoveVolumeOptions: &kubevirtv1.RemoveVolumeOptions{Name: name}}
}

func (e *env) actVolume(t *testing.T, name string, req *kubevirtv1.VirtualMachineVolumeRequest, dryRun bool) (*kubevirt.VirtualMachine, error) {
	t.Helper()
	var values []string
	if dryRun {
		values = []string{metav1.DryRunAll}
	}
	ctx := request.WithUser(nsContext(), &user.DefaultInfo{Name: "alice"})
	obj, _, err := e.vms.Actions.ActVolume(ctx, name, req, values, "virtctl")
	if err != nil {
		return nil, err
	}
	return obj.(*kubevirt.VirtualMachine), nil
}

func TestVolumeActionsDeclarative(t *testing.T) {
	e := newEnv(t)
	before := e.create(t, "vm", volumeSpec(), nil)

	added, err := e.actVolume(t, "vm", addClaim(t, "data", "claim"), false)
	require.NoError(t, err)
	stored := e.get(t, "vm")
	assert.Equal(t, added, stored, "the answer is the VM as stored")
	require.Len(t, stored.Spec.Template.Spec.Volumes, 2)
	assert.Equal(t, "data", stored.Spec.Template.Spec.Volumes[1].Name)
	assert.True(t, stored.Spec.Template.Spec.Volumes[1].PersistentVolumeClaim.Hotpluggable)
	assert.Equal(t, "data", stored.Spec.Template.Spec.Domain.Devices.Disks[1].Name)
	assert.Equal(t, before.Generation+1, stored.Generation, "a template change is a new generation")

	_, err = e.actVolume(t, "vm", addClaim(t, "data", "other"), false)
	assertStatus(t, err, http.StatusConflict, metav1.StatusReasonConflict, "Unable to add volume [data] because volume with that name already exists")

	removed, err := e.actVolume(t, "vm", removeClaim("data"), false)
	require.NoError(t, err)
	assert.Equal(t, volumeSpec().Template.Spec, removed.Spec.Template.Spec)

	_, err = e.actVolume(t, "vm", removeClaim("root"), false)
	assertStatus(t, err, http.StatusConflict, metav1.StatusReasonConflict, "Unable to remove volume [root] because it is not hotpluggable")

	_, err = e.actVolume(t, "missing", removeClaim("data"), false)
	assertStatus(t, err, http.StatusNotFound, metav1.StatusReasonNotFound, `virtualmachines.kubevirt.io "missing" not found`)
}

func TestVolumeActionsRequests(t *testing.T) {
	e := newEnv(t)
	e.vms.Actions.SetHotplugMode(virtualmachine.HotplugRequests)
	assert.Equal(t, virtualmachine.HotplugRequests, e.vms.Actions.HotplugMode())
	before := e.create(t, "vm", volumeSpec(), nil)

	req := addClaim(t, "data", "claim")
	got, err := e.actVolume(t, "vm", req, false)
	require.NoError(t, err)
	assert.Equal(t, before.Spec, got.Spec, "the request form leaves the template to the runtime")
	assert.Equal(t, before.Generation, got.Generation)
	assert.Equal(t, []kubevirtv1.VirtualMachineVolumeRequest{*req}, got.Status.VolumeRequests)

	_, err = e.actVolume(t, "vm", addClaim(t, "data", "claim"), false)
	assertStatus(t, err, http.StatusConflict, metav1.StatusReasonConflict, "add volume request for volume [data] already exists")
}

func TestVolumeDryRunWritesNothing(t *testing.T) {
	for _, mode := range []virtualmachine.HotplugMode{virtualmachine.HotplugDeclarative, virtualmachine.HotplugRequests} {
		t.Run(string(mode), func(t *testing.T) {
			e := newEnv(t)
			e.vms.Actions.SetHotplugMode(mode)
			before := e.create(t, "vm", volumeSpec(), nil)
			req := addClaim(t, "data", "claim")

			got, err := e.actVolume(t, "vm", req, true)
			require.NoError(t, err)
			assert.Equal(t, before, e.get(t, "vm"), "dry-run writes nothing")
			want, err := virtualmachine.DecideVolume(before, req, mode)
			require.NoError(t, err)
			assert.Equal(t, want.Spec, got.Spec, "the answer is the VM as it would be stored")
			assert.Equal(t, want.Status, got.Status)

			_, err = e.actVolume(t, "vm", removeClaim("root"), true)
			assertStatus(t, err, http.StatusConflict, metav1.StatusReasonConflict, "not hotpluggable")
		})
	}
}

// A write that loses its race is decided again on the fresh VM: a volume
// that another writer plugged meanwhile makes the add a 409, and nothing of
// the first decision is written.
func TestVolumeStaleWriteIsDecidedAgain(t *testing.T) {
	e := newEnv(t)
	before := e.create(t, "vm", volumeSpec(), nil)
	var raced *kubevirt.VirtualMachine
	racing := *e.vms.Actions
	updater := &racingUpdater{Updater: racing.store, race: func() {
		_, err := e.actVolume(t, "vm", addClaim(t, "data", "claim-b"), false)
		require.NoError(t, err)
		raced = e.get(t, "vm")
	}}
	racing.store = updater

	_, _, err := racing.ActVolume(nsContext(), "vm", addClaim(t, "data", "claim-a"), nil, "test")

	assertStatus(t, err, http.StatusConflict, metav1.StatusReasonConflict, "Unable to add volume [data] because volume with that name already exists")
	require.Equal(t, 2, updater.calls)
	assert.Equal(t, []string{before.ResourceVersion, raced.ResourceVersion}, updater.seenRV)
	assert.Equal(t, raced, e.get(t, "vm"), "nothing is written on an error")

	// The other way round: a concurrent label is kept and the add still lands.
	racing.store = &racingUpdater{Updater: e.vms.Actions.store, race: func() {
		vm := e.get(t, "vm")
		vm.Labels = map[string]string{"raced": "yes"}
		_, _, err := e.vms.VirtualMachine.Update(nsContext(), "vm", rest.DefaultUpdatedObjectInfo(vm),
			rest.ValidateAllObjectFunc, rest.ValidateAllObjectUpdateFunc, false, &metav1.UpdateOptions{})
		require.NoError(t, err)
	}}
	_, _, err = racing.ActVolume(nsContext(), "vm", addClaim(t, "more", "claim-c"), nil, "test")
	require.NoError(t, err)
	after := e.get(t, "vm")
	assert.Equal(t, map[string]string{"raced": "yes"}, after.Labels)
	assert.Len(t, after.Spec.Template.Spec.Volumes, 3)
}

func TestVolumeActionsPassAdmission(t *testing.T) {
	for _, tt := range []struct {
		req         func(t *testing.T) *kubevirtv1.VirtualMachineVolumeRequest
		subresource string
	}{
		{func(t *testing.T) *kubevirtv1.VirtualMachineVolumeRequest { return addClaim(t, "data", "claim") }, "addvolume"},
		{func(*testing.T) *kubevirtv1.VirtualMachineVolumeRequest { return removeClaim("data") }, "removevolume"},
	} {
		for _, dryRun := range []bool{false, true} {
			t.Run(tt.subresource, func(t *testing.T) {
				p := &plugin{}
				e := &env{vms: newTestStorage(t, p)}
				spec := volumeSpec()
				if tt.subresource == "removevolume" {
					vm := &kubevirt.VirtualMachine{Spec: spec}
					out, err := virtualmachine.DecideVolume(vm, addClaim(t, "data", "claim"), virtualmachine.HotplugDeclarative)
					require.NoError(t, err)
					spec = out.Spec
				}
				e.create(t, "vm", spec, nil)

				_, err := e.actVolume(t, "vm", tt.req(t), dryRun)
				require.NoError(t, err)
				want := seen{op: admission.Update, kind: vmKind, resource: kubevirtv1.SchemeGroupVersion.WithResource("virtualmachines"),
					subresource: tt.subresource, namespace: namespace, name: "vm", user: "alice", dryRun: dryRun,
					oldStrategy: kubevirtv1.RunStrategyHalted, newStrategy: kubevirtv1.RunStrategyHalted}
				require.Len(t, p.admits, 1)
				require.Len(t, p.checks, 1)
				assert.Equal(t, want, p.admits[0])
				assert.Equal(t, want, p.checks[0])
			})
		}
	}

	t.Run("a denial writes nothing", func(t *testing.T) {
		p := &plugin{deny: func(a admission.Attributes) error { return admission.NewForbidden(a, assert.AnError) }}
		e := &env{vms: newTestStorage(t, p)}
		before := e.create(t, "vm", volumeSpec(), nil)
		ctx := request.WithUser(nsContext(), &user.DefaultInfo{Name: "alice"})
		_, denied, err := e.vms.Actions.ActVolume(ctx, "vm", addClaim(t, "data", "claim"), nil, "test")
		assert.True(t, denied)
		assertStatus(t, err, http.StatusForbidden, metav1.StatusReasonForbidden, "")
		assert.Equal(t, before, e.get(t, "vm"))
	})

	t.Run("a mutation outside the volume fields is refused", func(t *testing.T) {
		p := &plugin{mutate: func(vm *kubevirt.VirtualMachine) { vm.Spec.RunStrategy = ptrStrategy(kubevirtv1.RunStrategyAlways) }}
		e := &env{vms: newTestStorage(t, p)}
		e.create(t, "vm", volumeSpec(), nil)
		_, err := e.actVolume(t, "vm", addClaim(t, "data", "claim"), false)
		assertStatus(t, err, http.StatusUnprocessableEntity, metav1.StatusReasonInvalid, "this action may change only spec.template.spec.volumes")
	})
}

func ptrStrategy(s kubevirtv1.VirtualMachineRunStrategy) *kubevirtv1.VirtualMachineRunStrategy {
	return &s
}
