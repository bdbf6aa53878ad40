package storage

import (
	"bytes"
	"sort"
	"sync"
	"time"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/managedfields"
	kubevirtv1 "kubevirt.io/api/core/v1"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"github.com/vm-apiserver/vm-apiserver/pkg/api/scheme"
	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
	"github.com/vm-apiserver/vm-apiserver/pkg/registry/virtualmachine"
)

// The only fields an action can change (see Decide).
var (
	runningPath     = fieldpath.MakePathOrDie("spec", "running")
	runStrategyPath = fieldpath.MakePathOrDie("spec", "runStrategy")
	requestsPath    = fieldpath.MakePathOrDie("status", "stateChangeRequests")
)

// maxUpdateManagers is how many Update entries the generic field manager
// keeps before it folds the oldest together; past it, the shortcut defers.
const maxUpdateManagers = 10

// fieldTracker records in metadata.managedFields which manager changed
// which fields; *managedfields.FieldManager is one.
type fieldTracker interface {
	UpdateNoErrors(liveObj, newObj runtime.Object, manager string) runtime.Object
}

// newActionFieldTracker returns the tracker that records what the actions
// change, under the caller's manager name, so that a later server-side
// apply of spec.runStrategy by another manager conflicts instead of silently
// undoing an action.
//
// It is the generic field manager, built as the generic server builds the
// one of virtualmachines (from the OpenAPI models, so list merge keys and
// atomic fields are those of server-side apply), behind a fast path. The
// fast path records an action's changes by editing metadata.managedFields
// directly, which costs a few small JSON decodes instead of the generic
// manager's conversion of both VMs to typed values (docs/performance.md has
// the figures). It gives the same entries as the generic manager, to which
// it defers whenever its assumptions do not hold: a VM without managed
// fields, a field an action removes, many managers, or entries of another
// format or version. Tests hold the two to the same results.
func newActionFieldTracker(typeConverter managedfields.TypeConverter) (fieldTracker, error) {
	generic, err := newGenericFieldManager(typeConverter)
	if err != nil {
		return nil, err
	}
	return &actionFieldTracker{generic: generic, now: time.Now, sets: newSetCache()}, nil
}

// newGenericFieldManager is k8s.io/apimachinery's field manager for the
// actions' updates of kubevirt.io/v1 VirtualMachines.
func newGenericFieldManager(typeConverter managedfields.TypeConverter) (*managedfields.FieldManager, error) {
	return managedfields.NewDefaultFieldManager(
		typeConverter,
		runtime.UnsafeObjectConvertor(scheme.Scheme),
		scheme.Scheme,
		scheme.Scheme,
		vmKind,
		kubevirt.SchemeGroupVersion,
		"",
		fieldpath.NewExcludeFilterSetMap(virtualmachine.ActionStrategy.GetResetFields()),
	)
}

type actionFieldTracker struct {
	generic fieldTracker
	now     func() time.Time
	// sets parses the entries' JSON; nil parses every time.
	sets *setCache
}

// UpdateNoErrors moves ownership of the fields that differ between liveObj
// and newObj to manager, as an Update of kubevirt.io/v1.
func (t *actionFieldTracker) UpdateNoErrors(liveObj, newObj runtime.Object, manager string) runtime.Object {
	live, okLive := liveObj.(*kubevirt.VirtualMachine)
	out, okOut := newObj.(*kubevirt.VirtualMachine)
	if !okLive || !okOut {
		return t.generic.UpdateNoErrors(liveObj, newObj, manager)
	}
	changed, removed := changedFields(live, out)
	if changed.Empty() {
		return out
	}
	if removed || len(out.ManagedFields) == 0 {
		return t.generic.UpdateNoErrors(liveObj, newObj, manager)
	}
	entries, ok := t.transfer(out.ManagedFields, changed, manager)
	if !ok {
		return t.generic.UpdateNoErrors(liveObj, newObj, manager)
	}
	out.ManagedFields = entries
	return out
}

// changedFields lists the action fields whose values differ, and whether
// any of them was removed (which the generic manager handles).
func changedFields(live, out *kubevirt.VirtualMachine) (changed *fieldpath.Set, removed bool) {
	changed = fieldpath.NewSet()
	if !apiequality.Semantic.DeepEqual(live.Spec.Running, out.Spec.Running) {
		changed.Insert(runningPath)
		removed = removed || out.Spec.Running == nil
	}
	if !apiequality.Semantic.DeepEqual(live.Spec.RunStrategy, out.Spec.RunStrategy) {
		changed.Insert(runStrategyPath)
		removed = removed || out.Spec.RunStrategy == nil
	}
	if !apiequality.Semantic.DeepEqual(live.Status.StateChangeRequests, out.Status.StateChangeRequests) {
		changed.Insert(requestsPath)
		removed = removed || len(out.Status.StateChangeRequests) == 0
	}
	return changed, removed
}

