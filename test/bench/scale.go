package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	kubevirtv1 "kubevirt.io/api/core/v1"
)

// ScaleVMName names the i-th VM of the scale figures.
func ScaleVMName(i int) string { return fmt.Sprintf("vm-%06d", i) }

// CreateVMs creates n copies of template, vm-000000 ..., in ns with conc
// workers, and returns the create latencies over the whole run. VMs that
// exist already count as created, so an interrupted run can resume.
// progress, if not nil, gets a line every tenth of the way.
func CreateVMs(ctx context.Context, c *Clients, template *kubevirtv1.VirtualMachine, ns string, n, conc int, progress io.Writer) (Summary, error) {
	vms := c.VMs.KubevirtV1().VirtualMachines(ns)
	var next, done atomic.Int64
	samples := make([][]time.Duration, conc)
	errs := make([]error, conc)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for w := range conc {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				_, err := vms.Create(ctx, NewVM(template, ns, ScaleVMName(i)), metav1.CreateOptions{})
				if err != nil && !apierrors.IsAlreadyExists(err) {
					errs[w] = fmt.Errorf("creating %s: %w", ScaleVMName(i), err)
					cancel()
					return
				}
				samples[w] = append(samples[w], time.Since(t0))
				if d := done.Add(1); progress != nil && n >= 10 && d%int64(n/10) == 0 {
					fmt.Fprintf(progress, "created %d/%d VMs in %s\n", d, n, time.Since(start).Round(time.Second))
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := errors.Join(errs...); err != nil {
		return Summary{}, err
	}
	var all []time.Duration
	for _, s := range samples {
		all = append(all, s...)
	}
	return Summarize(all, elapsed), nil
}

// ListResult is the measure of one kind of LIST.
type ListResult struct {
	// Summary has one sample per request: a whole LIST, or one page.
	Summary
	// Total is the time the whole walk took (all pages, or all repeats).
	Total time.Duration
	// Items and Bytes are those of one full walk.
	Items int
	Bytes int64
	// Requests is how many requests were sent.
	Requests int
}

// listHead is the part of a list body the harness reads: the items, left
// undecoded, and the continue token.
type listHead struct {
	Metadata struct {
		Continue string `json:"continue"`
	} `json:"metadata"`
	Items []json.RawMessage `json:"items"`
}

// listPage sends one LIST of ns and returns the body and the time until its
// last byte arrived: the server's work plus the transfer, without decoding.
func (c *Clients) listPage(ctx context.Context, ns string, params map[string]string, buf *bytes.Buffer) (time.Duration, error) {
	req := c.REST.Get().Namespace(ns).Resource("virtualmachines")
	for k, v := range params {
		req = req.Param(k, v)
	}
	buf.Reset()
	t0 := time.Now()
	body, err := req.Stream(ctx)
	if err != nil {
		return 0, err
	}
	defer body.Close()
	if _, err := buf.ReadFrom(body); err != nil {
		return 0, err
	}
	return time.Since(t0), nil
}

// FullList LISTs all VMs of ns in one request, reps times, at the given
// resourceVersion ("" is a consistent read, "0" any cached state).
func FullList(ctx context.Context, c *Clients, ns, resourceVersion string, reps int) (ListResult, error) {
	params := map[string]string{}
	if resourceVersion != "" {
		params["resourceVersion"] = resourceVersion
	}
	var r ListResult
	var buf bytes.Buffer
	samples := make([]time.Duration, 0, reps)
	for range reps {
		d, err := c.listPage(ctx, ns, params, &buf)
		if err != nil {
			return r, err
		}
		samples = append(samples, d)
		r.Total += d
	}
	var head listHead
	if err := json.Unmarshal(buf.Bytes(), &head); err != nil {
		return r, fmt.Errorf("decoding the list: %w", err)
	}
	r.Items, r.Bytes, r.Requests = len(head.Items), int64(buf.Len()), reps
	r.Summary = Summarize(samples, r.Total)
	return r, nil
}

// PagedList walks all VMs of ns in pages of limit, as kubectl and
// informers do, and returns one sample per page.
func PagedList(ctx context.Context, c *Clients, ns string, limit int) (ListResult, error) {
	var r ListResult
	var buf bytes.Buffer
	var samples []time.Duration
	params := map[string]string{"limit": strconv.Itoa(limit)}
	for {
		d, err := c.listPage(ctx, ns, params, &buf)
		if err != nil {
			return r, err
		}
		samples = append(samples, d)
		r.Total += d
		r.Bytes += int64(buf.Len())
		var head listHead
		if err := json.Unmarshal(buf.Bytes(), &head); err != nil {
			return r, fmt.Errorf("decoding a page: %w", err)
		}
		r.Items += len(head.Items)
		if head.Metadata.Continue == "" {
			break
		}
		params["continue"] = head.Metadata.Continue
	}
	r.Requests = len(samples)
	r.Summary = Summarize(samples, r.Total)
	return r, nil
}

// watchStream opens a watch of ns with params and returns the body once
// the response headers have arrived, i.e. once the server has started it.
func (c *Clients) watchStream(ctx context.Context, ns string, params map[string]string) (io.ReadCloser, error) {
	req := c.REST.Get().Namespace(ns).Resource("virtualmachines").Param("watch", "true")
	for k, v := range params {
		req = req.Param(k, v)
	}
	return req.Stream(ctx)
}

// eventReader reads watch events. The server writes one JSON event per
// line; the harness counts lines instead of decoding 100,000 objects, so
// that the client is not what is measured.
type eventReader struct{ r *bufio.Reader }

func newEventReader(r io.Reader) *eventReader { return &eventReader{bufio.NewReaderSize(r, 1<<20)} }

// next reads one event and returns its line.
func (e *eventReader) next() ([]byte, error) {
	line, err := e.r.ReadSlice('\n')
	if !errors.Is(err, bufio.ErrBufferFull) {
		return line, err
	}
	// An event longer than the buffer: gather it.
	long := append([]byte(nil), line...)
	for errors.Is(err, bufio.ErrBufferFull) {
		line, err = e.r.ReadSlice('\n')
		long = append(long, line...)
	}
	return long, err
}

// WatchResult is the measure of watches on a namespace.
type WatchResult struct {
	// Established: the watch from the current resourceVersion, request to
	// response headers, one sample per repeat.
	Established Summary
	// Event: a write (an action on one VM) until its event arrives on the
	// established watch.
	Event Summary
	// InitialFirst and InitialAll: a watch without resourceVersion, which
	// first replays every VM as ADDED; the time to the first and to the
	// last of them.
	InitialFirst, InitialAll time.Duration
	// WatchList: a streaming list (sendInitialEvents=true, as informers
	// use), until the bookmark that ends the initial events. WatchListErr
	// says why it could not be measured: it needs the watch cache.
	WatchList    time.Duration
	WatchListErr error
	// Items is how many VMs the initial events carried.
	Items int
}

// Watches measures the watch figures on ns, which holds n VMs, flipping
// the VM named probe for the event latency.
func Watches(ctx context.Context, c *Clients, ns, probe string, n, reps int) (WatchResult, error) {
	var r WatchResult
	flip := &actionMethod{vms: c.VMs.KubevirtV1().VirtualMachines(ns), names: []string{probe}, running: make([]atomic.Bool, 1)}
	if err := flip.Prepare(ctx); err != nil {
		return r, err
	}
	var established, event []time.Duration
	for range reps {
		head, err := c.REST.Get().Namespace(ns).Resource("virtualmachines").Param("limit", "1").DoRaw(ctx)
		if err != nil {
			return r, err
		}
		var list metav1.ListMeta
		var wrapper struct {
			Metadata *metav1.ListMeta `json:"metadata"`
		}
		wrapper.Metadata = &list
		if err := json.Unmarshal(head, &wrapper); err != nil {
			return r, err
		}
		d, e, err := watchOnce(ctx, c, ns, list.ResourceVersion, flip)
		if err != nil {
			return r, err
		}
		established, event = append(established, d), append(event, e)
	}
	r.Established = Summarize(established, 0)
	r.Event = Summarize(event, 0)

	var err error
	if r.InitialFirst, r.InitialAll, r.Items, err = watchInitial(ctx, c, ns, n); err != nil {
		return r, err
	}
	r.WatchList, r.WatchListErr = watchList(ctx, c, ns)
	return r, ctx.Err()
}

// watchOnce opens a watch at rv, then flips the probe VM and waits for
// its event.
func watchOnce(ctx context.Context, c *Clients, ns, rv string, flip *actionMethod) (time.Duration, time.Duration, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	t0 := time.Now()
	body, err := c.watchStream(ctx, ns, map[string]string{"resourceVersion": rv})
	if err != nil {
		return 0, 0, err
	}
	defer body.Close()
	established := time.Since(t0)
	t1 := time.Now()
	if _, err := flip.Flip(ctx, 0); err != nil {
		return 0, 0, err
	}
	if _, err := newEventReader(body).next(); err != nil {
		return 0, 0, fmt.Errorf("reading the watch event: %w", err)
	}
	return established, time.Since(t1), nil
}

// watchInitial opens a watch with no resourceVersion and reads the n
// ADDED events it begins with.
func watchInitial(ctx context.Context, c *Clients, ns string, n int) (first, all time.Duration, items int, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	t0 := time.Now()
	body, err := c.watchStream(ctx, ns, nil)
	if err != nil {
		return 0, 0, 0, err
	}
	defer body.Close()
	events := newEventReader(body)
	for items < n {
		if _, err := events.next(); err != nil {
			return 0, 0, items, fmt.Errorf("after %d initial events: %w", items, err)
		}
		if items++; items == 1 {
			first = time.Since(t0)
		}
	}
	return first, time.Since(t0), items, nil
}

// watchList runs a streaming list and returns the time until the bookmark
// annotated k8s.io/initial-events-end.
func watchList(ctx context.Context, c *Clients, ns string) (time.Duration, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	t0 := time.Now()
	body, err := c.watchStream(ctx, ns, map[string]string{
		"sendInitialEvents": "true", "resourceVersionMatch": "NotOlderThan", "allowWatchBookmarks": "true",
	})
	if err != nil {
		return 0, err
	}
	defer body.Close()
	events := newEventReader(body)
	marker := []byte(`"k8s.io/initial-events-end":"true"`)
	for {
		line, err := events.next()
		if err != nil {
			return 0, fmt.Errorf("no initial-events-end bookmark: %w", err)
		}
		if bytes.Contains(line, []byte(`"BOOKMARK"`)) && bytes.Contains(line, marker) {
			return time.Since(t0), nil
		}
	}
}

// StartupResult is how long a server took to come up, counted from since.
type StartupResult struct {
	// Ready is when /readyz first answered 200.
	Ready time.Duration
	// Listed is when a full LIST at resourceVersion 0 (from the watch
	// cache) first returned all the VMs expected.
	Listed time.Duration
	// Items is how many VMs that LIST returned.
	Items int
}

// WaitStartup polls the server every 10 ms until /readyz passes and, if
// wantItems > 0, until a LIST of ns at resourceVersion 0 returns that many
// VMs. since is when the server process was started.
func WaitStartup(ctx context.Context, c *Clients, t Target, since time.Time, ns string, wantItems int) (StartupResult, error) {
	var r StartupResult
	err := wait.PollUntilContextCancel(ctx, 10*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		ok, err := readyz(ctx, c.HTTP, t.Server)
		return err == nil && ok, nil
	})
	if err != nil {
		return r, fmt.Errorf("waiting for /readyz: %w", err)
	}
	r.Ready = time.Since(since)
	if wantItems <= 0 {
		return r, nil
	}
	err = wait.PollUntilContextCancel(ctx, 10*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		var buf bytes.Buffer
		if _, err := c.listPage(ctx, ns, map[string]string{"resourceVersion": "0"}, &buf); err != nil {
			return false, nil
		}
		var head listHead
		if err := json.Unmarshal(buf.Bytes(), &head); err != nil || len(head.Items) < wantItems {
			return false, nil
		}
		r.Listed, r.Items = time.Since(since), len(head.Items)
		return true, nil
	})
	if err != nil {
		return r, fmt.Errorf("waiting for %d VMs in the watch cache: %w", wantItems, err)
	}
	return r, nil
}

// readyz reports whether GET /readyz answers 200.
func readyz(ctx context.Context, hc *http.Client, server string) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, server+"/readyz", nil)
	if err != nil {
		return false, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode == http.StatusOK, nil
}

// WaitFiles waits until the standalone credentials exist in dir: a server
// writes them at start-up, before it serves.
func WaitFiles(ctx context.Context, t Target) error {
	cfg := t.Config()
	err := wait.PollUntilContextCancel(ctx, 10*time.Millisecond, true, func(context.Context) (bool, error) {
		for _, f := range []string{cfg.CAFile, cfg.CertFile, cfg.KeyFile} {
			if _, err := os.Stat(f); err != nil {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("waiting for the credentials in %s: %w", t.DataDir, err)
	}
	return nil
}
