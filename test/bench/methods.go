package bench

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path"
	"strings"
	"sync/atomic"

	clientv3 "go.etcd.io/etcd/client/v3"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	kubevirtv1 "kubevirt.io/api/core/v1"

	typedv1 "github.com/vm-apiserver/vm-apiserver/pkg/generated/clientset/versioned/typed/core/v1"
)

// maxRetries bounds the retries of one flip. Conflicts are expected when
// many workers share a VM; this many in a row means something is wrong.
const maxRetries = 1000

// Method is one way of flipping a VM between Halted and Always.
type Method interface {
	// Name is the method's letter: A, M, B, C, D, P or R.
	Name() string
	// Prepare runs before each cell, outside the measured time.
	Prepare(ctx context.Context) error
	// Flip changes VM i once, retrying on conflicts, and returns how many
	// retries it took.
	Flip(ctx context.Context, i int) (retries int, err error)
}

// MethodNames are the methods in the order they run and print.
var MethodNames = []string{"A", "M", "B", "C", "D", "P", "R"}

// Servers are the API servers the methods talk to.
type Servers struct {
	// Server is the vm-apiserver under test: A, B and C.
	Server *Clients
	// Peer is kube-apiserver serving VirtualMachines as a custom
	// resource: P.
	Peer *Clients
	// Reference is a second vm-apiserver, the reference that a change is
	// measured against (another build, environment or flags): R.
	Reference *Clients
}

// NewMethod returns the method called name acting on the VMs names in
// namespace ns. etcdPrefix is the server's --etcd-prefix, needed by D only.
func NewMethod(name string, s Servers, etcd *clientv3.Client, etcdPrefix, ns string, names []string) (Method, error) {
	vms := s.Server.VMs.KubevirtV1().VirtualMachines(ns)
	switch name {
	case "A":
		return newActionMethod("A", vms, names), nil
	case "M":
		return &minimalActionMethod{actionMethod: newActionMethod("M", vms, names), rest: s.Server.VMs.KubevirtV1().RESTClient(), ns: ns}, nil
	case "R":
		if s.Reference == nil {
			return nil, fmt.Errorf("method R needs the reference vm-apiserver")
		}
		return newActionMethod("R", s.Reference.VMs.KubevirtV1().VirtualMachines(ns), names), nil
	case "B":
		return &updateMethod{vms: vms, names: names}, nil
	case "C":
		return &patchMethod{name: "C", vms: vms, names: names}, nil
	case "P":
		if s.Peer == nil {
			return nil, fmt.Errorf("method P needs the peer kube-apiserver")
		}
		return &patchMethod{name: "P", vms: s.Peer.VMs.KubevirtV1().VirtualMachines(ns), names: names}, nil
	case "D":
		if etcd == nil {
			return nil, fmt.Errorf("method D needs an etcd client")
		}
		return &etcdMethod{etcd: etcd, prefix: etcdPrefix, ns: ns, names: names}, nil
	}
	return nil, fmt.Errorf("unknown method %q (want one of %s)", name, strings.Join(MethodNames, ", "))
}

func newActionMethod(name string, vms typedv1.VirtualMachineInterface, names []string) *actionMethod {
	return &actionMethod{name: name, vms: vms, names: names, running: make([]atomic.Bool, len(names))}
}

// running reports whether vm's strategy is Always.
func running(vm *kubevirtv1.VirtualMachine) bool {
	return vm.Spec.RunStrategy != nil && *vm.Spec.RunStrategy == kubevirtv1.RunStrategyAlways
}

// flipped is the strategy that flips vm: Halted for Always, else Always.
func flipped(vm *kubevirtv1.VirtualMachine) kubevirtv1.VirtualMachineRunStrategy {
	if running(vm) {
		return kubevirtv1.RunStrategyHalted
	}
	return kubevirtv1.RunStrategyAlways
}

