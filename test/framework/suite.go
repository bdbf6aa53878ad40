package framework

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// SuiteEnv turns heavy suites on: a comma-separated list of suite names,
// e.g. VM_APISERVER_SUITE=integration,reliability. Without it their tests
// skip, so that `go test ./...` stays fast, while the suites still compile
// and are vetted with everything else.
const SuiteEnv = "VM_APISERVER_SUITE"

// The heavy suites and the command that runs each.
var suiteCommands = map[string]string{
	"integration": "make test-integration",
	"reliability": "make test-reliability",
	"bench":       "make test-bench",
}

// SuiteEnabled reports whether SuiteEnv names the suite.
func SuiteEnabled(name string) bool {
	for _, s := range strings.Split(os.Getenv(SuiteEnv), ",") {
		if strings.TrimSpace(s) == name {
			return true
		}
	}
	return false
}

// SuiteOff is the message for a suite that is not turned on.
func SuiteOff(name string) string {
	msg := fmt.Sprintf("the %s suite is off: set %s=%s to run it", name, SuiteEnv, name)
	if c, ok := suiteCommands[name]; ok {
		msg += " (" + c + " does)"
	}
	return msg
}

// RequireSuite skips the test unless SuiteEnv names the suite.
func RequireSuite(t testing.TB, name string) {
	t.Helper()
	if !SuiteEnabled(name) {
		t.Skip(SuiteOff(name))
	}
}
