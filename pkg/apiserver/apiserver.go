// Package apiserver assembles vm-apiserver: the kubevirt.io group with
// virtualmachines, their status and their scale, and the
// subresources.kubevirt.io group with the lifecycle actions, on top of
// k8s.io/apiserver.
package apiserver

import (
	"fmt"
	"net/http"
	"time"

	restful "github.com/emicklei/go-restful/v3"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/endpoints/handlers/responsewriters"
	"k8s.io/apiserver/pkg/registry/rest"
	genericapiserver "k8s.io/apiserver/pkg/server"
	restclient "k8s.io/client-go/rest"
	"k8s.io/client-go/tools/events"
	basecompatibility "k8s.io/component-base/compatibility"
	baseversion "k8s.io/component-base/version"
	"k8s.io/klog/v2"

	"github.com/vm-apiserver/vm-apiserver/pkg/api/openapi"
	"github.com/vm-apiserver/vm-apiserver/pkg/api/scheme"
	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
	kubevirtv1 "github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt/v1"
	subresourcesv1 "github.com/vm-apiserver/vm-apiserver/pkg/apis/subresources/v1"
	"github.com/vm-apiserver/vm-apiserver/pkg/generated/clientset/versioned"
	eventstorage "github.com/vm-apiserver/vm-apiserver/pkg/registry/event/storage"
	"github.com/vm-apiserver/vm-apiserver/pkg/registry/virtualmachine"
	vmstorage "github.com/vm-apiserver/vm-apiserver/pkg/registry/virtualmachine/storage"
	"github.com/vm-apiserver/vm-apiserver/pkg/simulator"
	"github.com/vm-apiserver/vm-apiserver/pkg/version"
)

// ExtraConfig is what vm-apiserver adds to the generic server's config.
type ExtraConfig struct {
	// PostStartHooks run once the server serves.
	PostStartHooks map[string]genericapiserver.PostStartHookFunc
	// ServeEvents serves Events in the core group (/api/v1) and in
	// events.k8s.io/v1 from a store of the server's own, and records the
	// server's Events there. Standalone mode sets it; in cluster mode
	// Events go to kube-apiserver, and the server serves no /api.
	ServeEvents bool
	// EventTTL is how long a stored Event is kept (ServeEvents only);
	// zero is an hour.
	EventTTL time.Duration
	// SimulatedRuntime, when set, runs the simulated VM runtime inside the
	// server with these options (its Recorder is the server's).
	SimulatedRuntime *simulator.Options
	// HotplugVolumeRequests records addvolume and removevolume in
	// status.volumeRequests for the runtime to carry out, as KubeVirt's
	// HotplugVolumes feature gate does, instead of in the VM's template.
	HotplugVolumeRequests bool
}

// Config is the whole configuration of the server.
type Config struct {
	GenericConfig *genericapiserver.RecommendedConfig
	ExtraConfig   ExtraConfig
}

// CompletedConfig is a Config whose defaults are filled in.
type CompletedConfig struct {
	generic genericapiserver.CompletedConfig
	extra   *ExtraConfig
	// cluster is the server's --kubeconfig: where Events go. nil in
	// standalone mode.
	cluster *restclient.Config
}

// Server is a running vm-apiserver.
type Server struct {
	GenericAPIServer *genericapiserver.GenericAPIServer
}

// NewRecommendedConfig returns the generic config that vm-apiserver starts
// from: the server's codecs, the Kubernetes version whose API machinery it
// carries (the generic server gates its features and admission's CEL
// environment on it), OpenAPI named after vm-apiserver, and the handler
// chain. Options are applied to it before Complete.
func NewRecommendedConfig() *genericapiserver.RecommendedConfig {
	gc := genericapiserver.NewRecommendedConfig(scheme.Codecs)
	gc.EffectiveVersion = basecompatibility.NewEffectiveVersionFromString(baseversion.DefaultKubeBinaryVersion, "", "")
	gc.OpenAPIConfig = openapi.Config("vm-apiserver", version.Get().GitVersion)
	gc.OpenAPIV3Config = openapi.V3Config("vm-apiserver", version.Get().GitVersion)
	gc.BuildHandlerChainFunc = BuildHandlerChain
	return gc
}

