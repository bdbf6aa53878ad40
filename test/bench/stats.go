package bench

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Summary condenses the latencies of the operations completed in a window.
type Summary struct {
	// Count is the number of operations completed in the window.
	Count int
	// Window is how long the window lasted.
	Window time.Duration
	// P50, P99 and Max are latencies by nearest rank.
	P50, P99, Max time.Duration
}

// Rate is the number of operations per second over the window.
func (s Summary) Rate() float64 {
	if s.Window <= 0 {
		return 0
	}
	return float64(s.Count) / s.Window.Seconds()
}

// Summarize sorts samples in place and condenses them.
func Summarize(samples []time.Duration, window time.Duration) Summary {
	slices.Sort(samples)
	s := Summary{Count: len(samples), Window: window}
	if len(samples) > 0 {
		s.P50 = Percentile(samples, 50)
		s.P99 = Percentile(samples, 99)
		s.Max = samples[len(samples)-1]
	}
	return s
}

// Percentile returns the nearest-rank p-th percentile of sorted, or 0 when
// sorted is empty. p is in (0, 100].
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// Ratio is a/b, or NaN when b is zero, so that a missing peer shows as NaN
// instead of a made-up figure.
func Ratio(a, b float64) float64 {
	if b == 0 {
		return math.NaN()
	}
	return a / b
}

// Field is one key=value of a printed figure.
type Field struct {
	Key   string
	Value string
}

// F formats value for a figure line: durations in milliseconds, floats with
// two decimals (one above 100), everything else with %v.
func F(key string, value any) Field {
	var s string
	switch v := value.(type) {
	case time.Duration:
		s = Millis(v)
	case float64:
		switch {
		case math.IsNaN(v):
			s = "NaN"
		case math.Abs(v) >= 100:
			s = strconv.FormatFloat(v, 'f', 0, 64)
		default:
			s = strconv.FormatFloat(v, 'f', 2, 64)
		}
	default:
		s = fmt.Sprint(v)
	}
	// A value is one token: the lines are meant for grep and awk.
	return Field{Key: key, Value: strings.ReplaceAll(s, " ", "_")}
}

// Millis prints d in milliseconds with two decimals and the unit.
func Millis(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 2, 64) + "ms"
}

// Emit writes one figure line: "BENCH <figure> key=value ...".
func Emit(w io.Writer, figure string, fields ...Field) {
	var b strings.Builder
	b.WriteString("BENCH ")
	b.WriteString(figure)
	for _, f := range fields {
		b.WriteByte(' ')
		b.WriteString(f.Key)
		b.WriteByte('=')
		b.WriteString(f.Value)
	}
	b.WriteByte('\n')
	_, _ = io.WriteString(w, b.String())
}
