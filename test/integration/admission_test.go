package integration

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubevirtv1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/test/framework"
)

// admissionWait bounds how long the server may take to pick up a new
// policy or webhook configuration through its informers.
const admissionWait = 45 * time.Second

var (
	vmResource = metav1.GroupVersionResource{Group: "kubevirt.io", Version: "v1", Resource: "virtualmachines"}
	vmKindGVK  = metav1.GroupVersionKind{Group: "kubevirt.io", Version: "v1", Kind: "VirtualMachine"}
)

// TestAdmissionPolicyDeniesStop: a ValidatingAdmissionPolicy in
// kube-apiserver applies to vm-apiserver's stop action, which it sees as an
// UPDATE of kubevirt.io/v1 virtualmachines/stop by the requesting user.
func TestAdmissionPolicyDeniesStop(t *testing.T) {
	suite.Require(t)
	ns := newNamespace(t)
	const (
		operator   = "olga-operator"
		breakGlass = "break-glass"
	)
	bind(t, ns, operator, "ClusterRole", "edit")
	bind(t, ns, breakGlass, "ClusterRole", "edit")

	protected := map[string]string{"protected": "true"}
	newRunningVM(t, ns, "probe", protected)
	newRunningVM(t, ns, "guarded", protected)
	newRunningVM(t, ns, "glass", protected)
	newRunningVM(t, ns, "plain", nil)

	name := "protect-vms-" + ns
	createStopPolicy(t, ns, name, breakGlass)

	// Dry-run stops of a VM of its own write nothing; the first denial
	// shows that the server enforces the policy.
	waitErr := waitForDenial(t.Context(), "a dry-run stop of a protected VM", func(ctx context.Context) (rawResponse, error) {
		return do(ctx, env.admin, http.MethodPut, actionPath(subresourcesV1, ns, "probe", "stop")+"?dryRun=All", nil, "")
	})
	// The cases below still run, to show what the server does.
	assert.NoError(t, waitErr, "the server never applied the policy to the stop action")

	t.Run("dry-run stop of a protected VM is denied", func(t *testing.T) {
		before := getVM(t, ns, "guarded")
		resp, err := do(t.Context(), impersonate(operator, nil, nil), http.MethodPut,
			actionPath(subresourcesV1, ns, "guarded", "stop")+"?dryRun=All", nil, "")
		require.NoError(t, err)
		assertPolicyDenial(t, resp, name)
		assertUnchanged(t, before, getVM(t, ns, "guarded"))
	})

	t.Run("stop of a protected VM is denied", func(t *testing.T) {
		before := getVM(t, ns, "guarded")
		resp, err := do(t.Context(), impersonate(operator, nil, nil), http.MethodPut, actionPath(subresourcesV1, ns, "guarded", "stop"), nil, "")
		require.NoError(t, err)
		assertPolicyDenial(t, resp, name)
		assert.Contains(t, statusOf(t, resp).Message, operator+" may not stop it", "the message is built from request.userInfo")
		assertUnchanged(t, before, getVM(t, ns, "guarded"))
	})

	t.Run("stop of an unprotected VM succeeds", func(t *testing.T) {
		before := getVM(t, ns, "plain")
		resp, err := do(t.Context(), impersonate(operator, nil, nil), http.MethodPut, actionPath(subresourcesV1, ns, "plain", "stop"), nil, "")
		require.NoError(t, err)
		require.Equal(t, http.StatusAccepted, resp.code, string(resp.body))
		after := getVM(t, ns, "plain")
		assert.NotEqual(t, before.ResourceVersion, after.ResourceVersion)
		require.NotNil(t, after.Spec.RunStrategy)
		assert.Equal(t, kubevirtv1.RunStrategyHalted, *after.Spec.RunStrategy)
	})

	t.Run("stop of a protected VM by the break-glass user succeeds", func(t *testing.T) {
		resp, err := do(t.Context(), impersonate(breakGlass, nil, nil), http.MethodPut, actionPath(subresourcesV1, ns, "glass", "stop"), nil, "")
		require.NoError(t, err)
		require.Equal(t, http.StatusAccepted, resp.code, string(resp.body))
		after := getVM(t, ns, "glass")
		require.NotNil(t, after.Spec.RunStrategy)
		assert.Equal(t, kubevirtv1.RunStrategyHalted, *after.Spec.RunStrategy)
	})
}

