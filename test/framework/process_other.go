//go:build !linux

package framework

import "syscall"

// sysProcAttr puts a child in its own process group. Off Linux the kernel
// cannot tie a child's life to its parent; KillAll, OnInterrupt and the
// tests' cleanups still stop what was started.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
