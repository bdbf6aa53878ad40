package integration

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	aggregatorclient "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset"
	"k8s.io/kubernetes/pkg/controller/clusterroleaggregation"

	vmclient "github.com/vm-apiserver/vm-apiserver/pkg/generated/clientset/versioned"
	"github.com/vm-apiserver/vm-apiserver/test/framework"
)

// The names that artifacts/ deploys under.
const (
	kitNamespace      = "vm-apiserver"
	kitService        = "vm-apiserver"
	kitServiceAccount = "vm-apiserver"
	// frontProxyClientName is the CN of kube-apiserver's proxy client
	// certificate, the only name allowed to assert X-Remote-* headers.
	frontProxyClientName = "front-proxy-client"
)

// kitAPIServices are the APIServices that artifacts/ registers.
var kitAPIServices = []string{"v1.kubevirt.io", "v1alpha3.kubevirt.io", "v1.subresources.kubevirt.io", "v1alpha3.subresources.kubevirt.io"}

// environment is etcd, kube-apiserver and vm-apiserver as separate processes,
// wired like a cluster: the aggregator reaches vm-apiserver through the
// APIServices of artifacts/, and vm-apiserver delegates authentication and
// authorization to kube-apiserver with the kit's ServiceAccount.
type environment struct {
	dir  string // temporary; logs, certificates, kubeconfigs
	root string // the repository

	kubectlBin string
	kubeURL    string
	vmURL      string
	kubeconfig string // admin kubeconfig for kubectl
	vmAudit    string // vm-apiserver's audit log

	admin *rest.Config
	kube  kubernetes.Interface
	vms   vmclient.Interface
	dyn   dynamic.Interface
	agg   aggregatorclient.Interface

	kubeServingCA []byte // PEM; kube-apiserver's serving CA
	vmServingCA   []byte // PEM; the kit's CA, as in its caBundle
	clientCA      *framework.CA
	frontProxyCA  *framework.CA
	frontProxy    *framework.KeyPair // kube-apiserver's proxy client certificate

	etcd            *framework.Etcd
	kubeAPIServer   *framework.KubeAPIServer
	vmAPIServer     *framework.VMAPIServer
	stopControllers context.CancelFunc
}

// pollInterval is how often the suite checks a condition it waits for.
const pollInterval = 100 * time.Millisecond

// setupEnvironment starts everything. On error the returned environment
// holds what was started, for teardown.
func setupEnvironment(ctx context.Context) (*environment, error) {
	root, err := framework.RepoRoot()
	if err != nil {
		return nil, err
	}
	bins, err := framework.FindBinaries()
	if err != nil {
		return nil, err
	}
	if err := bins.Check(framework.BinVMAPIServer, framework.BinKubeAPIServer, framework.BinKubectl, framework.BinEtcd); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "vm-apiserver-integration-")
	if err != nil {
		return nil, err
	}
	e := &environment{dir: dir, root: root, kubectlBin: bins.Kubectl}
	ports, err := framework.FreePorts(2)
	if err != nil {
		return e, err
	}
	kubePort, vmPort := ports[0], ports[1]

	if err := e.startEtcd(ctx, bins.Etcd); err != nil {
		return e, err
	}
	if err := e.startKubeAPIServer(ctx, bins.KubeAPIServer, kubePort); err != nil {
		return e, err
	}
	e.startControllers(ctx)
	if err := e.applyKit(ctx, vmPort); err != nil {
		return e, err
	}
	if err := e.startVMAPIServer(ctx, bins.VMAPIServer, vmPort); err != nil {
		return e, err
	}
	if err := e.waitAPIServicesAvailable(ctx); err != nil {
		return e, err
	}
	return e, e.waitAggregatedRoles(ctx)
}

// teardown stops vm-apiserver, then kube-apiserver, then etcd: each one
// still has what it depends on while it shuts down.
func (e *environment) teardown(keep bool) {
	if e == nil {
		return
	}
	var errs []error
	if e.vmAPIServer != nil {
		errs = append(errs, e.vmAPIServer.Stop(30*time.Second))
	}
	if e.stopControllers != nil {
		e.stopControllers()
	}
	if e.kubeAPIServer != nil {
		errs = append(errs, e.kubeAPIServer.Stop(30*time.Second))
	}
	if e.etcd != nil {
		errs = append(errs, e.etcd.Stop(15*time.Second))
	}
	if err := errors.Join(errs...); err != nil {
		fmt.Fprintln(os.Stderr, "teardown:", err)
	}
	if keep {
		fmt.Fprintln(os.Stderr, "kept logs and state in", e.dir)
		return
	}
	_ = os.RemoveAll(e.dir)
}

// startEtcd runs etcd with its data in the environment's directory.
func (e *environment) startEtcd(ctx context.Context, bin string) error {
	var err error
	// Durability does not matter for a throwaway test cluster.
	e.etcd, err = framework.NewEtcd(bin, e.dir, "etcd", filepath.Join(e.dir, "etcd"), "--unsafe-no-fsync")
	if err != nil {
		return err
	}
	if err := e.etcd.Start(); err != nil {
		return err
	}
	return e.etcd.WaitHealthy(ctx, time.Minute)
}

