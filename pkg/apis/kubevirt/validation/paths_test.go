package validation

import (
	"encoding/json"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	virtv1 "kubevirt.io/api/core/v1"
	"sigs.k8s.io/randfill"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt/fuzzer"
	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt/install"
)

var updateResults = flag.Bool("update", false, "record "+resultsFile+" from the current validation instead of checking it")

// resultsFile holds the recorded results of TestLazyPathsKeepResults.
const resultsFile = "testdata/validation-results.json"

// The corpus of TestLazyPathsKeepResults. Changing any of these changes the
// corpus, which then has to be recorded again (a table case added or
// removed does not need that).
const (
	corpusSeed         = 20250611
	fuzzedVMs          = 120
	mutantsPerFuzzedVM = 2
	mutantsPerExample  = 20
	randomVMs          = 10
	maxMutations       = 5
)

// validationResult is what the validation says about one VM, as the error
// strings a client sees.
type validationResult struct {
	Name string `json:"name"`
	// Unordered marks a VM whose errors come in the order of a map, which
	// Go randomizes; its errors are recorded and compared sorted.
	Unordered    bool     `json:"unordered,omitempty"`
	Create       []string `json:"create,omitempty"`
	Update       []string `json:"update,omitempty"`
	StatusUpdate []string `json:"statusUpdate,omitempty"`
}

// corpusCase is one VM to validate: newVM as a create, and as an update
// and a status update of oldVM.
type corpusCase struct {
	name         string
	newVM, oldVM *kubevirt.VirtualMachine
}

// TestLazyPathsKeepResults validates a corpus of VMs, valid ones and ones
// broken in many ways, and checks that the errors are still the recorded
// ones byte for byte: same messages, field paths and order. It guards the
// validation functions' building of field paths only where they report an
// error. Run it with -update to record the results of the current code.
func TestLazyPathsKeepResults(t *testing.T) {
	corpus := validationCorpus(t)
	got := make([]validationResult, len(corpus))
	for i, c := range corpus {
		got[i] = validateCase(c)
	}

	if *updateResults {
		for i, c := range corpus {
			// A VM gets validated again until its errors come in another
			// order, if they can; a two-entry map shows both orders well
			// within these tries.
			for range 200 {
				if !reflect.DeepEqual(validateCase(c), got[i]) {
					got[i].Unordered = true
					sortResult(&got[i])
					break
				}
			}
		}
		data, err := json.MarshalIndent(got, "", "  ")
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(resultsFile, append(data, '\n'), 0o600))
		return
	}
	data, err := os.ReadFile(resultsFile)
	require.NoError(t, err, "record the results with -update")
	var recorded []validationResult
	require.NoError(t, json.Unmarshal(data, &recorded))
	want := map[string]validationResult{}
	for _, r := range recorded {
		want[r.Name] = r
	}
	// A table case added or removed since the recording is only reported:
	// the recorded cases that are still there are compared.
	compared := 0
	for _, g := range got {
		w, ok := want[g.Name]
		if !ok {
			continue
		}
		if w.Unordered {
			g.Unordered = true
			sortResult(&g)
		}
		assert.Equal(t, w, g, "a changed result: if the change is meant, record again with -update")
		compared++
	}
	if compared != len(got) || compared != len(recorded) {
		t.Logf("%d of %d cases compared (%d recorded); record again with -update to compare them all", compared, len(got), len(recorded))
	}
	require.Greater(t, compared, len(recorded)*9/10, "the corpus changed; record it again with -update")
}

// validateCase validates the VMs of c as a create, an update and a status
// update.
func validateCase(c corpusCase) validationResult {
	return validationResult{
		Name:         c.name,
		Create:       errorStrings(ValidateVirtualMachine(c.newVM)),
		Update:       errorStrings(ValidateVirtualMachineUpdate(c.newVM, c.oldVM)),
		StatusUpdate: errorStrings(ValidateVirtualMachineStatusUpdate(c.newVM, c.oldVM)),
	}
}

// sortResult sorts the errors of r.
func sortResult(r *validationResult) {
	slices.Sort(r.Create)
	slices.Sort(r.Update)
	slices.Sort(r.StatusUpdate)
}

func errorStrings(errs field.ErrorList) []string {
	var out []string
	for _, err := range errs {
		out = append(out, err.Error())
	}
	return out
}

