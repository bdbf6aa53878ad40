package storage

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/utils/ptr"
	kubevirtv1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
	"github.com/vm-apiserver/vm-apiserver/pkg/apis/subresources"
	"github.com/vm-apiserver/vm-apiserver/pkg/registry/virtualmachine"
)

const namespace = "ns"

// env is the VM storages on an in-process etcd.
type env struct {
	vms *VirtualMachineStorage
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return &env{vms: newTestStorage(t, nil)}
}

func nsContext() context.Context {
	return request.WithNamespace(context.Background(), namespace)
}

// create stores a VM with the given spec and then, if status is not nil,
// writes status as a runtime would.
func (e *env) create(t *testing.T, name string, spec kubevirtv1.VirtualMachineSpec, status *kubevirtv1.VirtualMachineStatus) *kubevirt.VirtualMachine {
	t.Helper()
	if spec.Template == nil {
		spec.Template = &kubevirtv1.VirtualMachineInstanceTemplateSpec{}
	}
	vm := &kubevirt.VirtualMachine{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace}, Spec: spec}
	_, err := e.vms.VirtualMachine.Create(nsContext(), vm, rest.ValidateAllObjectFunc, &metav1.CreateOptions{})
	require.NoError(t, err)
	if status != nil {
		e.setStatus(t, name, *status)
	}
	return e.get(t, name)
}

func (e *env) setStatus(t *testing.T, name string, status kubevirtv1.VirtualMachineStatus) {
	t.Helper()
	_, _, err := e.vms.Status.Update(nsContext(), name, rest.DefaultUpdatedObjectInfo(nil,
		func(_ context.Context, _, old runtime.Object) (runtime.Object, error) {
			vm := old.(*kubevirt.VirtualMachine).DeepCopy()
			vm.Status = status
			return vm, nil
		}), rest.ValidateAllObjectFunc, rest.ValidateAllObjectUpdateFunc, false, &metav1.UpdateOptions{})
	require.NoError(t, err)
}

func (e *env) get(t *testing.T, name string) *kubevirt.VirtualMachine {
	t.Helper()
	obj, err := e.vms.VirtualMachine.Get(nsContext(), name, &metav1.GetOptions{})
	require.NoError(t, err)
	return obj.(*kubevirt.VirtualMachine)
}

// act performs action with opts on VM name, in the test namespace, as the
// field manager "test". Nil opts are none.
func (e *env) act(action virtualmachine.Action, name string, opts *subresources.ActionOptions) (*kubevirt.VirtualMachine, bool, error) {
	if opts == nil {
		opts = &subresources.ActionOptions{}
	}
	obj, denied, err := e.vms.Actions.Act(nsContext(), name, action, opts, "test")
	if err != nil {
		return nil, denied, err
	}
	return obj.(*kubevirt.VirtualMachine), denied, nil
}

// assertStatus checks that err is an API status with code whose reason is
// reason and whose message contains message.
func assertStatus(t *testing.T, err error, code int, reason metav1.StatusReason, message string) {
	t.Helper()
	require.Error(t, err)
	status, ok := err.(apierrors.APIStatus)
	require.True(t, ok, "an API status error, got %T: %v", err, err)
	assert.Equal(t, int32(code), status.Status().Code, err.Error())
	assert.Equal(t, reason, status.Status().Reason)
	assert.Contains(t, status.Status().Message, message)
}

var (
	activeStatus   = &kubevirtv1.VirtualMachineStatus{Created: true, Ready: true, PrintableStatus: kubevirtv1.VirtualMachineStatusRunning}
	finishedStatus = &kubevirtv1.VirtualMachineStatus{Created: true, PrintableStatus: kubevirtv1.VirtualMachineStatusStopped}
)

func strategySpec(s kubevirtv1.VirtualMachineRunStrategy) kubevirtv1.VirtualMachineSpec {
	return kubevirtv1.VirtualMachineSpec{RunStrategy: &s}
}

