package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/registry/rest"
	scalescheme "k8s.io/client-go/scale/scheme"
	kubevirtv1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
	vmv1 "github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt/v1"
	"github.com/vm-apiserver/vm-apiserver/pkg/registry/virtualmachine"
)

// scaleSeen is what an admission plugin was asked of a scale write.
type scaleSeen struct {
	op          admission.Operation
	kind        string
	resource    string
	subresource string
	user        string
	dryRun      bool
	oldReplicas int32
	newReplicas int32
}

// scalePlugin records the scale writes it admits and validates, and refuses
// validation with deny when set.
type scalePlugin struct {
	mu     sync.Mutex
	admits []scaleSeen
	checks []scaleSeen
	deny   error
}

func (p *scalePlugin) Handles(op admission.Operation) bool { return op == admission.Update }

func (p *scalePlugin) see(a admission.Attributes) scaleSeen {
	s := scaleSeen{op: a.GetOperation(), kind: a.GetKind().String(), resource: a.GetResource().String(),
		subresource: a.GetSubresource(), dryRun: a.IsDryRun(), oldReplicas: -1, newReplicas: -1}
	if u := a.GetUserInfo(); u != nil {
		s.user = u.GetName()
	}
	if scale, ok := a.GetOldObject().(*scalescheme.Scale); ok {
		s.oldReplicas = scale.Spec.Replicas
	}
	if scale, ok := a.GetObject().(*scalescheme.Scale); ok {
		s.newReplicas = scale.Spec.Replicas
	}
	return s
}

func (p *scalePlugin) Admit(_ context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.admits = append(p.admits, p.see(a))
	return nil
}

func (p *scalePlugin) Validate(_ context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.checks = append(p.checks, p.see(a))
	return p.deny
}

// scaleEnv serves the VM storages, scale included, through k8s.io/apiserver's
// installer, with a recording admission plugin.
type scaleEnv struct {
	*env
	handler http.Handler
	plugin  *scalePlugin
}

func newScaleEnv(t *testing.T) *scaleEnv {
	t.Helper()
	plugin := &scalePlugin{}
	vms := newTestStorage(t, nil)
	handler := serveStorages(t, map[string]rest.Storage{
		"virtualmachines":       vms.VirtualMachine,
		"virtualmachines/scale": vms.Scale,
	}, plugin, "alice")
	return &scaleEnv{env: &env{vms: vms}, handler: handler, plugin: plugin}
}

func scalePath(version, name string) string {
	return "/apis/kubevirt.io/" + version + "/namespaces/" + namespace + "/virtualmachines/" + name + "/scale"
}

// scaleOf decodes an answer that must be a 200 with an autoscaling/v1 Scale.
func scaleOf(t *testing.T, code int, body []byte) autoscalingv1.Scale {
	t.Helper()
	require.Equal(t, http.StatusOK, code, string(body))
	var scale autoscalingv1.Scale
	require.NoError(t, json.Unmarshal(body, &scale))
	assert.Equal(t, "autoscaling/v1", scale.APIVersion)
	assert.Equal(t, "Scale", scale.Kind)
	return scale
}

// statusOf decodes an answer that must be a metav1.Status with code.
func statusOf(t *testing.T, code int, body []byte, want int) metav1.Status {
	t.Helper()
	require.Equal(t, want, code, string(body))
	var status metav1.Status
	require.NoError(t, json.Unmarshal(body, &status))
	assert.Equal(t, "Status", status.Kind)
	assert.Equal(t, int32(want), status.Code)
	return status
}

// runStrategyOwner names the manager whose entry holds spec.runStrategy.
func runStrategyOwner(t *testing.T, entries []metav1.ManagedFieldsEntry) string {
	t.Helper()
	owner := ""
	for _, e := range entries {
		var fields struct {
			Spec map[string]json.RawMessage `json:"f:spec"`
		}
		require.NoError(t, json.Unmarshal(e.FieldsV1.GetRawBytes(), &fields))
		if _, ok := fields.Spec["f:runStrategy"]; ok {
			assert.Empty(t, owner, "one owner")
			owner = e.Manager
		}
	}
	return owner
}

func scaleBody(name, resourceVersion string, replicas int32) string {
	return fmt.Sprintf(`{"apiVersion":"autoscaling/v1","kind":"Scale","metadata":{"name":%q,"namespace":%q,"resourceVersion":%q},"spec":{"replicas":%d}}`,
		name, namespace, resourceVersion, replicas)
}

