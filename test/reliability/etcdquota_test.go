package reliability

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/vm-apiserver/vm-apiserver/test/framework"
)

// etcdQuotaBytes is the space quota of the etcd that TestEtcdSpaceQuota
// fills: small, so that a few puts fill it, and far above what the load
// writes in the test's time.
const etcdQuotaBytes = 16 << 20

// fillerPrefix is where the test writes the data that fills etcd, outside
// the servers' prefix: another tenant of the same etcd, or a leak.
const fillerPrefix = "/filler/"

// TestEtcdSpaceQuota fills etcd to its space quota under load against two
// replicas, as a cluster whose etcd has outgrown --quota-backend-bytes
// would: etcd raises its NOSPACE alarm and refuses every write that adds
// data. While it is full:
//   - every write the servers make is refused with a 507
//     InsufficientStorage Status that names the cause, within the request
//     timeout, and nothing hangs or panics;
//   - reads, lists and a watch opened before keep working, and /readyz
//     stays 200 on both replicas: reads are still served, and every replica
//     shares the one etcd, so failing readiness would take reads down
//     everywhere and cure nothing;
//   - the operator's remedy of docs/deploy.md (delete, compact, defragment,
//     disarm the alarm) makes writes succeed again with no restart;
//   - the watch opened before delivers the next change, nothing
//     acknowledged is lost, and the history is linearizable.
func TestEtcdSpaceQuota(t *testing.T) {
	requireSuite(t)
	t.Parallel()
	dir := testDir(t)
	etcd := framework.StartEtcd(t, bins.Etcd, dir, "etcd", fmt.Sprintf("--quota-backend-bytes=%d", etcdQuotaBytes))
	pair := startReplicaPairOn(t, dir, etcd)
	clients := pair.clients(t)
	// The client logs each refused put itself; the test says what matters.
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{etcd.URL}, DialTimeout: 10 * time.Second, Logger: zap.NewNop()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = cli.Close() })

	l := &load{
		ns: "etcd-full", vms: scenarioVMs("nospace"), servers: clients, rec: newRecorder(),
		workers: 4, maxOps: 100000, qps: 10, ledger: true,
	}
	l.setup(t)
	stop := startLoad(l, t.Name())
	t.Cleanup(stop)
	watchCtx, stopWatch := context.WithCancel(context.Background())
	defer stopWatch()
	var watches []*readyzWatch
	for i, s := range pair.servers {
		watches = append(watches, watchReadyz(watchCtx, s, newClient(s.URL, pair.creds.ca.Pool(), nil)))
		waitProgress(t, l, i, 30, time.Time{}, 2*time.Minute)
	}
	// A watch of the VMs, opened before etcd is full, must live through it.
	afterRemedy := openWatch(t, watchCtx, clients[0], l.ns, `"after":"remedy"`)

	fullAt := fillEtcd(t, cli)
	figures.fault("etcd space quota exceeded (NOSPACE alarm)")
	window := scale(10*time.Second, 30*time.Second)

	// A write of each kind, made on purpose while etcd is full, beside the
	// load's: a create, an action, a patch. Each is a 507 naming the cause.
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	vm := l.vms[0].name
	for what, r := range map[string]response{
		"create": clients[0].do(ctx, http.MethodPost, vmsPath(l.ns), vmManifest(l.ns, "nospace-probe", halted, false), jsonHeaders),
		"action": clients[1].do(ctx, http.MethodPut, actionPath(l.ns, vm, "restart"), []byte(`{}`), jsonHeaders),
		"patch": clients[0].do(ctx, http.MethodPatch, vmPath(l.ns, vm), []byte(`{"metadata":{"labels":{"probe":"nospace"}}}`),
			map[string]string{"Content-Type": "application/merge-patch+json"}),
	} {
		st, ok := r.status()
		if !assert.True(t, ok, "%s while etcd is full: %s", what, r) {
			continue
		}
		if what == "action" && r.code == http.StatusConflict {
			continue // the VM's state refused the restart before any write
		}
		assert.Equal(t, http.StatusInsufficientStorage, r.code, "%s while etcd is full: %s", what, r)
		assert.Equal(t, "InsufficientStorage", string(st.Reason), what)
		assert.Contains(t, st.Message, "database space exceeded", what)
	}
	// Reads keep working: a get, a list, and the load's own gets.
	r := clients[1].do(ctx, http.MethodGet, vmPath(l.ns, vm), nil, nil)
	assert.Equal(t, http.StatusOK, r.code, "a read while etcd is full: %s", r)
	r = clients[0].do(ctx, http.MethodGet, vmsPath(l.ns), nil, nil)
	assert.Equal(t, http.StatusOK, r.code, "a list while etcd is full: %s", r)
	time.Sleep(time.Until(fullAt.Add(window)))

	remedyAt := time.Now()
	remedy(t, cli, etcd.URL)
	figures.fault("etcd remedy: delete, compact, defragment, disarm")
	fixedAt := time.Now()
	for i := range pair.servers {
		waitProgress(t, l, i, 30, fixedAt, 2*time.Minute)
	}
	// The watch opened before sees a change made now.
	r = clients[0].do(context.Background(), http.MethodPatch, vmPath(l.ns, vm), []byte(`{"metadata":{"labels":{"after":"remedy"}}}`),
		map[string]string{"Content-Type": "application/merge-patch+json"})
	require.Equal(t, http.StatusOK, r.code, "a write after the remedy: %s", r)
	require.NoError(t, framework.Poll(context.Background(), pollInterval, time.Minute, "the watch opened before etcd was full delivers the next change", func(context.Context) (bool, error) {
		return afterRemedy.Load(), errors.New("not yet")
	}))

	stop()
	stopWatch()
	for i, w := range watches {
		failures := w.failures(fullAt, remedyAt)
		assert.Empty(t, failures, "replica %d /readyz failed while etcd was full", i)
		figures.note("etcd full %s: replica %d /readyz failed %d times", window, i, len(failures))
	}
	l.finalReads(t)
	l.check(t, dir, fmt.Sprintf("etcd full (NOSPACE) %s under load, then remedied, two replicas", window))

	// The load's own error answers: while etcd was full every failed call
	// was a 507 (a 503/504/429 is allowed too, in case a call met the
	// remedy's defragmentation), within the request timeout.
	var refused, okDuring int
	for i := range pair.servers {
		okFrom, failedFrom := l.counts(i, fullAt)
		okTo, failedTo := l.counts(i, remedyAt)
		refused += failedFrom - failedTo
		okDuring += okFrom - okTo
	}
	l.rec.mu.Lock()
	defer l.rec.mu.Unlock()
	for shape, n := range l.rec.shapes {
		figures.errorShape(shape, n)
		if !strings.Contains(shape, "507 InsufficientStorage Status") {
			_, code, _ := strings.Cut(shape, ": ")
			assert.Regexp(t, `^(503|504|429) `, code, "an error answer other than 507 or 503/504/429: %s (%d)", shape, n)
		}
	}
	figures.note("etcd full %s: %d calls refused, %d answered (reads, 409s, dry runs); error answers %s; slowest answer %s",
		window, refused, okDuring, renderCounts(l.rec.shapes), l.rec.slowest.Round(time.Millisecond))
	assert.Positive(t, refused, "no write was refused while etcd was full: the quota was not reached")
	assert.Positive(t, okDuring, "no call was answered while etcd was full: reads must go on")
	assert.Empty(t, l.rec.noAnswer, "calls that got no answer at all")
	assert.Empty(t, l.rec.hangs, "calls that got no answer within %s", clientTimeout)
	assert.Less(t, l.rec.slowest, serverRequestTimeout+hangSlack, "an answer came later than the request timeout")
	assertServersAlive(t, pair.servers)
}