func TestActions(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name     string
		spec     kubevirtv1.VirtualMachineSpec
		status   *kubevirtv1.VirtualMachineStatus
		action   virtualmachine.Action
		opts     *subresources.ActionOptions
		vmName   string // when not the VM created
		code     int    // of the error; 0 when the action is written
		reason   metav1.StatusReason
		message  string // part of the error's message
		wantSpec kubevirtv1.VirtualMachineSpec
		wantSCR  []kubevirtv1.VirtualMachineStateChangeRequest
	}{
		{name: "start halted", spec: strategySpec(kubevirtv1.RunStrategyHalted), action: virtualmachine.ActionStart,
			wantSpec: strategySpec(kubevirtv1.RunStrategyAlways)},
		{name: "start halted paused", spec: strategySpec(kubevirtv1.RunStrategyHalted), action: virtualmachine.ActionStart,
			opts: &subresources.ActionOptions{Paused: true}, wantSpec: strategySpec(kubevirtv1.RunStrategyAlways),
			wantSCR: []kubevirtv1.VirtualMachineStateChangeRequest{{Action: kubevirtv1.StartRequest, Data: map[string]string{"paused": "true"}}}},
		{name: "start legacy stopped", spec: kubevirtv1.VirtualMachineSpec{Running: ptr.To(false)}, action: virtualmachine.ActionStart,
			wantSpec: kubevirtv1.VirtualMachineSpec{Running: ptr.To(true)}},
		{name: "start manual finished", spec: strategySpec(kubevirtv1.RunStrategyManual), status: finishedStatus, action: virtualmachine.ActionStart,
			wantSpec: strategySpec(kubevirtv1.RunStrategyManual),
			wantSCR:  []kubevirtv1.VirtualMachineStateChangeRequest{{Action: kubevirtv1.StopRequest}, {Action: kubevirtv1.StartRequest}}},
		{name: "stop always with grace", spec: strategySpec(kubevirtv1.RunStrategyAlways), status: activeStatus, action: virtualmachine.ActionStop,
			opts: &subresources.ActionOptions{GracePeriodSeconds: ptr.To[int64](10)}, wantSpec: strategySpec(kubevirtv1.RunStrategyHalted),
			wantSCR: []kubevirtv1.VirtualMachineStateChangeRequest{{Action: kubevirtv1.StopRequest, Data: map[string]string{"gracePeriodSeconds": "10"}}}},
		{name: "stop rerun active", spec: strategySpec(kubevirtv1.RunStrategyRerunOnFailure), status: activeStatus, action: virtualmachine.ActionStop,
			wantSpec: strategySpec(kubevirtv1.RunStrategyRerunOnFailure),
			wantSCR:  []kubevirtv1.VirtualMachineStateChangeRequest{{Action: kubevirtv1.StopRequest}}},
		{name: "forced restart", spec: strategySpec(kubevirtv1.RunStrategyAlways), status: activeStatus, action: virtualmachine.ActionRestart,
			opts: &subresources.ActionOptions{GracePeriodSeconds: ptr.To[int64](0)}, wantSpec: strategySpec(kubevirtv1.RunStrategyAlways),
			wantSCR: []kubevirtv1.VirtualMachineStateChangeRequest{{Action: kubevirtv1.StopRequest, Data: map[string]string{"gracePeriodSeconds": "1"}}, {Action: kubevirtv1.StartRequest}}},

		{name: "start always", spec: strategySpec(kubevirtv1.RunStrategyAlways), action: virtualmachine.ActionStart,
			code: http.StatusConflict, reason: metav1.StatusReasonConflict, message: "Always does not support manual start requests"},
		{name: "start running", spec: strategySpec(kubevirtv1.RunStrategyManual), status: activeStatus, action: virtualmachine.ActionStart,
			code: http.StatusConflict, reason: metav1.StatusReasonConflict, message: "VM is already running"},
		{name: "stop manual not running", spec: strategySpec(kubevirtv1.RunStrategyManual), action: virtualmachine.ActionStop,
			code: http.StatusConflict, reason: metav1.StatusReasonConflict, message: "VM is not running"},
		{name: "stop halted stopping", spec: strategySpec(kubevirtv1.RunStrategyHalted), status: activeStatus, action: virtualmachine.ActionStop,
			code: http.StatusConflict, reason: metav1.StatusReasonConflict, message: "VM is already stopping"},
		{name: "restart halted", spec: strategySpec(kubevirtv1.RunStrategyHalted), action: virtualmachine.ActionRestart,
			code: http.StatusConflict, reason: metav1.StatusReasonConflict, message: "Halted does not support manual restart requests"},
		{name: "restart once", spec: strategySpec(kubevirtv1.RunStrategyOnce), status: activeStatus, action: virtualmachine.ActionRestart,
			code: http.StatusConflict, reason: metav1.StatusReasonConflict, message: "Once does not support manual restart requests"},
		{name: "unknown vm", spec: strategySpec(kubevirtv1.RunStrategyHalted), action: virtualmachine.ActionStart, vmName: "nope",
			code: http.StatusNotFound, reason: metav1.StatusReasonNotFound, message: `virtualmachines.kubevirt.io "nope" not found`},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := "vm-" + string(rune('a'+i))
			before := e.create(t, name, tt.spec, tt.status)
			target := name
			if tt.vmName != "" {
				target = tt.vmName
			}

			got, denied, err := e.act(tt.action, target, tt.opts)

			assert.False(t, denied)
			after := e.get(t, name)
			if tt.code != 0 {
				assertStatus(t, err, tt.code, tt.reason, tt.message)
				assert.Equal(t, before, after, "nothing is written on an error")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, after, got, "the answer is the VM as stored")
			assert.NotEqual(t, before.ResourceVersion, after.ResourceVersion)
			wantSpec := tt.wantSpec
			wantSpec.Template = before.Spec.Template
			assert.Equal(t, wantSpec, after.Spec)
			assert.Equal(t, tt.wantSCR, after.Status.StateChangeRequests)
		})
	}
}

