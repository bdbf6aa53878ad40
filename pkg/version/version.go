// Package version names this build of vm-apiserver's programs. The
// Makefile stamps the version into this package's variables; an unstamped
// build says so.
//
// k8s.io/component-base/version is left alone: k8s.io/apiserver reads it as
// the Kubernetes version of the binary, and derives from it the version its
// feature gates emulate. Stamped with vm-apiserver's own version (0.1), the
// gates would describe a Kubernetes 0.1 and none of 1.37's would exist.
package version

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/pflag"
	utilversion "k8s.io/apimachinery/pkg/util/version"
	"k8s.io/apimachinery/pkg/version"
	baseversion "k8s.io/component-base/version"
)

// Set by the Makefile with -ldflags -X.
var (
	gitVersion   = unstamped
	gitCommit    = ""
	gitTreeState = ""
	buildDate    = "1970-01-01T00:00:00Z"
)

// unstamped is gitVersion when no version was stamped.
const unstamped = "v0.0.0-unstamped"

// Get returns the version of this build.
func Get() version.Info {
	var major, minor string
	if v, err := utilversion.ParseSemantic(gitVersion); err == nil && gitVersion != unstamped {
		major, minor = fmt.Sprint(v.Major()), fmt.Sprint(v.Minor())
	}
	return version.Info{
		Major:        major,
		Minor:        minor,
		GitVersion:   gitVersion,
		GitCommit:    gitCommit,
		GitTreeState: gitTreeState,
		BuildDate:    buildDate,
		GoVersion:    runtime.Version(),
		Compiler:     runtime.Compiler,
		Platform:     runtime.GOOS + "/" + runtime.GOARCH,
	}
}

// String describes info for program in one line, e.g.
// "vm-apiserver v0.1.0 (commit 1a2b3c4d5e6f, clean tree, built 2026-11-29T10:00:00Z, go1.26.8 linux/amd64)".
func String(program string, info version.Info) string {
	if info.GitVersion == "" || info.GitVersion == unstamped {
		return fmt.Sprintf("%s (unstamped development build, %s %s)", program, info.GoVersion, info.Platform)
	}
	commit := info.GitCommit
	if len(commit) > 12 {
		commit = commit[:12]
	}
	return fmt.Sprintf("%s %s (commit %s, %s tree, built %s, %s %s)",
		program, info.GitVersion, commit, info.GitTreeState, info.BuildDate, info.GoVersion, info.Platform)
}

// Flag is a --version flag: "--version" prints String, "--version=raw" the
// whole version as JSON.
type Flag struct {
	value string
}

// AddFlag adds --version to fs.
func (f *Flag) AddFlag(fs *pflag.FlagSet) {
	fs.StringVar(&f.value, "version", "", "Print the version and quit; --version=raw prints it as JSON.")
	fs.Lookup("version").NoOptDefVal = "true"
}

// PrintIfRequested writes the version for program to out if --version was
// given, and reports whether it did, so that the caller can quit.
func (f *Flag) PrintIfRequested(out io.Writer, program string) (bool, error) {
	switch f.value {
	case "", "false":
		return false, nil
	case "true":
		_, err := fmt.Fprintln(out, String(program, Get()))
		return true, err
	case "raw":
		data, err := json.MarshalIndent(Get(), "", "  ")
		if err != nil {
			return true, err
		}
		_, err = fmt.Fprintln(out, string(data))
		return true, err
	default:
		return true, fmt.Errorf("--version accepts no value or \"raw\", not %q", f.value)
	}
}

// kubernetesModule is the module whose version is the Kubernetes API level
// this build implements: k8s.io/apiserver v0.X.Y is Kubernetes 1.X.Y.
const kubernetesModule = "k8s.io/apiserver"

// KubernetesAPI returns what GET /version answers: the Kubernetes version
// whose API this build serves, taken from the k8s.io/apiserver it was built
// with, as kubectl reads /version to judge its version skew. This build's
// own release rides along as semver build metadata of gitVersion
// ("v1.37.2+vm-apiserver.v0.1.0-dev.4aa54fda65bf"), and the commit, tree
// state, build date and Go version are this build's.
func KubernetesAPI() version.Info {
	info := Get()
	kube := kubernetesVersion()
	info.Major, info.Minor = fmt.Sprint(kube.Major()), fmt.Sprint(kube.Minor())
	info.GitVersion = fmt.Sprintf("v%d.%d.%d+vm-apiserver.%s", kube.Major(), kube.Minor(), kube.Patch(),
		strings.NewReplacer("+", ".", "_", "-").Replace(gitVersion))
	return info
}

// kubernetesVersion is the Kubernetes release of the k8s.io/apiserver
// module in this binary, or the minor release that k8s.io/component-base
// names (1.37.0) when the build carries no module versions, as test
// binaries do not.
func kubernetesVersion() *utilversion.Version {
	if build, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range build.Deps {
			if dep.Path != kubernetesModule {
				continue
			}
			if v, err := utilversion.ParseSemantic(dep.Version); err == nil && v.Major() == 0 {
				return utilversion.MajorMinor(1, v.Minor()).WithPatch(v.Patch())
			}
		}
	}
	return utilversion.MustParseGeneric(baseversion.DefaultKubeBinaryVersion)
}
