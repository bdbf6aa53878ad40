package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/vm-apiserver/vm-apiserver/test/bench/crd"
)

// peerGroup is the API group of the CRD that serves KubeVirt's
// VirtualMachine schema next to vm-apiserver: kubevirt.io itself is
// vm-apiserver's, through its APIService.
const peerGroup = "peer.kubevirt.io"

// installPeerCRD creates the VirtualMachine CRD in peerGroup, unless it is
// there, and waits until its VirtualMachines can be listed in ns.
func installPeerCRD(t *testing.T, ns string) {
	t.Helper()
	def, err := crd.VirtualMachineInGroup(peerGroup)
	require.NoError(t, err)
	client, err := apiextensionsclient.NewForConfig(env.admin)
	require.NoError(t, err)
	_, err = client.ApiextensionsV1().CustomResourceDefinitions().Create(t.Context(), def, metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		require.NoError(t, err)
	}
	list := fmt.Sprintf("/apis/%s/v1/namespaces/%s/virtualmachines", peerGroup, ns)
	err = wait.PollUntilContextTimeout(t.Context(), pollInterval, time.Minute, true, func(ctx context.Context) (bool, error) {
		got, err := client.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, def.Name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		for _, c := range got.Status.Conditions {
			if c.Type == apiextensionsv1.NonStructuralSchema && c.Status == apiextensionsv1.ConditionTrue {
				return false, fmt.Errorf("the CRD's schema is not structural: %s", c.Message)
			}
		}
		resp, err := do(ctx, env.admin, http.MethodGet, list, nil, "")
		return err == nil && resp.code == http.StatusOK, nil
	})
	require.NoError(t, err)
}

// answer is what a server said to a write: the status code and the unknown
// and duplicate fields named in the body (Strict) or in Warning headers
// (Warn), as "unknown field \"path\"" texts, sorted.
type answer struct {
	code   int
	fields []string
}

// fieldText finds the field problems in a body or a header, quoted or
// escaped.
var fieldText = regexp.MustCompile(`(unknown|duplicate) field \\*"([^"\\]*)\\*"`)

// post creates a VM from body in the collection at path with the given
// fieldValidation, and reports the answer.
func post(t *testing.T, path, validation string, body []byte) answer {
	t.Helper()
	client, err := rest.HTTPClientFor(env.admin)
	require.NoError(t, err)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, env.admin.Host+path+"?fieldValidation="+validation, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	text := strings.Join(resp.Header.Values("Warning"), "\n")
	if resp.StatusCode >= 300 {
		text = string(data)
	}
	var fields []string
	for _, m := range fieldText.FindAllStringSubmatch(text, -1) {
		fields = append(fields, fmt.Sprintf("%s field %q", m[1], m[2]))
	}
	slices.Sort(fields)
	return answer{code: resp.StatusCode, fields: slices.Compact(fields)}
}

// TestUnknownFieldsAsKubeAPIServerFindsThemInTheCRD sends the same VM
// manifests, with unknown, mis-cased and duplicate fields, to vm-apiserver
// and to kube-apiserver serving KubeVirt's VirtualMachine CRD, under Strict
// and Warn, and compares the answers: the status code and the fields named.
func TestUnknownFieldsAsKubeAPIServerFindsThemInTheCRD(t *testing.T) {
	suite.Require(t)
	ns := newNamespace(t)
	installPeerCRD(t, ns)

	raw, err := os.ReadFile(filepath.Join(env.root, "artifacts", "examples", "vm-cirros.yaml"))
	require.NoError(t, err)
	var seed map[string]any
	require.NoError(t, yaml.Unmarshal(raw, &seed))

	// manifest is the seed VM named name in group, with extra inserted
	// before the first occurrence of anchor in its JSON (keys sorted).
	manifest := func(t *testing.T, group, name, anchor, extra string) []byte {
		seed["apiVersion"] = group + "/v1"
		seed["metadata"].(map[string]any)["name"] = name
		doc, err := json.Marshal(seed)
		require.NoError(t, err)
		if anchor == "" {
			return doc
		}
		require.Contains(t, string(doc), anchor)
		return []byte(strings.Replace(string(doc), anchor, extra+anchor, 1))
	}

	cases := []struct {
		name, anchor, extra string
		want                []string
		// differs is set where the two servers answer differently on
		// purpose (docs/api.md): then ours names want and the CRD nothing.
		differs bool
	}{
		{name: "clean"},
		{name: "top level", anchor: `"kind"`, extra: `"bogus":1,`, want: []string{`unknown field "bogus"`}},
		{name: "metadata", anchor: `"name"`, extra: `"bogus":1,`, want: []string{`unknown field "metadata.bogus"`}},
		{name: "spec", anchor: `"runStrategy"`, extra: `"bogus":{"x":1},`, want: []string{`unknown field "spec.bogus"`}},
		{name: "domain", anchor: `"devices"`, extra: `"bogus":true,`, want: []string{`unknown field "spec.template.spec.domain.bogus"`}},
		{name: "deep in the domain", anchor: `"name":"containerdisk"}]`, extra: `"Bus":"sata",`,
			want: []string{`unknown field "spec.template.spec.domain.devices.disks[0].Bus"`}},
		{name: "mis-cased", anchor: `"terminationGracePeriodSeconds"`, extra: `"Hostname":"x",`,
			want: []string{`unknown field "spec.template.spec.Hostname"`}},
		{name: "duplicate", anchor: `"runStrategy"`, extra: `"runStrategy":"Halted",`, want: []string{`duplicate field "spec.runStrategy"`}},
		{name: "duplicate in the template", anchor: `"terminationGracePeriodSeconds"`, extra: `"terminationGracePeriodSeconds":30,`,
			want: []string{`duplicate field "spec.template.spec.terminationGracePeriodSeconds"`}},
		{name: "repeated unknown", anchor: `"devices"`, extra: `"bogus":1,"bogus":2,`,
			want: []string{`duplicate field "spec.template.spec.domain.bogus"`, `unknown field "spec.template.spec.domain.bogus"`}},
		{name: "template metadata", anchor: `"labels":{"kubevirt.io/vm":"vm-cirros"}},"spec":{"domain"`, extra: `"bogus":1,`,
			want: []string{`unknown field "spec.template.metadata.bogus"`}, differs: true},
	}
	n := 0
	for _, tc := range cases {
		for _, validation := range []string{metav1.FieldValidationStrict, metav1.FieldValidationWarn} {
			n++
			name := fmt.Sprintf("fields-%d", n)
			t.Run(tc.name+"/"+validation, func(t *testing.T) {
				ours := post(t, "/apis/kubevirt.io/v1/namespaces/"+ns+"/virtualmachines", validation, manifest(t, "kubevirt.io", name, tc.anchor, tc.extra))
				peer := post(t, "/apis/"+peerGroup+"/v1/namespaces/"+ns+"/virtualmachines", validation, manifest(t, peerGroup, name, tc.anchor, tc.extra))
				wantCode := http.StatusCreated
				if validation == metav1.FieldValidationStrict && len(tc.want) > 0 {
					wantCode = http.StatusBadRequest
				}
				assert.Equal(t, wantCode, ours.code, "vm-apiserver")
				assert.Equal(t, tc.want, ours.fields, "vm-apiserver")
				if tc.differs {
					assert.Equal(t, http.StatusCreated, peer.code, "the CRD")
					assert.Empty(t, peer.fields, "the CRD")
					return
				}
				assert.Equal(t, ours, peer, "vm-apiserver and the CRD answer alike")
			})
		}
	}
}
