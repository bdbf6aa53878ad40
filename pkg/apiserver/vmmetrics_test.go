package apiserver

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	kubevirtv1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
)

func testVM(name string, status kubevirtv1.VirtualMachinePrintableStatus, strategy *kubevirtv1.VirtualMachineRunStrategy, running *bool) *kubevirt.VirtualMachine {
	return &kubevirt.VirtualMachine{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name},
		Spec:       kubevirtv1.VirtualMachineSpec{RunStrategy: strategy, Running: running},
		Status:     kubevirtv1.VirtualMachineStatus{PrintableStatus: status},
	}
}

func strategy(s kubevirtv1.VirtualMachineRunStrategy) *kubevirtv1.VirtualMachineRunStrategy {
	return &s
}
func boolPtr(b bool) *bool { return &b }

func TestSummarize(t *testing.T) {
	tests := []struct {
		name                     string
		vm                       *kubevirt.VirtualMachine
		wantStatus, wantStrategy string
	}{
		{"run strategy", testVM("a", kubevirtv1.VirtualMachineStatusRunning, strategy(kubevirtv1.RunStrategyManual), nil), "Running", "Manual"},
		{"running true", testVM("a", kubevirtv1.VirtualMachineStatusStarting, nil, boolPtr(true)), "Starting", "Always"},
		{"running false", testVM("a", kubevirtv1.VirtualMachineStatusStopped, nil, boolPtr(false)), "Stopped", "Halted"},
		{"neither, no status", testVM("a", "", nil, nil), "Unknown", "None"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, runStrategy := summarize(tt.vm)
			assert.Equal(t, tt.wantStatus, status)
			assert.Equal(t, tt.wantStrategy, runStrategy)
		})
	}
}

// The collector, as a reflector's store: adds, updates, deletes (also as
// tombstones) and relists, and when each VM was first seen in its status.
func TestVMCollectorAsReflectorStore(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := newVMCollector()
	c.now = func() time.Time { return now }
	always := strategy(kubevirtv1.RunStrategyAlways)

	require.NoError(t, c.Add(testVM("a", kubevirtv1.VirtualMachineStatusStarting, always, nil)))
	require.NoError(t, c.Add(testVM("b", kubevirtv1.VirtualMachineStatusStopped, nil, boolPtr(false))))
	start := now

	now = now.Add(time.Minute)
	require.NoError(t, c.Update(testVM("a", kubevirtv1.VirtualMachineStatusStarting, always, nil)))
	assert.Equal(t, start, c.vms["ns/a"].since, "an update in the same status keeps when it was first seen")
	require.NoError(t, c.Update(testVM("b", kubevirtv1.VirtualMachineStatusStarting, always, nil)))
	assert.Equal(t, now, c.vms["ns/b"].since, "a new status starts counting again")
	assert.Equal(t, vmSummary{status: "Starting", runStrategy: "Always", since: now}, c.vms["ns/b"])

	// A relist keeps a VM's time in an unchanged status and forgets what is gone.
	now = now.Add(time.Minute)
	require.NoError(t, c.Replace([]interface{}{
		testVM("a", kubevirtv1.VirtualMachineStatusStarting, always, nil),
		testVM("c", kubevirtv1.VirtualMachineStatusRunning, always, nil),
	}, "42"))
	assert.Len(t, c.vms, 2)
	assert.Equal(t, start, c.vms["ns/a"].since)
	assert.Equal(t, now, c.vms["ns/c"].since)

	require.NoError(t, c.Delete(cache.DeletedFinalStateUnknown{Key: "ns/c", Obj: testVM("c", "", nil, nil)}))
	require.NoError(t, c.Delete(testVM("a", "", nil, nil)))
	assert.Empty(t, c.vms)
	require.NoError(t, c.Resync())

	assert.Error(t, c.Add(&kubevirtv1.VirtualMachine{}), "only the store's own type is expected")
	assert.Error(t, c.Replace([]interface{}{"x"}, "1"))
}
