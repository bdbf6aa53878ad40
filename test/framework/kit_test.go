package framework

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestKitServerSettings reads the kit's settings of vm-apiserver: its
// memory limit and its flags, without those that place it in a cluster.
func TestKitServerSettings(t *testing.T) {
	root, err := RepoRoot()
	require.NoError(t, err)
	env, args, err := KitServerSettings(root)
	require.NoError(t, err)

	assert.Contains(t, env, "GOMEMLIMIT="+kitValue(t, root, "GOMEMLIMIT"))
	assert.Contains(t, args, "--runtime=none")
	for _, a := range args {
		for _, w := range KitWiringFlags {
			assert.False(t, strings.HasPrefix(a, w+"="), "%s is the cluster's, not a setting", a)
		}
	}
	deployment, err := os.ReadFile(filepath.Join(root, KitDeployment))
	require.NoError(t, err)
	for _, a := range args {
		assert.Contains(t, string(deployment), "- "+a, "every flag is the kit's")
	}
}

// kitValue is the value of an environment variable of the kit's
// Deployment, read as text: the line after its name.
func kitValue(t *testing.T, root, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, KitDeployment))
	require.NoError(t, err)
	m := regexp.MustCompile(`- name: ` + name + `\n\s+value: "?([^"\n]+)"?\n`).FindSubmatch(data)
	require.NotNil(t, m, "%s in %s", name, KitDeployment)
	return string(m[1])
}

func TestKitServerSettingsErrors(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(root, filepath.Dir(KitDeployment)), 0o755))
	write := func(s string) {
		require.NoError(t, os.WriteFile(filepath.Join(root, KitDeployment), []byte(s), 0o644))
	}
	const head = "apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n"
	write(head + "      - name: other\n")
	_, _, err := KitServerSettings(root)
	assert.ErrorContains(t, err, `no container "vm-apiserver"`)

	write(head + "      - name: vm-apiserver\n        env:\n        - name: X\n          valueFrom:\n            fieldRef:\n              fieldPath: metadata.name\n")
	_, _, err = KitServerSettings(root)
	assert.ErrorContains(t, err, "X comes from the cluster")

	write(head + "      - name: vm-apiserver\n        args: [--secure-port=1, --runtime, none]\n")
	_, _, err = KitServerSettings(root)
	assert.ErrorContains(t, err, `"--runtime" is not --flag=value`)

	write(head + "      - name: vm-apiserver\n        args: [--secure-port=1, --etcd-servers=http://e:2379, --runtime=none, --watch-cache=false]\n        env:\n        - name: GOGC\n          value: \"50\"\n")
	env, args, err := KitServerSettings(root)
	require.NoError(t, err)
	assert.Equal(t, []string{"GOGC=50"}, env)
	assert.Equal(t, []string{"--runtime=none", "--watch-cache=false"}, args)
}
