// Package events registers Events in the server's scheme for standalone
// mode, where the server serves them itself: core v1 events (/api/v1) and
// events.k8s.io/v1 events, over one store.
//
// No published module carries an internal Event type, so core v1's Event
// is the hub: it is registered as core v1, as the internal version of the
// core group and as the internal version of events.k8s.io. The store keeps
// core v1 Events, core v1 requests need no conversion at all, and
// events.k8s.io/v1 requests convert to and from core v1 with the functions
// of conversion.go, field for field as kube-apiserver maps them.
package events

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/conversion"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Resource is the resource name of Events in both groups.
const Resource = "events"

var (
	// CoreGroupVersion is the legacy core group's version, served at /api/v1.
	CoreGroupVersion = corev1.SchemeGroupVersion
	// EventsGroupVersion is events.k8s.io/v1.
	EventsGroupVersion = eventsv1.SchemeGroupVersion

	coreInternal   = schema.GroupVersion{Group: corev1.GroupName, Version: runtime.APIVersionInternal}
	eventsInternal = schema.GroupVersion{Group: eventsv1.GroupName, Version: runtime.APIVersionInternal}
)

// Install adds the Event kinds of both groups to s, with the conversions
// between them and the field selectors each version accepts.
func Install(s *runtime.Scheme) error {
	for _, gv := range []schema.GroupVersion{CoreGroupVersion, coreInternal, eventsInternal} {
		s.AddKnownTypes(gv, &corev1.Event{}, &corev1.EventList{})
	}
	s.AddKnownTypes(EventsGroupVersion, &eventsv1.Event{}, &eventsv1.EventList{})
	// List, get and watch options, and watch events, in events.k8s.io/v1.
	// The core group's are the scheme's unversioned "v1" ones already.
	metav1.AddToGroupVersion(s, EventsGroupVersion)

	if err := s.AddConversionFunc((*corev1.Event)(nil), (*eventsv1.Event)(nil), func(a, b interface{}, _ conversion.Scope) error {
		CoreToEvents(a.(*corev1.Event), b.(*eventsv1.Event))
		return nil
	}); err != nil {
		return err
	}
	if err := s.AddConversionFunc((*eventsv1.Event)(nil), (*corev1.Event)(nil), func(a, b interface{}, _ conversion.Scope) error {
		ToCore(a.(*eventsv1.Event), b.(*corev1.Event))
		return nil
	}); err != nil {
		return err
	}
	if err := s.AddConversionFunc((*corev1.EventList)(nil), (*eventsv1.EventList)(nil), func(a, b interface{}, _ conversion.Scope) error {
		CoreListToEvents(a.(*corev1.EventList), b.(*eventsv1.EventList))
		return nil
	}); err != nil {
		return err
	}
	if err := s.AddConversionFunc((*eventsv1.EventList)(nil), (*corev1.EventList)(nil), func(a, b interface{}, _ conversion.Scope) error {
		ListToCore(a.(*eventsv1.EventList), b.(*corev1.EventList))
		return nil
	}); err != nil {
		return err
	}

	if err := s.AddFieldLabelConversionFunc(CoreGroupVersion.WithKind("Event"), coreFieldLabel); err != nil {
		return err
	}
	return s.AddFieldLabelConversionFunc(EventsGroupVersion.WithKind("Event"), eventsFieldLabel)
}

// coreFields are the field selector labels of core v1 Events, the names
// the store's attributes use (registry/event.Fields).
var coreFields = map[string]bool{
	"involvedObject.kind":            true,
	"involvedObject.namespace":       true,
	"involvedObject.name":            true,
	"involvedObject.uid":             true,
	"involvedObject.apiVersion":      true,
	"involvedObject.resourceVersion": true,
	"involvedObject.fieldPath":       true,
	"reason":                         true,
	"reportingComponent":             true,
	"source":                         true,
	"type":                           true,
	"metadata.namespace":             true,
	"metadata.name":                  true,
}

// eventsFields maps the field selector labels of events.k8s.io/v1 to the
// core v1 names the store selects on. events.k8s.io/v1 renamed the object
// to "regarding" and the component to "reportingController"; the core
// spellings of those are not accepted there, as in kube-apiserver.
var eventsFields = map[string]string{
	"regarding.kind":            "involvedObject.kind",
	"regarding.namespace":       "involvedObject.namespace",
	"regarding.name":            "involvedObject.name",
	"regarding.uid":             "involvedObject.uid",
	"regarding.apiVersion":      "involvedObject.apiVersion",
	"regarding.resourceVersion": "involvedObject.resourceVersion",
	"regarding.fieldPath":       "involvedObject.fieldPath",
	"reportingController":       "reportingComponent",
	"reason":                    "reason",
	"source":                    "source",
	"type":                      "type",
	"metadata.namespace":        "metadata.namespace",
	"metadata.name":             "metadata.name",
}

// coreFieldLabel accepts the core v1 labels as they are.
func coreFieldLabel(label, value string) (string, string, error) {
	if !coreFields[label] {
		return "", "", fmt.Errorf("field label not supported: %s", label)
	}
	return label, value, nil
}

// eventsFieldLabel turns an events.k8s.io/v1 label into its core v1 name.
func eventsFieldLabel(label, value string) (string, string, error) {
	core, ok := eventsFields[label]
	if !ok {
		return "", "", fmt.Errorf("field label not supported: %s", label)
	}
	return core, value, nil
}
