package reliability

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/vm-apiserver/vm-apiserver/test/framework"
)

// hostileCase is one bad request and the 4xx it must get.
type hostileCase struct {
	category string
	name     string
	method   string
	path     string
	body     []byte
	headers  map[string]string
	want     []int  // acceptable codes
	mention  string // text the Status message must contain, if any
}

// hostileNS and hostileVM are where the bad requests aim: an existing VM
// (RerunOnFailure, no instance), so that only the input can be at fault.
const (
	hostileNS = "hostile"
	hostileVM = "target"
)

// nested returns JSON nested depth levels deep: [[[...]]] or {"a":{"a":...}}.
func nested(depth int, object bool) string {
	if object {
		return strings.Repeat(`{"a":`, depth) + "1" + strings.Repeat("}", depth)
	}
	return strings.Repeat("[", depth) + strings.Repeat("]", depth)
}

// hostileCases are the bad inputs the API contract (docs/api.md) refuses.
func hostileCases() []hostileCase {
	act := func(a string) string { return actionPath(hostileNS, hostileVM, a) }
	vms := vmsPath(hostileNS)
	vm := vmPath(hostileNS, hostileVM)
	big := func(n int) []byte { return []byte("{" + strings.Repeat(" ", n-2) + "}") }
	bad, tooLarge, unprocessable, notFound := []int{400}, []int{413}, []int{422}, []int{404}
	vmWith := func(name, ns, extra string) []byte {
		return []byte(fmt.Sprintf(`{"apiVersion":"kubevirt.io/v1","kind":"VirtualMachine","metadata":{"name":%q,"namespace":%q},"spec":{"runStrategy":"Halted","template":{"spec":{"domain":{"devices":{}}}}%s}}`, name, ns, extra))
	}
	yamlCT := map[string]string{"Content-Type": "application/yaml"}
	return []hostileCase{
		// Malformed, truncated, invalid UTF-8, deeply nested.
		{category: "malformed JSON/YAML", name: "truncated JSON options", method: "PUT", path: act("stop"), body: []byte(`{"gracePeriod": `), headers: jsonHeaders, want: bad},
		{category: "malformed JSON/YAML", name: "bad JSON literal", method: "PUT", path: act("start"), body: []byte(`{"paused": tru}`), headers: jsonHeaders, want: bad},
		{category: "malformed JSON/YAML", name: "JSON without Content-Type", method: "PUT", path: act("start"), body: []byte(`{"paused": true,,}`), want: bad},
		{category: "malformed JSON/YAML", name: "YAML without Content-Type", method: "PUT", path: act("stop"), body: []byte("gracePeriod: 5\n"), want: bad, mention: "Content-Type"},
		{category: "malformed JSON/YAML", name: "options as form data", method: "PUT", path: act("stop"), body: []byte(`{}`), headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, want: []int{415}},
		{category: "malformed JSON/YAML", name: "truncated YAML options", method: "PUT", path: act("stop"), body: []byte("kind: StopOptions\ngracePeriod: [5,"), headers: yamlCT, want: bad},
		{category: "malformed JSON/YAML", name: "YAML with a tab indent", method: "PUT", path: act("stop"), body: []byte("kind: StopOptions\n\tgracePeriod: 5\n"), headers: yamlCT, want: bad},
		{category: "malformed JSON/YAML", name: "YAML anchors bomb", method: "PUT", path: act("start"), body: []byte("a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"), headers: yamlCT, want: bad},
		{category: "malformed JSON/YAML", name: "truncated VM JSON", method: "POST", path: vms, body: vmWith("trunc", hostileNS, "")[:60], headers: jsonHeaders, want: bad},
		{category: "malformed JSON/YAML", name: "truncated VM YAML", method: "POST", path: vms, body: []byte("apiVersion: kubevirt.io/v1\nkind: VirtualMachine\nmetadata:\n  name: [x"), headers: yamlCT, want: bad},
		{category: "malformed JSON/YAML", name: "malformed merge patch", method: "PATCH", path: vm, body: []byte(`{"spec":`), headers: mergePatch, want: bad},
		{category: "invalid UTF-8", name: "binary options body", method: "PUT", path: act("start"), body: []byte("\xff\xfe\x00\x01garbage\xc3\x28"), want: bad},
		{category: "invalid UTF-8", name: "invalid UTF-8 in dryRun", method: "PUT", path: act("stop"), body: []byte("{\"dryRun\":[\"\xff\xfe\"]}"), headers: jsonHeaders, want: bad},
		{category: "invalid UTF-8", name: "invalid UTF-8 in a VM name", method: "POST", path: vms, body: vmWith("bad\xffname", hostileNS, ""), headers: jsonHeaders, want: []int{400, 422}},
		{category: "deeply nested JSON", name: "options nested 100000 arrays", method: "PUT", path: act("start"), body: []byte(`{"paused":` + nested(100000, false) + `}`), headers: jsonHeaders, want: bad},
		{category: "deeply nested JSON", name: "options nested 100000 objects", method: "PUT", path: act("stop"), body: []byte(nested(100000, true)), headers: jsonHeaders, want: bad},
		{category: "deeply nested JSON", name: "VM nested 100000 arrays", method: "POST", path: vms, body: vmWith("deep", hostileNS, `,"x":`+nested(100000, false)), headers: jsonHeaders, want: bad},
		{category: "deeply nested JSON", name: "merge patch nested 100000 objects", method: "PATCH", path: vm, body: []byte(`{"metadata":{"annotations":` + nested(100000, true) + `}}`), headers: mergePatch, want: bad},
		// Bodies over the limits: 1 MiB for options, 3 MiB for objects.
		{category: "oversized body", name: "options 1 MiB + 1", method: "PUT", path: act("stop"), body: big(1<<20 + 1), headers: jsonHeaders, want: tooLarge},
		{category: "oversized body", name: "options 8 MiB", method: "PUT", path: act("restart"), body: big(8 << 20), headers: jsonHeaders, want: tooLarge},
		{category: "oversized body", name: "VM 4 MiB", method: "POST", path: vms, body: vmWith("huge", hostileNS, `,"x":"`+strings.Repeat("x", 4<<20)+`"`), headers: jsonHeaders, want: tooLarge},
		{category: "oversized body", name: "merge patch 4 MiB", method: "PATCH", path: vm, body: big(4 << 20), headers: mergePatch, want: tooLarge},
		// Wrong kind or apiVersion, unknown dryRun.
		{category: "wrong kind/apiVersion", name: "start with StopOptions", method: "PUT", path: act("start"), body: []byte(`{"kind":"StopOptions","apiVersion":"subresources.kubevirt.io/v1"}`), headers: jsonHeaders, want: bad, mention: "StopOptions"},
		{category: "wrong kind/apiVersion", name: "stop with apiVersion v1", method: "PUT", path: act("stop"), body: []byte(`{"kind":"StopOptions","apiVersion":"v1"}`), headers: jsonHeaders, want: bad, mention: "apiVersion"},
		{category: "wrong kind/apiVersion", name: "restart with unknown version", method: "PUT", path: act("restart"), body: []byte(`{"apiVersion":"subresources.kubevirt.io/v2"}`), headers: jsonHeaders, want: bad},
		{category: "wrong kind/apiVersion", name: "start with kind VirtualMachine", method: "PUT", path: act("start"), body: []byte("kind: VirtualMachine\n"), headers: yamlCT, want: bad},
		{category: "unknown dryRun", name: "query dryRun=Some", method: "PUT", path: act("stop") + "?dryRun=Some", want: bad, mention: "dryRun"},
		{category: "unknown dryRun", name: "empty dryRun query", method: "PUT", path: act("start") + "?dryRun=", want: bad},
		{category: "unknown dryRun", name: "body dryRun [All, x]", method: "PUT", path: act("restart"), body: []byte(`{"dryRun":["All","x"]}`), headers: jsonHeaders, want: bad},
		{category: "unknown dryRun", name: "body dryRun not a list", method: "PUT", path: act("stop"), body: []byte(`{"dryRun":"All"}`), headers: jsonHeaders, want: bad},
		// Outside the actions Kubernetes' generic handlers validate the
		// options: an unknown dryRun on a create is a 422 on CreateOptions.
		{category: "unknown dryRun", name: "create with dryRun=bogus", method: "POST", path: vms + "?dryRun=bogus", body: vmWith("dry", hostileNS, ""), headers: jsonHeaders, want: unprocessable, mention: "dryRun"},
		// Grace periods.
		{category: "grace period", name: "stop -1", method: "PUT", path: act("stop"), body: []byte(`{"gracePeriod":-1}`), headers: jsonHeaders, want: bad},
		{category: "grace period", name: "stop MinInt64", method: "PUT", path: act("stop"), body: []byte(`{"gracePeriod":-9223372036854775808}`), headers: jsonHeaders, want: bad},
		{category: "grace period", name: "stop 2^63 (overflow)", method: "PUT", path: act("stop"), body: []byte(`{"gracePeriod":9223372036854775808}`), headers: jsonHeaders, want: bad},
		{category: "grace period", name: "stop 1e400", method: "PUT", path: act("stop"), body: []byte(`{"gracePeriod":1e400}`), headers: jsonHeaders, want: bad},
		{category: "grace period", name: "stop 1.5", method: "PUT", path: act("stop"), body: []byte(`{"gracePeriod":1.5}`), headers: jsonHeaders, want: bad},
		{category: "grace period", name: "stop as a string", method: "PUT", path: act("stop"), body: []byte(`{"gracePeriod":"30"}`), headers: jsonHeaders, want: bad},
		{category: "grace period", name: "restart 30", method: "PUT", path: act("restart"), body: []byte(`{"gracePeriodSeconds":30}`), headers: jsonHeaders, want: bad},
		{category: "grace period", name: "restart MaxInt64", method: "PUT", path: act("restart"), body: []byte(`{"gracePeriodSeconds":9223372036854775807}`), headers: jsonHeaders, want: bad},
		{category: "grace period", name: "restart -1", method: "PUT", path: act("restart"), body: []byte(`{"gracePeriodSeconds":-1}`), headers: jsonHeaders, want: bad},
		// MaxInt64 is a legal stop grace period: the options pass, and the
		// VM (no instance) refuses the stop itself.
		{category: "grace period", name: "stop MaxInt64 reaches the transition", method: "PUT", path: act("stop"), body: []byte(`{"gracePeriod":9223372036854775807}`), headers: jsonHeaders, want: []int{409}, mention: txtNotRunning},
		// Names and namespaces.
		{category: "names", name: "name of 254 characters", method: "POST", path: vms, body: vmWith(strings.Repeat("a", 254), hostileNS, ""), headers: jsonHeaders, want: unprocessable},
		{category: "names", name: "name with uppercase and underscore", method: "POST", path: vms, body: vmWith("Bad_Name", hostileNS, ""), headers: jsonHeaders, want: unprocessable},
		{category: "names", name: "name starting with a dash", method: "POST", path: vms, body: vmWith("-a", hostileNS, ""), headers: jsonHeaders, want: unprocessable},
		{category: "names", name: "empty name", method: "POST", path: vms, body: vmWith("", hostileNS, ""), headers: jsonHeaders, want: unprocessable},
		{category: "names", name: "action on a 300-character name", method: "PUT", path: actionPath(hostileNS, strings.Repeat("a", 300), "start"), want: notFound},
		{category: "names", name: "action on an encoded slash name", method: "PUT", path: actionPath(hostileNS, "a%2Fb", "stop"), want: []int{400, 404}},
		{category: "names", name: "action in an invalid namespace", method: "PUT", path: actionPath("Bad_NS", hostileVM, "stop"), want: []int{400, 404}},
		{category: "names", name: "namespace mismatch URL/body", method: "POST", path: vms, body: vmWith("mismatch", "other", ""), headers: jsonHeaders, want: bad},
		{category: "names", name: "name mismatch URL/body on update", method: "PUT", path: vm, body: vmWith("not-target", hostileNS, ""), headers: jsonHeaders, want: bad},
		// Unknown fields.
		{category: "unknown fields (Strict)", name: "create with spec.bogus", method: "POST", path: vms + "?fieldValidation=Strict", body: vmWith("strict", hostileNS, `,"bogus":1`), headers: jsonHeaders, want: bad, mention: "bogus"},
		// A patch with an unknown field is a 400 naming the field, as a create
		// is: VM patches are checked before the patch handler (docs/api.md).
		{category: "unknown fields (Strict)", name: "merge patch with spec.bogus", method: "PATCH", path: vm + "?fieldValidation=Strict", body: []byte(`{"spec":{"bogus":true}}`), headers: mergePatch, want: bad, mention: "spec.bogus"},
		{category: "unknown fields (Strict)", name: "duplicate field", method: "POST", path: vms + "?fieldValidation=Strict", body: []byte(`{"apiVersion":"kubevirt.io/v1","kind":"VirtualMachine","metadata":{"name":"dup","name":"dup2"},"spec":{"runStrategy":"Halted","template":{"spec":{}}}}`), headers: jsonHeaders, want: bad, mention: "name"},
		{category: "unknown fields (Strict)", name: "options with an unknown field", method: "PUT", path: act("start") + "?fieldValidation=Strict", body: []byte(`{"paused":false,"bogus":1}`), headers: jsonHeaders, want: bad, mention: "bogus"},
		// Actions answer nothing but PUT.
		{category: "wrong method", name: "GET on an action", method: "GET", path: act("start"), want: []int{405}},
		{category: "wrong method", name: "POST on an action", method: "POST", path: act("stop"), body: []byte(`{}`), headers: jsonHeaders, want: []int{405}},
		{category: "wrong method", name: "PATCH on an action", method: "PATCH", path: act("restart"), body: []byte(`{}`), headers: mergePatch, want: []int{405}},
		{category: "wrong method", name: "DELETE on an action", method: "DELETE", path: act("stop"), want: []int{405}},
	}
}

