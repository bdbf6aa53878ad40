package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/uuid"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	kubevirtv1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/test/framework"
)

// bind grants a ClusterRole or Role to a user in ns.
func bind(t *testing.T, ns, user, kind, role string) {
	t.Helper()
	_, err := env.kube.RbacV1().RoleBindings(ns).Create(t.Context(), &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: user + "-" + role},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: kind, Name: role},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
}

// rbacOp is one request a user may or may not make. It sets up the VM it
// needs, so that an allowed request succeeds rather than conflicts.
type rbacOp struct {
	name     string
	strategy kubevirtv1.VirtualMachineRunStrategy
	active   bool
	request  func(ns, vm string) (method, path, body string)
	wantCode int // when allowed
}

var rbacOps = []rbacOp{
	{"get", "Halted", false, func(ns, vm string) (string, string, string) {
		return http.MethodGet, "/apis/kubevirt.io/v1/namespaces/" + ns + "/virtualmachines/" + vm, ""
	}, http.StatusOK},
	{"list", "Halted", false, func(ns, _ string) (string, string, string) {
		return http.MethodGet, "/apis/kubevirt.io/v1/namespaces/" + ns + "/virtualmachines", ""
	}, http.StatusOK},
	{"create", "Halted", false, func(ns, vm string) (string, string, string) {
		body, _ := json.Marshal(newVM(vm+"-new", kubevirtv1.RunStrategyHalted))
		return http.MethodPost, "/apis/kubevirt.io/v1/namespaces/" + ns + "/virtualmachines", string(body)
	}, http.StatusCreated},
	{"patch", "Halted", false, func(ns, vm string) (string, string, string) {
		return http.MethodPatch, "/apis/kubevirt.io/v1/namespaces/" + ns + "/virtualmachines/" + vm, `{"metadata":{"labels":{"x":"y"}}}`
	}, http.StatusOK},
	{"delete", "Halted", false, func(ns, vm string) (string, string, string) {
		return http.MethodDelete, "/apis/kubevirt.io/v1/namespaces/" + ns + "/virtualmachines/" + vm, ""
	}, http.StatusOK},
	{"update status", "Halted", false, func(ns, vm string) (string, string, string) {
		return http.MethodPatch, "/apis/kubevirt.io/v1/namespaces/" + ns + "/virtualmachines/" + vm + "/status", `{"status":{"ready":false}}`
	}, http.StatusOK},
	{"start", "Halted", false, func(ns, vm string) (string, string, string) {
		return http.MethodPut, actionPath(subresourcesV1, ns, vm, "start"), ""
	}, http.StatusAccepted},
	{"stop", "Always", true, func(ns, vm string) (string, string, string) {
		return http.MethodPut, actionPath(subresourcesV1, ns, vm, "stop"), ""
	}, http.StatusAccepted},
	{"restart", "Always", true, func(ns, vm string) (string, string, string) {
		return http.MethodPut, actionPath(subresourcesV1, ns, vm, "restart"), ""
	}, http.StatusAccepted},
	{"get scale", "Halted", false, func(ns, vm string) (string, string, string) {
		return http.MethodGet, "/apis/kubevirt.io/v1/namespaces/" + ns + "/virtualmachines/" + vm + "/scale", ""
	}, http.StatusOK},
	{"scale", "Halted", false, func(ns, vm string) (string, string, string) {
		return http.MethodPatch, "/apis/kubevirt.io/v1/namespaces/" + ns + "/virtualmachines/" + vm + "/scale", `{"spec":{"replicas":1}}`
	}, http.StatusOK},
	{"scale v1alpha3", "Always", false, func(ns, vm string) (string, string, string) {
		return http.MethodPatch, "/apis/" + vmGroupVersionV1a + "/namespaces/" + ns + "/virtualmachines/" + vm + "/scale", `{"spec":{"replicas":0}}`
	}, http.StatusOK},
	{"version", "Halted", false, func(string, string) (string, string, string) {
		return http.MethodGet, "/apis/" + subresourcesV1 + "/version", ""
	}, http.StatusOK},
	{"start v1alpha3", "Halted", false, func(ns, vm string) (string, string, string) {
		return http.MethodPut, actionPath(subresourcesV1a, ns, vm, "start"), ""
	}, http.StatusAccepted},
	// Rules name the group, not the version: kubevirt.io/v1alpha3 is allowed
	// to whoever may use kubevirt.io/v1.
	{"get v1alpha3", "Halted", false, func(ns, vm string) (string, string, string) {
		return http.MethodGet, "/apis/" + vmGroupVersionV1a + "/namespaces/" + ns + "/virtualmachines/" + vm, ""
	}, http.StatusOK},
	{"update status v1alpha3", "Halted", false, func(ns, vm string) (string, string, string) {
		return http.MethodPatch, "/apis/" + vmGroupVersionV1a + "/namespaces/" + ns + "/virtualmachines/" + vm + "/status", `{"status":{"ready":false}}`
	}, http.StatusOK},
}

