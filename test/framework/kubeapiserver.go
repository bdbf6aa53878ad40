package framework

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// FrontProxyClientName is the common name of kube-apiserver's front-proxy
// client certificate, the only name its --requestheader-allowed-names
// allows to assert a user in X-Remote-* headers.
const FrontProxyClientName = "front-proxy-client"

// The files of KubeAPIServer.FrontProxyFiles.
const (
	FrontProxyCAFile   = "requestheader-ca.crt"
	FrontProxyCertFile = "proxy-client.crt"
	FrontProxyKeyFile  = "proxy-client.key"
)

// KubeAPIServerOptions are what differs between the kube-apiservers the
// suites start.
type KubeAPIServerOptions struct {
	// Bin is the kube-apiserver program.
	Bin string
	// Dir holds its log, Name.log, and its PKI, Name-pki/.
	Dir string
	// Name names the process and its certificates; default
	// "kube-apiserver".
	Name string
	// EtcdURL is the etcd it stores in.
	EtcdURL string
	// Port is its secure port on 127.0.0.1; 0 picks a free one.
	Port int
	// FrontProxy makes it the front proxy of the aggregation layer: a
	// front-proxy CA and its client certificate (FrontProxyClientName), and
	// the --requestheader-* and --proxy-client-* flags that use them.
	FrontProxy bool
	// FrontProxyProjected, with FrontProxy, puts the front-proxy CA bundle
	// and client certificate in a ProjectedDir (FrontProxyFiles), as a
	// cluster that mounts them from a Secret does, so that a test can
	// rotate them.
	FrontProxyProjected bool
	// Args are more flags, after the others (e.g. --etcd-prefix).
	Args []string
	// ReadyTimeout is how long StartKubeAPIServer waits for /readyz;
	// default 3 minutes.
	ReadyTimeout time.Duration
}

// KubeAPIServer is a kube-apiserver run as a process on a loopback port,
// with a PKI of its own: a serving certificate for 127.0.0.1, a client CA
// and an admin client certificate in group system:masters, and, with
// KubeAPIServerOptions.FrontProxy, a front-proxy CA and client certificate.
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
	// ServingCA signed the serving certificate; ClientCA is the
	// --client-ca-file, which signed Admin.
	ServingCA, ClientCA *CA
	Admin               *KeyPair
	// FrontProxyCA is the --requestheader-client-ca-file, and
	// FrontProxyClient the certificate kube-apiserver presents to aggregated
	// servers (--proxy-client-cert-file); both nil without FrontProxy.
	FrontProxyCA     *CA
	FrontProxyClient *KeyPair
	// FrontProxyFiles, with FrontProxyProjected, holds FrontProxyCAFile
	// (--requestheader-client-ca-file), FrontProxyCertFile and
	// FrontProxyKeyFile (--proxy-client-cert-file, --proxy-client-key-file).
	FrontProxyFiles *ProjectedDir
	// Started is when the process was last started, and Ready how long
	// after that /readyz first passed (set by StartKubeAPIServer).
	Started time.Time
	Ready   time.Duration
}

