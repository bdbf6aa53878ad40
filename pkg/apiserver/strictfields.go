package apiserver

import (
	"bytes"
	encjson "encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"sync"

	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apiserver/pkg/endpoints/handlers/responsewriters"
	"k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/warning"
	kubevirtv1 "kubevirt.io/api/core/v1"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/vm-apiserver/vm-apiserver/pkg/api/openapi"
	"github.com/vm-apiserver/vm-apiserver/pkg/api/scheme"
	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
)

// Unknown and duplicate fields of VirtualMachines.
//
// k8s.io/apiserver finds unknown and duplicate fields with the strict decoder
// of sigs.k8s.io/json. KubeVirt's VirtualMachineInstanceSpec, PodNetwork and
// DHCPOptions decode themselves with encoding/json (to sanitize addresses),
// so inside spec.template.spec that decoder sees nothing: unknown fields pass,
// duplicates pass, and keys match case-insensitively. Every VirtualMachine
// document a client sends is therefore first checked the way kube-apiserver
// checks a custom resource, KubeVirt's own VirtualMachine CRD included:
// decoded into a map by sigs.k8s.io/json's strict mode, which finds
// duplicate fields, then pruned along the structural schema of
// VirtualMachines, which finds the unknown fields, mis-cased keys among
// them. Only what is left is decoded: with fieldValidation=Strict the fields
// found are a 400, with Warn a warning each, with Ignore they are dropped.

// vmSchema is the structural schema that VirtualMachines are pruned along,
// with metadata typed. New builds it when the server starts.
var vmSchema = sync.OnceValues(openapi.VirtualMachineStructural)

// pruneVM decodes doc, the JSON of a value found at path in a
// VirtualMachine where the schema is s, and returns the value without its
// unknown fields and with the last of each duplicated key. The problems are
// the duplicates, then the unknown fields sorted by path, in
// kube-apiserver's words. In a strategic merge patch (smp) the directives
// are allowed where strategic merge patch reads them. err is non-nil only
// for malformed JSON, which the caller leaves to its decoder to report.
func pruneVM(doc []byte, s *structuralschema.Structural, path []string, smp bool) (value any, problems []error, err error) {
	duplicates, err := sigsjson.UnmarshalStrict(doc, &value, sigsjson.DisallowDuplicateFields)
	if err != nil {
		return nil, nil, err
	}
	prefix := strings.Join(path, "")
	for _, d := range duplicates {
		var fe sigsjson.FieldError
		if errors.As(d, &fe) && prefix != "" {
			fe.SetFieldPath(joinPath(prefix, fe.FieldPath()))
		}
		problems = append(problems, d)
	}
	restore := func() {}
	if smp {
		restore = setDirectivesAside(value, s)
	}
	opts := structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true, ParentPath: slices.Clip(path)}
	for _, unknown := range pruning.PruneWithOptions(value, s, false, opts) {
		problems = append(problems, fmt.Errorf(`unknown field "%s"`, unknown))
	}
	restore()
	return value, problems, nil
}

// joinPath appends a path found inside a value to the path of the value.
func joinPath(prefix, inner string) string {
	if strings.HasPrefix(inner, "[") {
		return prefix + inner
	}
	return prefix + "." + inner
}

// setDirectivesAside takes out of patch the strategic merge patch directives
// that are allowed where they are, so that pruning does not count them as
// unknown fields, and returns the function that puts them back. In an object
// of fixed fields, $patch and $retainKeys are allowed, and so are
// $setElementOrder/<f> and $deleteFromPrimitiveList/<f> when f is one of its
// fields; a map takes any key anyway.
func setDirectivesAside(patch any, s *structuralschema.Structural) (restore func()) {
	var aside []func()
	var walk func(x any, s *structuralschema.Structural)
	walk = func(x any, s *structuralschema.Structural) {
		if s == nil {
			return
		}
		switch x := x.(type) {
		case map[string]any:
			for k, v := range x {
				if p, ok := s.Properties[k]; ok {
					walk(v, &p)
				} else if s.AdditionalProperties != nil {
					walk(v, s.AdditionalProperties.Structural)
				} else if directiveAllowed(k, s) {
					delete(x, k)
					aside = append(aside, func() { x[k] = v })
				}
			}
		case []any:
			for _, v := range x {
				walk(v, s.Items)
			}
		}
	}
	walk(patch, s)
	return func() {
		for _, put := range aside {
			put()
		}
	}
}

// directiveAllowed reports whether key is a strategic merge patch directive
// allowed in an object of schema s.
func directiveAllowed(key string, s *structuralschema.Structural) bool {
	if key == "$patch" || key == "$retainKeys" {
		return true
	}
	for _, prefix := range []string{"$setElementOrder/", "$deleteFromPrimitiveList/"} {
		if f, ok := strings.CutPrefix(key, prefix); ok {
			_, known := s.Properties[f]
			return known
		}
	}
	return false
}

