package fieldcheck

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	virtv1 "kubevirt.io/api/core/v1"
	sigsjson "sigs.k8s.io/json"
)

func TestSampleVM(t *testing.T) {
	doc := sampleVMJSON(t)
	assert.True(t, len(doc) >= 5<<10 && len(doc) <= 10<<10, "sample is %d bytes", len(doc))
	clean, problems, err := vmChecker.Check(doc, Object)
	require.NoError(t, err)
	assert.Empty(t, problems)
	assert.True(t, sameBacking(doc, clean))
}

// Problems under the types with their own UnmarshalJSON, which the strict
// decoder cannot see.
func TestVMTransparentTypes(t *testing.T) {
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
			strict, err := sigsjson.UnmarshalStrict(doc, new(virtv1.VirtualMachine))
			require.NoError(t, err)
			assert.Empty(t, strict, "the strict decoder misses these")

			clean, problems, err := vmChecker.Check(doc, Object)
			require.NoError(t, err)
			assert.Equal(t, tc.want, errTexts(problems))
			assert.JSONEq(t, string(sampleVMJSON(t)), string(clean), "only the injected members are gone")
		})
	}
}

// Problems outside spec.template.spec, where the strict decoder sees them:
// the checker must say exactly the same.
func TestVMMatchesStrictDecoder(t *testing.T) {
	cases := []struct{ name, anchor, extra string }{
		{"root", `"apiVersion"`, `"Kind":"x","apiVersion":"v0",`},
		{"metadata", `"name":"vm-sample"`, `"nam":"x","name":"other",`},
		{"label duplicate", `"app":"sample"`, `"app":"other",`},
		{"spec", `"spec":{`, `"running":true,"bogus":{"x":1},"runStrategy":"Halted",`},
		{"template metadata", `"template":{"metadata":{`, `"generateName":"a","generateName":"b","x":[1],`},
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
			clean, problems, err := vmChecker.Check(doc, Object)
			require.NoError(t, err)
			want := sigsProblems[virtv1.VirtualMachine](t, doc)
			require.NotEmpty(t, want)
			assert.Equal(t, want, errTexts(problems))
			assert.Empty(t, sigsProblems[virtv1.VirtualMachine](t, clean))

			var fromDoc, fromClean virtv1.VirtualMachine
			require.NoError(t, sigsjson.UnmarshalCaseSensitivePreserveInts(doc, &fromDoc))
			require.NoError(t, sigsjson.UnmarshalCaseSensitivePreserveInts(clean, &fromClean))
			assert.Equal(t, fromDoc, fromClean)
		})
	}
}

func TestVMLeavesAreNotLookedAt(t *testing.T) {
	// creationTimestamp is a metav1.Time and its value a string; an object
	// there is the decoder's business, so nothing inside it is reported.
	doc := inject(t, sampleVMJSON(t), `"name":"vm-sample"`, `"creationTimestamp":{"a":1,"a":2},`)
	clean, problems, err := vmChecker.Check(doc, Object)
	require.NoError(t, err)
	assert.Empty(t, problems)
	assert.True(t, sameBacking(doc, clean))
}
