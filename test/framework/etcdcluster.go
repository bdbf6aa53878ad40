package framework

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// EtcdCluster is an etcd cluster of several members, each a process on
// loopback ports. Every member advertises, as its peer URL, a FaultProxy in
// front of its peer port, so all raft traffic to a member passes its proxy
// and partitions can be made there.
type EtcdCluster struct {
	Members []*Etcd
	// PeerProxies[i] forwards to member i's peer port.
	PeerProxies []*FaultProxy
}

// StartEtcdCluster starts an n-member cluster for a test, with member i
// named <name>-<i> and its data in dir/<name>-<i>.data, and waits until
// every member is healthy. Members and proxies end with the test.
func StartEtcdCluster(t testing.TB, bin, dir, name string, n int, extra ...string) *EtcdCluster {
	t.Helper()
	c := &EtcdCluster{}
	ports, err := FreePorts(2 * n)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, n)
	initial := make([]string, n)
	for i := range n {
		names[i] = fmt.Sprintf("%s-%d", name, i)
		p := StartFaultProxy(t, fmt.Sprintf("127.0.0.1:%d", ports[2*i+1]))
		c.PeerProxies = append(c.PeerProxies, p)
		initial[i] = names[i] + "=" + p.URL("http")
	}
	for i := range n {
		client := fmt.Sprintf("http://127.0.0.1:%d", ports[2*i])
		dataDir := filepath.Join(dir, names[i]+".data")
		args := append([]string{
			"--name=" + names[i],
			"--data-dir=" + dataDir,
			"--listen-client-urls=" + client,
			"--advertise-client-urls=" + client,
			fmt.Sprintf("--listen-peer-urls=http://127.0.0.1:%d", ports[2*i+1]),
			"--initial-advertise-peer-urls=" + c.PeerProxies[i].URL("http"),
			"--initial-cluster=" + strings.Join(initial, ","),
			"--initial-cluster-state=new",
			"--initial-cluster-token=" + name,
			"--log-level=warn",
		}, extra...)
		e := &Etcd{Process: NewProcess(dir, names[i], bin, args...), URL: client, DataDir: dataDir}
		e.StartForTest(t)
		c.Members = append(c.Members, e)
	}
	for _, p := range c.PeerProxies {
		p.SetIdentify(c.peerSource)
	}
	if err := c.WaitHealthy(context.Background(), 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	return c
}

// peerSource names the member that opened a peer connection: etcd's raft
// transport sends its own peer URLs in the X-PeerURLs header of every
// stream and pipeline request.
func (c *EtcdCluster) peerSource(head []byte) string {
	lower := strings.ToLower(string(head))
	_, rest, ok := strings.Cut(lower, "\r\nx-peerurls:")
	if !ok {
		return ""
	}
	urls, _, _ := strings.Cut(rest, "\r\n")
	for i, p := range c.PeerProxies {
		if strings.Contains(urls, p.Addr) {
			return c.Members[i].Name
		}
	}
	return ""
}

// IsolateMember cuts member i off from its peers in both directions: what
// reaches its peer proxy is dropped, and so is what it sends through the
// proxies of the others. Client traffic is not touched. HealPeers ends it.
func (c *EtcdCluster) IsolateMember(i int) {
	for j, p := range c.PeerProxies {
		if j == i {
			p.Blackhole(BothDirections)
		} else {
			p.BlackholeSource(c.Members[i].Name)
		}
	}
}

// HealPeers ends every fault of the peer proxies.
func (c *EtcdCluster) HealPeers() {
	for _, p := range c.PeerProxies {
		p.Heal()
	}
}

// Endpoints are the client URLs of the members.
func (c *EtcdCluster) Endpoints() []string {
	out := make([]string, len(c.Members))
	for i, m := range c.Members {
		out[i] = m.URL
	}
	return out
}

// WaitHealthy waits until every running member reports itself healthy.
func (c *EtcdCluster) WaitHealthy(ctx context.Context, timeout time.Duration) error {
	for _, m := range c.Members {
		if m.Exited() {
			continue
		}
		if err := m.WaitHealthy(ctx, timeout); err != nil {
			return fmt.Errorf("%w\n%s", err, m.Tail(30))
		}
	}
	return nil
}

// Leader asks every running member, except those in skip, for its status
// (the maintenance API) and returns the index of the member they agree
// leads. It fails if they disagree or one knows no leader.
func (c *EtcdCluster) Leader(ctx context.Context, skip ...int) (int, error) {
	var leader uint64
	ids := map[uint64]int{}
	for i, m := range c.Members {
		if m.Exited() || slices.Contains(skip, i) {
			continue
		}
		id, lead, err := memberStatus(ctx, m.URL)
		if err != nil {
			return -1, fmt.Errorf("status of %s: %w", m.Name, err)
		}
		ids[id] = i
		if lead == 0 {
			return -1, fmt.Errorf("%s knows no leader", m.Name)
		}
		if leader != 0 && lead != leader {
			return -1, fmt.Errorf("members disagree on the leader: %x and %x", leader, lead)
		}
		leader = lead
	}
	i, ok := ids[leader]
	if !ok {
		return -1, errors.New("the leader is not one of the members asked")
	}
	return i, nil
}

// WaitLeader polls Leader until the running members, except those in skip,
// agree on one of them.
func (c *EtcdCluster) WaitLeader(ctx context.Context, timeout time.Duration, skip ...int) (int, error) {
	leader := -1
	err := Poll(ctx, 100*time.Millisecond, timeout, "an etcd leader", func(ctx context.Context) (bool, error) {
		var err error
		leader, err = c.Leader(ctx, skip...)
		return err == nil, err
	})
	return leader, err
}

// memberStatus returns a member's id and the leader it knows (0: none).
func memberStatus(ctx context.Context, endpoint string) (id, leader uint64, err error) {
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: 5 * time.Second})
	if err != nil {
		return 0, 0, err
	}
	defer func() { _ = cli.Close() }()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	st, err := cli.Status(ctx, endpoint)
	if err != nil {
		return 0, 0, err
	}
	return st.Header.MemberId, st.Leader, nil
}
