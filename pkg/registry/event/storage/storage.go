// Package storage builds the store of Events that the server serves in
// standalone mode: one etcd store of core v1 Events, each written with a
// lease so that etcd drops it when its time to live ends, read by clients
// through a read-only REST storage in both the core group and
// events.k8s.io, and written only by the server's own recorder (Writer).
package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/apimachinery/pkg/watch"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/client-go/tools/events"

	eventsapi "github.com/vm-apiserver/vm-apiserver/pkg/apis/events"
	"github.com/vm-apiserver/vm-apiserver/pkg/registry/event"
)

// DefaultTTL is how long an Event is kept when no TTL is configured, as in
// kube-apiserver (--event-ttl).
const DefaultTTL = time.Hour

// EventStorage is the store of Events, seen two ways.
type EventStorage struct {
	// REST serves events to clients: get, list and watch only.
	REST *REST
	// Writer records Events into the store; it is the sink of the
	// server's event broadcaster.
	Writer *Writer
}

// NewStorage builds the store of Events. Every write of an Event sets its
// time to live to ttl, rounded down to whole seconds; ttl must be at least
// a second. optsGetter must encode Events as core v1.
func NewStorage(optsGetter generic.RESTOptionsGetter, ttl time.Duration) (*EventStorage, error) {
	seconds := uint64(ttl / time.Second)
	if seconds == 0 {
		return nil, fmt.Errorf("the time to live of Events must be at least one second, not %v", ttl)
	}
	store := &genericregistry.Store{
		NewFunc:                   func() runtime.Object { return &corev1.Event{} },
		NewListFunc:               func() runtime.Object { return &corev1.EventList{} },
		PredicateFunc:             event.Match,
		DefaultQualifiedResource:  corev1.Resource(eventsapi.Resource),
		SingularQualifiedResource: corev1.Resource("event"),
		// A new Event, and each update of a series, lives ttl from then:
		// the store writes it under an etcd lease of that length.
		TTLFunc: func(runtime.Object, uint64, bool) (uint64, error) { return seconds, nil },

		CreateStrategy: event.Strategy,
		UpdateStrategy: event.Strategy,
		DeleteStrategy: event.Strategy,

		TableConvertor: event.TableConvertor{},
	}
	if err := store.CompleteWithOptions(&generic.StoreOptions{RESTOptions: optsGetter, AttrFunc: event.GetAttrs}); err != nil {
		return nil, err
	}
	return &EventStorage{REST: &REST{store: store}, Writer: &Writer{store: store}}, nil
}

// REST serves events to clients. It has no create, update, patch or
// delete: Events record what the server did, so only the server writes
// them, and the API answers those verbs 405 Method Not Allowed.
type REST struct {
	store *genericregistry.Store
}

var (
	_ rest.Getter               = &REST{}
	_ rest.Lister               = &REST{}
	_ rest.Watcher              = &REST{}
	_ rest.Scoper               = &REST{}
	_ rest.ShortNamesProvider   = &REST{}
	_ rest.SingularNameProvider = &REST{}
	_ rest.StorageWithReadiness = &REST{}
)

// New returns an empty Event.
func (r *REST) New() runtime.Object { return r.store.New() }

// NewList returns an empty EventList.
func (r *REST) NewList() runtime.Object { return r.store.NewList() }

// Destroy closes the store's connection to etcd.
func (r *REST) Destroy() { r.store.Destroy() }

// NamespaceScoped is true.
func (r *REST) NamespaceScoped() bool { return true }

// GetSingularName returns "event".
func (r *REST) GetSingularName() string { return r.store.GetSingularName() }

// ShortNames lets kubectl accept "ev", as kube-apiserver does.
func (r *REST) ShortNames() []string { return []string{"ev"} }

// ReadinessCheck reports whether the store is ready to serve.
func (r *REST) ReadinessCheck() error { return r.store.ReadinessCheck() }

// Get returns one Event.
func (r *REST) Get(ctx context.Context, name string, options *metav1.GetOptions) (runtime.Object, error) {
	return r.store.Get(ctx, name, options)
}

