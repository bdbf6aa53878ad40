package main

import (
	"os"
	"testing"

	"github.com/vm-apiserver/vm-apiserver/test/framework"
)

// suite is the heavy suite of the harness: TestRun runs the whole benchmark
// at its smallest.
var suite = framework.NewSuite("bench")

func TestMain(m *testing.M) {
	os.Exit(suite.Finish(m.Run()))
}
