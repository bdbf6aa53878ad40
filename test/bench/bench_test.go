package bench

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func ms(n float64) time.Duration { return time.Duration(n * float64(time.Millisecond)) }

func TestPercentile(t *testing.T) {
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = ms(float64(i + 1))
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one", []time.Duration{ms(3)}, 99, ms(3)},
		{"p50 of 100", hundred, 50, ms(50)},
		{"p99 of 100", hundred, 99, ms(99)},
		{"p100 of 100", hundred, 100, ms(100)},
		{"tiny p is the first", hundred, 0.001, ms(1)},
		{"p50 of two is the first", []time.Duration{ms(1), ms(2)}, 50, ms(1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, Percentile(tt.sorted, tt.p))
		})
	}
}

func TestSummarize(t *testing.T) {
	s := Summarize([]time.Duration{ms(5), ms(1), ms(3), ms(2), ms(4)}, 2*time.Second)
	assert.Equal(t, Summary{Count: 5, Window: 2 * time.Second, P50: ms(3), P99: ms(5), Max: ms(5)}, s)
	assert.InDelta(t, 2.5, s.Rate(), 1e-9)
	assert.Zero(t, Summary{Count: 3}.Rate(), "no window, no rate")
}

func TestRatio(t *testing.T) {
	assert.InDelta(t, 2.0, Ratio(4, 2), 1e-9)
	assert.True(t, math.IsNaN(Ratio(1, 0)), "a missing peer is NaN, not a figure")
}

func TestEmit(t *testing.T) {
	tests := []struct {
		name   string
		fields []Field
		want   string
	}{
		{"no fields", nil, "BENCH x\n"},
		{"duration", []Field{F("p50", ms(1.234))}, "BENCH x p50=1.23ms\n"},
		{"small float", []Field{F("r", 1.5)}, "BENCH x r=1.50\n"},
		{"large float", []Field{F("r", 1234.56)}, "BENCH x r=1235\n"},
		{"NaN", []Field{F("r", math.NaN())}, "BENCH x r=NaN\n"},
		{"int and string", []Field{F("n", 3), F("s", "a b")}, "BENCH x n=3 s=a_b\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			Emit(&buf, "x", tt.fields...)
			assert.Equal(t, tt.want, buf.String())
		})
	}
}

func cell(method string, vms, conc int, rate float64, p99 time.Duration) CellResult {
	return CellResult{Method: method, VMs: vms, Concurrency: conc,
		Summary: Summary{Count: int(rate), Window: time.Second, P50: p99 / 2, P99: p99}}
}

func TestEmitRatiosAndGoals(t *testing.T) {
	results := []CellResult{
		cell("A", 100, 8, 1500, ms(10)), cell("B", 100, 8, 500, ms(20)),
		cell("C", 100, 8, 1000, ms(30)), cell("D", 100, 8, 3000, ms(4)),
		cell("P", 100, 8, 500, ms(40)), cell("R", 100, 8, 1250, ms(12)),
		cell("A", 100, 64, 1000, ms(50)),
	}
	var buf bytes.Buffer
	EmitRatios(&buf, results)
	EmitGoals(&buf, results)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	assert.Equal(t, []string{
		"BENCH ratio A/B vms=100 c=8 flips/s=3.00 p50=0.50 p99=0.50",
		"BENCH ratio A/C vms=100 c=8 flips/s=1.50 p50=0.33 p99=0.33",
		"BENCH ratio A/D vms=100 c=8 flips/s=0.50 p50=2.50 p99=2.50",
		"BENCH ratio A/P vms=100 c=8 flips/s=3.00 p50=0.25 p99=0.25",
		"BENCH ratio A/R vms=100 c=8 flips/s=1.20 p50=0.83 p99=0.83",
		"BENCH goal A/D>=0.5 vms=100 c=8 value=0.50 result=met",
		"BENCH goal A(c=64)/A(c=8)>=1 vms=100 c=64 value=0.67 result=missed",
		"BENCH goal p99(A)/p99(D)<=2 vms=100 c=8 value=2.50 result=missed",
		"BENCH goal A/P>=4 vms=100 c=8 value=3.00 result=missed",
		"BENCH goal A/C>=2 vms=100 c=8 value=1.50 result=missed",
		"BENCH goal A/B>=1 vms=100 c=8 value=3.00 result=met",
		"BENCH goal A>=1460/s vms=100 c=8 value=1500 result=met",
		"BENCH goal A>=2030/s vms=100 c=64 value=1000 result=missed",
	}, lines, "goals whose peer cell is missing are skipped")
}

