package apiserver

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/kube-openapi/pkg/builder3"
	openapicommon "k8s.io/kube-openapi/pkg/common"
	"k8s.io/kube-openapi/pkg/util"
	kubevirtv1 "kubevirt.io/api/core/v1"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
)

// actionFieldManager builds the field manager that records, in
// managedFields, what the lifecycle actions change. It is built the way the
// generic server builds the one of virtualmachines: from the OpenAPI models,
// so list merge keys and atomic fields are the same as for server-side apply.
func actionFieldManager(openAPI *openapicommon.OpenAPIV3Config, resetFields map[fieldpath.APIVersion]*fieldpath.Set) (*managedfields.FieldManager, error) {
	if openAPI == nil {
		return nil, fmt.Errorf("the OpenAPI v3 config is needed to track the actions' managed fields")
	}
	defs, err := builder3.BuildOpenAPIDefinitionsForResources(openAPI, util.GetCanonicalTypeName(&kubevirtv1.VirtualMachine{}))
	if err != nil {
		return nil, fmt.Errorf("building OpenAPI models of VirtualMachine: %w", err)
	}
	typeConverter, err := managedfields.NewTypeConverter(defs, false)
	if err != nil {
		return nil, err
	}
	return managedfields.NewDefaultFieldManager(
		typeConverter,
		runtime.UnsafeObjectConvertor(Scheme),
		Scheme,
		Scheme,
		kubevirtv1.SchemeGroupVersion.WithKind("VirtualMachine"),
		kubevirt.SchemeGroupVersion,
		"",
		fieldpath.NewExcludeFilterSetMap(resetFields),
	)
}
