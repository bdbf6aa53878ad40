package storage

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/endpoints/request"
	kubevirtv1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
	"github.com/vm-apiserver/vm-apiserver/pkg/apis/subresources"
	"github.com/vm-apiserver/vm-apiserver/pkg/registry/virtualmachine"
)

// seen is what an admission plugin was asked.
type seen struct {
	op          admission.Operation
	kind        schema.GroupVersionKind
	resource    schema.GroupVersionResource
	subresource string
	namespace   string
	name        string
	user        string
	dryRun      bool
	oldStrategy kubevirtv1.VirtualMachineRunStrategy
	newStrategy kubevirtv1.VirtualMachineRunStrategy
	newLabels   map[string]string
}

// plugin is an admission plugin for UPDATE that records what it sees,
// mutates the object with mutate (if set, as a mutating plugin) and answers
// validation with deny (if set).
type plugin struct {
	mu     sync.Mutex
	admits []seen
	checks []seen
	mutate func(*kubevirt.VirtualMachine)
	deny   func(admission.Attributes) error
}

var (
	_ admission.MutationInterface   = &plugin{}
	_ admission.ValidationInterface = &plugin{}
)

func (p *plugin) Handles(op admission.Operation) bool { return op == admission.Update }

func record(a admission.Attributes) seen {
	s := seen{op: a.GetOperation(), kind: a.GetKind(), resource: a.GetResource(), subresource: a.GetSubresource(),
		namespace: a.GetNamespace(), name: a.GetName(), dryRun: a.IsDryRun()}
	if u := a.GetUserInfo(); u != nil {
		s.user = u.GetName()
	}
	if vm, ok := a.GetOldObject().(*kubevirt.VirtualMachine); ok && vm.Spec.RunStrategy != nil {
		s.oldStrategy = *vm.Spec.RunStrategy
	}
	if vm, ok := a.GetObject().(*kubevirt.VirtualMachine); ok {
		if vm.Spec.RunStrategy != nil {
			s.newStrategy = *vm.Spec.RunStrategy
		}
		s.newLabels = vm.Labels
	}
	return s
}

