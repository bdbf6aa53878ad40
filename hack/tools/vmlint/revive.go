package main

import (
	"fmt"
	"os"
	"strings"

	reviveconfig "github.com/mgechev/revive/config"
	"github.com/mgechev/revive/lint"
	"golang.org/x/tools/go/analysis"
)

// reviveRules are .golangci.yml's revive rules.
var reviveRules = []string{
	"exported", "package-comments", "var-naming", "indent-error-flow",
	"errorf", "error-strings", "error-naming", "receiver-naming",
}

// reviveAnalyzer runs revive's rules over the Go files of each package, as
// golangci-lint does, at revive's default confidence.
func reviveAnalyzer() *analysis.Analyzer {
	conf := reviveconfig.Default()
	conf.Rules = lint.RulesConfig{}
	for _, name := range reviveRules {
		conf.Rules[name] = lint.RuleConfig{}
	}
	rules, err := reviveconfig.GetLintingRules(conf, nil)
	if err != nil {
		panic(fmt.Sprintf("revive rules: %v", err))
	}
	linter := lint.New(os.ReadFile, 0)
	return &analysis.Analyzer{
		Name: "revive",
		Doc:  "runs revive's rules " + strings.Join(reviveRules, ", "),
		Run: func(pass *analysis.Pass) (any, error) {
			var files []string
			for _, f := range pass.Files {
				if tf := pass.Fset.File(f.Pos()); tf != nil && strings.HasSuffix(tf.Name(), ".go") {
					files = append(files, tf.Name())
				}
			}
			if len(files) == 0 {
				return nil, nil
			}
			failures, err := linter.Lint([][]string{files}, rules, *conf)
			if err != nil {
				return nil, err
			}
			var internal []string
			for f := range failures {
				if f.IsInternal() {
					internal = append(internal, f.Failure)
					continue
				}
				if f.Confidence < conf.Confidence {
					continue
				}
				if pos, ok := posOf(pass, f.Position.Start); ok {
					pass.Report(analysis.Diagnostic{Pos: pos, Message: f.RuleName + ": " + f.Failure})
				}
			}
			if len(internal) > 0 {
				return nil, fmt.Errorf("revive: %s", strings.Join(internal, "; "))
			}
			return nil, nil
		},
	}
}
