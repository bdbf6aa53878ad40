package apiserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/endpoints/handlers/negotiation"
	"sigs.k8s.io/yaml"

	"github.com/vm-apiserver/vm-apiserver/pkg/api/scheme"
	"github.com/vm-apiserver/vm-apiserver/pkg/apis/subresources"
	subresourcesv1 "github.com/vm-apiserver/vm-apiserver/pkg/apis/subresources/v1"
	"github.com/vm-apiserver/vm-apiserver/pkg/apis/subresources/validation"
	"github.com/vm-apiserver/vm-apiserver/pkg/registry/virtualmachine"
)

// maxOptionsBytes bounds the body of an action request; larger bodies get a 413.
const maxOptionsBytes = 1 << 20

// optionKind is how one action's body is decoded and checked.
type optionKind struct {
	kind     string
	new      func() subresources.OptionsObject
	validate func(subresources.OptionsObject) field.ErrorList
}

var optionKinds = map[virtualmachine.Action]optionKind{
	virtualmachine.ActionStart: {"StartOptions", func() subresources.OptionsObject { return &subresources.StartOptions{} },
		func(o subresources.OptionsObject) field.ErrorList {
			return validation.ValidateStartOptions(o.(*subresources.StartOptions))
		}},
	virtualmachine.ActionStop: {"StopOptions", func() subresources.OptionsObject { return &subresources.StopOptions{} },
		func(o subresources.OptionsObject) field.ErrorList {
			return validation.ValidateStopOptions(o.(*subresources.StopOptions))
		}},
	virtualmachine.ActionRestart: {"RestartOptions", func() subresources.OptionsObject { return &subresources.RestartOptions{} },
		func(o subresources.OptionsObject) field.ErrorList {
			return validation.ValidateRestartOptions(o.(*subresources.RestartOptions))
		}},
}

// acceptedAPIVersions are the versions in which the scheme registers the
// option kinds, the only ones a body may name.
var acceptedAPIVersions = []schema.GroupVersion{
	subresourcesv1.SchemeGroupVersion,
	subresourcesv1.V1alpha3GroupVersion,
	subresourcesv1.KubeVirtGroupVersion,
}

// optionCodecs is the negotiated serializer of option bodies: the scheme's
// JSON and YAML serializers. Other media types are a 415, as is an option
// body in protobuf, which the option kinds do not have.
var optionCodecs = jsonAndYAML{scheme.Codecs}

type jsonAndYAML struct{ serializer.CodecFactory }

// optionSerializers are the scheme's JSON and YAML serializers, in the
// scheme's order (JSON first, the default when a body has no Content-Type).
var optionSerializers = func() []runtime.SerializerInfo {
	var infos []runtime.SerializerInfo
	for _, info := range scheme.Codecs.SupportedMediaTypes() {
		if info.MediaType == runtime.ContentTypeJSON || info.MediaType == runtime.ContentTypeYAML {
			infos = append(infos, info)
		}
	}
	return infos
}()

// optionDecoders decode an option body of each media type strictly into
// the internal option kinds.
var optionDecoders = func() map[string]runtime.Decoder {
	decoders := make(map[string]runtime.Decoder, len(optionSerializers))
	for _, info := range optionSerializers {
		decoders[info.MediaType] = scheme.Codecs.DecoderToVersion(info.StrictSerializer, subresources.SchemeGroupVersion)
	}
	return decoders
}()

// SupportedMediaTypes is JSON and YAML. The slice is shared, as the
// scheme's own is: callers only read it.
func (jsonAndYAML) SupportedMediaTypes() []runtime.SerializerInfo { return optionSerializers }

// readBody reads at most maxOptionsBytes of body; more is a 413.
func readBody(body io.Reader) ([]byte, error) {
	if body == nil {
		return nil, nil
	}
	data, err := io.ReadAll(io.LimitReader(body, maxOptionsBytes+1))
	if err != nil {
		return nil, apierrors.NewBadRequest("reading the request body: " + err.Error())
	}
	if len(data) > maxOptionsBytes {
		return nil, apierrors.NewRequestEntityTooLargeError(fmt.Sprintf("the request body is limited to %d bytes", maxOptionsBytes))
	}
	return data, nil
}

// optionBody reads what the bodies of every action share: the
// fieldValidation value of the request's query, checked (a 422 if
// unknown), and the body, trimmed, with the serializer its Content-Type
// names when it is not empty (a 415 for a media type that is neither JSON
// nor YAML).
func optionBody(req *http.Request, query url.Values) (fieldValidation string, body []byte, info runtime.SerializerInfo, err error) {
	fieldValidation = query.Get("fieldValidation")
	if errs := metav1validation.ValidateFieldValidation(field.NewPath("fieldValidation"), fieldValidation); len(errs) > 0 {
		return "", nil, info, apierrors.NewInvalid(schema.GroupKind{Group: metav1.GroupName, Kind: "UpdateOptions"}, "", errs)
	}
	if body, err = readBody(req.Body); err != nil {
		return "", nil, info, err
	}
	if body = bytes.TrimSpace(body); len(body) > 0 {
		if info, err = negotiation.NegotiateInputSerializer(req, false, optionCodecs); err != nil {
			return "", nil, info, err
		}
	}
	return fieldValidation, body, info, nil
}

