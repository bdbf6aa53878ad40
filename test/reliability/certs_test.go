package reliability

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	certutil "k8s.io/client-go/util/cert"

	"github.com/vm-apiserver/vm-apiserver/test/framework"
)

// certReloadBound is how soon after a file is replaced the server must act
// on it. k8s.io/apiserver reloads certificate and CA files when inotify
// reports a change of the watched path (a ..data swap removes the old
// files, which is such a change), within milliseconds; it has no periodic
// re-read of the files, and retries a failed watch once a minute. The bound
// is generous for a loaded machine; the measured times are in the figures.
const certReloadBound = 15 * time.Second

// certServer is a standalone vm-apiserver that serves a certificate from
// a projected directory (--tls-cert-file, --tls-private-key-file) and
// trusts the client CAs of another (--client-ca-file), as a pod with
// cert-manager's Secrets mounted would.
type certServer struct {
	*vmServer
	servingCA *framework.CA
	tls       *framework.ProjectedDir
	clientCA  *framework.ProjectedDir
}

// The files of the projected directories, as cert-manager names them.
const (
	tlsCertFile = "tls.crt"
	tlsKeyFile  = "tls.key"
	caFile      = "ca.crt"
)

// startCertServer starts the server with a serving certificate from a new
// CA and clientCAs as its client CA bundle.
func startCertServer(t *testing.T, dir string, clientCAs ...*framework.CA) *certServer {
	t.Helper()
	s := &certServer{servingCA: framework.NewCA("serving-ca")}
	var err error
	s.tls, err = framework.NewProjectedDir(filepath.Join(dir, "tls"), s.servingFiles())
	require.NoError(t, err)
	s.clientCA, err = framework.NewProjectedDir(filepath.Join(dir, "client-ca"), map[string][]byte{caFile: bundle(clientCAs...)})
	require.NoError(t, err)
	s.vmServer = startVMServer(t, dir, "vm-apiserver", filepath.Join(dir, "data"), s.servingCA.Pool(),
		"--tls-cert-file="+s.tls.Path(tlsCertFile),
		"--tls-private-key-file="+s.tls.Path(tlsKeyFile),
		"--client-ca-file="+s.clientCA.Path(caFile))
	return s
}

// servingFiles issues a new serving certificate, with a new key.
func (s *certServer) servingFiles() map[string][]byte {
	kp := s.servingCA.ServingCert("vm-apiserver", "localhost", "127.0.0.1")
	return map[string][]byte{tlsCertFile: kp.CertPEM, tlsKeyFile: kp.KeyPEM, caFile: s.servingCA.CertPEM}
}

// bundle concatenates the CAs' certificates, as a CA bundle file holds them.
func bundle(cas ...*framework.CA) []byte {
	var b bytes.Buffer
	for _, ca := range cas {
		b.Write(ca.CertPEM)
	}
	return b.Bytes()
}

// servedCert opens a new TLS connection and returns the certificate the
// server presents on it.
func servedCert(ctx context.Context, url string, roots *x509.CertPool) (*x509.Certificate, error) {
	d := &tls.Dialer{Config: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}
	conn, err := d.DialContext(ctx, "tcp", url[len("https://"):])
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.(*tls.Conn).ConnectionState().PeerCertificates[0], nil
}

// waitReload polls cond until it holds and returns how long that took after
// since; it fails the test after certReloadBound.
func waitReload(t *testing.T, since time.Time, what string, cond func(ctx context.Context) (bool, error)) time.Duration {
	t.Helper()
	require.NoError(t, framework.Poll(context.Background(), 50*time.Millisecond, certReloadBound, what, cond))
	return time.Since(since)
}