// strictVMSerializer is the negotiated serializer of the kubevirt.io group:
// scheme.Codecs, whose JSON and YAML decoders check VirtualMachine documents first.
type strictVMSerializer struct {
	runtime.NegotiatedSerializer
	infos []runtime.SerializerInfo
}

func newStrictVMSerializer(codecs runtime.NegotiatedSerializer) runtime.NegotiatedSerializer {
	infos := append([]runtime.SerializerInfo(nil), codecs.SupportedMediaTypes()...)
	for i := range infos {
		info := &infos[i]
		var yamlInput bool
		switch info.MediaType {
		case runtime.ContentTypeJSON:
		case runtime.ContentTypeYAML:
			yamlInput = true
		default:
			continue
		}
		info.Serializer = &vmFieldsDecoder{Serializer: info.Serializer, yaml: yamlInput}
		info.StrictSerializer = &vmFieldsDecoder{Serializer: info.StrictSerializer, yaml: yamlInput, strict: true}
	}
	return &strictVMSerializer{NegotiatedSerializer: codecs, infos: infos}
}

// SupportedMediaTypes returns the codecs' media types with checking decoders.
func (s *strictVMSerializer) SupportedMediaTypes() []runtime.SerializerInfo {
	return s.infos
}

// vmFieldsDecoder checks a VirtualMachine document before its serializer
// decodes it; every other kind passes through untouched.
type vmFieldsDecoder struct {
	runtime.Serializer
	// yaml is set for the YAML serializer, whose input is converted to JSON
	// to be checked.
	yaml bool
	// strict is set for the strict serializer, which reports what was
	// removed; the lenient one drops it silently.
	strict bool
}

// Decode checks data when it is a VirtualMachine, then decodes what is left.
func (d *vmFieldsDecoder) Decode(data []byte, defaults *schema.GroupVersionKind, into runtime.Object) (runtime.Object, *schema.GroupVersionKind, error) {
	doc := data
	var problems []error
	if d.yaml {
		converted, duplicate, err := yamlToJSON(data, d.strict)
		if err != nil {
			// Let the serializer report malformed YAML in its own words.
			return d.Serializer.Decode(data, defaults, into)
		}
		if duplicate != nil {
			problems = append(problems, duplicate)
		}
		doc = converted
	}
	if !isVirtualMachine(doc, defaults, into) {
		return d.Serializer.Decode(data, defaults, into)
	}
	s, err := vmSchema()
	if err != nil {
		return nil, nil, err
	}
	value, found, err := pruneVM(doc, s, nil, false)
	if err != nil {
		return d.Serializer.Decode(data, defaults, into)
	}
	problems = append(problems, found...)
	if len(problems) == 0 {
		return d.Serializer.Decode(data, defaults, into)
	}
	// The pruned document is JSON, which the YAML serializer reads too.
	clean, err := encjson.Marshal(value)
	if err != nil {
		return nil, nil, err
	}
	obj, gvk, err := d.Serializer.Decode(clean, defaults, into)
	if !d.strict {
		return obj, gvk, err
	}
	if err != nil {
		strictErr, ok := runtime.AsStrictDecodingError(err)
		if !ok {
			return obj, gvk, err
		}
		problems = append(problems, strictErr.Errors()...)
	}
	return obj, gvk, runtime.NewStrictDecodingError(problems)
}

// yamlToJSON converts data to JSON. For the strict serializer a duplicate
// key is reported, as the strict YAML serializer would, and the document is
// then converted leniently so the rest can still be checked.
func yamlToJSON(data []byte, strict bool) (doc []byte, duplicate, err error) {
	if strict {
		if doc, duplicate = yaml.YAMLToJSONStrict(data); duplicate == nil {
			return doc, nil, nil
		}
	}
	doc, err = yaml.YAMLToJSON(data)
	return doc, duplicate, err
}

// isVirtualMachine reports whether a JSON document decodes to a
// kubevirt.io VirtualMachine: by its own apiVersion and kind, else by the
// kind the caller expects.
func isVirtualMachine(doc []byte, defaults *schema.GroupVersionKind, into runtime.Object) bool {
	gvk, err := json.DefaultMetaFactory.Interpret(doc)
	if err != nil {
		return false
	}
	if gvk.Kind == "" && defaults != nil {
		gvk.Kind = defaults.Kind
		if gvk.Group == "" && gvk.Version == "" {
			gvk.Group = defaults.Group
		}
	}
	if gvk.Kind == "" {
		switch into.(type) {
		case *kubevirt.VirtualMachine, *kubevirtv1.VirtualMachine:
			return true
		}
		return false
	}
	return gvk.Kind == "VirtualMachine" && gvk.Group == kubevirt.GroupName
}

// maxPatchBytes bounds the patch bodies read here; larger ones are left to
// the handler, which refuses what exceeds the server's own limit.
const maxPatchBytes = 3 << 20

