package integration

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/scale"
	kubevirtv1 "kubevirt.io/api/core/v1"
)

// TestScaleSubresource: virtualmachines/scale through kube-apiserver, for
// kubectl, for the scale client the HorizontalPodAutoscaler controller
// builds, for an HPA aimed at a VM, and under a ValidatingAdmissionPolicy.
func TestScaleSubresource(t *testing.T) {
	suite.Require(t)
	ns := newNamespace(t)

	t.Run("kubectl scale", func(t *testing.T) {
		createVM(t, ns, newVM("by-kubectl", kubevirtv1.RunStrategyHalted))
		out, err := env.kubectl(t.Context(), "scale", "vm/by-kubectl", "--replicas=1", "--namespace="+ns)
		require.NoError(t, err, out)
		assert.Equal(t, "virtualmachine.kubevirt.io/by-kubectl scaled", strings.TrimSpace(out))
		vm := getVM(t, ns, "by-kubectl")
		require.NotNil(t, vm.Spec.RunStrategy)
		assert.Equal(t, kubevirtv1.RunStrategyAlways, *vm.Spec.RunStrategy)

		out, err = env.kubectl(t.Context(), "scale", "vm/by-kubectl", "--replicas=0", "--namespace="+ns)
		require.NoError(t, err, out)
		vm = getVM(t, ns, "by-kubectl")
		assert.Equal(t, kubevirtv1.RunStrategyHalted, *vm.Spec.RunStrategy)
	})

	t.Run("the HPA controller's scale client", func(t *testing.T) {
		createVM(t, ns, newVM("by-client", kubevirtv1.RunStrategyHalted))
		// Built as kube-controller-manager builds it for the HPA
		// controller: a RESTMapper over cached discovery, and the scale
		// kind read from discovery.
		dc, err := discovery.NewDiscoveryClientForConfig(env.admin)
		require.NoError(t, err)
		cached := memory.NewMemCacheClient(dc)
		mapper := restmapper.NewDeferredDiscoveryRESTMapper(cached)
		scales := scale.New(dc.RESTClient(), mapper, dynamic.LegacyAPIPathResolverFunc, scale.NewDiscoveryScaleKindResolver(cached))

		target := schema.FromAPIVersionAndKind("kubevirt.io/v1", "VirtualMachine").GroupKind()
		mappings, err := mapper.RESTMappings(target)
		require.NoError(t, err)
		require.NotEmpty(t, mappings)
		resource := mappings[0].Resource.GroupResource()
		assert.Equal(t, schema.GroupResource{Group: "kubevirt.io", Resource: "virtualmachines"}, resource)

		got, err := scales.Scales(ns).Get(t.Context(), resource, "by-client", metav1.GetOptions{})
		require.NoError(t, err)
		assert.Equal(t, int32(0), got.Spec.Replicas)
		assert.Equal(t, "kubevirt.io=virt-launcher,vmi.kubevirt.io/id=by-client", got.Status.Selector)

		got.Spec.Replicas = 1
		updated, err := scales.Scales(ns).Update(t.Context(), resource, got, metav1.UpdateOptions{})
		require.NoError(t, err)
		assert.Equal(t, int32(1), updated.Spec.Replicas)
		vm := getVM(t, ns, "by-client")
		assert.Equal(t, kubevirtv1.RunStrategyAlways, *vm.Spec.RunStrategy)

		// The Scale read before the write is stale now: a conflict.
		got.Spec.Replicas = 0
		_, err = scales.Scales(ns).Update(t.Context(), resource, got, metav1.UpdateOptions{})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "the object has been modified")
	})

	t.Run("an HPA may target a VirtualMachine", func(t *testing.T) {
		hpa := &autoscalingv2.HorizontalPodAutoscaler{
			ObjectMeta: metav1.ObjectMeta{Name: "vm-hpa"},
			Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
				ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "kubevirt.io/v1", Kind: "VirtualMachine", Name: "by-client"},
				MinReplicas:    ptrTo(int32(1)),
				MaxReplicas:    1,
			},
		}
		created, err := env.kube.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(t.Context(), hpa, metav1.CreateOptions{})
		require.NoError(t, err)
		assert.Equal(t, "VirtualMachine", created.Spec.ScaleTargetRef.Kind)
	})
}

// TestScaleAdmissionPolicy: a ValidatingAdmissionPolicy on
// virtualmachines/scale denies one user's scale writes, seeing the old and
// the new Scale, while another user's succeed.
func TestScaleAdmissionPolicy(t *testing.T) {
	suite.Require(t)
	ns := newNamespace(t)
	const (
		denied  = "dora-denied"
		allowed = "alan-allowed"
	)
	bind(t, ns, denied, "ClusterRole", "edit")
	bind(t, ns, allowed, "ClusterRole", "edit")
	createVM(t, ns, newVM("probe", kubevirtv1.RunStrategyHalted))
	createVM(t, ns, newVM("vm", kubevirtv1.RunStrategyHalted))

	name := "no-scaling-" + ns
	createDenyPolicy(t, ns, name, admissionregistrationv1.ValidatingAdmissionPolicySpec{
		MatchConstraints: &admissionregistrationv1.MatchResources{
			ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
				RuleWithOperations: actionRule("virtualmachines/scale"),
			}},
		},
		Validations: []admissionregistrationv1.Validation{{
			Expression: "request.userInfo.username != '" + denied + "' && object.kind == 'Scale' && oldObject.kind == 'Scale'",
			// A Scale omits replicas 0, as autoscaling/v1 does.
			MessageExpression: "request.userInfo.username + ' may not scale ' + oldObject.metadata.name + ' from ' + " +
				"string(has(oldObject.spec.replicas) ? oldObject.spec.replicas : 0) + ' to ' + string(object.spec.replicas)",
			Reason: ptrTo(metav1.StatusReasonForbidden),
		}},
	})

	scaleUp := []byte(`{"spec":{"replicas":1}}`)
	path := func(vm string) string {
		return "/apis/kubevirt.io/v1/namespaces/" + ns + "/virtualmachines/" + vm + "/scale"
	}
	waitErr := waitForDenial(t.Context(), "a dry-run scale", func(ctx context.Context) (rawResponse, error) {
		return do(ctx, impersonate(denied, nil, nil), http.MethodPatch, path("probe")+"?dryRun=All", scaleUp, "application/merge-patch+json")
	})
	assert.NoError(t, waitErr, "the server never applied the policy to the scale")

	t.Run("denied user", func(t *testing.T) {
		before := getVM(t, ns, "vm")
		resp, err := do(t.Context(), impersonate(denied, nil, nil), http.MethodPatch, path("vm"), scaleUp, "application/merge-patch+json")
		require.NoError(t, err)
		require.Equal(t, http.StatusForbidden, resp.code, string(resp.body))
		status := statusOf(t, resp)
		assert.Contains(t, status.Message, "ValidatingAdmissionPolicy '"+name+"'")
		assert.Contains(t, status.Message, denied+" may not scale vm from 0 to 1")
		assertUnchanged(t, before, getVM(t, ns, "vm"))
	})

	t.Run("allowed user", func(t *testing.T) {
		resp, err := do(t.Context(), impersonate(allowed, nil, nil), http.MethodPatch, path("vm"), scaleUp, "application/merge-patch+json")
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.code, string(resp.body))
		vm := getVM(t, ns, "vm")
		assert.Equal(t, kubevirtv1.RunStrategyAlways, *vm.Spec.RunStrategy)
	})
}
