// Package app is the vm-apiserver command: its flags, their validation, and
// the assembly and run of the server.
package app

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	genericoptions "k8s.io/apiserver/pkg/server/options"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	cliflag "k8s.io/component-base/cli/flag"
	logsapi "k8s.io/component-base/logs/api/v1"

	"github.com/vm-apiserver/vm-apiserver/pkg/api/scheme"
	"github.com/vm-apiserver/vm-apiserver/pkg/api/storagecodec"
	kubevirtv1 "github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt/v1"
	eventstorage "github.com/vm-apiserver/vm-apiserver/pkg/registry/event/storage"
	"github.com/vm-apiserver/vm-apiserver/pkg/simulator"
	"github.com/vm-apiserver/vm-apiserver/pkg/standalone"
)

// etcdPathPrefix is where objects live in etcd: keys are
// /vm-apiserver/kubevirt.io/virtualmachines/<namespace>/<name>. It differs
// from kube-apiserver's /registry, so that sharing an etcd with a cluster
// that has KubeVirt's CRDs cannot mix the two.
const etcdPathPrefix = "/vm-apiserver"

// Runtimes that --runtime accepts.
const (
	RuntimeNone      = "none"
	RuntimeSimulated = "simulated"
)

// Options are the flags of vm-apiserver.
type Options struct {
	Recommended *genericoptions.RecommendedOptions

	// DataDir holds the embedded etcd and the standalone credentials.
	DataDir string
	// Runtime is the VM runtime started inside the server: none or simulated.
	Runtime string
	// AdvertiseHosts are extra names for the standalone serving certificate.
	AdvertiseHosts []string
	// HotplugVolumeRequests records volume hotplug requests in
	// status.volumeRequests, as KubeVirt's HotplugVolumes gate does.
	HotplugVolumeRequests bool
	// Simulated configures the simulated runtime when Runtime is "simulated".
	Simulated simulator.Options
	// EventTTL is how long the Events that standalone mode serves are
	// kept, as kube-apiserver's --event-ttl.
	EventTTL time.Duration
	// Logs configures klog: -v, --vmodule, the format.
	Logs *logsapi.LoggingConfiguration

	// standalone is decided in Complete: no cluster to delegate to.
	standalone bool
	// clientCAFile is --client-ca-file in standalone mode; empty, the data
	// dir's CA.
	clientCAFile string
}

// NewOptions returns the defaults: port 8443 on 127.0.0.1, data in ./.vm-apiserver.
func NewOptions() *Options {
	// The store decodes each VM it writes, and the watch cache the same
	// bytes again; the storage codec answers the second from memory.
	codec := storagecodec.New(scheme.Codecs.LegacyCodec(kubevirtv1.SchemeGroupVersion), storagecodec.DefaultSize)
	o := &Options{
		Recommended: genericoptions.NewRecommendedOptions(etcdPathPrefix, codec),
		DataDir:     ".vm-apiserver",
		Runtime:     RuntimeNone,
		EventTTL:    eventstorage.DefaultTTL,
		Logs:        logsapi.NewLoggingConfiguration(),
	}
	// Objects are stored as kubevirt.io/v1, whichever version of the group
	// (v1 or the deprecated v1alpha3) a client wrote them in.
	o.Recommended.Etcd.StorageConfig.EncodeVersioner = runtime.NewMultiGroupVersioner(kubevirtv1.SchemeGroupVersion, schema.GroupKind{Group: kubevirtv1.GroupName})
	o.Recommended.SecureServing.BindPort = 8443
	o.Recommended.SecureServing.BindAddress = net.ParseIP("127.0.0.1")
	return o
}

