package standalone

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
)

func TestEtcdDataSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()

	put := func(s *Etcd) {
		c, err := clientv3.New(clientv3.Config{Endpoints: []string{s.ClientURL}, DialTimeout: 5 * time.Second})
		require.NoError(t, err)
		defer c.Close()
		_, err = c.Put(ctx, "/k", "v")
		require.NoError(t, err)
	}
	get := func(s *Etcd) string {
		c, err := clientv3.New(clientv3.Config{Endpoints: []string{s.ClientURL}, DialTimeout: 5 * time.Second})
		require.NoError(t, err)
		defer c.Close()
		resp, err := c.Get(ctx, "/k")
		require.NoError(t, err)
		require.Len(t, resp.Kvs, 1)
		return string(resp.Kvs[0].Value)
	}

	s, err := StartEtcd(ctx, dir, 30*time.Second)
	require.NoError(t, err)
	put(s)
	s.Close()

	s, err = StartEtcd(ctx, dir, 30*time.Second)
	require.NoError(t, err)
	defer s.Close()
	require.Equal(t, "v", get(s))
}
