package main

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// golangciConfig is the part of .golangci.yml that vmlint follows.
type golangciConfig struct {
	Linters struct {
		Default  string   `yaml:"default"`
		Enable   []string `yaml:"enable"`
		Settings struct {
			Govet struct {
				EnableAll bool     `yaml:"enable-all"`
				Disable   []string `yaml:"disable"`
			} `yaml:"govet"`
			Revive struct {
				Rules []struct {
					Name     string `yaml:"name"`
					Disabled bool   `yaml:"disabled"`
				} `yaml:"rules"`
			} `yaml:"revive"`
			Errcheck struct {
				ExcludeFunctions []string `yaml:"exclude-functions"`
			} `yaml:"errcheck"`
			Misspell struct {
				IgnoreRules []string `yaml:"ignore-rules"`
			} `yaml:"misspell"`
			Staticcheck map[string]any `yaml:"staticcheck"`
		} `yaml:"settings"`
		Exclusions struct {
			Generated string   `yaml:"generated"`
			Presets   []string `yaml:"presets"`
			Rules     []struct {
				Path    string   `yaml:"path"`
				Linters []string `yaml:"linters"`
				Text    string   `yaml:"text"`
			} `yaml:"rules"`
		} `yaml:"exclusions"`
	} `yaml:"linters"`
	Formatters struct {
		Enable []string `yaml:"enable"`
	} `yaml:"formatters"`
}

func readGolangciConfig(t *testing.T) golangciConfig {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "..", ".golangci.yml"))
	require.NoError(t, err)
	var cfg golangciConfig
	require.NoError(t, yaml.Unmarshal(data, &cfg))
	return cfg
}

// TestSameLintersAsGolangciConfig keeps vmlint and .golangci.yml in step:
// a linter, rule or exclusion added to one and not the other fails here.
func TestSameLintersAsGolangciConfig(t *testing.T) {
	cfg := readGolangciConfig(t)

	assert.Equal(t, "none", cfg.Linters.Default)
	var names []string
	for _, l := range linters() {
		names = append(names, l.name)
	}
	names = append(names, "nolintlint")
	assert.ElementsMatch(t, cfg.Linters.Enable, names, "linters.enable and vmlint's linters")

	// govet: every analyzer but the disabled ones.
	assert.True(t, cfg.Linters.Settings.Govet.EnableAll)
	for _, l := range linters() {
		if l.name != "govet" {
			continue
		}
		for _, a := range l.analyzers {
			assert.NotContains(t, cfg.Linters.Settings.Govet.Disable, a.Name)
		}
		assert.GreaterOrEqual(t, len(l.analyzers), 40, "govet enable-all: every analyzer of x/tools' passes")
	}

	// staticcheck: golangci-lint's default checks.
	assert.Empty(t, cfg.Linters.Settings.Staticcheck)

	var rules []string
	for _, r := range cfg.Linters.Settings.Revive.Rules {
		if !r.Disabled {
			rules = append(rules, r.Name)
		}
	}
	assert.ElementsMatch(t, rules, reviveRules, "revive rules")

	for _, fn := range cfg.Linters.Settings.Errcheck.ExcludeFunctions {
		assert.True(t, errcheckIgnored.MatchString(fn), "errcheck must ignore %s", fn)
	}
	assert.Equal(t, []string{"creater"}, cfg.Linters.Settings.Misspell.IgnoreRules)

	assert.Equal(t, "strict", cfg.Linters.Exclusions.Generated)
	assert.Equal(t, []string{"std-error-handling"}, cfg.Linters.Exclusions.Presets)
	require.Len(t, exclusions, len(cfg.Linters.Exclusions.Rules))
	for i, r := range cfg.Linters.Exclusions.Rules {
		e := exclusions[i]
		assert.Equal(t, "(^|/)"+r.Path, e.path.String(), "exclusion %d: path", i)
		assert.Equal(t, r.Linters, e.linters, "exclusion %d: linters", i)
		if r.Text == "" {
			assert.Nil(t, e.text, "exclusion %d: text", i)
		} else if assert.NotNil(t, e.text, "exclusion %d: text", i) {
			assert.Equal(t, r.Text, e.text.String(), "exclusion %d: text", i)
		}
	}

	assert.Equal(t, []string{"gofmt"}, cfg.Formatters.Enable, "hack/lint.sh runs gofmt -s, and no other formatter")
}

// TestStaticcheckChecks: every staticcheck check but golangci-lint's
// default exceptions.
func TestStaticcheckChecks(t *testing.T) {
	var names []string
	for _, a := range staticcheckAnalyzers() {
		names = append(names, a.Name)
	}
	assert.Contains(t, names, "SA1019")
	assert.Contains(t, names, "S1000")
	assert.Contains(t, names, "ST1005")
	assert.Contains(t, names, "QF1001")
	for _, off := range []string{"ST1000", "ST1003", "ST1016", "ST1020", "ST1021", "ST1022"} {
		assert.False(t, slices.Contains(names, off), "%s is off", off)
	}
}