// TestHostileInput sends the bad inputs, slow-loris clients and 1,000
// concurrent connections to a standalone server. Each bad input gets the
// right 4xx metav1.Status, the server stays healthy throughout, and its
// goroutines and memory come back to the baseline afterwards.
func TestHostileInput(t *testing.T) {
	requireSuite(t)
	t.Parallel()
	dir := testDir(t)
	data := dir + "/standalone"
	creds := ensureStandaloneCreds(t, data)
	s := startVMServer(t, dir, "vm-apiserver", data, creds.ca.Pool())
	admin := newClient(s.URL, creds.ca.Pool(), &creds.admin)
	defer admin.close()
	ctx := context.Background()

	r := admin.do(ctx, http.MethodPost, vmsPath(hostileNS), vmManifest(hostileNS, hostileVM, rerunOnFailure, false), jsonHeaders)
	require.Equal(t, http.StatusCreated, r.code, r.String())
	healthy := func(t *testing.T) {
		t.Helper()
		r := admin.do(ctx, http.MethodGet, "/readyz", nil, nil)
		require.Equal(t, http.StatusOK, r.code, "/readyz: %s", r)
		r = admin.do(ctx, http.MethodGet, vmPath(hostileNS, hostileVM), nil, nil)
		require.Equal(t, http.StatusOK, r.code, "GET the target VM: %s", r)
	}
	baseline := settle(t, admin)
	t.Logf("baseline: %.0f goroutines, %.0f MiB resident", baseline.goroutines, baseline.rssBytes/(1<<20))

	t.Run("bad requests", func(t *testing.T) {
		for _, tc := range hostileCases() {
			t.Run(tc.category+"/"+tc.name, func(t *testing.T) {
				r := admin.do(ctx, tc.method, tc.path, tc.body, tc.headers)
				figures.badInput(tc.category, 1)
				require.NoError(t, r.err)
				assert.Contains(t, tc.want, r.code, "answer: %s", r)
				st, ok := r.status()
				assert.True(t, ok, "the answer is not a metav1.Status: %s", r)
				if tc.mention != "" {
					assert.Contains(t, st.Message, tc.mention)
				}
				healthy(t)
			})
		}
	})

	t.Run("slow clients", func(t *testing.T) {
		slowClients(t, s, creds)
		healthy(t)
	})

	t.Run("1000 concurrent connections", func(t *testing.T) {
		concurrentConnections(t, s, creds, 1000)
		healthy(t)
	})
	peak, err := readMetrics(ctx, admin)
	require.NoError(t, err)

	// Goroutines and memory come back. Memory is compared with a margin: the
	// Go runtime returns freed pages to the OS gradually.
	admin.close()
	var last processMetrics
	err = framework.Poll(context.Background(), pollInterval, scale(3*time.Minute, 6*time.Minute), "goroutines and memory back to baseline", func(context.Context) (bool, error) {
		m, err := readMetrics(ctx, admin)
		if err != nil {
			return false, err
		}
		last = m
		okG := m.goroutines <= baseline.goroutines+goroutineSlack(baseline.goroutines)
		okM := m.rssBytes <= baseline.rssBytes+rssSlack(baseline.rssBytes)
		return okG && okM, fmt.Errorf("%.0f goroutines, %.0f MiB", m.goroutines, m.rssBytes/(1<<20))
	})
	figures.note("hostile input: baseline %.0f goroutines / %.0f MiB resident; right after %.0f / %.0f MiB; settled at %.0f / %.0f MiB",
		baseline.goroutines, baseline.rssBytes/(1<<20), peak.goroutines, peak.rssBytes/(1<<20), last.goroutines, last.rssBytes/(1<<20))
	if !assert.NoError(t, err, "baseline %.0f goroutines, %.0f MiB", baseline.goroutines, baseline.rssBytes/(1<<20)) || os.Getenv("RELIABILITY_DUMP_GOROUTINES") != "" {
		// What is left over, for the report.
		r := admin.do(ctx, http.MethodGet, "/debug/pprof/goroutine?debug=1", nil, map[string]string{"Accept": "text/plain"})
		_ = os.WriteFile(filepath.Join(dir, "goroutines.txt"), r.body, 0o644)
		t.Logf("goroutine profile in %s", filepath.Join(dir, "goroutines.txt"))
	}
	assert.False(t, s.Exited(), s.Tail(40))
	assertNoPanic(t, s.Process)
}

