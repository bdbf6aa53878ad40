package version

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	utilversion "k8s.io/apimachinery/pkg/util/version"
	"k8s.io/apimachinery/pkg/version"
	baseversion "k8s.io/component-base/version"
)

func TestString(t *testing.T) {
	stamped := version.Info{GitVersion: "v0.2.0", GitCommit: "0123456789abcdef0123", GitTreeState: "clean",
		BuildDate: "2026-11-29T10:00:00Z", GoVersion: "go1.26.8", Platform: "linux/amd64"}
	assert.Equal(t, "vm-apiserver v0.2.0 (commit 0123456789ab, clean tree, built 2026-11-29T10:00:00Z, go1.26.8 linux/amd64)",
		String("vm-apiserver", stamped))
	assert.Equal(t, "kubectl-vm (unstamped development build, go1.26.8 linux/amd64)",
		String("kubectl-vm", version.Info{GitVersion: unstamped, GoVersion: "go1.26.8", Platform: "linux/amd64"}))
}

func TestFlag(t *testing.T) {
	for _, tt := range []struct {
		args    []string
		printed bool
		err     bool
		check   func(t *testing.T, out string)
	}{
		{args: nil},
		{args: []string{"--version"}, printed: true, check: func(t *testing.T, out string) {
			assert.Contains(t, out, "vm-apiserver")
			assert.NotContains(t, out, "Kubernetes")
		}},
		{args: []string{"--version=raw"}, printed: true, check: func(t *testing.T, out string) {
			var info version.Info
			require.NoError(t, json.Unmarshal([]byte(out), &info))
			assert.Equal(t, Get(), info)
		}},
		{args: []string{"--version=false"}},
		{args: []string{"--version=yes"}, printed: true, err: true},
	} {
		t.Run(fmtArgs(tt.args), func(t *testing.T) {
			var f Flag
			fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
			f.AddFlag(fs)
			require.NoError(t, fs.Parse(tt.args))
			var out bytes.Buffer
			printed, err := f.PrintIfRequested(&out, "vm-apiserver")
			assert.Equal(t, tt.printed, printed)
			assert.Equal(t, tt.err, err != nil)
			if tt.check != nil {
				tt.check(t, out.String())
			} else if !tt.err {
				assert.Empty(t, out.String())
			}
		})
	}
}

func fmtArgs(args []string) string {
	if len(args) == 0 {
		return "none"
	}
	return args[0]
}

// TestKubernetesAPI: /version names the Kubernetes release of the
// k8s.io/apiserver this build uses, parseable as kubectl parses it, with
// this build's release as build metadata and its other fields this build's.
func TestKubernetesAPI(t *testing.T) {
	info := KubernetesAPI()
	v, err := utilversion.ParseSemantic(info.GitVersion)
	require.NoError(t, err, "kubectl parses gitVersion as semver to judge the skew")
	assert.Equal(t, uint(1), v.Major())
	assert.Equal(t, info.Major, fmt.Sprint(v.Major()))
	assert.Equal(t, info.Minor, fmt.Sprint(v.Minor()))
	assert.Equal(t, baseversion.DefaultKubeBinaryVersion, fmt.Sprintf("%d.%d", v.Major(), v.Minor()),
		"the module's release and component-base's agree")
	assert.Equal(t, "vm-apiserver.v0.0.0-unstamped", v.BuildMetadata(), "an unstamped test build")

	own := Get()
	assert.Equal(t, own.GitCommit, info.GitCommit)
	assert.Equal(t, own.BuildDate, info.BuildDate)
	assert.Equal(t, own.Platform, info.Platform)
}
