package virtualmachine

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	virtv1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
)

var updateDocs = flag.Bool("update", false, "rewrite the transition table in docs/api.md from the code")

// The markers around the generated table in docs/api.md.
const (
	tableBegin = "<!-- BEGIN transition table: generated from pkg/registry/virtualmachine/table.go by `go test ./pkg/registry/virtualmachine -run TestTransitionTableDoc -update` -->\n"
	tableEnd   = "<!-- END transition table -->\n"
)

// tableRows is the order of the table's rows.
var tableRows = []virtv1.VirtualMachineRunStrategy{
	virtv1.RunStrategyAlways, virtv1.RunStrategyRerunOnFailure, virtv1.RunStrategyManual,
	virtv1.RunStrategyHalted, virtv1.RunStrategyOnce, virtv1.RunStrategyWaitAsReceiver,
}

var tableActions = []Action{ActionStart, ActionStop, ActionRestart}

// renderTransitionTable renders commonRules and transitionTable as the
// Markdown that docs/api.md carries between its markers.
func renderTransitionTable() string {
	var b strings.Builder
	b.WriteString("Before the rules of its row, each action tries these, in every row:\n\n")
	b.WriteString("| action | rules for every strategy |\n| --- | --- |\n")
	for _, a := range tableActions {
		if rules := commonRules[a]; len(rules) > 0 {
			b.WriteString("| " + string(a) + " | " + renderRules(rules) + " |\n")
		}
	}
	b.WriteString("\n| strategy | start | stop | restart |\n| --- | --- | --- | --- |\n")
	for _, s := range tableRows {
		row := "**" + string(s) + "**"
		switch s {
		case virtv1.RunStrategyAlways:
			row += " (and `running: true`)"
		case virtv1.RunStrategyHalted:
			row += " (and `running: false`)"
		}
		cells := []string{row}
		for _, a := range tableActions {
			cells = append(cells, renderRules(transitionTable[s][a]))
		}
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	return b.String()
}

// renderRules renders one cell: its rules in order, "condition: effect".
func renderRules(rules []rule) string {
	parts := make([]string, 0, len(rules))
	for _, r := range rules {
		effect := renderEffect(r)
		switch {
		case r.when.doc != otherwise.doc:
			doc := r.when.doc
			if len(parts) > 0 {
				// It starts a sentence.
				doc = strings.ToUpper(doc[:1]) + doc[1:]
			}
			parts = append(parts, doc+": "+effect)
		case len(rules) == 1:
			parts = append(parts, effect)
		default:
			parts = append(parts, "Otherwise: "+effect)
		}
	}
	return strings.Join(parts, ". ")
}

// renderEffect renders what a rule does.
func renderEffect(r rule) string {
	if r.refuse != "" {
		return "409: `" + r.refuse + "`"
	}
	var parts []string
	if r.strategy != "" {
		parts = append(parts, "strategy := **"+string(r.strategy)+"**")
	}
	if r.scr != nil {
		names := make([]string, 0, len(r.scr))
		for _, req := range r.scr {
			names = append(names, [...]string{"Start{paused?}", "Start", "Stop", "Stop{gracePeriodSeconds?}", "Stop{forced?}"}[req])
		}
		scr := "SCR := `[" + strings.Join(names, ", ") + "]`"
		if r.keepStartFailure {
			scr += " (`startFailure` stays)"
		}
		parts = append(parts, scr)
	}
	return strings.Join(parts, ", ")
}

// TestTransitionTableDoc checks that docs/api.md carries the table the code
// uses; with -update it rewrites it there.
func TestTransitionTableDoc(t *testing.T) {
	path := filepath.Join("..", "..", "..", "docs", "api.md")
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	doc := string(raw)
	begin := strings.Index(doc, tableBegin)
	end := strings.Index(doc, tableEnd)
	require.True(t, begin >= 0 && end > begin, "docs/api.md has the table's markers")
	want := renderTransitionTable()
	if *updateDocs {
		doc = doc[:begin+len(tableBegin)] + want + doc[end:]
		require.NoError(t, os.WriteFile(path, []byte(doc), 0o644))
		return
	}
	assert.Equal(t, want, doc[begin+len(tableBegin):end], "docs/api.md's transition table is stale: run the test with -update")
}

// TestTransitionTableComplete checks that the table has a row for each
// supported strategy, and that each of its lists ends with a rule that
// always holds, so that Decide always finds one.
func TestTransitionTableComplete(t *testing.T) {
	assert.Len(t, transitionTable, len(kubevirt.SupportedRunStrategies))
	assert.ElementsMatch(t, kubevirt.SupportedRunStrategies, tableRows)
	for _, s := range kubevirt.SupportedRunStrategies {
		for _, a := range tableActions {
			rules := transitionTable[s][a]
			require.NotEmpty(t, rules, "%s %s", s, a)
			assert.Equal(t, otherwise.doc, rules[len(rules)-1].when.doc, "%s %s ends with otherwise", s, a)
		}
	}
}
