package reliability

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/flowcontrol"

	"github.com/vm-apiserver/vm-apiserver/test/framework"
)

// suiteSeed seeds every random choice of the run; RELIABILITY_SEED
// reproduces one.
var suiteSeed = func() uint64 {
	if s, err := strconv.ParseUint(os.Getenv("RELIABILITY_SEED"), 10, 64); err == nil {
		return s
	}
	return uint64(time.Now().UnixNano())
}()

// rngFor is a random source for one named actor, derived from the seed.
func rngFor(name string) *rand.Rand {
	h := fnv.New64a()
	_, _ = h.Write([]byte(name))
	return rand.New(rand.NewPCG(suiteSeed, h.Sum64()))
}

// recorder keeps the history of one scenario: each call with its start and
// end time and its answer.
type recorder struct {
	mu    sync.Mutex
	epoch time.Time
	ops   []porcupine.Operation
	// shapes counts the error answers (not 2xx, not 409) by their shape.
	shapes map[string]int
	// noAnswer are calls the server dropped (connection closed, HTTP/2
	// stream reset) instead of answering; wrongCode are answers that are not
	// a metav1.Status 503, 504 or 429. The etcd fault test requires neither.
	noAnswer, wrongCode []string
	// slowest is the longest time any request took to be answered.
	slowest time.Duration
	// spans are when each call was in flight, and how long its request
	// took, for the figures of one phase (slowestDuring).
	spans []callSpan
	// hangs are requests that got no answer within clientTimeout.
	hangs []string
	// rejected are unexpected 4xx answers, which the load never provokes.
	rejected []string
}

// callSpan is one call: its start and end, in nanoseconds since the
// recorder's epoch, and how long its request took.
type callSpan struct {
	call, ret int64
	elapsed   time.Duration
}

func newRecorder() *recorder {
	return &recorder{epoch: time.Now(), shapes: map[string]int{}}
}

func (r *recorder) now() int64 { return time.Since(r.epoch).Nanoseconds() }

// add records one operation. An operation of unknown outcome may take effect
// at any time after its call, so it never returns as far as porcupine knows.
// stopped says the suite itself ended the call (the load's time was up).
func (r *recorder) add(client int, in opInput, call int64, out opOutput, resp response, stopped bool) {
	ret := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if resp.elapsed > r.slowest {
		r.slowest = resp.elapsed
	}
	r.spans = append(r.spans, callSpan{call: call, ret: ret, elapsed: resp.elapsed})
	if out.Outcome == outRejected {
		r.rejected = append(r.rejected, describeInput(in)+" -> "+resp.String())
	}
	if out.Outcome == outUnknown {
		// A call the suite itself ended (the load stopping) says nothing
		// about the server; it still may have taken effect.
		if !stopped {
			shape, live := errorShape(resp)
			r.shapes[kindClass(in.Kind)+": "+shape]++
			if errors.Is(resp.err, context.DeadlineExceeded) || strings.Contains(fmt.Sprint(resp.err), "Client.Timeout") {
				r.hangs = append(r.hangs, describeInput(in)+" -> "+resp.String())
			}
			r.noteShape(describeInput(in), resp, live)
		}
		if in.Kind == opGet || neverSent(resp.err) {
			return // a failed read tells nothing; an unsent call did nothing
		}
		ret = math.MaxInt64
	}
	r.ops = append(r.ops, porcupine.Operation{ClientId: client, Input: in, Call: call, Output: out, Return: ret})
}

// slowestStarted is the longest a request took of the calls made between
// from and to, and how many such calls there were.
func (r *recorder) slowestStarted(from, to time.Time) (slowest time.Duration, calls int) {
	lo, hi := from.Sub(r.epoch).Nanoseconds(), to.Sub(r.epoch).Nanoseconds()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.spans {
		if s.call >= lo && s.call <= hi {
			calls++
			slowest = max(slowest, s.elapsed)
		}
	}
	return slowest, calls
}

// slowestDuring is the longest a request took of the calls in flight at
// some time between from and to, and how many such calls there were.
func (r *recorder) slowestDuring(from, to time.Time) (slowest time.Duration, calls int) {
	lo, hi := from.Sub(r.epoch).Nanoseconds(), to.Sub(r.epoch).Nanoseconds()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.spans {
		if s.call <= hi && s.ret >= lo {
			calls++
			slowest = max(slowest, s.elapsed)
		}
	}
	return slowest, calls
}