// tableTests are the table tests of this package whose cases go into the
// corpus of TestLazyPathsKeepResults.
var tableTests = []struct {
	name string
	run  func(*testing.T)
}{
	{"TestValidateVirtualMachineSpecAndMetadata", TestValidateVirtualMachineSpecAndMetadata},
	{"TestValidateVirtualMachineUpdate", TestValidateVirtualMachineUpdate},
	{"TestValidateVirtualMachineStatusUpdate", TestValidateVirtualMachineStatusUpdate},
	{"TestValidateDataVolumeTemplates", TestValidateDataVolumeTemplates},
	{"TestValidateVolumes", TestValidateVolumes},
	{"TestValidateCloudInit", TestValidateCloudInit},
	{"TestValidateDisks", TestValidateDisks},
	{"TestValidateBlockSize", TestValidateBlockSize},
	{"TestValidateNetworks", TestValidateNetworks},
	{"TestValidateInterfaces", TestValidateInterfaces},
	{"TestValidateResourcesAndMemory", TestValidateResourcesAndMemory},
	{"TestValidateCPU", TestValidateCPU},
	{"TestValidateFirmware", TestValidateFirmware},
	{"TestValidateLaunchSecurity", TestValidateLaunchSecurity},
	{"TestValidateDevices", TestValidateDevices},
	{"TestValidateResourceClaims", TestValidateResourceClaims},
	{"TestValidateScheduling", TestValidateScheduling},
	{"TestValidateNamesAndDNS", TestValidateNamesAndDNS},
	{"TestValidateLifecycle", TestValidateLifecycle},
	{"TestValidateAccessCredentials", TestValidateAccessCredentials},
}

// validationCorpus returns the VMs of TestLazyPathsKeepResults: the cases
// of the table tests, the examples of this package, the fuzz seeds, valid
// VMs of the fuzzer, mutants of both kinds of valid VM and VMs filled at
// random.
func validationCorpus(t *testing.T) []corpusCase {
	t.Helper()
	var corpus []corpusCase

	// The table tests run again to hand over their cases. A create case is
	// also validated as an update of itself.
	tableCaseSink = func(tc *testing.T, newVM, oldVM *kubevirt.VirtualMachine) {
		newVM = newVM.DeepCopy()
		if oldVM == nil {
			newVM.ResourceVersion = "1"
			oldVM = newVM
		}
		corpus = append(corpus, corpusCase{
			name:  "table/" + strings.TrimPrefix(tc.Name(), t.Name()+"/"),
			newVM: newVM, oldVM: oldVM.DeepCopy(),
		})
	}
	defer func() { tableCaseSink = nil }()
	for _, test := range tableTests {
		t.Run(test.name, test.run)
	}

	r := rand.New(rand.NewSource(corpusSeed)) //nolint:gosec // a reproducible corpus
	m := newMutator(r)
	// addWithMutants adds vm unchanged and n mutants of it, each an update
	// of vm.
	addWithMutants := func(name string, vm *kubevirt.VirtualMachine, n int) {
		vm.ResourceVersion = "1"
		corpus = append(corpus, corpusCase{name: name, newVM: vm.DeepCopy(), oldVM: vm})
		for i := range n {
			corpus = append(corpus, corpusCase{name: fmt.Sprintf("%s/mutant-%d", name, i), newVM: m.mutant(vm), oldVM: vm})
		}
	}

	examples := []struct {
		name  string
		build func() *kubevirt.VirtualMachine
	}{
		{"cirros", cirrosVM}, {"minimal", minimalCirrosVM}, {"instancetype", instancetypeVM},
		{"passthrough", passthroughVM}, {"legacy", legacyVM}, {"multus", multusVM},
		{"kernelBoot", kernelBootVM}, {"realtime", realtimeVM}, {"confidential", confidentialVM},
		{"hotplug", hotplugVM}, {"dra", draVM},
	}
	for _, ex := range examples {
		addWithMutants("example/"+ex.name, ex.build(), mutantsPerExample)
	}

	scheme := runtime.NewScheme()
	install.Install(scheme)
	for i, seed := range fuzzSeeds {
		external := &virtv1.VirtualMachine{}
		require.NoError(t, json.Unmarshal([]byte(seed), external))
		scheme.Default(external)
		vm := &kubevirt.VirtualMachine{}
		require.NoError(t, scheme.Convert(external, vm, nil))
		addWithMutants(fmt.Sprintf("fuzzSeed/%d", i), vm, 0)
	}

	for i := range fuzzedVMs {
		vm := fuzzer.ValidVirtualMachine(corpusSeed, i)
		addWithMutants(fmt.Sprintf("fuzzed/%d", i), &kubevirt.VirtualMachine{ObjectMeta: vm.ObjectMeta, Spec: vm.Spec, Status: vm.Status},
			mutantsPerFuzzedVM)
	}

	for i := range randomVMs {
		vm := &kubevirt.VirtualMachine{}
		m.fill(reflect.ValueOf(vm).Elem(), 20)
		addWithMutants(fmt.Sprintf("random/%d", i), vm, 0)
	}
	return corpus
}