// TestCertServingRotated replaces the serving certificate (new key, same
// CA, as cert-manager renews it) by a ..data swap, several times, under
// load against a standalone server: new connections get the new
// certificate within certReloadBound and never the old one again, the
// connections opened before go on, no request fails, and the process is
// the same throughout.
func TestCertServingRotated(t *testing.T) {
	requireSuite(t)
	t.Parallel()
	dir := testDir(t)
	clientCA := framework.NewCA("client-ca")
	s := startCertServer(t, dir, clientCA)
	pid := s.Pid()
	admin := clientCA.ClientCert("cert-admin", "system:masters").TLSCertificate()
	roots := s.servingCA.Pool()
	// One client keeps its HTTP/2 connection; the other opens a new
	// connection, with a new handshake, for every request.
	kept := newClient(s.URL, roots, admin)
	fresh := newClient(s.URL, roots, admin)
	fresh.tr.DisableKeepAlives = true
	t.Cleanup(kept.close)

	l := &load{
		ns: "cert-serving", vms: scenarioVMs("srv"), servers: []*apiClient{kept, fresh}, rec: newRecorder(),
		workers: 4, maxOps: 100000, qps: 10, ledger: true,
	}
	l.setup(t)
	stop := startLoad(l, t.Name())
	t.Cleanup(stop)
	watchCtx, stopWatch := context.WithCancel(context.Background())
	defer stopWatch()
	watch := watchReadyz(watchCtx, s.vmServer, newClient(s.URL, roots, nil))
	waitProgress(t, l, 0, 20, time.Time{}, 2*time.Minute)
	waitProgress(t, l, 1, 20, time.Time{}, 2*time.Minute)
	start := time.Now()

	var reloads []time.Duration
	for cycle := range scale(3, 6) {
		before, err := servedCert(context.Background(), s.URL, roots)
		require.NoError(t, err)
		files := s.servingFiles()
		certs, err := certutil.ParseCertsPEM(files[tlsCertFile])
		require.NoError(t, err)
		want := certs[0]
		require.NotEqual(t, before.SerialNumber, want.SerialNumber)

		at := time.Now()
		require.NoError(t, s.tls.Write(files))
		figures.fault("serving certificate replaced (..data swap) under load")
		took := waitReload(t, at, fmt.Sprintf("cycle %d: new connections get the new certificate", cycle+1), func(ctx context.Context) (bool, error) {
			got, err := servedCert(ctx, s.URL, roots)
			if err != nil {
				return false, err
			}
			return got.SerialNumber.Cmp(want.SerialNumber) == 0, fmt.Errorf("still serial %s", got.SerialNumber)
		})
		reloads = append(reloads, took)
		// Once switched, every new connection gets the new certificate.
		for range 20 {
			got, err := servedCert(context.Background(), s.URL, roots)
			require.NoError(t, err)
			assert.Equal(t, want.SerialNumber, got.SerialNumber, "cycle %d: a new connection got the old certificate after the switch", cycle+1)
		}
		waitProgress(t, l, 0, 20, time.Now(), 2*time.Minute)
		waitProgress(t, l, 1, 20, time.Now(), 2*time.Minute)
	}
	stop()
	stopWatch()
	l.finalReads(t)
	l.check(t, dir, fmt.Sprintf("serving certificate replaced x%d under load, standalone", len(reloads)))

	failures := watch.failures(start, time.Now())
	assert.Empty(t, failures, "/readyz failed during the rotations")
	assert.Equal(t, pid, s.Pid(), "the server was restarted")
	slowest := assertNoFailedCall(t, l, "serving certificate rotation")
	figures.note("serving certificate replaced x%d under load: new connections got it %s after the swap (bound %s); %d calls, slowest %s; /readyz failures %d",
		len(reloads), durations(reloads), certReloadBound, len(l.rec.spans), slowest, len(failures))
	for _, d := range reloads {
		assert.Less(t, d, certReloadBound)
	}
	assertServersAlive(t, []*vmServer{s.vmServer})
}

// assertNoFailedCall requires that no call of the load failed in any way:
// no error answer, no dropped call, nothing refused. It returns the slowest
// answer.
func assertNoFailedCall(t *testing.T, l *load, what string) time.Duration {
	t.Helper()
	l.rec.mu.Lock()
	defer l.rec.mu.Unlock()
	for shape, n := range l.rec.shapes {
		figures.errorShape(shape, n)
	}
	assert.Empty(t, l.rec.shapes, "%s: calls failed", what)
	assert.Empty(t, l.rec.noAnswer, "%s: calls that got no answer", what)
	assert.Empty(t, l.rec.rejected, "%s: calls refused", what)
	assert.Empty(t, l.rec.hangs, "%s: calls that hung", what)
	assert.Less(t, l.rec.slowest, serverRequestTimeout, "%s: an answer came later than the request timeout", what)
	return l.rec.slowest.Round(time.Millisecond)
}

// durations renders a list of durations, rounded, for the figures.
func durations(ds []time.Duration) string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.Round(time.Millisecond).String()
	}
	return fmt.Sprint(out)
}

// swapTransport sends each request through the transport current at the
// time, so that a client can change its certificate as client-go's
// certificate rotation does: new requests on new connections with the new
// certificate, the old connections left to drain.
type swapTransport struct {
	cur atomic.Pointer[http.Transport]
}

func (s *swapTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return s.cur.Load().RoundTrip(r)
}

// rotatingClient is a client whose certificate can be replaced.
type rotatingClient struct {
	*apiClient
	base  string
	roots *x509.CertPool
	swap  *swapTransport
}