// kindClass groups operations by the handler that serves them.
func kindClass(k opKind) string {
	switch k {
	case opStart, opStop, opRestart:
		return "action"
	case opSetStrategy, opWriteStatus:
		return "patch"
	}
	return string(k)
}

// noteShape files an error answer that a live server should not give.
// r.mu must be held.
func (r *recorder) noteShape(what string, resp response, live bool) {
	switch {
	case live:
	case resp.err != nil:
		r.noAnswer = append(r.noAnswer, what+" -> "+resp.String())
	default:
		r.wrongCode = append(r.wrongCode, what+" -> "+resp.String())
	}
}

// errorShape names the shape of an error answer, and says whether it is one
// a live server may give while its storage is down: a metav1.Status 503,
// 504 or 429.
func errorShape(r response) (string, bool) {
	if r.err != nil {
		return "no answer (" + transportError(r.err) + ")", false
	}
	st, ok := r.status()
	if !ok {
		return fmt.Sprintf("%d without a Status body (%s)", r.code, bodyHint(r.body)), false
	}
	shape := fmt.Sprintf("%d %s Status", r.code, st.Reason)
	if st.Reason == "" {
		shape = fmt.Sprintf("%d Status", r.code)
	}
	switch r.code {
	case http.StatusServiceUnavailable, http.StatusGatewayTimeout, http.StatusTooManyRequests:
		return shape, true
	}
	return shape, false
}

// bodyHint is the start of a body that is not a Status, for the figures:
// a proxy's plain-text error says what failed.
func bodyHint(body []byte) string {
	const limit = 80
	hint := strings.TrimSpace(string(body))
	if i := strings.IndexByte(hint, '\n'); i >= 0 {
		hint = hint[:i]
	}
	if len(hint) > limit {
		hint = hint[:limit] + "..."
	}
	if hint == "" {
		return "empty"
	}
	return hint
}

// neverSent reports whether a call failed before it reached the server:
// the connection could not be made, so it cannot have taken effect.
func neverSent(err error) bool {
	var opErr *net.OpError
	return errors.As(err, &opErr) && opErr.Op == "dial"
}

// transportError shortens a transport error to its kind.
func transportError(err error) string {
	msg := err.Error()
	for _, kind := range []string{"connection refused", "connection reset", "INTERNAL_ERROR", "EOF", "Client.Timeout", "context deadline exceeded", "broken pipe", "stream error"} {
		if strings.Contains(msg, kind) {
			return kind
		}
	}
	return msg
}

// conflictText is the reason of a 409 message, the part after the object
// name: `Operation cannot be fulfilled on virtualmachines.kubevirt.io "vm": <reason>`.
func conflictText(msg string) string {
	if i := strings.Index(msg, `": `); i >= 0 {
		return msg[i+3:]
	}
	return msg
}

// classify turns a response into the model's output.
func classify(in opInput, r response) opOutput {
	out := opOutput{Code: r.code}
	switch {
	case r.err != nil:
		out.Outcome, out.Detail = outUnknown, transportError(r.err)
	case r.code >= 200 && r.code < 300:
		s, err := stateOf(r.body)
		if err != nil {
			out.Outcome, out.Detail = outRejected, "unreadable VM: "+err.Error()
			return out
		}
		out.Outcome, out.State = outOK, s
	case r.code == http.StatusConflict && in.Kind != opCreate:
		st, ok := r.status()
		if !ok || st.Reason != metav1.StatusReasonConflict {
			out.Outcome, out.Detail = outRejected, "409 without a Conflict Status"
			return out
		}
		out.Outcome, out.Conflict = outConflict, conflictText(st.Message)
	case r.code == http.StatusTooManyRequests || r.code >= 500:
		out.Outcome, out.Detail = outUnknown, http.StatusText(r.code)
	default:
		out.Outcome, out.Detail = outRejected, string(r.body)
	}
	return out
}

// vmSpec is one VM of a scenario.
type vmSpec struct {
	name     string
	strategy string
	legacy   bool
}

// scenarioVMs are the VMs a history runs on: one per strategy, plus a legacy
// one that uses spec.running.
func scenarioVMs(prefix string) []vmSpec {
	return []vmSpec{
		{prefix + "-always", always, false},
		{prefix + "-rerun", rerunOnFailure, false},
		{prefix + "-manual", manual, false},
		{prefix + "-legacy", halted, true},
	}
}