func TestScaleGet(t *testing.T) {
	e := newScaleEnv(t)
	vm := e.create(t, "running", strategySpec(kubevirtv1.RunStrategyManual), activeStatus)
	e.create(t, "halted", strategySpec(kubevirtv1.RunStrategyHalted), nil)

	for _, gv := range vmv1.Versions {
		t.Run(gv.Version, func(t *testing.T) {
			rec := serveJSON(e.handler, http.MethodGet, scalePath(gv.Version, "running"), "", "")
			scale := scaleOf(t, rec.Code, rec.Body.Bytes())
			assert.Equal(t, "running", scale.Name)
			assert.Equal(t, namespace, scale.Namespace)
			assert.Equal(t, vm.UID, scale.UID)
			assert.Equal(t, vm.ResourceVersion, scale.ResourceVersion)
			assert.Equal(t, int32(1), scale.Spec.Replicas)
			assert.Equal(t, int32(1), scale.Status.Replicas)
			assert.Equal(t, "kubevirt.io=virt-launcher,vmi.kubevirt.io/id=running", scale.Status.Selector)

			rec = serveJSON(e.handler, http.MethodGet, scalePath(gv.Version, "halted"), "", "")
			scale = scaleOf(t, rec.Code, rec.Body.Bytes())
			assert.Equal(t, int32(0), scale.Spec.Replicas)
			assert.Equal(t, int32(0), scale.Status.Replicas)

			rec = serveJSON(e.handler, http.MethodGet, scalePath(gv.Version, "missing"), "", "")
			status := statusOf(t, rec.Code, rec.Body.Bytes(), http.StatusNotFound)
			assert.Equal(t, metav1.StatusReasonNotFound, status.Reason)
		})
	}
}

// post creates a Halted VM through the handlers, as a client would, so that
// it carries managed fields.
func (e *scaleEnv) post(t *testing.T, name string) *kubevirt.VirtualMachine {
	t.Helper()
	path := "/apis/kubevirt.io/v1/namespaces/" + namespace + "/virtualmachines?fieldManager=creator"
	rec := serveJSON(e.handler, http.MethodPost, path, vmBody("kubevirt.io/v1", name), "application/json")
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	return e.get(t, name)
}

func TestScaleUpdate(t *testing.T) {
	e := newScaleEnv(t)
	vm := e.post(t, "vm")
	require.Equal(t, "creator", runStrategyOwner(t, vm.ManagedFields))

	// PUT 1 starts the Halted VM: it becomes Always, and the scale writer
	// owns the field it changed.
	rec := serveJSON(e.handler, http.MethodPut, scalePath("v1", "vm")+"?fieldManager=scaler", scaleBody("vm", vm.ResourceVersion, 1), "application/json")
	scale := scaleOf(t, rec.Code, rec.Body.Bytes())
	assert.Equal(t, int32(1), scale.Spec.Replicas)
	got := e.get(t, "vm")
	assert.Equal(t, kubevirtv1.RunStrategyAlways, *got.Spec.RunStrategy)
	assert.Equal(t, got.ResourceVersion, scale.ResourceVersion)
	assert.Equal(t, "scaler", runStrategyOwner(t, got.ManagedFields))

	// A merge patch of 0 through v1alpha3 stops it.
	rec = serveJSON(e.handler, http.MethodPatch, scalePath("v1alpha3", "vm")+"?fieldManager=patcher", `{"spec":{"replicas":0}}`, "application/merge-patch+json")
	scale = scaleOf(t, rec.Code, rec.Body.Bytes())
	assert.Equal(t, int32(0), scale.Spec.Replicas)
	got = e.get(t, "vm")
	assert.Equal(t, kubevirtv1.RunStrategyHalted, *got.Spec.RunStrategy)
	assert.Equal(t, "patcher", runStrategyOwner(t, got.ManagedFields))
}

