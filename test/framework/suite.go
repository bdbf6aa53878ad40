package framework

import (
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
)

// SuiteEnv switches heavy suites on: a comma-separated list of suite names,
// e.g. VM_APISERVER_SUITE=integration,reliability. A heavy suite runs real
// processes (etcd, kube-apiserver, vm-apiserver); its tests skip unless it
// is switched on, so that `go test ./...` stays fast while the suites still
// compile and are vetted with everything else.
const SuiteEnv = "VM_APISERVER_SUITE"

// SuitesOff is the value of SuiteEnv that switches every heavy suite off
// on purpose: `make test-unit` sets it, since each suite has a stage of its
// own.
const SuitesOff = "none"

// CIEnv is set to true by CI systems. Under CI=true a heavy suite that is
// neither switched on nor switched off on purpose fails instead of
// skipping: a CI job cannot pass by running none of its tests.
const CIEnv = "CI"

// The heavy suites and the command that runs each.
var suiteCommands = map[string]string{
	"integration": "make test-integration",
	"reliability": "make test-reliability",
	"bench":       "make test-bench",
}

// SuiteState is whether a heavy suite runs.
type SuiteState int

const (
	// SuiteOn means SuiteEnv names the suite: its tests run.
	SuiteOn SuiteState = iota
	// SuiteOff means the suite is not switched on, outside CI or switched
	// off on purpose (SuitesOff): its tests skip.
	SuiteOff
	// SuiteMissing means the suite is not switched on under CI=true: its
	// tests fail.
	SuiteMissing
)

// Suite is one heavy suite. Every test of the suite calls Require first,
// and the package's TestMain passes the result of m.Run through Finish:
//
//	var suite = framework.NewSuite("reliability")
//
//	func TestMain(m *testing.M) {
//		flag.Parse()
//		if suite.On() { /* set up what all tests share */ }
//		code := m.Run()
//		os.Exit(suite.Finish(code))
//	}
type Suite struct {
	// Name is the suite's name in SuiteEnv.
	Name string
	// ran counts the tests that passed Require with the suite on.
	ran atomic.Int64
}

// NewSuite is the heavy suite called name.
func NewSuite(name string) *Suite { return &Suite{Name: name} }

// State says whether the suite runs, from SuiteEnv and CIEnv.
func (s *Suite) State() SuiteState {
	value := os.Getenv(SuiteEnv)
	for _, name := range strings.Split(value, ",") {
		if strings.TrimSpace(name) == s.Name {
			return SuiteOn
		}
	}
	if strings.TrimSpace(value) != SuitesOff && os.Getenv(CIEnv) == "true" {
		return SuiteMissing
	}
	return SuiteOff
}

// On reports whether SuiteEnv names the suite.
func (s *Suite) On() bool { return s.State() == SuiteOn }

// Off is the message for a suite that is not switched on.
func (s *Suite) Off() string {
	msg := fmt.Sprintf("the %s suite is off: set %s=%s to run it", s.Name, SuiteEnv, s.Name)
	if c, ok := suiteCommands[s.Name]; ok {
		msg += " (" + c + " does)"
	}
	return msg
}

// missing is the message for a suite that is not switched on under CI.
func (s *Suite) missing() string {
	return fmt.Sprintf("%s=true and %s does not name the %s suite (nor is %q): a heavy suite must not pass in CI without running; %s",
		CIEnv, SuiteEnv, s.Name, SuitesOff, s.Off())
}

// Require starts each test of the suite. With the suite on it counts the
// test and returns; off, it skips the test; not switched on under CI=true,
// it fails the test.
func (s *Suite) Require(t testing.TB) {
	t.Helper()
	switch s.State() {
	case SuiteOn:
		s.ran.Add(1)
	case SuiteOff:
		t.Skip(s.Off())
	default:
		t.Fatal(s.missing())
	}
}

// Ran is how many tests passed Require with the suite on.
func (s *Suite) Ran() int { return int(s.ran.Load()) }

// Finish is the exit code of the suite's test binary, given that of m.Run:
// 1 if the suite is on and none of its tests ran (a -run that matches
// nothing, say), or if it is not switched on under CI=true; otherwise code.
// It says why on stderr.
func (s *Suite) Finish(code int) int {
	switch s.State() {
	case SuiteOn:
		if s.Ran() == 0 {
			fmt.Fprintf(os.Stderr, "FAIL: the %s suite is switched on (%s) but ran no test\n", s.Name, SuiteEnv)
			return 1
		}
	case SuiteMissing:
		fmt.Fprintln(os.Stderr, "FAIL: "+s.missing())
		return 1
	default:
		fmt.Println(s.Off())
	}
	return code
}
