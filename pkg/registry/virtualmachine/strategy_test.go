package virtualmachine

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/utils/ptr"
	virtv1 "kubevirt.io/api/core/v1"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
)

// updateStrategy is what the three strategies have in common.
type updateStrategy interface {
	rest.RESTUpdateStrategy
	rest.ResetFieldsStrategy
}

var allStrategies = map[string]updateStrategy{
	"main":   Strategy,
	"status": StatusStrategy,
	"action": ActionStrategy,
}

// newVM returns a valid, stored-looking VM.
func newVM() *kubevirt.VirtualMachine {
	return &kubevirt.VirtualMachine{
		ObjectMeta: metav1.ObjectMeta{
			Name: "vm", Namespace: "default", ResourceVersion: "10", Generation: 4,
			Labels: map[string]string{"app": "demo"}, Annotations: map[string]string{"note": "old"},
		},
		Spec: virtv1.VirtualMachineSpec{
			RunStrategy: ptr.To(virtv1.RunStrategyAlways),
			Template: &virtv1.VirtualMachineInstanceTemplateSpec{
				Spec: virtv1.VirtualMachineInstanceSpec{
					Domain: virtv1.DomainSpec{Devices: virtv1.Devices{
						Disks: []virtv1.Disk{{Name: "root", DiskDevice: virtv1.DiskDevice{Disk: &virtv1.DiskTarget{Bus: "virtio"}}}},
					}},
					Volumes: []virtv1.Volume{{Name: "root", VolumeSource: virtv1.VolumeSource{
						ContainerDisk: &virtv1.ContainerDiskSource{Image: "quay.io/containerdisks/fedora:latest"},
					}}},
				},
			},
		},
		Status: virtv1.VirtualMachineStatus{
			Created: true, PrintableStatus: virtv1.VirtualMachineStatusRunning, ObservedGeneration: 4,
		},
	}
}

func TestStrategyFlags(t *testing.T) {
	ctx := context.Background()
	for name, s := range allStrategies {
		t.Run(name, func(t *testing.T) {
			assert.True(t, s.NamespaceScoped())
			assert.False(t, s.AllowCreateOnUpdate(ctx))
			assert.True(t, s.AllowUnconditionalUpdate(ctx))
		})
	}
}

func TestObjectKinds(t *testing.T) {
	for name, s := range map[string]runtime.ObjectTyper{
		"main":   Strategy,
		"status": StatusStrategy,
		"action": ActionStrategy,
	} {
		t.Run(name, func(t *testing.T) {
			kinds, _, err := s.ObjectKinds(&kubevirt.VirtualMachine{})
			require.NoError(t, err)
			require.NotEmpty(t, kinds)
			assert.Equal(t, kubevirt.Kind("VirtualMachine"), kinds[0].GroupKind())
		})
	}
}

func TestPrepareForCreate(t *testing.T) {
	vm := newVM()
	vm.Status.StateChangeRequests = []virtv1.VirtualMachineStateChangeRequest{{Action: virtv1.StartRequest}}
	want := newVM().Spec

	Strategy.PrepareForCreate(context.Background(), vm)

	assert.Equal(t, virtv1.VirtualMachineStatus{}, vm.Status, "a client may not create status")
	assert.Equal(t, int64(1), vm.Generation)
	assert.Equal(t, want, vm.Spec)
}

// change is one edit that a client makes to a stored VM in an update.
type change func(vm *kubevirt.VirtualMachine)

func changeSpec(vm *kubevirt.VirtualMachine) {
	vm.Spec.RunStrategy = ptr.To(virtv1.RunStrategyHalted)
}
func changeStatus(vm *kubevirt.VirtualMachine) {
	vm.Status.StateChangeRequests = []virtv1.VirtualMachineStateChangeRequest{{Action: virtv1.StopRequest}}
}
func changeLabels(vm *kubevirt.VirtualMachine) { vm.Labels = map[string]string{"app": "new"} }
func changeAnnotations(vm *kubevirt.VirtualMachine) {
	vm.Annotations = map[string]string{"note": "new"}
}
func changeGeneration(vm *kubevirt.VirtualMachine) { vm.Generation = 99 }

