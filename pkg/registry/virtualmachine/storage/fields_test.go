package storage

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
	kubevirtv1 "kubevirt.io/api/core/v1"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"github.com/vm-apiserver/vm-apiserver/pkg/api/openapi"
	"github.com/vm-apiserver/vm-apiserver/pkg/api/scheme"
	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
	"github.com/vm-apiserver/vm-apiserver/pkg/apis/subresources"
	"github.com/vm-apiserver/vm-apiserver/pkg/registry/virtualmachine"
)

func genericFieldManager(t *testing.T) *managedfields.FieldManager {
	t.Helper()
	typeConverter, err := openapi.NewTypeConverter()
	require.NoError(t, err)
	fm, err := newGenericFieldManager(typeConverter)
	require.NoError(t, err)
	return fm
}

func seedVM(strategyName string, running *bool) *kubevirt.VirtualMachine {
	vm := &kubevirt.VirtualMachine{
		ObjectMeta: metav1.ObjectMeta{Name: "vm", Namespace: "default", Labels: map[string]string{"app": "x"}},
		Spec: kubevirtv1.VirtualMachineSpec{
			Running: running,
			Template: &kubevirtv1.VirtualMachineInstanceTemplateSpec{Spec: kubevirtv1.VirtualMachineInstanceSpec{
				Domain:  kubevirtv1.DomainSpec{Devices: kubevirtv1.Devices{Disks: []kubevirtv1.Disk{{Name: "d", DiskDevice: kubevirtv1.DiskDevice{Disk: &kubevirtv1.DiskTarget{Bus: "virtio"}}}}}},
				Volumes: []kubevirtv1.Volume{{Name: "d", VolumeSource: kubevirtv1.VolumeSource{ContainerDisk: &kubevirtv1.ContainerDiskSource{Image: "img"}}}},
			}},
		},
	}
	if strategyName != "" {
		s := kubevirtv1.VirtualMachineRunStrategy(strategyName)
		vm.Spec.RunStrategy = &s
	}
	return vm
}

// applied is the VM as a server-side apply body by manager "kubectl".
func applied(t testing.TB, vm *kubevirt.VirtualMachine) *unstructured.Unstructured {
	t.Helper()
	versioned, err := scheme.Scheme.ConvertToVersion(vm.DeepCopy(), kubevirtSchemeGV())
	require.NoError(t, err)
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(versioned)
	require.NoError(t, err)
	obj := &unstructured.Unstructured{Object: u}
	unstructured.RemoveNestedField(obj.Object, "status")
	unstructured.RemoveNestedField(obj.Object, "metadata", "creationTimestamp")
	return obj
}

// owners maps each entry's identity to its field set, ignoring times.
func owners(entries []metav1.ManagedFieldsEntry) map[string]string {
	out := map[string]string{}
	for _, e := range entries {
		out[fmt.Sprintf("%s/%s/%s/%s", e.Manager, e.Operation, e.APIVersion, e.Subresource)] = e.FieldsV1.GetRawString()
	}
	return out
}

