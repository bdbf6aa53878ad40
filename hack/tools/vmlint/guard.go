package main

import (
	"fmt"
	"go/ast"
	"go/token"
	"regexp"
	"strings"
	"sync"

	"golang.org/x/tools/go/analysis"
)

// exclusion drops a linter's diagnostics in the files whose path matches, and
// whose message matches text when text is set (.golangci.yml's
// linters.exclusions.rules).
type exclusion struct {
	path    *regexp.Regexp
	linters []string
	text    *regexp.Regexp
}

var exclusions = []exclusion{
	// Generated code follows its generators' conventions.
	{path: regexp.MustCompile(`(^|/)pkg/generated/`), linters: []string{"revive", "unused", "staticcheck"}},
	// Conversion functions are named by conversion-gen's convention.
	{path: regexp.MustCompile(`(^|/)pkg/apis/.*/conversion\.go`), linters: []string{"revive"}, text: regexp.MustCompile(`var-naming|underscore`)},
}

// guard makes a's diagnostics pass through the exclusions and the nolint
// directives, and names a's check at their end.
func guard(a *analysis.Analyzer, linter string) {
	run := a.Run
	a.Run = func(pass *analysis.Pass) (any, error) {
		report := pass.Report
		pass.Report = func(d analysis.Diagnostic) {
			if keep(pass, linter, d) {
				d.Message += " (" + a.Name + ")"
				report(d)
			}
		}
		return run(pass)
	}
}

// keep says whether linter reports d: not in a generated file (one with Go's
// standard "Code generated ... DO NOT EDIT." line), not excluded, not
// silenced by a nolint directive.
func keep(pass *analysis.Pass, linter string, d analysis.Diagnostic) bool {
	pos := pass.Fset.Position(d.Pos)
	file := fileOf(pass, d.Pos)
	if file != nil && ast.IsGenerated(file) {
		return false
	}
	for _, e := range exclusions {
		if e.path.MatchString(pos.Filename) && contains(e.linters, linter) && (e.text == nil || e.text.MatchString(d.Message)) {
			return false
		}
	}
	if file == nil {
		return true
	}
	for _, n := range nolints(pass.Fset, file) {
		if pos.Line >= n.from && pos.Line <= n.to && n.covers(linter) {
			n.markUsed(linter)
			return false
		}
	}
	return true
}

func fileOf(pass *analysis.Pass, pos token.Pos) *ast.File {
	for _, f := range pass.Files {
		if f.FileStart <= pos && pos <= f.FileEnd {
			return f
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// A nolint value is one `//nolint` directive: the lines it covers and the
// linters it names (none: all of them).
type nolint struct {
	pos      token.Pos
	from, to int
	linters  []string
	spaced   bool // written `// nolint`: golangci-lint ignores it

	mu   sync.Mutex
	used map[string]bool
}

func (n *nolint) covers(linter string) bool {
	return !n.spaced && (len(n.linters) == 0 || contains(n.linters, linter))
}

func (n *nolint) markUsed(linter string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.used[linter] = true
}

func (n *nolint) wasUsed(linter string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.used[linter] || (len(n.linters) == 0 && len(n.used) > 0)
}

var nolintRE = regexp.MustCompile(`^//(\s*)nolint(:([\w-]+(,\s*[\w-]+)*))?\b`)

var (
	nolintMu    sync.Mutex
	nolintCache = map[*ast.File][]*nolint{}
)

// nolints returns the directives of file, parsed once per file: every
// analyzer of the process shares them, so that nolintlint sees which were
// used.
func nolints(fset *token.FileSet, file *ast.File) []*nolint {
	nolintMu.Lock()
	defer nolintMu.Unlock()
	if ns, ok := nolintCache[file]; ok {
		return ns
	}
	var ns []*nolint
	for _, group := range file.Comments {
		for _, c := range group.List {
			m := nolintRE.FindStringSubmatch(c.Text)
			if m == nil {
				continue
			}
			line := fset.Position(c.Pos()).Line
			n := &nolint{pos: c.Pos(), from: line, to: line, spaced: m[1] != "", used: map[string]bool{}}
			if m[3] != "" {
				for _, name := range strings.Split(m[3], ",") {
					n.linters = append(n.linters, strings.TrimSpace(name))
				}
			}
			if alone(fset, file, c) {
				// On a line of its own: the node that starts on the next line.
				n.to = extentFrom(fset, file, line+1)
			}
			ns = append(ns, n)
		}
	}
	nolintCache[file] = ns
	return ns
}

// alone says whether nothing but the comment c is on its line.
func alone(fset *token.FileSet, file *ast.File, c *ast.Comment) bool {
	line := fset.Position(c.Pos()).Line
	lonely := true
	ast.Inspect(file, func(n ast.Node) bool {
		if n == nil || !lonely {
			return false
		}
		if _, ok := n.(*ast.File); ok {
			return true
		}
		if _, ok := n.(*ast.CommentGroup); ok {
			return false
		}
		start, end := fset.Position(n.Pos()).Line, fset.Position(n.End()).Line
		if start > line || end < line {
			return start <= line
		}
		// n spans the line: it shares it only if one of its tokens is on it.
		if start == line || end == line && n.End() <= c.Pos() {
			lonely = false
			return false
		}
		return true
	})
	return lonely
}

// extentFrom returns the last line of the outermost node that starts on line,
// or line when none does.
func extentFrom(fset *token.FileSet, file *ast.File, line int) int {
	last := line
	ast.Inspect(file, func(n ast.Node) bool {
		if n == nil {
			return false
		}
		if _, ok := n.(*ast.File); ok {
			return true
		}
		start := fset.Position(n.Pos()).Line
		if start == line {
			if end := fset.Position(n.End()).Line; end > last {
				last = end
			}
			return false
		}
		return start < line && fset.Position(n.End()).Line >= line
	})
	return last
}

// nolintlintAnalyzer runs after every other analyzer of the package and
// reports the nolint directives that silence nothing: written `// nolint`, or
// naming a linter of vmlint's that reported nothing there.
func nolintlintAnalyzer(roots []*analysis.Analyzer) *analysis.Analyzer {
	ours := map[string]bool{}
	for _, l := range linters() {
		ours[l.name] = true
	}
	return &analysis.Analyzer{
		Name:     "nolintlint",
		Doc:      "reports nolint directives that are malformed or silence nothing",
		Requires: roots,
		Run: func(pass *analysis.Pass) (any, error) {
			for _, f := range pass.Files {
				if ast.IsGenerated(f) {
					continue
				}
				for _, n := range nolints(pass.Fset, f) {
					if n.spaced {
						pass.Report(analysis.Diagnostic{Pos: n.pos, Message: "directive `// nolint` should be written as `//nolint` (nolintlint)"})
						continue
					}
					for _, name := range n.linters {
						if ours[name] && !n.wasUsed(name) {
							pass.Report(analysis.Diagnostic{Pos: n.pos, Message: fmt.Sprintf("directive `//nolint:%s` silences nothing (nolintlint)", name)})
						}
					}
				}
			}
			return nil, nil
		},
	}
}