func TestPrepareForUpdate(t *testing.T) {
	tests := []struct {
		name     string
		strategy updateStrategy
		changes  []change
		// keep lists which parts of the update survive PrepareForUpdate.
		keepSpec, keepStatus, keepLabels, keepAnnotations bool
		wantGeneration                                    int64
	}{
		{
			name: "main: spec, labels and annotations change, status does not", strategy: Strategy,
			changes:  []change{changeSpec, changeStatus, changeLabels, changeAnnotations},
			keepSpec: true, keepLabels: true, keepAnnotations: true, wantGeneration: 5,
		},
		{
			name: "main: no spec change keeps the generation", strategy: Strategy,
			changes:    []change{changeStatus, changeLabels, changeAnnotations},
			keepLabels: true, keepAnnotations: true, wantGeneration: 4,
		},
		{
			name: "main: a client cannot set the generation", strategy: Strategy,
			changes: []change{changeGeneration}, wantGeneration: 4,
		},
		{
			name: "status: only status changes", strategy: StatusStrategy,
			changes:    []change{changeSpec, changeStatus, changeLabels, changeAnnotations, changeGeneration},
			keepStatus: true, wantGeneration: 4,
		},
		{
			name: "action: spec and status change together", strategy: ActionStrategy,
			changes:  []change{changeSpec, changeStatus, changeLabels, changeAnnotations},
			keepSpec: true, keepStatus: true, wantGeneration: 5,
		},
		{
			name: "action: status alone keeps the generation", strategy: ActionStrategy,
			changes:    []change{changeStatus, changeGeneration},
			keepStatus: true, wantGeneration: 4,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			oldVM := newVM()
			updated := newVM()
			for _, c := range tc.changes {
				c(updated)
			}
			requested := updated.DeepCopy()

			tc.strategy.PrepareForUpdate(context.Background(), updated, oldVM)

			pick := func(keep bool) *kubevirt.VirtualMachine {
				if keep {
					return requested
				}
				return oldVM
			}
			assert.Equal(t, pick(tc.keepSpec).Spec, updated.Spec, "spec")
			assert.Equal(t, pick(tc.keepStatus).Status, updated.Status, "status")
			assert.Equal(t, pick(tc.keepLabels).Labels, updated.Labels, "labels")
			assert.Equal(t, pick(tc.keepAnnotations).Annotations, updated.Annotations, "annotations")
			assert.Equal(t, tc.wantGeneration, updated.Generation, "generation")
			assert.Equal(t, newVM(), oldVM, "the old object must not change")
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name      string
		mutate    change
		wantField string
	}{
		{name: "valid", mutate: func(*kubevirt.VirtualMachine) {}},
		{name: "legacy running is valid", mutate: func(vm *kubevirt.VirtualMachine) {
			vm.Spec.RunStrategy, vm.Spec.Running = nil, ptr.To(true)
		}},
		{name: "both running and runStrategy", mutate: func(vm *kubevirt.VirtualMachine) { vm.Spec.Running = ptr.To(true) }, wantField: "spec.running"},
		{name: "no run strategy", mutate: func(vm *kubevirt.VirtualMachine) { vm.Spec.RunStrategy = nil }, wantField: "spec.runStrategy"},
		{name: "no template", mutate: func(vm *kubevirt.VirtualMachine) { vm.Spec.Template = nil }, wantField: "spec.template"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			vm := newVM()
			tc.mutate(vm)
			errs := Strategy.Validate(context.Background(), vm)
			assertOnlyField(t, tc.wantField, errs)
		})
	}
}

func TestValidateUpdate(t *testing.T) {
	badSpec := func(vm *kubevirt.VirtualMachine) { vm.Spec.Running = ptr.To(true) }
	badStatus := func(vm *kubevirt.VirtualMachine) {
		vm.Status.StateChangeRequests = []virtv1.VirtualMachineStateChangeRequest{{Action: "Restart"}}
	}
	tests := []struct {
		name      string
		strategy  updateStrategy
		mutate    change
		wantField string
	}{
		{name: "main: valid", strategy: Strategy, mutate: changeSpec},
		{name: "main: invalid spec", strategy: Strategy, mutate: badSpec, wantField: "spec.running"},
		{name: "main: status is not its business", strategy: Strategy, mutate: badStatus},
		{name: "status: valid", strategy: StatusStrategy, mutate: changeStatus},
		{name: "status: invalid status", strategy: StatusStrategy, mutate: badStatus, wantField: "status.stateChangeRequests[0].action"},
		{name: "status: spec is not its business", strategy: StatusStrategy, mutate: badSpec},
		{name: "action: valid", strategy: ActionStrategy, mutate: func(vm *kubevirt.VirtualMachine) { changeSpec(vm); changeStatus(vm) }},
		{name: "action: invalid spec", strategy: ActionStrategy, mutate: badSpec, wantField: "spec.running"},
		{name: "action: invalid status", strategy: ActionStrategy, mutate: badStatus, wantField: "status.stateChangeRequests[0].action"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			oldVM := newVM()
			updated := newVM()
			tc.mutate(updated)
			errs := tc.strategy.ValidateUpdate(context.Background(), updated, oldVM)
			assertOnlyField(t, tc.wantField, errs)
		})
	}
}

