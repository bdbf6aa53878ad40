package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestFilterMicro checks what the micro-benchmark phase prints of go test's
// output: the result lines of a passing run, and all of a failing package.
func TestFilterMicro(t *testing.T) {
	passing := `goos: linux
goarch: amd64
pkg: example.com/a
cpu: Some CPU
BenchmarkDecide-2   	 1000000	      1042 ns/op	     256 B/op	       3 allocs/op
BenchmarkDecide/sub-2	     100	      5 ns/op
PASS
ok  	example.com/a	1.234s
`
	failing := `goos: linux
goarch: amd64
pkg: example.com/b
cpu: Some CPU
BenchmarkDecide
    transition_bench_test.go:46:
        	Error Trace:	transition_bench_test.go:46
        	Error:      	Received unexpected error:
        	            	open vm-cirros.yaml: no such file or directory
--- FAIL: BenchmarkDecide
FAIL
exit status 1
FAIL	example.com/b	0.012s
`
	tests := []struct {
		name    string
		in      string
		want    string
		results int
		failed  bool
	}{
		{"passing", passing, "pkg: example.com/a\n" +
			"BenchmarkDecide-2   \t 1000000\t      1042 ns/op\t     256 B/op\t       3 allocs/op\n" +
			"BenchmarkDecide/sub-2\t     100\t      5 ns/op\n", 2, false},
		{"failing", passing + failing, "pkg: example.com/a\n" +
			"BenchmarkDecide-2   \t 1000000\t      1042 ns/op\t     256 B/op\t       3 allocs/op\n" +
			"BenchmarkDecide/sub-2\t     100\t      5 ns/op\n" +
			"pkg: example.com/b\n" + strings.SplitN(failing, "\n", 4)[3], 2, true},
		// A benchmark that fails before its first result prints no header.
		{"failing before the header", "--- FAIL: BenchmarkDecide\n    transition_bench_test.go:71:\n        \tError:      \topen missing.yaml\nFAIL\nexit status 1\nFAIL\texample.com/e\t0.037s\n" + passing,
			"--- FAIL: BenchmarkDecide\n    transition_bench_test.go:71:\n        \tError:      \topen missing.yaml\nFAIL\nexit status 1\nFAIL\texample.com/e\t0.037s\n" +
				"pkg: example.com/a\n" +
				"BenchmarkDecide-2   \t 1000000\t      1042 ns/op\t     256 B/op\t       3 allocs/op\n" +
				"BenchmarkDecide/sub-2\t     100\t      5 ns/op\n", 2, true},
		{"build failure", "# example.com/c\n./x.go:3:1: syntax error\nFAIL\texample.com/c [build failed]\nFAIL\n",
			"# example.com/c\n./x.go:3:1: syntax error\nFAIL\texample.com/c [build failed]\nFAIL\n", 0, true},
		{"died", "pkg: example.com/d\nBenchmarkX\nsignal: killed\n", "pkg: example.com/d\nBenchmarkX\nsignal: killed\n", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out strings.Builder
			results, failed := filterMicro(strings.NewReader(tt.in), &out)
			assert.Equal(t, tt.want, out.String())
			assert.Equal(t, tt.results, results)
			assert.Equal(t, tt.failed, failed)
		})
	}
}