func TestDryRun(t *testing.T) {
	e := newEnv(t)
	dryRun := []string{metav1.DryRunAll}
	tests := []struct {
		name   string
		action virtualmachine.Action
		opts   subresources.ActionOptions
		code   int // of the error; 0 when the action passes
	}{
		{"start", virtualmachine.ActionStart, subresources.ActionOptions{DryRun: dryRun}, 0},
		{"start paused", virtualmachine.ActionStart, subresources.ActionOptions{Paused: true, DryRun: dryRun}, 0},
		{"stop with grace", virtualmachine.ActionStop, subresources.ActionOptions{GracePeriodSeconds: ptr.To[int64](3), DryRun: dryRun}, 0},
		{"restart, conflict still checked", virtualmachine.ActionRestart, subresources.ActionOptions{DryRun: dryRun}, http.StatusConflict},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := "dry-" + string(rune('a'+i))
			// A Halted VM can start; an Always VM with an instance can stop.
			spec, status := strategySpec(kubevirtv1.RunStrategyHalted), (*kubevirtv1.VirtualMachineStatus)(nil)
			if tt.action == virtualmachine.ActionStop {
				spec, status = strategySpec(kubevirtv1.RunStrategyAlways), activeStatus
			}
			before := e.create(t, name, spec, status)

			got, _, err := e.act(tt.action, name, &tt.opts)

			assert.Equal(t, before, e.get(t, name), "dry-run writes nothing")
			if tt.code != 0 {
				assertStatus(t, err, tt.code, metav1.StatusReasonConflict, "")
				return
			}
			require.NoError(t, err)
			want, err := virtualmachine.Decide(before, tt.action, &tt.opts)
			require.NoError(t, err)
			assert.Equal(t, want.Spec, got.Spec, "the answer is the VM as it would be stored")
			assert.Equal(t, want.Status, got.Status)
		})
	}
}

// racingUpdater wraps the action store; before the transform first runs it
// lets race write the VM, so that the action's first write is stale.
type racingUpdater struct {
	rest.Updater
	race   func()
	calls  int
	seenRV []string
}

func (u *racingUpdater) Update(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo, createValidation rest.ValidateObjectFunc,
	updateValidation rest.ValidateObjectUpdateFunc, forceAllowCreate bool, options *metav1.UpdateOptions) (runtime.Object, bool, error) {
	wrapped := rest.DefaultUpdatedObjectInfo(nil, func(ctx context.Context, _, old runtime.Object) (runtime.Object, error) {
		u.calls++
		u.seenRV = append(u.seenRV, old.(*kubevirt.VirtualMachine).ResourceVersion)
		if u.calls == 1 {
			u.race()
		}
		return objInfo.UpdatedObject(ctx, old)
	})
	return u.Updater.Update(ctx, name, wrapped, createValidation, updateValidation, forceAllowCreate, options)
}

