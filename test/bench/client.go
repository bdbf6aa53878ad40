package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/client-go/rest"
	kubevirtv1 "kubevirt.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/vm-apiserver/vm-apiserver/pkg/generated/clientset/versioned"
)

// Target is a running standalone vm-apiserver: its URL and the data dir that
// holds its CA and admin client certificate.
type Target struct {
	// Server is the base URL, https://127.0.0.1:PORT.
	Server string
	// DataDir is the server's --data-dir.
	DataDir string
}

// Config is the admin's client configuration: HTTPS with the client
// certificate, JSON, and no client-side rate limit (QPS < 0 turns client-go's
// token bucket off), so the server alone sets the pace.
func (t Target) Config() *rest.Config {
	return &rest.Config{
		Host: t.Server,
		TLSClientConfig: rest.TLSClientConfig{
			CAFile:   filepath.Join(t.DataDir, "ca.crt"),
			CertFile: filepath.Join(t.DataDir, "admin.crt"),
			KeyFile:  filepath.Join(t.DataDir, "admin.key"),
		},
		QPS:       -1,
		UserAgent: "vm-bench",
	}
}

// Clients are the connections the harness uses. Every API call shares one
// http.Client, so all workers multiplex their requests as HTTP/2 streams on
// one reused TLS connection, as a client-go program does.
type Clients struct {
	// HTTP is the shared HTTPS client.
	HTTP *http.Client
	// VMs is the typed client, including the Start and Stop actions.
	VMs *versioned.Clientset
	// REST is a REST client rooted at kubevirt.io/v1, for raw reads.
	REST rest.Interface
	// Config is the configuration the clients were built from.
	Config *rest.Config
}

// Connect builds the clients for t.
func (t Target) Connect() (*Clients, error) {
	cfg := t.Config()
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("building the HTTPS client: %w", err)
	}
	cs, err := versioned.NewForConfigAndClient(cfg, hc)
	if err != nil {
		return nil, fmt.Errorf("building the clientset: %w", err)
	}
	return &Clients{HTTP: hc, VMs: cs, REST: cs.KubevirtV1().RESTClient(), Config: cfg}, nil
}

// Protocol sends one GET /version on the shared client and returns the
// protocol the server answered with ("HTTP/2.0" when HTTP/2 is in use).
func (c *Clients) Protocol(ctx context.Context, server string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, server+"/version", nil)
	if err != nil {
		return "", err
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET /version: %s", resp.Status)
	}
	return resp.Proto, nil
}

// Get reads an absolute path of the server, e.g. /metrics, and returns the body.
func (c *Clients) Get(ctx context.Context, path string) ([]byte, error) {
	return c.REST.Get().AbsPath(path).DoRaw(ctx)
}

// NewEtcd connects to etcd at endpoint with one gRPC connection, as the
// server does.
func NewEtcd(endpoint string) (*clientv3.Client, error) {
	return clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: 10 * time.Second})
}

// LoadTemplate reads the seed VM (artifacts/examples/vm-cirros.yaml): every
// VM the harness creates is a copy of it under another name.
func LoadTemplate(path string) (*kubevirtv1.VirtualMachine, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	vm := &kubevirtv1.VirtualMachine{}
	if err := yaml.UnmarshalStrict(data, vm); err != nil {
		return nil, fmt.Errorf("decoding %s: %w", path, err)
	}
	if vm.Spec.Template == nil {
		return nil, fmt.Errorf("%s has no spec.template", path)
	}
	return vm, nil
}

// NewVM is a copy of template named name in namespace ns, with the seed's
// kubevirt.io/vm label pointing at the new name and runStrategy Always.
func NewVM(template *kubevirtv1.VirtualMachine, ns, name string) *kubevirtv1.VirtualMachine {
	vm := template.DeepCopy()
	vm.Name, vm.Namespace = name, ns
	for _, labels := range []*map[string]string{&vm.Labels, &vm.Spec.Template.ObjectMeta.Labels} {
		if *labels == nil {
			*labels = map[string]string{}
		}
		(*labels)["kubevirt.io/vm"] = name
	}
	always := kubevirtv1.RunStrategyAlways
	vm.Spec.RunStrategy = &always
	vm.Spec.Running = nil
	return vm
}
