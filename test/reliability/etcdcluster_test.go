package reliability

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/vm-apiserver/vm-apiserver/test/framework"
)

// raftCluster is three etcd members and two vm-apiserver replicas. Each
// replica reaches each member through its own FaultProxy, so that a replica
// can be cut off from etcd; members reach each other through the peer
// proxies of framework.EtcdCluster.
type raftCluster struct {
	etcd    *framework.EtcdCluster
	servers []*vmServer
	// proxies[r][m] carries replica r's traffic to member m.
	proxies [][]*framework.FaultProxy
	creds   *standaloneCreds
}

// startRaftCluster starts the three members and the two replicas, each
// replica configured with all three client endpoints (through its proxies).
// programs, if given, are the vm-apiserver binaries of the replicas.
func startRaftCluster(t *testing.T, dir string, programs ...string) *raftCluster {
	t.Helper()
	c := &raftCluster{etcd: framework.StartEtcdCluster(t, bins.Etcd, dir, "etcd", 3)}
	dataA, dataB := filepath.Join(dir, "replica-a"), filepath.Join(dir, "replica-b")
	c.creds = ensureStandaloneCreds(t, dataA)
	seedCA(t, dataA, dataB)
	for r, data := range []string{dataA, dataB} {
		var urls []string
		var ps []*framework.FaultProxy
		for _, m := range c.etcd.Members {
			p := framework.StartFaultProxy(t, strings.TrimPrefix(m.URL, "http://"))
			ps = append(ps, p)
			urls = append(urls, p.URL("http"))
		}
		c.proxies = append(c.proxies, ps)
		name := []string{"vm-apiserver-a", "vm-apiserver-b"}[r]
		bin := bins.VMAPIServer
		if r < len(programs) {
			bin = programs[r]
		}
		c.servers = append(c.servers, startVMServerBin(t, bin, dir, name, data, c.creds.ca.Pool(), "--etcd-servers="+strings.Join(urls, ",")))
	}
	return c
}

// clients returns one admin client per replica.
func (c *raftCluster) clients(t *testing.T) []*apiClient {
	return adminClients(t, c.servers, c.creds)
}

// watches polls /readyz of every replica until the test ends.
func (c *raftCluster) watches(t *testing.T) []*readyzWatch {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	var ws []*readyzWatch
	for _, s := range c.servers {
		cl := newClient(s.URL, c.creds.ca.Pool(), nil)
		t.Cleanup(cl.close)
		ws = append(ws, watchReadyz(ctx, s, cl))
	}
	return ws
}

// restartMember starts a killed member again from its data dir and waits
// until it is healthy.
func (c *raftCluster) restartMember(t *testing.T, i int) {
	t.Helper()
	m := c.etcd.Members[i]
	require.NoError(t, m.Start())
	require.NoError(t, m.WaitHealthy(context.Background(), time.Minute), m.Tail(30))
	figures.fault("etcd member restart from its data dir")
}

// startLoad runs the workload until the returned stop is called; stop
// waits for the workers to end.
func startLoad(l *load, name string) (stop func()) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	done := make(chan struct{})
	go func() { defer close(done); l.run(ctx, name) }()
	return func() { cancel(); <-done }
}

// assertErrorAnswers checks that every error answer of the history was a
// 503/504/429 metav1.Status given within the request timeout, and files
// the shapes in the report.
func assertErrorAnswers(t *testing.T, l *load, what string) {
	t.Helper()
	l.rec.mu.Lock()
	defer l.rec.mu.Unlock()
	for shape, n := range l.rec.shapes {
		figures.errorShape(shape, n)
	}
	figures.note("%s: error answers %s; slowest answer %s", what, renderCounts(l.rec.shapes), l.rec.slowest.Round(time.Millisecond))
	t.Logf("%s: error answers %s; slowest answer %s", what, renderCounts(l.rec.shapes), l.rec.slowest)
	assert.Empty(t, l.rec.noAnswer, "calls to a live replica that got no answer at all")
	assert.Empty(t, l.rec.wrongCode, "error answers that are not a 503/504/429 metav1.Status")
	assert.Empty(t, l.rec.hangs, "calls that got no answer within %s", clientTimeout)
	assert.Less(t, l.rec.slowest, serverRequestTimeout+hangSlack, "an answer came later than the request timeout")
}

