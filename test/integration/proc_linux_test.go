package integration

import "syscall"

// dieWithSuite makes the kernel kill the component if the suite itself dies
// without a teardown (a panic, or go test's -timeout), so that no orphaned
// kube-apiserver or etcd keeps running.
func dieWithSuite(attr *syscall.SysProcAttr) {
	attr.Pdeathsig = syscall.SIGKILL
}
