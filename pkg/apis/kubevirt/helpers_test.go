package kubevirt

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"k8s.io/utils/ptr"
	virtv1 "kubevirt.io/api/core/v1"
)

func TestEffectiveRunStrategy(t *testing.T) {
	tests := []struct {
		name       string
		spec       virtv1.VirtualMachineSpec
		want       virtv1.VirtualMachineRunStrategy
		wantOK     bool
		wantLegacy bool
	}{
		{"runStrategy", virtv1.VirtualMachineSpec{RunStrategy: ptr.To(virtv1.RunStrategyManual)}, virtv1.RunStrategyManual, true, false},
		{"running true", virtv1.VirtualMachineSpec{Running: ptr.To(true)}, virtv1.RunStrategyAlways, true, true},
		{"running false", virtv1.VirtualMachineSpec{Running: ptr.To(false)}, virtv1.RunStrategyHalted, true, true},
		{"both: runStrategy wins", virtv1.VirtualMachineSpec{Running: ptr.To(true), RunStrategy: ptr.To(virtv1.RunStrategyHalted)}, virtv1.RunStrategyHalted, true, false},
		{"neither", virtv1.VirtualMachineSpec{}, "", false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := EffectiveRunStrategy(&tc.spec)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.wantOK, ok)
			assert.Equal(t, tc.wantLegacy, IsLegacy(&tc.spec))
		})
	}
}

func TestInstanceState(t *testing.T) {
	tests := []struct {
		name             string
		status           virtv1.VirtualMachineStatus
		active, finished bool
	}{
		{"never written", virtv1.VirtualMachineStatus{}, false, false},
		{"running", virtv1.VirtualMachineStatus{Created: true, PrintableStatus: virtv1.VirtualMachineStatusRunning}, true, false},
		{"another of KubeVirt's states", virtv1.VirtualMachineStatus{Created: true, PrintableStatus: virtv1.VirtualMachineStatusMigrating}, true, false},
		{"finished", virtv1.VirtualMachineStatus{Created: true, PrintableStatus: virtv1.VirtualMachineStatusStopped}, false, true},
		{"stopped without instance", virtv1.VirtualMachineStatus{PrintableStatus: virtv1.VirtualMachineStatusStopped}, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.active, InstanceActive(&tc.status))
			assert.Equal(t, tc.finished, InstanceFinished(&tc.status))
		})
	}
}

func TestSupportedRunStrategies(t *testing.T) {
	for _, s := range SupportedRunStrategies {
		assert.True(t, IsSupportedRunStrategy(s), s)
	}
	assert.True(t, IsSupportedRunStrategy(virtv1.RunStrategyWaitAsReceiver))
	assert.False(t, IsSupportedRunStrategy("Sometimes"))
	assert.False(t, IsSupportedRunStrategy(""))
}