func TestParseStatus(t *testing.T) {
	tests := []struct {
		name    string
		status  string
		want    Memory
		wantErr bool
	}{
		{"both", "Name:\tvm-apiserver\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\n", Memory{RSS: 1 << 20, Peak: 2 << 20}, false},
		{"missing", "Name:\tx\nVmRSS:\t1 kB\n", Memory{}, true},
		{"garbage", "VmRSS:\tlots\nVmHWM:\t1 kB\n", Memory{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseStatus([]byte(tt.status))
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParseStat(t *testing.T) {
	tests := []struct {
		name    string
		stat    string
		want    time.Duration
		wantErr bool
	}{
		{"plain", "42 (etcd) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 12 0", 3 * time.Second, false},
		{"name with spaces and parens", "7 (a (b) c) R 1 7 7 0 -1 0 0 0 0 0 1 2 0 0", 30 * time.Millisecond, false},
		{"short", "7 (x) R 1 2", 0, true},
		{"no name", "garbage", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseStat([]byte(tt.stat))
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestMetricSum(t *testing.T) {
	exposition := strings.Join([]string{
		"# HELP apiserver_cache_list_total Number of LIST requests served from watch cache",
		"# TYPE apiserver_cache_list_total counter",
		`apiserver_cache_list_total{index="",resource_prefix="/kubevirt.io/virtualmachines"} 3`,
		`apiserver_cache_list_total{index="f:metadata.name",resource_prefix="/x"} 2`,
		`apiserver_cache_list_total_other 100`,
		"go_memstats_mallocs_total 1.5e+06",
	}, "\n")
	tests := []struct {
		name string
		want float64
	}{
		{"apiserver_cache_list_total", 5},
		{"go_memstats_mallocs_total", 1.5e6},
		{"absent_metric", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.InDelta(t, tt.want, MetricSum([]byte(exposition), tt.name), 1e-9)
		})
	}
}

func TestEventReaderGathersLongLines(t *testing.T) {
	long := strings.Repeat("x", 3<<20)
	r := newEventReader(strings.NewReader("{\"type\":\"ADDED\"}\n" + long + "\n"))
	first, err := r.next()
	require.NoError(t, err)
	assert.Equal(t, "{\"type\":\"ADDED\"}\n", string(first))
	second, err := r.next()
	require.NoError(t, err)
	assert.Len(t, second, len(long)+1)
}

func TestUsagePerOp(t *testing.T) {
	u := Usage{ServerCPU: 10 * time.Millisecond, EtcdCPU: 4 * time.Millisecond, ServerAllocs: 100, ServerAllocBytes: 2048}
	assert.Equal(t, Usage{ServerCPU: 5 * time.Millisecond, EtcdCPU: 2 * time.Millisecond, ServerAllocs: 50, ServerAllocBytes: 1024}, u.PerOp(2))
	assert.Equal(t, Usage{}, u.PerOp(0))
	assert.Equal(t, Usage{ServerCPU: 5 * time.Millisecond}, Usage{ServerCPU: 8 * time.Millisecond}.Sub(Usage{ServerCPU: 3 * time.Millisecond}))
}

func TestParseBusy(t *testing.T) {
	tests := []struct {
		name    string
		stat    string
		want    time.Duration
		wantErr bool
	}{
		{"idle and iowait left out", "cpu  100 10 50 9000 40 5 5 0 0 0\ncpu0 1 2 3 4\n", 1700 * time.Millisecond, false},
		{"old kernel, four columns", "cpu 100 0 100 500\n", 2 * time.Second, false},
		{"not the aggregate line", "cpu0 1 2 3 4 5\n", 0, true},
		{"garbage", "cpu a b c d e\n", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseBusy([]byte(tt.stat))
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestWorkerVMs(t *testing.T) {
	tests := []struct {
		name      string
		w, c, vms int
		want      []int
	}{
		{"one worker owns all", 0, 1, 3, []int{0, 1, 2}},
		{"strided", 1, 8, 20, []int{1, 9, 17}},
		{"last of 64 on 100", 63, 64, 100, []int{63}},
		{"first of 64 on 100", 0, 64, 100, []int{0, 64}},
		{"shared single VM", 5, 8, 1, []int{0}},
		{"fewer VMs than workers", 5, 8, 3, []int{2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, WorkerVMs(tt.w, tt.c, tt.vms))
		})
	}
	// Every VM is owned by exactly one worker when there are enough VMs.
	seen := map[int]int{}
	for w := range 64 {
		for _, vm := range WorkerVMs(w, 64, 100) {
			seen[vm]++
		}
	}
	assert.Len(t, seen, 100)
	for vm, n := range seen {
		assert.Equal(t, 1, n, "VM %d", vm)
	}
}
