package fuzzer

import (
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	virtv1 "kubevirt.io/api/core/v1"
)

// uncoverable lists the field paths (and everything below them) that no
// valid VM can set, with the reason.
var uncoverable = map[string]string{
	// KubeVirt only ever adds utility volumes to a running instance by
	// hotplug; a VM template that declares any is refused.
	"spec.template.spec.utilityVolumes": "refused in any VM template",
	// Bindings removed from KubeVirt; the fields only remain so that old
	// objects decode, and a VM using them is refused.
	"spec.template.spec.domain.devices.interfaces[].slirp":   "discontinued binding",
	"spec.template.spec.domain.devices.interfaces[].macvtap": "discontinued binding",
	"spec.template.spec.domain.devices.interfaces[].passt":   "discontinued binding",
	// A volume request hotplugs a disk or a LUN; CD-ROMs are hotplugged
	// through the spec instead.
	"status.volumeRequests[].addVolumeOptions.disk.cdrom": "refused in a volume request",
}

// jsonLeaf reports whether t writes itself as a JSON scalar or free-form
// value, so that its Go fields are no JSON paths.
func jsonLeaf(t reflect.Type) bool {
	marshaler := reflect.TypeOf((*json.Marshaler)(nil)).Elem()
	return t.Implements(marshaler) || reflect.PointerTo(t).Implements(marshaler)
}

// jsonField returns the JSON name of a struct field and whether it is
// inlined into its parent; skip is set for fields JSON never writes.
func jsonField(sf reflect.StructField) (name string, inline, skip bool) {
	if !sf.IsExported() {
		return "", false, true
	}
	tag := sf.Tag.Get("json")
	if tag == "-" {
		return "", false, true
	}
	name, opts, _ := strings.Cut(tag, ",")
	if strings.Contains(","+opts+",", ",inline,") || (sf.Anonymous && name == "") {
		return "", true, false
	}
	if name == "" {
		name = sf.Name
	}
	return name, false, false
}

// fieldPaths adds to out the JSON path of every struct field reachable from
// t under prefix. Elements of lists are written "[]" and values of maps
// "{}". A type already twice on the current branch is not entered again,
// which bounds recursive types.
func fieldPaths(t reflect.Type, prefix string, stack map[reflect.Type]int, out map[string]bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if jsonLeaf(t) || stack[t] >= 2 {
		return
	}
	stack[t]++
	defer func() { stack[t]-- }()
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() != reflect.Uint8 {
			fieldPaths(t.Elem(), prefix+"[]", stack, out)
		}
	case reflect.Map:
		fieldPaths(t.Elem(), prefix+"{}", stack, out)
	case reflect.Struct:
		for i := range t.NumField() {
			sf := t.Field(i)
			name, inline, skip := jsonField(sf)
			switch {
			case skip:
			case inline:
				fieldPaths(sf.Type, prefix, stack, out)
			default:
				path := joinPath(prefix, name)
				out[path] = true
				fieldPaths(sf.Type, path, stack, out)
			}
		}
	}
}

func joinPath(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// setPaths adds to out the paths of t that hold a non-empty value in the
// decoded JSON v: a non-zero scalar, a non-empty list or any object, even
// {} (an empty object is how marker fields such as bridge are set).
func setPaths(t reflect.Type, v interface{}, prefix string, out map[string]bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if v == nil || jsonLeaf(t) {
		return
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		list, _ := v.([]interface{})
		for _, el := range list {
			setPaths(t.Elem(), el, prefix+"[]", out)
		}
	case reflect.Map:
		m, _ := v.(map[string]interface{})
		for _, el := range m {
			setPaths(t.Elem(), el, prefix+"{}", out)
		}
	case reflect.Struct:
		m, _ := v.(map[string]interface{})
		for i := range t.NumField() {
			sf := t.Field(i)
			name, inline, skip := jsonField(sf)
			switch {
			case skip:
			case inline:
				setPaths(sf.Type, m, prefix, out)
			default:
				if val, ok := m[name]; ok && nonEmpty(val) {
					path := joinPath(prefix, name)
					out[path] = true
					setPaths(sf.Type, val, path, out)
				}
			}
		}
	}
}

func nonEmpty(v interface{}) bool {
	switch x := v.(type) {
	case nil:
		return false
	case string:
		return x != ""
	case float64:
		return x != 0
	case bool:
		return x
	case []interface{}:
		return len(x) > 0
	}
	return true
}

// isUncoverable reports whether path is, or is below, a listed path.
func isUncoverable(path string) bool {
	for p := range uncoverable {
		if path == p || strings.HasPrefix(path, p+".") || strings.HasPrefix(path, p+"[]") || strings.HasPrefix(path, p+"{}") {
			return true
		}
	}
	return false
}

// TestEveryFieldIsSet checks that across objectsPerSeed VMs of one seed,
// every JSON field path of the spec and the status is set at least once,
// apart from the listed ones, and that none of those is ever set.
func TestEveryFieldIsSet(t *testing.T) {
	vmType := reflect.TypeOf(virtv1.VirtualMachine{})
	all := map[string]bool{}
	fieldPaths(vmType, "", map[reflect.Type]int{}, all)

	covered := map[string]bool{}
	for i := range objectsPerSeed {
		vm := ValidVirtualMachine(1, i)
		vm.Status = *ValidVirtualMachineStatus(1, i)
		data, err := json.Marshal(vm)
		require.NoError(t, err)
		var decoded interface{}
		require.NoError(t, json.Unmarshal(data, &decoded))
		setPaths(vmType, decoded, "", covered)
	}

	var missing, unexpected []string
	total := 0
	for path := range all {
		if !strings.HasPrefix(path, "spec.") && !strings.HasPrefix(path, "status.") {
			continue
		}
		total++
		switch {
		case isUncoverable(path) && covered[path]:
			unexpected = append(unexpected, path)
		case !isUncoverable(path) && !covered[path]:
			missing = append(missing, path)
		}
	}
	sort.Strings(missing)
	sort.Strings(unexpected)
	t.Logf("%d field paths under spec and status", total)
	assert.Greater(t, total, 800, "the enumeration found too few paths to be right")
	assert.Empty(t, missing, "field paths never set")
	assert.Empty(t, unexpected, "field paths listed as uncoverable but set")
	for p := range uncoverable {
		assert.True(t, all[p], "listed path %s does not exist", p)
	}
}