func TestScaleStaleResourceVersionConflicts(t *testing.T) {
	e := newScaleEnv(t)
	stale := e.create(t, "vm", strategySpec(kubevirtv1.RunStrategyHalted), nil)
	e.setStatus(t, "vm", kubevirtv1.VirtualMachineStatus{PrintableStatus: kubevirtv1.VirtualMachineStatusStopped})
	current := e.get(t, "vm")
	require.NotEqual(t, stale.ResourceVersion, current.ResourceVersion)

	rec := serveJSON(e.handler, http.MethodPut, scalePath("v1", "vm"), scaleBody("vm", stale.ResourceVersion, 1), "application/json")
	status := statusOf(t, rec.Code, rec.Body.Bytes(), http.StatusConflict)
	assert.Equal(t, metav1.StatusReasonConflict, status.Reason)
	assert.Contains(t, status.Message, "the object has been modified")
	assert.Equal(t, current, e.get(t, "vm"), "nothing written")

	// Without a resourceVersion, the write applies to the VM as it is.
	rec = serveJSON(e.handler, http.MethodPut, scalePath("v1", "vm"), scaleBody("vm", "", 1), "application/json")
	assert.Equal(t, int32(1), scaleOf(t, rec.Code, rec.Body.Bytes()).Spec.Replicas)
}

func TestScaleUnchangedWritesNothing(t *testing.T) {
	e := newScaleEnv(t)
	for _, tt := range []struct {
		name     string
		spec     kubevirtv1.VirtualMachineSpec
		status   *kubevirtv1.VirtualMachineStatus
		replicas int32
	}{
		{"halted", strategySpec(kubevirtv1.RunStrategyHalted), nil, 0},
		{"always", strategySpec(kubevirtv1.RunStrategyAlways), activeStatus, 1},
		// A stop of this VM would be refused; the same replicas are not a stop.
		{"once-finished", strategySpec(kubevirtv1.RunStrategyOnce), finishedStatus, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := e.create(t, tt.name, tt.spec, tt.status)
			rec := serveJSON(e.handler, http.MethodPut, scalePath("v1", tt.name), scaleBody(tt.name, before.ResourceVersion, tt.replicas), "application/json")
			scale := scaleOf(t, rec.Code, rec.Body.Bytes())
			assert.Equal(t, tt.replicas, scale.Spec.Replicas)
			assert.Equal(t, before.ResourceVersion, scale.ResourceVersion)
			assert.Equal(t, before, e.get(t, tt.name), "nothing written")
		})
	}
}

func TestScaleDryRunWritesNothing(t *testing.T) {
	e := newScaleEnv(t)
	before := e.create(t, "vm", strategySpec(kubevirtv1.RunStrategyHalted), nil)

	rec := serveJSON(e.handler, http.MethodPut, scalePath("v1", "vm")+"?dryRun=All", scaleBody("vm", "", 1), "application/json")
	assert.Equal(t, int32(1), scaleOf(t, rec.Code, rec.Body.Bytes()).Spec.Replicas, "answers as it would be")
	assert.Equal(t, before, e.get(t, "vm"), "nothing written")

	// The admission plugins were told.
	require.NotEmpty(t, e.plugin.checks)
	assert.True(t, e.plugin.checks[len(e.plugin.checks)-1].dryRun)
}

func TestScaleRefusals(t *testing.T) {
	e := newScaleEnv(t)
	e.create(t, "once", strategySpec(kubevirtv1.RunStrategyOnce), finishedStatus)
	e.create(t, "manual", strategySpec(kubevirtv1.RunStrategyManual), nil)
	for _, tt := range []struct {
		name, vm, body string
		code           int
		reason         metav1.StatusReason
		message        string
	}{
		{"table refuses a start", "once", `{"spec":{"replicas":1}}`, http.StatusConflict, metav1.StatusReasonConflict,
			`Operation cannot be fulfilled on virtualmachines.kubevirt.io "once": Once does not support manual start requests`},
		{"two replicas", "manual", `{"spec":{"replicas":2}}`, http.StatusUnprocessableEntity, metav1.StatusReasonInvalid,
			`Scale.autoscaling "manual" is invalid: spec.replicas: Invalid value: 2: a VirtualMachine runs one instance or none: must be 0 or 1`},
		{"negative replicas", "manual", `{"spec":{"replicas":-1}}`, http.StatusUnprocessableEntity, metav1.StatusReasonInvalid,
			`Scale.autoscaling "manual" is invalid: spec.replicas: Invalid value: -1: a VirtualMachine runs one instance or none: must be 0 or 1`},
		{"missing VM", "missing", `{"spec":{"replicas":1}}`, http.StatusNotFound, metav1.StatusReasonNotFound,
			`virtualmachines.kubevirt.io "missing" not found`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var before *kubevirt.VirtualMachine
			if tt.vm != "missing" {
				before = e.get(t, tt.vm)
			}
			rec := serveJSON(e.handler, http.MethodPatch, scalePath("v1", tt.vm), tt.body, "application/merge-patch+json")
			status := statusOf(t, rec.Code, rec.Body.Bytes(), tt.code)
			assert.Equal(t, tt.reason, status.Reason)
			assert.Equal(t, tt.message, status.Message)
			if tt.code == http.StatusUnprocessableEntity {
				require.NotNil(t, status.Details)
				require.Len(t, status.Details.Causes, 1)
				assert.Equal(t, "spec.replicas", status.Details.Causes[0].Field)
			}
			if before != nil {
				assert.Equal(t, before, e.get(t, tt.vm), "nothing written")
			}
		})
	}
}

