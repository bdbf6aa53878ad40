package subresources

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/subresources"
	subresourcesv1 "github.com/vm-apiserver/vm-apiserver/pkg/apis/subresources/v1"
)

// MaxBodyBytes bounds the body of an action request; larger bodies get a 413.
const MaxBodyBytes = 1 << 20

// The option kinds, and the apiVersions in which a body may name them.
// KubeVirt registers its option kinds in kubevirt.io/v1, so virtctl and the
// KubeVirt client may send that apiVersion.
const (
	kindStartOptions   = "StartOptions"
	kindStopOptions    = "StopOptions"
	kindRestartOptions = "RestartOptions"
)

var acceptedAPIVersions = []string{
	"subresources.kubevirt.io/v1",
	"subresources.kubevirt.io/v1alpha3",
	"kubevirt.io/v1",
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

// DecodeStartOptions decodes the body of a start request (JSON, YAML or
// empty) and merges in the dryRun query values.
func DecodeStartOptions(body []byte, dryRunQuery []string) (*subresources.StartOptions, error) {
	var in subresourcesv1.StartOptions
	if err := decodeBody(body, kindStartOptions, &in, &in.TypeMeta); err != nil {
		return nil, err
	}
	out := &subresources.StartOptions{}
	// The generated conversion is a plain field copy; it cannot fail.
	_ = subresourcesv1.Convert_v1_StartOptions_To_subresources_StartOptions(&in, out, nil)
	dryRun, err := mergeDryRun(in.DryRun, dryRunQuery)
	if err != nil {
		return nil, err
	}
	out.DryRun = dryRun
	return out, nil
}

// DecodeStopOptions decodes the body of a stop request (JSON, YAML or empty)
// and merges in the dryRun query values.
func DecodeStopOptions(body []byte, dryRunQuery []string) (*subresources.StopOptions, error) {
	var in subresourcesv1.StopOptions
	if err := decodeBody(body, kindStopOptions, &in, &in.TypeMeta); err != nil {
		return nil, err
	}
	if in.GracePeriod != nil && *in.GracePeriod < 0 {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("gracePeriod must not be negative, got %d", *in.GracePeriod))
	}
	out := &subresources.StopOptions{}
	_ = subresourcesv1.Convert_v1_StopOptions_To_subresources_StopOptions(&in, out, nil)
	dryRun, err := mergeDryRun(in.DryRun, dryRunQuery)
	if err != nil {
		return nil, err
	}
	out.DryRun = dryRun
	return out, nil
}

// DecodeRestartOptions decodes the body of a restart request (JSON, YAML or
// empty) and merges in the dryRun query values. Only gracePeriodSeconds 0
// (a forced restart) or none is accepted.
func DecodeRestartOptions(body []byte, dryRunQuery []string) (*subresources.RestartOptions, error) {
	var in subresourcesv1.RestartOptions
	if err := decodeBody(body, kindRestartOptions, &in, &in.TypeMeta); err != nil {
		return nil, err
	}
	if g := in.GracePeriodSeconds; g != nil && *g != 0 {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("gracePeriodSeconds of a restart may only be 0 (a forced restart), got %d", *g))
	}
	out := &subresources.RestartOptions{}
	_ = subresourcesv1.Convert_v1_RestartOptions_To_subresources_RestartOptions(&in, out, nil)
	dryRun, err := mergeDryRun(in.DryRun, dryRunQuery)
	if err != nil {
		return nil, err
	}
	out.DryRun = dryRun
	return out, nil
}

// decodeBody strictly decodes body into into, a versioned option struct,
// and checks the kind and apiVersion it names. An empty body leaves the
// defaults. No Content-Type is needed: JSON is tried first and YAML, a
// superset of it, second.
func decodeBody(body []byte, kind string, into any, typeMeta *metav1.TypeMeta) error {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil
	}
	data := body
	if !json.Valid(body) {
		converted, err := yaml.YAMLToJSONStrict(body)
		if err != nil {
			return malformed(body, err)
		}
		data = converted
	}
	strictErrs, err := sigsjson.UnmarshalStrict(data, into)
	if err != nil {
		return apierrors.NewBadRequest(fmt.Sprintf("the request body is not a valid %s: %s", kind, cleanJSONError(err)))
	}
	if len(strictErrs) > 0 {
		msgs := make([]string, 0, len(strictErrs))
		for _, e := range strictErrs {
			msgs = append(msgs, e.Error())
		}
		return apierrors.NewBadRequest(fmt.Sprintf("the request body is not a valid %s: %s", kind, strings.Join(msgs, ", ")))
	}
	if typeMeta.Kind != "" && typeMeta.Kind != kind {
		return apierrors.NewBadRequest(fmt.Sprintf("the request body has kind %q; this action accepts only %q", typeMeta.Kind, kind))
	}
	if typeMeta.APIVersion != "" && !isAcceptedAPIVersion(typeMeta.APIVersion) {
		return apierrors.NewBadRequest(fmt.Sprintf("the request body has apiVersion %q; accepted are %s", typeMeta.APIVersion, strings.Join(quoteAll(acceptedAPIVersions), ", ")))
	}
	return nil
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

// mergeDryRun joins the dryRun values of the body and the query; every one
// must be "All". The result is ["All"] or nil.
func mergeDryRun(fromBody, fromQuery []string) ([]string, error) {
	all := append(append([]string(nil), fromBody...), fromQuery...)
	for _, v := range all {
		if v != metav1.DryRunAll {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("dryRun may only be %q, got %q", metav1.DryRunAll, v))
		}
	}
	if len(all) == 0 {
		return nil, nil
	}
	return []string{metav1.DryRunAll}, nil
}

func isAcceptedAPIVersion(v string) bool {
	for _, ok := range acceptedAPIVersions {
		if v == ok {
			return true
		}
	}
	return false
}

func quoteAll(in []string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = strconv.Quote(s)
	}
	return out
}
