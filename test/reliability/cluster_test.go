package reliability

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vm-apiserver/vm-apiserver/pkg/standalone"
)

// serverRequestTimeout is k8s.io/apiserver's default request timeout, which
// vm-apiserver keeps (it has no --request-timeout flag): a non-long-running
// request is answered within it, with a 504 if need be.
const serverRequestTimeout = 60 * time.Second

// hangSlack is how far past serverRequestTimeout an answer may come before
// the suite calls it a hang. Generous: the machine is shared and small.
const hangSlack = 20 * time.Second

// clientTimeout ends a request the server never answers; hitting it is a hang.
const clientTimeout = serverRequestTimeout + 2*hangSlack

// binaries are the programs the suite runs.
type binaries struct {
	vmAPIServer, etcd, kubeAPIServer string
}

// findBinaries reads the paths hack/test-reliability.sh exports and falls
// back to where `go build` and hack/build-test-binaries.sh put them.
func findBinaries() (binaries, error) {
	versions := requiredVersions(filepath.Join(repoRoot, "go.mod"))
	dir := func(env, fallback string) string {
		if v := os.Getenv(env); v != "" {
			return v
		}
		return filepath.Join(repoRoot, ".cache", "bin", fallback)
	}
	// The Kubernetes release matching k8s.io/apiserver v0.N.M is v1.N.M.
	kubeVersion := "v1." + strings.TrimPrefix(versions["k8s.io/apiserver"], "v0.")
	b := binaries{
		vmAPIServer:   os.Getenv("VM_APISERVER_BIN"),
		etcd:          filepath.Join(dir("ETCD_BIN_DIR", versions["go.etcd.io/etcd/server/v3"]), "etcd"),
		kubeAPIServer: filepath.Join(dir("KUBE_BIN_DIR", kubeVersion), "kube-apiserver"),
	}
	if b.vmAPIServer == "" {
		b.vmAPIServer = filepath.Join(repoRoot, "bin", "vm-apiserver")
	}
	for _, p := range []string{b.vmAPIServer, b.etcd} {
		if _, err := os.Stat(p); err != nil {
			return b, fmt.Errorf("%w (hack/test-reliability.sh builds it)", err)
		}
	}
	return b, nil
}

// requiredVersions reads the module versions that go.mod requires. The
// test binary does not link etcd's server, so its build info cannot say.
func requiredVersions(gomod string) map[string]string {
	versions := map[string]string{}
	data, err := os.ReadFile(gomod)
	if err != nil {
		return versions
	}
	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "require "))
		if len(fields) >= 2 && strings.HasPrefix(fields[1], "v") {
			versions[fields[0]] = fields[1]
		}
	}
	return versions
}

// testDir is a directory for one test's logs and state under the suite's
// output directory. It is removed when the test passes, unless
// VM_APISERVER_KEEP_TMP is set.
func testDir(t testing.TB) string {
	t.Helper()
	name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
	dir := filepath.Join(outDir, name)
	require.NoError(t, os.RemoveAll(dir))
	require.NoError(t, os.MkdirAll(dir, 0o755))
	t.Cleanup(func() {
		if !t.Failed() && os.Getenv("VM_APISERVER_KEEP_TMP") == "" {
			_ = os.RemoveAll(dir)
		} else {
			t.Logf("logs and state kept in %s", dir)
		}
	})
	return dir
}

// etcdServer is an etcd process whose data survives a kill.
type etcdServer struct {
	*proc
	url     string
	dataDir string
}

// startEtcd runs etcd with its data in <dir>/<name>.data and waits until it
// is healthy. Unlike the conformance suite it keeps fsync on: the fault
// tests check durability.
func startEtcd(t testing.TB, dir, name string) *etcdServer {
	t.Helper()
	ports := freePorts(t, 2)
	client := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	peer := fmt.Sprintf("http://127.0.0.1:%d", ports[1])
	e := &etcdServer{url: client, dataDir: filepath.Join(dir, name+".data")}
	e.proc = startProc(t, dir, name, bins.etcd,
		"--name="+name,
		"--data-dir="+e.dataDir,
		"--listen-client-urls="+client,
		"--advertise-client-urls="+client,
		"--listen-peer-urls="+peer,
		"--initial-advertise-peer-urls="+peer,
		"--initial-cluster="+name+"="+peer,
		"--log-level=warn",
	)
	require.NoError(t, e.waitHealthy(time.Minute), e.tail(30))
	return e
}

