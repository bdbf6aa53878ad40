package integration

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	kubevirtv1 "kubevirt.io/api/core/v1"
)

// v1alpha3Warning is KubeVirt's deprecation warning, word for word.
const v1alpha3Warning = "kubevirt.io/v1alpha3 is now deprecated and will be removed in a future release."

var vmV1alpha3GVR = schema.GroupVersionResource{Group: "kubevirt.io", Version: "v1alpha3", Resource: "virtualmachines"}

// v1alpha3Manifest is a VM in kubevirt.io/v1alpha3, as old manifests are.
func v1alpha3Manifest(name, strategy string) string {
	return `apiVersion: kubevirt.io/v1alpha3
kind: VirtualMachine
metadata:
  name: ` + name + `
spec:
  runStrategy: ` + strategy + `
  template:
    spec:
      domain:
        devices: {}
`
}

// withoutWarnings splits kubectl's combined output into its lines and the
// warnings it printed.
func withoutWarnings(out string) (lines, warnings []string) {
	for _, l := range trimLines(out) {
		if w, ok := strings.CutPrefix(l, "Warning: "); ok {
			warnings = append(warnings, w)
			continue
		}
		lines = append(lines, l)
	}
	return lines, warnings
}

// TestKubectlV1alpha3 is a user of KubeVirt's deprecated version with the
// real kubectl, through kube-apiserver, in order.
func TestKubectlV1alpha3(t *testing.T) {
	ns := newNamespace(t)
	k := func(t *testing.T, args ...string) (lines, warnings []string) {
		t.Helper()
		out, err := env.kubectl(t.Context(), append(args, "--namespace="+ns)...)
		require.NoError(t, err, out)
		return withoutWarnings(out)
	}
	deprecated := []string{v1alpha3Warning}

	t.Run("apply a v1alpha3 manifest", func(t *testing.T) {
		manifest := writeFile(t, "vm-old.yaml", v1alpha3Manifest("vm-old", "Halted"))
		lines, warnings := k(t, "apply", "-f", manifest)
		assert.Equal(t, []string{"virtualmachine.kubevirt.io/vm-old created"}, lines)
		assert.Equal(t, deprecated, warnings)
		lines, _ = k(t, "apply", "-f", manifest)
		assert.Equal(t, []string{"virtualmachine.kubevirt.io/vm-old unchanged"}, lines)
	})

	t.Run("get virtualmachines.v1alpha3.kubevirt.io", func(t *testing.T) {
		lines, warnings := k(t, "get", "virtualmachines.v1alpha3.kubevirt.io", "-o", "wide")
		assert.Equal(t, deprecated, warnings)
		require.Len(t, lines, 2)
		assert.Equal(t, []string{"NAME", "AGE", "STATUS", "READY", "RUNSTRATEGY"}, strings.Fields(lines[0]))
		row := strings.Fields(lines[1])
		require.Len(t, row, 5)
		assert.Equal(t, "vm-old", row[0])
		assert.Equal(t, []string{"Stopped", "False", "Halted"}, row[2:])

		lines, _ = k(t, "get", "virtualmachines.v1alpha3.kubevirt.io", "vm-old", "-o", "jsonpath={.apiVersion}")
		assert.Equal(t, []string{vmGroupVersionV1a}, lines)
	})

	// kubectl expands a short name to its group and resource and drops the
	// version (client-go's shortcut expander), so vm.v1alpha3.kubevirt.io
	// is read in the preferred version, v1, as against KubeVirt itself.
	t.Run("get vm.v1alpha3.kubevirt.io", func(t *testing.T) {
		lines, warnings := k(t, "get", "vm.v1alpha3.kubevirt.io")
		assert.Empty(t, warnings)
		require.Len(t, lines, 2)
		assert.Equal(t, []string{"NAME", "AGE", "STATUS", "READY"}, strings.Fields(lines[0]))
		assert.Equal(t, "vm-old", strings.Fields(lines[1])[0])
		lines, _ = k(t, "get", "vm.v1alpha3.kubevirt.io", "vm-old", "-o", "jsonpath={.apiVersion}")
		assert.Equal(t, []string{vmGroupVersion}, lines)
	})

	t.Run("the same VM in v1, without a warning", func(t *testing.T) {
		lines, warnings := k(t, "get", "vm", "vm-old", "-o", "jsonpath={.apiVersion} {.metadata.annotations.kubectl\\.kubernetes\\.io/last-applied-configuration}")
		assert.Empty(t, warnings)
		require.Len(t, lines, 1)
		assert.True(t, strings.HasPrefix(lines[0], vmGroupVersion+" "), lines[0])
		assert.Contains(t, lines[0], `"apiVersion":"kubevirt.io/v1alpha3"`, "the last-applied annotation keeps the manifest's version")
	})

	t.Run("apply --server-side in v1alpha3", func(t *testing.T) {
		lines, warnings := k(t, "apply", "--server-side", "-f", writeFile(t, "vm-ssa-old.yaml", v1alpha3Manifest("vm-ssa-old", "Manual")))
		assert.Equal(t, []string{"virtualmachine.kubevirt.io/vm-ssa-old serverside-applied"}, lines)
		assert.Equal(t, deprecated, warnings)
		k(t, "apply", "--server-side", "-f", writeFile(t, "vm-ssa-old.yaml", v1alpha3Manifest("vm-ssa-old", "Halted")))

		vm := getVM(t, ns, "vm-ssa-old")
		require.NotNil(t, vm.Spec.RunStrategy)
		assert.EqualValues(t, "Halted", *vm.Spec.RunStrategy)
		require.NotEmpty(t, vm.ManagedFields)
		assert.Equal(t, "kubectl", vm.ManagedFields[0].Manager)
		assert.Equal(t, metav1.ManagedFieldsOperationApply, vm.ManagedFields[0].Operation)
		assert.Equal(t, vmGroupVersionV1a, vm.ManagedFields[0].APIVersion)
	})

	t.Run("explain --api-version=kubevirt.io/v1alpha3", func(t *testing.T) {
		lines, _ := k(t, "explain", "vm", "--api-version="+vmGroupVersionV1a)
		out := strings.Join(lines, "\n")
		assert.Regexp(t, regexp.MustCompile(`(?m)^GROUP:\s+kubevirt\.io$`), out)
		assert.Regexp(t, regexp.MustCompile(`(?m)^KIND:\s+VirtualMachine$`), out)
		assert.Regexp(t, regexp.MustCompile(`(?m)^VERSION:\s+v1alpha3$`), out)
		lines, _ = k(t, "explain", "vm.spec.runStrategy", "--api-version="+vmGroupVersionV1a)
		assert.Contains(t, strings.Join(lines, "\n"), "FIELD: runStrategy <string>")
	})

	t.Run("delete in v1alpha3", func(t *testing.T) {
		lines, warnings := k(t, "delete", "virtualmachines.v1alpha3.kubevirt.io", "vm-old", "--wait=false")
		require.Len(t, lines, 1)
		assert.True(t, strings.HasPrefix(lines[0], `virtualmachine.kubevirt.io "vm-old" deleted`), lines[0])
		assert.Equal(t, deprecated, warnings)
		lines, _ = k(t, "get", "vm", "-o", "name")
		assert.Equal(t, []string{"virtualmachine.kubevirt.io/vm-ssa-old"}, lines)
	})
}

