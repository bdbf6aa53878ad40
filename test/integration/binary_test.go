package integration

import (
	"os/exec"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vm-apiserver/vm-apiserver/test/framework"
)

// The binary the suite runs is the Makefile's, stamped with vm-apiserver's
// version. That version must not leak into k8s.io/apiserver's notion of the
// Kubernetes version: the feature gates are those of the Kubernetes
// libraries the server is built on, with this server's defaults.
func TestStampedBinary(t *testing.T) {
	suite.Require(t)
	bins, err := framework.FindBinaries()
	require.NoError(t, err)
	require.NoError(t, bins.Check(framework.BinVMAPIServer))

	out, err := exec.Command(bins.VMAPIServer, "--version").CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Regexp(t, `^vm-apiserver v\S+ \(commit [0-9a-f]{12}, (clean|dirty) tree, built \S+Z, go\S+ \S+/\S+\)\n$`, string(out))

	out, err = exec.Command(bins.VMAPIServer, "--help").CombinedOutput()
	require.NoError(t, err, string(out))
	help := string(out)
	assert.Contains(t, help, "WatchList=true|false (BETA - default=true)")
	assert.Contains(t, help, "ListFromCacheSnapshot=true|false (BETA - default=false)")
}