func newRotatingClient(t *testing.T, base string, roots *x509.CertPool, cert *tls.Certificate) *rotatingClient {
	c := newClient(base, roots, cert)
	sw := &swapTransport{}
	sw.cur.Store(c.tr)
	c.hc = &http.Client{Transport: sw, Timeout: clientTimeout}
	t.Cleanup(func() { sw.cur.Load().CloseIdleConnections() })
	return &rotatingClient{apiClient: c, base: base, roots: roots, swap: sw}
}

// rotate makes new requests use cert on new connections. It returns the
// old transport, whose connections the caller closes once the requests in
// flight on them are answered.
func (r *rotatingClient) rotate(cert *tls.Certificate) *http.Transport {
	next := newClient(r.base, r.roots, cert)
	old := r.swap.cur.Swap(next.tr)
	old.CloseIdleConnections()
	return old
}

// connProbe sends requests with one client and reports whether each went
// over the connection of the first, and its protocol.
type connProbe struct {
	c     *apiClient
	first string // local address of the first request's connection
}

// newConnProbe probes with c, whose idle connections it keeps open as long
// as the server does (k8s.io/apiserver: 90 s), so that the connection of
// the first request outlives the waits of a slow machine.
func newConnProbe(c *apiClient) *connProbe {
	c.tr.IdleConnTimeout = 0
	return &connProbe{c: c}
}

// get sends GET path and returns the response, whether it reused the first
// connection, and its protocol major version.
func (p *connProbe) get(ctx context.Context, path string, headers map[string]string) (response, bool, int) {
	var local string
	var proto int
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
		local = info.Conn.LocalAddr().String()
	}})
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.c.base+path, nil)
	if err != nil {
		return response{err: err}, false, 0
	}
	req.Header.Set("Accept", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	start := time.Now()
	resp, err := p.c.hc.Do(req)
	if err != nil {
		return response{err: err, elapsed: time.Since(start)}, false, 0
	}
	defer resp.Body.Close()
	proto = resp.ProtoMajor
	var body bytes.Buffer
	_, _ = body.ReadFrom(resp.Body)
	if p.first == "" {
		p.first = local
	}
	return response{code: resp.StatusCode, body: body.Bytes(), header: resp.Header, elapsed: time.Since(start)}, local == p.first, proto
}

