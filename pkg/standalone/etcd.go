package standalone

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
)

// maxSocketPath is the longest Unix socket path Linux accepts, less room
// for the peer socket's longer name.
const maxSocketPath = 100

// Etcd is a running single-member etcd inside the vm-apiserver process, used
// when --etcd-servers is empty, and by tests.
type Etcd struct {
	etcd *embed.Etcd
	// ClientURL is the address that etcd clients connect to.
	ClientURL string
}

// StartEtcd runs a single-member etcd whose data lives in dir, reached through
// a Unix socket in dir, and waits until it serves. Data in dir survives a
// restart. It gives up when ctx ends or after the timeout.
func StartEtcd(ctx context.Context, dir string, timeout time.Duration) (*Etcd, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating etcd data dir: %w", err)
	}
	// MkdirAll keeps the mode of a directory that exists already.
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, err
	}
	cfg := embed.NewConfig()
	cfg.Name = "vm-apiserver"
	cfg.Dir = filepath.Clean(dir)
	// Clients reach etcd through a Unix socket inside the data dir, which
	// only its owner may enter (0700): etcd has no authentication of its
	// own here, so a TCP port would let any local user read and write every
	// VM past the API server's authentication, authorization and audit.
	socket := url.URL{Scheme: "unix", Path: filepath.Join(cfg.Dir, "etcd.sock")}
	if len(socket.Path) > maxSocketPath {
		return nil, fmt.Errorf("the etcd socket path %s is longer than the %d bytes Unix sockets allow: use a shorter --data-dir", socket.Path, maxSocketPath)
	}
	if err := os.Remove(socket.Path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("removing stale etcd socket: %w", err)
	}
	cfg.ListenClientUrls = []url.URL{socket}
	cfg.AdvertiseClientUrls = []url.URL{socket}
	// The peer listener serves raft traffic between members, which a single
	// member never gets; a socket beside the client one keeps it off the
	// network too. (etcd takes a peer socket's path from the URL's host.)
	peerSocket := filepath.Join(cfg.Dir, "peer.sock")
	if err := os.Remove(peerSocket); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("removing stale etcd peer socket: %w", err)
	}
	cfg.ListenPeerUrls = []url.URL{{Scheme: "unix", Host: peerSocket}}
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
	return &Etcd{etcd: e, ClientURL: "unix://" + socket.Path}, nil
}

// Err reports a fatal error of the running etcd.
func (e *Etcd) Err() <-chan error { return e.etcd.Err() }

// Close stops etcd and waits until its data is flushed.
func (e *Etcd) Close() { e.etcd.Close() }