// load drives concurrent random calls against one or more servers and
// records them.
type load struct {
	ns      string
	vms     []vmSpec
	servers []*apiClient // worker i talks to servers[i % len]
	rec     *recorder
	workers int
	maxOps  int     // per worker
	qps     float64 // per worker
	// ledger makes workers also create uniquely named VMs; every create that
	// was acknowledged must exist at the end.
	ledger bool
	// previous marks, by server, a server of the pinned previous build, whose
	// answers the model holds to that build's contract; nil: none.
	previous []atomic.Bool

	mu         sync.Mutex
	ledgerAck  []string
	ledgerMiss int // creates of unknown outcome
	perServer  map[int]*serverCounts
}

// serverCounts are the answers one server gave, by time.
type serverCounts struct {
	ok     []time.Time // when each definite (2xx or 409) answer arrived
	failed []time.Time // when each call of unknown outcome ended
}

// counts returns the definite answers and failures of a server since t.
func (l *load) counts(server int, since time.Time) (ok, failed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	sc := l.perServer[server]
	if sc == nil {
		return 0, 0
	}
	for _, at := range sc.ok {
		if !at.Before(since) {
			ok++
		}
	}
	for _, at := range sc.failed {
		if !at.Before(since) {
			failed++
		}
	}
	return ok, failed
}

// setup creates the scenario's VMs and records the creates.
func (l *load) setup(t testing.TB) {
	t.Helper()
	l.perServer = map[int]*serverCounts{}
	for _, vm := range l.vms {
		in := opInput{VM: vm.name, Kind: opCreate, Strategy: vm.strategy, Legacy: vm.legacy}
		out, resp := l.execute(context.Background(), 0, in, nil)
		require.Equal(t, outOK, out.Outcome, "creating %s: %s", vm.name, resp)
	}
}

// execute runs one operation through server index srv and records it.
func (l *load) execute(ctx context.Context, client int, in opInput, rng *rand.Rand) (opOutput, response) {
	c := l.servers[in.Server]
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, clientTimeout)
	defer cancel()
	call := l.rec.now()
	var resp response
	switch in.Kind {
	case opCreate:
		resp = c.do(ctx, http.MethodPost, vmsPath(l.ns), vmManifest(l.ns, in.VM, in.Strategy, in.Legacy), jsonHeaders)
	case opGet:
		resp = c.do(ctx, http.MethodGet, vmPath(l.ns, in.VM), nil, nil)
	case opStart, opStop, opRestart:
		path, body, headers := actionRequest(l.ns, in, rng)
		resp = c.do(ctx, http.MethodPut, path, body, headers)
	case opSetStrategy:
		spec := map[string]any{"runStrategy": in.Strategy}
		if in.Legacy {
			spec = map[string]any{"running": in.Strategy == always}
		}
		body, _ := json.Marshal(map[string]any{"spec": spec})
		resp = c.do(ctx, http.MethodPatch, vmPath(l.ns, in.VM), body, mergePatch)
	case opWriteStatus:
		status := map[string]any{"created": in.Created, "printableStatus": in.Printable}
		if in.ClearSCR {
			status["stateChangeRequests"] = nil
		}
		body, _ := json.Marshal(map[string]any{"status": status})
		resp = c.do(ctx, http.MethodPatch, statusPath(l.ns, in.VM), body, mergePatch)
	}
	out := classify(in, resp)
	l.rec.add(client, in, call, out, resp, parent.Err() != nil)
	l.mu.Lock()
	sc := l.perServer[in.Server]
	if sc == nil {
		sc = &serverCounts{}
		l.perServer[in.Server] = sc
	}
	switch out.Outcome {
	case outOK, outConflict:
		sc.ok = append(sc.ok, time.Now())
	case outUnknown:
		sc.failed = append(sc.failed, time.Now())
	}
	l.mu.Unlock()
	return out, resp
}

// actionRequest builds the PUT of an action the way different clients send
// it: no body (virtctl), or JSON options with or without kind, and dry-run
// in the body or in the query.
func actionRequest(ns string, in opInput, rng *rand.Rand) (string, []byte, map[string]string) {
	path := actionPath(ns, in.VM, string(in.Kind))
	opts := map[string]any{}
	kind := map[opKind]string{opStart: "StartOptions", opStop: "StopOptions", opRestart: "RestartOptions"}[in.Kind]
	switch in.Kind {
	case opStart:
		if in.Paused {
			opts["paused"] = true
		}
	case opStop:
		if in.Grace != nil {
			opts["gracePeriod"] = *in.Grace
		}
	case opRestart:
		if in.Grace != nil {
			opts["gracePeriodSeconds"] = *in.Grace
		}
	}
	if in.DryRun {
		if rng != nil && rng.IntN(2) == 0 {
			path += "?dryRun=All"
		} else {
			opts["dryRun"] = []string{"All"}
		}
	}
	if len(opts) == 0 && (rng == nil || rng.IntN(2) == 0) {
		return path, nil, nil
	}
	if rng != nil && rng.IntN(2) == 0 {
		opts["kind"], opts["apiVersion"] = kind, "subresources.kubevirt.io/v1"
	}
	body, _ := json.Marshal(opts)
	return path, body, jsonHeaders
}