// createStopPolicy creates a policy and binding, both scoped to ns, that
// deny stopping a VM labelled protected=true to anyone but breakGlass.
func createStopPolicy(t *testing.T, ns, name, breakGlass string) {
	t.Helper()
	createDenyPolicy(t, ns, name, admissionregistrationv1.ValidatingAdmissionPolicySpec{
		MatchConstraints: &admissionregistrationv1.MatchResources{
			ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
				RuleWithOperations: actionRule("virtualmachines/stop"),
			}},
		},
		Validations: []admissionregistrationv1.Validation{{
			Expression: "!(has(oldObject.metadata.labels) && 'protected' in oldObject.metadata.labels && " +
				"oldObject.metadata.labels['protected'] == 'true') || request.userInfo.username == '" + breakGlass + "'",
			MessageExpression: "'VM ' + oldObject.metadata.name + ' is protected: ' + request.userInfo.username + ' may not stop it'",
			Reason:            ptrTo(metav1.StatusReasonForbidden),
		}},
	})
}

// createDenyPolicy creates the ValidatingAdmissionPolicy name with spec,
// failing closed and matching ns only, and a binding that denies what it
// refuses in ns. Both are deleted when the test ends.
func createDenyPolicy(t *testing.T, ns, name string, spec admissionregistrationv1.ValidatingAdmissionPolicySpec) {
	t.Helper()
	ctx := t.Context()
	policies := env.kube.AdmissionregistrationV1().ValidatingAdmissionPolicies()
	bindings := env.kube.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings()
	spec.FailurePolicy = ptrTo(admissionregistrationv1.Fail)
	spec.MatchConstraints.NamespaceSelector = namespaceSelector(ns)
	_, err := policies.Create(ctx, &admissionregistrationv1.ValidatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: spec}, metav1.CreateOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { deleteClusterObject(t, "ValidatingAdmissionPolicy "+name, policies.Delete, name) })

	_, err = bindings.Create(ctx, &admissionregistrationv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        name,
			ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny},
			MatchResources:    &admissionregistrationv1.MatchResources{NamespaceSelector: namespaceSelector(ns)},
		},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { deleteClusterObject(t, "ValidatingAdmissionPolicyBinding "+name, bindings.Delete, name) })
}

// assertPolicyDenial checks a 403 from the policy (its reason is Forbidden).
func assertPolicyDenial(t *testing.T, resp rawResponse, policy string) {
	t.Helper()
	assert.Equal(t, http.StatusForbidden, resp.code, "the policy denies the action: %s", resp.body)
	s := statusOf(t, resp)
	assert.Equal(t, metav1.StatusReasonForbidden, s.Reason)
	assert.Contains(t, s.Message, "ValidatingAdmissionPolicy '"+policy+"'")
	assert.Contains(t, s.Message, "is protected")
}

