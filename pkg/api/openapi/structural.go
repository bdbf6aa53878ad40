package openapi

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/kube-openapi/pkg/common"
	"k8s.io/kube-openapi/pkg/validation/spec"

	generatedopenapi "github.com/vm-apiserver/vm-apiserver/pkg/generated/openapi"
)

// The structural schema of VirtualMachines.
//
// The schema is built from the OpenAPI definitions that openapi-gen
// generated from the kubevirt.io/api types, as a custom resource
// definition's schema: every $ref is resolved into a copy of its model, the
// x-kubernetes-* extensions are mapped onto the fields of JSONSchemaProps,
// and what a structural schema forbids or what pruning and the CRD do not
// need (descriptions, defaults, patch strategies) is left out.

const (
	// rootModel is the key of VirtualMachine in GetOpenAPIDefinitions:
	// KubeVirt's types have no OpenAPIModelName, so they are keyed by Go
	// import path.
	rootModel = "kubevirt.io/api/core/v1.VirtualMachine"
	// objectMetaModel is the key of metav1.ObjectMeta.
	objectMetaModel = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
	// fieldsV1Model is the key of metav1.FieldsV1, the managed fields' trie.
	fieldsV1Model = "io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1"
	// rawExtensionModel is the key of runtime.RawExtension.
	rawExtensionModel = "io.k8s.apimachinery.pkg.runtime.RawExtension"
	// refPrefix is what refCallback puts before a model's key.
	refPrefix = "#/definitions/"
)

// The extensions that have a field of their own in JSONSchemaProps.
const (
	extListType       = "x-kubernetes-list-type"
	extListMapKeys    = "x-kubernetes-list-map-keys"
	extMapType        = "x-kubernetes-map-type"
	extIntOrString    = "x-kubernetes-int-or-string"
	extPreserve       = "x-kubernetes-preserve-unknown-fields"
	extEmbeddedObject = "x-kubernetes-embedded-resource"
)

// Metadata says how a schema describes the metadata of objects.
type Metadata int

const (
	// CRDMetadata describes metadata as KubeVirt's CustomResourceDefinition
	// does: the root's is a plain object, which kube-apiserver checks
	// itself, and a nested one (a template's) keeps whatever it holds.
	CRDMetadata Metadata = iota
	// TypedMetadata describes every metadata field by field, as
	// metav1.ObjectMeta, so that pruning finds unknown fields there too.
	TypedMetadata
)

// VirtualMachineSchema returns the structural schema of a VirtualMachine in
// the form of a CustomResourceDefinition's, with metadata described as meta
// says.
func VirtualMachineSchema(meta Metadata) (*apiextensionsv1.JSONSchemaProps, error) {
	c := &converter{
		defs:     generatedopenapi.GetOpenAPIDefinitions(refCallback),
		visiting: map[string]bool{},
		meta:     meta,
	}
	root, err := c.model(rootModel, "", nil)
	if err != nil {
		return nil, err
	}
	if meta == CRDMetadata {
		// At the root, metadata is the server's: a plain object.
		root.Properties["metadata"] = apiextensionsv1.JSONSchemaProps{Type: "object"}
	}
	return &root, nil
}

// VirtualMachineStructural returns the structural schema of a
// VirtualMachine with typed metadata, which pruning walks to find the
// fields that KubeVirt's types do not have.
func VirtualMachineStructural() (*structuralschema.Structural, error) {
	v1, err := VirtualMachineSchema(TypedMetadata)
	if err != nil {
		return nil, err
	}
	var internal apiextensions.JSONSchemaProps
	if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(v1, &internal, nil); err != nil {
		return nil, fmt.Errorf("converting the VirtualMachine schema: %w", err)
	}
	return structuralschema.NewStructural(&internal)
}

// refCallback makes a model's ref from its key in GetOpenAPIDefinitions.
func refCallback(name string) spec.Ref { return spec.MustCreateRef(refPrefix + name) }

// converter turns OpenAPI models into JSONSchemaProps.
type converter struct {
	defs map[string]common.OpenAPIDefinition
	// visiting holds the models being converted: a ref to one of them is a
	// cycle, which a structural schema cannot express.
	visiting map[string]bool
	// meta says how ObjectMeta is described.
	meta Metadata
}

