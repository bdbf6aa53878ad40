package storage

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	grpcstatus "google.golang.org/grpc/status"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	genericregistrytest "k8s.io/apiserver/pkg/registry/generic/testing"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/storage"
	kubevirtv1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
)

// newStorage builds the storages on an etcd started in the test process,
// without admission.
func newStorage(t *testing.T) *VirtualMachineStorage {
	t.Helper()
	return newTestStorage(t, nil)
}

func validVM(name string) *kubevirt.VirtualMachine {
	always := kubevirtv1.RunStrategyAlways
	return &kubevirt.VirtualMachine{
		// No namespace: the generic tester puts objects in its own.
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: kubevirtv1.VirtualMachineSpec{
			RunStrategy: &always,
			Template: &kubevirtv1.VirtualMachineInstanceTemplateSpec{
				Spec: kubevirtv1.VirtualMachineInstanceSpec{
					Domain: kubevirtv1.DomainSpec{Devices: kubevirtv1.Devices{
						Disks: []kubevirtv1.Disk{{Name: "containerdisk", DiskDevice: kubevirtv1.DiskDevice{Disk: &kubevirtv1.DiskTarget{Bus: "virtio"}}}},
					}},
					Volumes: []kubevirtv1.Volume{{Name: "containerdisk", VolumeSource: kubevirtv1.VolumeSource{
						ContainerDisk: &kubevirtv1.ContainerDiskSource{Image: "kubevirt/cirros-container-disk-demo:latest"},
					}}},
				},
			},
		},
	}
}

func withBothFields(vm *kubevirt.VirtualMachine) *kubevirt.VirtualMachine {
	running := true
	vm.Spec.Running = &running
	return vm
}

func TestCreate(t *testing.T) {
	s := newStorage(t)
	test := genericregistrytest.New(t, s.VirtualMachine.Store)
	noTemplate := validVM("")
	noTemplate.Spec.Template = nil
	test.TestCreate(validVM("vm"), withBothFields(validVM("")), noTemplate)
}

func TestUpdate(t *testing.T) {
	s := newStorage(t)
	test := genericregistrytest.New(t, s.VirtualMachine.Store)
	test.TestUpdate(validVM("vm"),
		func(obj runtime.Object) runtime.Object {
			vm := obj.(*kubevirt.VirtualMachine)
			halted := kubevirtv1.RunStrategyHalted
			vm.Spec.RunStrategy = &halted
			return vm
		},
		func(obj runtime.Object) runtime.Object {
			return withBothFields(obj.(*kubevirt.VirtualMachine))
		},
		func(obj runtime.Object) runtime.Object {
			vm := obj.(*kubevirt.VirtualMachine)
			bogus := kubevirtv1.VirtualMachineRunStrategy("Sometimes")
			vm.Spec.RunStrategy = &bogus
			return vm
		},
	)
}

func TestDelete(t *testing.T) {
	s := newStorage(t)
	genericregistrytest.New(t, s.VirtualMachine.Store).ReturnDeletedObject().TestDelete(validVM("vm"))
}

func TestGet(t *testing.T) {
	s := newStorage(t)
	genericregistrytest.New(t, s.VirtualMachine.Store).TestGet(validVM("vm"))
}

func TestList(t *testing.T) {
	s := newStorage(t)
	genericregistrytest.New(t, s.VirtualMachine.Store).TestList(validVM("vm"))
}

func TestWatch(t *testing.T) {
	s := newStorage(t)
	genericregistrytest.New(t, s.VirtualMachine.Store).TestWatch(
		validVM("vm"),
		[]labels.Set{{}},
		[]labels.Set{{"a": "b"}},
		[]fields.Set{
			{"metadata.name": "vm"},
			{"spec.runStrategy": "Always"},
			{"status.printableStatus": ""},
		},
		[]fields.Set{
			{"metadata.name": "other"},
			{"spec.runStrategy": "Halted"},
			{"status.printableStatus": "Running"},
		},
	)
}

func TestShortNamesAndCategories(t *testing.T) {
	s := newStorage(t)
	assert.Equal(t, []string{"vm", "vms"}, s.VirtualMachine.ShortNames())
	assert.Equal(t, []string{"all"}, s.VirtualMachine.Categories())
	assert.Equal(t, "virtualmachine", s.VirtualMachine.GetSingularName())
}

func ctxDefault() context.Context {
	return genericapirequest.WithNamespace(genericapirequest.NewContext(), metav1.NamespaceDefault)
}

