// Package event holds the rules of the Events the server stores in
// standalone mode: how they are validated, which fields a selector can
// match, and how kubectl prints them. Events are stored as core v1 Events
// (pkg/apis/events); clients only read them, and the server's own recorder
// writes them (package storage).
package event

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/storage"
	"k8s.io/apiserver/pkg/storage/names"

	"github.com/vm-apiserver/vm-apiserver/pkg/api/scheme"
)

// strategy is the create and update rules of Events.
type strategy struct {
	runtime.ObjectTyper
	names.NameGenerator
}

// Strategy is the strategy of the Event store.
var Strategy = strategy{scheme.Scheme, names.SimpleNameGenerator}

// NamespaceScoped is true: an Event lives in a namespace.
func (strategy) NamespaceScoped() bool { return true }

// PrepareForCreate keeps the Event as the recorder made it.
func (strategy) PrepareForCreate(context.Context, runtime.Object) {}

// PrepareForUpdate keeps the Event as the recorder made it.
func (strategy) PrepareForUpdate(context.Context, runtime.Object, runtime.Object) {}

// Validate checks a new Event.
func (strategy) Validate(_ context.Context, obj runtime.Object) field.ErrorList {
	return Validate(obj.(*corev1.Event))
}

// WarningsOnCreate has nothing to warn of.
func (strategy) WarningsOnCreate(context.Context, runtime.Object) []string { return nil }

// Canonicalize leaves the Event as it is.
func (strategy) Canonicalize(runtime.Object) {}

// AllowCreateOnUpdate is false: a series update of an Event that expired
// is answered NotFound, and the recorder creates the Event anew.
func (strategy) AllowCreateOnUpdate(context.Context) bool { return false }

// AllowUnconditionalUpdate is true, as for kube-apiserver's Events.
func (strategy) AllowUnconditionalUpdate(context.Context) bool { return true }

// ValidateUpdate checks an updated Event as a new one, and that its
// metadata changed only where metadata may change.
func (strategy) ValidateUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	e, oldEvent := obj.(*corev1.Event), old.(*corev1.Event)
	errs := apivalidation.ValidateObjectMetaUpdate(&e.ObjectMeta, &oldEvent.ObjectMeta, field.NewPath("metadata"))
	return append(errs, Validate(e)...)
}

// WarningsOnUpdate has nothing to warn of.
func (strategy) WarningsOnUpdate(context.Context, runtime.Object, runtime.Object) []string {
	return nil
}

// The longest values kube-apiserver accepts in an Event written through
// the events.k8s.io API.
const (
	maxShortField = 128
	maxNote       = 1024
)

// Validate checks an Event as kube-apiserver checks one: valid metadata in
// the namespace of the object it is about, and, for an Event of the
// events.k8s.io API (one with an eventTime), the fields that API requires.
func Validate(e *corev1.Event) field.ErrorList {
	errs := apivalidation.ValidateObjectMeta(&e.ObjectMeta, true, pathSegmentName, field.NewPath("metadata"))
	if ns := e.InvolvedObject.Namespace; ns != "" && ns != e.Namespace {
		errs = append(errs, field.Invalid(field.NewPath("involvedObject", "namespace"), ns, "does not match event.namespace"))
	}
	if e.EventTime.IsZero() {
		// An Event of the core API from an older recorder: its fields
		// are all optional.
		return errs
	}
	if e.Type != corev1.EventTypeNormal && e.Type != corev1.EventTypeWarning {
		errs = append(errs, field.NotSupported(field.NewPath("type"), e.Type, []string{corev1.EventTypeNormal, corev1.EventTypeWarning}))
	}
	for _, f := range []struct {
		path  *field.Path
		value string
	}{
		{field.NewPath("reportingController"), e.ReportingController},
		{field.NewPath("reportingInstance"), e.ReportingInstance},
		{field.NewPath("action"), e.Action},
		{field.NewPath("reason"), e.Reason},
	} {
		switch {
		case f.value == "":
			errs = append(errs, field.Required(f.path, ""))
		case len(f.value) > maxShortField:
			errs = append(errs, field.TooLong(f.path, "", maxShortField))
		}
	}
	if len(e.Message) > maxNote {
		errs = append(errs, field.TooLong(field.NewPath("note"), "", maxNote))
	}
	return errs
}

// pathSegmentName checks an Event's name as kube-apiserver does: any name
// that can be one segment of a URL path. generateName, a prefix, may end
// anywhere.
func pathSegmentName(name string, prefix bool) []string {
	var errs []string
	if !prefix && (name == "." || name == "..") {
		errs = append(errs, fmt.Sprintf("may not be '%s'", name))
	}
	for _, bad := range []string{"/", "%"} {
		if strings.Contains(name, bad) {
			errs = append(errs, fmt.Sprintf("may not contain '%s'", bad))
		}
	}
	return errs
}

// Fields are the fields a selector matches on an Event, named as in core
// v1; events.k8s.io/v1 selectors are renamed to these by the scheme
// (pkg/apis/events). "source" is the reporting component of an older
// recorder, or the reporting controller of a newer one.
func Fields(e *corev1.Event) fields.Set {
	source := e.Source.Component
	if source == "" {
		source = e.ReportingController
	}
	set := fields.Set{
		"involvedObject.kind":            e.InvolvedObject.Kind,
		"involvedObject.namespace":       e.InvolvedObject.Namespace,
		"involvedObject.name":            e.InvolvedObject.Name,
		"involvedObject.uid":             string(e.InvolvedObject.UID),
		"involvedObject.apiVersion":      e.InvolvedObject.APIVersion,
		"involvedObject.resourceVersion": e.InvolvedObject.ResourceVersion,
		"involvedObject.fieldPath":       e.InvolvedObject.FieldPath,
		"reason":                         e.Reason,
		"reportingComponent":             e.ReportingController,
		"source":                         source,
		"type":                           e.Type,
	}
	return generic.AddObjectMetaFieldsSet(set, &e.ObjectMeta, true)
}

// GetAttrs returns the labels and fields of an Event.
func GetAttrs(obj runtime.Object) (labels.Set, fields.Set, error) {
	e, ok := obj.(*corev1.Event)
	if !ok {
		return nil, nil, fmt.Errorf("not an Event: %T", obj)
	}
	return labels.Set(e.Labels), Fields(e), nil
}

// Match returns the predicate of a list or watch of Events.
func Match(label labels.Selector, field fields.Selector) storage.SelectionPredicate {
	return storage.SelectionPredicate{Label: label, Field: field, GetAttrs: GetAttrs}
}
