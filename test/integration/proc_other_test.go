//go:build !linux

package integration

import "syscall"

// dieWithSuite has no portable equivalent off Linux; teardown still runs on
// normal exits and on SIGINT/SIGTERM.
func dieWithSuite(*syscall.SysProcAttr) {}
