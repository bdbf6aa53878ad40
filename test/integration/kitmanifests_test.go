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
	dir := filepath.Join(t.TempDir(), "kit")
	objs, err := renderKit(env.root, env.kubectlBin, dir)
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
