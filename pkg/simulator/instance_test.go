package simulator

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	v1 "kubevirt.io/api/core/v1"
)

func TestPhaseRoundTrip(t *testing.T) {
	now := metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	tests := []struct {
		phase         phase
		wantPrintable v1.VirtualMachinePrintableStatus
		wantCreated   bool
		wantReady     bool
		wantPaused    bool
	}{
		{phaseNone, v1.VirtualMachineStatusStopped, false, false, false},
		{phaseStarting, v1.VirtualMachineStatusStarting, true, false, false},
		{phaseRunning, v1.VirtualMachineStatusRunning, true, true, false},
		{phasePaused, v1.VirtualMachineStatusPaused, true, false, true},
		{phaseStopping, v1.VirtualMachineStatusStopping, true, false, false},
		{phaseSucceeded, v1.VirtualMachineStatusStopped, true, false, false},
		{phaseFailed, v1.VirtualMachineStatusStopped, true, false, false},
	}
	for _, tc := range tests {
		t.Run(string(tc.phase), func(t *testing.T) {
			var status v1.VirtualMachineStatus
			setPhase(&status, tc.phase, now)
			assert.Equal(t, tc.wantPrintable, status.PrintableStatus)
			assert.Equal(t, tc.wantCreated, status.Created)
			assert.Equal(t, tc.wantReady, status.Ready)
			assert.Equal(t, tc.phase, observePhase(&status))

			ready := findCondition(status.Conditions, v1.VirtualMachineReady)
			require.NotNil(t, ready)
			assert.Equal(t, tc.wantReady, ready.Status == corev1.ConditionTrue)
			assert.NotEmpty(t, ready.Reason)
			assert.Equal(t, tc.wantPaused, findCondition(status.Conditions, v1.VirtualMachinePaused) != nil)
		})
	}
}

func TestObservePhaseOfForeignStatus(t *testing.T) {
	tests := []struct {
		name   string
		status v1.VirtualMachineStatus
		want   phase
	}{
		{"never written", v1.VirtualMachineStatus{}, phaseNone},
		{"not created but says Running", v1.VirtualMachineStatus{PrintableStatus: v1.VirtualMachineStatusRunning}, phaseNone},
		{"created with an unknown status counts as running", v1.VirtualMachineStatus{Created: true, PrintableStatus: "Migrating"}, phaseRunning},
		{"finished without a reason counts as shut down", v1.VirtualMachineStatus{Created: true, PrintableStatus: v1.VirtualMachineStatusStopped}, phaseSucceeded},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, observePhase(&tc.status))
		})
	}
}

func TestSetConditionKeepsTransitionTime(t *testing.T) {
	t0 := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	t1 := metav1.NewTime(t0.Add(time.Minute))
	t2 := metav1.NewTime(t0.Add(2 * time.Minute))

	var status v1.VirtualMachineStatus
	setPhase(&status, phaseStarting, t0)
	setPhase(&status, phaseStopping, t1) // Ready stays False: same transition time
	ready := findCondition(status.Conditions, v1.VirtualMachineReady)
	require.NotNil(t, ready)
	assert.Equal(t, t0, ready.LastTransitionTime)
	assert.Equal(t, ReasonStopping, ready.Reason)

	setPhase(&status, phaseRunning, t2) // Ready turns True
	ready = findCondition(status.Conditions, v1.VirtualMachineReady)
	require.NotNil(t, ready)
	assert.Equal(t, t2, ready.LastTransitionTime)
}

func TestFaultRecordRoundTrip(t *testing.T) {
	now := metav1.Now()
	tests := []struct {
		name  string
		value string
	}{
		{"plain", "crash-1"},
		{"quotes and colons", `shutdown-"a": b`},
		{"unicode", "crash-é"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var status v1.VirtualMachineStatus
			recordFault(&status, faultOutcome{value: tc.value, applied: true, reason: ReasonCrashInjected, detail: "x"}, now)
			assert.Equal(t, tc.value, lastHandledFault(&status))

			vm := &v1.VirtualMachine{Status: status}
			vm.Annotations = map[string]string{FaultAnnotation: tc.value}
			assert.Empty(t, pendingFault(vm), "a handled value is not pending")
			vm.Annotations[FaultAnnotation] = tc.value + "-again"
			assert.Equal(t, tc.value+"-again", pendingFault(vm))
		})
	}
}

func TestLastHandledFaultOfForeignCondition(t *testing.T) {
	status := v1.VirtualMachineStatus{Conditions: []v1.VirtualMachineCondition{
		{Type: ConditionSimulatedFault, Status: corev1.ConditionTrue, Message: "written by someone else"},
	}}
	assert.Empty(t, lastHandledFault(&status))
}