// goroutineSlack and rssSlack are how far above the baseline the server may
// settle: a few pooled connections and workers, and pages the Go runtime has
// not yet returned to the OS. It returns them only after a garbage
// collection, which an idle server runs every two minutes, so the bounded
// form allows more and the full form waits for it.
func goroutineSlack(base float64) float64 { return max(25, base*0.1) }
func rssSlack(base float64) float64       { return scale(max(160<<20, base*1.5), max(48<<20, base*0.3)) }

// settle waits until the goroutine count is steady and returns the lowest
// reading: the baseline.
func settle(t *testing.T, c *apiClient) processMetrics {
	t.Helper()
	var prev, low processMetrics
	steady := 0
	require.NoError(t, framework.Poll(context.Background(), pollInterval, time.Minute, "a steady goroutine count", func(context.Context) (bool, error) {
		m, err := readMetrics(context.Background(), c)
		if err != nil {
			return false, err
		}
		if low.goroutines == 0 || m.goroutines < low.goroutines {
			low.goroutines = m.goroutines
		}
		if low.rssBytes == 0 || m.rssBytes > low.rssBytes {
			// The baseline memory is the highest reading before the
			// hostile input: warm-up allocations are not a leak.
			low.rssBytes = m.rssBytes
		}
		if m.goroutines >= prev.goroutines-3 && m.goroutines <= prev.goroutines+3 {
			steady++
		} else {
			steady = 0
		}
		prev = m
		return steady >= 5, fmt.Errorf("%.0f goroutines", m.goroutines)
	}))
	return low
}