// Complete fills in the defaults of the generic config. The handler chain
// is always BuildHandlerChain: the field checks and the deadlines depend on
// its filters.
func (c *Config) Complete() CompletedConfig {
	c.GenericConfig.BuildHandlerChainFunc = BuildHandlerChain
	return CompletedConfig{generic: c.GenericConfig.Complete(), extra: &c.ExtraConfig, cluster: c.GenericConfig.ClientConfig}
}

// New installs both API groups on a new generic server.
func (c CompletedConfig) New() (*Server, error) {
	generic, err := c.generic.New("vm-apiserver", genericapiserver.NewEmptyDelegate())
	if err != nil {
		return nil, err
	}

	typeConverter, err := openapi.NewTypeConverter()
	if err != nil {
		return nil, err
	}
	// Events on VMs go to the cluster the server's --kubeconfig names; in
	// standalone mode, to the server's own store, which it serves.
	var eventStore *eventstorage.EventStorage
	var eventSink events.EventSink
	if c.extra.ServeEvents {
		if eventStore, err = newEventStorage(c.generic.RESTOptionsGetter, c.extra.EventTTL); err != nil {
			return nil, err
		}
		eventSink = eventStore.Writer
	}
	recorder, startEvents, err := newEventRecorder(c.cluster, eventSink)
	if err != nil {
		return nil, err
	}
	vms, err := vmstorage.NewStorage(c.generic.RESTOptionsGetter, c.generic.AdmissionControl, typeConverter)
	if err != nil {
		return nil, fmt.Errorf("building virtualmachines storage: %w", err)
	}
	if c.extra.HotplugVolumeRequests {
		vms.Actions.SetHotplugMode(virtualmachine.HotplugRequests)
	}

	kubevirtGroup := genericapiserver.NewDefaultAPIGroupInfo(kubevirt.GroupName, scheme.Scheme, scheme.ParameterCodec, scheme.Codecs)
	// Unknown fields anywhere in a VM are found, including inside the parts
	// of KubeVirt's types that decode themselves, by pruning along the VM's
	// structural schema, built here once (strictfields.go). The checks wrap
	// the group's own codecs, which encode lists item by item as they are
	// written instead of whole in memory.
	if _, err := vmSchema(); err != nil {
		return nil, fmt.Errorf("building the VirtualMachine schema: %w", err)
	}
	kubevirtGroup.NegotiatedSerializer = newStrictVMSerializer(kubevirtGroup.NegotiatedSerializer)
	// kubevirt.io/v1alpha3 is served by the same storages as v1, so both
	// read and write one store, kept as v1; the scheme converts between the
	// versions and the request's version names the apiVersion of what is
	// returned. Its requests are warned of the deprecation by
	// WithDeprecatedVersionWarning (deprecation.go).
	// virtualmachines/scale is an autoscaling/v1 Scale whose writes are
	// starts and stops (scale.go).
	scale := &scaleStorage{ScaleREST: vms.Scale, events: recorder}
	for _, gv := range vmVersions {
		kubevirtGroup.VersionedResourcesStorageMap[gv.Version] = map[string]rest.Storage{
			"virtualmachines":        vms.VirtualMachine,
			"virtualmachines/status": vms.Status,
			"virtualmachines/scale":  scale,
		}
	}

	if err := generic.InstallAPIGroups(&kubevirtGroup); err != nil {
		return nil, err
	}
	if eventStore != nil {
		if err := installEvents(generic, eventStore.REST); err != nil {
			return nil, err
		}
	}
	// Both versions of the actions group are served by the same handler;
	// v1alpha3 is there for older KubeVirt clients.
	if err := installActions(generic, &actionHandler{actions: vms.Actions, events: recorder}); err != nil {
		return nil, err
	}
	if err := installVersionRoute(generic); err != nil {
		return nil, err
	}
	vmGauges := newVMCollector()
	registry, err := newMetricsRegistry(vmGauges)
	if err != nil {
		return nil, err
	}
	if c.generic.EnableMetrics {
		serveMetrics(generic, registry)
	}
	// /readyz passes only once the watch cache of virtualmachines is filled,
	// so that a replica joining a large cluster serves no slow lists.
	if err := generic.AddPostStartHook("storage-readiness", generic.StorageReadinessHook.Hook); err != nil {
		return nil, err
	}

	// The VM gauges of /metrics count what a reflector on the store reports.
	if err := generic.AddPostStartHook("vm-metrics", func(hctx genericapiserver.PostStartHookContext) error {
		startVMMetrics(hctx, vmGauges, vms.VirtualMachine)
		return nil
	}); err != nil {
		return nil, err
	}

	if err := generic.AddPostStartHook("start-event-recorder", func(hctx genericapiserver.PostStartHookContext) error {
		return startEvents(hctx)
	}); err != nil {
		return nil, err
	}
	if c.extra.SimulatedRuntime != nil {
		opts := *c.extra.SimulatedRuntime
		opts.Recorder = recorder
		if err := generic.AddPostStartHook("start-simulated-runtime", func(hctx genericapiserver.PostStartHookContext) error {
			return startSimulatedRuntime(hctx, opts)
		}); err != nil {
			return nil, err
		}
	}

	for name, hook := range c.extra.PostStartHooks {
		if err := generic.AddPostStartHook(name, hook); err != nil {
			return nil, err
		}
	}
	return &Server{GenericAPIServer: generic}, nil
}

