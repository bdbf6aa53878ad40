package crd_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	crdvalidation "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	kubevirtv1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/test/bench"
	"github.com/vm-apiserver/vm-apiserver/test/bench/crd"
	"github.com/vm-apiserver/vm-apiserver/test/framework"
)

// internalSchema is the CRD's v1 schema in the internal form that the
// apiextensions validation code reads.
func internalSchema(t *testing.T, crdv1 *apiextensionsv1.CustomResourceDefinition) *apiextensions.JSONSchemaProps {
	t.Helper()
	var internal apiextensions.JSONSchemaProps
	require.NoError(t, apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(
		crdv1.Spec.Versions[0].Schema.OpenAPIV3Schema, &internal, nil))
	return &internal
}

func TestVirtualMachineSchemaIsStructural(t *testing.T) {
	c, err := crd.VirtualMachine()
	require.NoError(t, err)
	s, err := structuralschema.NewStructural(internalSchema(t, c))
	require.NoError(t, err)
	assert.Empty(t, structuralschema.ValidateStructural(nil, s))

	for _, f := range []string{"apiVersion", "kind", "metadata", "spec", "status"} {
		assert.Contains(t, s.Properties, f)
	}
	assert.Equal(t, "object", s.Properties["metadata"].Type)
	assert.Empty(t, s.Properties["metadata"].Properties, "the root's metadata is a plain object")
	assert.Contains(t, s.Properties["spec"].Properties, "runStrategy")
	assert.Contains(t, s.Properties["status"].Properties, "stateChangeRequests")
	assert.NotNil(t, c.Spec.Versions[0].Subresources.Status)
}

// TestVirtualMachineCRDIsValid runs the checks kube-apiserver runs on a
// CRD it is asked to create.
func TestVirtualMachineCRDIsValid(t *testing.T) {
	c, err := crd.VirtualMachine()
	require.NoError(t, err)
	apiextensionsv1.SetObjectDefaults_CustomResourceDefinition(c)
	var internal apiextensions.CustomResourceDefinition
	require.NoError(t, apiextensionsv1.Convert_v1_CustomResourceDefinition_To_apiextensions_CustomResourceDefinition(c, &internal, nil))
	assert.Empty(t, crdvalidation.ValidateCustomResourceDefinition(context.Background(), &internal))

	raw, err := json.Marshal(c)
	require.NoError(t, err)
	assert.Less(t, len(raw), 1<<20, "a CRD well below etcd's request limit")
}

// TestSeedVMValidates treats a bench VM, a copy of the seed, as
// kube-apiserver treats a create: prune unknown fields, drop nulls the
// schema does not allow, validate.
func TestSeedVMValidates(t *testing.T) {
	root, err := framework.RepoRoot()
	require.NoError(t, err)
	template, err := bench.LoadTemplate(filepath.Join(root, "artifacts", "examples", "vm-cirros.yaml"))
	require.NoError(t, err)
	vm := bench.NewVM(template, "bench", "bench-vm-0000")
	obj := toMap(t, vm)

	c, err := crd.VirtualMachine()
	require.NoError(t, err)
	schema := internalSchema(t, c)
	s, err := structuralschema.NewStructural(schema)
	require.NoError(t, err)

	unknown := pruning.PruneWithOptions(obj, s, true, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true})
	assert.Empty(t, unknown, "every field of the VM is in the schema")
	structuraldefaulting.PruneNonNullableNullsWithoutDefaults(obj, s)

	validator, _, err := validation.NewSchemaValidator(schema)
	require.NoError(t, err)
	assert.Empty(t, validation.ValidateCustomResource(nil, obj, validator))

	spec := obj["spec"].(map[string]any)
	assert.Equal(t, "Always", spec["runStrategy"])
	assert.NotEmpty(t, spec["template"], "the template survives pruning")

	// An empty struct, which selects an option, survives pruning.
	template.Spec.Template.Spec.Domain.Devices.Interfaces = []kubevirtv1.Interface{{
		Name: "default", InterfaceBindingMethod: kubevirtv1.InterfaceBindingMethod{Masquerade: &kubevirtv1.InterfaceMasquerade{}},
	}}
	masq := toMap(t, bench.NewVM(template, "bench", "bench-vm-0001"))
	pruning.Prune(masq, s, true)
	interfaces := masq["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["domain"].(map[string]any)["devices"].(map[string]any)["interfaces"].([]any)
	assert.Equal(t, map[string]any{"name": "default", "masquerade": map[string]any{}}, interfaces[0])

	// A VM the types would reject is rejected.
	spec["runStrategy"] = 3
	assert.NotEmpty(t, validation.ValidateCustomResource(nil, obj, validator))
}

// toMap is vm as kube-apiserver decodes a request: apiVersion and kind set,
// JSON as the typed client sends it.
func toMap(t *testing.T, vm *kubevirtv1.VirtualMachine) map[string]any {
	t.Helper()
	vm.APIVersion, vm.Kind = crd.Group+"/"+crd.Version, crd.Kind
	raw, err := json.Marshal(vm)
	require.NoError(t, err)
	var obj map[string]any
	require.NoError(t, json.Unmarshal(raw, &obj))
	return obj
}
