package fieldcheck

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	virtv1 "kubevirt.io/api/core/v1"
	sigsjson "sigs.k8s.io/json"
)

func FuzzCheck(f *testing.F) {
	// Small seeds: the fuzzer minimizes every new input it finds, which takes
	// long for inputs of the sample's size.
	for _, seed := range []string{
		`{}`,
		`{"kind":"VirtualMachine","metadata":{"name":"a","labels":{"a":"1","a":"2","\u0061":"3"},"creationTimestamp":{"x":1}},` +
			`"spec":{"runStrategy":"Always","bogus":1,"dataVolumeTemplates":[{"metadata":{"name":"d"},"spec":{"storage":{"resources":{"requests":{"storage":"1Gi"}}}}}],` +
			`"template":{"spec":{"Domain":{},"domain":{"cpu":{"cores":2},"devices":{"disks":[{"name":"a","name":"b","x":1,"disk":{"bus":"virtio"}}],` +
			`"interfaces":[{"name":"default","masquerade":{},"dhcpOptions":{"ntpServers":["1.1.1.1"],"NTPServers":[]}}]}},` +
			`"networks":[{"name":"default","pod":{"vmNetworkCIDR":"10.0.0.0/24","vmnetworkcidr":""}}],"volumes":[{"name":"a","dataVolume":{"name":"d"}}]}}},` +
			`"status":{"conditions":[{"type":"x","Type":"y","lastTransitionTime":null}]}}`,
		`{"spec":{"$patch":"replace","template":{"spec":{"$setElementOrder/volumes":[{"name":"a"}],"volumes":[{"name":"a","$patch":"delete"}],"$retainKeys":[]}}}}`,
		`[1,{"a":1},"x",null,true,-0.5e+3]`,
	} {
		f.Add([]byte(seed), false)
		f.Add([]byte(seed), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, smp bool) {
		mode := Object
		if smp {
			mode = StrategicMergePatch
		}
		clean, problems, err := vmChecker.Check(data, mode)
		if err != nil {
			require.False(t, json.Valid(data), "rejected valid JSON: %v", err)
			require.Nil(t, clean)
			require.Nil(t, problems)
			return
		}
		require.True(t, json.Valid(data), "accepted malformed JSON")
		require.True(t, json.Valid(clean), "clean is malformed: %q", clean)
		require.Equal(t, len(problems) == 0, sameBacking(data, clean), "a copy exactly when something was removed")

		again, more, err := vmChecker.Check(clean, mode)
		require.NoError(t, err)
		assert.Empty(t, more, "clean %q", clean)
		assert.True(t, sameBacking(clean, again))

		if mode == Object {
			strict, _ := sigsjson.UnmarshalStrict(clean, new(virtv1.VirtualMachine))
			assert.Empty(t, strict, "clean %q", clean)
		}
	})
}

// plainTreeChecker sees the test tree as the strict decoder does: tTrans is a leaf.
var plainTreeChecker = NewChecker(reflect.TypeFor[tRoot]())

// FuzzStrictParity compares the checker with the strict decoder on any
// document the decoder accepts: same problems in the same order, and, when no
// object was duplicated, the clean document decodes to the same value.
func FuzzStrictParity(f *testing.F) {
	for _, tc := range objectCases {
		f.Add([]byte(tc.doc))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var fromDoc tRoot
		strict, err := sigsjson.UnmarshalStrict(data, &fromDoc)
		if err != nil {
			return // malformed, or a type error: the decoder stops there
		}
		clean, problems, err := plainTreeChecker.Check(data, Object)
		require.NoError(t, err)
		require.Equal(t, errTexts(strict), errTexts(problems))
		for _, p := range problems {
			var fe *FieldError
			if errors.As(p, &fe) && fe.Kind == DuplicateField {
				return // duplicated objects merge in the decoder
			}
		}
		var fromClean tRoot
		require.NoError(t, sigsjson.UnmarshalCaseSensitivePreserveInts(clean, &fromClean))
		require.Equal(t, fromDoc, fromClean)
	})
}