// actionMethod is A: one PUT of start or stop per flip. The worker needs no
// read: it sends stop to a VM it believes Always and start otherwise, and
// learns the state from the answer. A 409 ("already running", "not
// running") means another worker flipped the VM first; it sends the other
// action, just as B and C read again after losing a race. Against the
// reference vm-apiserver it is R.
type actionMethod struct {
	name    string
	vms     typedv1.VirtualMachineInterface
	names   []string
	running []atomic.Bool
}

func (m *actionMethod) Name() string { return m.name }

// Prepare reads each VM's state, which B, C or an earlier cell may have changed.
func (m *actionMethod) Prepare(ctx context.Context) error {
	for i, n := range m.names {
		vm, err := m.vms.Get(ctx, n, metav1.GetOptions{})
		if err != nil {
			return err
		}
		m.running[i].Store(running(vm))
	}
	return nil
}

func (m *actionMethod) Flip(ctx context.Context, i int) (int, error) {
	for retries := 0; retries <= maxRetries; retries++ {
		believed := m.running[i].Load()
		var vm *kubevirtv1.VirtualMachine
		var err error
		if believed {
			vm, err = m.vms.Stop(ctx, m.names[i], nil)
		} else {
			vm, err = m.vms.Start(ctx, m.names[i], nil)
		}
		if apierrors.IsConflict(err) {
			// Someone else flipped it; only correct the belief we acted on.
			m.running[i].CompareAndSwap(believed, !believed)
			continue
		}
		if err != nil {
			return retries, err
		}
		m.running[i].Store(running(vm))
		return retries, nil
	}
	return maxRetries, errTooManyRetries
}

// minimalActionMethod is M: A's requests with the header Prefer:
// return=minimal, which KubeVirt's clients could send since they read no
// answer. The server answers 202 with no body; the worker then knows the VM
// took the state it asked for.
type minimalActionMethod struct {
	*actionMethod
	rest rest.Interface
	ns   string
}

func (m *minimalActionMethod) Flip(ctx context.Context, i int) (int, error) {
	for retries := 0; retries <= maxRetries; retries++ {
		believed := m.running[i].Load()
		action := "start"
		if believed {
			action = "stop"
		}
		result := m.rest.Put().
			AbsPath("/apis/subresources.kubevirt.io/v1/namespaces", m.ns, "virtualmachines", m.names[i], action).
			SetHeader("Prefer", "return=minimal").
			Do(ctx)
		err := result.Error()
		if apierrors.IsConflict(err) {
			m.running[i].CompareAndSwap(believed, !believed)
			continue
		}
		if err != nil {
			return retries, err
		}
		var code int
		if result.StatusCode(&code); code != http.StatusAccepted {
			return retries, fmt.Errorf("%s of %s answered %d, want 202", action, m.names[i], code)
		}
		m.running[i].Store(!believed)
		return retries, nil
	}
	return maxRetries, errTooManyRetries
}

// updateMethod is B: GET the VM, flip spec.runStrategy, PUT the whole VM
// with its resourceVersion; on a 409 start over.
type updateMethod struct {
	vms   typedv1.VirtualMachineInterface
	names []string
}

func (m *updateMethod) Name() string                  { return "B" }
func (m *updateMethod) Prepare(context.Context) error { return nil }

func (m *updateMethod) Flip(ctx context.Context, i int) (int, error) {
	for retries := 0; retries <= maxRetries; retries++ {
		vm, err := m.vms.Get(ctx, m.names[i], metav1.GetOptions{})
		if err != nil {
			return retries, err
		}
		s := flipped(vm)
		vm.Spec.RunStrategy = &s
		_, err = m.vms.Update(ctx, vm, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) {
			continue
		}
		return retries, err
	}
	return maxRetries, errTooManyRetries
}

// patchMethod is C, what KubeVirt's virt-api does: GET the VM, then a JSON
// patch that tests spec.runStrategy against what was read and replaces it.
// A failed test (422) or a conflict starts over. Against vm-apiserver it is
// C; against kube-apiserver serving the VirtualMachine CRD it is P, the
// peer: the requests virt-api sends to a KubeVirt cluster's API server.
type patchMethod struct {
	name  string
	vms   typedv1.VirtualMachineInterface
	names []string
}

