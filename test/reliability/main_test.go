package reliability

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// The suite's shared settings, set in TestMain.
var (
	repoRoot string
	outDir   string
	bins     binaries
	enabled  bool
)

// enableEnv turns the process-level tests on; hack/test-reliability.sh sets it.
const enableEnv = "VM_APISERVER_RELIABILITY"

func TestMain(m *testing.M) {
	flag.Parse()
	root, err := filepath.Abs("../..")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	repoRoot = root
	outDir = os.Getenv("RELIABILITY_OUT")
	if outDir == "" {
		outDir = filepath.Join(repoRoot, "_output", "reliability")
	}
	enabled = os.Getenv(enableEnv) == "1"
	if enabled {
		if bins, err = findBinaries(); err != nil {
			fmt.Fprintln(os.Stderr, "reliability suite:", err)
			os.Exit(1)
		}
		if err := os.MkdirAll(outDir, 0o755); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}

	// A Ctrl-C or a CI cancel still kills what the suite started.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		killAll()
		os.Exit(130)
	}()

	start := time.Now()
	code := m.Run()
	signal.Stop(sig)
	killAll()
	if enabled {
		figures.Seed = suiteSeed
		figures.finish(time.Since(start), testing.Short(), code == 0)
		if err := figures.write(outDir); err != nil {
			fmt.Fprintln(os.Stderr, "writing the report:", err)
		}
	}
	os.Exit(code)
}

// requireSuite skips a test that runs processes unless the suite is enabled.
func requireSuite(t *testing.T) {
	t.Helper()
	if !enabled {
		t.Skipf("set %s=1 (hack/test-reliability.sh does) to run the process-level reliability tests", enableEnv)
	}
}

// scale picks the bounded (-short) or the full value of a load parameter.
func scale[T any](short, full T) T {
	if testing.Short() {
		return short
	}
	return full
}