// collectedWarnings gathers the Warning headers a client receives.
type collectedWarnings struct {
	mu    sync.Mutex
	texts []string
}

func (c *collectedWarnings) HandleWarningHeader(_ int, _ string, text string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.texts = append(c.texts, text)
}

func (c *collectedWarnings) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.texts
	c.texts = nil
	return out
}

// TestV1alpha3ThroughKubeAPIServer: what the aggregator proxies for
// v1alpha3 is the same store as v1, and the warning reaches the client.
func TestV1alpha3ThroughKubeAPIServer(t *testing.T) {
	ns := newNamespace(t)
	cfg := rest.CopyConfig(env.admin)
	warn := &collectedWarnings{}
	cfg.WarningHandler = warn
	dyn, err := dynamic.NewForConfig(cfg)
	require.NoError(t, err)
	oldVMs := dyn.Resource(vmV1alpha3GVR).Namespace(ns)
	newVMs := dyn.Resource(vmGVR).Namespace(ns)

	w, err := oldVMs.Watch(t.Context(), metav1.ListOptions{})
	require.NoError(t, err)
	defer w.Stop()
	assert.Equal(t, []string{v1alpha3Warning}, warn.take(), "watch")

	created := createVM(t, ns, newVM("vm-a", "Halted"))
	assert.Empty(t, warn.take(), "v1 is not deprecated")

	got, err := oldVMs.Get(t.Context(), "vm-a", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, vmGroupVersionV1a, got.GetAPIVersion())
	assert.Equal(t, string(created.UID), string(got.GetUID()))
	assert.Equal(t, []string{v1alpha3Warning}, warn.take(), "get")

	patched, err := oldVMs.Patch(t.Context(), "vm-a", types.MergePatchType, []byte(`{"status":{"printableStatus":"Starting"}}`), metav1.PatchOptions{}, "status")
	require.NoError(t, err)
	assert.Equal(t, vmGroupVersionV1a, patched.GetAPIVersion())
	assert.Equal(t, []string{v1alpha3Warning}, warn.take(), "status patch")
	inV1, err := newVMs.Get(t.Context(), "vm-a", metav1.GetOptions{})
	require.NoError(t, err)
	status, _, _ := unstructured.NestedString(inV1.Object, "status", "printableStatus")
	assert.Equal(t, "Starting", status)

	for _, want := range []watch.EventType{watch.Added, watch.Modified} {
		select {
		case ev, ok := <-w.ResultChan():
			require.True(t, ok, "watch closed")
			require.Equal(t, want, ev.Type)
			obj, ok := ev.Object.(*unstructured.Unstructured)
			require.True(t, ok, "%T", ev.Object)
			assert.Equal(t, vmGroupVersionV1a, obj.GetAPIVersion())
		case <-time.After(30 * time.Second):
			require.FailNow(t, "no watch event within 30s", "want %s", want)
		}
	}
}

