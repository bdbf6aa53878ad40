package apiserver

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kubevirtv1 "kubevirt.io/api/core/v1"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/vm-apiserver/vm-apiserver/pkg/registry/virtualmachine"
)

// volumeOptions reads the body of an addvolume or removevolume request:
// KubeVirt's AddVolumeOptions or RemoveVolumeOptions, in JSON or YAML as
// the Content-Type names it (JSON without one), with the dryRun and
// fieldValidation query values as for the option bodies of the other
// actions. KubeVirt's option kinds carry no apiVersion or kind, so they are
// not in the scheme: the body is decoded straight into the published type,
// strictly, and unknown, duplicate and mis-cased fields are refused, warned
// of or dropped as fieldValidation says (Warn by default).
//
// It returns the request, ready for the registry (the disk named, the
// source marked hotpluggable, no dryRun of its own), the request's dryRun
// values (["All"] or none) and the warnings. A body over maxOptionsBytes is
// a 413, another media type a 415, an invalid fieldValidation a 422, and
// anything else wrong, a missing name, disk or source included, a 400 with
// KubeVirt's text.
func volumeOptions(req *http.Request, action virtualmachine.Action) (_ *kubevirtv1.VirtualMachineVolumeRequest, dryRun, warnings []string, _ error) {
	var volumeRequest kubevirtv1.VirtualMachineVolumeRequest
	var target any
	var kind string
	switch action {
	case virtualmachine.ActionAddVolume:
		volumeRequest.AddVolumeOptions = &kubevirtv1.AddVolumeOptions{}
		target, kind = volumeRequest.AddVolumeOptions, "AddVolumeOptions"
	case virtualmachine.ActionRemoveVolume:
		volumeRequest.RemoveVolumeOptions = &kubevirtv1.RemoveVolumeOptions{}
		target, kind = volumeRequest.RemoveVolumeOptions, "RemoveVolumeOptions"
	default:
		return nil, nil, nil, apierrors.NewBadRequest(fmt.Sprintf("%q is not a volume action", action))
	}
	query := req.URL.Query()
	fieldValidation, body, info, err := optionBody(req, query)
	if err != nil {
		return nil, nil, nil, err
	}
	if len(body) > 0 {
		strict, err := decodeVolumeBody(body, info.MediaType, req.Header.Get("Content-Type") == "", kind, target)
		if err != nil {
			return nil, nil, nil, err
		}
		if len(strict) > 0 {
			msgs := make([]string, len(strict))
			for i, e := range strict {
				msgs[i] = e.Error()
			}
			switch fieldValidation {
			case metav1.FieldValidationStrict:
				return nil, nil, nil, apierrors.NewBadRequest(fmt.Sprintf("the request body is not a valid %s: %s", kind, strings.Join(msgs, ", ")))
			case metav1.FieldValidationIgnore:
			default:
				warnings = msgs
			}
		}
	}

	// The body's own dryRun and the query's are one option of the write,
	// not part of the request that is recorded.
	if add := volumeRequest.AddVolumeOptions; add != nil {
		dryRun, add.DryRun = append(add.DryRun, query["dryRun"]...), nil
	} else {
		remove := volumeRequest.RemoveVolumeOptions
		dryRun, remove.DryRun = append(remove.DryRun, query["dryRun"]...), nil
	}
	for _, v := range dryRun {
		if v != metav1.DryRunAll {
			return nil, nil, nil, apierrors.NewBadRequest(fmt.Sprintf("dryRun may only be %q, got %q", metav1.DryRunAll, v))
		}
	}
	if len(dryRun) > 0 {
		dryRun = []string{metav1.DryRunAll}
	} else {
		dryRun = nil
	}
	if err := virtualmachine.PrepareVolumeRequest(&volumeRequest); err != nil {
		return nil, nil, nil, err
	}
	return &volumeRequest, dryRun, warnings, nil
}

// decodeVolumeBody decodes body, of mediaType, into target and returns what
// a strict decoder would have refused: unknown, duplicate and mis-cased
// fields, which the rest of the body decodes without. A body that is not
// an object of the kind at all is a 400. undeclared is set when the request
// named no media type.
func decodeVolumeBody(body []byte, mediaType string, undeclared bool, kind string, target any) ([]error, error) {
	var strict []error
	doc := body
	if mediaType == runtime.ContentTypeYAML {
		converted, err := yaml.YAMLToJSON(body)
		if err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("the request body is malformed YAML: %s", err))
		}
		// YAMLToJSON keeps the last of two equal keys silently; the strict
		// conversion names them.
		if _, err := yaml.YAMLToJSONStrict(body); err != nil {
			strict = append(strict, err)
		}
		doc = converted
	} else if !json.Valid(body) {
		var v any
		msg := "the request body is malformed JSON: " + cleanJSONError(json.Unmarshal(body, &v))
		if undeclared {
			msg += "; a YAML body needs Content-Type: " + runtime.ContentTypeYAML
		}
		return nil, apierrors.NewBadRequest(msg)
	}
	fieldErrs, err := sigsjson.UnmarshalStrict(doc, target, sigsjson.DisallowDuplicateFields, sigsjson.DisallowUnknownFields)
	if err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("the request body is not a valid %s: %s", kind, cleanJSONError(err)))
	}
	return append(strict, fieldErrs...), nil
}
