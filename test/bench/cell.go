package bench

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"
)

// maxErrorsPerWorker ends a worker that keeps failing.
const maxErrorsPerWorker = 20

// Cell is one measurement: a method at a concurrency over some VMs.
type Cell struct {
	Method      Method
	VMs         int
	Concurrency int
	// Warmup runs before the measured window; its flips are not counted.
	Warmup time.Duration
	// Duration is the measured window.
	Duration time.Duration
	// Meter, if set, samples the processes' usage at both ends of the window.
	Meter *Meter
	// Random makes each worker draw its VM at random from all of them for
	// every flip, so that workers collide on VMs; otherwise each worker
	// flips its own VMs in turn (see WorkerVMs).
	Random bool
}

// WorkerVMs are the VMs worker w of c flips in turn when the workers do
// not draw at random: VM i belongs to worker i mod c, so that no two
// workers share a VM. With fewer VMs than workers, worker w takes VM
// w mod vms and shares it: the 1-VM cells measure contention on one object.
func WorkerVMs(w, c, vms int) []int {
	if vms < c {
		return []int{w % vms}
	}
	var own []int
	for i := w; i < vms; i += c {
		own = append(own, i)
	}
	return own
}

// CellResult is what a cell measured. A flip is counted, with its latency,
// when it completes inside the window; the latency of a flip includes its
// retries.
type CellResult struct {
	Method      string
	VMs         int
	Concurrency int
	Summary
	// Retries counts the requests (or etcd round trips) repeated after a
	// conflict, over the window.
	Retries int
	// Errors counts flips that failed; FirstError is the first of them.
	Errors     int
	FirstError error
	// Usage is what the processes spent in the window (zero without a Meter).
	Usage Usage
}

// Run runs the cell: Concurrency workers flipping VMs back to back until
// the window closes.
func (c Cell) Run(ctx context.Context) (CellResult, error) {
	if err := c.Method.Prepare(ctx); err != nil {
		return CellResult{}, err
	}
	start := time.Now()
	from := start.Add(c.Warmup)
	until := from.Add(c.Duration)

	type tally struct {
		samples []time.Duration
		retries int
		errors  int
		first   error
	}
	tallies := make([]tally, c.Concurrency)
	var wg sync.WaitGroup
	var usage Usage
	var usageErr error
	if c.Meter != nil {
		wg.Go(func() { usage, usageErr = c.meter(ctx, from, until) })
	}
	for w := range c.Concurrency {
		wg.Go(func() {
			// A fixed seed per worker: every method sees the same sequence.
			rng := rand.New(rand.NewPCG(uint64(w), uint64(c.VMs)))
			own := WorkerVMs(w, c.Concurrency, c.VMs)
			t := &tallies[w]
			for k := 0; ctx.Err() == nil; k++ {
				vm := own[k%len(own)]
				if c.Random {
					vm = rng.IntN(c.VMs)
				}
				t0 := time.Now()
				if !t0.Before(until) {
					return
				}
				retries, err := c.Method.Flip(ctx, vm)
				t1 := time.Now()
				if t1.Before(from) || t1.After(until) {
					continue
				}
				t.retries += retries
				if err != nil {
					if t.first == nil {
						t.first = err
					}
					// Past a few errors the cell measures nothing useful:
					// stop rather than spin on a broken server.
					if t.errors++; t.errors >= maxErrorsPerWorker {
						return
					}
					continue
				}
				t.samples = append(t.samples, t1.Sub(t0))
			}
		})
	}
	wg.Wait()

	r := CellResult{Method: c.Method.Name(), VMs: c.VMs, Concurrency: c.Concurrency}
	var all []time.Duration
	for _, t := range tallies {
		all = append(all, t.samples...)
		r.Retries += t.retries
		r.Errors += t.errors
		if r.FirstError == nil {
			r.FirstError = t.first
		}
	}
	r.Summary = Summarize(all, c.Duration)
	r.Usage = usage
	if usageErr != nil {
		return r, usageErr
	}
	return r, ctx.Err()
}

// meter samples the usage at from and at until and returns the difference.
func (c Cell) meter(ctx context.Context, from, until time.Time) (Usage, error) {
	var samples [2]Usage
	for i, at := range []time.Time{from, until} {
		t := time.NewTimer(time.Until(at))
		select {
		case <-ctx.Done():
			t.Stop()
			return Usage{}, ctx.Err()
		case <-t.C:
		}
		u, err := c.Meter.Sample(ctx)
		if err != nil {
			return Usage{}, err
		}
		samples[i] = u
	}
	return samples[1].Sub(samples[0]), nil
}
