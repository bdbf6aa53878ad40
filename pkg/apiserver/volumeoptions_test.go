package apiserver

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubevirtv1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/pkg/registry/virtualmachine"
)

// decodeVolume reads the volume request of action from a PUT with body, as
// decodeOptions does for the lifecycle actions.
func decodeVolume(action virtualmachine.Action, mediaType string, body []byte, dryRun []string, fieldValidation string) (*kubevirtv1.VirtualMachineVolumeRequest, []string, []string, error) {
	query := url.Values{"dryRun": dryRun}
	if fieldValidation != "" {
		query.Set("fieldValidation", fieldValidation)
	}
	req := httptest.NewRequest(http.MethodPut, "/apis/subresources.kubevirt.io/v1/namespaces/ns/virtualmachines/vm/"+string(action)+"?"+query.Encode(), bytes.NewReader(body))
	if mediaType != "" {
		req.Header.Set("Content-Type", mediaType)
	}
	return volumeOptions(req, action)
}

// wantAdd is the prepared addvolume request of a virtio disk name on claim.
func wantAdd(name, claim string) *kubevirtv1.VirtualMachineVolumeRequest {
	return &kubevirtv1.VirtualMachineVolumeRequest{AddVolumeOptions: &kubevirtv1.AddVolumeOptions{
		Name: name,
		Disk: &kubevirtv1.Disk{Name: name, DiskDevice: kubevirtv1.DiskDevice{Disk: &kubevirtv1.DiskTarget{Bus: kubevirtv1.DiskBusVirtio}}},
		VolumeSource: &kubevirtv1.HotplugVolumeSource{PersistentVolumeClaim: &kubevirtv1.PersistentVolumeClaimVolumeSource{
			PersistentVolumeClaimVolumeSource: corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim}, Hotpluggable: true,
		}},
	}}
}

const addBody = `{"name":"data","disk":{"disk":{"bus":"virtio"}},"volumeSource":{"persistentVolumeClaim":{"claimName":"claim"}}}`

func TestDecodeVolumeOptions(t *testing.T) {
	tests := []struct {
		name       string
		action     virtualmachine.Action
		mediaType  string
		body       string
		query      []string
		want       *kubevirtv1.VirtualMachineVolumeRequest
		wantDryRun []string
		err        string // part of the 400's message
	}{
		{name: "add JSON", action: virtualmachine.ActionAddVolume, body: addBody, want: wantAdd("data", "claim")},
		{name: "add YAML", action: virtualmachine.ActionAddVolume, mediaType: yamlType,
			body: "name: data\ndisk:\n  disk:\n    bus: virtio\nvolumeSource:\n  persistentVolumeClaim:\n    claimName: claim\n", want: wantAdd("data", "claim")},
		{name: "add dry-run in the body", action: virtualmachine.ActionAddVolume,
			body: strings.TrimSuffix(addBody, "}") + `,"dryRun":["All"]}`, want: wantAdd("data", "claim"), wantDryRun: []string{"All"}},
		{name: "add dry-run in the query", action: virtualmachine.ActionAddVolume, body: addBody, query: []string{"All"},
			want: wantAdd("data", "claim"), wantDryRun: []string{"All"}},
		{name: "remove", action: virtualmachine.ActionRemoveVolume, body: `{"name":"data"}`,
			want: &kubevirtv1.VirtualMachineVolumeRequest{RemoveVolumeOptions: &kubevirtv1.RemoveVolumeOptions{Name: "data"}}},
		{name: "remove dry-run", action: virtualmachine.ActionRemoveVolume, body: `{"name":"data","dryRun":["All"]}`,
			want: &kubevirtv1.VirtualMachineVolumeRequest{RemoveVolumeOptions: &kubevirtv1.RemoveVolumeOptions{Name: "data"}}, wantDryRun: []string{"All"}},
		{name: "add empty body", action: virtualmachine.ActionAddVolume, body: "", err: "AddVolumeOptions requires name to be set"},
		{name: "add null", action: virtualmachine.ActionAddVolume, body: "null", err: "AddVolumeOptions requires name to be set"},
		{name: "add without disk", action: virtualmachine.ActionAddVolume,
			body: `{"name":"data","volumeSource":{"persistentVolumeClaim":{"claimName":"claim"}}}`, err: "AddVolumeOptions requires disk to not be nil"},
		{name: "add without source", action: virtualmachine.ActionAddVolume,
			body: `{"name":"data","disk":{}}`, err: "AddVolumeOptions requires VolumeSource to not be nil"},
		{name: "remove empty body", action: virtualmachine.ActionRemoveVolume, body: "", err: "RemoveVolumeOptions requires name to be set"},
		{name: "bad dry-run", action: virtualmachine.ActionRemoveVolume, body: `{"name":"data","dryRun":["Some"]}`, err: `dryRun may only be "All", got "Some"`},
		{name: "bad dry-run query", action: virtualmachine.ActionRemoveVolume, body: `{"name":"data"}`, query: []string{"x"}, err: `dryRun may only be "All", got "x"`},
		{name: "malformed JSON", action: virtualmachine.ActionAddVolume, body: `{"name":`, err: "the request body is malformed JSON"},
		{name: "YAML without its type", action: virtualmachine.ActionAddVolume, body: "name: data\n", err: "a YAML body needs Content-Type: application/yaml"},
		{name: "malformed YAML", action: virtualmachine.ActionAddVolume, mediaType: yamlType, body: "name: [", err: "the request body is malformed YAML"},
		{name: "not an object", action: virtualmachine.ActionAddVolume, body: `["data"]`, err: "the request body is not a valid AddVolumeOptions"},
		{name: "wrong type", action: virtualmachine.ActionRemoveVolume, body: `{"name":5}`, err: "the request body is not a valid RemoveVolumeOptions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, dryRun, warnings, err := decodeVolume(tt.action, tt.mediaType, []byte(tt.body), tt.query, metav1.FieldValidationStrict)
			if tt.err != "" {
				assertBadRequest(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.Empty(t, warnings)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.wantDryRun, dryRun)
		})
	}
}