// TestAdmissionWebhooks: webhooks registered in kube-apiserver are called by
// vm-apiserver for an action, with the action as an UPDATE of
// kubevirt.io/v1 virtualmachines/<action>; a mutation is refused.
func TestAdmissionWebhooks(t *testing.T) {
	suite.Require(t)
	ns := newNamespace(t)
	const requester = "wanda-webhook"
	bind(t, ns, requester, "ClusterRole", "edit")

	validated := map[string]string{"admission-test": "validate"}
	mutated := map[string]string{"admission-test": "mutate"}
	newRunningVM(t, ns, "probe", validated)
	newRunningVM(t, ns, "vm", validated)
	createVM(t, ns, withLabels(newVM("halted", kubevirtv1.RunStrategyHalted), validated))
	newRunningVM(t, ns, "mutated", mutated)

	validator := &reviewRecorder{}
	mutator := &reviewRecorder{patch: []byte(`[{"op":"add","path":"/metadata/labels/tagged-by-webhook","value":"true"}]`)}
	srv, caPEM := startWebhookServer(t, map[string]http.Handler{"/validate": validator, "/mutate": mutator})

	rules := []admissionregistrationv1.RuleWithOperations{actionRule("virtualmachines/start", "virtualmachines/stop", "virtualmachines/restart")}
	clientConfig := func(path string) admissionregistrationv1.WebhookClientConfig {
		return admissionregistrationv1.WebhookClientConfig{URL: ptrTo(srv.URL + path), CABundle: caPEM}
	}
	vwcs := env.kube.AdmissionregistrationV1().ValidatingWebhookConfigurations()
	vwcName := "record-actions-" + ns
	_, err := vwcs.Create(t.Context(), &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: vwcName},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name:                    "record.actions.integration.test",
			ClientConfig:            clientConfig("/validate"),
			Rules:                   rules,
			NamespaceSelector:       namespaceSelector(ns),
			ObjectSelector:          &metav1.LabelSelector{MatchLabels: validated},
			SideEffects:             ptrTo(admissionregistrationv1.SideEffectClassNone),
			AdmissionReviewVersions: []string{"v1"},
			FailurePolicy:           ptrTo(admissionregistrationv1.Fail),
			TimeoutSeconds:          ptrTo(int32(10)),
		}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { deleteClusterObject(t, "ValidatingWebhookConfiguration "+vwcName, vwcs.Delete, vwcName) })

	mwcs := env.kube.AdmissionregistrationV1().MutatingWebhookConfigurations()
	mwcName := "tag-actions-" + ns
	_, err = mwcs.Create(t.Context(), &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: mwcName},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name:                    "tagger.integration.test",
			ClientConfig:            clientConfig("/mutate"),
			Rules:                   rules,
			NamespaceSelector:       namespaceSelector(ns),
			ObjectSelector:          &metav1.LabelSelector{MatchLabels: mutated},
			SideEffects:             ptrTo(admissionregistrationv1.SideEffectClassNone),
			AdmissionReviewVersions: []string{"v1"},
			FailurePolicy:           ptrTo(admissionregistrationv1.Fail),
			TimeoutSeconds:          ptrTo(int32(10)),
		}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { deleteClusterObject(t, "MutatingWebhookConfiguration "+mwcName, mwcs.Delete, mwcName) })

	// Dry-run stops write nothing; the first recorded call shows that the
	// server has picked up the configuration.
	waitForWebhook := func(rec *reviewRecorder, vm string) error {
		return pollAdmission(t.Context(), "a webhook call for "+vm, func(ctx context.Context) (bool, error) {
			if len(rec.forVM(vm)) > 0 {
				return true, nil
			}
			resp, err := do(ctx, env.admin, http.MethodPut, actionPath(subresourcesV1, ns, vm, "stop")+"?dryRun=All", nil, "")
			if err != nil {
				return false, err
			}
			if len(rec.forVM(vm)) > 0 {
				return true, nil
			}
			return false, fmt.Errorf("no webhook call; dry-run stop answered %d %s", resp.code, resp.body)
		})
	}
	// The cases below still run, to show what the server does.
	assert.NoError(t, waitForWebhook(validator, "probe"), "vm-apiserver never called the validating webhook")
	assert.NoError(t, waitForWebhook(mutator, "mutated"), "vm-apiserver never called the mutating webhook")

	t.Run("validating webhook sees the stop", func(t *testing.T) {
		resp, err := do(t.Context(), impersonate(requester, nil, nil), http.MethodPut, actionPath(subresourcesV1, ns, "vm", "stop"), nil, "")
		require.NoError(t, err)
		require.Equal(t, http.StatusAccepted, resp.code, string(resp.body))
		require.Equal(t, kubevirtv1.RunStrategyHalted, *getVM(t, ns, "vm").Spec.RunStrategy)

		reqs := validator.forVM("vm")
		require.NotEmpty(t, reqs, "vm-apiserver called no webhook for the stop")
		req := reqs[len(reqs)-1]
		assert.Equal(t, admissionv1.Update, req.Operation)
		assert.Equal(t, vmResource, req.Resource)
		assert.Equal(t, "stop", req.SubResource)
		assert.Equal(t, vmKindGVK, req.Kind)
		assert.Equal(t, ns, req.Namespace)
		assert.Equal(t, "vm", req.Name)
		assert.Equal(t, requester, req.UserInfo.Username)
		assert.Equal(t, ptrTo(false), req.DryRun)
		assert.Equal(t, kubevirtv1.RunStrategyAlways, runStrategyOf(t, req.OldObject.Raw), "oldObject is the VM as stored before")
		assert.Equal(t, kubevirtv1.RunStrategyHalted, runStrategyOf(t, req.Object.Raw), "object is the VM as written")
	})

	t.Run("validating webhook sees a dry-run start", func(t *testing.T) {
		before := getVM(t, ns, "halted")
		resp, err := do(t.Context(), impersonate(requester, nil, nil), http.MethodPut,
			actionPath(subresourcesV1, ns, "halted", "start")+"?dryRun=All", nil, "")
		require.NoError(t, err)
		require.Equal(t, http.StatusAccepted, resp.code, string(resp.body))
		assertUnchanged(t, before, getVM(t, ns, "halted"))

		reqs := validator.forVM("halted")
		require.NotEmpty(t, reqs, "vm-apiserver called no webhook for the dry-run start")
		req := reqs[len(reqs)-1]
		assert.Equal(t, admissionv1.Update, req.Operation)
		assert.Equal(t, vmResource, req.Resource)
		assert.Equal(t, "start", req.SubResource)
		assert.Equal(t, requester, req.UserInfo.Username)
		assert.Equal(t, ptrTo(true), req.DryRun)
		assert.Equal(t, kubevirtv1.RunStrategyHalted, runStrategyOf(t, req.OldObject.Raw))
		assert.Equal(t, kubevirtv1.RunStrategyAlways, runStrategyOf(t, req.Object.Raw))
	})

	t.Run("mutating webhook that adds a label is refused", func(t *testing.T) {
		before := getVM(t, ns, "mutated")
		calls := len(mutator.forVM("mutated"))
		resp, err := do(t.Context(), env.admin, http.MethodPut, actionPath(subresourcesV1, ns, "mutated", "stop"), nil, "")
		require.NoError(t, err)
		assert.Equal(t, http.StatusUnprocessableEntity, resp.code, "a mutation beyond the action is refused: %s", resp.body)
		msg := statusOf(t, resp).Message
		assert.Contains(t, msg, "metadata.labels", "the message names the field")
		assert.Contains(t, msg, "a mutating admission plugin changed this during a stop")
		after := getVM(t, ns, "mutated")
		assertUnchanged(t, before, after)
		assert.NotContains(t, after.Labels, "tagged-by-webhook")

		reqs := mutator.forVM("mutated")
		if assert.Greater(t, len(reqs), calls, "vm-apiserver called no mutating webhook for the stop") {
			req := reqs[len(reqs)-1]
			assert.Equal(t, admissionv1.Update, req.Operation)
			assert.Equal(t, "stop", req.SubResource)
			assert.Equal(t, ptrTo(false), req.DryRun)
		}
	})
}

