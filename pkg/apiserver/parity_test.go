package apiserver

import (
	"encoding/json"
	"fmt"
	"maps"
	"math/rand"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	kubevirtv1 "kubevirt.io/api/core/v1"
	sigsjson "sigs.k8s.io/json"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt/fuzzer"
	"github.com/vm-apiserver/vm-apiserver/pkg/fieldcheck"
)

// FuzzPruneParity compares pruning with the checker it replaces on every
// document that decodes into a VirtualMachine: the same unknown and
// duplicate fields, and the same VM left once they are removed. Where
// pruning follows kube-apiserver's custom resources rather than the typed
// decoder, the difference is allowed: a repeated unknown key is a duplicate
// too, and what a duplicate replaces or an unknown field holds is not
// looked at.
func FuzzPruneParity(f *testing.F) {
	sample := sampleVMJSON(f)
	for _, extra := range []struct{ anchor, extra string }{
		{`"domain":{"resources"`, `"Domain":{},`},
		{`"disks":[{"name":"rootdisk","disk":{"bus":"virtio"}`, `,"foo":1`},
		{`"evictionStrategy":"LiveMigrate"`, `"evictionStrategy":"None",`},
		{`"vmNetworkCIDR"`, `"vmNetworkCidr":"10.1.0.0/24",`},
		{`"bootFileName"`, `"ntpservers":[],"bootFileName":"x",`},
		{`"name":"vm-sample"`, `"nam":"x","name":"other",`},
		{`"spec":{`, `"running":true,"bogus":{"x":1},"runStrategy":"Halted",`},
		{`"conditions":[{`, `"type":"Paused","lastProbeTime":null,"Reason":"x",`},
		{`"requests":{"storage":"30Gi"`, `,"storage":"31Gi"`},
	} {
		f.Add(inject(f, sample, extra.anchor, extra.extra), false)
	}
	f.Add(sample, false)
	f.Add([]byte(`{"spec":{"$patch":"replace","template":{"spec":{"$setElementOrder/volumes":[{"name":"a"}],"volumes":[{"name":"a","$patch":"delete"}],"$retainKeys":[]}}}}`), true)
	f.Add([]byte(`{"kind":"VirtualMachine","metadata":{"name":"a","labels":{"a":"1","a":"2","\u0061":"3"}},`+
		`"spec":{"runStrategy":"Always","bogus":1,"template":{"spec":{"Domain":{},"domain":{"cpu":{"cores":2},"devices":{"disks":[{"name":"a","name":"b","x":1,"disk":{"bus":"virtio"}}],`+
		`"interfaces":[{"name":"default","masquerade":{},"dhcpOptions":{"ntpServers":["1.1.1.1"],"NTPServers":[]}}]}},`+
		`"networks":[{"name":"default","pod":{"vmNetworkCIDR":"10.0.0.0/24","vmnetworkcidr":""}}]}}}}`), false)
	s, err := vmSchema()
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, data []byte, smp bool) {
		var typed kubevirtv1.VirtualMachine
		if !smp && sigsjson.UnmarshalCaseSensitivePreserveInts(data, &typed) != nil {
			return // malformed, or of the wrong types: the decoder refuses it either way
		}
		mode := fieldcheck.Object
		if smp {
			mode = fieldcheck.StrategicMergePatch
		}
		oldClean, oldProblems, oldErr := legacyVMFields.Check(data, mode)
		value, newProblems, newErr := pruneVM(data, s, nil, smp)
		require.Equal(t, oldErr == nil, newErr == nil, "old %v, new %v", oldErr, newErr)
		if oldErr != nil {
			return
		}
		if smp {
			var obj any
			if json.Unmarshal(data, &obj) != nil {
				return
			}
		}
		if len(oldProblems) >= 100 {
			return // the old checker stops at 100
		}
		compareParity(t, data, smp, oldClean, oldProblems, value, newProblems)
	})
}

// problemSet maps "unknown <path>" and "duplicate <path>" to true.
func problemSet(problems []error) map[string]bool {
	out := map[string]bool{}
	for _, p := range problems {
		kind, quoted, _ := strings.Cut(p.Error(), " field ")
		out[kind+" "+strings.Trim(quoted, `"`)] = true
	}
	return out
}

// below reports whether path lies inside one of parents.
func below(path string, parents []string) bool {
	return slices.ContainsFunc(parents, func(p string) bool {
		return strings.HasPrefix(path, p+".") || strings.HasPrefix(path, p+"[")
	})
}

