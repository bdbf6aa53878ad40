package framework

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"k8s.io/client-go/rest"
)

// KubeAPIServer is a kube-apiserver run as a process on a loopback port,
// with a PKI of its own: a serving certificate for 127.0.0.1, a client CA
// and an admin client certificate in group system:masters.
type KubeAPIServer struct {
	*Process
	// URL is the base URL, https://127.0.0.1:PORT.
	URL string
	// PKI is the directory of CAFile (ca.crt), which verifies the serving
	// certificate, and of the admin's client certificate, CertFile and
	// KeyFile (admin.crt, admin.key): the names vm-apiserver uses in its
	// data dir.
	PKI                       string
	CAFile, CertFile, KeyFile string
}

// NewKubeAPIServer prepares the kube-apiserver program bin, named name, on
// a free loopback port in front of etcd at etcdURL. Its PKI goes in
// dir/name-pki and its log in dir/name.log; extra flags are added (e.g.
// --etcd-prefix). Start runs it; WaitReady waits until it serves.
func NewKubeAPIServer(bin, dir, name, etcdURL string, extra ...string) (*KubeAPIServer, error) {
	pki := filepath.Join(dir, name+"-pki")
	if err := os.MkdirAll(pki, 0o700); err != nil {
		return nil, err
	}
	ports, err := FreePorts(1)
	if err != nil {
		return nil, err
	}
	servingCA := NewCA(name + "-serving-ca")
	clientCA := NewCA(name + "-client-ca")
	caFile, _, err := servingCA.Write(pki, "ca")
	if err != nil {
		return nil, err
	}
	servingCrt, servingKey, err := servingCA.ServingCert(name, "localhost", "127.0.0.1").Write(pki, "serving")
	if err != nil {
		return nil, err
	}
	clientCAFile, _, err := clientCA.Write(pki, "client-ca")
	if err != nil {
		return nil, err
	}
	adminCrt, adminKey, err := clientCA.ClientCert(name+"-admin", "system:masters").Write(pki, "admin")
	if err != nil {
		return nil, err
	}
	saPub, saKey, err := WriteServiceAccountKeys(pki)
	if err != nil {
		return nil, err
	}
	args := append([]string{
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(ports[0]),
		"--etcd-servers=" + etcdURL,
		"--tls-cert-file=" + servingCrt,
		"--tls-private-key-file=" + servingKey,
		"--client-ca-file=" + clientCAFile,
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + saPub,
		"--service-account-signing-key-file=" + saKey,
		"--service-cluster-ip-range=10.0.0.0/24",
		// Endpoints cannot hold loopback addresses.
		"--endpoint-reconciler-type=none",
	}, extra...)
	return &KubeAPIServer{
		Process:  NewProcess(dir, name, bin, args...),
		URL:      fmt.Sprintf("https://127.0.0.1:%d", ports[0]),
		PKI:      pki,
		CAFile:   caFile,
		CertFile: adminCrt,
		KeyFile:  adminKey,
	}, nil
}

// AdminConfig is the admin's client configuration, with client-go's rate
// limit off.
func (k *KubeAPIServer) AdminConfig() *rest.Config {
	return &rest.Config{
		Host: k.URL,
		TLSClientConfig: rest.TLSClientConfig{
			CAFile:   k.CAFile,
			CertFile: k.CertFile,
			KeyFile:  k.KeyFile,
		},
		QPS: -1,
	}
}

// WaitReady polls /readyz as the admin until it passes. It gives up at
// once if the process exits.
func (k *KubeAPIServer) WaitReady(ctx context.Context, timeout time.Duration) error {
	hc, err := rest.HTTPClientFor(k.AdminConfig())
	if err != nil {
		return err
	}
	return Poll(ctx, 100*time.Millisecond, timeout, k.Name+" /readyz", func(ctx context.Context) (bool, error) {
		if err := k.Alive(); err != nil {
			return false, err
		}
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.URL+"/readyz", nil)
		if err != nil {
			return false, err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return false, err
		}
		defer func() { _ = resp.Body.Close() }()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return false, fmt.Errorf("/readyz: %d %s", resp.StatusCode, body)
		}
		return true, nil
	})
}
