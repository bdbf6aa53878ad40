package simulator

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	v1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
)

// model runs decide and nextStatus the way the controller does, on one VM
// and a virtual clock, without a server: a write is seen at once, and a wait
// moves the clock on. It lets the per-strategy stories be told step by step.
type model struct {
	t     *testing.T
	vm    *v1.VirtualMachine
	now   time.Time
	since phaseSince
	// trace is every printableStatus written, in order.
	trace []v1.VirtualMachinePrintableStatus
}

func newModel(t *testing.T, strategy v1.VirtualMachineRunStrategy) *model {
	vm := &v1.VirtualMachine{
		ObjectMeta: metav1.ObjectMeta{Name: "vm", Namespace: "ns", Generation: 1, UID: "uid-1"},
		Spec:       v1.VirtualMachineSpec{RunStrategy: ptr.To(strategy), Template: &v1.VirtualMachineInstanceTemplateSpec{}},
	}
	return &model{t: t, vm: vm, now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), since: phaseSince{phase: "unset"}}
}

// settle steps until the runtime has nothing left to do, and returns the
// printable statuses written on the way.
func (m *model) settle() []v1.VirtualMachinePrintableStatus {
	m.t.Helper()
	m.trace = nil
	for range 100 {
		strategy, ok := kubevirt.EffectiveRunStrategy(&m.vm.Spec)
		require.True(m.t, ok)
		current := observePhase(&m.vm.Status)
		if m.since.phase != current {
			m.since = phaseSince{phase: current, at: m.now}
		}
		o := observation{
			strategy:     strategy,
			lastStrategy: m.vm.Status.RunStrategy,
			phase:        current,
			inPhase:      m.now.Sub(m.since.at),
			requests:     m.vm.Status.StateChangeRequests,
			fault:        pendingFault(m.vm),
		}
		o.terminationGracePeriod = m.vm.Spec.Template.Spec.TerminationGracePeriodSeconds
		d := decide(o, testTiming)
		status := nextStatus(m.vm, strategy, d, metav1.NewTime(m.now))
		if !apiequality.Semantic.DeepEqual(status, m.vm.Status) {
			if status.PrintableStatus != m.vm.Status.PrintableStatus || len(m.trace) == 0 {
				m.trace = append(m.trace, status.PrintableStatus)
			}
			m.vm.Status = status
			if d.next != current {
				m.since = phaseSince{phase: d.next, at: m.now}
			}
			continue
		}
		if d.requeue > 0 {
			m.now = m.now.Add(d.requeue)
			continue
		}
		return m.trace
	}
	m.t.Fatalf("the runtime never settled; status %+v", m.vm.Status)
	return nil
}

// setStrategy changes the spec as an action or an edit would.
func (m *model) setStrategy(s v1.VirtualMachineRunStrategy) {
	m.vm.Spec.RunStrategy = ptr.To(s)
	m.vm.Generation++
}

// request appends state change requests as an action would.
func (m *model) request(r ...v1.VirtualMachineStateChangeRequest) {
	m.vm.Status.StateChangeRequests = append(m.vm.Status.StateChangeRequests, r...)
}

// fault sets the fault annotation as a person would.
func (m *model) fault(value string) {
	if m.vm.Annotations == nil {
		m.vm.Annotations = map[string]string{}
	}
	m.vm.Annotations[FaultAnnotation] = value
}

const (
	stopped  = v1.VirtualMachineStatusStopped
	starting = v1.VirtualMachineStatusStarting
	running  = v1.VirtualMachineStatusRunning
	paused   = v1.VirtualMachineStatusPaused
	stopping = v1.VirtualMachineStatusStopping
)

