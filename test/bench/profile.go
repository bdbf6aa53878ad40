package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ProfileCell runs cell while the server records a CPU profile and an
// allocation profile of the measured window (/debug/pprof, which the server
// serves while --profiling is on, the default). The profiles are written to
// dir as <prefix>-cpu.pprof and <prefix>-allocs.pprof; read them with
// `go tool pprof -top bin/vm-apiserver FILE`.
func ProfileCell(ctx context.Context, c *Clients, cell Cell, dir, prefix string) (CellResult, []string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return CellResult{}, nil, err
	}
	seconds := strconv.Itoa(max(1, int(math.Round(cell.Duration.Seconds()))))
	profiles := []struct{ path, file string }{
		{"/debug/pprof/profile", filepath.Join(dir, prefix+"-cpu.pprof")},
		// With ?seconds= the allocation profile is the difference over the
		// window: only what the cell allocated.
		{"/debug/pprof/allocs", filepath.Join(dir, prefix+"-allocs.pprof")},
	}
	errs := make([]error, len(profiles))
	var wg sync.WaitGroup
	for i, p := range profiles {
		wg.Go(func() {
			// The profiles cover the window, not the warmup.
			select {
			case <-time.After(cell.Warmup):
			case <-ctx.Done():
				errs[i] = ctx.Err()
				return
			}
			data, err := c.REST.Get().AbsPath(p.path).Param("seconds", seconds).DoRaw(ctx)
			if err != nil {
				errs[i] = fmt.Errorf("fetching %s: %w", p.path, err)
				return
			}
			errs[i] = os.WriteFile(p.file, data, 0o644)
		})
	}
	r, err := cell.Run(ctx)
	wg.Wait()
	if err != nil {
		return r, nil, err
	}
	files := make([]string, 0, len(profiles))
	for i, p := range profiles {
		if errs[i] != nil {
			return r, nil, errs[i]
		}
		files = append(files, p.file)
	}
	return r, files, nil
}

// ProfileDuring runs run while the server records a CPU profile of its
// first seconds, and writes the profile to file. The profile is for the
// shares of the server's CPU, so run should last longer than seconds.
func ProfileDuring[T any](ctx context.Context, c *Clients, seconds int, file string, run func() (T, error)) (T, error) {
	var data []byte
	var profErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		data, profErr = c.REST.Get().AbsPath("/debug/pprof/profile").Param("seconds", strconv.Itoa(seconds)).DoRaw(ctx)
	})
	r, err := run()
	wg.Wait()
	if err != nil {
		return r, err
	}
	if profErr != nil {
		return r, fmt.Errorf("fetching the CPU profile: %w", profErr)
	}
	return r, os.WriteFile(file, data, 0o644)
}

// SaveHeapProfile writes the server's heap profile (in-use and allocated
// since start) to file: what holds the memory after a phase.
func SaveHeapProfile(ctx context.Context, c *Clients, file string) error {
	data, err := c.Get(ctx, "/debug/pprof/heap")
	if err != nil {
		return fmt.Errorf("fetching the heap profile: %w", err)
	}
	return os.WriteFile(file, data, 0o644)
}

// MetricSum adds up the samples of the Prometheus metric name (all label
// sets) in a text exposition.
func MetricSum(exposition []byte, name string) float64 {
	var sum float64
	sc := bufio.NewScanner(bytes.NewReader(exposition))
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, name)
		if !ok || rest == "" || (rest[0] != '{' && rest[0] != ' ') {
			continue
		}
		// The value is the last space-separated token (no timestamps here).
		fields := strings.Fields(rest[strings.LastIndexByte(rest, '}')+1:])
		if len(fields) == 0 {
			continue
		}
		if v, err := strconv.ParseFloat(fields[0], 64); err == nil {
			sum += v
		}
	}
	return sum
}

// Metric scrapes the server's /metrics and sums the metric name.
func (c *Clients) Metric(ctx context.Context, name string) (float64, error) {
	data, err := c.Get(ctx, "/metrics")
	if err != nil {
		return 0, err
	}
	return MetricSum(data, name), nil
}
