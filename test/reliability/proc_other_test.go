//go:build !linux

package reliability

import "syscall"

// dieWithSuite does nothing where the kernel cannot tie a child's life to
// its parent; TestMain still kills what it started.
func dieWithSuite(*syscall.SysProcAttr) {}