// reviewRecorder is a webhook that records every AdmissionReview request
// and allows it, with patch as a JSONPatch when set.
type reviewRecorder struct {
	patch []byte

	mu   sync.Mutex
	reqs []admissionv1.AdmissionRequest
}

func (r *reviewRecorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	var review admissionv1.AdmissionReview
	if err := json.NewDecoder(req.Body).Decode(&review); err != nil || review.Request == nil {
		http.Error(w, "expected an AdmissionReview with a request", http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, *review.Request)
	r.mu.Unlock()

	resp := &admissionv1.AdmissionResponse{UID: review.Request.UID, Allowed: true}
	if r.patch != nil {
		resp.Patch = r.patch
		resp.PatchType = ptrTo(admissionv1.PatchTypeJSONPatch)
	}
	out := admissionv1.AdmissionReview{TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"}, Response: resp}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

// forVM returns the recorded requests for the named VM.
func (r *reviewRecorder) forVM(name string) []admissionv1.AdmissionRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []admissionv1.AdmissionRequest
	for _, req := range r.reqs {
		if req.Name == name {
			out = append(out, req)
		}
	}
	return out
}

// startWebhookServer serves handlers over TLS on 127.0.0.1 with a
// certificate from a CA of its own, and returns the server and the CA (PEM).
func startWebhookServer(t *testing.T, handlers map[string]http.Handler) (*httptest.Server, []byte) {
	t.Helper()
	ca := framework.NewCA("webhook-ca")
	serving := ca.ServingCert("webhook", "127.0.0.1")
	mux := http.NewServeMux()
	for path, h := range handlers {
		mux.Handle(path, h)
	}
	srv := httptest.NewUnstartedServer(mux)
	srv.TLS = &tls.Config{
		Certificates: []tls.Certificate{*serving.TLSCertificate()},
		MinVersion:   tls.VersionTLS12,
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, ca.CertPEM
}

// pollAdmission polls cond every half second until it holds or the server
// has had admissionWait to pick up a configuration; the error names the
// last reason it did not hold.
func pollAdmission(ctx context.Context, what string, cond framework.Condition) error {
	return framework.Poll(ctx, 500*time.Millisecond, admissionWait, what, cond)
}

// waitForDenial sends probe until it is answered 403, which shows that the
// server enforces a policy just created; what names the request in the
// error.
func waitForDenial(ctx context.Context, what string, probe func(context.Context) (rawResponse, error)) error {
	return pollAdmission(ctx, "the policy to deny "+what, func(ctx context.Context) (bool, error) {
		resp, err := probe(ctx)
		if err != nil {
			return false, err
		}
		if resp.code == http.StatusForbidden {
			return true, nil
		}
		return false, fmt.Errorf("%s: %d %s", what, resp.code, resp.body)
	})
}

// newRunningVM creates a VM with runStrategy Always and a running instance,
// so that it can be stopped.
func newRunningVM(t *testing.T, ns, name string, labels map[string]string) {
	t.Helper()
	createVM(t, ns, withLabels(newVM(name, kubevirtv1.RunStrategyAlways), labels))
	setStatus(t, ns, name, running)
}

func withLabels(vm *kubevirtv1.VirtualMachine, labels map[string]string) *kubevirtv1.VirtualMachine {
	for k, v := range labels {
		vm.Labels[k] = v
	}
	return vm
}

// actionRule matches UPDATE of the given kubevirt.io/v1 resources.
func actionRule(resources ...string) admissionregistrationv1.RuleWithOperations {
	return admissionregistrationv1.RuleWithOperations{
		Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Update},
		Rule: admissionregistrationv1.Rule{
			APIGroups:   []string{"kubevirt.io"},
			APIVersions: []string{"v1"},
			Resources:   resources,
		},
	}
}

// namespaceSelector selects only ns, by the label that kube-apiserver sets.
func namespaceSelector(ns string) *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: ns}}
}

