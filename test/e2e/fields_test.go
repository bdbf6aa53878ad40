package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	clientscheme "github.com/vm-apiserver/vm-apiserver/pkg/generated/clientset/versioned/scheme"
	"github.com/vm-apiserver/vm-apiserver/test/framework"
)

// unknownSpot is a place in the seed VM where a key that KubeVirt's schema
// does not have is slipped in: the path of the object, and the strict
// decoder's path of the key.
type unknownSpot struct {
	object []string
	field  string
}

// spots are struct-typed objects of the seed VM at every depth, most of them
// inside spec.template.spec, whose types decode themselves with encoding/json.
var spots = []unknownSpot{
	{[]string{}, "%s"},
	{[]string{"metadata"}, "metadata.%s"},
	{[]string{"spec"}, "spec.%s"},
	{[]string{"spec", "template"}, "spec.template.%s"},
	{[]string{"spec", "template", "metadata"}, "spec.template.metadata.%s"},
	{[]string{"spec", "template", "spec"}, "spec.template.spec.%s"},
	{[]string{"spec", "template", "spec", "domain"}, "spec.template.spec.domain.%s"},
	{[]string{"spec", "template", "spec", "domain", "devices"}, "spec.template.spec.domain.devices.%s"},
	{[]string{"spec", "template", "spec", "domain", "devices", "disks", "0"}, "spec.template.spec.domain.devices.disks[0].%s"},
	{[]string{"spec", "template", "spec", "domain", "devices", "disks", "0", "disk"}, "spec.template.spec.domain.devices.disks[0].disk.%s"},
	{[]string{"spec", "template", "spec", "volumes", "0"}, "spec.template.spec.volumes[0].%s"},
	{[]string{"spec", "template", "spec", "volumes", "0", "containerDisk"}, "spec.template.spec.volumes[0].containerDisk.%s"},
}

// withUnknownField returns the seed VM as a map with key set to a value in
// the object at spot; an empty key adds nothing.
func withUnknownField(t *testing.T, name string, spot unknownSpot, key string) map[string]any {
	t.Helper()
	vm := seedVM(t).Object
	vm["metadata"].(map[string]any)["name"] = name
	if key == "" {
		return vm
	}
	var cur any = vm
	for _, step := range spot.object {
		switch c := cur.(type) {
		case map[string]any:
			cur = c[step]
		case []any:
			var i int
			_, err := fmt.Sscan(step, &i)
			require.NoError(t, err)
			cur = c[i]
		}
	}
	cur.(map[string]any)[key] = "surprise"
	return vm
}

// fieldClient sends raw write requests for VMs and collects warnings.
type fieldClient struct {
	rest     *rest.RESTClient
	warnings *warnings
}

func newFieldClient(t *testing.T, s *framework.Server) *fieldClient {
	t.Helper()
	cfg := rest.CopyConfig(s.RESTConfig)
	w := &warnings{}
	cfg.WarningHandler = w
	gv := vmGVR.GroupVersion()
	cfg.GroupVersion = &gv
	cfg.APIPath = "/apis"
	cfg.NegotiatedSerializer = clientscheme.Codecs.WithoutConversion()
	client, err := rest.RESTClientFor(cfg)
	require.NoError(t, err)
	return &fieldClient{rest: client, warnings: w}
}

// write sends body with verb to the VM (or the collection for POST) with the
// given fieldValidation, and returns the status code and the response body.
func (c *fieldClient) write(t *testing.T, verb, name, subresource, contentType, validation string, body []byte) (int, string) {
	t.Helper()
	req := c.rest.Verb(verb).Namespace("default").Resource("virtualmachines").
		SetHeader("Content-Type", contentType).Body(body)
	if verb != http.MethodPost {
		req = req.Name(name)
	}
	if subresource != "" {
		req = req.SubResource(subresource)
	}
	if validation != "" {
		req = req.Param("fieldValidation", validation)
	}
	if contentType == string(types.ApplyPatchType) {
		req = req.Param("fieldManager", "e2e")
	}
	var code int
	raw, _ := req.Do(context.Background()).StatusCode(&code).Raw()
	return code, string(raw)
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	require.NoError(t, err)
	return data
}

// writePath is one way of writing a VM: how the document with the unknown
// field is sent, once the VM named name exists (except for create).
type writePath struct {
	name        string
	verb        string
	subresource string
	contentType string
	// body turns the VM with the unknown field into the request body.
	body func(t *testing.T, vm map[string]any) []byte
	// create is whether the path creates the VM itself.
	create bool
}

