package simulator

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"k8s.io/component-base/metrics"
	v1 "kubevirt.io/api/core/v1"
)

var (
	transitionsTotal = metrics.NewCounterVec(&metrics.CounterOpts{
		Namespace:      "vm_apiserver",
		Subsystem:      "simulator",
		Name:           "transitions_total",
		Help:           "Phase changes of simulated instances, by the phase left and the phase entered.",
		StabilityLevel: metrics.ALPHA,
	}, []string{"from", "to"})

	requestDuration = metrics.NewHistogramVec(&metrics.HistogramOpts{
		Namespace: "vm_apiserver",
		Subsystem: "simulator",
		Name:      "request_duration_seconds",
		Help:      "Time from the simulated runtime taking up a start or stop to the instance being Running or Stopped, by that state.",
		// 10 ms to about 80 s.
		Buckets:        metrics.ExponentialBuckets(0.01, 2, 14),
		StabilityLevel: metrics.ALPHA,
	}, []string{"state"})
)

// RegisterMetrics registers the simulated runtime's metrics with register,
// the Register of the registry a server running the runtime serves at
// /metrics. Until then they count nothing.
func RegisterMetrics(register func(metrics.Registerable) error) error {
	for _, m := range []metrics.Registerable{transitionsTotal, requestDuration} {
		if err := register(m); err != nil {
			return err
		}
	}
	return nil
}

// The reasons of the Events the runtime records on a VM, as KubeVirt's
// controllers word them.
const (
	eventStarting = "Starting"
	eventStarted  = "Started"
	eventStopping = "Stopping"
	eventStopped  = "Stopped"
	eventCrashed  = "Crashed"
)

// transition records that a VM's instance moved from one phase to the
// next: the counter, the time since the runtime took the request up, and an
// Event on the VM.
func (c *Controller) transition(vm *v1.VirtualMachine, from, to phase, now time.Time) {
	transitionsTotal.WithLabelValues(string(from), string(to)).Inc()
	switch {
	case to == phaseStarting:
		c.takenUp(vm.UID, now)
		c.event(vm, corev1.EventTypeNormal, eventStarting, "Start", "Starting the instance")
	case to == phaseRunning || to == phasePaused:
		c.observe(vm.UID, "Running", now)
		c.event(vm, corev1.EventTypeNormal, eventStarted, "Start", "The instance is "+string(to))
	case to == phaseStopping:
		c.takenUp(vm.UID, now)
		c.event(vm, corev1.EventTypeNormal, eventStopping, "Stop", "Stopping the instance")
	case to == phaseFailed:
		c.event(vm, corev1.EventTypeWarning, eventCrashed, "Crash", "The guest crashed")
	case to == phaseSucceeded && from != phaseStopping:
		c.event(vm, corev1.EventTypeNormal, eventStopped, "Stop", "The guest shut itself down")
	case to == phaseNone || to == phaseSucceeded:
		c.observe(vm.UID, "Stopped", now)
		c.event(vm, corev1.EventTypeNormal, eventStopped, "Stop", "The instance is stopped")
	}
}

// takenUp remembers when the runtime took up a start or stop of a VM.
func (c *Controller) takenUp(uid types.UID, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.requested[uid] = now
}

// observe records how long the VM took to reach state since its request was
// taken up, if the runtime saw that happen.
func (c *Controller) observe(uid types.UID, state string, now time.Time) {
	c.mu.Lock()
	at, ok := c.requested[uid]
	delete(c.requested, uid)
	c.mu.Unlock()
	if ok {
		requestDuration.WithLabelValues(state).Observe(now.Sub(at).Seconds())
	}
}

// event records an Event on vm, if the runtime has a recorder.
func (c *Controller) event(vm *v1.VirtualMachine, eventType, reason, action, note string) {
	if c.opts.Recorder == nil {
		return
	}
	c.opts.Recorder.Eventf(&corev1.ObjectReference{
		APIVersion: v1.SchemeGroupVersion.String(), Kind: "VirtualMachine",
		Namespace: vm.Namespace, Name: vm.Name, UID: vm.UID, ResourceVersion: vm.ResourceVersion,
	}, nil, eventType, reason, action, note)
}
