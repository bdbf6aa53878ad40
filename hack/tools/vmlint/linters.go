package main

import (
	"fmt"
	"go/token"
	"regexp"
	"slices"
	"strings"

	"codeberg.org/polyfloyd/go-errorlint/errorlint"
	"github.com/golangci/misspell"
	"github.com/golangci/unconvert"
	"github.com/gordonklaus/ineffassign/pkg/ineffassign"
	"github.com/kisielk/errcheck/errcheck"
	"github.com/timakin/bodyclose/passes/bodyclose"
	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/passes/appends"
	"golang.org/x/tools/go/analysis/passes/asmdecl"
	"golang.org/x/tools/go/analysis/passes/assign"
	"golang.org/x/tools/go/analysis/passes/atomic"
	"golang.org/x/tools/go/analysis/passes/atomicalign"
	"golang.org/x/tools/go/analysis/passes/bools"
	"golang.org/x/tools/go/analysis/passes/buildtag"
	"golang.org/x/tools/go/analysis/passes/cgocall"
	"golang.org/x/tools/go/analysis/passes/composite"
	"golang.org/x/tools/go/analysis/passes/copylock"
	"golang.org/x/tools/go/analysis/passes/deepequalerrors"
	"golang.org/x/tools/go/analysis/passes/defers"
	"golang.org/x/tools/go/analysis/passes/directive"
	"golang.org/x/tools/go/analysis/passes/errorsas"
	"golang.org/x/tools/go/analysis/passes/framepointer"
	"golang.org/x/tools/go/analysis/passes/hostport"
	"golang.org/x/tools/go/analysis/passes/httpmux"
	"golang.org/x/tools/go/analysis/passes/httpresponse"
	"golang.org/x/tools/go/analysis/passes/ifaceassert"
	"golang.org/x/tools/go/analysis/passes/inline"
	"golang.org/x/tools/go/analysis/passes/loopclosure"
	"golang.org/x/tools/go/analysis/passes/lostcancel"
	"golang.org/x/tools/go/analysis/passes/nilfunc"
	"golang.org/x/tools/go/analysis/passes/nilness"
	"golang.org/x/tools/go/analysis/passes/printf"
	"golang.org/x/tools/go/analysis/passes/reflectvaluecompare"
	"golang.org/x/tools/go/analysis/passes/shift"
	"golang.org/x/tools/go/analysis/passes/sigchanyzer"
	"golang.org/x/tools/go/analysis/passes/slog"
	"golang.org/x/tools/go/analysis/passes/sortslice"
	"golang.org/x/tools/go/analysis/passes/stdmethods"
	"golang.org/x/tools/go/analysis/passes/stdversion"
	"golang.org/x/tools/go/analysis/passes/stringintconv"
	"golang.org/x/tools/go/analysis/passes/structtag"
	"golang.org/x/tools/go/analysis/passes/testinggoroutine"
	"golang.org/x/tools/go/analysis/passes/tests"
	"golang.org/x/tools/go/analysis/passes/timeformat"
	"golang.org/x/tools/go/analysis/passes/unmarshal"
	"golang.org/x/tools/go/analysis/passes/unreachable"
	"golang.org/x/tools/go/analysis/passes/unsafeptr"
	"golang.org/x/tools/go/analysis/passes/unusedresult"
	"golang.org/x/tools/go/analysis/passes/unusedwrite"
	"golang.org/x/tools/go/analysis/passes/waitgroup"
	"honnef.co/go/tools/analysis/lint"
	"honnef.co/go/tools/quickfix"
	"honnef.co/go/tools/simple"
	"honnef.co/go/tools/staticcheck"
	"honnef.co/go/tools/stylecheck"
	"honnef.co/go/tools/unused"
)

// linter is one entry of .golangci.yml's linters.enable: the name a nolint
// directive and an exclusion use, and the analyzers it reports from.
type linter struct {
	name      string
	analyzers []*analysis.Analyzer
}