// TestMetadataUpdateRules checks that every update, through any of the
// three strategies, keeps the metadata rules of an update, and reports each
// broken rule once: k8s.io/apiserver's rest.BeforeUpdate validates the
// metadata for every resource, and the strategies do not again.
func TestMetadataUpdateRules(t *testing.T) {
	tests := []struct {
		name      string
		mutate    change
		wantField string
	}{
		{name: "name is immutable", mutate: func(vm *kubevirt.VirtualMachine) { vm.Name = "other" }, wantField: "metadata.name"},
		{name: "uid is immutable", mutate: func(vm *kubevirt.VirtualMachine) { vm.UID = "other" }, wantField: "metadata.uid"},
		{name: "resourceVersion is required", mutate: func(vm *kubevirt.VirtualMachine) { vm.ResourceVersion = "" }, wantField: "metadata.resourceVersion"},
		{
			name:      "deletionGracePeriodSeconds is immutable",
			mutate:    func(vm *kubevirt.VirtualMachine) { vm.DeletionGracePeriodSeconds = ptr.To[int64](5) },
			wantField: "metadata.deletionGracePeriodSeconds",
		},
	}
	for strategyName, strategy := range allStrategies {
		for _, tc := range tests {
			t.Run(strategyName+": "+tc.name, func(t *testing.T) {
				oldVM := newVM()
				oldVM.UID = "uid-1"
				updated := newVM()
				updated.UID = "uid-1"
				tc.mutate(updated)
				ctx := genericapirequest.WithNamespace(genericapirequest.NewContext(), oldVM.Namespace)
				err := rest.BeforeUpdate(strategy, ctx, updated, oldVM)
				require.True(t, apierrors.IsInvalid(err), "error: %v", err)
				causes := err.(apierrors.APIStatus).Status().Details.Causes
				require.Len(t, causes, 1, "causes: %+v", causes)
				assert.Equal(t, tc.wantField, causes[0].Field)
			})
		}
	}
}

func TestWarnings(t *testing.T) {
	legacy := func(vm *kubevirt.VirtualMachine) { vm.Spec.RunStrategy, vm.Spec.Running = nil, ptr.To(true) }
	ctx := context.Background()
	tests := []struct {
		name   string
		mutate change
		get    func(vm, old *kubevirt.VirtualMachine) []string
		want   []string
	}{
		{
			name: "create with running", mutate: legacy, want: []string{RunningDeprecatedWarning},
			get: func(vm, _ *kubevirt.VirtualMachine) []string { return Strategy.WarningsOnCreate(ctx, vm) },
		},
		{
			name: "create with runStrategy", mutate: func(*kubevirt.VirtualMachine) {},
			get: func(vm, _ *kubevirt.VirtualMachine) []string { return Strategy.WarningsOnCreate(ctx, vm) },
		},
		{
			name: "update with running", mutate: legacy, want: []string{RunningDeprecatedWarning},
			get: func(vm, old *kubevirt.VirtualMachine) []string { return Strategy.WarningsOnUpdate(ctx, vm, old) },
		},
		{
			name: "update with runStrategy", mutate: changeSpec,
			get: func(vm, old *kubevirt.VirtualMachine) []string { return Strategy.WarningsOnUpdate(ctx, vm, old) },
		},
		{
			name: "status update of a legacy VM", mutate: legacy,
			get: func(vm, old *kubevirt.VirtualMachine) []string { return StatusStrategy.WarningsOnUpdate(ctx, vm, old) },
		},
		{
			name: "action on a legacy VM", mutate: legacy,
			get: func(vm, old *kubevirt.VirtualMachine) []string { return ActionStrategy.WarningsOnUpdate(ctx, vm, old) },
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			vm := newVM()
			tc.mutate(vm)
			assert.Equal(t, tc.want, tc.get(vm, newVM()))
		})
	}
	assert.Equal(t, "spec.running is deprecated; use spec.runStrategy", RunningDeprecatedWarning)
}

func TestGetResetFields(t *testing.T) {
	tests := []struct {
		name     string
		strategy updateStrategy
		want     *fieldpath.Set
	}{
		{name: "main", strategy: Strategy, want: fieldpath.NewSet(fieldpath.MakePathOrDie("status"))},
		{name: "status", strategy: StatusStrategy, want: fieldpath.NewSet(
			fieldpath.MakePathOrDie("spec"),
			fieldpath.MakePathOrDie("metadata", "labels"),
			fieldpath.MakePathOrDie("metadata", "annotations"),
		)},
		{name: "action", strategy: ActionStrategy, want: fieldpath.NewSet(
			fieldpath.MakePathOrDie("metadata", "labels"),
			fieldpath.MakePathOrDie("metadata", "annotations"),
		)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.strategy.GetResetFields()
			// The field manager looks the set up by the request's version,
			// so every served version names the same paths.
			require.Len(t, got, 2)
			for _, version := range []fieldpath.APIVersion{"kubevirt.io/v1", "kubevirt.io/v1alpha3"} {
				set, ok := got[version]
				require.True(t, ok, "reset fields are keyed by %s", version)
				assert.True(t, tc.want.Equals(set), "%s: got %s, want %s", version, set, tc.want)
			}
		})
	}
}

// assertOnlyField checks that errs is empty when wantField is, and otherwise
// that every error is about wantField.
func assertOnlyField(t *testing.T, wantField string, errs field.ErrorList) {
	t.Helper()
	if wantField == "" {
		assert.Empty(t, errs)
		return
	}
	require.NotEmpty(t, errs)
	for _, e := range errs {
		assert.Equal(t, wantField, e.Field, "error: %v", e)
	}
}