// underLoad starts the suite's workload on the cluster's replicas, in
// namespace ns on VMs named after prefix, and waits until each replica has
// answered ops calls. The load stops when the test ends, or earlier through
// the returned stop; watches follow each replica's /readyz.
func (c *raftCluster) underLoad(t *testing.T, ns, prefix string, ops int) (l *load, stop func(), watches []*readyzWatch) {
	t.Helper()
	l = &load{
		ns: ns, vms: scenarioVMs(prefix), servers: c.clients(t), rec: newRecorder(),
		workers: 4, maxOps: 100000, qps: 10, ledger: true,
		previous: make([]atomic.Bool, len(c.servers)),
	}
	for i, s := range c.servers {
		l.previous[i].Store(s.Path != bins.VMAPIServer)
	}
	l.setup(t)
	stop = startLoad(l, t.Name())
	t.Cleanup(stop)
	watches = c.watches(t)
	for i := range c.servers {
		waitProgress(t, l, i, ops, time.Time{}, 2*time.Minute)
	}
	return l, stop, watches
}

// assertServersAlive checks that no replica exited or panicked.
func assertServersAlive(t *testing.T, servers []*vmServer) {
	t.Helper()
	for _, s := range servers {
		assert.False(t, s.Exited(), "%s exited:\n%s", s.Name, s.Tail(40))
		assertNoPanic(t, s.Process)
	}
}

// TestClusterMemberKilled kills (SIGKILL) the etcd leader under load, then,
// once it is back, a follower. With two of three members up the replicas
// go on answering; after both restarts nothing acknowledged is lost and the
// history is linearizable.
func TestClusterMemberKilled(t *testing.T) {
	requireSuite(t)
	t.Parallel()
	dir := testDir(t)
	c := startRaftCluster(t, dir)
	l, stop, watches := c.underLoad(t, "member-kill", "mk", 30)

	for _, role := range []string{"leader", "follower"} {
		leader, err := c.etcd.WaitLeader(context.Background(), time.Minute)
		require.NoError(t, err)
		victim := leader
		if role == "follower" {
			victim = (leader + 1) % len(c.etcd.Members)
		}
		killedAt := time.Now()
		require.NoError(t, c.etcd.Members[victim].Kill())
		figures.fault("etcd " + role + " SIGKILL under load (3 members)")
		newLeader, err := c.etcd.WaitLeader(context.Background(), time.Minute)
		require.NoError(t, err)
		t.Logf("%s %s killed; leader %s after %.1fs", role, c.etcd.Members[victim].Name, c.etcd.Members[newLeader].Name, time.Since(killedAt).Seconds())
		// Two of three members keep quorum: both replicas keep answering.
		for i := range c.servers {
			waitProgress(t, l, i, 30, killedAt, time.Minute)
		}
		downFor := time.Since(killedAt)
		c.restartMember(t, victim)
		for i := range c.servers {
			waitProgress(t, l, i, 20, time.Now(), time.Minute)
		}
		var unready []string
		for i, w := range watches {
			if f := w.failures(killedAt, time.Now()); len(f) > 0 {
				unready = append(unready, fmt.Sprintf("replica %d: %d probes %v", i, len(f), f))
			}
		}
		figures.note("etcd %s killed (member down %.1fs, new leader elected): replicas unready: %v", role, downFor.Seconds(), unready)
		assert.Empty(t, unready, "a replica went unready while two of three members were up (%s killed)", role)
	}

	stop()
	l.finalReads(t)
	l.check(t, dir, "etcd leader then follower SIGKILL under load, 3 members, two replicas")
	assertErrorAnswers(t, l, "3-member etcd, leader and follower killed")
	assertServersAlive(t, c.servers)
}

