package reliability

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/util/retry"

	"github.com/vm-apiserver/vm-apiserver/test/framework"
)

// The Service and APIServices through which kube-apiserver's aggregator
// reaches vm-apiserver in TestCertFrontProxyRotated.
const (
	aggNamespace = "vm-apiserver"
	aggService   = "vm-apiserver"
)

var (
	apiServicesGVR = schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"}
	aggGroups      = map[string]string{"v1.kubevirt.io": "kubevirt.io", "v1.subresources.kubevirt.io": "subresources.kubevirt.io"}
)

// authConfigMap is where kube-apiserver publishes its client and
// front-proxy CAs for extension servers.
const authConfigMap = "extension-apiserver-authentication"

// TestCertFrontProxyRotated rotates the front-proxy CA of a cluster under
// load, the way kube-apiserver takes it: its --requestheader-client-ca-file
// and --proxy-client-cert-file/--proxy-client-key-file are files it
// reloads, and it publishes the CA in kube-system/extension-apiserver-
// authentication, which vm-apiserver (in cluster mode) watches. The load
// goes through kube-apiserver's aggregator to vm-apiserver. The steps:
//
//  1. the bundle holds the old and the new CA;
//  2. the proxy's client certificate is one of the new CA;
//  3. the old CA leaves the bundle. kube-apiserver never removes a CA from
//     the ConfigMap (it merges what is there with its files, and drops
//     only expired CAs), so the operator removes it there too.
//
// Throughout, every call through kube-apiserver is answered and the
// APIServices stay Available; after step 3 a front-proxy certificate of
// the old CA is refused by vm-apiserver, on a connection opened before too.
func TestCertFrontProxyRotated(t *testing.T) {
	requireSuite(t)
	t.Parallel()
	dir := testDir(t)
	env := startDelegatedWith(t, dir, delegatedOptions{frontProxyProjected: true, servingHosts: []string{aggService + "." + aggNamespace + ".svc"}})
	kube := env.kubeAPI
	ctx := context.Background()
	registerAPIServices(t, env)
	// Answers the load gets in each phase.
	phase := scale(30, 120)

	const ns = "cert-front-proxy"
	_, err := env.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	require.NoError(t, err)
	admin := newClient(kube.URL, kube.ServingCA.Pool(), kube.Admin.TLSCertificate())
	t.Cleanup(admin.close)
	l := &load{
		ns: ns, vms: scenarioVMs("fp"), servers: []*apiClient{admin}, rec: newRecorder(),
		workers: 4, maxOps: 100000, qps: 10, ledger: true,
	}
	l.setup(t)
	stop := startLoad(l, t.Name())
	t.Cleanup(stop)
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	ready := watchReadyz(watchCtx, env.vm, newClient(env.vm.URL, env.vmRoots, nil))
	avail := watchAvailable(watchCtx, t, env)
	waitProgress(t, l, 0, 30, time.Time{}, 2*time.Minute)
	start := time.Now()

	oldCA, newCA := kube.FrontProxyCA, framework.NewCA("front-proxy-ca-new")
	oldProxy, newProxy := kube.FrontProxyClient, newCA.ClientCert(framework.FrontProxyClientName)
	files := kube.FrontProxyFiles
	asAdmin := map[string]string{"X-Remote-User": "cert-admin", "X-Remote-Group": "system:masters"}
	path := vmsPath(ns)
	// A front proxy with the old certificate, straight to vm-apiserver, on
	// an HTTP/2 connection opened before any change.
	stale := newConnProbe(env.client(t, oldProxy.TLSCertificate()))
	r, _, proto := stale.get(ctx, path, asAdmin)
	require.Equal(t, http.StatusOK, r.code, r.String())
	require.Equal(t, 2, proto)
	r = newOnce(t, env.vm.URL, env.vmRoots, newProxy.TLSCertificate()).do(ctx, http.MethodGet, path, nil, asAdmin)
	require.True(t, refused(r), "a front-proxy certificate of the new CA is believed before the rotation: %s", r)

	// 1. Old and new CA in the bundle.
	caLoads := countLines(t, kube.Log, "Loaded a new CA Bundle", framework.FrontProxyCAFile)
	at := time.Now()
	require.NoError(t, files.Write(map[string][]byte{
		framework.FrontProxyCAFile: bundle(oldCA, newCA), framework.FrontProxyCertFile: oldProxy.CertPEM, framework.FrontProxyKeyFile: oldProxy.KeyPEM,
	}))
	figures.fault("front-proxy CA bundle replaced: old and new CA (kube-apiserver files)")
	published := waitReload(t, at, "kube-apiserver publishes the new CA", func(ctx context.Context) (bool, error) {
		return configMapHas(ctx, env, newCA), nil
	})
	trusted := waitReload(t, at, "vm-apiserver believes a front proxy of the new CA", func(ctx context.Context) (bool, error) {
		r := newOnce(t, env.vm.URL, env.vmRoots, newProxy.TLSCertificate()).do(ctx, http.MethodGet, path, nil, asAdmin)
		return r.code == http.StatusOK, errors.New(r.String())
	})
	assert.Greater(t, countLines(t, kube.Log, "Loaded a new CA Bundle", framework.FrontProxyCAFile), caLoads, "kube-apiserver did not log the reload of its bundle")

	// 2. The proxy's certificate from the new CA.
	certLoads := countLines(t, kube.Log, "Loaded a new cert/key pair", "aggregator-proxy-cert")
	at = time.Now()
	require.NoError(t, files.Write(map[string][]byte{
		framework.FrontProxyCAFile: bundle(oldCA, newCA), framework.FrontProxyCertFile: newProxy.CertPEM, framework.FrontProxyKeyFile: newProxy.KeyPEM,
	}))
	figures.fault("front-proxy client certificate replaced (kube-apiserver files)")
	proxySwitched := waitReload(t, at, "kube-apiserver loads its new proxy certificate", func(context.Context) (bool, error) {
		return countLines(t, kube.Log, "Loaded a new cert/key pair", "aggregator-proxy-cert") > certLoads, nil
	})
	waitProgress(t, l, 0, phase, time.Now(), 2*time.Minute)

	// 3. The old CA leaves kube-apiserver's bundle...
	caLoads = countLines(t, kube.Log, "Loaded a new CA Bundle", framework.FrontProxyCAFile)
	at = time.Now()
	require.NoError(t, files.Write(map[string][]byte{
		framework.FrontProxyCAFile: bundle(newCA), framework.FrontProxyCertFile: newProxy.CertPEM, framework.FrontProxyKeyFile: newProxy.KeyPEM,
	}))
	figures.fault("front-proxy CA bundle replaced: old CA removed (kube-apiserver files)")
	waitReload(t, at, "kube-apiserver reloads its bundle", func(context.Context) (bool, error) {
		return countLines(t, kube.Log, "Loaded a new CA Bundle", framework.FrontProxyCAFile) > caLoads, nil
	})
	// ...and stays in the ConfigMap: kube-apiserver merges, never removes.
	time.Sleep(2 * time.Second)
	kept := configMapHas(ctx, env, oldCA)
	assert.True(t, kept, "kube-apiserver removed the old CA from %s itself", authConfigMap)
	r, reused, _ := stale.get(ctx, path, asAdmin)
	assert.True(t, reused)
	assert.Equal(t, http.StatusOK, r.code, "the old CA, still published, is refused: %s", r)

	// The operator removes it from the ConfigMap.
	at = time.Now()
	require.NoError(t, retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cms := env.kube.CoreV1().ConfigMaps(metav1.NamespaceSystem)
		cm, err := cms.Get(ctx, authConfigMap, metav1.GetOptions{})
		if err != nil {
			return err
		}
		cm.Data["requestheader-client-ca-file"] = string(newCA.CertPEM)
		_, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
		return err
	}))
	figures.fault("old front-proxy CA removed from " + authConfigMap)
	var staleCode int
	removed := waitReload(t, at, "vm-apiserver refuses the old front proxy on the connection opened before", func(ctx context.Context) (bool, error) {
		r, reused, _ := stale.get(ctx, path, asAdmin)
		if !reused {
			return false, fmt.Errorf("a new connection was opened: the test needs the old one (%s)", r)
		}
		staleCode = r.code
		return refused(r), errors.New(r.String())
	})
	assert.Contains(t, []int{http.StatusUnauthorized, http.StatusForbidden}, staleCode)
	r = newOnce(t, env.vm.URL, env.vmRoots, oldProxy.TLSCertificate()).do(ctx, http.MethodGet, path, nil, asAdmin)
	assert.True(t, refused(r), "the old front proxy on a new connection: %s", r)
	assert.NotContains(t, string(r.body), `"items"`)
	r = newOnce(t, env.vm.URL, env.vmRoots, newProxy.TLSCertificate()).do(ctx, http.MethodGet, path, nil, asAdmin)
	assert.Equal(t, http.StatusOK, r.code, "the new front proxy: %s", r)
	figures.security("a removed front-proxy CA is refused, on an HTTP/2 connection opened before too")
	removedAt := time.Now()
	waitProgress(t, l, 0, phase, removedAt, 2*time.Minute)
	// kube-apiserver re-syncs the ConfigMap every minute: the edit stands.
	if settle := scale(time.Duration(0), 70*time.Second); settle > 0 {
		time.Sleep(settle)
		assert.False(t, configMapHas(ctx, env, oldCA), "kube-apiserver put the removed CA back")
	}

	stop()
	stopWatch()
	l.finalReads(t)
	l.check(t, dir, "front-proxy CA rotated under load through kube-apiserver")
	readyFailures := ready.failures(start, time.Now())
	assert.Empty(t, readyFailures, "vm-apiserver /readyz failed during the rotation")
	unavailable := avail.unavailable()
	assert.Empty(t, unavailable, "an APIService was not Available during the rotation")
	assert.Positive(t, avail.samples(), "the APIServices were never read")
	slowest := assertNoFailedCall(t, l, "front-proxy CA rotation")
	figures.note("front-proxy CA rotated under load through kube-apiserver: new CA published %s and believed by vm-apiserver %s after the file swap; kube-apiserver loaded its new proxy certificate %s after the swap; the old CA stayed in %s after it left kube-apiserver's bundle (%t) until removed there, then was refused %s after the edit; %d calls, slowest %s; /readyz failures %d; APIService checks %d, not Available %d",
		published.Round(time.Millisecond), trusted.Round(time.Millisecond), proxySwitched.Round(time.Millisecond), authConfigMap, kept,
		removed.Round(time.Millisecond), len(l.rec.spans), slowest, len(readyFailures), avail.samples(), len(unavailable))
	assertServersAlive(t, []*vmServer{env.vm})
	assert.NoError(t, kube.Alive())
}

