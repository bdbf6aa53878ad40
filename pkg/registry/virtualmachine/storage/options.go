package storage

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"

	"github.com/vm-apiserver/vm-apiserver/pkg/api/scheme"
	"github.com/vm-apiserver/vm-apiserver/pkg/apis/subresources"
	subresourcesv1 "github.com/vm-apiserver/vm-apiserver/pkg/apis/subresources/v1"
	"github.com/vm-apiserver/vm-apiserver/pkg/apis/subresources/validation"
	"github.com/vm-apiserver/vm-apiserver/pkg/registry/virtualmachine"
)

// MaxBodyBytes bounds the body of an action request; larger bodies get a 413.
const MaxBodyBytes = 1 << 20

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

// The scheme's strict decoders of option bodies, converting to the internal
// version. No Content-Type is needed: a body that is valid JSON is decoded
// as JSON (which finds duplicate keys that YAML's conversion would merge),
// anything else as YAML.
var (
	jsonOptionsDecoder = strictDecoder(runtime.ContentTypeJSON)
	yamlOptionsDecoder = strictDecoder(runtime.ContentTypeYAML)
)

func strictDecoder(mediaType string) runtime.Decoder {
	info, ok := runtime.SerializerInfoForMediaType(scheme.Codecs.SupportedMediaTypes(), mediaType)
	if !ok || info.StrictSerializer == nil {
		panic("the scheme's codecs have no strict serializer for " + mediaType)
	}
	return scheme.Codecs.DecoderToVersion(info.StrictSerializer, subresources.SchemeGroupVersion)
}

// readBody reads at most MaxBodyBytes of body; more is a 413.
func readBody(body io.Reader) ([]byte, error) {
	if body == nil {
		return nil, nil
	}
	data, err := io.ReadAll(io.LimitReader(body, MaxBodyBytes+1))
	if err != nil {
		return nil, apierrors.NewBadRequest("reading the request body: " + err.Error())
	}
	if len(data) > MaxBodyBytes {
		return nil, apierrors.NewRequestEntityTooLargeError(fmt.Sprintf("the request body is limited to %d bytes", MaxBodyBytes))
	}
	return data, nil
}

// decodeOptions turns the body of an action request (JSON, YAML or empty)
// and the request's dryRun and fieldValidation query values into the options
// Decide reads. This is the one place where an action's options, dry-run
// included, are decided: the body is decoded by the scheme's strict codec
// into the action's option kind, the query's dryRun values are merged in,
// and the result is validated. Every failure is a 400, but for an invalid
// fieldValidation value, which is a 422 as kube-apiserver answers it.
//
// Unknown, duplicate and mis-cased fields are handled as kube-apiserver
// handles them in the bodies of built-in kinds: fieldValidation Strict
// refuses them, Warn (the default) returns one warning each and decodes the
// rest, Ignore decodes the rest silently. A newer client that sends an option
// this server does not know therefore still works, as it does with KubeVirt.
func decodeOptions(action virtualmachine.Action, body []byte, dryRunQuery []string, fieldValidation string) (_ *subresources.ActionOptions, warnings []string, _ error) {
	k, ok := optionKinds[action]
	if !ok {
		return nil, nil, apierrors.NewBadRequest("unknown action " + strconv.Quote(string(action)))
	}
	if errs := metav1validation.ValidateFieldValidation(field.NewPath("fieldValidation"), fieldValidation); len(errs) > 0 {
		return nil, nil, apierrors.NewInvalid(schema.GroupKind{Group: metav1.GroupName, Kind: "UpdateOptions"}, "", errs)
	}
	obj := k.new()
	if body = bytes.TrimSpace(body); len(body) > 0 {
		defaults := subresourcesv1.SchemeGroupVersion.WithKind(k.kind)
		decoder := yamlOptionsDecoder
		if json.Valid(body) {
			decoder = jsonOptionsDecoder
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
			return nil, nil, decodeError(body, k.kind, gvk, err)
		}
		if reflect.TypeOf(decoded) != reflect.TypeOf(obj) {
			return nil, nil, wrongKind(gvk.Kind, k.kind)
		}
		obj = decoded.(subresources.OptionsObject)
	}
	opts := obj.Options()
	opts.DryRun = append(opts.DryRun, dryRunQuery...)
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
// person who wrote it.
func decodeError(body []byte, kind string, gvk *schema.GroupVersionKind, err error) error {
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
	if !json.Valid(body) {
		if _, yamlErr := yaml.YAMLToJSON(body); yamlErr != nil {
			return malformed(body, yamlErr)
		}
	}
	return apierrors.NewBadRequest(fmt.Sprintf("the request body is not a valid %s: %s", kind, cleanJSONError(err)))
}

func wrongKind(got, want string) error {
	return apierrors.NewBadRequest(fmt.Sprintf("the request body has kind %q; this action accepts only %q", got, want))
}

// malformed is the 400 for a body that is neither JSON nor YAML. A body that
// starts like a JSON object or array gets the JSON error, which is the more
// useful one for it.
func malformed(body []byte, yamlErr error) error {
	if body[0] == '{' || body[0] == '[' {
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			return apierrors.NewBadRequest(fmt.Sprintf("the request body is malformed JSON: %s", cleanJSONError(err)))
		}
	}
	return apierrors.NewBadRequest(fmt.Sprintf("the request body is neither JSON nor YAML: %s", yamlErr))
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
