package apiserver

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apiserver/pkg/storage/storagebackend"

	"github.com/vm-apiserver/vm-apiserver/pkg/standalone"
)

// closedPort is a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return "http://" + addr
}

func TestEtcdHealthChecks(t *testing.T) {
	etcd, err := standalone.StartEtcd(context.Background(), t.TempDir(), time.Minute)
	require.NoError(t, err)
	t.Cleanup(etcd.Close)

	config := func(servers ...string) storagebackend.Config {
		return storagebackend.Config{
			Prefix:             "/vm-apiserver",
			Transport:          storagebackend.TransportConfig{ServerList: servers},
			HealthcheckTimeout: time.Second,
			ReadycheckTimeout:  time.Second,
		}
	}
	for _, tc := range []struct {
		name    string
		servers []string
		healthy bool
	}{
		{"one member that answers", []string{etcd.ClientURL}, true},
		{"one of two members answers", []string{closedPort(t), etcd.ClientURL}, true},
		{"no member answers", []string{closedPort(t), closedPort(t)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stop := make(chan struct{})
			defer close(stop)
			health, ready, err := EtcdHealthChecks(config(tc.servers...), stop)
			require.NoError(t, err)
			assert.Equal(t, "etcd", health.Name())
			assert.Equal(t, "etcd-readiness", ready.Name())
			started := time.Now()
			healthErr, readyErr := health.Check(nil), ready.Check(nil)
			assert.Less(t, time.Since(started), 5*time.Second, "each probe ends within its timeout")
			if tc.healthy {
				assert.NoError(t, healthErr)
				assert.NoError(t, readyErr)
			} else {
				assert.ErrorContains(t, healthErr, "error getting data from etcd")
				assert.ErrorContains(t, readyErr, "error getting data from etcd")
			}
		})
	}

	t.Run("an election passes, a longer outage fails", func(t *testing.T) {
		dir := t.TempDir()
		member, err := standalone.StartEtcd(context.Background(), dir, time.Minute)
		require.NoError(t, err)
		stop := make(chan struct{})
		defer close(stop)
		_, ready, err := EtcdHealthChecks(config(member.ClientURL), stop)
		require.NoError(t, err)
		require.NoError(t, ready.Check(nil))
		member.Close()
		time.Sleep(600 * time.Millisecond) // past the probe's rate limit
		assert.NoError(t, ready.Check(nil), "within the grace of an election")
		time.Sleep(electionGrace)
		assert.ErrorContains(t, ready.Check(nil), "error getting data from etcd")
	})

	_, _, err = EtcdHealthChecks(config(), make(chan struct{}))
	assert.Error(t, err, "no servers")
}
