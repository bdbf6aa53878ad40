package reliability

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vm-apiserver/vm-apiserver/pkg/standalone"
	"github.com/vm-apiserver/vm-apiserver/test/framework"
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

// startEtcd runs etcd with its data in <dir>/<name>.data and waits until it
// is healthy. Unlike the conformance suite it keeps fsync on: the fault
// tests check durability.
func startEtcd(t testing.TB, dir, name string) *framework.Etcd {
	t.Helper()
	return framework.StartEtcd(t, bins.Etcd, dir, name)
}

// vmServer is a vm-apiserver process on a fixed loopback port, so that a
// restart serves at the same URL.
type vmServer struct {
	*framework.VMAPIServer
}

// startVMServer runs vm-apiserver (framework.StartVMAPIServer: on
// 127.0.0.1, with --runtime=none, since the suite writes status itself)
// and waits until /readyz passes. roots must verify the serving
// certificate the server will present. It is stopped when the test ends.
func startVMServer(t testing.TB, dir, name, dataDir string, roots *x509.CertPool, args ...string) *vmServer {
	t.Helper()
	return startVMServerBin(t, bins.VMAPIServer, dir, name, dataDir, roots, args...)
}

// startVMServerBin is startVMServer with the program bin.
func startVMServerBin(t testing.TB, bin, dir, name, dataDir string, roots *x509.CertPool, args ...string) *vmServer {
	t.Helper()
	s, err := framework.StartVMAPIServer(context.Background(), framework.VMAPIServerOptions{
		Bin: bin, Dir: dir, Name: name, DataDir: dataDir, Roots: roots, Args: args,
	})
	require.NoError(t, err)
	s.StopAtCleanup(t)
	return &vmServer{s}
}

// restart starts the process again with the same arguments and waits for
// /readyz.
func (s *vmServer) restart(t testing.TB) {
	t.Helper()
	require.NoError(t, s.Restart(context.Background()))
}

// readyzCode is the status of one /readyz probe, or 0 if it got no answer,
// and, when it failed, why: the checks it names as failed, or the error.
func (s *vmServer) readyzCode(c *apiClient) (int, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	r := c.do(ctx, http.MethodGet, "/readyz", nil, nil)
	if r.err != nil {
		return 0, r.err.Error()
	}
	if r.code == http.StatusOK {
		return r.code, ""
	}
	var failed []string
	for line := range strings.Lines(string(r.body)) {
		if strings.HasPrefix(line, "[-]") {
			failed = append(failed, strings.TrimSpace(line))
		}
	}
	return r.code, strings.Join(failed, "; ")
}

// standaloneCreds are the credentials of standalone mode in a data dir.
type standaloneCreds struct {
	ca    *framework.CA
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
	ca, err := framework.LoadCA(c.Path(standalone.CAFile), filepath.Join(dataDir, "ca.key"))
	require.NoError(t, err)
	return &standaloneCreds{ca: ca, admin: admin}
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

// pollInterval is how often the suite checks a condition it waits for.
const pollInterval = 200 * time.Millisecond
