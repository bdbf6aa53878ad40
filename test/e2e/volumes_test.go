package e2e

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	v1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/test/framework"
)

// The bodies of the volume requests as virtctl addvolume and removevolume
// send them: JSON without a Content-Type.
const (
	addDataJSON  = `{"name":"data","disk":{"disk":{"bus":"scsi"},"serial":"data"},"volumeSource":{"persistentVolumeClaim":{"claimName":"data-claim","hotpluggable":true}}}`
	addDataYAML  = "name: data\ndisk:\n  disk:\n    bus: scsi\nvolumeSource:\n  persistentVolumeClaim:\n    claimName: data-claim\n"
	removeData   = `{"name":"data"}`
	removeDataDR = `{"name":"data","dryRun":["All"]}`
)

// templateVolume returns the template's volume name, or nil.
func templateVolume(vm *v1.VirtualMachine, name string) *v1.Volume {
	for i := range vm.Spec.Template.Spec.Volumes {
		if vm.Spec.Template.Spec.Volumes[i].Name == name {
			return &vm.Spec.Template.Spec.Volumes[i]
		}
	}
	return nil
}

func snapshotStatus(vm *v1.VirtualMachine, name string) *v1.VolumeSnapshotStatus {
	for i := range vm.Status.VolumeSnapshotStatuses {
		if vm.Status.VolumeSnapshotStatuses[i].Name == name {
			return &vm.Status.VolumeSnapshotStatuses[i]
		}
	}
	return nil
}

// TestVolumeHotplugDeclarative: raw PUTs of addvolume and removevolume
// write the disk and the volume into (and out of) the template, answer 202
// with the VM, and refuse as KubeVirt does; the simulated runtime reports
// the hot plugged volume; the actions metric counts each answer.
func TestVolumeHotplugDeclarative(t *testing.T) {
	s := framework.StartServer(t, serverArgs...)
	vms := defaultVMs(t, s)
	c := newActionClient(t, s)
	created := create(t, vms, newSimulatedVM("hotplug", v1.RunStrategyAlways))
	waitUntil(t, vms, created, "Running", settled(v1.VirtualMachineStatusRunning))
	before := scrapeMetrics(t, s)

	t.Run("dry-run writes nothing", func(t *testing.T) {
		vm, err := vms.Get(context.Background(), "hotplug", metav1.GetOptions{})
		require.NoError(t, err)
		code, body := c.do(http.MethodPut, "v1", "hotplug", "addvolume?dryRun=All", "", addDataJSON)
		assert.Equal(t, http.StatusAccepted, code, "%v", body)
		after, err := vms.Get(context.Background(), "hotplug", metav1.GetOptions{})
		require.NoError(t, err)
		assert.Equal(t, vm.ResourceVersion, after.ResourceVersion)
		assert.Nil(t, templateVolume(after, "data"))
	})

	t.Run("add in YAML", func(t *testing.T) {
		code, body := c.do(http.MethodPut, "v1", "hotplug", "addvolume", "application/yaml", addDataYAML)
		require.Equal(t, http.StatusAccepted, code, "%v", body)
		assert.Equal(t, "VirtualMachine", body["kind"])
		vm, err := vms.Get(context.Background(), "hotplug", metav1.GetOptions{})
		require.NoError(t, err)
		vol := templateVolume(vm, "data")
		require.NotNil(t, vol)
		assert.Equal(t, &v1.PersistentVolumeClaimVolumeSource{
			PersistentVolumeClaimVolumeSource: corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data-claim"}, Hotpluggable: true,
		}, vol.PersistentVolumeClaim)
		var managers []string
		for _, e := range vm.ManagedFields {
			managers = append(managers, e.Manager)
		}
		assert.Contains(t, managers, "e2e.test", "the requester's field manager (its User-Agent) owns what it wrote")

		// The runtime reports the new volume.
		reported, _ := waitUntil(t, vms, vm, "reporting the volume", func(vm *v1.VirtualMachine) bool {
			return snapshotStatus(vm, "data") != nil && vm.Status.ObservedGeneration == vm.Generation
		})
		assert.Equal(t, &v1.VolumeSnapshotStatus{Name: "data",
			Reason: "No VolumeSnapshotClass: Volume snapshots are not configured for this StorageClass [] [data]"}, snapshotStatus(reported, "data"))
		assert.Equal(t, v1.VirtualMachineStatusRunning, reported.Status.PrintableStatus, "a hot plug needs no restart")
	})

	t.Run("refusals", func(t *testing.T) {
		for _, tt := range []struct {
			name, action, version, body string
			code                        int
			message                     string
		}{
			{"duplicate name", "addvolume", "v1", addDataJSON, http.StatusConflict, "Unable to add volume [data] because volume with that name already exists"},
			{"no name", "addvolume", "v1", `{}`, http.StatusBadRequest, "AddVolumeOptions requires name to be set"},
			{"no disk", "addvolume", "v1alpha3", `{"name":"x","volumeSource":{"persistentVolumeClaim":{"claimName":"c"}}}`, http.StatusBadRequest, "AddVolumeOptions requires disk to not be nil"},
			{"no source", "addvolume", "v1", `{"name":"x","disk":{"disk":{"bus":"scsi"}}}`, http.StatusBadRequest, "AddVolumeOptions requires VolumeSource to not be nil"},
			{"sata bus", "addvolume", "v1", `{"name":"x","disk":{"disk":{"bus":"sata"}},"volumeSource":{"persistentVolumeClaim":{"claimName":"c"}}}`,
				http.StatusUnprocessableEntity, "requires bus to be 'scsi' or 'virtio'. [sata] is not permitted."},
			{"remove not hot plugged", "removevolume", "v1", `{"name":"containerdisk"}`, http.StatusConflict, "Unable to remove volume [containerdisk] because it is not hotpluggable"},
			{"remove missing", "removevolume", "v1", `{"name":"nothing"}`, http.StatusConflict, "Unable to remove volume [nothing] because it does not exist"},
			{"remove without name", "removevolume", "v1", ``, http.StatusBadRequest, "RemoveVolumeOptions requires name to be set"},
			{"strict unknown field", "removevolume?fieldValidation=Strict", "v1", `{"name":"data","extra":1}`, http.StatusBadRequest, `unknown field "extra"`},
		} {
			t.Run(tt.name, func(t *testing.T) {
				code, body := c.do(http.MethodPut, tt.version, "hotplug", tt.action, "", tt.body)
				assert.Equal(t, tt.code, code, "%v", body)
				assert.Equal(t, "Status", body["kind"])
				assert.Contains(t, body["message"], tt.message)
			})
		}
		code, body := c.do(http.MethodPut, "v1", "absent", "addvolume", "", addDataJSON)
		assert.Equal(t, http.StatusNotFound, code, "%v", body)
		code, body = c.do(http.MethodPut, "v1", "hotplug", "addvolume", "text/plain", addDataJSON)
		assert.Equal(t, http.StatusUnsupportedMediaType, code, "%v", body)
	})

	t.Run("remove", func(t *testing.T) {
		code, body := c.do(http.MethodPut, "v1", "hotplug", "removevolume", "", removeDataDR)
		require.Equal(t, http.StatusAccepted, code, "%v", body)
		vm, err := vms.Get(context.Background(), "hotplug", metav1.GetOptions{})
		require.NoError(t, err)
		require.NotNil(t, templateVolume(vm, "data"), "a dry-run removal keeps the volume")

		code, body = c.do(http.MethodPut, "v1", "hotplug", "removevolume", "", removeData)
		require.Equal(t, http.StatusAccepted, code, "%v", body)
		vm, err = vms.Get(context.Background(), "hotplug", metav1.GetOptions{})
		require.NoError(t, err)
		assert.Nil(t, templateVolume(vm, "data"))
		assert.Len(t, vm.Spec.Template.Spec.Domain.Devices.Disks, 1)
		waitUntil(t, vms, vm, "dropping the volume's status", func(vm *v1.VirtualMachine) bool {
			return snapshotStatus(vm, "data") == nil && vm.Status.ObservedGeneration == vm.Generation
		})
	})

	after := scrapeMetrics(t, s)
	delta := func(action, result string) float64 {
		labels := map[string]string{"action": action, "result": result}
		return metricSample(after, "vm_apiserver_actions_total", labels) - metricSample(before, "vm_apiserver_actions_total", labels)
	}
	assert.Equal(t, 1.0, delta("addvolume", "accepted"))
	assert.Equal(t, 1.0, delta("addvolume", "dry_run"))
	assert.Equal(t, 1.0, delta("addvolume", "conflict"))
	assert.Equal(t, 6.0, delta("addvolume", "invalid"), "no name, no disk, no source, sata, no VM, text/plain")
	assert.Equal(t, 1.0, delta("removevolume", "accepted"))
	assert.Equal(t, 1.0, delta("removevolume", "dry_run"))
	assert.Equal(t, 2.0, delta("removevolume", "conflict"))
	assert.Equal(t, 2.0, delta("removevolume", "invalid"))
}

