package framework

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/vm-apiserver/vm-apiserver/pkg/standalone"
)

// VMAPIServerOptions are what differs between the vm-apiservers the suites
// start as processes.
type VMAPIServerOptions struct {
	// Bin is the vm-apiserver program.
	Bin string
	// Dir holds its log, Name.log.
	Dir string
	// Name names the process; default "vm-apiserver".
	Name string
	// DataDir is its --data-dir; default Dir/Name.data.
	DataDir string
	// Port is its secure port on 127.0.0.1; 0 picks a free one.
	Port int
	// EtcdURL is its --etcd-servers; empty, it runs its own etcd
	// (standalone mode's embedded etcd).
	EtcdURL string
	// Env is added to its environment.
	Env []string
	// Args are more flags, after the others, which they override: the
	// server starts with --bind-address=127.0.0.1, --secure-port,
	// --data-dir, --etcd-servers (with EtcdURL) and --runtime=none (nothing
	// but the suites writes the VMs' status).
	Args []string
	// Roots verify its serving certificate while waiting for /readyz; nil
	// means the standalone CA it writes into its data dir.
	Roots *x509.CertPool
	// ServerName is the name its serving certificate is verified for;
	// empty, 127.0.0.1.
	ServerName string
	// WaitReady replaces the wait for /readyz; default
	// s.WaitReady(ctx, ReadyTimeout).
	WaitReady func(ctx context.Context, s *VMAPIServer) error
	// ReadyTimeout is how long the default wait lasts; default 2 minutes.
	ReadyTimeout time.Duration
}

// VMAPIServer is a vm-apiserver run as a process on a fixed loopback port,
// so that a restart serves at the same URL.
type VMAPIServer struct {
	*Process
	// URL is the base URL, https://127.0.0.1:Port.
	URL  string
	Port int
	// DataDir is its --data-dir.
	DataDir string
	// Roots verify its serving certificate (nil: the standalone CA in
	// DataDir), for ServerName (empty: 127.0.0.1).
	Roots      *x509.CertPool
	ServerName string
	// Started is when the process was last started.
	Started time.Time

	waitReady func(ctx context.Context, s *VMAPIServer) error
}

// NewVMAPIServer prepares a vm-apiserver process. StartVMAPIServer also
// starts it and waits until it is ready.
func NewVMAPIServer(o VMAPIServerOptions) (*VMAPIServer, error) {
	name := o.Name
	if name == "" {
		name = "vm-apiserver"
	}
	port := o.Port
	if port == 0 {
		ports, err := FreePorts(1)
		if err != nil {
			return nil, err
		}
		port = ports[0]
	}
	dataDir := o.DataDir
	if dataDir == "" {
		dataDir = filepath.Join(o.Dir, name+".data")
	}
	args := []string{
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--data-dir=" + dataDir,
	}
	if o.EtcdURL != "" {
		args = append(args, "--etcd-servers="+o.EtcdURL)
	}
	args = append(append(args, "--runtime=none"), o.Args...)
	s := &VMAPIServer{
		Process:    NewProcess(o.Dir, name, o.Bin, args...),
		URL:        fmt.Sprintf("https://127.0.0.1:%d", port),
		Port:       port,
		DataDir:    dataDir,
		Roots:      o.Roots,
		ServerName: o.ServerName,
	}
	s.Env = o.Env
	timeout := o.ReadyTimeout
	if timeout == 0 {
		timeout = 2 * time.Minute
	}
	s.waitReady = o.WaitReady
	if s.waitReady == nil {
		s.waitReady = func(ctx context.Context, s *VMAPIServer) error { return s.WaitReady(ctx, timeout) }
	}
	return s, nil
}

// StartVMAPIServer prepares and starts a vm-apiserver and waits until it is
// ready. If it does not get ready, the process is stopped and the error
// holds the end of its log. The caller stops it (Process.StopAtCleanup in
// a test).
func StartVMAPIServer(ctx context.Context, o VMAPIServerOptions) (*VMAPIServer, error) {
	s, err := NewVMAPIServer(o)
	if err != nil {
		return nil, err
	}
	if err := s.Restart(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Restart starts the process (again, with the same arguments) and waits
// until it is ready; if it does not get ready, it stops it.
func (s *VMAPIServer) Restart(ctx context.Context) error {
	s.Started = time.Now()
	if err := s.Start(); err != nil {
		return err
	}
	if err := s.waitReady(ctx, s); err != nil {
		_ = s.Stop(30 * time.Second)
		return fmt.Errorf("%s did not get ready: %w\n%s", s.Name, err, s.Tail(40))
	}
	return nil
}

// WaitReady polls /readyz, as an anonymous client, until it answers 200. It
// gives up at once if the process exits.
func (s *VMAPIServer) WaitReady(ctx context.Context, timeout time.Duration) error {
	return Poll(ctx, 100*time.Millisecond, timeout, s.Name+" /readyz", func(ctx context.Context) (bool, error) {
		if err := s.Alive(); err != nil {
			return false, err
		}
		roots, err := s.roots()
		if err != nil {
			// A standalone server writes its CA before it serves.
			return false, err
		}
		cfg := &tls.Config{RootCAs: roots, ServerName: s.ServerName, MinVersion: tls.VersionTLS12}
		hc := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
		defer hc.CloseIdleConnections()
		return ReadyzOK(ctx, hc, s.URL)
	})
}

// roots are Roots, or the standalone CA in the data dir.
func (s *VMAPIServer) roots() (*x509.CertPool, error) {
	if s.Roots != nil {
		return s.Roots, nil
	}
	data, err := os.ReadFile(filepath.Join(s.DataDir, standalone.CAFile))
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, errors.New("no certificate in " + standalone.CAFile)
	}
	return pool, nil
}