// TestDecodeVolumeOptionsFieldValidation: unknown, duplicate and mis-cased
// fields follow fieldValidation as in the other option bodies.
func TestDecodeVolumeOptionsFieldValidation(t *testing.T) {
	tests := []struct {
		name, mediaType, body, warning string
	}{
		{"unknown field", "", `{"name":"data","newOption":1}`, `unknown field "newOption"`},
		{"mis-cased field", "", `{"Name":"x","name":"data"}`, `unknown field "Name"`},
		{"duplicate field", "", `{"name":"x","name":"data"}`, `duplicate field "name"`},
		{"kind is no field of KubeVirt's type", "", `{"kind":"RemoveVolumeOptions","name":"data"}`, `unknown field "kind"`},
		{"duplicate YAML key", yamlType, "name: x\nname: data\n", `already set in map`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := &kubevirtv1.VirtualMachineVolumeRequest{RemoveVolumeOptions: &kubevirtv1.RemoveVolumeOptions{Name: "data"}}
			got, _, warnings, err := decodeVolume(virtualmachine.ActionRemoveVolume, tt.mediaType, []byte(tt.body), nil, "")
			require.NoError(t, err, "Warn is the default")
			assert.Equal(t, want, got)
			require.Len(t, warnings, 1)
			assert.Contains(t, warnings[0], tt.warning)

			got, _, warnings, err = decodeVolume(virtualmachine.ActionRemoveVolume, tt.mediaType, []byte(tt.body), nil, metav1.FieldValidationIgnore)
			require.NoError(t, err)
			assert.Equal(t, want, got)
			assert.Empty(t, warnings)

			_, _, _, err = decodeVolume(virtualmachine.ActionRemoveVolume, tt.mediaType, []byte(tt.body), nil, metav1.FieldValidationStrict)
			assertBadRequest(t, err, tt.warning)
		})
	}
}

func TestDecodeVolumeOptionsRequestErrors(t *testing.T) {
	_, _, _, err := decodeVolume(virtualmachine.ActionAddVolume, "application/vnd.kubernetes.protobuf", []byte(addBody), nil, "")
	require.Error(t, err)
	assert.True(t, apierrors.IsUnsupportedMediaType(err), "another media type is a 415, got %v", err)

	_, _, _, err = decodeVolume(virtualmachine.ActionAddVolume, "", []byte(addBody), nil, "Loose")
	require.Error(t, err)
	assert.True(t, apierrors.IsInvalid(err), "an invalid fieldValidation is a 422, got %v", err)

	_, _, _, err = decodeVolume(virtualmachine.ActionAddVolume, "", bytes.Repeat([]byte(" "), maxOptionsBytes+1), nil, "")
	require.Error(t, err)
	assert.True(t, apierrors.IsRequestEntityTooLargeError(err), "an oversized body is a 413, got %v", err)

	_, _, _, err = decodeVolume(virtualmachine.ActionStart, "", []byte(addBody), nil, "")
	assertBadRequest(t, err, "is not a volume action")
}