// TestVolumeHotplugRequests: with --hotplug-volume-requests the server
// records each request in status.volumeRequests, and the simulated runtime
// folds it into the template and drops it, as KubeVirt's VM controller does.
func TestVolumeHotplugRequests(t *testing.T) {
	s := framework.StartServer(t, append([]string{"--hotplug-volume-requests"}, serverArgs...)...)
	vms := defaultVMs(t, s)
	c := newActionClient(t, s)
	created := create(t, vms, newSimulatedVM("requests", v1.RunStrategyAlways))
	waitUntil(t, vms, created, "Running", settled(v1.VirtualMachineStatusRunning))

	code, body := c.do(http.MethodPut, "v1", "requests", "addvolume", "", addDataJSON)
	require.Equal(t, http.StatusAccepted, code, "%v", body)
	status, _ := body["status"].(map[string]any)
	require.NotNil(t, status)
	requests, _ := status["volumeRequests"].([]any)
	require.Len(t, requests, 1, "the answer shows the recorded request")
	spec, _ := body["spec"].(map[string]any)
	template, _ := spec["template"].(map[string]any)
	templateSpec, _ := template["spec"].(map[string]any)
	assert.Len(t, templateSpec["volumes"], 1, "the template is the runtime's to change")

	vm, err := vms.Get(context.Background(), "requests", metav1.GetOptions{})
	require.NoError(t, err)
	done, _ := waitUntil(t, vms, vm, "folding the add into the template", func(vm *v1.VirtualMachine) bool {
		return len(vm.Status.VolumeRequests) == 0 && templateVolume(vm, "data") != nil
	})
	assert.True(t, templateVolume(done, "data").PersistentVolumeClaim.Hotpluggable)

	code, body = c.do(http.MethodPut, "v1", "requests", "removevolume", "", removeData)
	require.Equal(t, http.StatusAccepted, code, "%v", body)
	vm, err = vms.Get(context.Background(), "requests", metav1.GetOptions{})
	require.NoError(t, err)
	waitUntil(t, vms, vm, "folding the remove into the template", func(vm *v1.VirtualMachine) bool {
		return len(vm.Status.VolumeRequests) == 0 && templateVolume(vm, "data") == nil
	})
}