// randomOp picks the next call of a worker.
func (l *load) randomOp(rng *rand.Rand, server int) opInput {
	vm := l.vms[rng.IntN(len(l.vms))]
	in := opInput{VM: vm.name, Server: server, Previous: server < len(l.previous) && l.previous[server].Load()}
	grace := func(choices ...int64) *int64 { g := choices[rng.IntN(len(choices))]; return &g }
	switch p := rng.IntN(100); {
	case p < 15:
		in.Kind, in.Paused = opStart, rng.IntN(10) < 3
	case p < 30:
		in.Kind = opStop
		if rng.IntN(10) < 4 {
			in.Grace = grace(0, 5, 30)
		}
	case p < 45:
		in.Kind = opRestart
		if rng.IntN(10) < 3 {
			in.Grace = grace(0)
		}
	case p < 57:
		in.Kind, in.Legacy = opSetStrategy, vm.legacy
		if vm.legacy {
			in.Strategy = []string{always, halted}[rng.IntN(2)]
		} else {
			in.Strategy = []string{always, rerunOnFailure, manual, halted, once}[rng.IntN(5)]
		}
	case p < 85:
		in.Kind = opWriteStatus
		in.Created = rng.IntN(10) < 7
		in.Printable = []string{"Running", "Starting", stopped, "Stopping"}[rng.IntN(4)]
		in.ClearSCR = rng.IntN(10) < 6
	default:
		in.Kind = opGet
	}
	if (in.Kind == opStart || in.Kind == opStop || in.Kind == opRestart) && rng.IntN(10) == 0 {
		in.DryRun = true
	}
	return in
}

// run drives the workers until ctx ends or each has made maxOps calls.
func (l *load) run(ctx context.Context, name string) {
	var wg sync.WaitGroup
	for w := range l.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.worker(ctx, name, w)
		}()
	}
	wg.Wait()
}

func (l *load) worker(ctx context.Context, name string, w int) {
	rng := rngFor(fmt.Sprintf("%s/worker-%d", name, w))
	server := w % len(l.servers)
	pace := flowcontrol.NewTokenBucketRateLimiter(float32(l.qps), 1)
	// After an error, a worker slows down: fewer calls of unknown outcome
	// keep the linearizability check small.
	backoff := flowcontrol.NewTokenBucketRateLimiter(1, 1)
	for n := 0; n < l.maxOps; n++ {
		if err := pace.Wait(ctx); err != nil {
			return
		}
		var out opOutput
		if l.ledger && rng.IntN(100) < 4 {
			out = l.ledgerCreate(ctx, server, fmt.Sprintf("ledger-%s-w%d-%d", shortName(name), w, n))
		} else {
			out, _ = l.execute(ctx, w, l.randomOp(rng, server), rng)
		}
		if out.Outcome == outUnknown {
			if err := backoff.Wait(ctx); err != nil {
				return
			}
		}
	}
}

// ledgerCreate creates a uniquely named VM; it is checked at the end.
func (l *load) ledgerCreate(ctx context.Context, server int, name string) opOutput {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, clientTimeout)
	defer cancel()
	resp := l.servers[server].do(ctx, http.MethodPost, vmsPath(l.ns), vmManifest(l.ns, name, halted, false), jsonHeaders)
	out := classify(opInput{Kind: opCreate}, resp)
	if out.Outcome == outUnknown && parent.Err() != nil {
		return out // the load stopped under it
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch out.Outcome {
	case outOK:
		l.ledgerAck = append(l.ledgerAck, name)
	case outUnknown:
		l.ledgerMiss++
		shape, live := errorShape(resp)
		l.rec.mu.Lock()
		l.rec.shapes["create: "+shape]++
		l.rec.noteShape("ledger create", resp, live)
		l.rec.mu.Unlock()
	case outRejected:
		l.rec.mu.Lock()
		l.rec.rejected = append(l.rec.rejected, "ledger create "+name+" -> "+resp.String())
		l.rec.mu.Unlock()
	}
	return out
}