// startKubeAPIServer runs kube-apiserver with a PKI of its own, as kubeadm
// would make it (serving, client, front-proxy and service-account keys),
// as the aggregation layer's front proxy.
func (e *environment) startKubeAPIServer(ctx context.Context, bin string, port int) error {
	k, err := framework.StartKubeAPIServer(ctx, framework.KubeAPIServerOptions{
		Bin: bin, Dir: e.dir, EtcdURL: e.etcd.URL, Port: port, FrontProxy: true,
		Args: []string{"--profiling=false"}, ReadyTimeout: 2 * time.Minute,
	})
	if err != nil {
		return err
	}
	e.kubeAPIServer = k
	e.kubeURL = k.URL
	e.kubeServingCA = k.ServingCA.CertPEM
	e.clientCA, e.frontProxyCA, e.frontProxy = k.ClientCA, k.FrontProxyCA, k.FrontProxyClient

	e.admin = k.AdminConfig()
	e.admin.QPS, e.admin.Burst = 200, 400
	if e.kube, err = kubernetes.NewForConfig(e.admin); err != nil {
		return err
	}
	if e.vms, err = vmclient.NewForConfig(e.admin); err != nil {
		return err
	}
	if e.dyn, err = dynamic.NewForConfig(e.admin); err != nil {
		return err
	}
	if e.agg, err = aggregatorclient.NewForConfig(e.admin); err != nil {
		return err
	}
	e.kubeconfig = filepath.Join(e.dir, "admin.kubeconfig")
	return writeKubeconfig(e.kubeconfig, e.kubeURL, e.kubeServingCA, func(a *clientcmdapi.AuthInfo) {
		a.ClientCertificateData = k.Admin.CertPEM
		a.ClientKeyData = k.Admin.KeyPEM
	})
}

// startControllers runs, inside the suite, the one kube-controller-manager
// controller that the kit depends on: ClusterRole aggregation, which folds
// the kit's vm-apiserver:{view,edit,admin} rules into view, edit and admin.
func (e *environment) startControllers(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	e.stopControllers = cancel
	factory := informers.NewSharedInformerFactory(e.kube, 0)
	ctrl := clusterroleaggregation.NewClusterRoleAggregation(factory.Rbac().V1().ClusterRoles(), e.kube.RbacV1())
	factory.Start(ctx.Done())
	go ctrl.Run(ctx, 1)
}

// applyKit applies artifacts/ with kubectl, changed only where loopback
// routing demands it.
func (e *environment) applyKit(ctx context.Context, vmPort int) error {
	objs, ca, err := renderKit(e.root, e.kubectlBin, filepath.Join(e.dir, "kit"))
	if err != nil {
		return err
	}
	e.vmServingCA = ca.CertPEM
	for _, o := range objs {
		routeToLoopback(o, vmPort)
	}
	manifest := filepath.Join(e.dir, "kit-applied.yaml")
	if err := writeManifest(manifest, objs); err != nil {
		return err
	}
	_, err = e.kubectl(ctx, "apply", "-f", manifest)
	return err
}

func (e *environment) startVMAPIServer(ctx context.Context, bin string, port int) error {
	// vm-apiserver runs as the kit's ServiceAccount, with only the kit's
	// RBAC: if the kit grants too little, the server does not get ready.
	tr, err := e.kube.CoreV1().ServiceAccounts(kitNamespace).CreateToken(ctx, kitServiceAccount,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptrTo(int64(4 * 3600))}},
		metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("token for the kit's ServiceAccount: %w", err)
	}
	kubeconfig := filepath.Join(e.dir, "vm-apiserver.kubeconfig")
	if err := writeKubeconfig(kubeconfig, e.kubeURL, e.kubeServingCA, func(a *clientcmdapi.AuthInfo) {
		a.Token = tr.Status.Token
	}); err != nil {
		return err
	}
	policy := filepath.Join(e.dir, "audit-policy.yaml")
	if err := os.WriteFile(policy, []byte(auditPolicy), 0o644); err != nil {
		return err
	}
	e.vmAudit = filepath.Join(e.dir, "vm-apiserver-audit.log")
	certs := filepath.Join(e.dir, "kit", "certs")
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(e.vmServingCA)
	vm, err := framework.StartVMAPIServer(ctx, framework.VMAPIServerOptions{
		Bin: bin, Dir: e.dir, Port: port, EtcdURL: e.etcd.URL, DataDir: filepath.Join(e.dir, "vm-data"),
		// The kit's serving certificate is for its Service.
		Roots: roots, ServerName: kitService + "." + kitNamespace + ".svc",
		Args: []string{
			"--tls-cert-file=" + filepath.Join(certs, "tls.crt"),
			"--tls-private-key-file=" + filepath.Join(certs, "tls.key"),
			"--authentication-kubeconfig=" + kubeconfig,
			"--authorization-kubeconfig=" + kubeconfig,
			"--kubeconfig=" + kubeconfig,
			"--audit-log-path=" + e.vmAudit,
			"--audit-policy-file=" + policy,
		},
	})
	if err != nil {
		return err
	}
	e.vmAPIServer, e.vmURL = vm, vm.URL
	return nil
}

