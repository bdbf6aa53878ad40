// Package embeddedetcd runs a single-member etcd inside the vm-apiserver
// process, for the one-command standalone mode and for tests.
package embeddedetcd

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
)

// Server is a running embedded etcd.
type Server struct {
	etcd *embed.Etcd
	// ClientURL is the address that etcd clients connect to.
	ClientURL string
}

// Start runs a single-member etcd whose data lives in dir, listening on
// loopback ports chosen by the kernel, and waits until it serves. Data in dir
// survives a restart. It gives up when ctx ends or after the timeout.
func Start(ctx context.Context, dir string, timeout time.Duration) (*Server, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating etcd data dir: %w", err)
	}
	cfg := embed.NewConfig()
	cfg.Name = "vm-apiserver"
	cfg.Dir = filepath.Clean(dir)
	// Port 0 lets the kernel pick free ports, so several servers (and tests)
	// can run side by side; the member's identity lives in its data, not in
	// its address, so a restart on new ports is fine for a single member.
	loopback := url.URL{Scheme: "http", Host: "127.0.0.1:0"}
	cfg.ListenClientUrls = []url.URL{loopback}
	cfg.AdvertiseClientUrls = []url.URL{loopback}
	cfg.ListenPeerUrls = []url.URL{loopback}
	// A one-member cluster never dials its own peer address; etcd only needs
	// a well-formed one to name the member.
	cfg.AdvertisePeerUrls = []url.URL{{Scheme: "http", Host: "127.0.0.1:2380"}}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.LogLevel = "error"
	cfg.LogOutputs = []string{"stderr"}

	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, fmt.Errorf("starting embedded etcd: %w", err)
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("embedded etcd failed: %w", err)
	case <-timer.C:
		e.Close()
		return nil, fmt.Errorf("embedded etcd not ready after %s", timeout)
	case <-ctx.Done():
		e.Close()
		return nil, ctx.Err()
	}
	return &Server{etcd: e, ClientURL: "http://" + e.Clients[0].Addr().String()}, nil
}

// Err reports a fatal error of the running etcd.
func (s *Server) Err() <-chan error { return s.etcd.Err() }

// Close stops etcd and waits until its data is flushed.
func (s *Server) Close() { s.etcd.Close() }