// List returns the Events that match the options' selectors. Its items
// carry no kind and apiVersion, as in any list: the stored core v1 Events
// are the hub type, so no conversion clears them on the way out of etcd.
func (r *REST) List(ctx context.Context, options *metainternalversion.ListOptions) (runtime.Object, error) {
	obj, err := r.store.List(ctx, options)
	if list, ok := obj.(*corev1.EventList); ok {
		for i := range list.Items {
			list.Items[i].TypeMeta = metav1.TypeMeta{}
		}
	}
	return obj, err
}

// Watch streams the changes of the Events that match the options.
func (r *REST) Watch(ctx context.Context, options *metainternalversion.ListOptions) (watch.Interface, error) {
	return r.store.Watch(ctx, options)
}

// ConvertToTable prints Events for kubectl get.
func (r *REST) ConvertToTable(ctx context.Context, object runtime.Object, tableOptions runtime.Object) (*metav1.Table, error) {
	return r.store.ConvertToTable(ctx, object, tableOptions)
}

// Writer writes the server's Events into the store directly, without a
// request over HTTP. It is an events.EventSink: the broadcaster calls it
// from its own goroutine, so a slow write never holds up the request that
// recorded the Event.
type Writer struct {
	store *genericregistry.Store
}

var _ events.EventSink = &Writer{}

// Create stores a new Event.
func (w *Writer) Create(ctx context.Context, e *eventsv1.Event) (*eventsv1.Event, error) {
	core := &corev1.Event{}
	eventsapi.ToCore(e, core)
	obj, err := w.store.Create(genericapirequest.WithNamespace(ctx, e.Namespace), core, rest.ValidateAllObjectFunc, &metav1.CreateOptions{})
	if err != nil {
		return nil, err
	}
	return toEvents(obj)
}

// Update replaces a stored Event; with a resourceVersion, only that
// version of it.
func (w *Writer) Update(ctx context.Context, e *eventsv1.Event) (*eventsv1.Event, error) {
	core := &corev1.Event{}
	eventsapi.ToCore(e, core)
	return w.update(ctx, e.Namespace, e.Name, rest.DefaultUpdatedObjectInfo(core))
}

// Patch applies a strategic merge patch of events.k8s.io/v1, as the
// broadcaster sends to count the repeats of an Event, to the stored Event.
// An Event that expired is NotFound, and the broadcaster creates it anew.
func (w *Writer) Patch(ctx context.Context, e *eventsv1.Event, data []byte) (*eventsv1.Event, error) {
	patch := func(_ context.Context, _, old runtime.Object) (runtime.Object, error) {
		current, err := toEvents(old)
		if err != nil {
			return nil, err
		}
		original, err := json.Marshal(current)
		if err != nil {
			return nil, err
		}
		patched, err := strategicpatch.StrategicMergePatch(original, data, eventsv1.Event{})
		if err != nil {
			return nil, err
		}
		var out eventsv1.Event
		if err := json.Unmarshal(patched, &out); err != nil {
			return nil, err
		}
		core := &corev1.Event{}
		eventsapi.ToCore(&out, core)
		return core, nil
	}
	return w.update(ctx, e.Namespace, e.Name, rest.DefaultUpdatedObjectInfo(nil, patch))
}

func (w *Writer) update(ctx context.Context, namespace, name string, objInfo rest.UpdatedObjectInfo) (*eventsv1.Event, error) {
	obj, _, err := w.store.Update(genericapirequest.WithNamespace(ctx, namespace), name, objInfo,
		rest.ValidateAllObjectFunc, rest.ValidateAllObjectUpdateFunc, false, &metav1.UpdateOptions{})
	if err != nil {
		return nil, err
	}
	return toEvents(obj)
}

// toEvents converts a stored Event to events.k8s.io/v1.
func toEvents(obj runtime.Object) (*eventsv1.Event, error) {
	core, ok := obj.(*corev1.Event)
	if !ok {
		return nil, fmt.Errorf("the Event store holds a %T", obj)
	}
	out := &eventsv1.Event{}
	eventsapi.CoreToEvents(core, out)
	return out, nil
}
