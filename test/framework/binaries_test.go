package framework

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestVersionsMatchTheBuildScript checks the versions against those
// hack/build-test-binaries.sh builds, which it takes from
// test/integration/go.mod and test/virtctl/go.mod.
func TestVersionsMatchTheBuildScript(t *testing.T) {
	root, err := RepoRoot()
	require.NoError(t, err)
	out, err := RunCommand(root, "bash", filepath.Join(root, "hack", "build-test-binaries.sh"), "--versions")
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{
		"KUBE_VERSION=" + KubernetesVersion,
		"ETCD_VERSION=" + EtcdVersion,
		"VIRTCTL_VERSION=" + VirtctlVersion,
	}, strings.Fields(out))
}

func TestFindBinaries(t *testing.T) {
	root, err := RepoRoot()
	require.NoError(t, err)
	_, err = os.Stat(filepath.Join(root, "hack", "build-test-binaries.sh"))
	require.NoError(t, err, "RepoRoot is the repository")

	t.Setenv("VM_APISERVER_TEST_CACHE", "/cache")
	t.Setenv("VM_APISERVER_BIN", "")
	b, err := FindBinaries()
	require.NoError(t, err)
	assert.Equal(t, Binaries{
		Etcd:          "/cache/" + EtcdVersion + "/etcd",
		KubeAPIServer: "/cache/" + KubernetesVersion + "/kube-apiserver",
		Kubectl:       "/cache/" + KubernetesVersion + "/kubectl",
		Virtctl:       "/cache/" + VirtctlVersion + "/virtctl",
		VMAPIServer:   filepath.Join(root, "bin", "vm-apiserver"),
	}, b)

	err = b.Check(BinEtcd, BinKubectl)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "hack/build-test-binaries.sh etcd")
	assert.Contains(t, err.Error(), "hack/build-test-binaries.sh kubectl")
	assert.NotContains(t, err.Error(), "kube-apiserver")
	assert.NoError(t, Binaries{Etcd: os.Args[0]}.Check(BinEtcd))
	assert.Equal(t, b.Virtctl, b.Path(BinVirtctl))
	assert.ErrorContains(t, b.Check(BinVirtctl), "hack/build-test-binaries.sh virtctl")
}

// TestBinariesOrSkip: a missing binary skips the test, unless CI=true, where
// it fails it.
func TestBinariesOrSkip(t *testing.T) {
	t.Setenv("VM_APISERVER_TEST_CACHE", t.TempDir())
	for _, tc := range []struct {
		ci                    string
		wantSkip, wantFailure bool
	}{
		{ci: "", wantSkip: true},
		{ci: "false", wantSkip: true},
		{ci: "true", wantFailure: true},
	} {
		t.Setenv("CI", tc.ci)
		rec := &recordingTB{TB: t}
		ran := make(chan struct{})
		go func() {
			// Skip and Fatal end the goroutine, as they end a test.
			defer close(ran)
			BinariesOrSkip(rec, BinVirtctl)
		}()
		<-ran
		assert.Equal(t, tc.wantSkip, rec.skipped, "CI=%q", tc.ci)
		assert.Equal(t, tc.wantFailure, rec.failed, "CI=%q", tc.ci)
		assert.Contains(t, rec.msg, "hack/build-test-binaries.sh virtctl", "CI=%q", tc.ci)
	}

	dir := t.TempDir()
	t.Setenv("VM_APISERVER_TEST_CACHE", dir)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, VirtctlVersion), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, VirtctlVersion, "virtctl"), nil, 0o755))
	b := BinariesOrSkip(t, BinVirtctl)
	assert.Equal(t, filepath.Join(dir, VirtctlVersion, "virtctl"), b.Virtctl)
}

// recordingTB records Skip and Fatal instead of ending the test; like them,
// it ends the calling goroutine.
type recordingTB struct {
	testing.TB
	skipped, failed bool
	msg             string
}

func (r *recordingTB) Helper() {}

func (r *recordingTB) Skip(args ...any) {
	r.skipped, r.msg = true, fmt.Sprint(args...)
	runtime.Goexit()
}

func (r *recordingTB) Fatalf(format string, args ...any) {
	r.failed, r.msg = true, fmt.Sprintf(format, args...)
	runtime.Goexit()
}