// Values a mutation picks from: ones that the rules single out, and ones
// that break them.
var (
	stringPool = []string{
		"", "a", "vm", "default", "Bad Name", "UPPER", "x_y", "-x", "a.b", "a/b", "../etc", "/", "/a/../b", "/boot/vmlinuz",
		strings.Repeat("a", 300), strings.Repeat("k", 70) + "/v", "kubevirt.io/created-by", "kubevirt.io/vm",
		"TCP", "UDP", "SCTP", "virtio", "sata", "scsi", "usb", "ide", "e1000", "ich9", "tablet", "keyboard",
		"Always", "Halted", "Manual", "RerunOnFailure", "Once", "Paused", "Nope",
		"None", "Default", "ClusterFirst", "Exists", "Equal", "In", "NotIn", "Gt", "DoesNotExist",
		"NoExecute", "NoSchedule", "DoNotSchedule", "ScheduleAnyway", "amd64", "arm64", "s390x", "ppc64le",
		"Absent", "up", "down", "1Gi", "2Mi", "0000:81:01.0", "0000:81:01", "02:00:00:00:00:00",
		"02:00:00:00:00:01", "00:11:22:33:44:55:66:77", "not base64!", "SGkK", "metadata.name", "10.0.0.1", "::1",
		"example.com", "none", "writethrough", "native", "threads", "stop", "enospace", "force", "require",
		"shared", "auto", "supplementalPool", "LiveMigrate", "External", "DiskOrCreate", "Disk", "Reject",
		"Ignore", "Start", "Stop", "True", "False", "Unknown", "Maybe", "Running", "FieldsV1", "Apply", "Update",
	}
	intPool      = []int64{0, 1, 2, 3, -1, 7, 224, 300, 512, 1000, 4096, 70000, 2097152, 3000000}
	quantityPool = []string{"-1", "0", "1", "2", "500m", "1500m", "512Ki", "1M", "100Mi", "128Mi", "1Gi", "3Gi", "2Mi"}
	quantityType = reflect.TypeFor[resource.Quantity]()
)

// mutator breaks valid VMs at random places, and fills values at random,
// with the values of the pools and its VM's own strings, so that names
// collide. Everything it does depends on its random source only.
type mutator struct {
	r *rand.Rand
	// strings are the strings of the VM being mutated.
	strings []string
}

func newMutator(r *rand.Rand) *mutator {
	return &mutator{r: r}
}

// mutant returns a copy of vm with one to maxMutations mutations.
func (m *mutator) mutant(vm *kubevirt.VirtualMachine) *kubevirt.VirtualMachine {
	out := vm.DeepCopy()
	root := reflect.ValueOf(out).Elem()
	for range 1 + m.r.Intn(maxMutations) {
		var slots []reflect.Value
		m.strings = m.strings[:0]
		m.collect(root, &slots)
		// Lists and optional fields are few among the leaves; they get a
		// fair share of the mutations, since most rules are about them.
		if m.r.Intn(5) < 2 {
			slots = slices.DeleteFunc(slots, func(v reflect.Value) bool {
				return v.Kind() != reflect.Pointer && v.Kind() != reflect.Slice && v.Kind() != reflect.Map
			})
		}
		m.mutate(slots[m.r.Intn(len(slots))])
	}
	return out
}