func (p *plugin) Admit(_ context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	if p.mutate != nil {
		p.mutate(a.GetObject().(*kubevirt.VirtualMachine))
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.admits = append(p.admits, record(a))
	return nil
}

func (p *plugin) Validate(_ context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	p.mu.Lock()
	p.checks = append(p.checks, record(a))
	p.mu.Unlock()
	if p.deny != nil {
		return p.deny(a)
	}
	return nil
}

// actAs runs an action as user alice, under dry-run when dryRun is set.
func actAs(vms *VirtualMachineStorage, action virtualmachine.Action, name string, dryRun bool) (bool, error) {
	ctx := request.WithUser(nsContext(), &user.DefaultInfo{Name: "alice", Groups: []string{"ops"}})
	opts := &subresources.ActionOptions{}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	_, denied, err := vms.Actions.Act(ctx, name, action, opts, "test")
	return denied, err
}

func TestActionsPassAdmission(t *testing.T) {
	always := strategySpec(kubevirtv1.RunStrategyAlways)
	want := func(dryRun bool) seen {
		return seen{op: admission.Update, kind: vmKind, resource: kubevirtv1.SchemeGroupVersion.WithResource("virtualmachines"),
			subresource: "stop", namespace: namespace, name: "vm", user: "alice", dryRun: dryRun,
			oldStrategy: kubevirtv1.RunStrategyAlways, newStrategy: kubevirtv1.RunStrategyHalted}
	}

	t.Run("admitted as an UPDATE of virtualmachines/stop, mutating first", func(t *testing.T) {
		p := &plugin{}
		e := &env{vms: newTestStorage(t, p)}
		e.create(t, "vm", always, activeStatus)

		_, err := actAs(e.vms, virtualmachine.ActionStop, "vm", false)

		require.NoError(t, err)
		require.Len(t, p.admits, 1)
		require.Len(t, p.checks, 1)
		assert.Equal(t, want(false), p.admits[0])
		assert.Equal(t, want(false), p.checks[0])
		assert.Equal(t, kubevirtv1.RunStrategyHalted, *e.get(t, "vm").Spec.RunStrategy)
	})

	t.Run("dry-run is admitted too and writes nothing", func(t *testing.T) {
		p := &plugin{}
		e := &env{vms: newTestStorage(t, p)}
		before := e.create(t, "vm", always, activeStatus)

		_, err := actAs(e.vms, virtualmachine.ActionStop, "vm", true)

		require.NoError(t, err)
		require.Len(t, p.checks, 1)
		assert.Equal(t, want(true), p.checks[0])
		assert.Equal(t, before, e.get(t, "vm"))
	})

	t.Run("a denial is the answer and nothing is written", func(t *testing.T) {
		p := &plugin{deny: func(a admission.Attributes) error { return admission.NewForbidden(a, assert.AnError) }}
		e := &env{vms: newTestStorage(t, p)}
		before := e.create(t, "vm", always, activeStatus)

		denied, err := actAs(e.vms, virtualmachine.ActionStop, "vm", false)

		assertStatus(t, err, http.StatusForbidden, metav1.StatusReasonForbidden, assert.AnError.Error())
		assert.True(t, denied)
		assert.Equal(t, before, e.get(t, "vm"))
	})

	t.Run("a refused action reaches no admission plugin", func(t *testing.T) {
		p := &plugin{}
		e := &env{vms: newTestStorage(t, p)}
		e.create(t, "vm", strategySpec(kubevirtv1.RunStrategyHalted), nil)

		denied, err := actAs(e.vms, virtualmachine.ActionRestart, "vm", false)

		assertStatus(t, err, http.StatusConflict, metav1.StatusReasonConflict, "")
		assert.False(t, denied)
		assert.Empty(t, p.admits)
		assert.Empty(t, p.checks)
	})

	t.Run("a mutation of a field the action owns is kept and validated", func(t *testing.T) {
		p := &plugin{mutate: func(vm *kubevirt.VirtualMachine) {
			manual := kubevirtv1.RunStrategyManual
			vm.Spec.RunStrategy = &manual
		}}
		e := &env{vms: newTestStorage(t, p)}
		e.create(t, "vm", always, activeStatus)

		_, err := actAs(e.vms, virtualmachine.ActionStop, "vm", false)

		require.NoError(t, err)
		require.Len(t, p.checks, 1)
		assert.Equal(t, kubevirtv1.RunStrategyManual, p.checks[0].newStrategy, "validation sees the mutated object")
		assert.Equal(t, kubevirtv1.RunStrategyManual, *e.get(t, "vm").Spec.RunStrategy)
	})

	for _, tt := range []struct {
		name   string
		mutate func(*kubevirt.VirtualMachine)
		field  string
	}{
		{"label", func(vm *kubevirt.VirtualMachine) { vm.Labels = map[string]string{"stopped-by": "webhook"} }, "metadata.labels"},
		{"annotation", func(vm *kubevirt.VirtualMachine) { vm.Annotations = map[string]string{"a": "b"} }, "metadata.annotations"},
		{"other metadata", func(vm *kubevirt.VirtualMachine) { vm.Finalizers = []string{"x/y"} }, "metadata"},
		{"other spec", func(vm *kubevirt.VirtualMachine) { vm.Spec.Template.ObjectMeta.Labels = map[string]string{"a": "b"} }, "spec"},
		{"other status", func(vm *kubevirt.VirtualMachine) { vm.Status.Ready = false }, "status"},
	} {
		t.Run("a mutation outside the action is refused: "+tt.name, func(t *testing.T) {
			p := &plugin{mutate: tt.mutate}
			e := &env{vms: newTestStorage(t, p)}
			before := e.create(t, "vm", always, activeStatus)

			denied, err := actAs(e.vms, virtualmachine.ActionStop, "vm", false)

			assertStatus(t, err, http.StatusUnprocessableEntity, metav1.StatusReasonInvalid, "")
			assert.True(t, denied, "a refused mutation is the admission's refusal")
			status := err.(apierrors.APIStatus).Status()
			require.NotNil(t, status.Details)
			require.Len(t, status.Details.Causes, 1)
			assert.Equal(t, tt.field, status.Details.Causes[0].Field)
			assert.Contains(t, status.Message, "a mutating admission plugin changed this during a stop")
			assert.Empty(t, p.checks, "validation never sees a refused mutation")
			assert.Equal(t, before, e.get(t, "vm"))
		})
	}
}

func TestMutationsOutsideActionIgnoresOwnedFields(t *testing.T) {
	before := &kubevirt.VirtualMachine{}
	after := before.DeepCopy()
	halted := kubevirtv1.RunStrategyHalted
	after.Spec.RunStrategy = &halted
	after.Spec.Running = new(bool)
	after.Status.StateChangeRequests = []kubevirtv1.VirtualMachineStateChangeRequest{{Action: kubevirtv1.StopRequest}}
	assert.Empty(t, mutationsOutsideAction(before, after, virtualmachine.ActionStop))

	after.Labels = map[string]string{"a": "b"}
	after.Spec.Template = &kubevirtv1.VirtualMachineInstanceTemplateSpec{}
	errs := mutationsOutsideAction(before, after, virtualmachine.ActionStop)
	require.Len(t, errs, 2)
	assert.Equal(t, "metadata.labels", errs[0].Field)
	assert.Equal(t, "spec", errs[1].Field)
}

// mutatorOnly is a mutating plugin that validates nothing.
type mutatorOnly struct{}

func (mutatorOnly) Handles(admission.Operation) bool { return true }

func (mutatorOnly) Admit(context.Context, admission.Attributes, admission.ObjectInterfaces) error {
	return nil
}

// createsOnly validates creates alone.
type createsOnly struct{ plugin }

func (*createsOnly) Handles(op admission.Operation) bool { return op == admission.Create }

func TestValidatesUpdates(t *testing.T) {
	for _, tc := range []struct {
		name  string
		admit admission.Interface
		want  bool
	}{
		{"no admission (standalone)", nil, false},
		{"a validating plugin for updates", &plugin{}, true},
		{"the same behind the audit wrapper", admission.WithAudit(&plugin{}), true},
		{"in a chain", admission.NewChainHandler(mutatorOnly{}, &plugin{}), true},
		{"a mutating plugin alone", mutatorOnly{}, false},
		{"a validating plugin for creates alone", admission.WithAudit(admission.NewChainHandler(&createsOnly{})), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, validatesUpdates(tc.admit))
		})
	}
}

func TestActionsWithoutValidatingAdmission(t *testing.T) {
	creates := &createsOnly{}
	for _, tc := range []struct {
		name  string
		admit admission.Interface
	}{
		{"no admission", nil},
		{"a mutating plugin alone", mutatorOnly{}},
		{"a validating plugin for creates alone", creates},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := &env{vms: newTestStorage(t, tc.admit)}
			e.create(t, "vm", strategySpec(kubevirtv1.RunStrategyAlways), activeStatus)

			denied, err := actAs(e.vms, virtualmachine.ActionStop, "vm", false)

			require.NoError(t, err)
			assert.False(t, denied)
			assert.Equal(t, kubevirtv1.RunStrategyHalted, *e.get(t, "vm").Spec.RunStrategy)
		})
	}
	assert.Empty(t, creates.checks, "a plugin that validates creates alone is not asked about an action")
}