// FuzzDecodeVolumeOptions feeds arbitrary bodies, as JSON and as YAML, and
// dryRun query values to the decoder of both volume actions under each
// fieldValidation: it never panics, fails only with a 400 or 413, and what
// it accepts is a complete request with its dry-run decided. Strict accepts
// exactly what Warn accepts without a warning, and Ignore what Warn accepts,
// each with the same result.
func FuzzDecodeVolumeOptions(f *testing.F) {
	seeds := []string{
		"", "{}", "null", addBody, `{"name":"data"}`, `{"name":"data","dryRun":["All"]}`, `{"name":"data","dryRun":["x"]}`,
		`{"name":"d","disk":{},"volumeSource":{}}`, `{"name":"d","disk":{"name":"other"},"volumeSource":{"dataVolume":{"name":"dv"}}}`,
		`{"name":"d","Name":"e"}`, `{"name":"d","name":"e"}`, `{"name":1}`, `[`, "name: [", "name: d\nname: e\n", "&a [*a]", "\xff\xfe",
		`{"name":"d","disk":{"bootOrder":-1}}`, `{"volumeSource":{"persistentVolumeClaim":{"claimName":"c","readOnly":true}}}`,
	}
	for i, s := range seeds {
		f.Add([]byte(s), "", uint8(i))
	}
	f.Add([]byte(`{"name":"data"}`), "All", uint8(1))

	// which picks the action by its lowest bit and, by its fourth, JSON or YAML.
	f.Fuzz(func(t *testing.T, body []byte, query string, which uint8) {
		action := virtualmachine.ActionAddVolume
		if which&1 != 0 {
			action = virtualmachine.ActionRemoveVolume
		}
		mediaType := ""
		if which&8 != 0 {
			mediaType = yamlType
		}
		var dryRunQuery []string
		if query != "" {
			dryRunQuery = []string{query}
		}
		got, dryRun, warnings, err := decodeVolume(action, mediaType, body, dryRunQuery, metav1.FieldValidationWarn)
		strict, strictDryRun, strictWarnings, strictErr := decodeVolume(action, mediaType, body, dryRunQuery, metav1.FieldValidationStrict)
		ignored, ignoredDryRun, ignoredWarnings, ignoredErr := decodeVolume(action, mediaType, body, dryRunQuery, metav1.FieldValidationIgnore)
		assert.Empty(t, strictWarnings)
		assert.Empty(t, ignoredWarnings)
		assert.Equal(t, err == nil && len(warnings) == 0, strictErr == nil, "Strict accepts what Warn accepts without warnings")
		assert.Equal(t, err == nil, ignoredErr == nil, "Ignore accepts what Warn accepts")
		if strictErr == nil {
			assert.Equal(t, got, strict)
			assert.Equal(t, dryRun, strictDryRun)
		}
		if err != nil {
			status, ok := err.(apierrors.APIStatus)
			require.True(t, ok, "a typed API error, got %T", err)
			code := status.Status().Code
			assert.True(t, code == http.StatusBadRequest || code == http.StatusRequestEntityTooLarge, "code %d: %v", code, err)
			return
		}
		assert.Equal(t, got, ignored)
		assert.Equal(t, dryRun, ignoredDryRun)
		assert.True(t, dryRun == nil || (len(dryRun) == 1 && dryRun[0] == metav1.DryRunAll), "dryRun %q", dryRun)
		if action == virtualmachine.ActionAddVolume {
			add := got.AddVolumeOptions
			require.NotNil(t, add)
			assert.Nil(t, got.RemoveVolumeOptions)
			assert.NotEmpty(t, add.Name)
			require.NotNil(t, add.Disk)
			assert.Equal(t, add.Name, add.Disk.Name)
			require.NotNil(t, add.VolumeSource)
			assert.Nil(t, add.DryRun)
		} else {
			require.NotNil(t, got.RemoveVolumeOptions)
			assert.Nil(t, got.AddVolumeOptions)
			assert.NotEmpty(t, got.RemoveVolumeOptions.Name)
			assert.Nil(t, got.RemoveVolumeOptions.DryRun)
		}
	})
}
