package integration

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"
)

// env is the one environment that every test of the suite shares. Tests
// isolate themselves by namespace.
var env *environment

func TestMain(m *testing.M) {
	flag.Parse()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// Ctrl-C or a CI cancel still stops the components in order.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		cancel()
		env.teardown(true)
		os.Exit(130)
	}()

	start := time.Now()
	var err error
	env, err = setupEnvironment(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "setting up the environment:", err)
		for _, p := range []*proc{env.procOrNil("etcd"), env.procOrNil("kube-apiserver"), env.procOrNil("vm-apiserver")} {
			if p != nil {
				fmt.Fprintln(os.Stderr, p.tail(30))
			}
		}
		env.teardown(true)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "environment ready in %s (etcd, kube-apiserver %s, vm-apiserver %s; logs in %s)\n",
		time.Since(start).Round(100*time.Millisecond), env.kubeURL, env.vmURL, env.dir)

	code := m.Run()
	signal.Stop(sig)
	env.teardown(code != 0 || os.Getenv("VM_APISERVER_KEEP_TMP") != "")
	os.Exit(code)
}

// procOrNil returns the named component if it was started.
func (e *environment) procOrNil(name string) *proc {
	if e == nil {
		return nil
	}
	switch name {
	case "etcd":
		return e.etcd
	case "kube-apiserver":
		return e.kubeAPIServer
	case "vm-apiserver":
		return e.vmAPIServer
	}
	return nil
}