// startSimulatedRuntime runs the simulated runtime inside the server until
// it stops. It talks to the server over the loopback connection, like any
// other runtime, and writes only through virtualmachines/status.
func startSimulatedRuntime(hctx genericapiserver.PostStartHookContext, opts simulator.Options) error {
	client, err := versioned.NewForConfig(hctx.LoopbackClientConfig)
	if err != nil {
		return err
	}
	runtime := simulator.New(client, opts)
	go func() {
		if err := runtime.Run(hctx, 2); err != nil {
			klog.ErrorS(err, "Simulated runtime stopped")
		}
	}()
	klog.InfoS("Simulated runtime started", "startDelay", opts.StartDelay, "stopDelay", opts.StopDelay)
	return nil
}

// vmVersions are the versions of kubevirt.io, preferred first.
var vmVersions = kubevirtv1.Versions

// actionVersions are the versions of subresources.kubevirt.io.
var actionVersions = []schema.GroupVersion{subresourcesv1.SchemeGroupVersion, subresourcesv1.V1alpha3GroupVersion}

// installVersionRoute serves GET /version in place of the generic
// server's. kubectl reads /version as the Kubernetes API level the server
// implements, to warn of a version skew, so it says the Kubernetes release
// of the libraries (1.37), with this build's release as build metadata
// (version.KubernetesAPI). KubeVirt's virtctl reads
// /apis/subresources.kubevirt.io/{v}/version (installActions) to learn the
// server's own release, which serveVersion answers.
func installVersionRoute(s *genericapiserver.GenericAPIServer) error {
	container := s.Handler.GoRestfulContainer
	for _, ws := range container.RegisteredWebServices() {
		if ws.RootPath() != "/version" {
			continue
		}
		if err := container.Remove(ws); err != nil {
			return err
		}
		root := new(restful.WebService).Path("/version").Produces(restful.MIME_JSON)
		root.Route(root.GET("/").To(serveKubernetesVersion).
			Doc("get the Kubernetes version whose API vm-apiserver serves, with vm-apiserver's release as build metadata").
			Operation("getCodeVersion"))
		container.Add(root)
	}
	return nil
}

// serveVersion answers vm-apiserver's own release.
func serveVersion(_ *restful.Request, resp *restful.Response) {
	responsewriters.WriteRawJSON(http.StatusOK, version.Get(), resp.ResponseWriter)
}

// serveKubernetesVersion answers the Kubernetes API level, for kubectl.
func serveKubernetesVersion(_ *restful.Request, resp *restful.Response) {
	responsewriters.WriteRawJSON(http.StatusOK, version.KubernetesAPI(), resp.ResponseWriter)
}
