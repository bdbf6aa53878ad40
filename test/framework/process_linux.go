package framework

import "syscall"

// sysProcAttr puts a child in its own process group, so that a Ctrl-C
// reaches only the test binary, which then stops its children in order;
// and has the kernel kill the child if the test binary dies without
// cleaning up (a panic, or go test's -timeout).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