// tlsDial opens one TLS connection speaking HTTP/1.1, as admin.
func tlsDial(s *vmServer, creds *standaloneCreds) (*tls.Conn, error) {
	d := &net.Dialer{Timeout: 60 * time.Second}
	return tls.DialWithDialer(d, "tcp", fmt.Sprintf("127.0.0.1:%d", s.Port), &tls.Config{
		RootCAs: creds.ca.Pool(), Certificates: []tls.Certificate{creds.admin},
		NextProtos: []string{"http/1.1"}, MinVersion: tls.VersionTLS12,
	})
}

// slowClients runs slow-loris clients (headers a line at a time, never
// finished) and slow-body clients (a body a byte a second) while a normal
// client keeps being served. The server must drop the slow-header clients
// itself (its header read timeout is 32s) and answer the slow-body clients
// once the request timeout has passed; they give up at that timeout plus
// hangSlack.
func slowClients(t *testing.T, s *vmServer, creds *standaloneCreds) {
	nHeader, nBody := scale(10, 40), scale(5, 20)
	bodyFor := serverRequestTimeout + hangSlack
	figures.badInput("slow-loris (headers)", nHeader)
	figures.badInput("slow body", nBody)

	var wg sync.WaitGroup
	headerResults := make(chan error, nHeader)
	bodyResults := make(chan string, nBody)
	for range nHeader {
		wg.Add(1)
		go func() {
			defer wg.Done()
			headerResults <- slowHeaders(s, creds)
		}()
	}
	for range nBody {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bodyResults <- slowBody(s, creds, bodyFor)
		}()
	}

	// A well-behaved client is served all along, every half second until
	// the slow clients are done (they end by themselves).
	c := newClient(s.URL, creds.ca.Pool(), &creds.admin)
	defer c.close()
	slowDone, finished := context.WithCancel(context.Background())
	defer finished()
	go func() { wg.Wait(); finished() }()
	served := 0
	_ = wait.PollUntilContextCancel(slowDone, 500*time.Millisecond, true, func(context.Context) (bool, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		r := c.do(ctx, http.MethodGet, vmPath(hostileNS, hostileVM), nil, nil)
		cancel()
		require.Equal(t, http.StatusOK, r.code, "a normal client during the slow clients: %s", r)
		served++
		return false, nil
	})
	close(headerResults)
	close(bodyResults)
	for err := range headerResults {
		assert.NoError(t, err)
	}
	outcomes := map[string]int{}
	for o := range bodyResults {
		outcomes[o]++
	}
	t.Logf("normal client served %d times; slow-body outcomes: %s", served, renderCounts(outcomes))
	figures.note("slow clients: %d slow-header connections all dropped by the server; slow-body outcomes: %s", nHeader, renderCounts(outcomes))
	// Regression test of bug 4 (docs/reliability.md, fixed): past the request timeout the
	// server should answer a slow body (504) and let the connection go.
	assert.Zero(t, outcomes["client gave up"], "bug 4 (fixed) is back: slow-body clients the server never answered within %s", bodyFor)
}