// TestStatusAndActionStores checks the three stores' division of labour on
// one etcd: the main store never writes status, the status store never
// writes spec or labels, and the action store writes both at once.
func TestStatusAndActionStores(t *testing.T) {
	s := newStorage(t)
	ctx := ctxDefault()
	obj, err := s.VirtualMachine.Create(ctx, validVM("vm"), rest.ValidateAllObjectFunc, &metav1.CreateOptions{})
	require.NoError(t, err)
	vm := obj.(*kubevirt.VirtualMachine)
	assert.Equal(t, int64(1), vm.Generation)

	update := func(store rest.Updater, mutate func(*kubevirt.VirtualMachine)) *kubevirt.VirtualMachine {
		t.Helper()
		out, _, err := store.Update(ctx, "vm", rest.DefaultUpdatedObjectInfo(nil, func(_ context.Context, _, old runtime.Object) (runtime.Object, error) {
			vm := old.DeepCopyObject().(*kubevirt.VirtualMachine)
			mutate(vm)
			return vm, nil
		}), rest.ValidateAllObjectFunc, rest.ValidateAllObjectUpdateFunc, false, &metav1.UpdateOptions{})
		require.NoError(t, err)
		return out.(*kubevirt.VirtualMachine)
	}

	vm = update(s.VirtualMachine, func(vm *kubevirt.VirtualMachine) { vm.Status.PrintableStatus = kubevirtv1.VirtualMachineStatusRunning })
	assert.Empty(t, vm.Status.PrintableStatus, "the main resource drops status")

	vm = update(s.Status, func(vm *kubevirt.VirtualMachine) {
		vm.Status.Created = true
		vm.Status.PrintableStatus = kubevirtv1.VirtualMachineStatusRunning
		halted := kubevirtv1.RunStrategyHalted
		vm.Spec.RunStrategy = &halted
		vm.Labels = map[string]string{"x": "y"}
	})
	assert.Equal(t, kubevirtv1.VirtualMachineStatusRunning, vm.Status.PrintableStatus)
	assert.Equal(t, kubevirtv1.RunStrategyAlways, *vm.Spec.RunStrategy, "status keeps spec")
	assert.Empty(t, vm.Labels, "status keeps labels")
	assert.Equal(t, int64(1), vm.Generation)

	vm = update(s.Actions.store, func(vm *kubevirt.VirtualMachine) {
		halted := kubevirtv1.RunStrategyHalted
		vm.Spec.RunStrategy = &halted
		vm.Status.StateChangeRequests = []kubevirtv1.VirtualMachineStateChangeRequest{{Action: kubevirtv1.StopRequest}}
	})
	assert.Equal(t, kubevirtv1.RunStrategyHalted, *vm.Spec.RunStrategy)
	require.Len(t, vm.Status.StateChangeRequests, 1)
	assert.Equal(t, kubevirtv1.VirtualMachineStatusRunning, vm.Status.PrintableStatus, "the action keeps the runtime's status")
	assert.Equal(t, int64(2), vm.Generation, "a spec change bumps the generation")

	// An action whose result is invalid is refused whole.
	_, _, err = s.Actions.store.Update(ctx, "vm", rest.DefaultUpdatedObjectInfo(nil, func(_ context.Context, _, old runtime.Object) (runtime.Object, error) {
		vm := old.DeepCopyObject().(*kubevirt.VirtualMachine)
		vm.Status.StateChangeRequests = []kubevirtv1.VirtualMachineStateChangeRequest{{Action: "Explode"}}
		return vm, nil
	}), rest.ValidateAllObjectFunc, rest.ValidateAllObjectUpdateFunc, false, &metav1.UpdateOptions{})
	require.True(t, apierrors.IsInvalid(err), "got %v", err)

	// Status writes never create a VM.
	_, _, err = s.Status.Update(ctx, "missing", rest.DefaultUpdatedObjectInfo(validVM("missing")), rest.ValidateAllObjectFunc, rest.ValidateAllObjectUpdateFunc, true, &metav1.UpdateOptions{})
	require.True(t, apierrors.IsNotFound(err), "got %v", err)
}

func TestTable(t *testing.T) {
	legacy := validVM("legacy")
	legacy.Spec.RunStrategy = nil
	running := false
	legacy.Spec.Running = &running
	ready := validVM("ready")
	ready.Status = kubevirtv1.VirtualMachineStatus{
		PrintableStatus: kubevirtv1.VirtualMachineStatusRunning,
		Conditions:      []kubevirtv1.VirtualMachineCondition{{Type: kubevirtv1.VirtualMachineReady, Status: "True"}},
	}
	list := &kubevirt.VirtualMachineList{
		ListMeta: metav1.ListMeta{ResourceVersion: "42", Continue: "next"},
		Items:    []kubevirt.VirtualMachine{*validVM("plain"), *legacy, *ready},
	}
	table, err := tableConvertor{}.ConvertToTable(context.Background(), list, nil)
	require.NoError(t, err)
	assert.Equal(t, "42", table.ResourceVersion)
	assert.Equal(t, "next", table.Continue)
	require.Len(t, table.Rows, 3)
	for i, want := range [][]interface{}{
		{"plain", "<unknown>", "Stopped", "False", "Always"},
		{"legacy", "<unknown>", "Stopped", "False", "Halted"},
		{"ready", "<unknown>", "Running", "True", "Always"},
	} {
		assert.Equal(t, want, table.Rows[i].Cells)
	}
	_, err = tableConvertor{}.ConvertToTable(context.Background(), &metav1.Status{}, nil)
	require.Error(t, err)
}

