package apiserver

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/subresources"
	"github.com/vm-apiserver/vm-apiserver/pkg/registry/virtualmachine"
)

// decodeOptions reads the options of action from a PUT with body, in
// mediaType (no Content-Type when empty), with the dryRun values dryRun and
// fieldValidation (neither when empty) in its query.
func decodeOptions(action virtualmachine.Action, mediaType string, body []byte, dryRun []string, fieldValidation string) (*subresources.ActionOptions, []string, error) {
	query := url.Values{"dryRun": dryRun}
	if fieldValidation != "" {
		query.Set("fieldValidation", fieldValidation)
	}
	req := httptest.NewRequest(http.MethodPut, "/apis/subresources.kubevirt.io/v1/namespaces/ns/virtualmachines/vm/"+string(action)+"?"+query.Encode(), bytes.NewReader(body))
	if mediaType != "" {
		req.Header.Set("Content-Type", mediaType)
	}
	return actionOptions(req, action)
}

// decodeCase is a body, its media type and dryRun query values given to
// actionOptions, and the options it must return or a part of its 400's
// message.
type decodeCase struct {
	name      string
	mediaType string
	body      string
	query     []string
	want      *subresources.ActionOptions
	err       string
}

// yaml is the media type of YAML bodies.
const yamlType = runtime.ContentTypeYAML

