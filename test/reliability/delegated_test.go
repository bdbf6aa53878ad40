package reliability

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// frontProxyName is the only client certificate name vm-apiserver accepts
// X-Remote-* headers from (kube-apiserver's --requestheader-allowed-names).
const frontProxyName = "front-proxy-client"

// delegatedEnv is etcd, a kube-apiserver serving TokenReview and
// SubjectAccessReview with RBAC, and a vm-apiserver in cluster mode that
// delegates authentication and authorization to it.
type delegatedEnv struct {
	kube       kubernetes.Interface
	vm         *vmServer
	vmRoots    *x509.CertPool
	clientCA   *authority
	frontProxy *authority
	auditLog   string
}

// startDelegated starts the three processes. vm-apiserver talks to
// kube-apiserver as a cluster admin; it reads the client CA and the
// front-proxy settings from kube-system/extension-apiserver-authentication,
// as behind the aggregation layer.
func startDelegated(t *testing.T, dir string) *delegatedEnv {
	t.Helper()
	if _, err := os.Stat(bins.kubeAPIServer); err != nil {
		t.Fatalf("kube-apiserver is needed for the delegated checks: %v (hack/test-reliability.sh builds it)", err)
	}
	etcd := startEtcd(t, dir, "etcd")
	pki := filepath.Join(dir, "pki")
	require.NoError(t, os.MkdirAll(pki, 0o700))

	servingCA := newAuthority(t, "kube-serving-ca")
	env := &delegatedEnv{clientCA: newAuthority(t, "client-ca"), frontProxy: newAuthority(t, "front-proxy-ca")}
	kubeCrt, kubeKey := servingCA.servingCert(t, "kube-apiserver").write(t, pki, "kube-apiserver")
	proxyCrt, proxyKey := env.frontProxy.clientCert(t, frontProxyName).write(t, pki, "front-proxy-client")
	admin := env.clientCA.clientCert(t, "reliability-admin", "system:masters")
	saPub, saKey := writeServiceAccountKeys(t, pki)

	port := freePorts(t, 1)[0]
	kubeURL := fmt.Sprintf("https://127.0.0.1:%d", port)
	kubeProc := startProc(t, dir, "kube-apiserver", bins.kubeAPIServer,
		"--bind-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(port),
		"--etcd-servers="+etcd.url,
		"--etcd-prefix=/kube-registry",
		"--tls-cert-file="+kubeCrt,
		"--tls-private-key-file="+kubeKey,
		"--client-ca-file="+env.clientCA.writeCA(t, pki, "client-ca"),
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file="+saPub,
		"--service-account-signing-key-file="+saKey,
		"--service-cluster-ip-range=10.0.0.0/24",
		"--endpoint-reconciler-type=none",
		"--requestheader-client-ca-file="+env.frontProxy.writeCA(t, pki, "front-proxy-ca"),
		"--requestheader-allowed-names="+frontProxyName,
		"--requestheader-username-headers=X-Remote-User",
		"--requestheader-group-headers=X-Remote-Group",
		"--requestheader-extra-headers-prefix=X-Remote-Extra-",
		"--proxy-client-cert-file="+proxyCrt,
		"--proxy-client-key-file="+proxyKey,
		"--profiling=false",
	)
	cfg := &rest.Config{Host: kubeURL, TLSClientConfig: rest.TLSClientConfig{CAData: servingCA.certPEM, CertData: admin.certPEM, KeyData: admin.keyPEM}}
	var err error
	env.kube, err = kubernetes.NewForConfig(cfg)
	require.NoError(t, err)
	require.NoError(t, pollUntil(3*time.Minute, "kube-apiserver /readyz", func() (bool, error) {
		if kubeProc.exited() {
			return false, errExited
		}
		_, err := env.kube.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(context.Background())
		return err == nil, err
	}), kubeProc.tail(40))

	kubeconfig := filepath.Join(dir, "vm-apiserver.kubeconfig")
	kc := clientcmdapi.NewConfig()
	kc.Clusters["kube"] = &clientcmdapi.Cluster{Server: kubeURL, CertificateAuthorityData: servingCA.certPEM}
	kc.AuthInfos["admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: admin.certPEM, ClientKeyData: admin.keyPEM}
	kc.Contexts["kube"] = &clientcmdapi.Context{Cluster: "kube", AuthInfo: "admin"}
	kc.CurrentContext = "kube"
	require.NoError(t, clientcmd.WriteToFile(*kc, kubeconfig))

	vmCA := newAuthority(t, "vm-apiserver-serving-ca")
	env.vmRoots = vmCA.pool()
	vmCrt, vmKey := vmCA.servingCert(t, "vm-apiserver").write(t, pki, "vm-apiserver")
	audit, auditLog := auditArgs(t, dir)
	env.auditLog = auditLog
	args := append([]string{
		"--etcd-servers=" + etcd.url,
		"--tls-cert-file=" + vmCrt,
		"--tls-private-key-file=" + vmKey,
		"--authentication-kubeconfig=" + kubeconfig,
		"--authorization-kubeconfig=" + kubeconfig,
		"--kubeconfig=" + kubeconfig,
	}, audit...)
	env.vm = startVMServer(t, dir, "vm-apiserver", filepath.Join(dir, "vm-data"), env.vmRoots, args...)
	return env
}

// writeServiceAccountKeys writes the key pair kube-apiserver signs and
// verifies service account tokens with.
func writeServiceAccountKeys(t *testing.T, dir string) (pub, priv string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	der, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	pubDER, err := x509.MarshalPKIXPublicKey(key.Public())
	require.NoError(t, err)
	priv, pub = filepath.Join(dir, "sa.key"), filepath.Join(dir, "sa.pub")
	require.NoError(t, os.WriteFile(priv, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644))
	return pub, priv
}

// client is a direct client of vm-apiserver with the given certificate.
func (e *delegatedEnv) client(t *testing.T, cert *tls.Certificate) *apiClient {
	c := newClient(e.vm.url, e.vmRoots, cert)
	t.Cleanup(c.close)
	return c
}

// rbacRule grants verbs on resources of a group.
func rbacRule(group string, verbs []string, resources ...string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{APIGroups: []string{group}, Resources: resources, Verbs: verbs}
}

// TestSecurityDelegatedRBAC runs vm-apiserver in cluster mode against a real
// kube-apiserver and checks that RBAC decides each action separately (verb
// update on virtualmachines/{start,stop,restart} in subresources.kubevirt.io),
// that X-Remote-* headers count only with the front-proxy certificate, and
// that the audit log records actions with the delegated user and verb.
func TestSecurityDelegatedRBAC(t *testing.T) {
	requireSuite(t)
	t.Parallel()
	dir := testDir(t)
	env := startDelegated(t, dir)
	ctx := context.Background()
	const ns, other, vm = "rbac", "rbac-other", "rbac-vm"
	for _, n := range []string{ns, other} {
		_, err := env.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n}}, metav1.CreateOptions{})
		require.NoError(t, err)
	}

	const sub = "subresources.kubevirt.io"
	update := []string{"update"}
	roles := map[string]struct {
		ns    string
		rules []rbacv1.PolicyRule
	}{
		"starter":    {ns, []rbacv1.PolicyRule{rbacRule(sub, update, "virtualmachines/start")}},
		"stopper":    {ns, []rbacv1.PolicyRule{rbacRule(sub, update, "virtualmachines/stop")}},
		"restarter":  {ns, []rbacv1.PolicyRule{rbacRule(sub, update, "virtualmachines/restart")}},
		"operator":   {ns, []rbacv1.PolicyRule{rbacRule(sub, update, "virtualmachines/start", "virtualmachines/stop", "virtualmachines/restart")}},
		"wrongverb":  {ns, []rbacv1.PolicyRule{rbacRule(sub, []string{"get", "create", "patch"}, "virtualmachines/start", "virtualmachines/stop", "virtualmachines/restart")}},
		"editor":     {ns, []rbacv1.PolicyRule{rbacRule("kubevirt.io", []string{"*"}, "virtualmachines", "virtualmachines/status")}},
		"wronggroup": {ns, []rbacv1.PolicyRule{rbacRule("kubevirt.io", update, "virtualmachines/start", "virtualmachines/stop", "virtualmachines/restart")}},
		"parentonly": {ns, []rbacv1.PolicyRule{rbacRule(sub, []string{"*"}, "virtualmachines")}},
		"elsewhere":  {other, []rbacv1.PolicyRule{rbacRule(sub, update, "virtualmachines/start", "virtualmachines/stop", "virtualmachines/restart")}},
	}
	for user, r := range roles {
		_, err := env.kube.RbacV1().Roles(r.ns).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: user}, Rules: r.rules}, metav1.CreateOptions{})
		require.NoError(t, err)
		_, err = env.kube.RbacV1().RoleBindings(r.ns).Create(ctx, &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: user},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: user},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}},
		}, metav1.CreateOptions{})
		require.NoError(t, err)
	}

	// The VM runs (RerunOnFailure, active instance): with dryRun=All a start
	// is a 409 "already running", a stop and a restart are 202s, and nothing
	// changes, so every user meets the same state.
	admin := env.client(t, &env.clientCA.clientCert(t, "reliability-admin", "system:masters").tls)
	r := admin.do(ctx, http.MethodPost, vmsPath(ns), vmManifest(ns, vm, rerunOnFailure, false), jsonHeaders)
	require.Equal(t, http.StatusCreated, r.code, r.String())
	r = admin.do(ctx, http.MethodPatch, statusPath(ns, vm), []byte(`{"status":{"created":true,"printableStatus":"Running"}}`), mergePatch)
	require.Equal(t, http.StatusOK, r.code, r.String())
	allowedCode := map[string]int{"start": http.StatusConflict, "stop": http.StatusAccepted, "restart": http.StatusAccepted}
	actions := []string{"start", "stop", "restart"}

	allows := map[string][]string{
		"starter": {"start"}, "stopper": {"stop"}, "restarter": {"restart"}, "operator": actions,
		"wrongverb": nil, "editor": nil, "wronggroup": nil, "parentonly": nil, "elsewhere": nil, "nobody": nil,
	}
	t.Run("RBAC per subresource", func(t *testing.T) {
		for user, allowed := range allows {
			c := env.client(t, &env.clientCA.clientCert(t, user).tls)
			for _, a := range actions {
				r := c.do(ctx, http.MethodPut, actionPath(ns, vm, a)+"?dryRun=All", nil, nil)
				figures.security("RBAC per subresource (delegated)")
				want := http.StatusForbidden
				if contains(allowed, a) {
					want = allowedCode[a]
				}
				assert.Equal(t, want, r.code, "%s %s: %s", user, a, r)
				if want == http.StatusForbidden {
					st, ok := r.status()
					assert.True(t, ok && st.Reason == metav1.StatusReasonForbidden, "%s %s: not a Forbidden Status: %s", user, a, r)
				}
			}
		}
	})

	spoof := map[string]string{"X-Remote-User": "operator", "X-Remote-Group": "system:masters"}
	t.Run("front-proxy headers", func(t *testing.T) {
		otherCA := newAuthority(t, "untrusted")
		tests := []struct {
			name    string
			cert    *tls.Certificate
			allowed bool
		}{
			{"anonymous with headers", nil, false},
			{"user certificate with headers", &env.clientCA.clientCert(t, "nobody").tls, false},
			{"front-proxy name from the client CA", &env.clientCA.clientCert(t, frontProxyName).tls, false},
			{"front-proxy CA, name not allowed", &env.frontProxy.clientCert(t, "not-the-proxy").tls, false},
			{"front-proxy name from another CA", &otherCA.clientCert(t, frontProxyName).tls, false},
			// The control: the real front proxy is believed.
			{"the front-proxy certificate", &env.frontProxy.clientCert(t, frontProxyName).tls, true},
		}
		for _, tt := range tests {
			c := env.client(t, tt.cert)
			for _, a := range actions {
				r := c.do(ctx, http.MethodPut, actionPath(ns, vm, a)+"?dryRun=All", nil, spoof)
				figures.security("X-Remote-* headers ignored without the front-proxy certificate")
				if tt.allowed {
					assert.Equal(t, allowedCode[a], r.code, "%s, %s: %s", tt.name, a, r)
				} else {
					assert.True(t, refused(r), "%s, %s: want 401/403 or no TLS session, got %s", tt.name, a, r)
				}
			}
		}
	})

	t.Run("anonymous and foreign CA refused", func(t *testing.T) {
		foreign := newAuthority(t, "foreign")
		for _, cert := range []*tls.Certificate{nil, &foreign.clientCert(t, "reliability-admin", "system:masters").tls} {
			c := env.client(t, cert)
			for _, path := range []string{vmsPath(ns), actionPath(ns, vm, "stop")} {
				method := http.MethodGet
				if path != vmsPath(ns) {
					method = http.MethodPut
				}
				r := c.do(ctx, method, path, nil, nil)
				figures.security("anonymous or foreign CA refused (delegated)")
				assert.True(t, refused(r), "%s %s: %s", method, path, r)
			}
		}
	})

	t.Run("audit log", func(t *testing.T) {
		figures.security("audit records actions (delegated)")
		stopper := env.client(t, &env.clientCA.clientCert(t, "stopper").tls)
		r := stopper.do(ctx, http.MethodPut, actionPath(ns, vm, "stop"), nil, nil)
		require.Equal(t, http.StatusAccepted, r.code, r.String())
		assert.NoError(t, waitAudit(env.auditLog, auditWant{user: "stopper", verb: "update", subresource: "stop", name: vm, code: http.StatusAccepted}))
		// The spoofing attempt is recorded as the certificate's user.
		assert.NoError(t, waitAudit(env.auditLog, auditWant{user: "nobody", verb: "update", subresource: "restart", name: vm, code: http.StatusForbidden}))
	})
	assert.False(t, env.vm.exited(), env.vm.tail(40))
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