// model converts the model called name, found at path (for messages);
// keys are as for convert.
func (c *converter) model(name, path string, keys []string) (apiextensionsv1.JSONSchemaProps, error) {
	if name == objectMetaModel && c.meta == CRDMetadata {
		// Nested metadata (a template's) keeps whatever it holds: only the
		// root's is the server's.
		return apiextensionsv1.JSONSchemaProps{Type: "object", Nullable: true, XPreserveUnknownFields: ptrTrue()}, nil
	}
	if c.visiting[name] {
		return apiextensionsv1.JSONSchemaProps{Type: "object", XPreserveUnknownFields: ptrTrue()}, nil
	}
	def, ok := c.defs[name]
	if !ok {
		return apiextensionsv1.JSONSchemaProps{}, fmt.Errorf("%s: no OpenAPI model %q", path, name)
	}
	c.visiting[name] = true
	defer delete(c.visiting, name)
	out, err := c.convert(def.Schema, path, keys)
	if name == rawExtensionModel || name == fieldsV1Model {
		// An object of any fields: without this, pruning would empty it.
		out.XPreserveUnknownFields = ptrTrue()
	}
	return out, err
}

// convert converts s, found at path. keys are the properties of s that
// keep their default, if they are not required and the default is valid:
// the keys of the list-map whose items s describes, since such a key must
// be required or defaulted.
func (c *converter) convert(s spec.Schema, path string, keys []string) (apiextensionsv1.JSONSchemaProps, error) {
	if ref := s.Ref.String(); ref != "" {
		name, ok := strings.CutPrefix(ref, refPrefix)
		if !ok {
			return apiextensionsv1.JSONSchemaProps{}, fmt.Errorf("%s: unexpected $ref %q", path, ref)
		}
		out, err := c.model(name, path, keys)
		if err != nil {
			return out, err
		}
		return out, c.extensions(&out, s.Extensions, path)
	}
	// openapi-gen wraps a ref in allOf to give it a default or a
	// description next to it; the default is dropped with the wrapper.
	if len(s.AllOf) > 0 {
		if len(s.AllOf) != 1 || len(s.Type) > 0 || len(s.Properties) > 0 {
			return apiextensionsv1.JSONSchemaProps{}, fmt.Errorf("%s: allOf other than one wrapped $ref", path)
		}
		out, err := c.convert(s.AllOf[0], path, keys)
		if err != nil {
			return out, err
		}
		return out, c.extensions(&out, s.Extensions, path)
	}
	var out apiextensionsv1.JSONSchemaProps
	if s.Format == "int-or-string" || len(s.OneOf) > 0 || len(s.AnyOf) > 0 {
		// IntOrString and Quantity: a string or a number. A structural
		// schema says so with x-kubernetes-int-or-string and an anyOf of
		// both, without a type.
		if !scalarAlternatives(s) {
			return out, fmt.Errorf("%s: oneOf/anyOf of other than scalars", path)
		}
		out.XIntOrString = true
		out.AnyOf = []apiextensionsv1.JSONSchemaProps{{Type: "integer"}, {Type: "string"}}
		return out, c.extensions(&out, s.Extensions, path)
	}
	switch len(s.Type) {
	case 0:
	case 1:
		out.Type = s.Type[0]
	default:
		return out, fmt.Errorf("%s: several types %v", path, s.Type)
	}
	out.Format = s.Format
	out.Nullable = s.Nullable
	for _, e := range s.Enum {
		v, err := jsonValue(e)
		if err != nil {
			return out, fmt.Errorf("%s: enum: %w", path, err)
		}
		out.Enum = append(out.Enum, v)
	}
	if len(s.Properties) > 0 {
		out.Properties = make(map[string]apiextensionsv1.JSONSchemaProps, len(s.Properties))
		for name, p := range s.Properties {
			child, err := c.convert(p, path+"."+name, nil)
			if err != nil {
				return out, err
			}
			if slices.Contains(keys, name) && !slices.Contains(s.Required, name) && p.Default != nil && child.Type != "" {
				d, err := jsonValue(p.Default)
				if err != nil {
					return out, fmt.Errorf("%s.%s: default: %w", path, name, err)
				}
				if len(child.Enum) == 0 || slices.ContainsFunc(child.Enum, func(e apiextensionsv1.JSON) bool { return string(e.Raw) == string(d.Raw) }) {
					child.Default = &d
				}
			}
			out.Properties[name] = child
		}
		out.Required = slices.Clone(s.Required)
		slices.Sort(out.Required)
	}
	if err := c.extensions(&out, s.Extensions, path); err != nil {
		return out, err
	}
	if s.Items != nil {
		if s.Items.Schema == nil {
			return out, fmt.Errorf("%s: tuple items", path)
		}
		items, err := c.convert(*s.Items.Schema, path+"[]", out.XListMapKeys)
		if err != nil {
			return out, err
		}
		out.Items = &apiextensionsv1.JSONSchemaPropsOrArray{Schema: &items}
		if out.XListType != nil && *out.XListType == "map" && !keyed(items, out.XListMapKeys) {
			// A key neither required nor defaulted: kube-apiserver refuses
			// the list-map, so the list is kept whole instead.
			out.XListType, out.XListMapKeys = ptr("atomic"), nil
		}
	}
	if ap := s.AdditionalProperties; ap != nil {
		switch {
		case ap.Schema != nil:
			v, err := c.convert(*ap.Schema, path+"{}", nil)
			if err != nil {
				return out, err
			}
			out.AdditionalProperties = &apiextensionsv1.JSONSchemaPropsOrBool{Allows: true, Schema: &v}
		case ap.Allows:
			out.XPreserveUnknownFields = ptrTrue()
		}
	}
	if out.Type == "" && !out.XIntOrString {
		// Any JSON value: a structural schema needs a type or this.
		out.XPreserveUnknownFields = ptrTrue()
	}
	return out, nil
}