func linters() []linter {
	return []linter{
		// govet with enable-all, less fieldalignment and shadow (and the
		// findcall demo, which reports nothing unless given a name).
		{"govet", []*analysis.Analyzer{
			appends.Analyzer, asmdecl.Analyzer, assign.Analyzer, atomic.Analyzer,
			atomicalign.Analyzer, bools.Analyzer, buildtag.Analyzer, cgocall.Analyzer,
			composite.Analyzer, copylock.Analyzer, deepequalerrors.Analyzer,
			defers.Analyzer, directive.Analyzer, errorsas.Analyzer,
			framepointer.Analyzer, hostport.Analyzer, httpmux.Analyzer,
			httpresponse.Analyzer, ifaceassert.Analyzer, inline.Analyzer,
			loopclosure.Analyzer, lostcancel.Analyzer, nilfunc.Analyzer,
			nilness.Analyzer, printf.Analyzer, reflectvaluecompare.Analyzer,
			shift.Analyzer, sigchanyzer.Analyzer, slog.Analyzer, sortslice.Analyzer,
			stdmethods.Analyzer, stdversion.Analyzer, stringintconv.Analyzer,
			structtag.Analyzer, testinggoroutine.Analyzer, tests.Analyzer,
			timeformat.Analyzer, unmarshal.Analyzer, unreachable.Analyzer,
			unsafeptr.Analyzer, unusedresult.Analyzer, unusedwrite.Analyzer,
			waitgroup.Analyzer,
		}},
		{"staticcheck", staticcheckAnalyzers()},
		{"errcheck", []*analysis.Analyzer{errcheckAnalyzer}},
		{"errorlint", []*analysis.Analyzer{errorlint.NewAnalyzer()}},
		{"ineffassign", []*analysis.Analyzer{ineffassign.Analyzer}},
		{"unused", []*analysis.Analyzer{unusedAnalyzer}},
		{"revive", []*analysis.Analyzer{reviveAnalyzer()}},
		{"misspell", []*analysis.Analyzer{misspellAnalyzer()}},
		{"unconvert", []*analysis.Analyzer{unconvertAnalyzer}},
		{"bodyclose", []*analysis.Analyzer{bodyclose.Analyzer}},
	}
}

// staticcheckAnalyzers are golangci-lint's staticcheck with its default
// checks: every SA, S, ST and QF check but the style checks it leaves off.
func staticcheckAnalyzers() []*analysis.Analyzer {
	off := []string{"ST1000", "ST1003", "ST1016", "ST1020", "ST1021", "ST1022"}
	var out []*analysis.Analyzer
	for _, set := range [][]*lint.Analyzer{staticcheck.Analyzers, simple.Analyzers, stylecheck.Analyzers, quickfix.Analyzers} {
		for _, a := range set {
			if !slices.Contains(off, a.Analyzer.Name) {
				out = append(out, a.Analyzer)
			}
		}
	}
	return out
}

// errcheckIgnored are the calls whose error nobody checks, as golangci-lint's
// std-error-handling exclusion preset lists them, and the fmt.Fprint family
// that .golangci.yml excludes.
var errcheckIgnored = regexp.MustCompile(`(?i)^((os\.)?std(out|err)\..*|.*Close|.*Flush|os\.Remove(All)?|.*print(f|ln)?|os\.(Un)?Setenv)$`)

// errcheckAnalyzer reports errcheck's unchecked errors, naming the call, less
// the ignored ones.
var errcheckAnalyzer = &analysis.Analyzer{
	Name:     "errcheck",
	Doc:      "reports calls whose returned error is not checked",
	Requires: []*analysis.Analyzer{errcheck.Analyzer},
	Run: func(pass *analysis.Pass) (any, error) {
		res := pass.ResultOf[errcheck.Analyzer].(errcheck.Result)
		seen := map[token.Position]bool{}
		for _, e := range res.UncheckedErrors {
			code := e.SelectorName
			if code == "" {
				code = e.FuncName
			}
			if seen[e.Pos] || errcheckIgnored.MatchString(code) || errcheckIgnored.MatchString(e.FuncName) {
				continue
			}
			seen[e.Pos] = true
			msg := "Error return value is not checked"
			if code != "" {
				msg = fmt.Sprintf("Error return value of `%s` is not checked", code)
			}
			if pos, ok := posOf(pass, e.Pos); ok {
				pass.Report(analysis.Diagnostic{Pos: pos, Message: msg})
			}
		}
		return nil, nil
	},
}

