package reliability

import "syscall"

// dieWithSuite has the kernel kill a process of the suite when the suite
// dies without cleaning up (a panic, or go test's -timeout).
func dieWithSuite(attr *syscall.SysProcAttr) {
	attr.Pdeathsig = syscall.SIGKILL
}
