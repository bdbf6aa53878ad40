package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/analysistest"
)

// guarded returns a copy of unconvertAnalyzer behind guard, so that the
// tests leave the one vmlint runs alone.
func guarded() *analysis.Analyzer {
	a := *unconvertAnalyzer
	guard(&a, "unconvert")
	return &a
}

// TestNolintSilences: a diagnostic on a line with //nolint naming its linter,
// or //nolint alone, or under a //nolint line of its own, is dropped; one
// naming another linter, or written `// nolint`, does not silence it.
func TestNolintSilences(t *testing.T) {
	analysistest.Run(t, analysistest.TestData(), guarded(), "nolint")
}

// TestNolintlint reports the directives that silence nothing.
func TestNolintlint(t *testing.T) {
	a := guarded()
	analysistest.Run(t, analysistest.TestData(), nolintlintAnalyzer([]*analysis.Analyzer{a}), "nolintlint")
}

func TestErrcheckIgnored(t *testing.T) {
	for _, code := range []string{"resp.Body.Close", "(*os.File).Close", "w.Flush", "os.Remove", "os.RemoveAll", "fmt.Fprintf", "fmt.Println", "os.Setenv", "os.Stderr.Write"} {
		assert.True(t, errcheckIgnored.MatchString(code), code)
	}
	for _, code := range []string{"json.Unmarshal", "f.Write", "os.Chmod", "(*net/http.Server).Shutdown"} {
		assert.False(t, errcheckIgnored.MatchString(code), code)
	}
}