// runDecodeCases decodes each case's body as options of action, with
// fieldValidation Strict so that every unknown field is an error.
func runDecodeCases(t *testing.T, action virtualmachine.Action, tests []decodeCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, warnings, err := decodeOptions(action, tt.mediaType, []byte(tt.body), tt.query, metav1.FieldValidationStrict)
			assert.Empty(t, warnings)
			if tt.err != "" {
				assertBadRequest(t, err, tt.err)
				assert.Nil(t, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestDecodeStartOptions(t *testing.T) {
	tests := []decodeCase{
		{name: "empty", body: "", want: &subresources.ActionOptions{}},
		{name: "whitespace", body: " \n\t ", want: &subresources.ActionOptions{}},
		{name: "empty object", body: "{}", want: &subresources.ActionOptions{}},
		{name: "json null", body: "null", want: &subresources.ActionOptions{}},
		{name: "paused", body: `{"paused":true}`, want: &subresources.ActionOptions{Paused: true}},
		{name: "dry run", body: `{"dryRun":["All"]}`, want: &subresources.ActionOptions{DryRun: []string{"All"}}},
		{name: "dry run query", body: "", query: []string{"All"}, want: &subresources.ActionOptions{DryRun: []string{"All"}}},
		{name: "dry run body and repeated query", body: `{"dryRun":["All"]}`, query: []string{"All", "All"}, want: &subresources.ActionOptions{DryRun: []string{"All"}}},
		{name: "empty dry run list", body: `{"dryRun":[]}`, want: &subresources.ActionOptions{}},
		{name: "yaml", mediaType: yamlType, body: "paused: true\ndryRun:\n- All\n", want: &subresources.ActionOptions{Paused: true, DryRun: []string{"All"}}},
		{name: "yaml flow", mediaType: yamlType, body: "{paused: true}", want: &subresources.ActionOptions{Paused: true}},
		{name: "yaml document marker", mediaType: yamlType, body: "---\n", want: &subresources.ActionOptions{}},
		{name: "subresources v1", body: `{"kind":"StartOptions","apiVersion":"subresources.kubevirt.io/v1","paused":true}`, want: &subresources.ActionOptions{Paused: true}},
		{name: "subresources v1alpha3", body: `{"kind":"StartOptions","apiVersion":"subresources.kubevirt.io/v1alpha3"}`, want: &subresources.ActionOptions{}},
		{name: "kubevirt v1", mediaType: yamlType, body: "kind: StartOptions\napiVersion: kubevirt.io/v1\n", want: &subresources.ActionOptions{}},
		{name: "kind only", body: `{"kind":"StartOptions"}`, want: &subresources.ActionOptions{}},

		{name: "wrong kind", body: `{"kind":"StopOptions","apiVersion":"subresources.kubevirt.io/v1"}`, err: `has kind "StopOptions"; this action accepts only "StartOptions"`},
		{name: "wrong apiVersion", body: `{"kind":"StartOptions","apiVersion":"v1"}`, err: `has apiVersion "v1"`},
		{name: "unknown field", body: `{"paused":true,"force":true}`, err: `unknown field "force"`},
		{name: "field in wrong case", body: `{"Paused":true}`, err: `unknown field "Paused"`},
		{name: "duplicate field", body: `{"paused":true,"paused":false}`, err: `duplicate field "paused"`},
		{name: "unknown yaml field", mediaType: yamlType, body: "paused: true\ngracePeriod: 3\n", err: `unknown field "gracePeriod"`},
		{name: "malformed json", body: `{"paused":`, err: "malformed JSON"},
		{name: "malformed yaml", mediaType: yamlType, body: "paused: [true\n", err: "malformed YAML"},
		{name: "yaml without a media type", body: "paused: true\n", err: "a YAML body needs Content-Type: application/yaml"},
		{name: "json with its media type", mediaType: "application/json; charset=utf-8", body: `{"paused":true}`, want: &subresources.ActionOptions{Paused: true}},
		{name: "wrong type", body: `{"paused":"yes please"}`, err: "cannot unmarshal string"},
		{name: "not an object", body: `[1,2]`, err: "cannot unmarshal array"},
		{name: "bad dry run in body", body: `{"dryRun":["None"]}`, err: `dryRun may only be "All", got "None"`},
		{name: "bad dry run query", query: []string{"true"}, err: `dryRun may only be "All", got "true"`},
		{name: "empty dry run query", query: []string{""}, err: `got ""`},
		{name: "one bad among good", body: `{"dryRun":["All"]}`, query: []string{"All", "Some"}, err: `got "Some"`},
	}
	runDecodeCases(t, virtualmachine.ActionStart, tests)
}

func TestDecodeStopOptions(t *testing.T) {
	tests := []decodeCase{
		{name: "empty", want: &subresources.ActionOptions{}},
		{name: "empty object", body: "{}", want: &subresources.ActionOptions{}},
		{name: "grace 0", body: `{"gracePeriod":0}`, want: &subresources.ActionOptions{GracePeriodSeconds: ptr.To[int64](0)}},
		{name: "grace 30 yaml", mediaType: yamlType, body: "gracePeriod: 30", want: &subresources.ActionOptions{GracePeriodSeconds: ptr.To[int64](30)}},
		{name: "dry run", body: `{"dryRun":["All"]}`, want: &subresources.ActionOptions{DryRun: []string{"All"}}},
		{name: "kubevirt v1 kind", body: `{"kind":"StopOptions","apiVersion":"kubevirt.io/v1","gracePeriod":5}`, want: &subresources.ActionOptions{GracePeriodSeconds: ptr.To[int64](5)}},

		{name: "negative grace", body: `{"gracePeriod":-1}`, err: "gracePeriod must not be negative, got -1"},
		{name: "fractional grace", body: `{"gracePeriod":1.5}`, err: "cannot unmarshal number 1.5"},
		{name: "huge grace", body: `{"gracePeriod":92233720368547758070}`, err: "cannot unmarshal number"},
		{name: "restart's field", body: `{"gracePeriodSeconds":0}`, err: `unknown field "gracePeriodSeconds"`},
		{name: "wrong kind", body: `{"kind":"RestartOptions"}`, err: `accepts only "StopOptions"`},
		{name: "bad dry run query", query: []string{"all"}, err: `got "all"`},
	}
	runDecodeCases(t, virtualmachine.ActionStop, tests)
}

func TestDecodeRestartOptions(t *testing.T) {
	tests := []decodeCase{
		{name: "empty", want: &subresources.ActionOptions{}},
		{name: "empty object", body: "{}", want: &subresources.ActionOptions{}},
		{name: "forced", body: `{"gracePeriodSeconds":0}`, want: &subresources.ActionOptions{GracePeriodSeconds: ptr.To[int64](0)}},
		{name: "forced yaml with kind", mediaType: yamlType, body: "kind: RestartOptions\napiVersion: subresources.kubevirt.io/v1\ngracePeriodSeconds: 0\n", want: &subresources.ActionOptions{GracePeriodSeconds: ptr.To[int64](0)}},
		{name: "dry run query", query: []string{"All"}, want: &subresources.ActionOptions{DryRun: []string{"All"}}},

		{name: "grace 5", body: `{"gracePeriodSeconds":5}`, err: "may only be 0 (a forced restart), got 5"},
		{name: "negative grace", body: `{"gracePeriodSeconds":-1}`, err: "got -1"},
		{name: "stop's field", body: `{"gracePeriod":0}`, err: `unknown field "gracePeriod"`},
		{name: "wrong apiVersion", body: `{"apiVersion":"subresources.kubevirt.io/v2"}`, err: `apiVersion "subresources.kubevirt.io/v2"`},
	}
	runDecodeCases(t, virtualmachine.ActionRestart, tests)
}

func TestReadBody(t *testing.T) {
	tests := []struct {
		name string
		size int
		code int32
	}{
		{"empty", 0, 0},
		{"at the limit", maxOptionsBytes, 0},
		{"over the limit", maxOptionsBytes + 1, http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readBody(bytes.NewReader(bytes.Repeat([]byte(" "), tt.size)))
			if tt.code != 0 {
				require.Error(t, err)
				assert.Equal(t, tt.code, statusCode(err))
				assert.True(t, apierrors.IsRequestEntityTooLargeError(err))
				return
			}
			require.NoError(t, err)
			assert.Len(t, got, tt.size)
		})
	}
}

// assertBadRequest checks that err is a 400 whose message contains part.
func assertBadRequest(t *testing.T, err error, part string) {
	t.Helper()
	require.Error(t, err)
	status, ok := err.(apierrors.APIStatus)
	require.True(t, ok, "a typed API error, got %T", err)
	assert.Equal(t, int32(http.StatusBadRequest), status.Status().Code)
	assert.Equal(t, metav1.StatusReasonBadRequest, status.Status().Reason)
	assert.True(t, strings.Contains(status.Status().Message, part), "message %q should contain %q", status.Status().Message, part)
}

// TestDecodeOptionsFieldValidation: unknown, duplicate and mis-cased fields
// in option bodies follow fieldValidation as kube-apiserver treats them in
// built-in kinds; Warn is the default.
func TestDecodeOptionsFieldValidation(t *testing.T) {
	tests := []struct {
		name       string
		action     virtualmachine.Action
		body       string
		validation string
		want       *subresources.ActionOptions
		warnings   []string
		err        string
	}{
		{"a newer client's option, default", virtualmachine.ActionStop, `{"gracePeriod":5,"force":true}`, "",
			&subresources.ActionOptions{GracePeriodSeconds: ptr.To[int64](5)}, []string{`unknown field "force"`}, ""},
		{"a newer client's option, Warn", virtualmachine.ActionStart, `{"paused":true,"startStrategy":"x"}`, metav1.FieldValidationWarn,
			&subresources.ActionOptions{Paused: true}, []string{`unknown field "startStrategy"`}, ""},
		{"a newer client's option, Ignore", virtualmachine.ActionStart, `{"paused":true,"startStrategy":"x"}`, metav1.FieldValidationIgnore,
			&subresources.ActionOptions{Paused: true}, nil, ""},
		{"a newer client's option, Strict", virtualmachine.ActionStart, `{"paused":true,"startStrategy":"x"}`, metav1.FieldValidationStrict,
			nil, nil, `unknown field "startStrategy"`},
		{"two unknown fields warn twice", virtualmachine.ActionRestart, `{"a":1,"gracePeriodSeconds":0,"b":2}`, "",
			&subresources.ActionOptions{GracePeriodSeconds: ptr.To[int64](0)}, []string{`unknown field "a"`, `unknown field "b"`}, ""},
		{"a mis-cased key is not read", virtualmachine.ActionStart, `{"Paused":true}`, metav1.FieldValidationWarn,
			&subresources.ActionOptions{}, []string{`unknown field "Paused"`}, ""},
		{"a duplicate key warns and the last wins", virtualmachine.ActionStart, `{"paused":false,"paused":true}`, metav1.FieldValidationWarn,
			&subresources.ActionOptions{Paused: true}, []string{`duplicate field "paused"`}, ""},
		{"a duplicate key, Strict", virtualmachine.ActionStart, `{"paused":false,"paused":true}`, metav1.FieldValidationStrict,
			nil, nil, `duplicate field "paused"`},
		{"an unknown YAML field, default", virtualmachine.ActionStop, "gracePeriod: 3\nreason: maintenance\n", "", // sent as YAML
			&subresources.ActionOptions{GracePeriodSeconds: ptr.To[int64](3)}, []string{`unknown field "reason"`}, ""},
		{"kubevirt.io/v1 body with a new field", virtualmachine.ActionStop, `{"kind":"StopOptions","apiVersion":"kubevirt.io/v1","gracePeriod":0,"newField":{}}`, "",
			&subresources.ActionOptions{GracePeriodSeconds: ptr.To[int64](0)}, []string{`unknown field "newField"`}, ""},
		{"unknown fields do not excuse invalid values", virtualmachine.ActionStop, `{"gracePeriod":-1,"x":1}`, metav1.FieldValidationWarn,
			nil, nil, "must not be negative"},
		{"a wrong type is an error under Warn", virtualmachine.ActionStart, `{"paused":"yes","x":1}`, metav1.FieldValidationWarn,
			nil, nil, "paused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mediaType := ""
			if !json.Valid([]byte(tt.body)) {
				mediaType = yamlType
			}
			got, warnings, err := decodeOptions(tt.action, mediaType, []byte(tt.body), nil, tt.validation)
			if tt.err != "" {
				assertBadRequest(t, err, tt.err)
				assert.Nil(t, got)
				assert.Empty(t, warnings)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.warnings, warnings)
		})
	}

	t.Run("an unknown directive is a 422 on UpdateOptions", func(t *testing.T) {
		got, _, err := decodeOptions(virtualmachine.ActionStart, "", nil, nil, "Lenient")
		require.Error(t, err)
		assert.Nil(t, got)
		assert.True(t, apierrors.IsInvalid(err), err.Error())
		assert.Contains(t, err.Error(), "fieldValidation")
	})
}

func TestActionOptionsMediaTypes(t *testing.T) {
	for _, tt := range []struct {
		name, mediaType, body string
		code                  int32 // 0 when the body is read
	}{
		{"form data, as curl -d sends it", "application/x-www-form-urlencoded", `{"paused":true}`, http.StatusUnsupportedMediaType},
		{"protobuf", "application/vnd.kubernetes.protobuf", `{"paused":true}`, http.StatusUnsupportedMediaType},
		{"a malformed media type", "json;;", `{"paused":true}`, http.StatusUnsupportedMediaType},
		{"an empty body in any media type", "application/x-www-form-urlencoded", "", 0},
		{"YAML", "application/yaml", "paused: true", 0},
		{"JSON", "application/json", `{"paused":true}`, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := decodeOptions(virtualmachine.ActionStart, tt.mediaType, []byte(tt.body), nil, "")
			if tt.code == 0 {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Equal(t, tt.code, statusCode(err), err.Error())
			assert.Contains(t, err.Error(), "application/json, application/yaml")
		})
	}
}

// statusCode is the HTTP code of an API error, or 0 for another error.
func statusCode(err error) int32 {
	if status, ok := err.(apierrors.APIStatus); ok {
		return status.Status().Code
	}
	return 0
}