// TestV1alpha3Admission: a ValidatingAdmissionPolicy written for
// kubevirt.io/v1 (with the default matchPolicy, Equivalent) also sees
// requests to v1alpha3, converted to v1, as for KubeVirt's CRD.
func TestV1alpha3Admission(t *testing.T) {
	ns := newNamespace(t)
	name := "no-once-" + ns
	createDenyPolicy(t, ns, name, admissionregistrationv1.ValidatingAdmissionPolicySpec{
		MatchConstraints: &admissionregistrationv1.MatchResources{
			ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionregistrationv1.RuleWithOperations{
					Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
					Rule: admissionregistrationv1.Rule{
						APIGroups:   []string{"kubevirt.io"},
						APIVersions: []string{"v1"},
						Resources:   []string{"virtualmachines"},
					},
				},
			}},
		},
		Validations: []admissionregistrationv1.Validation{{
			Expression: "object.apiVersion == 'kubevirt.io/v1' && " +
				"(!has(object.spec.runStrategy) || object.spec.runStrategy != 'Once')",
			Message: "runStrategy Once is not allowed here",
			Reason:  ptrTo(metav1.StatusReasonForbidden),
		}},
	})

	create := func(ctx context.Context, gv, vmName, strategy string, dryRun bool) (rawResponse, error) {
		body, err := json.Marshal(newVM(vmName, kubevirtv1.VirtualMachineRunStrategy(strategy)))
		if err != nil {
			return rawResponse{}, err
		}
		body = []byte(strings.Replace(string(body), "{", `{"apiVersion":"`+gv+`","kind":"VirtualMachine",`, 1))
		path := "/apis/" + gv + "/namespaces/" + ns + "/virtualmachines"
		if dryRun {
			path += "?dryRun=All"
		}
		return do(ctx, env.admin, http.MethodPost, path, body, "application/json")
	}
	// The first denial through v1 shows that the server has the policy.
	err := waitForDenial(t.Context(), "a dry-run create in v1", func(ctx context.Context) (rawResponse, error) {
		return create(ctx, vmGroupVersion, "probe", "Once", true)
	})
	require.NoError(t, err)

	tests := []struct {
		name     string
		strategy string
		code     int
	}{
		{"denied", "Once", http.StatusForbidden},
		{"allowed", "Halted", http.StatusCreated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := create(t.Context(), vmGroupVersionV1a, "vm-"+tt.name, tt.strategy, false)
			require.NoError(t, err)
			require.Equal(t, tt.code, resp.code, string(resp.body))
			if tt.code == http.StatusForbidden {
				s := statusOf(t, resp)
				assert.Contains(t, s.Message, "ValidatingAdmissionPolicy '"+name+"'")
				assert.Contains(t, s.Message, "runStrategy Once is not allowed here")
				return
			}
			var tm metav1.TypeMeta
			require.NoError(t, json.Unmarshal(resp.body, &tm))
			assert.Equal(t, vmGroupVersionV1a, tm.APIVersion)
		})
	}
}
