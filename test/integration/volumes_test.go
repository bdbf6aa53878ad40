package integration

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubevirtv1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/test/framework"
)

// createClaim creates the PVC name in ns in kube-apiserver, where virtctl
// looks it up before it asks for the hot plug.
func createClaim(t *testing.T, ns, name string) {
	t.Helper()
	_, err := env.kube.CoreV1().PersistentVolumeClaims(ns).Create(t.Context(), &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
}

func findVolume(vm *kubevirtv1.VirtualMachine, name string) *kubevirtv1.Volume {
	for i := range vm.Spec.Template.Spec.Volumes {
		if vm.Spec.Template.Spec.Volumes[i].Name == name {
			return &vm.Spec.Template.Spec.Volumes[i]
		}
	}
	return nil
}

// TestVirtctlAddAndRemoveVolume: KubeVirt's virtctl v1.9.0 hot plugs a PVC
// into a VM and unplugs it through kube-apiserver. It looks the claim up
// as a CDI DataVolume first (a 404: no CDI here), then as a PVC, and calls
// the VM's addvolume and removevolume, with or without --persist, which
// v1.9.0 ignores.
func TestVirtctlAddAndRemoveVolume(t *testing.T) {
	suite.Require(t)
	virtctl := framework.BinariesOrSkip(t, framework.BinVirtctl).Virtctl
	ns := newNamespace(t)
	createVM(t, ns, newVM("vm", kubevirtv1.RunStrategyHalted))
	createClaim(t, ns, "data")
	run := func(args ...string) string {
		t.Helper()
		out, err := framework.RunCommand(env.dir, virtctl, append([]string{"--kubeconfig=" + env.kubeconfig, "--namespace=" + ns}, args...)...)
		require.NoError(t, err, out)
		return out
	}

	run("addvolume", "vm", "--volume-name=data", "--dry-run")
	assert.Nil(t, findVolume(getVM(t, ns, "vm"), "data"), "a dry run writes nothing")

	run("addvolume", "vm", "--volume-name=data")
	vm := getVM(t, ns, "vm")
	vol := findVolume(vm, "data")
	require.NotNil(t, vol, "the volume is in the template")
	require.NotNil(t, vol.PersistentVolumeClaim)
	assert.Equal(t, "data", vol.PersistentVolumeClaim.ClaimName)
	assert.True(t, vol.PersistentVolumeClaim.Hotpluggable)
	require.Len(t, vm.Spec.Template.Spec.Domain.Devices.Disks, 1)
	disk := vm.Spec.Template.Spec.Domain.Devices.Disks[0]
	assert.Equal(t, "data", disk.Name)
	require.NotNil(t, disk.Disk)
	assert.Equal(t, kubevirtv1.DiskBusSCSI, disk.Disk.Bus, "virtctl's default bus")

	out, err := framework.RunCommand(env.dir, virtctl, "--kubeconfig="+env.kubeconfig, "--namespace="+ns, "addvolume", "vm", "--volume-name=data")
	require.Error(t, err)
	assert.Contains(t, out, "Unable to add volume [data] because volume with that name already exists")

	run("removevolume", "vm", "--volume-name=data", "--persist")
	assert.Nil(t, findVolume(getVM(t, ns, "vm"), "data"), "the volume is gone")
	assert.Empty(t, getVM(t, ns, "vm").Spec.Template.Spec.Domain.Devices.Disks)
}

// TestVolumeActionsAdmissionAndRBAC: a ValidatingAdmissionPolicy on
// virtualmachines/addvolume denies one user; the kit's edit role may hot
// plug and unplug, view may not.
func TestVolumeActionsAdmissionAndRBAC(t *testing.T) {
	suite.Require(t)
	ns := newNamespace(t)
	const (
		denied = "dan-denied"
		editor = "ed-editor"
		viewer = "vic-viewer"
	)
	bind(t, ns, denied, "ClusterRole", "edit")
	bind(t, ns, editor, "ClusterRole", "edit")
	bind(t, ns, viewer, "ClusterRole", "view")
	createVM(t, ns, newVM("probe", kubevirtv1.RunStrategyHalted))
	createVM(t, ns, newVM("vm", kubevirtv1.RunStrategyHalted))
	body := []byte(`{"name":"data","disk":{"disk":{"bus":"scsi"}},"volumeSource":{"persistentVolumeClaim":{"claimName":"data"}}}`)

	name := "no-hotplug-" + ns
	createDenyPolicy(t, ns, name, admissionregistrationv1.ValidatingAdmissionPolicySpec{
		MatchConstraints: &admissionregistrationv1.MatchResources{
			ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{RuleWithOperations: actionRule("virtualmachines/addvolume")}},
		},
		Validations: []admissionregistrationv1.Validation{{
			Expression:        "request.userInfo.username != '" + denied + "'",
			MessageExpression: "'VM ' + oldObject.metadata.name + ' is protected: ' + request.userInfo.username + ' may not hot plug'",
			Reason:            ptrTo(metav1.StatusReasonForbidden),
		}},
	})
	waitErr := waitForDenial(t.Context(), "a dry-run addvolume", func(ctx context.Context) (rawResponse, error) {
		return do(ctx, impersonate(denied, nil, nil), http.MethodPut, actionPath(subresourcesV1, ns, "probe", "addvolume")+"?dryRun=All", body, "")
	})
	assert.NoError(t, waitErr, "the server never applied the policy to addvolume")

	t.Run("the policy denies the user", func(t *testing.T) {
		before := getVM(t, ns, "vm")
		resp, err := do(t.Context(), impersonate(denied, nil, nil), http.MethodPut, actionPath(subresourcesV1, ns, "vm", "addvolume"), body, "")
		require.NoError(t, err)
		assertPolicyDenial(t, resp, name)
		assertUnchanged(t, before, getVM(t, ns, "vm"))
	})
	t.Run("view may not hot plug", func(t *testing.T) {
		resp, err := do(t.Context(), impersonate(viewer, nil, nil), http.MethodPut, actionPath(subresourcesV1, ns, "vm", "addvolume"), body, "")
		require.NoError(t, err)
		assert.Equal(t, http.StatusForbidden, resp.code, string(resp.body))
		assert.Contains(t, statusOf(t, resp).Message, `cannot update resource "virtualmachines/addvolume"`)
	})
	t.Run("edit may hot plug and unplug", func(t *testing.T) {
		resp, err := do(t.Context(), impersonate(editor, nil, nil), http.MethodPut, actionPath(subresourcesV1, ns, "vm", "addvolume"), body, "")
		require.NoError(t, err)
		require.Equal(t, http.StatusAccepted, resp.code, string(resp.body))
		require.NotNil(t, findVolume(getVM(t, ns, "vm"), "data"))

		resp, err = do(t.Context(), impersonate(viewer, nil, nil), http.MethodPut, actionPath(subresourcesV1a, ns, "vm", "removevolume"), []byte(`{"name":"data"}`), "")
		require.NoError(t, err)
		assert.Equal(t, http.StatusForbidden, resp.code, string(resp.body))

		resp, err = do(t.Context(), impersonate(editor, nil, nil), http.MethodPut, actionPath(subresourcesV1a, ns, "vm", "removevolume"), []byte(`{"name":"data"}`), "")
		require.NoError(t, err)
		require.Equal(t, http.StatusAccepted, resp.code, string(resp.body))
		assert.Nil(t, findVolume(getVM(t, ns, "vm"), "data"))
	})
}