// auditPolicy records every request with its user, so the suite can see the
// identity that vm-apiserver authorized.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: Metadata
`

func (e *environment) waitAPIServicesAvailable(ctx context.Context) error {
	return framework.Poll(ctx, pollInterval, 2*time.Minute, "APIServices Available", func(ctx context.Context) (bool, error) {
		if err := e.vmAPIServer.Alive(); err != nil {
			return false, err
		}
		for _, name := range kitAPIServices {
			svc, err := e.agg.ApiregistrationV1().APIServices().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			if c := availableCondition(svc); c == nil || c.Status != apiregistrationv1.ConditionTrue {
				return false, fmt.Errorf("%s not available: %+v", name, c)
			}
		}
		// Available is the availability controller's view; the proxy
		// handler of each APIService learns it from an informer a moment
		// later, and answers 503 itself until then. Wait until a read of
		// every group version goes through kube-apiserver to vm-apiserver.
		for _, name := range kitAPIServices {
			version, group, _ := strings.Cut(name, ".")
			if _, err := e.kube.Discovery().RESTClient().Get().AbsPath("/apis", group, version).DoRaw(ctx); err != nil {
				return false, fmt.Errorf("reading %s/%s through the aggregator: %w", group, version, err)
			}
		}
		if _, err := e.vms.KubevirtV1().VirtualMachines(metav1.NamespaceDefault).List(ctx, metav1.ListOptions{Limit: 1}); err != nil {
			return false, fmt.Errorf("listing VMs through the aggregator: %w", err)
		}
		return true, nil
	})
}

func availableCondition(svc *apiregistrationv1.APIService) *apiregistrationv1.APIServiceCondition {
	for i := range svc.Status.Conditions {
		if svc.Status.Conditions[i].Type == apiregistrationv1.Available {
			return &svc.Status.Conditions[i]
		}
	}
	return nil
}

// waitAggregatedRoles waits until the aggregation controller has folded the
// kit's rules into the built-in roles.
func (e *environment) waitAggregatedRoles(ctx context.Context) error {
	want := map[string]string{"view": "virtualmachines", "edit": "virtualmachines/start", "admin": "virtualmachines/restart"}
	return framework.Poll(ctx, pollInterval, time.Minute, "aggregated ClusterRoles", func(ctx context.Context) (bool, error) {
		for role, resource := range want {
			cr, err := e.kube.RbacV1().ClusterRoles().Get(ctx, role, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			if !hasResource(cr.Rules, resource) {
				return false, fmt.Errorf("ClusterRole %s has no rule for %s yet", role, resource)
			}
		}
		return true, nil
	})
}

func hasResource(rules []rbacv1.PolicyRule, resource string) bool {
	for _, r := range rules {
		for _, res := range r.Resources {
			if res == resource {
				return true
			}
		}
	}
	return false
}

// vmHTTPClient calls vm-apiserver directly, verifying it against the kit's
// CA under its Service name, optionally with a client certificate.
func (e *environment) vmHTTPClient(clientCert *framework.KeyPair) *http.Client {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(e.vmServingCA)
	cfg := &tls.Config{RootCAs: pool, ServerName: kitService + "." + kitNamespace + ".svc", MinVersion: tls.VersionTLS12}
	if clientCert != nil {
		cfg.Certificates = []tls.Certificate{*clientCert.TLSCertificate()}
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: 30 * time.Second}
}

// kubectl runs the real kubectl as the cluster admin.
func (e *environment) kubectl(ctx context.Context, args ...string) (string, error) {
	return e.kubectlAs(ctx, e.kubeconfig, args...)
}

// kubectlAs runs kubectl with the given kubeconfig.
func (e *environment) kubectlAs(_ context.Context, kubeconfig string, args ...string) (string, error) {
	return framework.RunCommand(e.dir, e.kubectlBin, append([]string{"--kubeconfig=" + kubeconfig}, args...)...)
}

// writeKubeconfig writes a one-context kubeconfig for kube-apiserver.
func writeKubeconfig(path, server string, ca []byte, auth func(*clientcmdapi.AuthInfo)) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["integration"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: ca}
	ai := clientcmdapi.NewAuthInfo()
	auth(ai)
	cfg.AuthInfos["user"] = ai
	cfg.Contexts["integration"] = &clientcmdapi.Context{Cluster: "integration", AuthInfo: "user"}
	cfg.CurrentContext = "integration"
	return clientcmd.WriteToFile(*cfg, path)
}

func ptrTo[T any](v T) *T { return &v }
