// Package openapi configures the OpenAPI documents of vm-apiserver from the
// generated definitions, naming every model the way the scheme names its
// kind. The server serves them; the actions' field manager reads its schema
// from them.
package openapi

import (
	"fmt"
	"strings"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	"k8s.io/apimachinery/pkg/util/managedfields"

	openapinamer "k8s.io/apiserver/pkg/endpoints/openapi"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/kube-openapi/pkg/builder3"
	openapicommon "k8s.io/kube-openapi/pkg/common"
	"k8s.io/kube-openapi/pkg/util"
	"k8s.io/kube-openapi/pkg/validation/spec"
	kubevirtv1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/pkg/api/scheme"
	generatedopenapi "github.com/vm-apiserver/vm-apiserver/pkg/generated/openapi"
)

// Config returns the OpenAPI v2 config of the server, titled and
// versioned as given.
func Config(title, version string) *openapicommon.Config {
	cfg := genericapiserver.DefaultOpenAPIConfig(generatedopenapi.GetOpenAPIDefinitions, openapinamer.NewDefinitionNamer(scheme.Scheme))
	cfg.GetDefinitionName = definitionName()
	cfg.Info.Title = title
	cfg.Info.Version = version
	return cfg
}

// V3Config returns the OpenAPI v3 config of the server, titled and
// versioned as given.
func V3Config(title, version string) *openapicommon.OpenAPIV3Config {
	cfg := genericapiserver.DefaultOpenAPIV3Config(generatedopenapi.GetOpenAPIDefinitions, openapinamer.NewDefinitionNamer(scheme.Scheme))
	cfg.GetDefinitionName = definitionName()
	// The default config precomputes the definitions with the refs of the
	// namer it was given; compute them again with the names used here.
	cfg.Definitions = cfg.GetDefinitions(func(name string) spec.Ref {
		defName, _ := cfg.GetDefinitionName(name)
		return spec.MustCreateRef("#/components/schemas/" + openapicommon.EscapeJsonPointer(defName))
	})
	cfg.Info.Title = title
	cfg.Info.Version = version
	return cfg
}

// definitionName names the OpenAPI models the way the scheme names its
// kinds, so that each kind's model carries x-kubernetes-group-version-kind.
//
// openapi-gen keys a model by its OpenAPIModelName when the type has one, as
// the types generated here and in k8s.io do. KubeVirt's and CDI's types have
// none, so their models are keyed by Go import path
// ("kubevirt.io/api/core/v1.VirtualMachine"), while the scheme names the
// kind by the REST-friendly form of that path
// ("io.kubevirt.api.core.v1.VirtualMachine"). Without the GVK on the root
// model, server-side apply and the field manager find no type for the kind.
// Import paths are the only keys with a slash, so only they are renamed;
// refs and definitions go through the same function and stay consistent.
func definitionName() func(string) (string, spec.Extensions) {
	namer := openapinamer.NewDefinitionNamer(scheme.Scheme)
	return func(name string) (string, spec.Extensions) {
		if strings.Contains(name, "/") {
			name = util.ToRESTFriendlyName(name)
		}
		return namer.GetDefinitionName(name)
	}
}

// NewTypeConverter returns the converter between VirtualMachines (and the
// autoscaling/v1 Scale of virtualmachines/scale) and the typed values of
// their OpenAPI schema, which field managers work on. It is built from the
// same models the server serves, so list merge keys and atomic fields are
// those of server-side apply.
func NewTypeConverter() (managedfields.TypeConverter, error) {
	cfg := V3Config("vm-apiserver", "")
	defs, err := builder3.BuildOpenAPIDefinitionsForResources(cfg,
		util.GetCanonicalTypeName(&kubevirtv1.VirtualMachine{}), util.GetCanonicalTypeName(&autoscalingv1.Scale{}))
	if err != nil {
		return nil, fmt.Errorf("building OpenAPI models of VirtualMachine and Scale: %w", err)
	}
	return managedfields.NewTypeConverter(defs, false)
}