func (m *patchMethod) Name() string                  { return m.name }
func (m *patchMethod) Prepare(context.Context) error { return nil }

func (m *patchMethod) Flip(ctx context.Context, i int) (int, error) {
	for retries := 0; retries <= maxRetries; retries++ {
		vm, err := m.vms.Get(ctx, m.names[i], metav1.GetOptions{})
		if err != nil {
			return retries, err
		}
		if vm.Spec.RunStrategy == nil {
			return retries, fmt.Errorf("VM %s has no spec.runStrategy", m.names[i])
		}
		patch := fmt.Appendf(nil,
			`[{"op":"test","path":"/spec/runStrategy","value":%q},{"op":"replace","path":"/spec/runStrategy","value":%q}]`,
			*vm.Spec.RunStrategy, flipped(vm))
		_, err = m.vms.Patch(ctx, m.names[i], types.JSONPatchType, patch, metav1.PatchOptions{})
		if apierrors.IsConflict(err) || isUnprocessable(err) {
			continue
		}
		return retries, err
	}
	return maxRetries, errTooManyRetries
}

// isUnprocessable reports a 422: how the server answers a JSON patch whose
// test operation failed.
func isUnprocessable(err error) bool {
	var status apierrors.APIStatus
	return errors.As(err, &status) && status.Status().Code == http.StatusUnprocessableEntity
}

// etcdMethod is D, the floor: a Get of the VM's key, then a Txn that puts
// the same bytes if the mod revision is still the one read; a failed
// comparison starts over. It is what the server's store pays at least,
// without HTTP, TLS, decoding, validation or encoding.
type etcdMethod struct {
	etcd   *clientv3.Client
	prefix string
	ns     string
	names  []string
	keys   []string
}

func (m *etcdMethod) Name() string { return "D" }

// Prepare finds the VMs' keys. The server's layout under --etcd-prefix is
// the generic store's (today <prefix>/kubevirt.io/virtualmachines/<ns>/<name>);
// rather than assume it, the harness looks for the first VM's key.
func (m *etcdMethod) Prepare(ctx context.Context) error {
	if m.keys != nil {
		return nil
	}
	suffix := path.Join("/virtualmachines", m.ns, m.names[0])
	resp, err := m.etcd.Get(ctx, m.prefix+"/", clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return err
	}
	var dir string
	for _, kv := range resp.Kvs {
		if k := string(kv.Key); strings.HasSuffix(k, suffix) {
			dir = strings.TrimSuffix(k, suffix)
			break
		}
	}
	if dir == "" {
		return fmt.Errorf("no key ending in %s under %s in etcd: is --etcd-prefix the server's?", suffix, m.prefix)
	}
	keys := make([]string, len(m.names))
	for i, n := range m.names {
		keys[i] = path.Join(dir, "virtualmachines", m.ns, n)
	}
	m.keys = keys
	return nil
}

func (m *etcdMethod) Flip(ctx context.Context, i int) (int, error) {
	key := m.keys[i]
	for retries := 0; retries <= maxRetries; retries++ {
		got, err := m.etcd.Get(ctx, key)
		if err != nil {
			return retries, err
		}
		if len(got.Kvs) != 1 {
			return retries, fmt.Errorf("etcd key %s is gone", key)
		}
		kv := got.Kvs[0]
		txn, err := m.etcd.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(key), "=", kv.ModRevision)).
			Then(clientv3.OpPut(key, string(kv.Value))).
			Commit()
		if err != nil {
			return retries, err
		}
		if txn.Succeeded {
			return retries, nil
		}
	}
	return maxRetries, errTooManyRetries
}

var errTooManyRetries = fmt.Errorf("gave up after %d retries", maxRetries)