// TestRBAC checks the kit's aggregated ClusterRoles, the runtime role and a
// hand-made narrow role, user by user and request by request.
func TestRBAC(t *testing.T) {
	suite.Require(t)
	ns := newNamespace(t)
	_, err := env.kube.RbacV1().Roles(ns).Create(t.Context(), &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "vm-starter"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{"kubevirt.io"}, Resources: []string{"virtualmachines"}, Verbs: []string{"get"}},
			{APIGroups: []string{"subresources.kubevirt.io"}, Resources: []string{"virtualmachines/start"}, Verbs: []string{"update"}},
		},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	bind(t, ns, "ann-admin", "ClusterRole", "admin")
	bind(t, ns, "ed-editor", "ClusterRole", "edit")
	bind(t, ns, "vic-viewer", "ClusterRole", "view")
	bind(t, ns, "sam-starter", "Role", "vm-starter")
	bind(t, ns, "rita-runtime", "ClusterRole", "vm-apiserver:runtime")

	allowed := map[string]map[string]bool{
		"ann-admin":    {"get": true, "get v1alpha3": true, "list": true, "create": true, "patch": true, "delete": true, "start": true, "stop": true, "restart": true, "start v1alpha3": true, "get scale": true, "scale": true, "scale v1alpha3": true, "version": true},
		"ed-editor":    {"get": true, "get v1alpha3": true, "list": true, "create": true, "patch": true, "delete": true, "start": true, "stop": true, "restart": true, "start v1alpha3": true, "get scale": true, "scale": true, "scale v1alpha3": true, "version": true},
		"vic-viewer":   {"get": true, "get v1alpha3": true, "list": true, "get scale": true, "version": true},
		"sam-starter":  {"get": true, "get v1alpha3": true, "start": true, "start v1alpha3": true, "version": true},
		"rita-runtime": {"get": true, "get v1alpha3": true, "list": true, "update status": true, "update status v1alpha3": true, "version": true},
		"nobody":       {"version": true},
	}
	i := 0
	for user, can := range allowed {
		for _, op := range rbacOps {
			i++
			vm := fmt.Sprintf("vm-%d", i)
			t.Run(user+"/"+op.name, func(t *testing.T) {
				createVM(t, ns, newVM(vm, op.strategy))
				if op.active {
					setStatus(t, ns, vm, running)
				}
				method, path, body := op.request(ns, vm)
				var data []byte
				contentType := ""
				if body != "" {
					data = []byte(body)
					contentType = "application/json"
					if method == http.MethodPatch {
						contentType = "application/merge-patch+json"
					}
				}
				resp, err := do(t.Context(), impersonate(user, nil, nil), method, path, data, contentType)
				require.NoError(t, err)
				if can[op.name] {
					assert.Equal(t, op.wantCode, resp.code, string(resp.body))
					return
				}
				assert.Equal(t, http.StatusForbidden, resp.code, string(resp.body))
				var status metav1.Status
				require.NoError(t, json.Unmarshal(resp.body, &status))
				assert.Equal(t, metav1.StatusReasonForbidden, status.Reason)
				assert.Contains(t, status.Message, user)
			})
		}
	}
}