// transfer takes the changed fields from every other manager and gives them
// to manager's Update entry, dropping entries left empty. ok is false when
// an entry is not one the shortcut understands.
func (t *actionFieldTracker) transfer(entries []metav1.ManagedFieldsEntry, changed *fieldpath.Set, manager string) ([]metav1.ManagedFieldsEntry, bool) {
	apiVersion := kubevirtv1.SchemeGroupVersion.String()
	now := metav1.NewTime(t.now().UTC())
	markers := fieldMarkers(changed)
	out := make([]metav1.ManagedFieldsEntry, 0, len(entries)+1)
	own := false
	updates := 0
	for _, e := range entries {
		if e.FieldsType != "FieldsV1" || e.FieldsV1 == nil || e.APIVersion != apiVersion {
			return nil, false
		}
		if e.Operation == metav1.ManagedFieldsOperationUpdate {
			updates++
		}
		mine := e.Manager == manager && e.Operation == metav1.ManagedFieldsOperationUpdate && e.Subresource == ""
		// Most entries own none of the action's fields, the creator's large
		// one among them: when the JSON cannot name any, it is kept as it is
		// without being parsed.
		if !mine && !mayHoldAny(e.FieldsV1.GetRawBytes(), markers) {
			out = append(out, e)
			continue
		}
		set, err := t.sets.parse(e.FieldsV1.GetRawBytes())
		if err != nil {
			return nil, false
		}
		switch {
		case mine && changed.Difference(set).Empty():
			// The manager owns every changed field already (it flips the
			// same field again): only the time of its entry changes.
			own = true
			e.Time = &now
			out = append(out, e)
			continue
		case mine:
			own = true
			set = set.Union(changed)
			e.Time = &now
		case set.Intersection(changed).Empty():
			out = append(out, e)
			continue
		default:
			set = set.Difference(changed)
			if set.Empty() {
				continue
			}
		}
		raw, err := set.ToJSON()
		if err != nil {
			return nil, false
		}
		e.FieldsV1 = metav1.NewFieldsV1(string(raw))
		out = append(out, e)
	}
	if !own {
		if updates+1 > maxUpdateManagers {
			return nil, false
		}
		raw, err := changed.ToJSON()
		if err != nil {
			return nil, false
		}
		out = append(out, metav1.ManagedFieldsEntry{
			Manager:    manager,
			Operation:  metav1.ManagedFieldsOperationUpdate,
			APIVersion: apiVersion,
			Time:       &now,
			FieldsType: "FieldsV1",
			FieldsV1:   metav1.NewFieldsV1(string(raw)),
		})
	}
	sortEntries(out)
	return out, true
}

// maxCachedSets bounds the parsed entries a setCache keeps. Entries repeat
// across a VM's writes and across VMs made from one manifest, so a few
// suffice; when it is full the cache starts over.
const maxCachedSets = 128

// setCache parses the FieldsV1 JSON of managed fields entries and keeps the
// sets by their exact bytes. The sets it returns are shared: callers only
// read them (Union, Difference and Intersection return new sets).
type setCache struct {
	mu   sync.Mutex
	sets map[string]*fieldpath.Set
}

func newSetCache() *setCache {
	return &setCache{sets: map[string]*fieldpath.Set{}}
}

// parse returns the set that raw encodes.
func (c *setCache) parse(raw []byte) (*fieldpath.Set, error) {
	if c == nil {
		set := &fieldpath.Set{}
		return set, set.FromJSON(bytes.NewReader(raw))
	}
	c.mu.Lock()
	set, ok := c.sets[string(raw)]
	c.mu.Unlock()
	if ok {
		return set, nil
	}
	set = &fieldpath.Set{}
	if err := set.FromJSON(bytes.NewReader(raw)); err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.sets) >= maxCachedSets {
		clear(c.sets)
	}
	c.sets[string(raw)] = set
	c.mu.Unlock()
	return set, nil
}

// fieldMarkers are the JSON keys under which a FieldsV1 set names the last
// element of each path of changed ("f:runStrategy"), or nil when a path
// does not end in a field name.
func fieldMarkers(changed *fieldpath.Set) [][]byte {
	var markers [][]byte
	ok := true
	changed.Iterate(func(p fieldpath.Path) {
		if len(p) == 0 || p[len(p)-1].FieldName == nil {
			ok = false
			return
		}
		markers = append(markers, []byte(`"f:`+*p[len(p)-1].FieldName+`"`))
	})
	if !ok {
		return nil
	}
	return markers
}

// mayHoldAny reports whether the FieldsV1 JSON raw may hold a path that
// ends in one of markers' fields. A set holds a path only if its JSON has
// the key of the path's last field; without a backslash in raw no key is
// escaped, so a key that is not there literally is not there at all. It
// answers true whenever it cannot tell (no markers, or an escape).
func mayHoldAny(raw []byte, markers [][]byte) bool {
	if markers == nil || bytes.IndexByte(raw, '\\') >= 0 {
		return true
	}
	for _, m := range markers {
		if bytes.Contains(raw, m) {
			return true
		}
	}
	return false
}

// sortEntries orders entries as the generic field manager does: Apply
// before Update, then by time (seconds), manager, version and subresource.
func sortEntries(entries []metav1.ManagedFieldsEntry) {
	sort.SliceStable(entries, func(i, j int) bool {
		p, q := entries[i], entries[j]
		if p.Operation != q.Operation {
			return p.Operation < q.Operation
		}
		var ps, qs int64
		if p.Time != nil {
			ps = p.Time.Unix()
		}
		if q.Time != nil {
			qs = q.Time.Unix()
		}
		if ps != qs {
			return ps < qs
		}
		if p.Manager != q.Manager {
			return p.Manager < q.Manager
		}
		if p.APIVersion != q.APIVersion {
			return p.APIVersion < q.APIVersion
		}
		return p.Subresource < q.Subresource
	})
}
