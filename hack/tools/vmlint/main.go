// Command vmlint is the project's linter: one `go vet -vettool` program that
// runs the analyzers .golangci.yml names, at the versions golangci-lint
// v2.15.0 builds them from, with the same settings and exclusions. It builds
// in a fraction of golangci-lint's time, and `go vet` caches its results and
// shares the compiled dependencies with `go build` and `go test`.
//
//	go build -o bin/vmlint ./vmlint    (in hack/tools)
//	go vet -vettool=$PWD/bin/vmlint ./...
//
// hack/lint.sh runs it over every module, with a gofmt -s check.
//
// Each diagnostic names its check at the end, e.g. "(SA1019)" or "(revive)".
// A `//nolint:NAME[,NAME...]` comment at the end of a line silences those
// linters on that line, and on a line of its own the statement or
// declaration that follows; `//nolint` alone silences every linter. NAME is
// a linter of the table below (govet, staticcheck, errcheck, ...); names of
// linters vmlint does not run are accepted and ignored. The nolintlint check
// reports a directive written `// nolint` (which silences nothing) and one
// that names a linter of vmlint's but silenced nothing.
package main

import (
	"encoding/json"
	"os"
	"strings"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/unitchecker"
)

func main() {
	unitchecker.Main(analyzers(factsOnly(os.Args[1:]))...)
}

// analyzers returns every analyzer vmlint reports from, each guarded by the
// exclusions and the nolint directives, and the nolintlint check last.
//
// When `go vet` runs vmlint on a dependency only for its facts, it returns
// only the analyzers that produce facts. Given them all, unitchecker would
// run every analyzer that requires one that produces facts (most of
// staticcheck's checks do), building and checking the SSA form of every
// function of every dependency for diagnostics nobody prints.
func analyzers(factsOnly bool) []*analysis.Analyzer {
	var roots []*analysis.Analyzer
	for _, l := range linters() {
		for _, a := range l.analyzers {
			guard(a, l.name)
			roots = append(roots, a)
		}
	}
	if factsOnly {
		return factProducers(roots)
	}
	return append(roots, nolintlintAnalyzer(roots))
}

// factProducers returns the analyzers among roots and their requirements,
// transitively, that produce facts.
func factProducers(roots []*analysis.Analyzer) []*analysis.Analyzer {
	seen := map[*analysis.Analyzer]bool{}
	var out []*analysis.Analyzer
	var visit func(a *analysis.Analyzer)
	visit = func(a *analysis.Analyzer) {
		if seen[a] {
			return
		}
		seen[a] = true
		if len(a.FactTypes) > 0 {
			out = append(out, a)
		}
		for _, r := range a.Requires {
			visit(r)
		}
	}
	for _, a := range roots {
		visit(a)
	}
	return out
}

// factsOnly says whether the `go vet` configuration file among args asks for
// facts only (the package is a dependency of the ones vetted).
func factsOnly(args []string) bool {
	if len(args) == 0 || !strings.HasSuffix(args[len(args)-1], ".cfg") {
		return false
	}
	data, err := os.ReadFile(args[len(args)-1])
	if err != nil {
		return false
	}
	var cfg struct{ VetxOnly bool }
	return json.Unmarshal(data, &cfg) == nil && cfg.VetxOnly
}