// waitHealthy polls etcd's /health until it reports healthy.
func (e *etcdServer) waitHealthy(timeout time.Duration) error {
	return pollUntil(timeout, "etcd "+e.name+" healthy", func() (bool, error) {
		if e.exited() {
			return false, errExited
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.url+"/health", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false, err
		}
		defer func() { _ = resp.Body.Close() }()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode == http.StatusOK && strings.Contains(string(body), `"health":"true"`), nil
	})
}

// vmServer is a vm-apiserver process on a fixed loopback port, so that a
// restart serves at the same URL.
type vmServer struct {
	*proc
	url     string
	port    int
	dataDir string
	roots   *x509.CertPool // verifies its serving certificate
}

// startVMServer runs vm-apiserver on 127.0.0.1 with --runtime=none (the
// suite writes status itself) and waits until /readyz passes. roots must
// verify the serving certificate the server will present.
func startVMServer(t testing.TB, dir, name, dataDir string, roots *x509.CertPool, args ...string) *vmServer {
	t.Helper()
	port := freePorts(t, 1)[0]
	s := &vmServer{url: fmt.Sprintf("https://127.0.0.1:%d", port), port: port, dataDir: dataDir, roots: roots}
	all := append([]string{
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--data-dir=" + dataDir,
		"--runtime=none",
	}, args...)
	s.proc = startProc(t, dir, name, bins.vmAPIServer, all...)
	require.NoError(t, s.waitReady(2*time.Minute), s.tail(40))
	return s
}

// restart starts the process again with the same arguments and waits for
// /readyz.
func (s *vmServer) restart(t testing.TB) {
	t.Helper()
	require.NoError(t, s.start())
	require.NoError(t, s.waitReady(2*time.Minute), s.tail(40))
}

// waitReady polls /readyz until it answers 200.
func (s *vmServer) waitReady(timeout time.Duration) error {
	c := newClient(s.url, s.roots, nil)
	defer c.close()
	return pollUntil(timeout, s.name+" /readyz", func() (bool, error) {
		if s.exited() {
			return false, errExited
		}
		r := c.do(context.Background(), http.MethodGet, "/readyz", nil, nil)
		if r.err != nil {
			return false, r.err
		}
		return r.code == http.StatusOK, fmt.Errorf("/readyz %d: %s", r.code, r.body)
	})
}

// readyzCode is the status of one /readyz probe, or 0 if it got no answer.
func (s *vmServer) readyzCode(c *apiClient) int {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	r := c.do(ctx, http.MethodGet, "/readyz", nil, nil)
	if r.err != nil {
		return 0
	}
	return r.code
}

// standaloneCreds are the credentials of standalone mode in a data dir.
type standaloneCreds struct {
	ca    *authority
	admin tls.Certificate
}

// ensureStandaloneCreds creates the standalone credentials in dataDir the
// way vm-apiserver does on start (pkg/standalone.Ensure), and reads them.
// Replicas that must trust each other's clients share the CA: seedCA copies
// it into another data dir before that replica starts, and the replica then
// issues its own serving and admin certificates from it.
func ensureStandaloneCreds(t testing.TB, dataDir string) *standaloneCreds {
	t.Helper()
	c, err := standalone.Ensure(dataDir, []string{"localhost", "127.0.0.1", "::1"})
	require.NoError(t, err)
	admin, err := tls.LoadX509KeyPair(c.Path(standalone.AdminCertFile), c.Path(standalone.AdminKeyFile))
	require.NoError(t, err)
	return &standaloneCreds{
		ca:    loadAuthority(t, c.Path(standalone.CAFile), filepath.Join(dataDir, "ca.key")),
		admin: admin,
	}
}

// seedCA copies the standalone CA (certificate and key) from one data dir
// to another.
func seedCA(t testing.TB, from, to string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(to, 0o700))
	for _, f := range []string{standalone.CAFile, "ca.key"} {
		data, err := os.ReadFile(filepath.Join(from, f))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(to, f), data, 0o600))
	}
}

// errExited ends a poll when the process it waits for has died.
var errExited = fmt.Errorf("process exited")

// pollUntil calls cond every 200ms until it returns true, it fails with
// errExited, or timeout passes. The last error explains a timeout.
func pollUntil(timeout time.Duration, what string, cond func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	ticker := time.NewTicker(200 * time.Millisecond)
	defer ticker.Stop()
	var last error
	for {
		ok, err := cond()
		if ok {
			return nil
		}
		if err == errExited {
			return fmt.Errorf("waiting for %s: %w", what, err)
		}
		last = err
		if time.Now().After(deadline) {
			return fmt.Errorf("waiting for %s: timed out after %s (last: %v)", what, timeout, last)
		}
		<-ticker.C
	}
}