// extensions maps the x-kubernetes-* extensions of a model onto out and
// drops the others (patch strategy and merge key, unions), which only
// strategic merge patch reads.
func (c *converter) extensions(out *apiextensionsv1.JSONSchemaProps, ext spec.Extensions, path string) error {
	if s, ok := ext.GetString(extListType); ok {
		out.XListType = ptr(s)
	}
	if v, ok := ext[extListMapKeys]; ok {
		keys, err := stringList(v)
		if err != nil {
			return fmt.Errorf("%s: %s: %w", path, extListMapKeys, err)
		}
		out.XListMapKeys = keys
	}
	if s, ok := ext.GetString(extMapType); ok {
		out.XMapType = ptr(s)
	}
	if b, ok := ext.GetBool(extIntOrString); ok && b {
		out.XIntOrString = true
		out.Type = ""
		out.AnyOf = []apiextensionsv1.JSONSchemaProps{{Type: "integer"}, {Type: "string"}}
	}
	if b, ok := ext.GetBool(extPreserve); ok && b {
		out.XPreserveUnknownFields = ptrTrue()
	}
	if b, ok := ext.GetBool(extEmbeddedObject); ok && b {
		out.XEmbeddedResource = true
		out.Type = "object"
		if len(out.Properties) == 0 {
			out.XPreserveUnknownFields = ptrTrue()
		}
	}
	return nil
}

// keyed reports whether every key of a list-map is a required or defaulted
// property of its items.
func keyed(items apiextensionsv1.JSONSchemaProps, keys []string) bool {
	if len(keys) == 0 {
		return false
	}
	for _, k := range keys {
		p, ok := items.Properties[k]
		if !ok || (!slices.Contains(items.Required, k) && p.Default == nil) {
			return false
		}
	}
	return true
}

// scalarAlternatives reports whether the oneOf or anyOf of s only offers
// scalar types, as IntOrString and Quantity do.
func scalarAlternatives(s spec.Schema) bool {
	for _, alt := range append(slices.Clone(s.OneOf), s.AnyOf...) {
		if len(alt.Type) != 1 || !slices.Contains([]string{"integer", "number", "string"}, alt.Type[0]) {
			return false
		}
	}
	return true
}

// stringList reads a list of strings from an extension's value.
func stringList(v any) ([]string, error) {
	switch v := v.(type) {
	case []string:
		return slices.Clone(v), nil
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("%v is not a string", e)
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%T is not a list of strings", v)
}

func ptr[T any](v T) *T { return &v }
func ptrTrue() *bool    { return ptr(true) }

// jsonValue is v as a JSON value of the CRD.
func jsonValue(v any) (apiextensionsv1.JSON, error) {
	raw, err := json.Marshal(v)
	return apiextensionsv1.JSON{Raw: raw}, err
}
