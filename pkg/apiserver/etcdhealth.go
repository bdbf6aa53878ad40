package apiserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"path"
	"sync"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"golang.org/x/time/rate"
	"k8s.io/apiserver/pkg/server/healthz"
	"k8s.io/apiserver/pkg/storage/storagebackend"
)

// EtcdHealthChecks are the "etcd" check (of /healthz, /livez and /readyz)
// and the "etcd-readiness" check (of /readyz), in place of those of
// k8s.io/apiserver, which the server's options switch off
// (EtcdOptions.SkipHealthEndpoints).
//
// They probe as k8s.io/apiserver does, with a linearizable read of
// <prefix>/health, at most one per half timeout, the others answered with
// the last result; but they ask every member at once and pass when one of
// them answers, and the read requires a leader. An etcd member cut off from
// its peers, and still reachable by clients, holds a read until etcd's
// request timeout, longer than the probe's, or, once it knows it has no
// leader, refuses it. k8s.io/apiserver's probe goes to one member at a
// time, so each probe that reaches that member fails, and the replica goes
// unready while a majority of etcd serves; here the majority answers. And
// they let an election pass (electionGrace).
func EtcdHealthChecks(cfg storagebackend.Config, stop <-chan struct{}) (health, ready healthz.HealthChecker, err error) {
	healthTimeout := cfg.HealthcheckTimeout
	if healthTimeout == 0 {
		healthTimeout = storagebackend.DefaultHealthcheckTimeout
	}
	readyTimeout := cfg.ReadycheckTimeout
	if readyTimeout == 0 {
		readyTimeout = storagebackend.DefaultReadinessTimeout
	}
	p := &etcdProber{key: path.Join("/", cfg.Prefix, "health"), config: cfg.Transport}
	if len(cfg.Transport.ServerList) == 0 {
		return nil, nil, fmt.Errorf("no etcd servers to check")
	}
	go func() {
		<-stop
		p.close()
	}()
	return healthz.NamedCheck("etcd", p.check(healthTimeout)), healthz.NamedCheck("etcd-readiness", p.check(readyTimeout)), nil
}

// etcdProber holds the etcd client of the checks, made on first use.
type etcdProber struct {
	key    string
	config storagebackend.TransportConfig

	mu      sync.Mutex
	clients []*clientv3.Client
	closed  bool
}

// electionGrace is how long the checks pass after etcd last answered, while
// probes fail. When the leader is lost (killed, or cut off from its peers),
// no member has a leader until the others elect one, one or two election
// timeouts (1 s each by default) later, and a probe sent meanwhile can wait
// its whole timeout (2 s) for an answer; that is how etcd works, not a fault
// for a load balancer to act on. A quorum lost for longer fails the checks.
const electionGrace = 5 * time.Second

// check is a health check that probes with the given timeout, at most once
// per half timeout; in between it answers with the last probe's result. A
// failed probe fails the check once etcd has not answered for electionGrace.
func (p *etcdProber) check(timeout time.Duration) func(*http.Request) error {
	limiter := rate.NewLimiter(rate.Every(timeout/2), 1)
	var mu sync.Mutex
	var lastOK time.Time
	last := fmt.Errorf("etcd not probed yet")
	return func(*http.Request) error {
		mu.Lock()
		defer mu.Unlock()
		if limiter.Allow() {
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			last = p.probe(ctx)
			cancel()
			if last == nil {
				lastOK = time.Now()
			}
		}
		if last != nil && !lastOK.IsZero() && time.Since(lastOK) < electionGrace {
			return nil
		}
		return last
	}
}

// probe reads the health key from every member at once, requiring a
// leader, and passes when one of them answers.
func (p *etcdProber) probe(ctx context.Context) error {
	clients, err := p.get()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	errs := make(chan error, len(clients))
	for _, client := range clients {
		go func() {
			_, err := client.Get(ctx, p.key)
			errs <- err
		}()
	}
	var failed []error
	for range clients {
		err := <-errs
		if err == nil {
			return nil // cancel stops the others
		}
		failed = append(failed, err)
	}
	return fmt.Errorf("error getting data from etcd: %w", errors.Join(failed...))
}

// get returns one client per member, making them on first use. Making them
// does not wait for etcd: a client connects in the background.
func (p *etcdProber) get() ([]*clientv3.Client, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, fmt.Errorf("server is shutting down")
	}
	if p.clients != nil {
		return p.clients, nil
	}
	var tlsConfig *tls.Config
	if p.config.CertFile != "" || p.config.KeyFile != "" || p.config.TrustedCAFile != "" {
		tlsInfo := transport.TLSInfo{CertFile: p.config.CertFile, KeyFile: p.config.KeyFile, TrustedCAFile: p.config.TrustedCAFile}
		var err error
		if tlsConfig, err = tlsInfo.ClientConfig(); err != nil {
			return nil, err
		}
	}
	var clients []*clientv3.Client
	for _, endpoint := range p.config.ServerList {
		client, err := clientv3.New(clientv3.Config{
			Endpoints:            []string{endpoint},
			TLS:                  tlsConfig,
			DialTimeout:          20 * time.Second,
			DialKeepAliveTime:    30 * time.Second,
			DialKeepAliveTimeout: 10 * time.Second,
			// A member that refuses is not asked again: the others are
			// asked at the same time.
			MaxUnaryRetries: 1,
			// The checks' answers say what failed; the client's own
			// retries would only repeat it in the log.
			Logger: zap.NewNop(),
		})
		if err != nil {
			for _, c := range clients {
				_ = c.Close()
			}
			return nil, err
		}
		clients = append(clients, client)
	}
	p.clients = clients
	return clients, nil
}

// close closes the client when the server stops.
func (p *etcdProber) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for _, c := range p.clients {
		_ = c.Close()
	}
	p.clients = nil
}