// TestClusterQuorumLoss takes two of three members down under load, keeps
// them down, and restores them. While quorum is lost the replicas answer
// with a 503/504 metav1.Status within the request timeout and /readyz
// fails; after the restore /readyz passes again within a bound, nothing
// acknowledged is lost and the history is linearizable.
func TestClusterQuorumLoss(t *testing.T) {
	requireSuite(t)
	t.Parallel()
	dir := testDir(t)
	c := startRaftCluster(t, dir)
	l, stop, watches := c.underLoad(t, "quorum-loss", "ql", 30)

	outage := scale(10*time.Second, 30*time.Second)
	leader, err := c.etcd.WaitLeader(context.Background(), time.Minute)
	require.NoError(t, err)
	// The leader and one follower: the survivor is a follower with no
	// leader to reach.
	down := []int{leader, (leader + 1) % 3}
	lostAt := time.Now()
	for _, i := range down {
		require.NoError(t, c.etcd.Members[i].Kill())
		figures.fault("etcd member SIGKILL (quorum loss)")
	}
	for i, w := range watches {
		at, err := w.waitFor(lostAt, time.Minute, fmt.Sprintf("replica %d unready", i), isUnready)
		require.NoError(t, err)
		figures.note("quorum loss: replica %d /readyz failed %.1fs after two members were killed", i, at.Sub(lostAt).Seconds())
	}
	// Calls made while quorum is lost, of every kind, beside the load's.
	var burst sync.WaitGroup
	rng := rngFor(t.Name() + "/burst")
	for i := range 8 {
		in := l.randomOp(rng, i%len(l.servers))
		if i%4 == 0 {
			in.Kind = opGet
		}
		burst.Add(1)
		go func() {
			defer burst.Done()
			l.execute(context.Background(), l.workers+2+i, in, nil)
		}()
	}
	time.Sleep(time.Until(lostAt.Add(outage)))
	restoreAt := time.Now()
	for _, i := range down {
		c.restartMember(t, i)
	}
	backAt := time.Now()
	for i, w := range watches {
		// Generous: the etcd client's reconnect backoff is not tunable.
		at, err := w.waitFor(backAt, 2*time.Minute, fmt.Sprintf("replica %d ready again", i), isReady)
		require.NoError(t, err, c.servers[i].Tail(30))
		figures.note("quorum lost %.0fs: replica %d /readyz passed again %.1fs after both members were healthy", backAt.Sub(lostAt).Seconds(), i, at.Sub(backAt).Seconds())
		t.Logf("replica %d ready %.1fs after quorum was restored", i, at.Sub(backAt).Seconds())
	}
	burst.Wait()
	for i := range c.servers {
		waitProgress(t, l, i, 30, backAt, 2*time.Minute)
	}

	stop()
	l.finalReads(t)
	l.check(t, dir, fmt.Sprintf("etcd quorum loss (2 of 3 members down %s) under load, two replicas", outage))
	// Without quorum no call can succeed: calls either wait for its return
	// or fail. (Whether any fails within a short outage varies.) Answers
	// that arrived within a second of the kill were on their way already.
	var answeredWithoutQuorum, failedDuring int
	for i := range c.servers {
		okFrom, failedFrom := l.counts(i, lostAt.Add(time.Second))
		okTo, failedTo := l.counts(i, restoreAt)
		answeredWithoutQuorum += okFrom - okTo
		failedDuring += failedFrom - failedTo
	}
	assert.Zero(t, answeredWithoutQuorum, "calls answered 2xx/409 while two of three members were down")
	figures.note("quorum loss %s: %d calls failed during it, none succeeded", outage, failedDuring)
	assertErrorAnswers(t, l, fmt.Sprintf("quorum loss %s", outage))
	assertServersAlive(t, c.servers)
}