// registerAPIServices routes kubevirt.io/v1 and subresources.kubevirt.io/v1
// through kube-apiserver's aggregator to vm-apiserver: an ExternalName
// Service to localhost (loopback routing) and APIServices with its port and
// the CA of its serving certificate. It waits until they are Available and
// a list goes through.
func registerAPIServices(t *testing.T, env *delegatedEnv) {
	t.Helper()
	ctx := context.Background()
	_, err := env.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: aggNamespace}}, metav1.CreateOptions{})
	require.NoError(t, err)
	port := int32(env.vm.Port)
	_, err = env.kube.CoreV1().Services(aggNamespace).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: aggService},
		Spec: corev1.ServiceSpec{
			Type: corev1.ServiceTypeExternalName, ExternalName: "localhost",
			Ports: []corev1.ServicePort{{Name: "https", Port: port}},
		},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	dyn, err := dynamic.NewForConfig(env.kubeAPI.AdminConfig())
	require.NoError(t, err)
	for name, group := range aggGroups {
		obj := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "apiregistration.k8s.io/v1",
			"kind":       "APIService",
			"metadata":   map[string]any{"name": name},
			"spec": map[string]any{
				"group": group, "version": "v1", "groupPriorityMinimum": int64(1000), "versionPriority": int64(15),
				"caBundle": base64.StdEncoding.EncodeToString(env.vmCA.CertPEM),
				"service":  map[string]any{"namespace": aggNamespace, "name": aggService, "port": int64(port)},
			},
		}}
		_, err := dyn.Resource(apiServicesGVR).Create(ctx, obj, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	admin := newClient(env.kubeAPI.URL, env.kubeAPI.ServingCA.Pool(), env.kubeAPI.Admin.TLSCertificate())
	defer admin.close()
	require.NoError(t, framework.Poll(ctx, pollInterval, 2*time.Minute, "APIServices Available", func(ctx context.Context) (bool, error) {
		for name := range aggGroups {
			ok, why := apiServiceAvailable(ctx, dyn, name)
			if !ok {
				return false, fmt.Errorf("%s: %s", name, why)
			}
		}
		// Available in the API is not yet available in the proxy: the
		// aggregator's handler of each APIService learns it from an informer
		// and answers 503 itself until then. Each group has its own.
		for _, group := range aggGroups {
			r := admin.do(ctx, http.MethodGet, "/apis/"+group+"/v1", nil, nil)
			if r.code != http.StatusOK {
				return false, fmt.Errorf("%s through kube-apiserver: %s", group, r)
			}
		}
		r := admin.do(ctx, http.MethodGet, "/apis/kubevirt.io/v1/virtualmachines", nil, nil)
		return r.code == http.StatusOK, errors.New(r.String())
	}), env.vm.Tail(20))
}

