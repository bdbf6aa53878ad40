// Package version names this build of vm-apiserver's programs. The version
// is the one the Makefile stamps into k8s.io/component-base/version (which
// the generic server also serves at /version); an unstamped build says so.
package version

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/version"
	baseversion "k8s.io/component-base/version"
)

// unstamped is component-base's placeholder when no version was stamped.
const unstamped = "v0.0.0-master+$Format:%H$"

// Get returns the version of this build.
func Get() version.Info { return baseversion.Get() }

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