func TestTranslateEtcdError(t *testing.T) {
	notFound := apierrors.NewNotFound(kubevirt.Resource("virtualmachines"), "vm")
	plain := errors.New("boom")
	for _, tc := range []struct {
		name string
		in   error
		code int32
		same bool
	}{
		{"nil stays nil", nil, 0, true},
		{"API errors pass through", notFound, http.StatusNotFound, true},
		{"other errors pass through", plain, 0, true},
		{"unreachable etcd is a 503", grpcstatus.Error(codes.Unavailable, "connection refused"), http.StatusServiceUnavailable, false},
		{"gRPC deadline is a 504", grpcstatus.Error(codes.DeadlineExceeded, "deadline"), http.StatusGatewayTimeout, false},
		{"request deadline is a 504", fmt.Errorf("get: %w", context.DeadlineExceeded), http.StatusGatewayTimeout, false},
		{"etcd request timeout is a 504", rpctypes.ErrTimeout, http.StatusGatewayTimeout, false},
		{"a timeout of a leader cut off from its peers is a 504", rpctypes.ErrTimeoutDueToConnectionLost, http.StatusGatewayTimeout, false},
		{"no leader is a 503", rpctypes.ErrNoLeader, http.StatusServiceUnavailable, false},
		{"a full etcd is a 507", rpctypes.ErrNoSpace, http.StatusInsufficientStorage, false},
		{"a full etcd, as gRPC says it, is a 507", fmt.Errorf("txn: %w", rpctypes.ErrGRPCNoSpace), http.StatusInsufficientStorage, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := translateEtcdError(tc.in)
			if tc.same {
				assert.Equal(t, tc.in, out)
				return
			}
			var status apierrors.APIStatus
			require.True(t, errors.As(out, &status), "got %T %v", out, out)
			assert.Equal(t, tc.code, status.Status().Code)
			if tc.code == http.StatusInsufficientStorage {
				assert.Equal(t, StatusReasonInsufficientStorage, status.Status().Reason)
				assert.Contains(t, status.Status().Message, "database space exceeded")
			}
		})
	}
}

// noLeaderStorage answers GuaranteedUpdate and Get with refusals first,
// recording whether each call required a leader.
type noLeaderStorage struct {
	storage.Interface
	refusals      []error
	calls         int
	requireLeader []bool
}

func (s *noLeaderStorage) answer(ctx context.Context) error {
	s.calls++
	md, _ := metadata.FromOutgoingContext(ctx)
	s.requireLeader = append(s.requireLeader, len(md.Get(rpctypes.MetadataRequireLeaderKey)) > 0)
	if len(s.refusals) == 0 {
		return nil
	}
	err := s.refusals[0]
	s.refusals = s.refusals[1:]
	return err
}

func (s *noLeaderStorage) GuaranteedUpdate(ctx context.Context, _ string, _ runtime.Object, _ bool, _ *storage.Preconditions, _ storage.UpdateFunc, _ runtime.Object) error {
	return s.answer(ctx)
}

func (s *noLeaderStorage) Get(ctx context.Context, _ string, _ storage.GetOptions, _ runtime.Object) error {
	return s.answer(ctx)
}

func TestEtcdCallsRequireALeader(t *testing.T) {
	update := func(s storage.Interface) error {
		return s.GuaranteedUpdate(context.Background(), "k", nil, false, nil, nil, nil)
	}
	get := func(s storage.Interface) error {
		return s.Get(context.Background(), "k", storage.GetOptions{}, nil)
	}
	for _, tc := range []struct {
		name     string
		call     func(storage.Interface) error
		refusals []error
		calls    int
		code     int32 // 0: success
	}{
		{"a write refused for want of a leader is sent again", update, []error{rpctypes.ErrNoLeader, rpctypes.ErrGRPCNoLeader}, 3, 0},
		{"a read too", get, []error{rpctypes.ErrNoLeader}, 2, 0},
		{"members that all lack a leader are a 503", update, []error{rpctypes.ErrNoLeader, rpctypes.ErrNoLeader, rpctypes.ErrNoLeader, rpctypes.ErrNoLeader, rpctypes.ErrNoLeader, rpctypes.ErrNoLeader}, noLeaderAttempts, http.StatusServiceUnavailable},
		{"a timeout is not sent again: it may have been applied", update, []error{rpctypes.ErrTimeout}, 1, http.StatusGatewayTimeout},
		{"nor is a full etcd", update, []error{rpctypes.ErrNoSpace}, 1, http.StatusInsufficientStorage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inner := &noLeaderStorage{refusals: tc.refusals}
			err := tc.call(etcdErrorsStorage{inner})
			assert.Equal(t, tc.calls, inner.calls)
			for i, required := range inner.requireLeader {
				assert.True(t, required, "call %d required a leader", i)
			}
			if tc.code == 0 {
				require.NoError(t, err)
				return
			}
			var status apierrors.APIStatus
			require.True(t, errors.As(err, &status), "got %T %v", err, err)
			assert.Equal(t, tc.code, status.Status().Code)
		})
	}
}