// TestActionFieldTrackerMatchesGenericFieldManager holds the shortcut to the
// generic field manager's results over sequences of actions on VMs whose
// fields are owned in different ways.
func TestActionFieldTrackerMatchesGenericFieldManager(t *testing.T) {
	fm := genericFieldManager(t)
	fallback := &countingTracker{fieldTracker: fm}
	fast := &actionFieldTracker{generic: fallback, now: time.Now, sets: newSetCache()}
	steps := 0
	running, stopped := true, false
	active := kubevirtv1.VirtualMachineStatus{Created: true, PrintableStatus: kubevirtv1.VirtualMachineStatusRunning}

	type step struct {
		action  virtualmachine.Action
		opts    subresources.ActionOptions
		manager string
		status  *kubevirtv1.VirtualMachineStatus // the runtime's status before the action
	}
	grace := int64(0)
	for _, tc := range []struct {
		name    string
		vm      *kubevirt.VirtualMachine
		byApply bool
		steps   []step
		// rewrite changes the stored VM before the first step.
		rewrite func(*kubevirt.VirtualMachine)
	}{
		{"created by update, flipped by two managers", seedVM("Halted", nil), false, []step{
			{action: virtualmachine.ActionStart, manager: "virtctl"},
			{action: virtualmachine.ActionStop, manager: "kubectl-vm"},
			{action: virtualmachine.ActionStart, manager: "virtctl"},
			{action: virtualmachine.ActionStop, manager: "virtctl"},
		}, nil},
		// The creator's own entry already holds runStrategy: only its
		// time changes.
		{"created and flipped by one manager", seedVM("Halted", nil), false, []step{
			{action: virtualmachine.ActionStart, manager: "kubectl-create"},
			{action: virtualmachine.ActionStop, manager: "kubectl-create"},
			{action: virtualmachine.ActionStart, manager: "virtctl"},
			{action: virtualmachine.ActionStop, manager: "kubectl-create"},
		}, nil},
		{"applied by kubectl, then actions take runStrategy", seedVM("Always", nil), true, []step{
			{action: virtualmachine.ActionStop, manager: "virtctl"},
			{action: virtualmachine.ActionStart, manager: "virtctl", opts: subresources.ActionOptions{Paused: true}},
		}, nil},
		{"legacy running", seedVM("", &running), true, []step{
			{action: virtualmachine.ActionStop, manager: "virtctl"},
			{action: virtualmachine.ActionStart, manager: "curl"},
		}, nil},
		{"legacy stopped", seedVM("", &stopped), false, []step{
			{action: virtualmachine.ActionStart, manager: "virtctl"},
		}, nil},
		{"requests on a Manual VM", seedVM("Manual", nil), true, []step{
			{action: virtualmachine.ActionRestart, manager: "virtctl", status: &active, opts: subresources.ActionOptions{GracePeriodSeconds: &grace}},
		}, nil},
		{"stop replaces pending requests", seedVM("RerunOnFailure", nil), false, []step{
			{action: virtualmachine.ActionRestart, manager: "virtctl", status: &active},
			{action: virtualmachine.ActionStop, manager: "kubectl-vm", status: &active},
		}, nil},
		{"stop with a grace period on Always", seedVM("Always", nil), true, []step{
			{action: virtualmachine.ActionStop, manager: "virtctl", status: &active, opts: subresources.ActionOptions{GracePeriodSeconds: &grace}},
		}, nil},
		// Valid JSON may escape a key: the owner of runStrategy must still
		// be found, although its entry does not name the field literally.
		{"an owner's key escaped in its JSON", seedVM("Always", nil), true, []step{
			{action: virtualmachine.ActionStop, manager: "virtctl"},
			{action: virtualmachine.ActionStart, manager: "virtctl"},
		}, func(vm *kubevirt.VirtualMachine) {
			for i, e := range vm.ManagedFields {
				escaped := strings.ReplaceAll(e.FieldsV1.GetRawString(), `"f:runStrategy"`, `"f:run\u0053trategy"`)
				vm.ManagedFields[i].FieldsV1 = metav1.NewFieldsV1(escaped)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var live runtime.Object
			var err error
			if tc.byApply {
				live, err = fm.Apply(&kubevirt.VirtualMachine{}, applied(t, tc.vm), "kubectl", false)
				require.NoError(t, err)
			} else {
				live = fm.UpdateNoErrors(&kubevirt.VirtualMachine{}, tc.vm.DeepCopy(), "kubectl-create")
			}
			if tc.rewrite != nil {
				tc.rewrite(live.(*kubevirt.VirtualMachine))
			}
			for i, s := range tc.steps {
				vm := live.(*kubevirt.VirtualMachine)
				if s.status != nil {
					withStatus := vm.DeepCopy()
					withStatus.Status = *s.status.DeepCopy()
					withStatus.Status.StateChangeRequests = vm.Status.StateChangeRequests
					live = fm.UpdateNoErrors(vm, withStatus, "runtime")
					vm = live.(*kubevirt.VirtualMachine)
				}
				decided, err := virtualmachine.Decide(vm, s.action, &s.opts)
				require.NoError(t, err, "step %d", i)
				want := fm.UpdateNoErrors(vm, decided.DeepCopy(), s.manager).(*kubevirt.VirtualMachine)
				got := fast.UpdateNoErrors(vm, decided.DeepCopy(), s.manager).(*kubevirt.VirtualMachine)
				assert.Equal(t, owners(want.ManagedFields), owners(got.ManagedFields), "step %d (%s by %s)", i, s.action, s.manager)
				assert.Contains(t, owners(got.ManagedFields), s.manager+"/Update/kubevirt.io/v1/", "the action's manager owns what it changed")
				steps++
				live = want
			}
		})
	}
	// Only the steps that clear pending requests need the generic manager.
	assert.Less(t, fallback.calls, steps/2, "the shortcut served most steps (%d of %d fell back)", fallback.calls, steps)
}

// countingTracker counts the calls that reach the generic field manager.
type countingTracker struct {
	fieldTracker
	calls int
}

func (c *countingTracker) UpdateNoErrors(liveObj, newObj runtime.Object, manager string) runtime.Object {
	c.calls++
	return c.fieldTracker.UpdateNoErrors(liveObj, newObj, manager)
}

func kubevirtSchemeGV() schema.GroupVersion { return kubevirtv1.SchemeGroupVersion }

// BenchmarkActionFieldTracking measures what recording one stop in
// managedFields costs: the generic field manager against the fast path,
// on a VM applied by kubectl whose status the runtime wrote.
func BenchmarkActionFieldTracking(b *testing.B) {
	typeConverter, err := openapi.NewTypeConverter()
	require.NoError(b, err)
	fm, err := newGenericFieldManager(typeConverter)
	require.NoError(b, err)
	fast := &actionFieldTracker{generic: fm, now: time.Now, sets: newSetCache()}

	live, err := fm.Apply(&kubevirt.VirtualMachine{}, applied(b, seedVM("Always", nil)), "kubectl", false)
	require.NoError(b, err)
	vm := live.(*kubevirt.VirtualMachine)
	withStatus := vm.DeepCopy()
	withStatus.Status = kubevirtv1.VirtualMachineStatus{Created: true, Ready: true, PrintableStatus: kubevirtv1.VirtualMachineStatusRunning}
	vm = fm.UpdateNoErrors(vm, withStatus, "runtime").(*kubevirt.VirtualMachine)
	decided, err := virtualmachine.Decide(vm, virtualmachine.ActionStop, nil)
	require.NoError(b, err)

	for _, tc := range []struct {
		name    string
		tracker fieldTracker
	}{{"generic", fm}, {"fast", fast}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				benchSinkObj = tc.tracker.UpdateNoErrors(vm, decided.DeepCopy(), "virtctl")
			}
		})
	}
}