// cutReplica blackholes, in both directions, everything between replica r
// and every etcd member; healReplica ends it.
func (c *raftCluster) cutReplica(r int) {
	for _, p := range c.proxies[r] {
		p.Blackhole(framework.BothDirections)
	}
}

func (c *raftCluster) healReplica(r int) {
	for _, p := range c.proxies[r] {
		p.Heal()
	}
}

// TestClusterPartitions partitions, under load and one at a time: one
// replica from all of etcd; a follower from its peers; the leader from its
// peers. The other replica answers every call while the first is cut off;
// with a member cut off from its peers the majority elects a leader and
// both replicas keep making progress; every error answer is a 503/504
// Status within the request timeout; nothing acknowledged is lost and the
// history is linearizable.
func TestClusterPartitions(t *testing.T) {
	requireSuite(t)
	t.Parallel()
	dir := testDir(t)
	start := time.Now()
	c := startRaftCluster(t, dir)
	t.Logf("at %s: cluster up", time.Since(start).Round(time.Second))
	l, stop, watches := c.underLoad(t, "partitions", "pt", 30)
	hold := scale(10*time.Second, 20*time.Second)

	// One replica from all of etcd. Its /readyz must fail (this shows the
	// cut took effect); its calls in flight may fail or, retried by the
	// etcd client, succeed after the heal.
	cutAt := time.Now()
	c.cutReplica(1)
	figures.fault("replica partitioned from all etcd members")
	at, err := watches[1].waitFor(cutAt, time.Minute, "the cut-off replica unready", isUnready)
	require.NoError(t, err)
	unreadyAfter := at.Sub(cutAt)
	waitProgress(t, l, 0, 30, cutAt, time.Minute)
	time.Sleep(time.Until(cutAt.Add(hold)))
	healedAt := time.Now()
	c.healReplica(1)
	at, err = watches[1].waitFor(healedAt, 2*time.Minute, "the cut-off replica ready again", isReady)
	require.NoError(t, err, c.servers[1].Tail(30))
	readyAfter := at.Sub(healedAt)
	waitProgress(t, l, 1, 20, healedAt, 2*time.Minute)
	_, survivorFailed := l.counts(0, cutAt)
	assert.Zero(t, survivorFailed, "calls to the replica that kept etcd failed")
	assert.Empty(t, watches[0].failures(cutAt, time.Now()), "the replica that kept etcd went unready")
	_, cutFailed := l.counts(1, cutAt)
	// Cut off from etcd, the replica can answer no call; answers that
	// arrived within a second of the cut were on their way already.
	okFrom, _ := l.counts(1, cutAt.Add(time.Second))
	okTo, _ := l.counts(1, healedAt)
	assert.Zero(t, okFrom-okTo, "the replica cut off from etcd answered calls 2xx/409")
	figures.note("replica cut off from etcd for %s: /readyz failed after %.1fs, passed again %.1fs after the heal; %d of its calls failed; the other replica answered all",
		hold, unreadyAfter.Seconds(), readyAfter.Seconds(), cutFailed)
	t.Logf("at %s: replica cut off %s: unready after %.1fs, ready %.1fs after heal, %d calls failed", time.Since(start).Round(time.Second), hold, unreadyAfter.Seconds(), readyAfter.Seconds(), cutFailed)

	// One member from its peers: a follower, then the leader (-short: the
	// leader only).
	type isolation struct {
		what     string
		from, to time.Time
	}
	var isolations []isolation
	for _, role := range scale([]string{"leader"}, []string{"follower", "leader"}) {
		leader, err := c.etcd.WaitLeader(context.Background(), time.Minute)
		require.NoError(t, err)
		victim := leader
		if role == "follower" {
			victim = (leader + 1) % len(c.etcd.Members)
		}
		cutAt := time.Now()
		c.etcd.IsolateMember(victim)
		figures.fault("etcd " + role + " partitioned from its peers")
		majorityLeader, err := c.etcd.WaitLeader(context.Background(), time.Minute, victim)
		require.NoError(t, err)
		if role == "leader" {
			assert.NotEqual(t, victim, majorityLeader, "the isolated leader still leads the majority")
		}
		electedAfter := time.Since(cutAt)
		for i := range c.servers {
			waitProgress(t, l, i, 20, cutAt, 2*time.Minute)
		}
		probeIsolatedMember(t, c.etcd.Members[victim].URL, role)
		time.Sleep(time.Until(cutAt.Add(hold)))
		healedAt := time.Now()
		c.etcd.HealPeers()
		_, err = c.etcd.WaitLeader(context.Background(), time.Minute)
		require.NoError(t, err)
		rejoined := time.Since(healedAt)
		for i := range c.servers {
			waitProgress(t, l, i, 20, time.Now(), 2*time.Minute)
		}
		var unready []string
		for i, w := range watches {
			if f := w.failures(cutAt, time.Now()); len(f) > 0 {
				unready = append(unready, fmt.Sprintf("replica %d: %d probes %v", i, len(f), f))
			}
		}
		// A majority of etcd serves throughout, so both replicas stay
		// ready: their etcd checks ask every member and need one with a
		// leader (pkg/apiserver/etcdhealth.go).
		assert.Empty(t, unready, "a replica went unready while a majority of etcd was healthy (%s isolated)", role)
		_, f0 := l.counts(0, cutAt)
		_, f1 := l.counts(1, cutAt)
		figures.note("etcd %s %s cut off from its peers for %s: majority leader after %.1fs, all members agree %.1fs after the heal; failed calls %d; unready probes %v",
			role, c.etcd.Members[victim].Name, hold, electedAfter.Seconds(), rejoined.Seconds(), f0+f1, unready)
		t.Logf("at %s: %s %s isolated: leader after %.1fs; rejoined %.1fs after heal; %d calls failed; unready %v", time.Since(start).Round(time.Second), role, c.etcd.Members[victim].Name, electedAfter.Seconds(), rejoined.Seconds(), f0+f1, unready)
		isolations = append(isolations, isolation{fmt.Sprintf("etcd %s %s cut off from its peers", role, c.etcd.Members[victim].Name), cutAt, time.Now()})
	}

	stop()
	// Every call in flight while a member was cut off from its peers, and
	// until the cluster agreed again, ended within the request timeout
	// (with the suite's margin for a shared machine): an isolated member
	// must not hold a replica's calls past it. The load has stopped, so
	// every such call has ended.
	for _, iso := range isolations {
		slowest, calls := l.rec.slowestDuring(iso.from, iso.to)
		settled := iso.from.Add(isolationNoticed)
		slowestAfter, callsAfter := l.rec.slowestStarted(settled, iso.to)
		figures.note("%s: %d calls in flight, the slowest answered in %s; of the %d made once the member knew it had no leader, the slowest in %s",
			iso.what, calls, slowest.Round(time.Millisecond), callsAfter, slowestAfter.Round(time.Millisecond))
		t.Logf("%s: %d calls in flight, slowest %s; %d calls made after %s, slowest %s", iso.what, calls, slowest, callsAfter, isolationNoticed, slowestAfter)
		assert.Positive(t, calls, "%s: no call was in flight", iso.what)
		assert.Positive(t, callsAfter, "%s: no call was made after the member knew it was cut off", iso.what)
		// The calls the member took before it noticed wait for etcd's own
		// request timeout; no client of etcd can shorten it.
		assert.Less(t, slowest, 2*etcdRequestTimeout+isolationSlack, "%s: a call took longer than twice etcd's request timeout", iso.what)
		// Once the member knows, it refuses what requires a leader at once,
		// and the call goes to another member.
		assert.Less(t, slowestAfter, isolatedCallBound, "%s: a call made after the member knew it had no leader was slow", iso.what)
	}
	l.finalReads(t)
	l.check(t, dir, "partitions (replica from etcd, follower and leader from peers) under load, 3 members, two replicas")
	assertErrorAnswers(t, l, "partitions")
	assertServersAlive(t, c.servers)
}

