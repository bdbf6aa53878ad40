package apiserver

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	"k8s.io/apimachinery/pkg/runtime"
	kubevirtv1 "kubevirt.io/api/core/v1"
	sigsjson "sigs.k8s.io/json"

	"github.com/vm-apiserver/vm-apiserver/pkg/api/scheme"
)

// errTexts are the messages of errs.
func errTexts(errs []error) []string {
	out := make([]string, 0, len(errs))
	for _, e := range errs {
		out = append(out, e.Error())
	}
	return out
}

// checkVM prunes doc as a whole VM and returns the problems and the VM
// that is left, as JSON.
func checkVM(t *testing.T, doc []byte, smp bool) ([]string, string) {
	t.Helper()
	s, err := vmSchema()
	require.NoError(t, err)
	value, problems, err := pruneVM(doc, s, nil, smp)
	require.NoError(t, err)
	clean, err := json.Marshal(value)
	require.NoError(t, err)
	return errTexts(problems), string(clean)
}

func TestSampleVMHasNoUnknownFields(t *testing.T) {
	problems, clean := checkVM(t, sampleVMJSON(t), false)
	assert.Empty(t, problems)
	assert.JSONEq(t, string(sampleVMJSON(t)), clean)
}

// Problems under the types with their own UnmarshalJSON, which the strict
// decoder cannot see.
func TestPruneFindsWhatTheStrictDecoderMisses(t *testing.T) {
	cases := []struct {
		name, anchor, extra string
		want                []string
	}{
		{"wrong case under template spec", `"domain":{"resources"`, `"Domain":{},`,
			[]string{`unknown field "spec.template.spec.Domain"`}},
		{"deep in the domain", `"disks":[{"name":"rootdisk","disk":{"bus":"virtio"}`, `,"foo":1`,
			[]string{`unknown field "spec.template.spec.domain.devices.disks[0].foo"`}},
		{"duplicate under template spec", `"evictionStrategy":"LiveMigrate"`, `"evictionStrategy":"None",`,
			[]string{`duplicate field "spec.template.spec.evictionStrategy"`}},
		{"pod network", `"vmNetworkCIDR"`, `"vmNetworkCidr":"10.1.0.0/24",`,
			[]string{`unknown field "spec.template.spec.networks[0].pod.vmNetworkCidr"`}},
		{"dhcp options", `"bootFileName"`, `"ntpservers":[],"bootFileName":"x",`,
			[]string{`unknown field "spec.template.spec.domain.devices.interfaces[1].dhcpOptions.ntpservers"`,
				`duplicate field "spec.template.spec.domain.devices.interfaces[1].dhcpOptions.bootFileName"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := inject(t, sampleVMJSON(t), tc.anchor, tc.extra)
			strict, err := sigsjson.UnmarshalStrict(doc, new(kubevirtv1.VirtualMachine))
			require.NoError(t, err)
			assert.Empty(t, strict, "the strict decoder misses these")

			problems, clean := checkVM(t, doc, false)
			assert.ElementsMatch(t, tc.want, problems)
			assert.JSONEq(t, string(sampleVMJSON(t)), clean, "only the injected members are gone")
		})
	}
}

// Problems outside spec.template.spec, where the strict decoder sees them:
// pruning finds the same.
func TestPruneAgreesWithTheStrictDecoder(t *testing.T) {
	cases := []struct{ name, anchor, extra string }{
		{"root", `"apiVersion"`, `"Kind":"x","apiVersion":"v0",`},
		{"metadata", `"name":"vm-sample"`, `"nam":"x","name":"other",`},
		{"label duplicate", `"app":"sample"`, `"app":"other",`},
		{"spec", `"spec":{`, `"running":true,"bogus":{"x":1},"runStrategy":"Halted",`},
		{"template metadata", `"labels":{"app":"sample","kubevirt.io/domain"`, `"generateName":"a","generateName":"b","x":[1],`},
		{"template duplicate", `"template":{`, `"spec":{"domain":{"devices":{}}},"metadata":{},`},
		{"data volume template", `"dataVolumeTemplates":[{`, `"kind":"DataVolume","extra":1,`},
		{"data volume spec", `"storage":{`, `"accessModes":[],"resources":{"requests":{},"limit":{}},`},
		{"quantity leaf", `"requests":{"storage":"30Gi"`, `,"storage":"31Gi"`},
		{"status", `"created":true`, `"ready":true,"printableStatus":"Stopped","phase":"x",`},
		{"condition", `"conditions":[{`, `"type":"Paused","lastProbeTime":null,"Reason":"x",`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := inject(t, sampleVMJSON(t), tc.anchor, tc.extra)
			want, err := sigsjson.UnmarshalStrict(doc, new(kubevirtv1.VirtualMachine))
			require.NoError(t, err)
			require.NotEmpty(t, want)
			problems, clean := checkVM(t, doc, false)
			assert.ElementsMatch(t, errTexts(want), problems)
			strict, err := sigsjson.UnmarshalStrict([]byte(clean), new(kubevirtv1.VirtualMachine))
			require.NoError(t, err)
			assert.Empty(t, strict, "nothing is left for the strict decoder")
		})
	}
}

// TestRepeatedUnknownField: as for a custom resource, a key that is unknown
// and repeated is reported as both; the strict decoder of typed objects
// skips unknown keys, so it reports them as unknown only.
func TestRepeatedUnknownField(t *testing.T) {
	doc := inject(t, sampleVMJSON(t), `"runStrategy"`, `"bogus":1,"bogus":2,`)
	problems, _ := checkVM(t, doc, false)
	assert.Equal(t, []string{`duplicate field "spec.bogus"`, `unknown field "spec.bogus"`}, problems)
}

func TestPruneStrategicMergePatch(t *testing.T) {
	patch := []byte(`{"metadata":{"labels":{"$patch":"replace","app":"x"}},"spec":{"$retainKeys":["template"],"template":{"spec":{"domain":{"devices":{` +
		`"$setElementOrder/disks":[{"name":"rootdisk"},{"name":"datadisk"}],"disks":[{"name":"scratch","$patch":"delete"},{"name":"datadisk","bootOrder":1}],` +
		`"$setElementOrder/interfaces":[{"name":"default"}],"interfaces":[{"name":"default","dhcpOptions":{"$retainKeys":["ntpServers"],"ntpServers":["10.0.0.3"]}}]}},` +
		`"nodeSelector":{"$patch":"delete"},"$deleteFromPrimitiveList/x":["y"],"$Patch":"x","networks":[{"name":"default","pod":{"$patch":"replace","vmNetworkCidr":"x"}}]}}}}`)
	problems, clean := checkVM(t, patch, true)
	assert.Equal(t, []string{
		`unknown field "spec.template.spec.$Patch"`,
		`unknown field "spec.template.spec.$deleteFromPrimitiveList/x"`,
		`unknown field "spec.template.spec.networks[0].pod.vmNetworkCidr"`,
	}, problems)
	want := string(patch)
	for _, gone := range []string{`"$deleteFromPrimitiveList/x":["y"],`, `"$Patch":"x",`, `,"vmNetworkCidr":"x"`} {
		require.Contains(t, want, gone)
		want = strings.Replace(want, gone, "", 1)
	}
	assert.JSONEq(t, want, clean, "the directives are kept")

	// Outside a strategic merge patch a directive is an unknown field.
	problems, _ = checkVM(t, []byte(`{"spec":{"$patch":"replace","template":{"spec":{"volumes":[{"$patch":"delete","name":"a"}]}}}}`), false)
	assert.Equal(t, []string{`unknown field "spec.$patch"`, `unknown field "spec.template.spec.volumes[0].$patch"`}, problems)
}

func TestSchemaAt(t *testing.T) {
	root, err := vmSchema()
	require.NoError(t, err)
	tests := []struct {
		name, pointer, value string
		wantOK               bool
		wantClean            string
		wantProblems         []string
	}{
		{"the root", "", `{"kind":"VirtualMachine","bogus":1}`, true, `{"kind":"VirtualMachine"}`, []string{`unknown field "bogus"`}},
		{"a struct inside a self-decoding type", "/spec/template/spec/domain", `{"Cpu":{},"cpu":{}}`, true, `{"cpu":{}}`, []string{`unknown field "spec.template.spec.domain.Cpu"`}},
		{"a list element", "/spec/template/spec/volumes/0", `{"name":"a","bogus":true}`, true, `{"name":"a"}`, []string{`unknown field "spec.template.spec.volumes[0].bogus"`}},
		{"a list's end", "/spec/template/spec/volumes/-", `{"bogus":true}`, true, `{}`, []string{`unknown field "spec.template.spec.volumes[-].bogus"`}},
		{"a whole list", "/spec/template/spec/networks", `[{"name":"a","pod":{},"x":1}]`, true, `[{"name":"a","pod":{}}]`, []string{`unknown field "spec.template.spec.networks[0].x"`}},
		{"a duplicate in a list", "/spec/template/spec/networks", `[{"name":"a","name":"b"}]`, true, `[{"name":"b"}]`, []string{`duplicate field "spec.template.spec.networks[0].name"`}},
		{"the metadata", "/metadata", `{"labels":{"a":"b"},"Labels":{}}`, true, `{"labels":{"a":"b"}}`, []string{`unknown field "metadata.Labels"`}},
		{"a map value", "/metadata/labels/app", `"x"`, true, `"x"`, nil},
		{"an escaped map key", "/metadata/annotations/kubevirt.io~1x", `"y"`, true, `"y"`, nil},
		{"a quantity", "/spec/template/spec/domain/resources/requests/memory", `"1Gi"`, true, `"1Gi"`, nil},
		{"an unknown field on the way", "/spec/bogus/x", `{}`, false, "", nil},
		{"an index into an object", "/spec/template/spec/volumes/x", `{}`, false, "", nil},
		{"a relative pointer", "spec", `{}`, false, "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, path, ok := schemaAt(root, tc.pointer)
			require.Equal(t, tc.wantOK, ok)
			if !ok {
				return
			}
			value, problems, err := pruneVM([]byte(tc.value), s, path, false)
			require.NoError(t, err)
			clean, err := json.Marshal(value)
			require.NoError(t, err)
			assert.JSONEq(t, tc.wantClean, string(clean))
			if tc.wantProblems == nil {
				assert.Empty(t, problems)
			} else {
				assert.Equal(t, tc.wantProblems, errTexts(problems))
			}
		})
	}
}

// TestJSONPatchTestOperationSeesTheValueAsSent: a test operation is
// compared with the stored VM as it was sent (RFC 6902), so a value with a
// field the VM cannot have fails, whatever fieldValidation does with the
// fields of the other operations.
func TestJSONPatchTestOperationSeesTheValueAsSent(t *testing.T) {
	stored := sampleVMJSON(t)
	tests := []struct {
		name         string
		patch        string
		wantProblems []string
		wantApplied  bool
	}{
		{"a matching test passes", `[{"op":"test","path":"/spec/template/spec/evictionStrategy","value":"LiveMigrate"},` +
			`{"op":"replace","path":"/spec/runStrategy","value":"Halted"}]`, nil, true},
		{"a test with an unknown field fails", `[{"op":"test","path":"/spec/template/spec/domain/cpu","value":{"cores":2,"sockets":1,"threads":1,"bogus":1}},` +
			`{"op":"replace","path":"/spec/runStrategy","value":"Halted"}]`, nil, false},
		{"a test with a mis-cased key fails", `[{"op":"test","path":"/spec/template/spec/domain/cpu","value":{"Cores":2,"sockets":1,"threads":1}},` +
			`{"op":"replace","path":"/spec/runStrategy","value":"Halted"}]`, nil, false},
		{"an unknown field in a replace is pruned", `[{"op":"replace","path":"/spec/template/spec/domain/cpu","value":{"cores":4,"bogus":1}}]`,
			[]string{`unknown field "spec.template.spec.domain.cpu.bogus"`}, true},
		{"only the replace is pruned", `[{"op":"test","path":"/spec/template/spec/domain/cpu","value":{"cores":2,"bogus":1}},` +
			`{"op":"replace","path":"/spec/template/spec/domain/cpu","value":{"cores":4,"bogus":1}}]`,
			[]string{`unknown field "spec.template.spec.domain.cpu.bogus"`}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clean, problems, err := checkJSONPatch([]byte(tc.patch))
			require.NoError(t, err)
			if tc.wantProblems == nil {
				assert.Empty(t, problems)
			} else {
				assert.Equal(t, tc.wantProblems, errTexts(problems))
			}
			patch, err := jsonpatch.DecodePatch(clean)
			require.NoError(t, err)
			patched, err := patch.Apply(stored)
			if !tc.wantApplied {
				require.Error(t, err, "the test operation fails")
				assert.Contains(t, err.Error(), "test")
				return
			}
			require.NoError(t, err)
			assert.NotContains(t, string(patched), "bogus")
		})
	}
}

func TestStrictVMSerializer(t *testing.T) {
	codecs := newStrictVMSerializer(scheme.Codecs)
	info, ok := runtime.SerializerInfoForMediaType(codecs.SupportedMediaTypes(), runtime.ContentTypeJSON)
	require.True(t, ok)
	yamlInfo, ok := runtime.SerializerInfoForMediaType(codecs.SupportedMediaTypes(), runtime.ContentTypeYAML)
	require.True(t, ok)
	doc := inject(t, sampleVMJSON(t), `"domain":{"resources"`, `"Domain":{},"hostname":"a","hostname":"b",`)

	vm := &kubevirtv1.VirtualMachine{}
	_, _, err := info.StrictSerializer.Decode(doc, nil, vm)
	strictErr, ok := runtime.AsStrictDecodingError(err)
	require.True(t, ok, "%v", err)
	assert.ElementsMatch(t, []string{`unknown field "spec.template.spec.Domain"`, `duplicate field "spec.template.spec.hostname"`}, errTexts(strictErr.Errors()))
	assert.Equal(t, "b", vm.Spec.Template.Spec.Hostname, "the last one wins")

	vm = &kubevirtv1.VirtualMachine{}
	_, _, err = info.Serializer.Decode(doc, nil, vm)
	require.NoError(t, err, "the lenient serializer drops them silently")
	assert.NotEmpty(t, vm.Spec.Template.Spec.Domain.Devices.Disks, "Domain was not read as domain")

	_, _, err = yamlInfo.StrictSerializer.Decode([]byte("apiVersion: kubevirt.io/v1\nkind: VirtualMachine\nmetadata:\n  name: a\n  name: b\nspec:\n  bogus: 1\n"), nil, &kubevirtv1.VirtualMachine{})
	strictErr, ok = runtime.AsStrictDecodingError(err)
	require.True(t, ok, "%v", err)
	texts := errTexts(strictErr.Errors())
	require.Len(t, texts, 2)
	assert.Contains(t, texts[0], `"name" already set in map`)
	assert.Equal(t, `unknown field "spec.bogus"`, texts[1])

	// Other kinds pass untouched.
	_, _, err = info.StrictSerializer.Decode([]byte(`{"apiVersion":"kubevirt.io/v1","kind":"VirtualMachineList","items":[],"bogus":1}`), nil, nil)
	strictErr, ok = runtime.AsStrictDecodingError(err)
	require.True(t, ok, "%v", err)
	assert.Equal(t, []string{`unknown field "bogus"`}, errTexts(strictErr.Errors()))
}