// TestCertClientCARotated rotates the client CA of a standalone server
// under load the way an operator rotates it without an outage: the new
// CA is added to the bundle, clients move to certificates of the new CA,
// then the old CA is removed. After the removal a certificate of the old
// CA is refused (401) on new requests, including on an HTTP/2 connection
// opened before; one of the new CA is accepted; the load, moved to the
// new CA in time, sees no failure.
func TestCertClientCARotated(t *testing.T) {
	requireSuite(t)
	t.Parallel()
	dir := testDir(t)
	oldCA, newCA := framework.NewCA("client-ca-old"), framework.NewCA("client-ca-new")
	s := startCertServer(t, dir, oldCA)
	pid := s.Pid()
	// Answers each load client gets in each phase.
	phase := scale(20, 80)
	roots := s.servingCA.Pool()
	oldAdmin := oldCA.ClientCert("cert-admin", "system:masters").TLSCertificate()
	newAdmin := newCA.ClientCert("cert-admin", "system:masters").TLSCertificate()
	loadClients := []*rotatingClient{newRotatingClient(t, s.URL, roots, oldAdmin), newRotatingClient(t, s.URL, roots, oldAdmin)}

	l := &load{
		ns: "cert-client-ca", vms: scenarioVMs("cca"), servers: []*apiClient{loadClients[0].apiClient, loadClients[1].apiClient}, rec: newRecorder(),
		workers: 4, maxOps: 100000, qps: 10, ledger: true,
	}
	l.setup(t)
	stop := startLoad(l, t.Name())
	t.Cleanup(stop)
	watchCtx, stopWatch := context.WithCancel(context.Background())
	defer stopWatch()
	watch := watchReadyz(watchCtx, s.vmServer, newClient(s.URL, roots, nil))
	waitProgress(t, l, 0, phase, time.Time{}, 2*time.Minute)
	waitProgress(t, l, 1, phase, time.Time{}, 2*time.Minute)
	start := time.Now()
	path := vmsPath(l.ns)

	// A client of the old CA on an HTTP/2 connection opened now, before any
	// change, and kept open (it is used every 50 ms while polling).
	stale := newConnProbe(newClient(s.URL, roots, oldAdmin))
	t.Cleanup(stale.c.close)
	r, _, proto := stale.get(context.Background(), path, nil)
	require.Equal(t, http.StatusOK, r.code, r.String())
	require.Equal(t, 2, proto, "the connection is HTTP/2")
	// Before the rotation, a certificate of the new CA is refused.
	r = newOnce(t, s.URL, roots, newAdmin).do(context.Background(), http.MethodGet, path, nil, nil)
	require.Equal(t, http.StatusUnauthorized, r.code, "the new CA is trusted before it was added: %s", r)

	// 1. The bundle holds both CAs.
	at := time.Now()
	require.NoError(t, s.clientCA.Write(map[string][]byte{caFile: bundle(oldCA, newCA)}))
	figures.fault("client CA bundle replaced: old and new CA")
	added := waitReload(t, at, "a certificate of the added CA accepted", func(ctx context.Context) (bool, error) {
		r := newOnce(t, s.URL, roots, newAdmin).do(ctx, http.MethodGet, path, nil, nil)
		return r.code == http.StatusOK, errors.New(r.String())
	})
	r, reused, _ := stale.get(context.Background(), path, nil)
	assert.True(t, reused, "the old connection was not reused")
	assert.Equal(t, http.StatusOK, r.code, "the old CA is refused while still in the bundle: %s", r)

	waitProgress(t, l, 0, phase, time.Now(), 2*time.Minute)
	waitProgress(t, l, 1, phase, time.Now(), 2*time.Minute)

	// 2. The clients move to certificates of the new CA.
	var retired []*http.Transport
	for _, c := range loadClients {
		retired = append(retired, c.rotate(newAdmin))
	}
	moved := time.Now()
	waitProgress(t, l, 0, phase, moved, 2*time.Minute)
	waitProgress(t, l, 1, phase, moved, 2*time.Minute)
	for _, tr := range retired {
		tr.CloseIdleConnections()
	}

	// 3. The old CA leaves the bundle.
	at = time.Now()
	require.NoError(t, s.clientCA.Write(map[string][]byte{caFile: bundle(newCA)}))
	figures.fault("client CA bundle replaced: old CA removed")
	var staleCode int
	removed := waitReload(t, at, "the connection opened before refuses the removed CA", func(ctx context.Context) (bool, error) {
		r, reused, _ := stale.get(ctx, path, nil)
		if !reused {
			return false, fmt.Errorf("a new connection was opened: the test needs the old one (%s)", r)
		}
		staleCode = r.code
		return r.code != http.StatusOK, errors.New(r.String())
	})
	assert.Equal(t, http.StatusUnauthorized, staleCode, "the removed CA on the connection opened before")
	// k8s.io/apiserver answers a 401 on HTTP/2 with Connection: close (the
	// UnauthenticatedHTTP2DOSMitigation feature): the server drops the old
	// connection, and the client's next request, on a new one, is refused
	// too.
	r, reused, _ = stale.get(context.Background(), path, nil)
	assert.False(t, reused, "the connection of a refused client was kept open")
	st, ok := r.status()
	assert.True(t, ok && st.Reason == "Unauthorized", "not an Unauthorized Status: %s", r)
	r = newOnce(t, s.URL, roots, oldAdmin).do(context.Background(), http.MethodGet, path, nil, nil)
	assert.Equal(t, http.StatusUnauthorized, r.code, "the removed CA on a new connection: %s", r)
	r = newOnce(t, s.URL, roots, newAdmin).do(context.Background(), http.MethodGet, path, nil, nil)
	assert.Equal(t, http.StatusOK, r.code, "the new CA: %s", r)
	figures.security("a removed client CA is refused, on an HTTP/2 connection opened before too")

	waitProgress(t, l, 0, phase, time.Now(), 2*time.Minute)
	waitProgress(t, l, 1, phase, time.Now(), 2*time.Minute)
	stop()
	stopWatch()
	l.finalReads(t)
	l.check(t, dir, "client CA rotated (add, move clients, remove) under load, standalone")

	failures := watch.failures(start, time.Now())
	assert.Empty(t, failures, "/readyz failed during the rotation")
	assert.Equal(t, pid, s.Pid(), "the server was restarted")
	slowest := assertNoFailedCall(t, l, "client CA rotation")
	figures.note("client CA rotated under load: added CA accepted %s after the swap, removed CA refused (401, on the connection opened before) %s after it (bound %s); %d calls, slowest %s; /readyz failures %d",
		added.Round(time.Millisecond), removed.Round(time.Millisecond), certReloadBound, len(l.rec.spans), slowest, len(failures))
	assertServersAlive(t, []*vmServer{s.vmServer})
}

// newOnce is a client for one request on a connection of its own.
func newOnce(t *testing.T, base string, roots *x509.CertPool, cert *tls.Certificate) *apiClient {
	c := newClient(base, roots, cert)
	c.tr.DisableKeepAlives = true
	t.Cleanup(c.close)
	return c
}