// compareParity compares the old checker's answer for data with pruning's.
func compareParity(t *testing.T, data []byte, smp bool, oldClean []byte, oldProblems []error, value any, newProblems []error) {
	t.Helper()
	if !smp && sigsjson.UnmarshalCaseSensitivePreserveInts(data, new(kubevirtv1.VirtualMachine)) != nil {
		return // of the wrong types: the decoder refuses it either way
	}
	oldSet, newSet := problemSet(oldProblems), problemSet(newProblems)
	var unknown, duplicate []string
	for p := range newSet {
		if path, ok := strings.CutPrefix(p, "unknown "); ok {
			unknown = append(unknown, path)
		}
		if path, ok := strings.CutPrefix(p, "duplicate "); ok {
			duplicate = append(duplicate, path)
		}
	}
	for p := range newSet {
		// The old checker did not look inside the managed fields' trie,
		// which decodes itself.
		if path, ok := strings.CutPrefix(p, "duplicate "); ok && (newSet["unknown "+path] || below(path, unknown) || strings.Contains(path, ".fieldsV1.")) {
			delete(newSet, p)
		}
		if _, path, _ := strings.Cut(p, " "); below(path, duplicate) {
			delete(newSet, p)
		}
	}
	for p := range oldSet {
		_, path, _ := strings.Cut(p, " ")
		if below(path, duplicate) || below(path, unknown) {
			delete(oldSet, p)
		}
	}
	require.Equal(t, oldSet, newSet, "doc %.300q", data)
	if smp || len(duplicate) > 0 {
		return
	}
	newClean, err := json.Marshal(value)
	require.NoError(t, err)
	var fromOld, fromNew kubevirtv1.VirtualMachine
	require.NoError(t, sigsjson.UnmarshalCaseSensitivePreserveInts(oldClean, &fromOld))
	require.NoError(t, sigsjson.UnmarshalCaseSensitivePreserveInts(newClean, &fromNew))
	require.Equal(t, fromOld, fromNew, "doc %.300q", data)
}

// TestPruneParityOnFuzzedVMs puts unknown, mis-cased and duplicate keys at
// random places of VMs that set every field, across a few hundred, and
// compares pruning with the old checker.
func TestPruneParityOnFuzzedVMs(t *testing.T) {
	s, err := vmSchema()
	require.NoError(t, err)
	rng := rand.New(rand.NewSource(20261207))
	for i := range parityRuns {
		vm := fuzzer.ValidVirtualMachine(7, i)
		vm.Status = *fuzzer.ValidVirtualMachineStatus(7, i)
		raw, err := json.Marshal(vm)
		require.NoError(t, err)
		var doc map[string]any
		require.NoError(t, json.Unmarshal(raw, &doc))
		var objects []map[string]any
		var collect func(x any)
		collect = func(x any) {
			switch x := x.(type) {
			case map[string]any:
				objects = append(objects, x)
				for _, v := range x {
					collect(v)
				}
			case []any:
				for _, v := range x {
					collect(v)
				}
			}
		}
		collect(doc)
		dupKey := ""
		for n := range 3 {
			o := objects[rng.Intn(len(objects))]
			keys := slices.Sorted(maps.Keys(o))
			switch {
			case n == 0 || len(keys) == 0:
				o[fmt.Sprintf("unknown%d", n)] = map[string]any{"x": n}
			case n == 1:
				if k := keys[rng.Intn(len(keys))]; k != "" {
					o[strings.ToUpper(k[:1])+k[1:]] = o[k]
				}
			case dupKey == "":
				k := keys[rng.Intn(len(keys))]
				o["zzzzduplicate"] = o[k]
				dupKey = k
			}
		}
		data, err := json.Marshal(doc)
		require.NoError(t, err)
		if dupKey != "" {
			data = []byte(strings.Replace(string(data), `"zzzzduplicate":`, strconv.Quote(dupKey)+":", 1))
		}
		oldClean, oldProblems, err := legacyVMFields.Check(data, fieldcheck.Object)
		require.NoError(t, err)
		value, newProblems, err := pruneVM(data, s, nil, false)
		require.NoError(t, err)
		compareParity(t, data, false, oldClean, oldProblems, value, newProblems)
	}
}

var parityRuns = 300