// NewKubeAPIServer prepares a kube-apiserver: its PKI and its flags. Start
// runs it; WaitReady waits until it serves. StartKubeAPIServer does all
// three.
func NewKubeAPIServer(o KubeAPIServerOptions) (*KubeAPIServer, error) {
	name := o.Name
	if name == "" {
		name = "kube-apiserver"
	}
	pki := filepath.Join(o.Dir, name+"-pki")
	if err := os.MkdirAll(pki, 0o700); err != nil {
		return nil, err
	}
	port := o.Port
	if port == 0 {
		ports, err := FreePorts(1)
		if err != nil {
			return nil, err
		}
		port = ports[0]
	}
	k := &KubeAPIServer{
		URL:       fmt.Sprintf("https://127.0.0.1:%d", port),
		PKI:       pki,
		ServingCA: NewCA(name + "-serving-ca"),
		ClientCA:  NewCA(name + "-client-ca"),
	}
	k.Admin = k.ClientCA.ClientCert(name+"-admin", "system:masters")
	var err error
	if k.CAFile, _, err = k.ServingCA.Write(pki, "ca"); err != nil {
		return nil, err
	}
	servingCrt, servingKey, err := k.ServingCA.ServingCert(name, "localhost", "kubernetes.default.svc", "127.0.0.1").Write(pki, "serving")
	if err != nil {
		return nil, err
	}
	clientCAFile, _, err := k.ClientCA.Write(pki, "client-ca")
	if err != nil {
		return nil, err
	}
	if k.CertFile, k.KeyFile, err = k.Admin.Write(pki, "admin"); err != nil {
		return nil, err
	}
	saPub, saKey, err := WriteServiceAccountKeys(pki)
	if err != nil {
		return nil, err
	}
	args := []string{
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--etcd-servers=" + o.EtcdURL,
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
	}
	if o.FrontProxy {
		k.FrontProxyCA = NewCA(name + "-front-proxy-ca")
		k.FrontProxyClient = k.FrontProxyCA.ClientCert(FrontProxyClientName)
		var caFile, proxyCrt, proxyKey string
		if o.FrontProxyProjected {
			k.FrontProxyFiles, err = NewProjectedDir(filepath.Join(pki, "front-proxy"), map[string][]byte{
				FrontProxyCAFile:   k.FrontProxyCA.CertPEM,
				FrontProxyCertFile: k.FrontProxyClient.CertPEM,
				FrontProxyKeyFile:  k.FrontProxyClient.KeyPEM,
			})
			if err != nil {
				return nil, err
			}
			caFile = k.FrontProxyFiles.Path(FrontProxyCAFile)
			proxyCrt, proxyKey = k.FrontProxyFiles.Path(FrontProxyCertFile), k.FrontProxyFiles.Path(FrontProxyKeyFile)
		} else {
			if caFile, _, err = k.FrontProxyCA.Write(pki, "front-proxy-ca"); err != nil {
				return nil, err
			}
			if proxyCrt, proxyKey, err = k.FrontProxyClient.Write(pki, "front-proxy-client"); err != nil {
				return nil, err
			}
		}
		// The aggregator presents this client certificate to aggregated
		// servers and asserts the caller in these headers.
		args = append(args,
			"--requestheader-client-ca-file="+caFile,
			"--requestheader-allowed-names="+FrontProxyClientName,
			"--requestheader-username-headers=X-Remote-User",
			"--requestheader-uid-headers=X-Remote-Uid",
			"--requestheader-group-headers=X-Remote-Group",
			"--requestheader-extra-headers-prefix=X-Remote-Extra-",
			"--proxy-client-cert-file="+proxyCrt,
			"--proxy-client-key-file="+proxyKey,
		)
	}
	k.Process = NewProcess(o.Dir, name, o.Bin, append(args, o.Args...)...)
	return k, nil
}

// StartKubeAPIServer prepares and starts a kube-apiserver and waits until
// /readyz passes. If it does not, the process is stopped and the error
// holds the end of its log. The caller stops it.
func StartKubeAPIServer(ctx context.Context, o KubeAPIServerOptions) (*KubeAPIServer, error) {
	k, err := NewKubeAPIServer(o)
	if err != nil {
		return nil, err
	}
	timeout := o.ReadyTimeout
	if timeout == 0 {
		timeout = 3 * time.Minute
	}
	k.Started = time.Now()
	if err := k.Start(); err != nil {
		return nil, err
	}
	if err := k.WaitReady(ctx, timeout); err != nil {
		_ = k.Stop(30 * time.Second)
		return nil, fmt.Errorf("%w\n%s", err, k.Tail(40))
	}
	k.Ready = time.Since(k.Started)
	if o.FrontProxy {
		if err := k.WaitExtensionAuthentication(ctx, timeout); err != nil {
			_ = k.Stop(30 * time.Second)
			return nil, fmt.Errorf("%w\n%s", err, k.Tail(40))
		}
	}
	return k, nil
}

// WaitExtensionAuthentication waits until kube-system's
// extension-apiserver-authentication ConfigMap holds the client CA and the
// front-proxy CA, which kube-apiserver writes after it starts, possibly
// after /readyz passes. An extension server started before that reads no
// client CA, and takes valid client certificates for anonymous until its
// ConfigMap controller catches up; in a running cluster the ConfigMap has
// long been there.
func (k *KubeAPIServer) WaitExtensionAuthentication(ctx context.Context, timeout time.Duration) error {
	client, err := kubernetes.NewForConfig(k.AdminConfig())
	if err != nil {
		return err
	}
	return Poll(ctx, 100*time.Millisecond, timeout, k.Name+" extension-apiserver-authentication", func(ctx context.Context) (bool, error) {
		cm, err := client.CoreV1().ConfigMaps(metav1.NamespaceSystem).Get(ctx, "extension-apiserver-authentication", metav1.GetOptions{})
		if err != nil {
			// Not there yet, or a transient error of a starting server.
			return false, nil
		}
		return cm.Data["client-ca-file"] != "" && cm.Data["requestheader-client-ca-file"] != "", nil
	})
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
		return ReadyzOK(ctx, hc, k.URL)
	})
}