// The bounds on calls while one etcd member is cut off from its peers
// (TestClusterPartitions). etcdRequestTimeout is how long an etcd member
// holds a request it cannot complete: 5 s plus two election timeouts (1 s
// each by default). A member notices that it has lost its leader (a
// follower) or its quorum (a leader, with etcd's check-quorum) within about
// one election timeout; isolationNoticed gives it two, and a margin for a
// loaded machine. From then on it refuses what requires a leader at once,
// and a call is answered within isolatedCallBound. A call the member took
// before it noticed waits out etcd's request timeout, and can meet it twice
// (a read, then the write); isolationSlack is the margin for a shared
// machine.
const (
	etcdRequestTimeout = 7 * time.Second
	isolationNoticed   = 3 * time.Second
	isolationSlack     = 3 * time.Second
	isolatedCallBound  = 5 * time.Second
)

// probeIsolatedMember shows what a member cut off from its peers does with
// a read, as docs/reliability.md says: it holds a plain one past a 3 s
// deadline, and refuses one that requires a leader at once.
func probeIsolatedMember(t *testing.T, url, role string) {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{url}, DialTimeout: 10 * time.Second, MaxUnaryRetries: 1, Logger: zap.NewNop()})
	require.NoError(t, err)
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	started := time.Now()
	_, err = cli.Get(ctx, "/probe")
	cancel()
	held := time.Since(started)
	plainErr := err
	assert.Error(t, plainErr, "the isolated %s served a linearizable read", role)
	ctx, cancel = context.WithTimeout(context.Background(), 3*time.Second)
	started = time.Now()
	_, err = cli.Get(clientv3.WithRequireLeader(ctx), "/probe")
	cancel()
	refused := time.Since(started)
	assert.ErrorIs(t, err, rpctypes.ErrNoLeader, "the isolated %s, asked for a read that requires a leader", role)
	assert.Less(t, refused, time.Second, "the isolated %s took long to refuse a read that requires a leader", role)
	figures.note("isolated %s: a plain read ended after %s (%v); one requiring a leader was refused in %s",
		role, held.Round(time.Millisecond), plainErr, refused.Round(time.Millisecond))
}