var writePaths = []writePath{
	{name: "create JSON", verb: http.MethodPost, contentType: "application/json", create: true,
		body: func(t *testing.T, vm map[string]any) []byte { return mustJSON(t, vm) }},
	{name: "create YAML", verb: http.MethodPost, contentType: "application/yaml", create: true,
		body: func(t *testing.T, vm map[string]any) []byte {
			data, err := yaml.Marshal(vm)
			require.NoError(t, err)
			return data
		}},
	{name: "update", verb: http.MethodPut, contentType: "application/json",
		body: func(t *testing.T, vm map[string]any) []byte { return mustJSON(t, vm) }},
	{name: "merge patch", verb: http.MethodPatch, contentType: string(types.MergePatchType),
		body: func(t *testing.T, vm map[string]any) []byte { return mustJSON(t, vm) }},
	{name: "strategic merge patch", verb: http.MethodPatch, contentType: string(types.StrategicMergePatchType),
		body: func(t *testing.T, vm map[string]any) []byte { return mustJSON(t, vm) }},
	{name: "JSON patch", verb: http.MethodPatch, contentType: string(types.JSONPatchType),
		body: func(t *testing.T, vm map[string]any) []byte {
			return mustJSON(t, []map[string]any{{"op": "replace", "path": "/spec", "value": vm["spec"]}})
		}},
	{name: "server-side apply", verb: http.MethodPatch, contentType: string(types.ApplyYAMLPatchType),
		body: func(t *testing.T, vm map[string]any) []byte {
			data, err := yaml.Marshal(vm)
			require.NoError(t, err)
			return data
		}},
	{name: "status update", verb: http.MethodPut, subresource: "status", contentType: "application/json",
		body: func(t *testing.T, vm map[string]any) []byte { return mustJSON(t, vm) }},
	{name: "status merge patch", verb: http.MethodPatch, subresource: "status", contentType: string(types.MergePatchType),
		body: func(t *testing.T, vm map[string]any) []byte { return mustJSON(t, vm) }},
	{name: "status strategic merge patch", verb: http.MethodPatch, subresource: "status", contentType: string(types.StrategicMergePatchType),
		body: func(t *testing.T, vm map[string]any) []byte { return mustJSON(t, vm) }},
}

// TestUnknownFieldsOnEveryWritePath slips an unknown field into the seed VM
// at a random depth and sends it on every write path with each field
// validation directive: Strict refuses with a 400 naming the field's path,
// Warn stores the VM without it and says so, Ignore stores it without it.
func TestUnknownFieldsOnEveryWritePath(t *testing.T) {
	s := framework.StartServer(t)
	c := newFieldClient(t, s)
	rng := rand.New(rand.NewSource(20261129))

	n := 0
	for _, wp := range writePaths {
		// JSON patch replaces spec only, so only spots under spec apply.
		candidates := spots
		if wp.contentType == string(types.JSONPatchType) {
			candidates = nil
			for _, spot := range spots {
				if len(spot.object) > 0 && spot.object[0] == "spec" {
					candidates = append(candidates, spot)
				}
			}
		}
		for _, directive := range []string{metav1.FieldValidationStrict, metav1.FieldValidationWarn, metav1.FieldValidationIgnore} {
			spot := candidates[rng.Intn(len(candidates))]
			key := fmt.Sprintf("unknownField%d", n)
			name := fmt.Sprintf("fields-%d", n)
			n++
			t.Run(fmt.Sprintf("%s/%s/%s", wp.name, directive, strings.Join(spot.object, ".")), func(t *testing.T) {
				if !wp.create {
					code, out := c.write(t, http.MethodPost, "", "", "application/json", "", mustJSON(t, withUnknownField(t, name, spots[0], "")))
					require.Equal(t, http.StatusCreated, code, out)
				}
				vm := withUnknownField(t, name, spot, key)
				before := len(c.warnings.list())
				code, out := c.write(t, wp.verb, name, wp.subresource, wp.contentType, directive, wp.body(t, vm))
				path := fmt.Sprintf(spot.field, key)

				switch directive {
				case metav1.FieldValidationStrict:
					require.Equal(t, http.StatusBadRequest, code, out)
					assert.Contains(t, out, fmt.Sprintf(`unknown field \"%s\"`, path))
				case metav1.FieldValidationWarn:
					require.Contains(t, []int{http.StatusOK, http.StatusCreated}, code, out)
					assert.Contains(t, c.warnings.list()[before:], fmt.Sprintf("unknown field %q", path))
					assert.NotContains(t, out, key, "the field is not stored")
				case metav1.FieldValidationIgnore:
					require.Contains(t, []int{http.StatusOK, http.StatusCreated}, code, out)
					assert.Len(t, c.warnings.list(), before, "no warning")
					assert.NotContains(t, out, key, "the field is not stored")
				}
			})
		}
	}
}