func TestScenarios(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, m *model)
	}{
		{"Halted start runs under Always", func(t *testing.T, m *model) {
			assert.Equal(t, []v1.VirtualMachinePrintableStatus{stopped}, m.settle())
			m.setStrategy(v1.RunStrategyAlways)
			assert.Equal(t, []v1.VirtualMachinePrintableStatus{starting, running}, m.settle())
			assert.Equal(t, v1.RunStrategyAlways, m.vm.Status.RunStrategy)
			assert.True(t, m.vm.Status.Ready)
			assert.Equal(t, int64(2), m.vm.Status.ObservedGeneration)
		}},
		{"Halted paused start ends paused", func(t *testing.T, m *model) {
			m.settle()
			m.setStrategy(v1.RunStrategyAlways)
			m.request(startReq(map[string]string{"paused": "true"}))
			assert.Equal(t, []v1.VirtualMachinePrintableStatus{starting, paused}, m.settle())
			assert.Empty(t, m.vm.Status.StateChangeRequests)
		}},
		{"Always restart stops then runs again", func(t *testing.T, m *model) {
			m.setStrategy(v1.RunStrategyAlways)
			m.settle()
			m.request(stopReq(nil), startReq(nil))
			assert.Equal(t, []v1.VirtualMachinePrintableStatus{stopping, stopped, starting, running}, m.settle())
			assert.Empty(t, m.vm.Status.StateChangeRequests)
			assert.Equal(t, v1.RunStrategyAlways, m.vm.Status.RunStrategy)
		}},
		{"Always stop halts", func(t *testing.T, m *model) {
			m.setStrategy(v1.RunStrategyAlways)
			m.settle()
			m.setStrategy(v1.RunStrategyHalted)
			assert.Equal(t, []v1.VirtualMachinePrintableStatus{stopping, stopped}, m.settle())
			assert.False(t, m.vm.Status.Created)
		}},
		{"Always replaces crashed and shut-down instances", func(t *testing.T, m *model) {
			m.setStrategy(v1.RunStrategyAlways)
			m.settle()
			m.fault("crash-1")
			assert.Equal(t, []v1.VirtualMachinePrintableStatus{stopped, starting, running}, m.settle())
			m.fault("shutdown-1")
			assert.Equal(t, []v1.VirtualMachinePrintableStatus{stopped, starting, running}, m.settle())
		}},
		{"Manual runs on request and stays Manual when stopped", func(t *testing.T, m *model) {
			m.setStrategy(v1.RunStrategyManual)
			assert.Equal(t, []v1.VirtualMachinePrintableStatus{stopped}, m.settle())
			m.request(startReq(nil))
			assert.Equal(t, []v1.VirtualMachinePrintableStatus{starting, running}, m.settle())
			m.request(stopReq(nil))
			assert.Equal(t, []v1.VirtualMachinePrintableStatus{stopping, stopped}, m.settle())
			assert.Equal(t, v1.RunStrategyManual, m.vm.Status.RunStrategy)
			assert.Empty(t, m.vm.Status.StateChangeRequests)
		}},
		{"Manual keeps a crashed instance until started again", func(t *testing.T, m *model) {
			m.setStrategy(v1.RunStrategyManual)
			m.request(startReq(nil))
			m.settle()
			m.fault("crash-1")
			assert.Equal(t, []v1.VirtualMachinePrintableStatus{stopped}, m.settle())
			assert.True(t, m.vm.Status.Created, "the finished instance stays")
			require.NotNil(t, m.vm.Status.StartFailure, "a crash is counted as KubeVirt counts it")
			assert.Equal(t, 1, m.vm.Status.StartFailure.ConsecutiveFailCount)
			assert.NotNil(t, m.vm.Status.StartFailure.RetryAfterTimestamp)
			// What the start action writes for a finished instance.
			m.request(stopReq(nil), startReq(nil))
			assert.Equal(t, []v1.VirtualMachinePrintableStatus{stopped, starting, running}, m.settle())
			assert.Nil(t, m.vm.Status.StartFailure, "a guest that runs again clears the count")
			assert.Equal(t, m.vm.Generation, m.vm.Status.DesiredGeneration)
		}},
		{"RerunOnFailure reruns after a crash only", func(t *testing.T, m *model) {
			m.setStrategy(v1.RunStrategyRerunOnFailure)
			assert.Equal(t, []v1.VirtualMachinePrintableStatus{starting, running}, m.settle())
			m.fault("crash-1")
			assert.Equal(t, []v1.VirtualMachinePrintableStatus{stopped, starting, running}, m.settle())
			m.fault("shutdown-1")
			assert.Equal(t, []v1.VirtualMachinePrintableStatus{stopped}, m.settle())
			assert.True(t, m.vm.Status.Created)
			assert.Equal(t, ReasonGuestShutdown, findCondition(m.vm.Status.Conditions, v1.VirtualMachineReady).Reason)
		}},
		{"RerunOnFailure stop stays stopped", func(t *testing.T, m *model) {
			m.setStrategy(v1.RunStrategyRerunOnFailure)
			m.settle()
			m.request(stopReq(nil))
			assert.Equal(t, []v1.VirtualMachinePrintableStatus{stopping, stopped}, m.settle())
			assert.Equal(t, v1.RunStrategyRerunOnFailure, m.vm.Status.RunStrategy)
		}},
		{"Once never reruns", func(t *testing.T, m *model) {
			m.setStrategy(v1.RunStrategyOnce)
			assert.Equal(t, []v1.VirtualMachinePrintableStatus{starting, running}, m.settle())
			m.fault("crash-1")
			assert.Equal(t, []v1.VirtualMachinePrintableStatus{stopped}, m.settle())
			m.now = m.now.Add(time.Hour)
			assert.Empty(t, m.settle())
			assert.Equal(t, v1.VirtualMachineStatusStopped, m.vm.Status.PrintableStatus)
		}},
		{"faults are handled once per value", func(t *testing.T, m *model) {
			m.setStrategy(v1.RunStrategyManual)
			m.request(startReq(nil))
			m.settle()
			m.fault("crash-1")
			m.settle()
			m.request(stopReq(nil), startReq(nil))
			m.settle()
			require.Equal(t, running, m.vm.Status.PrintableStatus)
			assert.Empty(t, m.settle(), "the same value does nothing again")
			assert.Equal(t, "crash-1", lastHandledFault(&m.vm.Status))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, newModel(t, v1.RunStrategyHalted))
		})
	}
}
