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

	"github.com/spf13/pflag"
	utilversion "k8s.io/apimachinery/pkg/util/version"
	"k8s.io/apimachinery/pkg/version"
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
