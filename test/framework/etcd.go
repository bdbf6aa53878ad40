package framework

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Etcd is a one-member etcd cluster run as a process on loopback ports.
// Its data survives a Kill, so it can be started again from its data dir.
type Etcd struct {
	*Process
	// URL is the client URL, http://127.0.0.1:PORT.
	URL string
	// DataDir holds its data.
	DataDir string
}

// NewEtcd prepares the etcd program bin, named name, with its data in
// dataDir and its log in logDir/name.log, on two free loopback ports; extra
// flags are added. Start runs it; WaitHealthy waits until it serves.
func NewEtcd(bin, logDir, name, dataDir string, extra ...string) (*Etcd, error) {
	ports, err := FreePorts(2)
	if err != nil {
		return nil, err
	}
	client := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	peer := fmt.Sprintf("http://127.0.0.1:%d", ports[1])
	args := append([]string{
		"--name=" + name,
		"--data-dir=" + dataDir,
		"--listen-client-urls=" + client,
		"--advertise-client-urls=" + client,
		"--listen-peer-urls=" + peer,
		"--initial-advertise-peer-urls=" + peer,
		"--initial-cluster=" + name + "=" + peer,
		"--log-level=warn",
	}, extra...)
	return &Etcd{Process: NewProcess(logDir, name, bin, args...), URL: client, DataDir: dataDir}, nil
}

// StartEtcd starts etcd for a test, with its data in dir/name.data, and
// waits until it is healthy. It is stopped when the test ends.
func StartEtcd(t testing.TB, bin, dir, name string, extra ...string) *Etcd {
	t.Helper()
	e, err := NewEtcd(bin, dir, name, filepath.Join(dir, name+".data"), extra...)
	if err != nil {
		t.Fatal(err)
	}
	e.StartForTest(t)
	if err := e.WaitHealthy(context.Background(), time.Minute); err != nil {
		t.Fatalf("%v\n%s", err, e.Tail(30))
	}
	return e
}

// WaitHealthy polls /health until etcd reports itself healthy. It gives up
// at once if the process exits.
func (e *Etcd) WaitHealthy(ctx context.Context, timeout time.Duration) error {
	return Poll(ctx, 100*time.Millisecond, timeout, "etcd "+e.Name+" healthy", func(ctx context.Context) (bool, error) {
		if err := e.Alive(); err != nil {
			return false, err
		}
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.URL+"/health", nil)
		if err != nil {
			return false, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false, err
		}
		defer func() { _ = resp.Body.Close() }()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return false, err
		}
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"health":"true"`) {
			return false, fmt.Errorf("/health: %d %s", resp.StatusCode, body)
		}
		return true, nil
	})
}