func TestScaleAdmission(t *testing.T) {
	e := newScaleEnv(t)
	e.create(t, "vm", strategySpec(kubevirtv1.RunStrategyHalted), nil)

	rec := serveJSON(e.handler, http.MethodPatch, scalePath("v1alpha3", "vm"), `{"spec":{"replicas":1}}`, "application/merge-patch+json")
	scaleOf(t, rec.Code, rec.Body.Bytes())
	want := scaleSeen{
		op: admission.Update, kind: "autoscaling/v1, Kind=Scale", resource: "kubevirt.io/v1alpha3, Resource=virtualmachines",
		subresource: "scale", user: "alice", oldReplicas: 0, newReplicas: 1,
	}
	require.Len(t, e.plugin.admits, 1)
	assert.Equal(t, want, e.plugin.admits[0])
	require.Len(t, e.plugin.checks, 1)
	assert.Equal(t, want, e.plugin.checks[0])

	// A refusal writes nothing.
	e.plugin.deny = apierrors.NewForbidden(kubevirt.Resource("virtualmachines/scale"), "vm", fmt.Errorf("no scaling"))
	before := e.get(t, "vm")
	rec = serveJSON(e.handler, http.MethodPatch, scalePath("v1", "vm"), `{"spec":{"replicas":0}}`, "application/merge-patch+json")
	statusOf(t, rec.Code, rec.Body.Bytes(), http.StatusForbidden)
	assert.Equal(t, before, e.get(t, "vm"), "nothing written")
}

// TestUpdateScaleReportsTheWrite: what the server's metrics and Events
// read of a write.
func TestUpdateScaleReportsTheWrite(t *testing.T) {
	e := newScaleEnv(t)
	e.post(t, "vm")
	to := func(replicas int32) rest.UpdatedObjectInfo {
		return rest.DefaultUpdatedObjectInfo(nil, func(_ context.Context, _, old runtime.Object) (runtime.Object, error) {
			scale := old.(*scalescheme.Scale).DeepCopy()
			scale.Spec.Replicas = replicas
			return scale, nil
		})
	}
	denyAll := func(context.Context, runtime.Object, runtime.Object) error {
		return apierrors.NewForbidden(kubevirt.Resource("virtualmachines/scale"), "vm", fmt.Errorf("no"))
	}

	_, write, err := e.vms.Scale.UpdateScale(nsContext(), "vm", to(1), nil, denyAll, &metav1.UpdateOptions{}, "m")
	require.Error(t, err)
	assert.True(t, write.Denied)
	assert.Nil(t, write.VM)

	obj, write, err := e.vms.Scale.UpdateScale(nsContext(), "vm", to(1), nil, rest.ValidateAllObjectUpdateFunc, &metav1.UpdateOptions{}, "m")
	require.NoError(t, err)
	assert.Equal(t, virtualmachine.ActionStart, write.Action)
	assert.False(t, write.Denied)
	require.NotNil(t, write.VM)
	assert.Equal(t, write.VM.ResourceVersion, obj.(*scalescheme.Scale).ResourceVersion)
	assert.Equal(t, "m", runStrategyOwner(t, write.VM.ManagedFields))

	_, write, err = e.vms.Scale.UpdateScale(nsContext(), "vm", to(1), nil, rest.ValidateAllObjectUpdateFunc, &metav1.UpdateOptions{}, "m")
	require.NoError(t, err)
	assert.Empty(t, write.Action, "the same replicas decide nothing")

	_, write, err = e.vms.Scale.UpdateScale(nsContext(), "vm", to(0), nil, rest.ValidateAllObjectUpdateFunc, &metav1.UpdateOptions{}, "m")
	require.NoError(t, err)
	assert.Equal(t, virtualmachine.ActionStop, write.Action)
}