// apiServiceAvailable reads an APIService's Available condition.
func apiServiceAvailable(ctx context.Context, dyn dynamic.Interface, name string) (bool, string) {
	obj, err := dyn.Resource(apiServicesGVR).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return false, err.Error()
	}
	conds, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == "Available" {
			return m["status"] == "True", fmt.Sprint(m["reason"], ": ", m["message"])
		}
	}
	return false, "no Available condition"
}

// availabilityWatch reads the APIServices' Available condition every
// 250 ms and keeps what was not Available.
type availabilityWatch struct {
	mu    sync.Mutex
	reads int
	bad   []string
}

func watchAvailable(ctx context.Context, t *testing.T, env *delegatedEnv) *availabilityWatch {
	dyn, err := dynamic.NewForConfig(env.kubeAPI.AdminConfig())
	require.NoError(t, err)
	w := &availabilityWatch{}
	go wait.NonSlidingUntilWithContext(ctx, func(ctx context.Context) {
		for name := range aggGroups {
			ok, why := apiServiceAvailable(ctx, dyn, name)
			if ctx.Err() != nil {
				return
			}
			w.mu.Lock()
			w.reads++
			if !ok {
				w.bad = append(w.bad, fmt.Sprintf("%s at %s: %s", name, time.Now().Format(time.TimeOnly), why))
			}
			w.mu.Unlock()
		}
	}, 250*time.Millisecond)
	return w
}

func (w *availabilityWatch) samples() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.reads
}

func (w *availabilityWatch) unavailable() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.bad...)
}

// configMapHas reports whether extension-apiserver-authentication
// publishes ca as a front-proxy CA.
func configMapHas(ctx context.Context, env *delegatedEnv, ca *framework.CA) bool {
	cm, err := env.kube.CoreV1().ConfigMaps(metav1.NamespaceSystem).Get(ctx, authConfigMap, metav1.GetOptions{})
	if err != nil {
		return false
	}
	return bytes.Contains([]byte(cm.Data["requestheader-client-ca-file"]), bytes.TrimSpace(ca.CertPEM))
}

// countLines counts the lines of a log that contain every one of words.
func countLines(t *testing.T, log string, words ...string) int {
	t.Helper()
	data, err := os.ReadFile(log)
	require.NoError(t, err)
	n := 0
	for _, line := range bytes.Split(data, []byte("\n")) {
		all := true
		for _, w := range words {
			if !bytes.Contains(line, []byte(w)) {
				all = false
				break
			}
		}
		if all {
			n++
		}
	}
	return n
}
