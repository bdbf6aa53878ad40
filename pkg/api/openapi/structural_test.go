package openapi

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/kube-openapi/pkg/common"
	"k8s.io/kube-openapi/pkg/validation/spec"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt/fuzzer"
)

func str() spec.Schema { return *spec.StringProperty() }

func object(props map[string]spec.Schema, required ...string) spec.Schema {
	return spec.Schema{SchemaProps: spec.SchemaProps{Type: []string{"object"}, Properties: props, Required: required}}
}

func list(items spec.Schema, ext spec.Extensions) spec.Schema {
	s := *spec.ArrayProperty(&items)
	s.Extensions = ext
	return s
}

func withDefault(s spec.Schema, d any) spec.Schema {
	s.Default = d
	return s
}

// convertModel converts model "root" of defs.
func convertModel(t *testing.T, defs map[string]spec.Schema) apiextensionsv1.JSONSchemaProps {
	t.Helper()
	c := &converter{defs: map[string]common.OpenAPIDefinition{}, visiting: map[string]bool{}}
	for name, s := range defs {
		c.defs[name] = common.OpenAPIDefinition{Schema: s}
	}
	out, err := c.model("root", "", nil)
	require.NoError(t, err)
	return out
}

func TestConvert(t *testing.T) {
	ref := func(name string) spec.Schema {
		return spec.Schema{SchemaProps: spec.SchemaProps{Ref: refCallback(name)}}
	}
	item := object(map[string]spec.Schema{"name": str(), "protocol": withDefault(str(), "TCP"), "blank": withDefault(str(), "")}, "name")

	out := convertModel(t, map[string]spec.Schema{
		"root": object(map[string]spec.Schema{
			"intOrString": {SchemaProps: spec.SchemaProps{OneOf: []spec.Schema{*spec.Int64Property(), str()}}},
			"wrapped":     {SchemaProps: spec.SchemaProps{AllOf: []spec.Schema{ref("leaf")}, Default: map[string]any{}}},
			"self":        ref("root"),
			"raw":         ref(rawExtensionModel),
			"meta":        ref(objectMetaModel),
			"empty":       object(nil),
			"byName":      list(ref("item"), spec.Extensions{extListType: "map", extListMapKeys: []any{"name"}}),
			"byProtocol":  list(ref("item"), spec.Extensions{extListType: "map", extListMapKeys: []any{"protocol"}}),
			"byBlank":     list(ref("item"), spec.Extensions{extListType: "map", extListMapKeys: []any{"blank"}}),
			"labels": {SchemaProps: spec.SchemaProps{Type: []string{"object"}, AdditionalProperties: &spec.SchemaOrBool{Allows: true, Schema: spec.StringProperty()}},
				VendorExtensible: spec.VendorExtensible{Extensions: spec.Extensions{extMapType: "atomic", "x-kubernetes-patch-strategy": "merge"}}},
		}),
		"leaf":            object(map[string]spec.Schema{"a": str()}),
		"item":            item,
		rawExtensionModel: object(nil),
	})

	p := out.Properties
	assert.True(t, p["intOrString"].XIntOrString)
	assert.Empty(t, p["intOrString"].Type)
	assert.Len(t, p["intOrString"].AnyOf, 2)
	assert.Contains(t, p["wrapped"].Properties, "a", "an allOf wrapper is unwrapped")
	assert.Nil(t, p["wrapped"].Default, "defaults are dropped")
	assert.True(t, *p["self"].XPreserveUnknownFields, "a cycle is a free-form object")
	assert.True(t, *p["raw"].XPreserveUnknownFields)
	assert.True(t, *p["meta"].XPreserveUnknownFields)
	assert.True(t, p["meta"].Nullable)
	assert.Nil(t, p["empty"].XPreserveUnknownFields, "an empty struct is an empty object")
	assert.Equal(t, "map", *p["byName"].XListType)
	assert.Nil(t, p["byName"].Items.Schema.Properties["name"].Default, "a required key needs no default")
	assert.Equal(t, "map", *p["byProtocol"].XListType)
	assert.JSONEq(t, `"TCP"`, string(p["byProtocol"].Items.Schema.Properties["protocol"].Default.Raw), "a key keeps its default")
	assert.Nil(t, p["byProtocol"].Items.Schema.Properties["blank"].Default, "other fields do not")
	assert.Equal(t, "map", *p["byBlank"].XListType, `"" is a valid default without an enum`)
	assert.Equal(t, "atomic", *p["labels"].XMapType)
	assert.Equal(t, "string", p["labels"].AdditionalProperties.Schema.Type)
}

func TestConvertDemotesUnkeyedListMap(t *testing.T) {
	item := object(map[string]spec.Schema{"k": str()})
	out := convertModel(t, map[string]spec.Schema{
		"root": object(map[string]spec.Schema{
			"l": list(item, spec.Extensions{extListType: "map", extListMapKeys: []any{"k"}}),
		}),
	})
	l := out.Properties["l"]
	assert.Equal(t, "atomic", *l.XListType, "a key neither required nor defaulted")
	assert.Empty(t, l.XListMapKeys)
}

func TestVirtualMachineStructuralTypesMetadata(t *testing.T) {
	s, err := VirtualMachineStructural()
	require.NoError(t, err)
	meta := s.Properties["metadata"]
	assert.Contains(t, meta.Properties, "labels", "the root's metadata is typed")
	managed := meta.Properties["managedFields"].Items.Properties["fieldsV1"]
	assert.True(t, managed.XPreserveUnknownFields, "the managed fields' trie is free-form")
	template := s.Properties["spec"].Properties["template"].Properties["metadata"]
	assert.Contains(t, template.Properties, "annotations", "a template's metadata is typed")

	crdSchema, err := VirtualMachineSchema(CRDMetadata)
	require.NoError(t, err)
	assert.Empty(t, crdSchema.Properties["metadata"].Properties, "a CRD's root metadata is a plain object")
	assert.True(t, *crdSchema.Properties["spec"].Properties["template"].Properties["metadata"].XPreserveUnknownFields)
}

// TestFuzzedVirtualMachinesHaveNoUnknownFields prunes VMs that set, across
// a few hundred, every field of kubevirt.io/api: the schema knows them all.
func TestFuzzedVirtualMachinesHaveNoUnknownFields(t *testing.T) {
	s, err := VirtualMachineStructural()
	require.NoError(t, err)
	for i := range 300 {
		vm := fuzzer.ValidVirtualMachine(20261207, i)
		vm.Status = *fuzzer.ValidVirtualMachineStatus(20261207, i)
		vm.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "m", Operation: metav1.ManagedFieldsOperationApply,
			FieldsType: "FieldsV1", FieldsV1: metav1.NewFieldsV1(`{"f:spec":{".":{}}}`)}}
		raw, err := json.Marshal(vm)
		require.NoError(t, err)
		var obj map[string]any
		require.NoError(t, json.Unmarshal(raw, &obj))
		unknown := pruning.PruneWithOptions(obj, s, false, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true})
		require.Empty(t, unknown, "VM %d", i)
	}
}