// collect appends the places of v that a mutation can change, and records
// its strings. Maps count as one place each and are not entered, so that
// the walk does not depend on their order.
func (m *mutator) collect(v reflect.Value, slots *[]reflect.Value) {
	if v.Type() == quantityType {
		*slots = append(*slots, v)
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		*slots = append(*slots, v)
		if !v.IsNil() {
			m.collect(v.Elem(), slots)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Field(i).CanSet() {
				m.collect(v.Field(i), slots)
			}
		}
	case reflect.Slice:
		*slots = append(*slots, v)
		if v.Type().Elem().Kind() != reflect.Uint8 {
			for i := range v.Len() {
				m.collect(v.Index(i), slots)
			}
		}
	case reflect.String:
		*slots = append(*slots, v)
		if v.String() != "" {
			m.strings = append(m.strings, v.String())
		}
	case reflect.Map, reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		*slots = append(*slots, v)
	}
}

// mutate changes the value at v.
func (m *mutator) mutate(v reflect.Value) {
	if v.Type() == quantityType {
		v.Set(reflect.ValueOf(m.quantity()))
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			v.Set(reflect.Zero(v.Type()))
			return
		}
		v.Set(reflect.New(v.Type().Elem()))
		if m.r.Intn(2) == 0 {
			m.fill(v.Elem(), 6)
		}
	case reflect.Slice:
		n := v.Len()
		out := reflect.MakeSlice(v.Type(), 0, n+1)
		switch op := m.r.Intn(3); {
		case n > 0 && op == 0: // drop one
			i := m.r.Intn(n)
			out = reflect.AppendSlice(reflect.AppendSlice(out, v.Slice(0, i)), v.Slice(i+1, n))
		case n > 0 && op == 1: // repeat one
			out = reflect.Append(reflect.AppendSlice(out, v), v.Index(m.r.Intn(n)))
		default: // add one
			elem := reflect.New(v.Type().Elem()).Elem()
			if m.r.Intn(2) == 0 {
				m.fill(elem, 6)
			}
			out = reflect.Append(reflect.AppendSlice(out, v), elem)
		}
		v.Set(out)
	case reflect.Map:
		// A map gets at most one entry, so that the errors about it come in
		// one order.
		if m.r.Intn(4) == 0 {
			v.Set(reflect.Zero(v.Type()))
			return
		}
		key, val := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		m.fill(key, 4)
		m.fill(val, 4)
		out := reflect.MakeMapWithSize(v.Type(), 1)
		out.SetMapIndex(key, val)
		v.Set(out)
	case reflect.String:
		v.SetString(m.string())
	case reflect.Bool:
		v.SetBool(!v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if n := m.int(); !v.OverflowInt(n) {
			v.SetInt(n)
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if n := m.int(); n >= 0 && !v.OverflowUint(uint64(n)) {
			v.SetUint(uint64(n))
		}
	}
}

// fill fills v at random down to depth levels, then draws its strings,
// numbers and quantities from the pools and leaves at most one entry in
// each map.
func (m *mutator) fill(v reflect.Value, depth int) {
	f := randfill.New().NilChance(.4).NumElements(1, 2).MaxDepth(depth).
		RandSource(rand.NewSource(m.r.Int63())) //nolint:gosec // a reproducible corpus
	f.Fill(v.Addr().Interface())
	m.normalize(v)
}

// normalize replaces the random leaves of a filled value by pool values
// and trims its maps to their smallest key.
func (m *mutator) normalize(v reflect.Value) {
	if v.Type() == quantityType {
		v.Set(reflect.ValueOf(m.quantity()))
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			m.normalize(v.Elem())
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Field(i).CanSet() {
				m.normalize(v.Field(i))
			}
		}
	case reflect.Slice:
		for i := range v.Len() {
			m.normalize(v.Index(i))
		}
	case reflect.Map:
		if v.Len() == 0 {
			return
		}
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
		key, val := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		key.Set(keys[0])
		val.Set(v.MapIndex(keys[0]))
		m.normalize(key)
		m.normalize(val)
		out := reflect.MakeMapWithSize(v.Type(), 1)
		out.SetMapIndex(key, val)
		v.Set(out)
	case reflect.String:
		v.SetString(m.string())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		m.mutate(v)
	}
}

// string returns a pool string or, one time in three, a string of the VM.
func (m *mutator) string() string {
	if len(m.strings) > 0 && m.r.Intn(3) == 0 {
		return m.strings[m.r.Intn(len(m.strings))]
	}
	return stringPool[m.r.Intn(len(stringPool))]
}

func (m *mutator) int() int64 { return intPool[m.r.Intn(len(intPool))] }

func (m *mutator) quantity() resource.Quantity {
	return resource.MustParse(quantityPool[m.r.Intn(len(quantityPool))])
}
