package integration

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// TestKitManifests checks what each way of deploying artifacts/ renders to.
// (The environment itself was deployed from the default rendering, so the
// API server already accepted every object.)
func TestKitManifests(t *testing.T) {
	suite.Require(t)
	dir := filepath.Join(t.TempDir(), "kit")
	objs, _, err := renderKit(env.root, env.kubectlBin, dir)
	require.NoError(t, err)
	caPEM, err := os.ReadFile(filepath.Join(dir, "certs", "ca.crt"))
	require.NoError(t, err)

	t.Run("default: APIServices trust the generated CA", func(t *testing.T) {
		svcs := objectsOfKind(objs, "APIService")
		require.Len(t, svcs, len(kitAPIServices))
		for _, s := range svcs {
			assert.Contains(t, kitAPIServices, s.GetName())
			bundle, _, _ := unstructured.NestedString(s.Object, "spec", "caBundle")
			assert.Equal(t, base64.StdEncoding.EncodeToString(caPEM), bundle, s.GetName())
			_, insecure, _ := unstructured.NestedBool(s.Object, "spec", "insecureSkipTLSVerify")
			assert.False(t, insecure, s.GetName())
			name, _, _ := unstructured.NestedString(s.Object, "spec", "service", "name")
			namespace, _, _ := unstructured.NestedString(s.Object, "spec", "service", "namespace")
			assert.Equal(t, kitService, name)
			assert.Equal(t, kitNamespace, namespace)
		}
	})

	t.Run("default: the serving certificate names the Service", func(t *testing.T) {
		secret := &corev1.Secret{}
		secrets := objectsOfKind(objs, "Secret")
		require.Len(t, secrets, 1)
		fromUnstructured(t, secrets[0], secret)
		assert.Equal(t, corev1.SecretTypeTLS, secret.Type)
		block, _ := pem.Decode(secret.Data["tls.crt"])
		require.NotNil(t, block)
		cert, err := x509.ParseCertificate(block.Bytes)
		require.NoError(t, err)
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(caPEM)
		_, err = cert.Verify(x509.VerifyOptions{Roots: pool, DNSName: kitService + "." + kitNamespace + ".svc"})
		assert.NoError(t, err)

		dep := deployment(t, objs)
		assert.Equal(t, secret.Name, volumeSecret(dep, "serving-cert"), "the Deployment mounts the generated Secret")
	})

	t.Run("default: hardened Deployment", func(t *testing.T) {
		dep := deployment(t, objs)
		require.NotNil(t, dep.Spec.Replicas)
		assert.Equal(t, int32(2), *dep.Spec.Replicas)
		pod := dep.Spec.Template.Spec
		assert.Equal(t, kitServiceAccount, pod.ServiceAccountName)
		require.NotNil(t, pod.SecurityContext.RunAsNonRoot)
		assert.True(t, *pod.SecurityContext.RunAsNonRoot)
		require.Len(t, pod.Containers, 1)
		c := pod.Containers[0]
		sc := c.SecurityContext
		require.NotNil(t, sc)
		assert.True(t, *sc.ReadOnlyRootFilesystem)
		assert.False(t, *sc.AllowPrivilegeEscalation)
		assert.Equal(t, []corev1.Capability{"ALL"}, sc.Capabilities.Drop)
		require.NotNil(t, c.LivenessProbe)
		require.NotNil(t, c.ReadinessProbe)
		assert.Equal(t, "/livez", c.LivenessProbe.HTTPGet.Path)
		assert.Equal(t, "/readyz", c.ReadinessProbe.HTTPGet.Path)
		assert.Equal(t, corev1.URISchemeHTTPS, c.ReadinessProbe.HTTPGet.Scheme)
		assert.NotEmpty(t, c.Resources.Requests)
		assert.True(t, hasArg(c.Args, "--etcd-servers=http://vm-apiserver-etcd."))
		assert.True(t, hasArg(c.Args, "--tls-cert-file="))
		assert.NotNil(t, findObject(objs, "PodDisruptionBudget", "vm-apiserver"))
	})

	t.Run("default: etcd keeps its data in a PersistentVolumeClaim", func(t *testing.T) {
		u := findObject(objs, "StatefulSet", "vm-apiserver-etcd")
		require.NotNil(t, u)
		sts := &appsv1.StatefulSet{}
		fromUnstructured(t, u, sts)
		require.Len(t, sts.Spec.VolumeClaimTemplates, 1)
		assert.Equal(t, sts.Spec.VolumeClaimTemplates[0].Name, sts.Spec.Template.Spec.Containers[0].VolumeMounts[0].Name)
	})

	t.Run("default: delegation RBAC", func(t *testing.T) {
		crb := &rbacv1.ClusterRoleBinding{}
		fromUnstructured(t, findObject(objs, "ClusterRoleBinding", "vm-apiserver:system:auth-delegator"), crb)
		assert.Equal(t, "system:auth-delegator", crb.RoleRef.Name)
		rb := &rbacv1.RoleBinding{}
		fromUnstructured(t, findObject(objs, "RoleBinding", "vm-apiserver:extension-apiserver-authentication-reader"), rb)
		assert.Equal(t, "kube-system", rb.Namespace)
		assert.Equal(t, "extension-apiserver-authentication-reader", rb.RoleRef.Name)
		for _, b := range []rbacv1.Subject{crb.Subjects[0], rb.Subjects[0]} {
			assert.Equal(t, rbacv1.Subject{Kind: "ServiceAccount", Name: kitServiceAccount, Namespace: kitNamespace}, b)
		}
	})

	t.Run("default: aggregated ClusterRoles", func(t *testing.T) {
		for role, label := range map[string]string{
			"vm-apiserver:view":  "rbac.authorization.k8s.io/aggregate-to-view",
			"vm-apiserver:edit":  "rbac.authorization.k8s.io/aggregate-to-edit",
			"vm-apiserver:admin": "rbac.authorization.k8s.io/aggregate-to-admin",
		} {
			u := findObject(objs, "ClusterRole", role)
			require.NotNil(t, u, role)
			assert.Equal(t, "true", u.GetLabels()[label], role)
		}
		assert.NotNil(t, findObject(objs, "ClusterRole", "vm-apiserver:runtime"))
	})

	t.Run("cert-manager overlay: CA injection", func(t *testing.T) {
		cm, err := kustomize(env.kubectlBin, filepath.Join(dir, "overlays", "cert-manager"))
		require.NoError(t, err)
		for _, s := range objectsOfKind(cm, "APIService") {
			assert.Equal(t, "vm-apiserver/vm-apiserver-serving-cert", s.GetAnnotations()["cert-manager.io/inject-ca-from"])
			_, has, _ := unstructured.NestedString(s.Object, "spec", "caBundle")
			assert.False(t, has, "cainjector fills the caBundle")
		}
		assert.Empty(t, objectsOfKind(cm, "Secret"), "cert-manager creates the Secret")
		cert := findObject(cm, "Certificate", "vm-apiserver-serving-cert")
		require.NotNil(t, cert)
		dns, _, _ := unstructured.NestedStringSlice(cert.Object, "spec", "dnsNames")
		assert.Contains(t, dns, kitService+"."+kitNamespace+".svc")
		secretName, _, _ := unstructured.NestedString(cert.Object, "spec", "secretName")
		assert.Equal(t, secretName, volumeSecret(deployment(t, cm), "serving-cert"))
	})

	t.Run("external-etcd component", func(t *testing.T) {
		k := filepath.Join(dir, "kustomization.yaml")
		data, err := os.ReadFile(k)
		require.NoError(t, err)
		// What docs/deploy.md tells an operator to do: uncomment two lines.
		enabled := strings.Replace(string(data), "# components:\n# - components/external-etcd", "components:\n- components/external-etcd", 1)
		require.NotEqual(t, string(data), enabled, "the kustomization offers the component")
		require.NoError(t, os.WriteFile(k, []byte(enabled), 0o644))
		ext, err := kustomize(env.kubectlBin, dir)
		require.NoError(t, err)
		assert.Nil(t, findObject(ext, "StatefulSet", "vm-apiserver-etcd"))
		args := deployment(t, ext).Spec.Template.Spec.Containers[0].Args
		assert.True(t, hasArg(args, "--etcd-servers=https://"))
		assert.True(t, hasArg(args, "--etcd-cafile="))
		assert.False(t, hasArg(args, "--etcd-servers=http://vm-apiserver-etcd"))
	})

	t.Run("monitoring component", func(t *testing.T) {
		assert.Empty(t, objectsOfKind(objs, "ServiceMonitor"), "monitoring is opt-in")
		assert.Empty(t, objectsOfKind(objs, "PrometheusRule"), "monitoring is opt-in")

		// A kit of its own: the external-etcd subtest edits dir.
		mdir := filepath.Join(t.TempDir(), "kit")
		_, _, err := renderKit(env.root, env.kubectlBin, mdir)
		require.NoError(t, err)
		k := filepath.Join(mdir, "kustomization.yaml")
		data, err := os.ReadFile(k)
		require.NoError(t, err)
		// What docs/deploy.md tells an operator to do: uncomment components:
		// and the monitoring line.
		listed := strings.Replace(string(data), "\n# components:\n", "\ncomponents:\n", 1)
		require.NotEqual(t, string(data), listed, "the kustomization offers components")
		enabled := strings.Replace(listed, "\n# - components/monitoring\n", "\n- components/monitoring\n", 1)
		require.NotEqual(t, listed, enabled, "the kustomization offers the monitoring component")
		require.NoError(t, os.WriteFile(k, []byte(enabled), 0o644))
		mon, err := kustomize(env.kubectlBin, mdir)
		require.NoError(t, err)
		// The external-etcd component stays off.
		assert.NotNil(t, findObject(mon, "StatefulSet", "vm-apiserver-etcd"))

		secret := &corev1.Secret{}
		secrets := objectsOfKind(mon, "Secret")
		require.Len(t, secrets, 1)
		fromUnstructured(t, secrets[0], secret)
		assert.Equal(t, readKitCA(t, mdir), secret.Data["ca.crt"], "the serving Secret carries the CA")

		sm := findObject(mon, "ServiceMonitor", "vm-apiserver")
		require.NotNil(t, sm)
		assert.Equal(t, kitNamespace, sm.GetNamespace())
		namespaces, _, _ := unstructured.NestedStringSlice(sm.Object, "spec", "namespaceSelector", "matchNames")
		assert.Equal(t, []string{kitNamespace}, namespaces)
		selector, _, _ := unstructured.NestedStringMap(sm.Object, "spec", "selector", "matchLabels")
		require.NotEmpty(t, selector)
		endpoints, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
		require.Len(t, endpoints, 1)
		ep := endpoints[0].(map[string]any)
		assert.Equal(t, "https", ep["scheme"])
		assert.Equal(t, "/metrics", ep["path"])
		assert.Equal(t, "/var/run/secrets/kubernetes.io/serviceaccount/token", ep["bearerTokenFile"])
		// The selected Services: the server's has the port, etcd's does not.
		for _, svc := range objectsOfKind(mon, "Service") {
			if !labelsMatch(selector, svc.GetLabels()) {
				continue
			}
			ports, _, _ := unstructured.NestedSlice(svc.Object, "spec", "ports")
			has := false
			for _, p := range ports {
				has = has || p.(map[string]any)["name"] == ep["port"]
			}
			assert.Equal(t, svc.GetName() == kitService, has, "Service %s has port %v", svc.GetName(), ep["port"])
		}
		serverName, _, _ := unstructured.NestedString(ep, "tlsConfig", "serverName")
		assert.Equal(t, kitService+"."+kitNamespace+".svc", serverName)
		_, insecure, _ := unstructured.NestedBool(ep, "tlsConfig", "insecureSkipVerify")
		assert.False(t, insecure)
		caSecret, _, _ := unstructured.NestedString(ep, "tlsConfig", "ca", "secret", "name")
		caKey, _, _ := unstructured.NestedString(ep, "tlsConfig", "ca", "secret", "key")
		assert.Equal(t, secret.Name, caSecret, "kustomize gives the reference the Secret's hash suffix")
		// What Prometheus will check: the serving certificate, against that CA, under serverName.
		block, _ := pem.Decode(secret.Data["tls.crt"])
		require.NotNil(t, block)
		cert, err := x509.ParseCertificate(block.Bytes)
		require.NoError(t, err)
		pool := x509.NewCertPool()
		require.True(t, pool.AppendCertsFromPEM(secret.Data[caKey]))
		_, err = cert.Verify(x509.VerifyOptions{Roots: pool, DNSName: serverName})
		assert.NoError(t, err)

		prometheus := rbacv1.Subject{Kind: "ServiceAccount", Name: "prometheus-k8s", Namespace: "monitoring"}
		role := &rbacv1.ClusterRole{}
		fromUnstructured(t, findObject(mon, "ClusterRole", "vm-apiserver:metrics-reader"), role)
		assert.Equal(t, []rbacv1.PolicyRule{{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}}}, role.Rules)
		crb := &rbacv1.ClusterRoleBinding{}
		fromUnstructured(t, findObject(mon, "ClusterRoleBinding", "vm-apiserver:prometheus"), crb)
		assert.Equal(t, rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name}, crb.RoleRef)
		assert.Equal(t, []rbacv1.Subject{prometheus}, crb.Subjects)
		discovery := &rbacv1.Role{}
		fromUnstructured(t, findObject(mon, "Role", "vm-apiserver:prometheus-discovery"), discovery)
		assert.Equal(t, kitNamespace, discovery.Namespace)
		for _, r := range discovery.Rules {
			assert.Equal(t, []string{"get", "list", "watch"}, r.Verbs, "discovery reads only")
		}
		rb := &rbacv1.RoleBinding{}
		fromUnstructured(t, findObject(mon, "RoleBinding", "vm-apiserver:prometheus"), rb)
		assert.Equal(t, kitNamespace, rb.Namespace)
		assert.Equal(t, discovery.Name, rb.RoleRef.Name)
		assert.Equal(t, []rbacv1.Subject{prometheus}, rb.Subjects)

		rule := findObject(mon, "PrometheusRule", "vm-apiserver")
		require.NotNil(t, rule)
		assert.Equal(t, kitNamespace, rule.GetNamespace())
		groups, _, _ := unstructured.NestedSlice(rule.Object, "spec", "groups")
		assert.NotEmpty(t, groups)

		t.Run("another Prometheus ServiceAccount, by the patch rbac.yaml shows", func(t *testing.T) {
			wrap := filepath.Join(filepath.Dir(mdir), "prometheus-sa")
			require.NoError(t, os.MkdirAll(wrap, 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(wrap, "kustomization.yaml"), []byte(`resources:
- ../kit
patches:
- target:
    group: rbac.authorization.k8s.io
    name: vm-apiserver:prometheus
  patch: |-
    - op: replace
      path: /subjects/0
      value: {kind: ServiceAccount, name: prometheus, namespace: observability}
`), 0o644))
			patched, err := kustomize(env.kubectlBin, wrap)
			require.NoError(t, err)
			want := []rbacv1.Subject{{Kind: "ServiceAccount", Name: "prometheus", Namespace: "observability"}}
			crb := &rbacv1.ClusterRoleBinding{}
			fromUnstructured(t, findObject(patched, "ClusterRoleBinding", "vm-apiserver:prometheus"), crb)
			assert.Equal(t, want, crb.Subjects)
			rb := &rbacv1.RoleBinding{}
			fromUnstructured(t, findObject(patched, "RoleBinding", "vm-apiserver:prometheus"), rb)
			assert.Equal(t, want, rb.Subjects)
		})

		t.Run("with the cert-manager overlay", func(t *testing.T) {
			k := filepath.Join(mdir, "overlays", "cert-manager", "kustomization.yaml")
			data, err := os.ReadFile(k)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(k, append(data, "components:\n- ../../components/monitoring\n"...), 0o644))
			cm, err := kustomize(env.kubectlBin, filepath.Dir(k))
			require.NoError(t, err)
			sm := findObject(cm, "ServiceMonitor", "vm-apiserver")
			require.NotNil(t, sm)
			endpoints, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
			require.Len(t, endpoints, 1)
			caSecret, _, _ := unstructured.NestedString(endpoints[0].(map[string]any), "tlsConfig", "ca", "secret", "name")
			// cert-manager writes ca.crt into the Certificate's Secret.
			cert := findObject(cm, "Certificate", "vm-apiserver-serving-cert")
			require.NotNil(t, cert)
			secretName, _, _ := unstructured.NestedString(cert.Object, "spec", "secretName")
			assert.Equal(t, secretName, caSecret)
		})
	})
}

// readKitCA reads the kit's CA certificate.
func readKitCA(t *testing.T, kit string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(kit, "certs", "ca.crt"))
	require.NoError(t, err)
	return data
}

// labelsMatch reports whether labels hold every pair of selector.
func labelsMatch(selector, labels map[string]string) bool {
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func deployment(t *testing.T, objs []*unstructured.Unstructured) *appsv1.Deployment {
	t.Helper()
	u := findObject(objs, "Deployment", "vm-apiserver")
	require.NotNil(t, u)
	dep := &appsv1.Deployment{}
	fromUnstructured(t, u, dep)
	return dep
}

func volumeSecret(dep *appsv1.Deployment, volume string) string {
	for _, v := range dep.Spec.Template.Spec.Volumes {
		if v.Name == volume && v.Secret != nil {
			return v.Secret.SecretName
		}
	}
	return ""
}

func fromUnstructured(t *testing.T, u *unstructured.Unstructured, into any) {
	t.Helper()
	require.NotNil(t, u)
	require.NoError(t, runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, into))
}