func TestStaleWriteIsDecidedAgain(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name    string
		spec    kubevirtv1.VirtualMachineSpec
		status  *kubevirtv1.VirtualMachineStatus
		action  virtualmachine.Action
		race    func(t *testing.T, name string)
		code    int
		message string
		check   func(t *testing.T, vm *kubevirt.VirtualMachine)
	}{
		{
			name: "a request that became pending blocks the restart", spec: strategySpec(kubevirtv1.RunStrategyManual), status: activeStatus,
			action: virtualmachine.ActionRestart,
			race: func(t *testing.T, name string) {
				s := *activeStatus
				s.StateChangeRequests = []kubevirtv1.VirtualMachineStateChangeRequest{{Action: kubevirtv1.StopRequest}}
				e.setStatus(t, name, s)
			},
			code: http.StatusConflict, message: "a start or stop request is already pending",
			check: func(t *testing.T, vm *kubevirt.VirtualMachine) {
				assert.Equal(t, []kubevirtv1.VirtualMachineStateChangeRequest{{Action: kubevirtv1.StopRequest}}, vm.Status.StateChangeRequests)
			},
		},
		{
			name: "an instance that finished cannot be stopped", spec: strategySpec(kubevirtv1.RunStrategyRerunOnFailure), status: activeStatus,
			action: virtualmachine.ActionStop,
			race:   func(t *testing.T, name string) { e.setStatus(t, name, *finishedStatus) },
			code:   http.StatusConflict, message: "VM is not running",
			check: func(t *testing.T, vm *kubevirt.VirtualMachine) {
				assert.Empty(t, vm.Status.StateChangeRequests)
			},
		},
		{
			name: "a concurrent label survives the start", spec: strategySpec(kubevirtv1.RunStrategyHalted),
			action: virtualmachine.ActionStart,
			race: func(t *testing.T, name string) {
				vm := e.get(t, name)
				vm.Labels = map[string]string{"raced": "yes"}
				_, _, err := e.vms.VirtualMachine.Update(nsContext(), name, rest.DefaultUpdatedObjectInfo(vm),
					rest.ValidateAllObjectFunc, rest.ValidateAllObjectUpdateFunc, false, &metav1.UpdateOptions{})
				require.NoError(t, err)
			},
			check: func(t *testing.T, vm *kubevirt.VirtualMachine) {
				assert.Equal(t, map[string]string{"raced": "yes"}, vm.Labels)
				assert.Equal(t, kubevirtv1.RunStrategyAlways, *vm.Spec.RunStrategy)
			},
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := "race-" + string(rune('a'+i))
			before := e.create(t, name, tt.spec, tt.status)
			var raced *kubevirt.VirtualMachine
			racing := *e.vms.Actions
			updater := &racingUpdater{Updater: racing.store, race: func() {
				tt.race(t, name)
				raced = e.get(t, name)
			}}
			racing.store = updater
			_, _, err := racing.Act(nsContext(), name, tt.action, &subresources.ActionOptions{}, "test")

			if tt.code != 0 {
				assertStatus(t, err, tt.code, metav1.StatusReasonConflict, tt.message)
			} else {
				require.NoError(t, err)
			}
			// The first decision saw the old state; the one that counted saw the raced write.
			require.Equal(t, 2, updater.calls)
			assert.Equal(t, []string{before.ResourceVersion, raced.ResourceVersion}, updater.seenRV)
			after := e.get(t, name)
			if tt.code != 0 {
				assert.Equal(t, raced, after, "nothing is written on an error")
			}
			tt.check(t, after)
		})
	}
}

func TestActionErrorsAreAPIStatus(t *testing.T) {
	e := newEnv(t)
	// A store error (here: no namespace in the context) is a Status, never a panic.
	_, _, err := e.vms.Actions.Act(context.Background(), "vm", virtualmachine.ActionStart, &subresources.ActionOptions{}, "test")
	require.Error(t, err)
	assert.True(t, apierrors.IsBadRequest(err), err.Error())
}