// unusedAnalyzer reports what staticcheck's unused check finds unused, as
// golangci-lint does: type parameters aside, and not an object it also
// finds used at the same place.
var unusedAnalyzer = &analysis.Analyzer{
	Name:     "unused",
	Doc:      "reports unused constants, variables, functions, types and fields",
	Requires: []*analysis.Analyzer{unused.Analyzer.Analyzer},
	Run: func(pass *analysis.Pass) (any, error) {
		res := pass.ResultOf[unused.Analyzer.Analyzer].(unused.Result)
		key := func(o unused.Object) string {
			return fmt.Sprintf("%s %d %s", o.Position.Filename, o.Position.Line, o.Name)
		}
		used := map[string]bool{}
		for _, o := range res.Used {
			used[key(o)] = true
		}
		for _, o := range res.Unused {
			if o.Kind == "type param" || used[key(o)] {
				continue
			}
			if pos, ok := posOf(pass, o.Position); ok {
				pass.Report(analysis.Diagnostic{Pos: pos, Message: fmt.Sprintf("%s %s is unused", o.Kind, o.Name)})
			}
		}
		return nil, nil
	},
}

var unconvertAnalyzer = &analysis.Analyzer{
	Name: "unconvert",
	Doc:  "reports unnecessary type conversions",
	Run: func(pass *analysis.Pass) (any, error) {
		for _, p := range unconvert.Run(pass) {
			if pos, ok := posOf(pass, p); ok {
				pass.Report(analysis.Diagnostic{Pos: pos, Message: "unnecessary conversion"})
			}
		}
		return nil, nil
	},
}

// misspellAnalyzer checks every Go file's text (code, strings and comments)
// against misspell's main word list, less the words .golangci.yml lets be.
func misspellAnalyzer() *analysis.Analyzer {
	r := &misspell.Replacer{Replacements: misspell.DictMain}
	r.RemoveRule([]string{"creater"})
	r.Compile()
	return &analysis.Analyzer{
		Name: "misspell",
		Doc:  "reports commonly misspelled English words",
		Run: func(pass *analysis.Pass) (any, error) {
			for _, f := range pass.Files {
				tf := pass.Fset.File(f.Pos())
				if tf == nil || !strings.HasSuffix(tf.Name(), ".go") {
					continue
				}
				content, err := pass.ReadFile(tf.Name())
				if err != nil {
					return nil, err
				}
				_, diffs := r.Replace(string(content))
				for _, d := range diffs {
					if d.Line < 1 || d.Line > tf.LineCount() {
						continue
					}
					pass.Report(analysis.Diagnostic{
						Pos:     tf.LineStart(d.Line) + token.Pos(d.Column),
						Message: fmt.Sprintf("`%s` is a misspelling of `%s`", d.Original, d.Corrected),
					})
				}
			}
			return nil, nil
		},
	}
}

// posOf finds the position p names (by file name and offset, or line and
// column) among the files of pass.
func posOf(pass *analysis.Pass, p token.Position) (token.Pos, bool) {
	var found token.Pos
	pass.Fset.Iterate(func(f *token.File) bool {
		if f.Name() != p.Filename {
			return true
		}
		switch {
		case p.Offset > 0 && p.Offset <= f.Size():
			found = f.Pos(p.Offset)
		case p.Line >= 1 && p.Line <= f.LineCount():
			found = f.LineStart(p.Line) + token.Pos(max(p.Column-1, 0))
		}
		return false
	})
	return found, found.IsValid()
}
