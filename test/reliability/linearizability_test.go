package reliability

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/vm-apiserver/vm-apiserver/test/framework"
)

// replicaPair is two vm-apiserver processes on one etcd process, trusting
// the same standalone CA, so that one admin certificate works on both.
type replicaPair struct {
	etcd    *framework.Etcd
	servers []*vmServer
	creds   *standaloneCreds
}

// startReplicaPair starts etcd and two replicas. The credentials are made
// once, in the first replica's data dir (as vm-apiserver itself makes them
// on its first start); the second replica gets a copy of the CA and issues
// its own serving and admin certificates from it.
func startReplicaPair(t *testing.T, dir string, extra ...string) *replicaPair {
	t.Helper()
	return startReplicaPairOn(t, dir, startEtcd(t, dir, "etcd"), extra...)
}

// startReplicaPairOn is startReplicaPair on an etcd the test started.
func startReplicaPairOn(t *testing.T, dir string, etcd *framework.Etcd, extra ...string) *replicaPair {
	t.Helper()
	p := &replicaPair{etcd: etcd}
	dataA, dataB := filepath.Join(dir, "replica-a"), filepath.Join(dir, "replica-b")
	p.creds = ensureStandaloneCreds(t, dataA)
	seedCA(t, dataA, dataB)
	args := append([]string{"--etcd-servers=" + p.etcd.URL}, extra...)
	for i, data := range []string{dataA, dataB} {
		name := []string{"vm-apiserver-a", "vm-apiserver-b"}[i]
		p.servers = append(p.servers, startVMServer(t, dir, name, data, p.creds.ca.Pool(), args...))
	}
	return p
}

// clients returns one admin client per replica.
func (p *replicaPair) clients(t *testing.T) []*apiClient {
	return adminClients(t, p.servers, p.creds)
}

// adminClients returns one client per server with the admin certificate,
// closed when the test ends.
func adminClients(t *testing.T, servers []*vmServer, creds *standaloneCreds) []*apiClient {
	cs := make([]*apiClient, 0, len(servers))
	for _, s := range servers {
		c := newClient(s.URL, creds.ca.Pool(), &creds.admin)
		t.Cleanup(c.close)
		cs = append(cs, c)
	}
	return cs
}

// TestLinearizableAcrossReplicas runs concurrent random actions, runStrategy
// updates, status writes and reads against two replicas on one etcd, and
// checks the history against the lifecycle contract with porcupine: every
// 202 must be visible and every 409 justified at its linearization point.
func TestLinearizableAcrossReplicas(t *testing.T) {
	requireSuite(t)
	t.Parallel()
	dir := testDir(t)
	pair := startReplicaPair(t, dir)

	l := &load{
		ns:      "linearizability",
		vms:     scenarioVMs("lin"),
		servers: pair.clients(t),
		rec:     newRecorder(),
		workers: scale(4, 6),
		maxOps:  scale(600, 3000),
		qps:     scale(15.0, 20.0),
		ledger:  true,
	}
	l.setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), scale(40*time.Second, 4*time.Minute))
	defer cancel()
	l.run(ctx, t.Name())
	l.finalReads(t)
	l.check(t, dir, "two replicas, no faults")

	// Without faults every call is answered definitely, promptly.
	assert.Empty(t, l.rec.hangs, "requests without an answer")
	assert.Less(t, l.rec.slowest, serverRequestTimeout, "slowest answer without faults")
	assert.Empty(t, l.rec.shapes, "error answers without faults")
	assertServersAlive(t, pair.servers)
}
