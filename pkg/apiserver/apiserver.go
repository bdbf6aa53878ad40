// Package apiserver assembles vm-apiserver: the kubevirt.io group with
// virtualmachines and their status, and the subresources.kubevirt.io group
// with the lifecycle actions, on top of k8s.io/apiserver.
package apiserver

import (
	"fmt"
	"net/http"
	"strings"

	restful "github.com/emicklei/go-restful/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/endpoints/handlers/responsewriters"
	"k8s.io/apiserver/pkg/registry/rest"
	genericapiserver "k8s.io/apiserver/pkg/server"
	basecompatibility "k8s.io/component-base/compatibility"
	"k8s.io/component-base/version"
	kubevirtv1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
	"github.com/vm-apiserver/vm-apiserver/pkg/apis/subresources"
	subresourcesv1 "github.com/vm-apiserver/vm-apiserver/pkg/apis/subresources/v1"
	"github.com/vm-apiserver/vm-apiserver/pkg/apis/subresources/v1alpha3"
	vmregistry "github.com/vm-apiserver/vm-apiserver/pkg/registry/virtualmachine"
	actions "github.com/vm-apiserver/vm-apiserver/pkg/subresources"
)

// ExtraConfig is what vm-apiserver adds to the generic server's config.
type ExtraConfig struct {
	// PostStartHooks run once the server serves, e.g. the simulated runtime.
	PostStartHooks map[string]genericapiserver.PostStartHookFunc
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
	gc := genericapiserver.NewRecommendedConfig(Codecs)
	gc.EffectiveVersion = basecompatibility.NewEffectiveVersionFromString(version.DefaultKubeBinaryVersion, "", "")
	gc.OpenAPIConfig = OpenAPIConfig("vm-apiserver", version.Get().GitVersion)
	gc.OpenAPIV3Config = OpenAPIV3Config("vm-apiserver", version.Get().GitVersion)
	gc.BuildHandlerChainFunc = BuildHandlerChain
	return gc
}

// Complete fills in the defaults of the generic config. The handler chain
// is always BuildHandlerChain: the actions and the field checks depend on
// its filters.
func (c *Config) Complete() CompletedConfig {
	c.GenericConfig.BuildHandlerChainFunc = BuildHandlerChain
	return CompletedConfig{generic: c.GenericConfig.Complete(), extra: &c.ExtraConfig}
}

// New installs both API groups on a new generic server.
func (c CompletedConfig) New() (*Server, error) {
	generic, err := c.generic.New("vm-apiserver", genericapiserver.NewEmptyDelegate())
	if err != nil {
		return nil, err
	}

	vms, err := vmregistry.NewStorage(Scheme, c.generic.RESTOptionsGetter)
	if err != nil {
		return nil, fmt.Errorf("building virtualmachines storage: %w", err)
	}

	kubevirtGroup := genericapiserver.NewDefaultAPIGroupInfo(kubevirt.GroupName, Scheme, metav1.ParameterCodec, Codecs)
	// Unknown fields anywhere in a VM are found, including inside the parts
	// of KubeVirt's types that decode themselves (strictfields.go).
	kubevirtGroup.NegotiatedSerializer = newStrictVMSerializer(Codecs)
	kubevirtGroup.VersionedResourcesStorageMap[kubevirtv1.SchemeGroupVersion.Version] = map[string]rest.Storage{
		"virtualmachines":        vms.VirtualMachine,
		"virtualmachines/status": vms.Status,
	}

	// The actions record what they change in managedFields (docs/api.md).
	fieldManager, err := actionFieldManager(c.generic.OpenAPIV3Config, vms.Action.GetResetFields())
	if err != nil {
		return nil, err
	}
	tracker := actions.WithFieldTracker(actions.NewActionFieldTracker(fieldManager))
	// Both versions of the actions group are served by the same handlers;
	// v1alpha3 is there for older KubeVirt clients.
	subresourcesGroup := genericapiserver.NewDefaultAPIGroupInfo(subresources.GroupName, Scheme, metav1.ParameterCodec, Codecs)
	for _, v := range []string{subresourcesv1.SchemeGroupVersion.Version, v1alpha3.SchemeGroupVersion.Version} {
		subresourcesGroup.VersionedResourcesStorageMap[v] = actions.NewStorage(vms.Action, Codecs, tracker)
	}

	if err := generic.InstallAPIGroups(&kubevirtGroup, &subresourcesGroup); err != nil {
		return nil, err
	}
	installVersionRoutes(generic)
	// /readyz passes only once the watch cache of virtualmachines is filled,
	// so that a replica joining a large cluster serves no slow lists.
	if err := generic.AddPostStartHook("storage-readiness", generic.StorageReadinessHook.Hook); err != nil {
		return nil, err
	}

	for name, hook := range c.extra.PostStartHooks {
		if err := generic.AddPostStartHook(name, hook); err != nil {
			return nil, err
		}
	}
	return &Server{GenericAPIServer: generic}, nil
}

// installVersionRoutes serves GET /apis/subresources.kubevirt.io/{v}/version,
// which KubeVirt's virtctl reads to learn the server's version.
func installVersionRoutes(s *genericapiserver.GenericAPIServer) {
	for _, ws := range s.Handler.GoRestfulContainer.RegisteredWebServices() {
		for _, gv := range []schema.GroupVersion{subresourcesv1.SchemeGroupVersion, v1alpha3.SchemeGroupVersion} {
			if ws.RootPath() != "/apis/"+gv.String() {
				continue
			}
			ws.Route(ws.GET("/version").
				To(serveVersion).
				Doc("get the version of vm-apiserver").
				Operation("getSubresourcesVersion" + strings.ToUpper(gv.Version[:1]) + gv.Version[1:]).
				Produces(restful.MIME_JSON))
		}
	}
}

func serveVersion(_ *restful.Request, resp *restful.Response) {
	info := version.Get()
	responsewriters.WriteRawJSON(http.StatusOK, info, resp.ResponseWriter)
}
