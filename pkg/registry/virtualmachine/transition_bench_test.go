package virtualmachine

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	virtv1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
	kubevirtinstall "github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt/install"
	"github.com/vm-apiserver/vm-apiserver/pkg/apis/subresources"
)

// benchSeedPath is the repository's seed VM, the size every benchmark uses,
// relative to the repository's root.
const benchSeedPath = "artifacts/examples/vm-cirros.yaml"

// repoFile is the path of a file of the repository, given relative to its
// root: the nearest directory above the package's (where go test runs it)
// that holds a go.mod. It does not depend on how deep the package lies.
func repoFile(tb testing.TB, rel string) string {
	tb.Helper()
	dir, err := os.Getwd()
	require.NoError(tb, err)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, rel)
		}
		parent := filepath.Dir(dir)
		require.NotEqual(tb, dir, parent, "no go.mod above the package's directory")
		dir = parent
	}
}

// benchSeedVM decodes the seed VM into the internal type and gives it the
// metadata a stored VM has.
func benchSeedVM(b *testing.B) *kubevirt.VirtualMachine {
	b.Helper()
	data, err := os.ReadFile(repoFile(b, benchSeedPath))
	require.NoError(b, err)
	scheme := runtime.NewScheme()
	kubevirtinstall.Install(scheme)
	obj, _, err := serializer.NewCodecFactory(scheme).UniversalDecoder(kubevirt.SchemeGroupVersion).Decode(data, nil, nil)
	require.NoError(b, err)
	vm := obj.(*kubevirt.VirtualMachine)
	vm.Namespace = "bench"
	vm.UID = types.UID("6f1c3b1e-8d1a-4c4e-9a59-2a4f0e6c7d10")
	vm.ResourceVersion = "123456"
	vm.Generation = 7
	vm.CreationTimestamp = metav1.Unix(1700000000, 0)
	return vm
}

// benchSinkVM and benchSinkErr keep the compiler from dropping the calls.
var (
	benchSinkVM  *kubevirt.VirtualMachine
	benchSinkErr error
)

// BenchmarkDecide measures the transition function on a seed-sized VM: the
// two flips the action benchmark does, a stop with a grace period, a
// restart, and a refusal (409).
func BenchmarkDecide(b *testing.B) {
	seed := benchSeedVM(b)
	withStrategy := func(s virtv1.VirtualMachineRunStrategy, active bool) *kubevirt.VirtualMachine {
		vm := seed.DeepCopy()
		vm.Spec.RunStrategy = &s
		vm.Spec.Running = nil
		if active {
			vm.Status = virtv1.VirtualMachineStatus{Created: true, Ready: true, PrintableStatus: virtv1.VirtualMachineStatusRunning}
		}
		return vm
	}
	cases := []struct {
		name     string
		vm       *kubevirt.VirtualMachine
		action   Action
		opts     subresources.ActionOptions
		conflict bool
	}{
		{name: "start-halted", vm: withStrategy(virtv1.RunStrategyHalted, false), action: ActionStart},
		{name: "stop-always", vm: withStrategy(virtv1.RunStrategyAlways, false), action: ActionStop},
		{name: "stop-always-grace", vm: withStrategy(virtv1.RunStrategyAlways, true), action: ActionStop, opts: subresources.ActionOptions{GracePeriodSeconds: ptr.To[int64](30)}},
		{name: "restart-running", vm: withStrategy(virtv1.RunStrategyAlways, true), action: ActionRestart},
		{name: "start-always-409", vm: withStrategy(virtv1.RunStrategyAlways, false), action: ActionStart, conflict: true},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			_, err := Decide(tc.vm, tc.action, &tc.opts)
			if tc.conflict {
				require.Error(b, err)
			} else {
				require.NoError(b, err)
			}
			b.ReportAllocs()
			for b.Loop() {
				benchSinkVM, benchSinkErr = Decide(tc.vm, tc.action, &tc.opts)
			}
		})
	}
}
