package reliability

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/vm-apiserver/vm-apiserver/test/framework"
)

// frontProxyName is the only client certificate name vm-apiserver accepts
// X-Remote-* headers from (kube-apiserver's --requestheader-allowed-names).
const frontProxyName = framework.FrontProxyClientName

// delegatedEnv is etcd, a kube-apiserver serving TokenReview and
// SubjectAccessReview with RBAC, and a vm-apiserver in cluster mode that
// delegates authentication and authorization to it.
type delegatedEnv struct {
	kube       kubernetes.Interface
	kubeAPI    *framework.KubeAPIServer
	vm         *vmServer
	vmRoots    *x509.CertPool
	vmCA       *framework.CA
	clientCA   *framework.CA
	frontProxy *framework.CA
	auditLog   string
}

// startDelegated starts the three processes. vm-apiserver talks to
// kube-apiserver as a cluster admin; it reads the client CA and the
// front-proxy settings from kube-system/extension-apiserver-authentication,
// as behind the aggregation layer.
func startDelegated(t *testing.T, dir string) *delegatedEnv {
	t.Helper()
	return startDelegatedWith(t, dir, delegatedOptions{})
}

// delegatedOptions change what startDelegatedWith starts.
type delegatedOptions struct {
	// frontProxyProjected keeps kube-apiserver's front-proxy files in a
	// framework.ProjectedDir (KubeAPIServer.FrontProxyFiles).
	frontProxyProjected bool
	// servingHosts are more names for vm-apiserver's serving certificate,
	// e.g. the name of the Service an APIService points to.
	servingHosts []string
}

// startDelegatedWith is startDelegated with options.
func startDelegatedWith(t *testing.T, dir string, o delegatedOptions) *delegatedEnv {
	t.Helper()
	framework.RequireBinaries(t, framework.BinKubeAPIServer)
	etcd := startEtcd(t, dir, "etcd")
	pki := filepath.Join(dir, "pki")
	require.NoError(t, os.MkdirAll(pki, 0o700))

	kube, err := framework.StartKubeAPIServer(context.Background(), framework.KubeAPIServerOptions{
		Bin: bins.KubeAPIServer, Dir: dir, EtcdURL: etcd.URL, FrontProxy: true, FrontProxyProjected: o.frontProxyProjected,
		// The reloads of certificate files are logged at -v=2.
		Args: []string{"--etcd-prefix=/kube-registry", "--profiling=false", "--vmodule=dynamic_serving_content=2,dynamic_cafile_content=2"},
	})
	require.NoError(t, err)
	kube.StopAtCleanup(t)
	env := &delegatedEnv{kubeAPI: kube, clientCA: kube.ClientCA, frontProxy: kube.FrontProxyCA}
	env.kube, err = kubernetes.NewForConfig(kube.AdminConfig())
	require.NoError(t, err)
	kubeURL, servingCA, admin := kube.URL, kube.ServingCA, kube.Admin

	kubeconfig := filepath.Join(dir, "vm-apiserver.kubeconfig")
	kc := clientcmdapi.NewConfig()
	kc.Clusters["kube"] = &clientcmdapi.Cluster{Server: kubeURL, CertificateAuthorityData: servingCA.CertPEM}
	kc.AuthInfos["admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: admin.CertPEM, ClientKeyData: admin.KeyPEM}
	kc.Contexts["kube"] = &clientcmdapi.Context{Cluster: "kube", AuthInfo: "admin"}
	kc.CurrentContext = "kube"
	require.NoError(t, clientcmd.WriteToFile(*kc, kubeconfig))

	vmCA := framework.NewCA("vm-apiserver-serving-ca")
	env.vmRoots, env.vmCA = vmCA.Pool(), vmCA
	vmCrt, vmKey := write(t, vmCA.ServingCert("vm-apiserver", append([]string{"localhost", "127.0.0.1"}, o.servingHosts...)...), pki, "vm-apiserver")
	audit, auditLog := auditArgs(t, dir)
	env.auditLog = auditLog
	args := append([]string{
		"--etcd-servers=" + etcd.URL,
		"--tls-cert-file=" + vmCrt,
		"--tls-private-key-file=" + vmKey,
		"--authentication-kubeconfig=" + kubeconfig,
		"--authorization-kubeconfig=" + kubeconfig,
		"--kubeconfig=" + kubeconfig,
	}, audit...)
	env.vm = startVMServer(t, dir, "vm-apiserver", filepath.Join(dir, "vm-data"), env.vmRoots, args...)

	// k8s.io/apiserver loads the client CA of the ConfigMap only once its
	// controller has synced, which can be just after /readyz passes; until
	// then a client certificate counts as anonymous. Wait until the admin's
	// is taken, as a cluster's clients find it long after the start.
	probe := env.client(t, admin.TLSCertificate())
	require.NoError(t, framework.Poll(context.Background(), pollInterval, time.Minute, "vm-apiserver taking kube-apiserver's client CA", func(ctx context.Context) (bool, error) {
		r := probe.do(ctx, http.MethodGet, "/apis/kubevirt.io/v1/virtualmachines", nil, nil)
		return r.code == http.StatusOK, nil
	}), env.vm.Tail(20))
	return env
}

// write stores a certificate and its key as dir/name.crt and dir/name.key.
func write(t *testing.T, kp *framework.KeyPair, dir, name string) (certFile, keyFile string) {
	t.Helper()
	certFile, keyFile, err := kp.Write(dir, name)
	require.NoError(t, err)
	return certFile, keyFile
}

// client is a direct client of vm-apiserver with the given certificate.
func (e *delegatedEnv) client(t *testing.T, cert *tls.Certificate) *apiClient {
	c := newClient(e.vm.URL, e.vmRoots, cert)
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
	admin := env.client(t, env.clientCA.ClientCert("reliability-admin", "system:masters").TLSCertificate())
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
			c := env.client(t, env.clientCA.ClientCert(user).TLSCertificate())
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
		otherCA := framework.NewCA("untrusted")
		tests := []struct {
			name    string
			cert    *tls.Certificate
			allowed bool
		}{
			{"anonymous with headers", nil, false},
			{"user certificate with headers", env.clientCA.ClientCert("nobody").TLSCertificate(), false},
			{"front-proxy name from the client CA", env.clientCA.ClientCert(frontProxyName).TLSCertificate(), false},
			{"front-proxy CA, name not allowed", env.frontProxy.ClientCert("not-the-proxy").TLSCertificate(), false},
			{"front-proxy name from another CA", otherCA.ClientCert(frontProxyName).TLSCertificate(), false},
			// The control: the real front proxy is believed.
			{"the front-proxy certificate", env.frontProxy.ClientCert(frontProxyName).TLSCertificate(), true},
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
		foreign := framework.NewCA("foreign")
		for _, cert := range []*tls.Certificate{nil, foreign.ClientCert("reliability-admin", "system:masters").TLSCertificate()} {
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
		stopper := env.client(t, env.clientCA.ClientCert("stopper").TLSCertificate())
		r := stopper.do(ctx, http.MethodPut, actionPath(ns, vm, "stop"), nil, nil)
		require.Equal(t, http.StatusAccepted, r.code, r.String())
		assert.NoError(t, waitAudit(env.auditLog, auditWant{user: "stopper", verb: "update", subresource: "stop", name: vm, code: http.StatusAccepted}))
		// The spoofing attempt is recorded as the certificate's user.
		assert.NoError(t, waitAudit(env.auditLog, auditWant{user: "nobody", verb: "update", subresource: "restart", name: vm, code: http.StatusForbidden}))
	})
	assert.False(t, env.vm.Exited(), env.vm.Tail(40))
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