// slowHeaders sends a request line and then a header line every 2s, never
// ending the headers. The server must close the connection (Go's server may
// first answer 408) before the client gives up at 90s.
func slowHeaders(s *vmServer, creds *standaloneCreds) error {
	conn, err := tlsDial(s, creds)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	start := time.Now()
	connOpen, hungUp := context.WithCancel(context.Background())
	defer hungUp()
	go func() {
		// Any read result means the server answered or hung up.
		_, _ = conn.Read(make([]byte, 512))
		hungUp()
	}()
	if _, err := fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n", vmPath(hostileNS, hostileVM)); err != nil {
		return nil // already closed
	}
	// A header line every 2s until the server hangs up, for at most 90s.
	i := 0
	err = wait.PollUntilContextTimeout(connOpen, 2*time.Second, 90*time.Second, false, func(context.Context) (bool, error) {
		_, err := fmt.Fprintf(conn, "X-Slow-%d: 1\r\n", i)
		i++
		return err != nil, nil
	})
	if errors.Is(err, context.DeadlineExceeded) && connOpen.Err() == nil {
		return fmt.Errorf("slow-loris connection still open after %s", time.Since(start).Round(time.Second))
	}
	return nil
}

// slowBody sends a complete header for a stop with a 1000-byte body, then
// one byte a second for at most d, and reports what became of it.
func slowBody(s *vmServer, creds *standaloneCreds, d time.Duration) string {
	conn, err := tlsDial(s, creds)
	if err != nil {
		return "dial error: " + err.Error()
	}
	defer func() { _ = conn.Close() }()
	answered, done := context.WithCancel(context.Background())
	defer done()
	var answer string // set before answered ends
	go func() {
		defer done()
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			answer = "connection closed"
			return
		}
		_ = resp.Body.Close()
		answer = fmt.Sprintf("answered %d", resp.StatusCode)
	}()
	_, err = fmt.Fprintf(conn, "PUT %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{", actionPath(hostileNS, hostileVM, "stop"))
	if err != nil {
		return "write error"
	}
	// A byte a second until the server answers, for at most d.
	err = wait.PollUntilContextTimeout(answered, time.Second, d, false, func(context.Context) (bool, error) {
		_, err := conn.Write([]byte(" "))
		return false, err
	})
	switch {
	case answered.Err() != nil:
		return answer
	case errors.Is(err, context.DeadlineExceeded):
		return "client gave up"
	default:
		return "connection closed"
	}
}

