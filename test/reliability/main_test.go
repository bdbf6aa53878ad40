package reliability

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vm-apiserver/vm-apiserver/test/framework"
)

// suite is this heavy suite: its process-level tests call requireSuite.
var suite = framework.NewSuite("reliability")

// The suite's shared settings, set in TestMain.
var (
	outDir string
	bins   framework.Binaries
)

func TestMain(m *testing.M) {
	flag.Parse()
	outDir = os.Getenv("RELIABILITY_OUT")
	if outDir == "" {
		root, err := framework.RepoRoot()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		outDir = filepath.Join(root, "_output", "reliability")
	}
	enabled := suite.On()
	if enabled {
		var err error
		if bins, err = framework.FindBinaries(); err == nil {
			err = bins.Check(framework.BinVMAPIServer, framework.BinEtcd)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "reliability suite:", err)
			os.Exit(1)
		}
		if err := os.MkdirAll(outDir, 0o755); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}

	// A Ctrl-C or a CI cancel still kills what the suite started.
	stopWatching := framework.OnInterrupt(framework.KillAll)

	start := time.Now()
	code := m.Run()
	stopWatching()
	framework.KillAll()
	if enabled {
		figures.Seed = suiteSeed
		figures.finish(time.Since(start), testing.Short(), code == 0)
		if err := figures.write(outDir); err != nil {
			fmt.Fprintln(os.Stderr, "writing the report:", err)
		}
	}
	os.Exit(suite.Finish(code))
}

// requireSuite starts a test that runs processes: it skips unless the
// suite is on (and fails under CI=true; see framework.Suite).
func requireSuite(t *testing.T) {
	t.Helper()
	suite.Require(t)
}

// scale picks the bounded (-short) or the full value of a load parameter.
func scale[T any](short, full T) T {
	if testing.Short() {
		return short
	}
	return full
}
