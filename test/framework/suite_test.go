package framework

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// probeEnv makes the test binary run TestSuiteProbe as the one test of a
// heavy suite, probeSuite, whose result TestMain passes through Finish.
const probeEnv = "FRAMEWORK_TEST_SUITE_PROBE"

var probeSuite = NewSuite("probe")

// TestSuiteProbe is the heavy suite's test in the probe runs; otherwise it
// skips.
func TestSuiteProbe(t *testing.T) {
	if os.Getenv(probeEnv) == "" {
		t.Skip("run by TestSuiteConvention")
	}
	probeSuite.Require(t)
}

// runProbe runs this test binary as the heavy suite "probe" with the given
// environment (CI and SuiteEnv are cleared first) and -test.run pattern,
// and returns its output and whether it passed.
func runProbe(t *testing.T, run string, env ...string) (string, bool) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run", run, "-test.v")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, CIEnv+"=") && !strings.HasPrefix(kv, SuiteEnv+"=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, append([]string{probeEnv + "=1"}, env...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		var exit *exec.ExitError
		require.ErrorAs(t, err, &exit, "%s", out)
	}
	return string(out), err == nil
}

// TestSuiteConvention runs a heavy suite in a test binary of its own and
// checks how it ends: switched off it skips, unless CI=true, where it
// fails; switched on it runs, and fails if it ran no test.
func TestSuiteConvention(t *testing.T) {
	tests := []struct {
		name   string
		run    string
		env    []string
		passes bool
		says   string
	}{
		{"off skips", "^TestSuiteProbe$", nil, true, "--- SKIP: TestSuiteProbe"},
		{"off under CI fails", "^TestSuiteProbe$", []string{"CI=true"}, false, "--- FAIL: TestSuiteProbe"},
		{"off under CI fails with no test run", "^$", []string{"CI=true"}, false, "must not pass in CI without running"},
		{"off on purpose under CI skips", "^TestSuiteProbe$", []string{"CI=true", SuiteEnv + "=" + SuitesOff}, true, "--- SKIP: TestSuiteProbe"},
		{"another suite on under CI fails", "^TestSuiteProbe$", []string{"CI=true", SuiteEnv + "=integration"}, false, "--- FAIL: TestSuiteProbe"},
		{"on runs", "^TestSuiteProbe$", []string{"CI=true", SuiteEnv + "=integration,probe"}, true, "--- PASS: TestSuiteProbe"},
		{"on with no test run fails", "^$", []string{SuiteEnv + "=probe"}, false, "the probe suite is switched on (VM_APISERVER_SUITE) but ran no test"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, passed := runProbe(t, tt.run, tt.env...)
			assert.Equal(t, tt.passes, passed, "passed; output:\n%s", out)
			assert.Contains(t, out, tt.says)
		})
	}
}

func TestSuiteState(t *testing.T) {
	s := NewSuite("reliability")
	for _, tt := range []struct {
		suites, ci string
		want       SuiteState
	}{
		{"integration, reliability", "", SuiteOn},
		{"integration, reliability", "true", SuiteOn},
		{"integration", "", SuiteOff},
		{"", "", SuiteOff},
		{"", "false", SuiteOff},
		{"", "true", SuiteMissing},
		{"bench", "true", SuiteMissing},
		{SuitesOff, "true", SuiteOff},
	} {
		t.Setenv(SuiteEnv, tt.suites)
		t.Setenv(CIEnv, tt.ci)
		assert.Equal(t, tt.want, s.State(), "%s=%q %s=%q", SuiteEnv, tt.suites, CIEnv, tt.ci)
	}
	assert.Contains(t, s.Off(), "VM_APISERVER_SUITE=reliability")
	assert.Contains(t, s.Off(), "make test-reliability")
}
