package simulator

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/component-base/metrics"
	"k8s.io/component-base/metrics/testutil"
	v1 "kubevirt.io/api/core/v1"
)

// TestTransitionRecordsEventsAndMetrics walks an instance through a start,
// a stop and a crash, and checks the Events, the transition counters and
// the request timings.
func TestTransitionRecordsEventsAndMetrics(t *testing.T) {
	require.NoError(t, RegisterMetrics(metrics.NewKubeRegistry().Register))
	recorder := events.NewFakeRecorder(20)
	c := &Controller{opts: Options{Recorder: recorder}, requested: map[types.UID]time.Time{}}
	vm := &v1.VirtualMachine{ObjectMeta: metav1.ObjectMeta{Name: "vm", Namespace: "ns", UID: "uid-t"}}

	count := func(from, to phase) float64 {
		v, err := testutil.GetCounterMetricValue(transitionsTotal.WithLabelValues(string(from), string(to)))
		require.NoError(t, err)
		return v
	}
	observed := func(state string) uint64 {
		n, err := testutil.GetHistogramMetricCount(requestDuration.WithLabelValues(state))
		require.NoError(t, err)
		return n
	}
	startsBefore, stopsBefore := observed("Running"), observed("Stopped")
	noneToStarting := count(phaseNone, phaseStarting)

	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	steps := []struct {
		from, to phase
		after    time.Duration
		event    string // as the fake recorder formats it: type, reason, note
	}{
		{phaseNone, phaseStarting, 0, "Normal Starting Starting the instance"},
		{phaseStarting, phaseRunning, 2 * time.Second, "Normal Started The instance is Running"},
		{phaseRunning, phaseStopping, time.Minute, "Normal Stopping Stopping the instance"},
		{phaseStopping, phaseNone, 3 * time.Second, "Normal Stopped The instance is stopped"},
		{phaseNone, phaseStarting, time.Minute, "Normal Starting Starting the instance"},
		{phaseStarting, phaseRunning, time.Second, "Normal Started The instance is Running"},
		{phaseRunning, phaseFailed, time.Minute, "Warning Crashed The guest crashed"},
		{phaseRunning, phaseSucceeded, time.Minute, "Normal Stopped The guest shut itself down"},
	}
	for _, s := range steps {
		now = now.Add(s.after)
		c.transition(vm, s.from, s.to, now)
		select {
		case got := <-recorder.Events:
			assert.Equal(t, s.event, got)
		default:
			t.Fatalf("no Event for %s -> %s", s.from, s.to)
		}
	}
	assert.Equal(t, noneToStarting+2, count(phaseNone, phaseStarting))
	assert.Equal(t, startsBefore+2, observed("Running"), "two starts were timed")
	assert.Equal(t, stopsBefore+1, observed("Stopped"), "one stop was timed")
}