// concurrentConnections opens n TLS connections at once, each sending one
// request (a read, or a dry-run stop), and checks every one is answered:
// 200, the contract's 409, or 429 when the in-flight limit sheds load.
func concurrentConnections(t *testing.T, s *vmServer, creds *standaloneCreds, n int) {
	figures.badInput("concurrent connections", n)
	type result struct {
		code int
		err  error
	}
	conns := make([]*tls.Conn, n)
	var wg sync.WaitGroup
	dialErrs := make(chan error, n)
	// Dial in batches so the handshakes do not starve the shared machine.
	sem := make(chan struct{}, 50)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			c, err := tlsDial(s, creds)
			if err != nil {
				dialErrs <- err
				return
			}
			conns[i] = c
		}()
	}
	wg.Wait()
	close(dialErrs)
	for err := range dialErrs {
		require.NoError(t, err, "opening the connections")
	}
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()

	// All connections are open at once; now each sends its request.
	results := make([]result, n)
	start := make(chan struct{})
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_ = c.SetDeadline(time.Now().Add(clientTimeout))
			var err error
			if i%2 == 0 {
				_, err = fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n\r\n", vmPath(hostileNS, hostileVM))
			} else {
				_, err = fmt.Fprintf(c, "PUT %s?dryRun=All HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n", actionPath(hostileNS, hostileVM, "stop"))
			}
			if err != nil {
				results[i] = result{err: err}
				return
			}
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				results[i] = result{err: err}
				return
			}
			_ = resp.Body.Close()
			results[i] = result{code: resp.StatusCode}
		}()
	}
	close(start)
	wg.Wait()
	codes := map[string]int{}
	for i, r := range results {
		if r.err != nil {
			t.Errorf("connection %d got no answer: %v", i, r.err)
			continue
		}
		codes[fmt.Sprint(r.code)]++
		want := []int{http.StatusOK, http.StatusTooManyRequests}
		if i%2 == 1 {
			want = []int{http.StatusConflict, http.StatusTooManyRequests}
		}
		assert.Contains(t, want, r.code, "connection %d", i)
	}
	t.Logf("%d concurrent connections answered: %s", n, renderCounts(codes))
	figures.note("%d concurrent connections: every one answered (%s)", n, renderCounts(codes))
}
