package framework

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestVersionsMatchTheBuildScript checks the versions against those
// hack/build-test-binaries.sh builds, which it takes from
// test/integration/go.mod.
func TestVersionsMatchTheBuildScript(t *testing.T) {
	root, err := RepoRoot()
	require.NoError(t, err)
	out, err := RunCommand(root, "bash", filepath.Join(root, "hack", "build-test-binaries.sh"), "--versions")
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"KUBE_VERSION=" + KubernetesVersion, "ETCD_VERSION=" + EtcdVersion}, strings.Fields(out))
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
		VMAPIServer:   filepath.Join(root, "bin", "vm-apiserver"),
	}, b)

	err = b.Check(BinEtcd, BinKubectl)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "hack/build-test-binaries.sh etcd")
	assert.Contains(t, err.Error(), "hack/build-test-binaries.sh kubectl")
	assert.NotContains(t, err.Error(), "kube-apiserver")
	assert.NoError(t, Binaries{Etcd: os.Args[0]}.Check(BinEtcd))
}