// TestClusterReplicaFrozen stops one replica with SIGSTOP under load, keeps
// it frozen, and resumes it. The other replica answers every call and stays
// ready meanwhile; the frozen one's calls in flight are answered after the
// resume, and the history (checked with porcupine) shows none of its writes
// applied twice or lost.
func TestClusterReplicaFrozen(t *testing.T) {
	requireSuite(t)
	t.Parallel()
	dir := testDir(t)
	c := startRaftCluster(t, dir)
	l, stop, watches := c.underLoad(t, "replica-frozen", "fz", 30)

	frozen := c.servers[1]
	freeze := 20 * time.Second
	pausedAt := time.Now()
	require.NoError(t, frozen.Pause())
	figures.fault("vm-apiserver SIGSTOP under load")
	waitProgress(t, l, 0, 30, pausedAt, time.Minute)
	time.Sleep(time.Until(pausedAt.Add(freeze)))
	resumedAt := time.Now()
	require.NoError(t, frozen.Resume())
	figures.fault("vm-apiserver SIGCONT")
	at, err := watches[1].waitFor(resumedAt, time.Minute, "the resumed replica answering /readyz 200", isReady)
	require.NoError(t, err, frozen.Tail(30))
	waitProgress(t, l, 1, 30, resumedAt, 2*time.Minute)

	_, survivorFailed := l.counts(0, pausedAt)
	assert.Zero(t, survivorFailed, "calls to the replica that was not frozen failed")
	assert.Empty(t, watches[0].failures(pausedAt, time.Now()), "the replica that was not frozen went unready")
	answeredLate, _ := l.counts(1, resumedAt)
	figures.note("replica frozen (SIGSTOP) %s: /readyz 200 %.1fs after SIGCONT; the other replica answered every call", freeze, at.Sub(resumedAt).Seconds())
	t.Logf("frozen %s; ready %.1fs after SIGCONT; %d answers from it since", freeze, at.Sub(resumedAt).Seconds(), answeredLate)

	stop()
	l.finalReads(t)
	l.check(t, dir, fmt.Sprintf("replica SIGSTOP %s under load, 3 members, two replicas", freeze))
	assertErrorAnswers(t, l, "replica frozen")
	// The calls in flight when it froze waited out the freeze.
	assert.GreaterOrEqual(t, l.rec.slowest, freeze/2, "no call waited on the frozen replica: the freeze was not observed")
	assertServersAlive(t, c.servers)
}

