package integration

import (
	"context"
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/vm-apiserver/vm-apiserver/test/framework"
)

// suite is this heavy suite: every test starts with suite.Require.
var suite = framework.NewSuite("integration")

// env is the one environment that every test of the suite shares. Tests
// isolate themselves by namespace.
var env *environment

func TestMain(m *testing.M) {
	flag.Parse()
	if !suite.On() {
		// Every test skips, or fails under CI=true.
		os.Exit(suite.Finish(m.Run()))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// Ctrl-C or a CI cancel still stops the components in order.
	stopWatching := framework.OnInterrupt(func() {
		cancel()
		env.teardown(true)
	})

	start := time.Now()
	var err error
	env, err = setupEnvironment(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "setting up the environment:", err)
		for _, p := range env.processes() {
			fmt.Fprintln(os.Stderr, p.Tail(30))
		}
		env.teardown(true)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "environment ready in %s (etcd, kube-apiserver %s, vm-apiserver %s; logs in %s)\n",
		time.Since(start).Round(100*time.Millisecond), env.kubeURL, env.vmURL, env.dir)

	code := m.Run()
	stopWatching()
	if code != 0 {
		// What the components said last, next to the failures.
		for _, p := range env.processes() {
			fmt.Fprintln(os.Stderr, p.Tail(20))
		}
	}
	env.teardown(code != 0 || os.Getenv("VM_APISERVER_KEEP_TMP") != "")
	os.Exit(suite.Finish(code))
}

// processes are the components started so far.
func (e *environment) processes() []*framework.Process {
	if e == nil {
		return nil
	}
	var ps []*framework.Process
	if e.etcd != nil {
		ps = append(ps, e.etcd.Process)
	}
	if e.kubeAPIServer != nil {
		ps = append(ps, e.kubeAPIServer.Process)
	}
	if e.vmAPIServer != nil {
		ps = append(ps, e.vmAPIServer.Process)
	}
	return ps
}