// actionOptions reads the options of an action request: the body, empty or
// in the media type its Content-Type names (JSON without one, as every
// Kubernetes API reads it), and the dryRun and fieldValidation query values.
// This is the one place where an action's options, dry-run included, are
// decided: the body is decoded by the scheme's strict serializer for its
// media type into the action's option kind, the query's dryRun values are
// merged in, and the result is validated. A body over maxOptionsBytes is a
// 413, one in another media type a 415, an invalid fieldValidation value a
// 422 (as kube-apiserver answers it), and anything else wrong a 400.
//
// Unknown, duplicate and mis-cased fields are handled as kube-apiserver
// handles them in the bodies of built-in kinds: fieldValidation Strict
// refuses them, Warn (the default) returns one warning each and decodes the
// rest, Ignore decodes the rest silently. A newer client that sends an option
// this server does not know therefore still works, as it does with KubeVirt.
func actionOptions(req *http.Request, action virtualmachine.Action) (_ *subresources.ActionOptions, warnings []string, _ error) {
	k, ok := optionKinds[action]
	if !ok {
		return nil, nil, apierrors.NewBadRequest("unknown action " + strconv.Quote(string(action)))
	}
	query := req.URL.Query()
	fieldValidation, body, info, err := optionBody(req, query)
	if err != nil {
		return nil, nil, err
	}
	obj := k.new()
	if len(body) > 0 {
		defaults := subresourcesv1.SchemeGroupVersion.WithKind(k.kind)
		decoder, ok := optionDecoders[info.MediaType]
		if !ok {
			return nil, nil, negotiation.NewUnsupportedMediaTypeError([]string{runtime.ContentTypeJSON, runtime.ContentTypeYAML})
		}
		decoded, gvk, err := decoder.Decode(body, &defaults, nil)
		if strict, isStrict := runtime.AsStrictDecodingError(err); isStrict && decoded != nil && fieldValidation != metav1.FieldValidationStrict {
			// The body decoded without the fields the strict codec named.
			if fieldValidation != metav1.FieldValidationIgnore {
				for _, e := range strict.Errors() {
					warnings = append(warnings, e.Error())
				}
			}
			err = nil
		}
		if err != nil {
			return nil, nil, decodeError(info.MediaType, req.Header.Get("Content-Type") == "", body, k.kind, gvk, err)
		}
		if reflect.TypeOf(decoded) != reflect.TypeOf(obj) {
			return nil, nil, wrongKind(gvk.Kind, k.kind)
		}
		obj = decoded.(subresources.OptionsObject)
	}
	opts := obj.Options()
	opts.DryRun = append(opts.DryRun, query["dryRun"]...)
	if errs := k.validate(obj); len(errs) > 0 {
		msgs := make([]string, 0, len(errs))
		for _, e := range errs {
			msgs = append(msgs, e.Field+" "+e.Detail)
		}
		return nil, nil, apierrors.NewBadRequest(strings.Join(msgs, "; "))
	}
	// Every value is "All" now; one says it.
	if len(opts.DryRun) > 0 {
		opts.DryRun = []string{metav1.DryRunAll}
	} else {
		opts.DryRun = nil
	}
	return opts, warnings, nil
}

// decodeError is the 400 for a body the codec refused, worded for the
// person who wrote it. undeclared is set when the request named no media
// type, so that its body was read as JSON.
func decodeError(mediaType string, undeclared bool, body []byte, kind string, gvk *schema.GroupVersionKind, err error) error {
	if runtime.IsNotRegisteredError(err) && gvk != nil {
		if gvk.Kind != kind {
			return wrongKind(gvk.Kind, kind)
		}
		versions := make([]string, len(acceptedAPIVersions))
		for i, gv := range acceptedAPIVersions {
			versions[i] = strconv.Quote(gv.String())
		}
		return apierrors.NewBadRequest(fmt.Sprintf("the request body has apiVersion %q; accepted are %s", gvk.GroupVersion().String(), strings.Join(versions, ", ")))
	}
	if strict, ok := runtime.AsStrictDecodingError(err); ok {
		msgs := make([]string, 0, len(strict.Errors()))
		for _, e := range strict.Errors() {
			msgs = append(msgs, e.Error())
		}
		return apierrors.NewBadRequest(fmt.Sprintf("the request body is not a valid %s: %s", kind, strings.Join(msgs, ", ")))
	}
	if mediaType == runtime.ContentTypeYAML {
		if _, yamlErr := yaml.YAMLToJSON(body); yamlErr != nil {
			return apierrors.NewBadRequest(fmt.Sprintf("the request body is malformed YAML: %s", yamlErr))
		}
	} else if !json.Valid(body) {
		var v any
		jsonErr := json.Unmarshal(body, &v)
		msg := "the request body is malformed JSON: " + cleanJSONError(jsonErr)
		if undeclared {
			msg += "; a YAML body needs Content-Type: " + runtime.ContentTypeYAML
		}
		return apierrors.NewBadRequest(msg)
	}
	return apierrors.NewBadRequest(fmt.Sprintf("the request body is not a valid %s: %s", kind, cleanJSONError(err)))
}

func wrongKind(got, want string) error {
	return apierrors.NewBadRequest(fmt.Sprintf("the request body has kind %q; this action accepts only %q", got, want))
}

// cleanJSONError drops the "json: " prefix of encoding/json's messages and
// adds the byte offset of syntax errors.
func cleanJSONError(err error) string {
	msg := strings.TrimPrefix(err.Error(), "json: ")
	var syntaxErr *json.SyntaxError
	if errors.As(err, &syntaxErr) {
		msg += " at offset " + strconv.FormatInt(syntaxErr.Offset, 10)
	}
	return msg
}
