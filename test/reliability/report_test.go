package reliability

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// report gathers the figures of a run for docs/reliability.md: what ran,
// what was injected, what was tried, and what was lost.
type report struct {
	mu sync.Mutex

	Mode     string `json:"mode"`
	Duration string `json:"duration"`
	Passed   bool   `json:"passed"`
	Seed     uint64 `json:"seed"`

	Histories  []historyFigures `json:"histories"`
	Faults     map[string]int   `json:"faults"`
	BadInputs  map[string]int   `json:"badInputs"`
	Security   map[string]int   `json:"securityChecks"`
	ErrorShape map[string]int   `json:"errorsSeenUnderFaults"`
	Lost       int              `json:"lost"`
	Notes      []string         `json:"notes"`
}

// historyFigures are the figures of one checked history.
type historyFigures struct {
	Name       string         `json:"name"`
	Operations int            `json:"operations"`
	Outcomes   map[string]int `json:"outcomes"`
	Ledger     int            `json:"ledgerCreatesAcknowledged"`
	Result     string         `json:"porcupine"`
	Lost       int            `json:"lost"`
}

// figures is the report of this run.
var figures = &report{
	Faults:     map[string]int{},
	BadInputs:  map[string]int{},
	Security:   map[string]int{},
	ErrorShape: map[string]int{},
}

func (r *report) addHistory(h historyFigures) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Histories = append(r.Histories, h)
	r.Lost += h.Lost
}

func (r *report) fault(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Faults[name]++
}

func (r *report) badInput(category string, n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.BadInputs[category] += n
}

func (r *report) security(check string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Security[check]++
}

func (r *report) errorShape(shape string, n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ErrorShape[shape] += n
}

func (r *report) note(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

func (r *report) finish(d time.Duration, short, passed bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Mode = "full"
	if short {
		r.Mode = "short"
	}
	r.Duration = d.Round(time.Second).String()
	r.Passed = passed
}

// write stores report.json and report.md in dir.
func (r *report) write(dir string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "report.json"), data, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "report.md"), []byte(r.markdown()), 0o644)
}

// markdown renders the figures as the tables docs/reliability.md carries.
func (r *report) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Run: %s form, %s, seed %d, %s.\n\n", r.Mode, r.Duration, r.Seed, map[bool]string{true: "passed", false: "FAILED"}[r.Passed])
	total, acked := 0, 0
	b.WriteString("| history | operations | outcomes | ledger creates acknowledged | porcupine | lost |\n| --- | ---: | --- | ---: | --- | ---: |\n")
	for _, h := range r.Histories {
		total += h.Operations
		acked += h.Ledger
		fmt.Fprintf(&b, "| %s | %d | %s | %d | %s | %d |\n", h.Name, h.Operations, renderCounts(h.Outcomes), h.Ledger, h.Result, h.Lost)
	}
	fmt.Fprintf(&b, "\nOperations recorded and checked: %d (plus %d acknowledged ledger creates). Lost: %d.\n\n", total, acked, r.Lost)
	fmt.Fprintf(&b, "Faults injected: %s.\n\n", renderCounts(r.Faults))
	fmt.Fprintf(&b, "Error answers seen under faults: %s.\n\n", renderCounts(r.ErrorShape))
	fmt.Fprintf(&b, "Bad inputs tried (%d): %s.\n\n", sum(r.BadInputs), renderCounts(r.BadInputs))
	fmt.Fprintf(&b, "Security checks (%d): %s.\n\n", sum(r.Security), renderCounts(r.Security))
	if len(r.Notes) > 0 {
		b.WriteString("Observations:\n")
		for _, n := range r.Notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
	}
	return b.String()
}

func renderCounts(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s: %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