// TestMisCasedAndDuplicateKeysInsideTheTemplate covers the two things that
// encoding/json lets through inside spec.template.spec: a key in the wrong
// case, which it would match to a field, and a key given twice.
func TestMisCasedAndDuplicateKeysInsideTheTemplate(t *testing.T) {
	s := framework.StartServer(t)
	c := newFieldClient(t, s)

	vm := withUnknownField(t, "cased", spots[0], "")
	tmpl := vm["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
	tmpl["Hostname"] = "wrong-case"
	code, out := c.write(t, http.MethodPost, "", "", "application/json", metav1.FieldValidationStrict, mustJSON(t, vm))
	require.Equal(t, http.StatusBadRequest, code, out)
	assert.Contains(t, out, `unknown field \"spec.template.spec.Hostname\"`)

	// With Ignore the key is dropped, not read as "hostname".
	code, out = c.write(t, http.MethodPost, "", "", "application/json", metav1.FieldValidationIgnore, mustJSON(t, vm))
	require.Equal(t, http.StatusCreated, code, out)
	assert.NotContains(t, out, "wrong-case")

	doc := string(mustJSON(t, withUnknownField(t, "dup", spots[0], "")))
	dup := strings.Replace(doc, `"domain":{`, `"hostname":"first","hostname":"second","domain":{`, 1)
	require.NotEqual(t, doc, dup)
	code, out = c.write(t, http.MethodPost, "", "", "application/json", metav1.FieldValidationStrict, []byte(dup))
	require.Equal(t, http.StatusBadRequest, code, out)
	assert.Contains(t, out, `duplicate field \"spec.template.spec.hostname\"`)
}

// TestApplyOfAWrongTypeIsTheClientsError: server-side apply of a value of the
// wrong type for KubeVirt's schema is a 400 that names the field, never a 500.
func TestApplyOfAWrongTypeIsTheClientsError(t *testing.T) {
	s := framework.StartServer(t)
	c := newFieldClient(t, s)
	vm := withUnknownField(t, "wrong-type", spots[0], "")
	vm["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["terminationGracePeriodSeconds"] = "soon"
	code, out := c.write(t, http.MethodPatch, "wrong-type", "", string(types.ApplyYAMLPatchType), metav1.FieldValidationStrict, mustJSON(t, vm))
	require.Equal(t, http.StatusBadRequest, code, out)
	assert.Contains(t, out, "terminationGracePeriodSeconds")
}

// TestJSONPatchTestOperationComparesTheValueAsSent: the value of a JSON
// patch's test operation is compared with the stored VM as it was sent (RFC
// 6902). A value with a field the VM cannot have, or a key in the wrong
// case, never equals the stored one, so the whole patch fails with a 422
// whatever fieldValidation says, and the VM is left as it was.
func TestJSONPatchTestOperationComparesTheValueAsSent(t *testing.T) {
	s := framework.StartServer(t)
	c := newFieldClient(t, s)
	code, out := c.write(t, http.MethodPost, "", "", "application/json", "", mustJSON(t, withUnknownField(t, "tested", spots[0], "")))
	require.Equal(t, http.StatusCreated, code, out)
	disk := map[string]any{"name": "containerdisk", "disk": map[string]any{"bus": "virtio"}}
	const path = "/spec/template/spec/domain/devices/disks/0"
	patch := func(value map[string]any) []byte {
		return mustJSON(t, []map[string]any{
			{"op": "test", "path": path, "value": value},
			{"op": "replace", "path": "/spec/runStrategy", "value": "Halted"},
		})
	}
	withKey := func(key string) map[string]any {
		v := map[string]any{"name": "containerdisk", "disk": map[string]any{"bus": "virtio"}}
		v[key] = true
		return v
	}

	tests := []struct {
		name       string
		value      map[string]any
		validation string
		wantCode   int
	}{
		{"the stored value passes", disk, "", http.StatusOK},
		{"an unknown field fails under Warn", withKey("bogus"), metav1.FieldValidationWarn, http.StatusUnprocessableEntity},
		{"an unknown field fails under Ignore", withKey("bogus"), metav1.FieldValidationIgnore, http.StatusUnprocessableEntity},
		{"an unknown field fails under Strict", withKey("bogus"), metav1.FieldValidationStrict, http.StatusUnprocessableEntity},
		{"a mis-cased key fails under Ignore", map[string]any{"Name": "containerdisk", "disk": map[string]any{"bus": "virtio"}}, metav1.FieldValidationIgnore, http.StatusUnprocessableEntity},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out := c.write(t, http.MethodPatch, "tested", "", string(types.MergePatchType), "", []byte(`{"spec":{"runStrategy":"Always"}}`))
			require.Equal(t, http.StatusOK, code, out)

			code, out = c.write(t, http.MethodPatch, "tested", "", string(types.JSONPatchType), tc.validation, patch(tc.value))
			require.Equal(t, tc.wantCode, code, out)
			want := `"runStrategy":"Halted"`
			if code != http.StatusOK {
				want = `"runStrategy":"Always"`
				raw, err := c.rest.Get().Namespace("default").Resource("virtualmachines").Name("tested").Do(context.Background()).Raw()
				require.NoError(t, err)
				out = string(raw)
			}
			assert.Contains(t, out, want)
		})
	}
}
