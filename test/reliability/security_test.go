package reliability

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
	certutil "k8s.io/client-go/util/cert"

	"github.com/vm-apiserver/vm-apiserver/test/framework"
)

// auditPolicy records every request at Metadata level: who, what, answer.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: Metadata
`

// auditArgs turns on audit logging into dir/audit.log.
func auditArgs(t *testing.T, dir string) (args []string, logPath string) {
	t.Helper()
	policy := filepath.Join(dir, "audit-policy.yaml")
	require.NoError(t, os.WriteFile(policy, []byte(auditPolicy), 0o644))
	logPath = filepath.Join(dir, "audit.log")
	return []string{"--audit-log-path=" + logPath, "--audit-policy-file=" + policy}, logPath
}

// refused reports whether a request was refused: no TLS session (the
// handshake failed) or a 401/403 metav1.Status.
func refused(r response, codes ...int) bool {
	if r.err != nil {
		return true
	}
	if len(codes) == 0 {
		codes = []int{http.StatusUnauthorized, http.StatusForbidden}
	}
	_, isStatus := r.status()
	for _, c := range codes {
		if r.code == c && isStatus {
			return true
		}
	}
	return false
}

// TestSecurityStandalone checks the security boundary of a standalone
// server: authentication by client certificate from its own CA only,
// authorization of system:masters only, no trust in X-Remote-* or
// impersonation headers, TLS 1.2 or later, no plain HTTP, and an audit log
// that records actions with their user and verb.
func TestSecurityStandalone(t *testing.T) {
	requireSuite(t)
	t.Parallel()
	dir := testDir(t)
	data := filepath.Join(dir, "standalone")
	creds := ensureStandaloneCreds(t, data)
	audit, auditLog := auditArgs(t, dir)
	s := startVMServer(t, dir, "vm-apiserver", data, creds.ca.Pool(), audit...)
	ctx := context.Background()
	roots := creds.ca.Pool()

	admin := newClient(s.URL, roots, &creds.admin)
	defer admin.close()
	const ns = "security"
	r := admin.do(ctx, http.MethodPost, vmsPath(ns), vmManifest(ns, "guarded", halted, false), jsonHeaders)
	require.Equal(t, http.StatusCreated, r.code, r.String())
	list, start := vmsPath(ns), actionPath(ns, "guarded", "start")
	dryStop := actionPath(ns, "guarded", "stop") + "?dryRun=All"

	foreign := framework.NewCA("foreign-ca")
	mallory := creds.ca.ClientCert("mallory")
	expired := creds.ca.Issue(expiredClientCert("vm-apiserver-admin", "system:masters"))
	serverUsage := creds.ca.Issue(serverOnlyCert("vm-apiserver-admin", "system:masters"))
	mastersFromForeign := foreign.ClientCert("vm-apiserver-admin", "system:masters")
	selfSigned := framework.NewCA("vm-apiserver-admin")
	selfSignedLeaf := selfSigned.ClientCert("vm-apiserver-admin", "system:masters")

	type call struct {
		method, path string
		headers      map[string]string
	}
	calls := []call{{http.MethodGet, list, nil}, {http.MethodPut, start, nil}, {http.MethodPut, dryStop, nil}, {http.MethodGet, "/metrics", nil}}
	spoof := map[string]string{"X-Remote-User": "vm-apiserver-admin", "X-Remote-Group": "system:masters"}
	impersonate := map[string]string{"Impersonate-User": "vm-apiserver-admin", "Impersonate-Group": "system:masters"}
	tests := []struct {
		check string
		name  string
		cert  *tls.Certificate
		extra map[string]string
		codes []int
	}{
		{"anonymous refused", "no client certificate", nil, nil, []int{401}},
		{"foreign CA refused", "system:masters certificate from another CA", mastersFromForeign.TLSCertificate(), nil, []int{401}},
		{"foreign CA refused", "self-signed system:masters certificate", selfSignedLeaf.TLSCertificate(), nil, []int{401}},
		{"foreign CA refused", "expired certificate from the right CA", expired.TLSCertificate(), nil, []int{401}},
		{"foreign CA refused", "serving-only certificate from the right CA", serverUsage.TLSCertificate(), nil, []int{401}},
		{"non-admin refused", "certificate of a user outside system:masters", mallory.TLSCertificate(), nil, []int{403}},
		{"X-Remote-* headers ignored", "anonymous with X-Remote-User/Group", nil, spoof, []int{401}},
		{"X-Remote-* headers ignored", "non-admin with X-Remote-User/Group", mallory.TLSCertificate(), spoof, []int{403}},
		{"impersonation refused", "non-admin with Impersonate-User/Group", mallory.TLSCertificate(), impersonate, []int{403}},
	}
	for _, tt := range tests {
		t.Run(tt.check+"/"+tt.name, func(t *testing.T) {
			c := newClient(s.URL, roots, tt.cert)
			defer c.close()
			for _, cl := range calls {
				r := c.do(ctx, cl.method, cl.path, nil, tt.extra)
				figures.security(tt.check)
				assert.True(t, refused(r, tt.codes...), "%s %s: want a refusal %v, got %s", cl.method, cl.path, tt.codes, r)
			}
		})
	}
	// The refusals changed nothing.
	r = admin.do(ctx, http.MethodGet, vmPath(ns, "guarded"), nil, nil)
	require.Equal(t, http.StatusOK, r.code, r.String())
	st, err := stateOf(r.body)
	require.NoError(t, err)
	assert.Equal(t, halted, st.Strategy, "a refused start changed the VM")

	t.Run("probes open, nothing else", func(t *testing.T) {
		anon := newClient(s.URL, roots, nil)
		defer anon.close()
		for _, p := range []string{"/readyz", "/livez", "/healthz"} {
			r := anon.do(ctx, http.MethodGet, p, nil, nil)
			assert.Equal(t, http.StatusOK, r.code, "%s: %s", p, r)
		}
		for _, p := range []string{"/apis", "/version", "/openapi/v2", "/debug/pprof/"} {
			r := anon.do(ctx, http.MethodGet, p, nil, nil)
			figures.security("anonymous refused")
			assert.Equal(t, http.StatusUnauthorized, r.code, "%s: %s", p, r)
		}
	})

	t.Run("TLS below 1.2 refused", func(t *testing.T) {
		for _, v := range []uint16{tls.VersionTLS10, tls.VersionTLS11} {
			c := newClient(s.URL, roots, &creds.admin, func(cfg *tls.Config) { cfg.MinVersion, cfg.MaxVersion = v, v })
			r := c.do(ctx, http.MethodGet, "/readyz", nil, nil)
			c.close()
			figures.security("TLS < 1.2 refused")
			require.Error(t, r.err, "a TLS %s client was served: %s", tls.VersionName(v), r)
			assert.Contains(t, r.err.Error(), "protocol version")
		}
		for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
			c := newClient(s.URL, roots, &creds.admin, func(cfg *tls.Config) { cfg.MinVersion, cfg.MaxVersion = v, v })
			r := c.do(ctx, http.MethodGet, list, nil, nil)
			c.close()
			assert.Equal(t, http.StatusOK, r.code, "TLS %s: %s", tls.VersionName(v), r)
		}
	})

	t.Run("no plain HTTP on the secure port", func(t *testing.T) {
		figures.security("no plain HTTP")
		status, body := plainHTTP(t, s.Port, "GET "+list+" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
		assert.NotContains(t, status, " 200 ", "plain HTTP answered: %s", status)
		assert.NotContains(t, body, "guarded", "plain HTTP leaked data")
	})

	t.Run("audit log records the action with user and verb", func(t *testing.T) {
		figures.security("audit records actions")
		r := admin.do(ctx, http.MethodPut, start, nil, nil)
		require.Equal(t, http.StatusAccepted, r.code, r.String())
		want := auditWant{user: "vm-apiserver-admin", verb: "update", subresource: "start", name: "guarded", code: http.StatusAccepted}
		assert.NoError(t, waitAudit(auditLog, want))
		// A refused action is recorded too, with the refused user.
		r = newClient(s.URL, roots, mallory.TLSCertificate()).do(ctx, http.MethodPut, actionPath(ns, "guarded", "stop"), nil, nil)
		require.Equal(t, http.StatusForbidden, r.code, r.String())
		assert.NoError(t, waitAudit(auditLog, auditWant{user: "mallory", verb: "update", subresource: "stop", name: "guarded", code: http.StatusForbidden}))
	})

	t.Run("listening sockets with an external etcd", func(t *testing.T) {
		// With --etcd-servers the process listens on its secure port only.
		e := startEtcd(t, dir, "etcd")
		extData := filepath.Join(dir, "external")
		seedCA(t, data, extData)
		ext := startVMServer(t, dir, "vm-apiserver-external", extData, roots, "--etcd-servers="+e.URL)
		figures.security("no plain HTTP")
		assert.Equal(t, []int{ext.Port}, listeningPorts(t, ext.Pid()))
	})

	t.Run("embedded etcd listens on no TCP port (bug 3, fixed)", func(t *testing.T) {
		// No plain-HTTP port. In standalone mode the embedded
		// etcd (pkg/standalone.StartEtcd) listens on two loopback ports without
		// TLS or authentication; any local user can read and write every VM
		// through them, bypassing authentication, RBAC and audit.
		figures.security("no plain HTTP")
		ports := listeningPorts(t, s.Pid())
		var extra []int
		for _, p := range ports {
			if p != s.Port {
				extra = append(extra, p)
			}
		}
		leaked := readThroughEtcd(t, extra, "guarded")
		assert.Empty(t, extra, "the standalone process listens on more than its secure port %d: %v", s.Port, ports)
		assert.Empty(t, leaked, "VM data readable without credentials through plain-HTTP etcd ports")
	})
}

// expiredClientCert is a client certificate that expired an hour ago.
func expiredClientCert(cn string, orgs ...string) framework.CertConfig {
	return framework.CertConfig{
		Config:   certutil.Config{CommonName: cn, Organization: orgs, Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}},
		NotAfter: time.Now().Add(-time.Hour),
	}
}

// serverOnlyCert is a certificate good for serving, not for clients.
func serverOnlyCert(cn string, orgs ...string) framework.CertConfig {
	return framework.CertConfig{Config: certutil.Config{CommonName: cn, Organization: orgs, Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}}
}

// plainHTTP sends raw bytes to a port without TLS and returns the status
// line and whatever body came back.
func plainHTTP(t *testing.T, port int, request string) (string, string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 10*time.Second)
	require.NoError(t, err)
	defer func() { _ = conn.Close() }()
	require.NoError(t, conn.SetDeadline(time.Now().Add(30*time.Second)))
	_, err = io.WriteString(conn, request)
	require.NoError(t, err)
	rd := bufio.NewReader(conn)
	status, _ := rd.ReadString('\n')
	rest, _ := io.ReadAll(io.LimitReader(rd, 1<<16))
	return status, string(rest)
}

// listeningPorts lists the TCP ports a process listens on, from /proc.
func listeningPorts(t *testing.T, pid int) []int {
	t.Helper()
	inodes := map[string]bool{}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	require.NoError(t, err)
	for _, fd := range fds {
		link, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if err == nil && strings.HasPrefix(link, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] = true
		}
	}
	seen := map[int]bool{}
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		data, err := os.ReadFile(table)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n")[1:] {
			f := strings.Fields(line)
			// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
			if len(f) < 10 || f[3] != "0A" || !inodes[f[9]] {
				continue
			}
			hexPort := f[1][strings.LastIndex(f[1], ":")+1:]
			if p, err := strconv.ParseUint(hexPort, 16, 16); err == nil {
				seen[int(p)] = true
			}
		}
	}
	ports := make([]int, 0, len(seen))
	for p := range seen {
		ports = append(ports, p)
	}
	sort.Ints(ports)
	return ports
}

// readThroughEtcd looks for an etcd client port among ports (it answers
// plain-HTTP GET /health), reads the registry through it with no
// credentials, and returns the keys it could read that name the VM.
func readThroughEtcd(t *testing.T, ports []int, vm string) []string {
	t.Helper()
	var leaked []string
	for _, p := range ports {
		url := fmt.Sprintf("http://127.0.0.1:%d", p)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/health", nil)
		resp, err := http.DefaultClient.Do(req)
		cancel()
		if err != nil {
			continue
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			continue // the peer port has no /health
		}
		c, err := clientv3.New(clientv3.Config{Endpoints: []string{url}, DialTimeout: 5 * time.Second})
		require.NoError(t, err)
		ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
		got, err := c.Get(ctx, "/registry/", clientv3.WithPrefix(), clientv3.WithKeysOnly())
		cancel()
		_ = c.Close()
		if err != nil {
			continue
		}
		for _, kv := range got.Kvs {
			if strings.HasSuffix(string(kv.Key), "/"+vm) {
				leaked = append(leaked, fmt.Sprintf("%s: %s", url, kv.Key))
			}
		}
	}
	return leaked
}

// auditWant is an audit event the log must hold.
type auditWant struct {
	user, verb, subresource, name string
	code                          int
}

// waitAudit polls the audit log until an event matches.
func waitAudit(path string, want auditWant) error {
	return framework.Poll(context.Background(), pollInterval, 30*time.Second, fmt.Sprintf("an audit event %+v", want), func(context.Context) (bool, error) {
		data, err := os.ReadFile(path)
		if err != nil {
			return false, err
		}
		for _, line := range strings.Split(string(data), "\n") {
			var ev struct {
				Stage string `json:"stage"`
				Verb  string `json:"verb"`
				User  struct {
					Username string `json:"username"`
				} `json:"user"`
				ObjectRef struct {
					APIGroup    string `json:"apiGroup"`
					Resource    string `json:"resource"`
					Subresource string `json:"subresource"`
					Name        string `json:"name"`
				} `json:"objectRef"`
				ResponseStatus struct {
					Code int `json:"code"`
				} `json:"responseStatus"`
			}
			if json.Unmarshal([]byte(line), &ev) != nil {
				continue
			}
			if ev.Stage == "ResponseComplete" && ev.Verb == want.verb && ev.User.Username == want.user &&
				ev.ObjectRef.APIGroup == "subresources.kubevirt.io" && ev.ObjectRef.Resource == "virtualmachines" &&
				ev.ObjectRef.Subresource == want.subresource && ev.ObjectRef.Name == want.name && ev.ResponseStatus.Code == want.code {
				return true, nil
			}
		}
		return false, fmt.Errorf("no matching event in %s", path)
	})
}
