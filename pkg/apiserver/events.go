package apiserver

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/flowcontrol"
	"k8s.io/component-base/metrics"
	"k8s.io/klog/v2"

	"github.com/vm-apiserver/vm-apiserver/pkg/api/scheme"
	"github.com/vm-apiserver/vm-apiserver/pkg/registry/virtualmachine"
)

// reportingController names vm-apiserver in the Events it records.
const reportingController = "vm-apiserver.kubevirt.io"

// The reasons of the Events recorded on a VM when an action is written (not
// under dry-run); the note says who asked, as "stop requested by alice".
const (
	ReasonStartRequested   = "StartRequested"
	ReasonStopRequested    = "StopRequested"
	ReasonRestartRequested = "RestartRequested"
	// The volume actions name the volume: "addvolume of data requested by alice".
	ReasonAddVolumeRequested    = "AddVolumeRequested"
	ReasonRemoveVolumeRequested = "RemoveVolumeRequested"
)

// actionEvents is the reason and the action of each action's Event.
var actionEvents = map[virtualmachine.Action]struct{ reason, action string }{
	virtualmachine.ActionStart:        {ReasonStartRequested, "Start"},
	virtualmachine.ActionStop:         {ReasonStopRequested, "Stop"},
	virtualmachine.ActionRestart:      {ReasonRestartRequested, "Restart"},
	virtualmachine.ActionAddVolume:    {ReasonAddVolumeRequested, "AddVolume"},
	virtualmachine.ActionRemoveVolume: {ReasonRemoveVolumeRequested, "RemoveVolume"},
}

// The rate at which Events are sent; past it they are dropped and counted,
// so that a burst of actions never turns into a burst of writes to the
// cluster or to etcd, or slows a request.
const (
	eventsPerSecond = 20
	eventsBurst     = 100
)

var droppedEvents = metrics.NewCounter(&metrics.CounterOpts{
	Namespace:      "vm_apiserver",
	Name:           "events_dropped_total",
	Help:           "Events on VirtualMachines not sent because more were recorded than the rate limit allows.",
	StabilityLevel: metrics.ALPHA,
})

// newEventRecorder returns where the server's Events go, and the function
// that starts sending them (a post-start hook; it stops when its context
// ends). With a cluster (kubeconfig is the server's --kubeconfig), Events are
// sent to it as events.k8s.io/v1 Events; in standalone mode they are written
// into the server's own store of Events (sink, the store's Writer). Either
// way they go through client-go's broadcaster, which queues them and never
// blocks the caller. With neither, they are logged.
func newEventRecorder(kubeconfig *rest.Config, sink events.EventSink) (events.EventRecorder, func(context.Context) error, error) {
	if kubeconfig != nil {
		client, err := kubernetes.NewForConfig(rest.CopyConfig(kubeconfig))
		if err != nil {
			return nil, nil, fmt.Errorf("creating the events client: %w", err)
		}
		sink = &events.EventSinkImpl{Interface: client.EventsV1()}
	}
	if sink == nil {
		return logRecorder{}, func(context.Context) error { return nil }, nil
	}
	broadcaster := events.NewBroadcaster(sink)
	start := func(ctx context.Context) error {
		if err := broadcaster.StartRecordingToSinkWithContext(ctx); err != nil {
			return err
		}
		go func() {
			<-ctx.Done()
			broadcaster.Shutdown()
		}()
		return nil
	}
	recorder := limitedRecorder{
		EventRecorder: broadcaster.NewRecorder(scheme.Scheme, reportingController),
		limiter:       flowcontrol.NewTokenBucketRateLimiter(eventsPerSecond, eventsBurst),
	}
	return recorder, start, nil
}

// limitedRecorder drops Events past its limiter's rate.
type limitedRecorder struct {
	events.EventRecorder
	limiter flowcontrol.RateLimiter
}

// Eventf records the Event unless the rate is exceeded.
func (r limitedRecorder) Eventf(regarding, related runtime.Object, eventtype, reason, action, note string, args ...interface{}) {
	if !r.limiter.TryAccept() {
		droppedEvents.Inc()
		return
	}
	r.EventRecorder.Eventf(regarding, related, eventtype, reason, action, note, args...)
}

// logRecorder writes Events to the server's log, for a server that neither
// has a cluster nor serves Events itself.
type logRecorder struct{}

// Eventf logs the Event.
func (logRecorder) Eventf(regarding, _ runtime.Object, eventtype, reason, action, note string, args ...interface{}) {
	object := ""
	switch o := regarding.(type) {
	case *corev1.ObjectReference:
		object = o.Namespace + "/" + o.Name
	case metav1.Object:
		object = o.GetNamespace() + "/" + o.GetName()
	}
	klog.InfoS("Event", "object", object, "type", eventtype, "reason", reason, "action", action, "note", fmt.Sprintf(note, args...))
}