// deleteClusterObject deletes a cluster-scoped object at the end of a test
// (when t.Context() is already done).
func deleteClusterObject(t *testing.T, what string, del func(context.Context, string, metav1.DeleteOptions) error, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := del(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		t.Errorf("deleting %s: %v", what, err)
	}
}

// assertUnchanged checks that nothing was written to the VM.
func assertUnchanged(t *testing.T, before, after *kubevirtv1.VirtualMachine) {
	t.Helper()
	assert.Equal(t, before.ResourceVersion, after.ResourceVersion, "nothing is written")
	require.NotNil(t, after.Spec.RunStrategy)
	assert.Equal(t, *before.Spec.RunStrategy, *after.Spec.RunStrategy)
}

// statusOf reads the Status fields of a response; a VM (a 2xx body) has
// none of them.
func statusOf(t *testing.T, resp rawResponse) metav1.Status {
	t.Helper()
	var s struct {
		Message string              `json:"message"`
		Reason  metav1.StatusReason `json:"reason"`
		Code    int32               `json:"code"`
	}
	require.NoError(t, json.Unmarshal(resp.body, &s), string(resp.body))
	return metav1.Status{Message: s.Message, Reason: s.Reason, Code: s.Code}
}

// runStrategyOf reads spec.runStrategy from a VM in JSON.
func runStrategyOf(t *testing.T, raw []byte) kubevirtv1.VirtualMachineRunStrategy {
	t.Helper()
	var vm kubevirtv1.VirtualMachine
	require.NoError(t, json.Unmarshal(raw, &vm), string(raw))
	require.NotNil(t, vm.Spec.RunStrategy, string(raw))
	return *vm.Spec.RunStrategy
}
