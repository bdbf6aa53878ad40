package reliability

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// apiClient sends raw HTTPS requests to one server, so that the suite sees
// exactly what a client sees: status codes, bodies, and transport errors.
type apiClient struct {
	base string
	hc   *http.Client
	tr   *http.Transport
}

// newClient returns a client for base that verifies the server with roots
// and presents cert (nil: anonymous). tweak may change the TLS settings.
func newClient(base string, roots *x509.CertPool, cert *tls.Certificate, tweak ...func(*tls.Config)) *apiClient {
	cfg := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	for _, f := range tweak {
		f(cfg)
	}
	tr := &http.Transport{
		TLSClientConfig:     cfg,
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     30 * time.Second,
		TLSHandshakeTimeout: 20 * time.Second,
	}
	return &apiClient{base: base, tr: tr, hc: &http.Client{Transport: tr, Timeout: clientTimeout}}
}

// close drops the client's idle connections, so that the server can let
// their goroutines go.
func (c *apiClient) close() { c.tr.CloseIdleConnections() }

// response is what a request got: an answer, or a transport error.
type response struct {
	code    int
	body    []byte
	header  http.Header
	err     error
	elapsed time.Duration
}

// do sends one request. headers may set Content-Type and others.
func (c *apiClient) do(ctx context.Context, method, path string, body []byte, headers map[string]string) response {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return response{err: err}
	}
	req.Header.Set("Accept", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	start := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		return response{err: err, elapsed: time.Since(start)}
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	return response{code: resp.StatusCode, body: data, header: resp.Header, err: err, elapsed: time.Since(start)}
}

// status decodes the body as a metav1.Status. ok is false unless the body
// is a failure Status whose code is the HTTP status.
func (r response) status() (metav1.Status, bool) {
	var s metav1.Status
	if err := json.Unmarshal(r.body, &s); err != nil {
		return s, false
	}
	return s, s.Status == metav1.StatusFailure && int(s.Code) == r.code
}

// String describes the response for failure messages.
func (r response) String() string {
	if r.err != nil {
		return fmt.Sprintf("error after %s: %v", r.elapsed.Round(time.Millisecond), r.err)
	}
	body := string(r.body)
	if len(body) > 600 {
		body = body[:600] + "..."
	}
	return fmt.Sprintf("%d after %s: %s", r.code, r.elapsed.Round(time.Millisecond), body)
}

// The API paths the suite uses.
func vmsPath(ns string) string { return "/apis/kubevirt.io/v1/namespaces/" + ns + "/virtualmachines" }

func vmPath(ns, name string) string { return vmsPath(ns) + "/" + name }

func statusPath(ns, name string) string { return vmPath(ns, name) + "/status" }

func actionPath(ns, name, action string) string {
	return "/apis/subresources.kubevirt.io/v1/namespaces/" + ns + "/virtualmachines/" + name + "/" + action
}

// vmManifest is a minimal valid VM: runStrategy, or the legacy spec.running
// when legacy is set (strategy then must be Always or Halted).
func vmManifest(ns, name, strategy string, legacy bool) []byte {
	spec := map[string]any{"template": map[string]any{"spec": map[string]any{"domain": map[string]any{"devices": map[string]any{}}}}}
	if legacy {
		spec["running"] = strategy == "Always"
	} else {
		spec["runStrategy"] = strategy
	}
	data, _ := json.Marshal(map[string]any{
		"apiVersion": "kubevirt.io/v1",
		"kind":       "VirtualMachine",
		"metadata":   map[string]any{"name": name, "namespace": ns},
		"spec":       spec,
	})
	return data
}

// jsonHeaders and mergePatch are the Content-Types the suite sends.
var (
	jsonHeaders = map[string]string{"Content-Type": "application/json"}
	mergePatch  = map[string]string{"Content-Type": "application/merge-patch+json"}
)

// processMetrics are the two /metrics gauges the hostile-input tests watch.
type processMetrics struct {
	goroutines float64
	rssBytes   float64
}

// readMetrics scrapes go_goroutines and process_resident_memory_bytes.
func readMetrics(ctx context.Context, c *apiClient) (processMetrics, error) {
	r := c.do(ctx, http.MethodGet, "/metrics", nil, map[string]string{"Accept": "text/plain"})
	if r.err != nil {
		return processMetrics{}, r.err
	}
	if r.code != http.StatusOK {
		return processMetrics{}, fmt.Errorf("/metrics: %s", r)
	}
	var m processMetrics
	found := 0
	sc := bufio.NewScanner(bytes.NewReader(r.body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 2 {
			continue
		}
		v, err := strconv.ParseFloat(fields[1], 64)
		if err != nil {
			continue
		}
		switch fields[0] {
		case "go_goroutines":
			m.goroutines, found = v, found+1
		case "process_resident_memory_bytes":
			m.rssBytes, found = v, found+1
		}
	}
	if found != 2 {
		return m, fmt.Errorf("/metrics lacks go_goroutines or process_resident_memory_bytes")
	}
	return m, nil
}