var benchSinkObj runtime.Object

// TestMayHoldAny: the parse of an entry is skipped only when its JSON
// cannot name a changed field.
func TestMayHoldAny(t *testing.T) {
	changed := fieldpath.NewSet(runStrategyPath, requestsPath)
	markers := fieldMarkers(changed)
	require.Len(t, markers, 2)
	for _, tc := range []struct {
		name string
		raw  string
		want bool
	}{
		{"other fields only", `{"f:spec":{"f:template":{".":{}},"f:running":{}}}`, false},
		{"the run strategy", `{"f:spec":{"f:runStrategy":{}}}`, true},
		{"the requests", `{"f:status":{"f:stateChangeRequests":{}}}`, true},
		{"a longer name", `{"f:spec":{"f:runStrategyX":{}}}`, false},
		{"an escaped key", `{"f:spec":{"f:run\u0053trategy":{}}}`, true},
		{"any escape", `{"f:metadata":{"f:labels":{"f:a\"b":{}}}}`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, mayHoldAny([]byte(tc.raw), markers))
		})
	}
	// A path that ends in a list key, not a field, cannot be looked for.
	keyed := fieldpath.NewSet(fieldpath.MakePathOrDie("spec", "template", "spec", "volumes", fieldpath.KeyByFields("name", "d")))
	assert.Nil(t, fieldMarkers(keyed))
	assert.True(t, mayHoldAny([]byte(`{}`), nil))
}
