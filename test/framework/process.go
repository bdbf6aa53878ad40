package framework

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// killWait is how long Kill waits for a process to be gone.
const killWait = 30 * time.Second

// Process is a program run as its own process, with its stdout and stderr
// appended to a log file. It can be stopped, killed, paused, resumed and
// started again with the same arguments.
type Process struct {
	// Name names the process in messages.
	Name string
	// Path is the program and Args its arguments.
	Path string
	Args []string
	// Env holds variables added to the environment of this process.
	Env []string
	// Log is the file the output is appended to.
	Log string

	mu     sync.Mutex
	cmd    *exec.Cmd
	done   chan struct{}
	err    error
	paused bool
}

// running holds the processes started and not yet ended, for KillAll.
var running sync.Map // *Process -> struct{}

// NewProcess prepares the program path with args, logging to dir/name.log.
// Start runs it.
func NewProcess(dir, name, path string, args ...string) *Process {
	return &Process{Name: name, Path: path, Args: args, Log: filepath.Join(dir, name+".log")}
}

// StartProcess starts a process for the test, as StartForTest does.
func StartProcess(t testing.TB, dir, name, path string, args ...string) *Process {
	t.Helper()
	p := NewProcess(dir, name, path, args...)
	p.StartForTest(t)
	return p
}

// StartForTest starts the process and fails the test if it cannot. When
// the test ends the process is stopped (SIGTERM, then SIGKILL after 30s)
// and, if the test failed, the end of its log is logged.
func (p *Process) StartForTest(t testing.TB) {
	t.Helper()
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	p.StopAtCleanup(t)
}

// StopAtCleanup stops the process when the test ends (SIGTERM, then
// SIGKILL after 30s) and, if the test failed, logs the end of its log.
func (p *Process) StopAtCleanup(t testing.TB) {
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(p.Tail(40))
		}
		if err := p.Stop(30 * time.Second); err != nil {
			t.Log(err)
		}
	})
}

// Start runs the process, appending to its log. A process that has ended
// can be started again.
func (p *Process) Start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil && !isClosed(p.done) {
		return fmt.Errorf("%s is already running (pid %d)", p.Name, p.cmd.Process.Pid)
	}
	f, err := os.OpenFile(p.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(f, "===== %s: start %s %v\n", time.Now().Format(time.RFC3339Nano), p.Path, p.Args)
	cmd := exec.Command(p.Path, p.Args...)
	cmd.Stdout = f
	cmd.Stderr = f
	if len(p.Env) > 0 {
		cmd.Env = append(os.Environ(), p.Env...)
	}
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		_ = f.Close()
		return fmt.Errorf("starting %s: %w", p.Name, err)
	}
	done := make(chan struct{})
	p.cmd, p.done, p.err, p.paused = cmd, done, nil, false
	running.Store(p, struct{}{})
	go func() {
		err := cmd.Wait()
		_ = f.Close()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		running.Delete(p)
		close(done)
	}()
	return nil
}

// current returns the command of the latest run and its done channel.
func (p *Process) current() (*exec.Cmd, chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd, p.done
}

// Pid is the process id of the latest run.
func (p *Process) Pid() int {
	cmd, _ := p.current()
	return cmd.Process.Pid
}

// Done is closed when the latest run ends.
func (p *Process) Done() <-chan struct{} {
	_, done := p.current()
	return done
}

// Exited reports whether the latest run has ended.
func (p *Process) Exited() bool {
	_, done := p.current()
	return isClosed(done)
}

// Alive is nil while the process runs. Once it has ended, Alive is an error
// that ends a Poll at once.
func (p *Process) Alive() error {
	if !p.Exited() {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return Abort(fmt.Errorf("%s exited: %w", p.Name, p.err))
}

// Signal sends sig to the latest run, unless it has ended.
func (p *Process) Signal(sig os.Signal) error {
	cmd, done := p.current()
	if cmd == nil || isClosed(done) {
		return nil
	}
	return cmd.Process.Signal(sig)
}

// Pause stops the process with SIGSTOP; Resume lets it go on.
func (p *Process) Pause() error { return p.setPaused(true, syscall.SIGSTOP) }

// Resume sends SIGCONT to a paused process.
func (p *Process) Resume() error { return p.setPaused(false, syscall.SIGCONT) }

func (p *Process) setPaused(paused bool, sig os.Signal) error {
	if err := p.Signal(sig); err != nil {
		return err
	}
	p.mu.Lock()
	p.paused = paused
	p.mu.Unlock()
	return nil
}

// Kill sends SIGKILL and waits until the process is gone.
func (p *Process) Kill() error {
	cmd, done := p.current()
	if cmd == nil || isClosed(done) {
		return nil
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case <-done:
		return nil
	case <-time.After(killWait):
		return fmt.Errorf("%s (pid %d) still running %s after SIGKILL", p.Name, cmd.Process.Pid, killWait)
	}
}

// Stop sends SIGTERM and waits up to grace for the process to exit; then
// it kills it and says so. A paused process is resumed first. Stopping a
// nil Process, or one never started, does nothing.
func (p *Process) Stop(grace time.Duration) error {
	if p == nil {
		return nil
	}
	cmd, done := p.current()
	if cmd == nil || isClosed(done) {
		return nil
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	p.mu.Lock()
	paused := p.paused
	p.mu.Unlock()
	if paused {
		// A stopped process acts on SIGTERM only once it runs again.
		_ = p.Resume()
	}
	select {
	case <-done:
		return nil
	case <-time.After(grace):
		if err := p.Kill(); err != nil {
			return err
		}
		return fmt.Errorf("%s did not exit within %s of SIGTERM; killed", p.Name, grace)
	}
}

// Tail returns the last n lines of the log, under a header naming the file.
func (p *Process) Tail(n int) string {
	data, err := os.ReadFile(p.Log)
	if err != nil {
		return err.Error()
	}
	lines := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return fmt.Sprintf("--- last %d lines of %s ---\n%s", len(lines), p.Log, bytes.Join(lines, []byte("\n")))
}

// KillAll kills every process the framework started that still runs.
func KillAll() {
	running.Range(func(k, _ any) bool {
		_ = k.(*Process).Kill()
		return true
	})
}

// OnInterrupt runs cleanup and exits with status 130 when the test binary
// gets SIGINT or SIGTERM, so that a Ctrl-C or a CI cancel still stops what
// it started. The returned function stops watching.
func OnInterrupt(cleanup func()) (stop func()) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	quit := make(chan struct{})
	go func() {
		select {
		case <-sig:
			cleanup()
			os.Exit(130)
		case <-quit:
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			signal.Stop(sig)
			close(quit)
		})
	}
}

// FreePorts returns n distinct loopback ports that were free a moment ago.
// All listeners stay open until every port is picked, so the ports differ.
func FreePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// FreePort returns a loopback port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	ports, err := FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	return ports[0]
}

// RunCommand runs a short command in dir and returns its combined output;
// a failure's error includes the output.
func RunCommand(dir, path string, args ...string) (string, error) {
	cmd := exec.Command(path, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %v: %w\n%s", filepath.Base(path), args, err, out)
	}
	return string(out), nil
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
