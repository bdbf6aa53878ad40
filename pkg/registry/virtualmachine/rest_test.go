package virtualmachine

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/warning"
	"k8s.io/utils/ptr"
	virtv1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
)

// recorder collects the warnings that the generic registry code adds.
type recorder struct{ warnings []string }

func (r *recorder) AddWarning(_, text string) { r.warnings = append(r.warnings, text) }

func requestContext() (context.Context, *recorder) {
	rec := &recorder{}
	ctx := genericapirequest.WithNamespace(context.Background(), "default")
	return warning.WithWarningRecorder(ctx, rec), rec
}

// These tests run the strategies through the generic registry's create and
// update hooks, as the store does, to check the API errors and warnings a
// client sees.

func TestBeforeCreate(t *testing.T) {
	tests := []struct {
		name         string
		mutate       change
		wantInvalid  string
		wantWarnings []string
	}{
		{name: "runStrategy", mutate: func(*kubevirt.VirtualMachine) {}},
		{
			name:         "legacy running warns",
			mutate:       func(vm *kubevirt.VirtualMachine) { vm.Spec.RunStrategy, vm.Spec.Running = nil, ptr.To(false) },
			wantWarnings: []string{RunningDeprecatedWarning},
		},
		{
			name:        "both fields is a 422 on spec.running",
			mutate:      func(vm *kubevirt.VirtualMachine) { vm.Spec.Running = ptr.To(false) },
			wantInvalid: "spec.running",
		},
		{
			name:        "no run strategy is a 422 on spec.runStrategy",
			mutate:      func(vm *kubevirt.VirtualMachine) { vm.Spec.RunStrategy = nil },
			wantInvalid: "spec.runStrategy",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, rec := requestContext()
			vm := newVM()
			vm.ResourceVersion = ""
			tc.mutate(vm)
			rest.FillObjectMetaSystemFields(vm)

			err := rest.BeforeCreate(Strategy, ctx, vm)
			if tc.wantInvalid != "" {
				require.Error(t, err)
				require.True(t, apierrors.IsInvalid(err), "want a 422, got %v", err)
				status := err.(apierrors.APIStatus).Status()
				assert.Equal(t, "kubevirt.io", status.Details.Group)
				assert.Equal(t, "VirtualMachine", status.Details.Kind)
				require.NotEmpty(t, status.Details.Causes)
				assert.Equal(t, tc.wantInvalid, status.Details.Causes[0].Field)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.wantWarnings, rec.warnings)
			assert.Equal(t, int64(1), vm.Generation)
			assert.Equal(t, virtv1.VirtualMachineStatus{}, vm.Status)
		})
	}
}

func TestBeforeUpdate(t *testing.T) {
	tests := []struct {
		name       string
		strategy   rest.RESTUpdateStrategy
		wantStatus bool
		wantSpec   bool
		wantGen    int64
	}{
		{name: "main", strategy: Strategy, wantSpec: true, wantGen: 5},
		{name: "status", strategy: StatusStrategy, wantStatus: true, wantGen: 4},
		{name: "action", strategy: ActionStrategy, wantSpec: true, wantStatus: true, wantGen: 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, rec := requestContext()
			oldVM := newVM()
			rest.FillObjectMetaSystemFields(oldVM)
			updated := oldVM.DeepCopy()
			changeSpec(updated)
			changeStatus(updated)

			require.NoError(t, rest.BeforeUpdate(tc.strategy, ctx, updated, oldVM))

			assert.Equal(t, tc.wantSpec, *updated.Spec.RunStrategy == virtv1.RunStrategyHalted, "spec changed")
			assert.Equal(t, tc.wantStatus, len(updated.Status.StateChangeRequests) == 1, "status changed")
			assert.Equal(t, tc.wantGen, updated.Generation)
			assert.Empty(t, rec.warnings)
		})
	}
}