// TestServiceAccountIdentity: a ServiceAccount token works through the
// aggregator, and vm-apiserver authorizes exactly the identity that
// kube-apiserver authenticated (user, UID, groups and extra), for tokens,
// client certificates and impersonation alike.
func TestServiceAccountIdentity(t *testing.T) {
	suite.Require(t)
	ns := newNamespace(t)
	_, err := env.kube.CoreV1().ServiceAccounts(ns).Create(t.Context(),
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "ci-bot"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = env.kube.RbacV1().RoleBindings(ns).Create(t.Context(), &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "ci-bot-edit"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "edit"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "ci-bot", Namespace: ns}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	tr, err := env.kube.CoreV1().ServiceAccounts(ns).CreateToken(t.Context(), "ci-bot",
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptrTo(int64(3600))}}, metav1.CreateOptions{})
	require.NoError(t, err)
	tokenCfg := &rest.Config{Host: env.kubeURL, BearerToken: tr.Status.Token, TLSClientConfig: rest.TLSClientConfig{CAData: env.kubeServingCA}}
	createVM(t, ns, newVM("vm", kubevirtv1.RunStrategyHalted))

	t.Run("the token starts a VM", func(t *testing.T) {
		resp, err := do(t.Context(), tokenCfg, http.MethodPut, actionPath(subresourcesV1, ns, "vm", "start"), nil, "")
		require.NoError(t, err)
		assert.Equal(t, http.StatusAccepted, resp.code, string(resp.body))
	})

	callers := []struct {
		name string
		cfg  *rest.Config
	}{
		{"service account token", tokenCfg},
		{"client certificate", env.admin},
		{"impersonated user with groups and extra", impersonate("ivy", []string{"team-a", "team-b"},
			map[string][]string{"example.com/project": {"p1", "p2"}, "scopes": {"vm"}})},
	}
	bind(t, ns, "ivy", "ClusterRole", "view")
	for _, c := range callers {
		t.Run(c.name, func(t *testing.T) {
			kc, err := kubernetes.NewForConfig(c.cfg)
			require.NoError(t, err)
			review, err := kc.AuthenticationV1().SelfSubjectReviews().Create(t.Context(), &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
			require.NoError(t, err)
			atKube := review.Status.UserInfo

			auditID := string(uuid.NewUUID())
			resp, err := doWithHeaders(t.Context(), c.cfg, http.MethodGet,
				"/apis/kubevirt.io/v1/namespaces/"+ns+"/virtualmachines/vm", http.Header{"Audit-ID": {auditID}})
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, resp.code, string(resp.body))

			ev := findAuditEvent(t, auditID)
			assert.Equal(t, atKube.Username, ev.User.Username)
			assert.Equal(t, atKube.UID, ev.User.UID)
			assert.ElementsMatch(t, atKube.Groups, ev.User.Groups)
			assert.Equal(t, len(atKube.Extra), len(ev.User.Extra), "extra: kube %v, ours %v", atKube.Extra, ev.User.Extra)
			for k, v := range atKube.Extra {
				assert.ElementsMatch(t, []string(v), []string(ev.User.Extra[k]), "extra %q", k)
			}
			assert.Equal(t, "allow", ev.Annotations["authorization.k8s.io/decision"])
		})
	}
}

// doWithHeaders sends a bodiless request with extra headers.
func doWithHeaders(ctx context.Context, cfg *rest.Config, method, path string, headers http.Header) (rawResponse, error) {
	client, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return rawResponse{}, err
	}
	req, err := http.NewRequestWithContext(ctx, method, cfg.Host+path, nil)
	if err != nil {
		return rawResponse{}, err
	}
	req.Header = headers.Clone()
	resp, err := client.Do(req)
	if err != nil {
		return rawResponse{}, err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	return rawResponse{code: resp.StatusCode, body: body}, err
}

// findAuditEvent waits for vm-apiserver's audit event of that request. The
// aggregator forwards the Audit-ID, so both servers log the same ID.
func findAuditEvent(t *testing.T, auditID string) *auditv1.Event {
	t.Helper()
	var found *auditv1.Event
	err := framework.Poll(t.Context(), pollInterval, 30*time.Second, "audit event "+auditID, func(context.Context) (bool, error) {
		f, err := os.Open(env.vmAudit)
		if err != nil {
			return false, err
		}
		defer func() { _ = f.Close() }()
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var ev auditv1.Event
			if json.Unmarshal(sc.Bytes(), &ev) != nil || string(ev.AuditID) != auditID || ev.Stage != auditv1.StageResponseComplete {
				continue
			}
			found = &ev
			return true, nil
		}
		return false, sc.Err()
	})
	require.NoError(t, err)
	return found
}