// Flags returns the flags in named sections for --help.
func (o *Options) Flags() cliflag.NamedFlagSets {
	var fss cliflag.NamedFlagSets
	fs := fss.FlagSet("vm-apiserver")
	fs.StringVar(&o.DataDir, "data-dir", o.DataDir, "Directory for the embedded etcd (used when --etcd-servers is empty) and, in standalone mode, the generated CA, certificates and admin.kubeconfig.")
	fs.StringVar(&o.Runtime, "runtime", o.Runtime, "VM runtime to run inside the server: 'none', or 'simulated' for the reference runtime that simulates instances.")
	fs.BoolVar(&o.HotplugVolumeRequests, "hotplug-volume-requests", o.HotplugVolumeRequests, "Record addvolume and removevolume as status.volumeRequests for the runtime to carry out, as KubeVirt's HotplugVolumes feature gate does, instead of writing the disk and volume into spec.template (KubeVirt's DeclarativeHotplugVolumes, the default).")
	o.Simulated.AddFlags(fss.FlagSet("simulated runtime"), "simulated-")
	fs.DurationVar(&o.EventTTL, "event-ttl", o.EventTTL, "Amount of time to retain events, in standalone mode, where the server stores and serves them (at least 1s). In cluster mode events go to kube-apiserver, whose --event-ttl applies.")
	fs.StringSliceVar(&o.AdvertiseHosts, "standalone-hosts", o.AdvertiseHosts, "Extra DNS names or IPs for the standalone serving certificate (localhost and 127.0.0.1 are always included).")

	o.Recommended.Etcd.AddFlags(fss.FlagSet("etcd"))
	o.Recommended.SecureServing.AddFlags(fss.FlagSet("secure serving"))
	o.Recommended.Authentication.AddFlags(fss.FlagSet("authentication"))
	o.Recommended.Authorization.AddFlags(fss.FlagSet("authorization"))
	o.Recommended.Audit.AddFlags(fss.FlagSet("auditing"))
	o.Recommended.Features.AddFlags(fss.FlagSet("features"))
	// The generic server's feature gates, with this server's defaults
	// (pkg/apiserver/features.go).
	utilfeature.DefaultMutableFeatureGate.AddFlag(fss.FlagSet("features"))
	o.Recommended.CoreAPI.AddFlags(fss.FlagSet("core api"))
	o.Recommended.Admission.AddFlags(fss.FlagSet("admission"))
	o.Recommended.EgressSelector.AddFlags(fss.FlagSet("egress selector"))
	o.Recommended.Traces.AddFlags(fss.FlagSet("traces"))
	logsapi.AddFlags(o.Logs, fss.FlagSet("logging"))
	return fss
}

// Complete decides the mode. The server runs standalone, with its own CA and
// admin certificate, unless a cluster is configured: a delegated
// authentication, authorization or core kubeconfig, or in-cluster service
// variables.
func (o *Options) Complete() error {
	r := o.Recommended
	clusterConfigured := r.Authentication.RemoteKubeConfigFile != "" ||
		r.Authorization.RemoteKubeConfigFile != "" ||
		r.CoreAPI.CoreAPIKubeconfigPath != "" ||
		os.Getenv("KUBERNETES_SERVICE_HOST") != ""
	o.standalone = !clusterConfigured
	if o.standalone && r.Authentication.RequestHeader.ClientCAFile != "" {
		// Standalone mode has no front proxy; say so rather than silently
		// ignore a CA the user expects to be trusted.
		return fmt.Errorf("--requestheader-client-ca-file needs cluster mode (--authentication-kubeconfig, --authorization-kubeconfig and --kubeconfig)")
	}
	if o.standalone {
		// --client-ca-file replaces the data dir's CA as the bundle of
		// trusted client CAs; either file is reloaded when it changes.
		o.clientCAFile = r.Authentication.ClientCert.ClientCA
		// There is no kube-apiserver to delegate to, to read namespaces or
		// flow-control settings from: the server authorizes by fixed rules
		// (standalone.AuthorizationOptions) and runs no admission plugins.
		// Authentication is installed by Config: the delegating options
		// would take every request without a certificate as anonymous.
		r.Authentication = nil
		r.Authorization = standalone.AuthorizationOptions()
		r.CoreAPI = nil
		r.Admission = nil
		r.Features.EnablePriorityAndFairness = false
	}
	if abs, err := filepath.Abs(o.DataDir); err == nil {
		o.DataDir = abs
	}
	return nil
}

// Standalone reports whether Complete chose standalone mode.
func (o *Options) Standalone() bool { return o.standalone }

// Validate checks the flags.
func (o *Options) Validate() error {
	var errs []error
	r := *o.Recommended
	// Without --etcd-servers the server runs an embedded etcd; validate the
	// other etcd flags as if the address were already known.
	if len(r.Etcd.StorageConfig.Transport.ServerList) == 0 {
		etcd := *r.Etcd
		etcd.StorageConfig.Transport.ServerList = []string{"embedded"}
		r.Etcd = &etcd
	}
	errs = append(errs, r.Validate()...)
	errs = append(errs, logsapi.Validate(o.Logs, nil, nil).ToAggregate())
	switch o.Runtime {
	case RuntimeNone, RuntimeSimulated:
	default:
		errs = append(errs, fmt.Errorf("--runtime must be %q or %q, not %q", RuntimeNone, RuntimeSimulated, o.Runtime))
	}
	// Only JSON storage is wired: the types have no protobuf encoding, and
	// CBOR measured slower (docs/performance.md). Say so rather than ignore it.
	if mt := o.Recommended.Etcd.DefaultStorageMediaType; mt != "" && mt != runtime.ContentTypeJSON {
		errs = append(errs, fmt.Errorf("--storage-media-type %q is not supported: vm-apiserver stores VirtualMachines as %s", mt, runtime.ContentTypeJSON))
	}
	if o.EventTTL < time.Second {
		errs = append(errs, fmt.Errorf("--event-ttl must be at least 1s, not %v", o.EventTTL))
	}
	if strings.TrimSpace(o.DataDir) == "" {
		errs = append(errs, fmt.Errorf("--data-dir must not be empty"))
	}
	return utilerrors.NewAggregate(errs)
}
