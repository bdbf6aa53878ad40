package apiserver

import (
	"bytes"
	"context"
	"flag"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/flowcontrol"
	"k8s.io/component-base/metrics/testutil"
	"k8s.io/klog/v2"
)

func TestLogRecorderNamesTheObject(t *testing.T) {
	var buf bytes.Buffer
	flags := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(flags)
	assert.NoError(t, flags.Set("logtostderr", "false"))
	klog.SetOutput(&buf)
	defer klog.SetOutput(nil)

	logRecorder{}.Eventf(&corev1.ObjectReference{Namespace: "ns", Name: "vm"}, nil, corev1.EventTypeNormal, "StopRequested", "Stop", "%s requested by %s", "stop", "alice")
	klog.Flush()
	assert.Contains(t, buf.String(), `"Event" object="ns/vm" type="Normal" reason="StopRequested" action="Stop" note="stop requested by alice"`)
}

func TestLimitedRecorderDropsPastTheRate(t *testing.T) {
	// Registers the dropped-events counter, as the server does.
	_, err := newMetricsRegistry(newVMCollector())
	require.NoError(t, err)
	recorder, _, err := newEventRecorder(nil, nil)
	assert.NoError(t, err)
	assert.IsType(t, logRecorder{}, recorder, "neither a cluster nor a store: Events are logged")

	fake := events.NewFakeRecorder(10)
	r := limitedRecorder{EventRecorder: fake, limiter: flowcontrol.NewFakeAlwaysRateLimiter()}
	r.Eventf(&corev1.ObjectReference{}, nil, corev1.EventTypeNormal, "A", "a", "one")
	assert.Len(t, fake.Events, 1)

	before, _ := testutil.GetCounterMetricValue(droppedEvents)
	r = limitedRecorder{EventRecorder: fake, limiter: flowcontrol.NewFakeNeverRateLimiter()}
	r.Eventf(&corev1.ObjectReference{}, nil, corev1.EventTypeNormal, "B", "b", "two")
	assert.Len(t, fake.Events, 1, "nothing recorded past the rate")
	after, _ := testutil.GetCounterMetricValue(droppedEvents)
	assert.Equal(t, before+1, after)
}

// sinkFunc is an events.EventSink that hands each created Event to a channel.
type sinkFunc chan *eventsv1.Event

func (s sinkFunc) Create(_ context.Context, e *eventsv1.Event) (*eventsv1.Event, error) {
	s <- e
	return e, nil
}
func (s sinkFunc) Update(_ context.Context, e *eventsv1.Event) (*eventsv1.Event, error) {
	return e, nil
}
func (s sinkFunc) Patch(_ context.Context, e *eventsv1.Event, _ []byte) (*eventsv1.Event, error) {
	return e, nil
}

func TestRecorderWritesToTheSink(t *testing.T) {
	sink := make(sinkFunc, 1)
	recorder, start, err := newEventRecorder(nil, sink)
	require.NoError(t, err)
	assert.IsType(t, limitedRecorder{}, recorder, "the store's recorder keeps the rate limit")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	require.NoError(t, start(ctx))

	recorder.Eventf(&corev1.ObjectReference{Kind: "VirtualMachine", APIVersion: "kubevirt.io/v1", Namespace: "ns", Name: "vm", UID: "u"},
		nil, corev1.EventTypeNormal, "StopRequested", "Stop", "%s requested by %s", "stop", "alice")
	e := <-sink
	assert.Equal(t, "ns", e.Namespace)
	assert.Equal(t, "VirtualMachine", e.Regarding.Kind)
	assert.Equal(t, "vm", e.Regarding.Name)
	assert.Equal(t, "StopRequested", e.Reason)
	assert.Equal(t, "stop requested by alice", e.Note)
	assert.Equal(t, reportingController, e.ReportingController)
}