// fillEtcd writes filler data until etcd refuses it for lack of space and
// raises its NOSPACE alarm; it returns when the alarm is up.
func fillEtcd(t *testing.T, cli *clientv3.Client) time.Time {
	t.Helper()
	value := strings.Repeat("x", 512<<10)
	for i := 0; ; i++ {
		require.Less(t, i, 4*etcdQuotaBytes/len(value), "etcd never refused a put for lack of space")
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := cli.Put(ctx, fmt.Sprintf("%s%04d", fillerPrefix, i), value)
		cancel()
		if errors.Is(err, rpctypes.ErrNoSpace) {
			break
		}
		require.NoError(t, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	alarms, err := cli.AlarmList(ctx)
	require.NoError(t, err)
	require.NotEmpty(t, alarms.Alarms, "etcd refused a put for space without raising its alarm")
	assert.Equal(t, etcdserverpb.AlarmType_NOSPACE, alarms.Alarms[0].Alarm)
	return time.Now()
}

// remedy frees etcd's space the way docs/deploy.md tells an operator to:
// delete what filled it, compact the history, defragment, and disarm the
// alarm.
func remedy(t *testing.T, cli *clientv3.Client, endpoint string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	del, err := cli.Delete(ctx, fillerPrefix, clientv3.WithPrefix())
	require.NoError(t, err, "a delete works while etcd is full")
	_, err = cli.Compact(ctx, del.Header.Revision, clientv3.WithCompactPhysical())
	require.NoError(t, err)
	_, err = cli.Defragment(ctx, endpoint)
	require.NoError(t, err)
	alarms, err := cli.AlarmList(ctx)
	require.NoError(t, err)
	for _, a := range alarms.Alarms {
		_, err = cli.AlarmDisarm(ctx, (*clientv3.AlarmMember)(a))
		require.NoError(t, err)
	}
}

// openWatch opens a watch of the VMs of ns through c and reports, until
// ctx ends, whether an event containing needle arrived.
func openWatch(t *testing.T, ctx context.Context, c *apiClient, ns, needle string) *atomic.Bool {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+vmsPath(ns)+"?watch=true", nil)
	require.NoError(t, err)
	// The client's own timeout would end the watch; ctx ends it.
	resp, err := (&http.Client{Transport: c.tr}).Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { _ = resp.Body.Close() })
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var seen atomic.Bool
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			if strings.Contains(sc.Text(), needle) {
				seen.Store(true)
			}
		}
	}()
	return &seen
}