// TestRollingUpgrade runs the pinned previous build ($VM_APISERVER_PREVIOUS_BIN,
// which hack/test-reliability.sh builds) side by side with the current one
// on the same etcd under load, then replaces it with the current one on the
// same data dir and port. The current replica answers every call and stays
// ready throughout; both list the same objects afterwards; the history of
// the mixed versions is linearizable and nothing acknowledged is lost.
func TestRollingUpgrade(t *testing.T) {
	requireSuite(t)
	previous := os.Getenv("VM_APISERVER_PREVIOUS_BIN")
	if previous == "" {
		t.Skip("VM_APISERVER_PREVIOUS_BIN is not set; hack/test-reliability.sh builds the pinned previous build")
	}
	t.Parallel()
	dir := testDir(t)
	c := startRaftCluster(t, dir, previous, bins.VMAPIServer)
	// Both versions serve side by side for a while.
	l, stop, watches := c.underLoad(t, "upgrade", "up", scale(60, 200))

	old := c.servers[0]
	replacedAt := time.Now()
	require.NoError(t, old.Stop(30*time.Second), old.Tail(30))
	figures.fault("pinned previous build stopped (SIGTERM) under load")
	// From here on, calls to this replica reach the current build.
	l.previous[0].Store(false)
	old.Path = bins.VMAPIServer
	old.restart(t)
	figures.fault("replaced by the current build on the same data dir")
	upAt := time.Now()
	waitProgress(t, l, 0, 30, upAt, 2*time.Minute)
	waitProgress(t, l, 1, 30, upAt, 2*time.Minute)

	_, currentFailed := l.counts(1, replacedAt)
	assert.Zero(t, currentFailed, "calls to the current replica failed during the upgrade")
	assert.Empty(t, watches[1].failures(replacedAt, time.Now()), "the current replica went unready during the upgrade")
	_, oldFailed := l.counts(0, replacedAt)
	figures.note("rolling upgrade: pinned previous build replaced in %.1fs (SIGTERM to /readyz 200); %d calls to it failed meanwhile; the current replica answered every call", upAt.Sub(replacedAt).Seconds(), oldFailed)
	t.Logf("replaced in %.1fs; %d calls to the replaced replica failed", upAt.Sub(replacedAt).Seconds(), oldFailed)

	stop()
	l.finalReads(t)
	l.check(t, dir, "rolling upgrade from the pinned previous build under load, 3 members, two replicas")
	assertSameData(t, l.ns, l.servers)
	// While the replaced replica is down its port refuses connections; such
	// calls were never sent. Every other error must be a 503/504 Status.
	l.rec.mu.Lock()
	var unexpected []string
	for _, e := range l.rec.noAnswer {
		if !strings.Contains(e, "dial tcp "+strings.TrimPrefix(old.URL, "https://")) || !strings.Contains(e, "connection refused") {
			unexpected = append(unexpected, e)
		}
	}
	l.rec.noAnswer = nil
	l.rec.mu.Unlock()
	assert.Empty(t, unexpected, "calls to a live replica that got no answer at all")
	assertErrorAnswers(t, l, "rolling upgrade")
	for _, s := range c.servers {
		assertNoPanic(t, s.Process)
	}
}