// finalReads reads every VM through every server, retrying until each read
// succeeds, and records the reads: they must show every acknowledged write.
func (l *load) finalReads(t testing.TB) {
	t.Helper()
	for srv := range l.servers {
		for _, vm := range l.vms {
			err := framework.Poll(context.Background(), pollInterval, 2*time.Minute, "final read of "+vm.name, func(context.Context) (bool, error) {
				out, resp := l.execute(context.Background(), l.workers+srv, opInput{VM: vm.name, Kind: opGet, Server: srv}, nil)
				return out.Outcome == outOK, errors.New(resp.String())
			})
			require.NoError(t, err)
		}
	}
}

// missingLedger lists acknowledged ledger creates that do not exist.
func (l *load) missingLedger(t testing.TB) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	var list struct {
		Items []struct {
			Metadata metav1.ObjectMeta `json:"metadata"`
		} `json:"items"`
	}
	err := framework.Poll(context.Background(), pollInterval, 2*time.Minute, "listing the ledger", func(context.Context) (bool, error) {
		r := l.servers[0].do(ctx, http.MethodGet, vmsPath(l.ns), nil, nil)
		if r.err != nil || r.code != http.StatusOK {
			return false, errors.New(r.String())
		}
		return true, json.Unmarshal(r.body, &list)
	})
	require.NoError(t, err)
	have := map[string]bool{}
	for _, it := range list.Items {
		have[it.Metadata.Name] = true
	}
	var missing []string
	for _, name := range l.ledgerAck {
		if !have[name] {
			missing = append(missing, name)
		}
	}
	return missing
}

// check verifies the history with porcupine and the ledger, records the
// figures, and on failure keeps the history and porcupine's visualization
// in dir.
func (l *load) check(t *testing.T, dir, name string) {
	t.Helper()
	l.rec.mu.Lock()
	ops := append([]porcupine.Operation(nil), l.rec.ops...)
	rejected := append([]string(nil), l.rec.rejected...)
	l.rec.mu.Unlock()

	outcomes := map[string]int{}
	for _, op := range ops {
		in, out := op.Input.(opInput), op.Output.(opOutput)
		key := string(out.Outcome)
		if in.Kind != opGet && in.Kind != opCreate {
			key = string(in.Kind) + " " + key
		} else {
			key = string(in.Kind)
		}
		outcomes[key]++
	}
	missing := l.missingLedger(t)

	model := lifecycleModel.ToModel()
	timeout := scale(2*time.Minute, 5*time.Minute)
	result, info := porcupine.CheckOperationsVerbose(model, ops, timeout)
	lost := len(missing)
	if result != porcupine.Ok {
		lost++ // at least one acknowledged or refused call is unexplained
	}
	figures.addHistory(historyFigures{
		Name: name, Operations: len(ops), Outcomes: outcomes, Ledger: len(l.ledgerAck), Result: string(result), Lost: lost,
	})
	t.Logf("%s: %d operations (%s), %d ledger creates acknowledged, %d of unknown outcome; porcupine: %s",
		name, len(ops), renderCounts(outcomes), len(l.ledgerAck), l.ledgerMiss, result)

	if result != porcupine.Ok {
		histFile := filepath.Join(dir, "history.json")
		visFile := filepath.Join(dir, "history.html")
		require.NoError(t, writeHistory(histFile, ops))
		require.NoError(t, porcupine.VisualizePath(model, info, visFile))
		t.Errorf("the history of %s is %s for the lifecycle contract: history in %s, porcupine's visualization in %s", name, result, histFile, visFile)
	}
	assert.Empty(t, missing, "acknowledged creates that are gone")
	assert.Empty(t, rejected, "unexpected 4xx answers to valid calls")
}

// writeHistory stores a history as JSON lines, one operation each.
func writeHistory(path string, ops []porcupine.Operation) error {
	sorted := append([]porcupine.Operation(nil), ops...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Call < sorted[j].Call })
	var b strings.Builder
	for _, op := range sorted {
		line, err := json.Marshal(map[string]any{
			"client": op.ClientId, "call": op.Call, "return": op.Return, "input": op.Input, "output": op.Output,
		})
		if err != nil {
			return err
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// shortName shortens a test name for use in object names.
func shortName(s string) string {
	s = strings.ToLower(s)
	s = strings.Map(func(r rune) rune {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			return r
		}
		return '-'
	}, s)
	if len(s) > 20 {
		s = s[len(s)-20:]
	}
	return strings.Trim(s, "-")
}
