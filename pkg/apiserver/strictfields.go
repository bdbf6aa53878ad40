package apiserver

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"

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
	"sigs.k8s.io/yaml"

	"github.com/vm-apiserver/vm-apiserver/pkg/api/scheme"
	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
	"github.com/vm-apiserver/vm-apiserver/pkg/fieldcheck"
)

// Strict field validation for VirtualMachines.
//
// k8s.io/apiserver finds unknown and duplicate fields with the strict decoder
// of sigs.k8s.io/json. KubeVirt's VirtualMachineInstanceSpec, PodNetwork and
// DHCPOptions decode themselves with encoding/json (to sanitize addresses),
// so inside spec.template.spec that decoder sees nothing: unknown fields pass,
// duplicates pass, and keys match case-insensitively. Every VirtualMachine
// document a client sends is therefore checked here first, along
// kubevirt.io/api's Go type, and the fields it reports are removed before the
// document is decoded: with fieldValidation=Strict they are a 400, with Warn a
// warning each, with Ignore they are dropped. Nothing reaches the object that
// KubeVirt's own (structural, case-sensitive) schema would not accept.

// vmFields checks VirtualMachine documents along kubevirt.io/api's type,
// walking into the three types that decode themselves.
var (
	transparentKubeVirtTypes = []reflect.Type{
		reflect.TypeFor[kubevirtv1.VirtualMachineInstanceSpec](),
		reflect.TypeFor[kubevirtv1.PodNetwork](),
		reflect.TypeFor[kubevirtv1.DHCPOptions](),
	}
	vmFields = fieldcheck.NewChecker(reflect.TypeFor[kubevirtv1.VirtualMachine](), transparentKubeVirtTypes...)
)

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
	var yamlProblems []error
	if d.yaml {
		converted, err := yamlToJSON(data, d.strict)
		if err != nil {
			// Let the serializer report malformed YAML in its own words.
			return d.Serializer.Decode(data, defaults, into)
		}
		if converted.duplicate != nil {
			yamlProblems = append(yamlProblems, converted.duplicate)
		}
		doc = converted.json
	}
	if !isVirtualMachine(doc, defaults, into) {
		return d.Serializer.Decode(data, defaults, into)
	}
	clean, problems, err := vmFields.Check(doc, fieldcheck.Object)
	if err != nil {
		return d.Serializer.Decode(data, defaults, into)
	}
	problems = append(yamlProblems, problems...)
	if len(problems) == 0 {
		return d.Serializer.Decode(data, defaults, into)
	}
	// The cleaned document is JSON, which the YAML serializer reads too.
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

// yamlDoc is a YAML document converted to JSON.
type yamlDoc struct {
	json []byte
	// duplicate is the strict converter's complaint about a duplicate key.
	duplicate error
}

// yamlToJSON converts data to JSON. For the strict serializer a duplicate
// key is reported, as the strict YAML serializer would, and the document is
// then converted leniently so the rest can still be checked.
func yamlToJSON(data []byte, strict bool) (yamlDoc, error) {
	if strict {
		converted, err := yaml.YAMLToJSONStrict(data)
		if err == nil {
			return yamlDoc{json: converted}, nil
		}
		lenient, lerr := yaml.YAMLToJSON(data)
		if lerr != nil {
			return yamlDoc{}, lerr
		}
		return yamlDoc{json: lenient, duplicate: err}, nil
	}
	converted, err := yaml.YAMLToJSON(data)
	return yamlDoc{json: converted}, err
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
// object in the message. Here each patch is checked along the VM's type as
// the serializer checks whole documents, so that every write path answers
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

// checkApplyPatch checks a server-side apply configuration, which is YAML.
// Server-side apply refuses unknown fields itself, so without this check
// Warn and Ignore would refuse them too; and it reports them in its own
// words. The cleaned configuration is sent on as JSON, which is YAML too.
func checkApplyPatch(body []byte) ([]byte, []error, error) {
	doc, err := yamlToJSON(body, true)
	if err != nil {
		return nil, nil, err
	}
	clean, problems, err := vmFields.Check(doc.json, fieldcheck.Object)
	if err != nil {
		return nil, nil, err
	}
	if doc.duplicate != nil {
		problems = append([]error{doc.duplicate}, problems...)
	}
	if len(problems) == 0 {
		return body, nil, nil
	}
	return clean, problems, nil
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
		return func(body []byte) ([]byte, []error, error) {
			return vmFields.Check(body, fieldcheck.StrategicMergePatch)
		}
	case types.MergePatchType:
		// A merge patch is a partial object whose nulls delete; the check
		// takes nulls anywhere.
		return func(body []byte) ([]byte, []error, error) { return vmFields.Check(body, fieldcheck.Object) }
	case types.JSONPatchType:
		return checkJSONPatch
	case types.ApplyYAMLPatchType:
		return checkApplyPatch
	}
	return nil
}
