package version

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/version"
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