// WithStrictPatchFields checks the patches of VirtualMachines and of their
// status before the patch handler reads them.
//
// The handler applies a strategic merge patch to a map and converts the map
// straight to the object, where KubeVirt's own decoders take unknown and
// mis-cased keys inside spec.template.spec silently: the serializer's check
// never sees that document. For merge and JSON patches the handler does find
// what the serializer's check reports, but answers 422 with the whole patched
// object in the message. Here each patch is pruned along the VM's schema as
// the serializer prunes whole documents, so that every write path answers
// alike: Strict refuses with a 400 that names the fields, Warn warns and drops
// them, Ignore drops them. Server-side apply configurations are checked the
// same way.
func WithStrictPatchFields(handler http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		check := patchCheckFor(req)
		if check == nil {
			handler.ServeHTTP(w, req)
			return
		}
		body, err := io.ReadAll(io.LimitReader(req.Body, maxPatchBytes+1))
		if err != nil {
			responsewriters.ErrorNegotiated(apierrors.NewBadRequest(fmt.Sprintf("reading the patch: %v", err)), scheme.Codecs, schema.GroupVersion{}, w, req)
			return
		}
		rest := req.Body
		req.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(body), rest), rest}
		if len(body) > maxPatchBytes {
			handler.ServeHTTP(w, req)
			return
		}

		clean, problems, err := check(body)
		if err != nil || len(problems) == 0 {
			// A malformed patch is the handler's to report.
			handler.ServeHTTP(w, req)
			return
		}
		switch req.URL.Query().Get("fieldValidation") {
		case metav1.FieldValidationStrict:
			err := apierrors.NewBadRequest(runtime.NewStrictDecodingError(problems).Error())
			responsewriters.ErrorNegotiated(err, scheme.Codecs, schema.GroupVersion{Group: kubevirt.GroupName, Version: "v1"}, w, req)
			return
		case metav1.FieldValidationIgnore:
		default:
			// Warn is the API server's default directive.
			for _, p := range problems {
				warning.AddWarning(req.Context(), "", p.Error())
			}
		}
		req.Body = io.NopCloser(bytes.NewReader(clean))
		req.ContentLength = int64(len(clean))
		handler.ServeHTTP(w, req)
	})
}

// patchCheck checks a patch body and returns it without the fields it reports.
type patchCheck func(body []byte) (clean []byte, problems []error, err error)

// patchCheckFor returns the check of req's patch when req patches a
// kubevirt.io VirtualMachine or its status, and nil otherwise.
func patchCheckFor(req *http.Request) patchCheck {
	info, ok := request.RequestInfoFrom(req.Context())
	if !ok || !info.IsResourceRequest || info.Verb != "patch" ||
		info.APIGroup != kubevirt.GroupName || info.Resource != "virtualmachines" ||
		(info.Subresource != "" && info.Subresource != "status") {
		return nil
	}
	mediaType, _, err := mime.ParseMediaType(req.Header.Get("Content-Type"))
	if err != nil {
		return nil
	}
	switch types.PatchType(mediaType) {
	case types.StrategicMergePatchType:
		return func(body []byte) ([]byte, []error, error) { return checkDocument(body, true) }
	case types.MergePatchType:
		// A merge patch is a partial object whose nulls delete; pruning
		// takes nulls anywhere.
		return func(body []byte) ([]byte, []error, error) { return checkDocument(body, false) }
	case types.JSONPatchType:
		return checkJSONPatch
	case types.ApplyYAMLPatchType:
		return checkApplyPatch
	}
	return nil
}

// checkDocument prunes a merge patch, a strategic merge patch (smp) or an
// apply configuration as a whole VirtualMachine. Unchanged, body is
// returned as it is.
func checkDocument(body []byte, smp bool) ([]byte, []error, error) {
	s, err := vmSchema()
	if err != nil {
		return nil, nil, err
	}
	value, problems, err := pruneVM(body, s, nil, smp)
	if err != nil || len(problems) == 0 {
		return body, nil, err
	}
	clean, err := encjson.Marshal(value)
	return clean, problems, err
}

// checkApplyPatch checks a server-side apply configuration, which is YAML.
// Server-side apply refuses unknown fields itself, so without this check
// Warn and Ignore would refuse them too; and it reports them in its own
// words. The cleaned configuration is sent on as JSON, which is YAML too.
func checkApplyPatch(body []byte) ([]byte, []error, error) {
	doc, duplicate, err := yamlToJSON(body, true)
	if err != nil {
		return nil, nil, err
	}
	clean, problems, err := checkDocument(doc, false)
	if err != nil {
		return nil, nil, err
	}
	if duplicate != nil {
		problems = append([]error{duplicate}, problems...)
	}
	if len(problems) == 0 {
		return body, nil, nil
	}
	return clean, problems, nil
}
