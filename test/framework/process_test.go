package framework

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// childEnv makes the test binary act as the child process of these tests.
const childEnv = "FRAMEWORK_TEST_CHILD"

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		child(mode)
		return
	}
	code := m.Run()
	if os.Getenv(probeEnv) != "" {
		// The test binary runs as a heavy suite (suite_test.go).
		code = probeSuite.Finish(code)
	}
	os.Exit(code)
}

// child prints some lines and waits to be signalled; with mode
// "ignore-term" it ignores SIGTERM.
func child(mode string) {
	if mode == "ignore-term" {
		signal.Ignore(syscall.SIGTERM)
	}
	for i := range 50 {
		fmt.Println("line", i)
	}
	time.Sleep(time.Hour)
}

func newChild(t *testing.T, mode string) *Process {
	p := NewProcess(t.TempDir(), "child", os.Args[0])
	p.Env = []string{childEnv + "=" + mode}
	return p
}

// waitLog waits until the child has printed its lines.
func waitLog(t *testing.T, p *Process) {
	t.Helper()
	require.NoError(t, Poll(t.Context(), 10*time.Millisecond, 30*time.Second, "the child's output", func(context.Context) (bool, error) {
		return strings.Contains(p.Tail(1), "line 49"), p.Alive()
	}))
}

func TestProcessStopAndRestart(t *testing.T) {
	p := newChild(t, "plain")
	require.NoError(t, p.Start())
	t.Cleanup(func() { _ = p.Kill() })
	waitLog(t, p)
	assert.NoError(t, p.Alive())
	assert.Error(t, p.Start(), "a running process cannot be started twice")
	tail := p.Tail(3)
	assert.Contains(t, tail, "last 3 lines of "+p.Log)
	assert.Contains(t, tail, "line 47\nline 48\nline 49")

	first := p.Pid()
	require.NoError(t, p.Stop(30*time.Second), "SIGTERM ends it")
	assert.True(t, p.Exited())
	assert.ErrorContains(t, p.Alive(), "child exited")

	require.NoError(t, p.Start(), "started again with the same arguments")
	waitLog(t, p)
	assert.NotEqual(t, first, p.Pid())
	require.NoError(t, p.Kill())
	assert.True(t, p.Exited())
	log, err := os.ReadFile(p.Log)
	require.NoError(t, err)
	assert.Equal(t, 2, strings.Count(string(log), "===== "), "each run is appended to the log")
}

func TestProcessStopKillsAfterGrace(t *testing.T) {
	p := newChild(t, "ignore-term")
	require.NoError(t, p.Start())
	waitLog(t, p)
	err := p.Stop(200 * time.Millisecond)
	assert.ErrorContains(t, err, "did not exit within 200ms of SIGTERM; killed")
	assert.True(t, p.Exited())
}

func TestProcessPauseResume(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("needs /proc")
	}
	p := newChild(t, "plain")
	require.NoError(t, p.Start())
	t.Cleanup(func() { _ = p.Kill() })
	waitLog(t, p)
	state := func() string {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.Pid()))
		require.NoError(t, err)
		return strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))[0]
	}
	require.NoError(t, p.Pause())
	require.NoError(t, Poll(t.Context(), 10*time.Millisecond, 10*time.Second, "stopped", func(context.Context) (bool, error) {
		return state() == "T", nil
	}))
	require.NoError(t, p.Resume())
	require.NoError(t, Poll(t.Context(), 10*time.Millisecond, 10*time.Second, "running", func(context.Context) (bool, error) {
		return state() != "T", nil
	}))
	require.NoError(t, p.Pause())
	assert.NoError(t, p.Stop(30*time.Second), "a paused process still stops on SIGTERM")
}

func TestStartProcessStopsAtCleanup(t *testing.T) {
	var p *Process
	t.Run("test", func(t *testing.T) {
		p = newChild(t, "plain")
		p.StartForTest(t)
		waitLog(t, p)
		assert.False(t, p.Exited())
	})
	assert.True(t, p.Exited(), "stopped when the test ended")
}

func TestKillAll(t *testing.T) {
	a, b := newChild(t, "ignore-term"), newChild(t, "plain")
	require.NoError(t, a.Start())
	require.NoError(t, b.Start())
	KillAll()
	assert.True(t, a.Exited())
	assert.True(t, b.Exited())
}

func TestFreePorts(t *testing.T) {
	ports, err := FreePorts(5)
	require.NoError(t, err)
	seen := map[int]bool{}
	for _, p := range ports {
		assert.Positive(t, p)
		seen[p] = true
	}
	assert.Len(t, seen, 5)
}
