package event

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"
)

// TableConvertor prints Events with the columns kubectl shows for
// kube-apiserver's: the narrow ones by default, and with -o wide also the
// sub-object, the source, the first time seen, the count and the name.
type TableConvertor struct {
	// Now is the time ages are counted from; nil is the clock's.
	Now func() time.Time
}

// columns are the table's columns; Priority 1 is shown by -o wide only.
var columns = []metav1.TableColumnDefinition{
	{Name: "Last Seen", Type: "string", Description: "Time since the Event was last observed."},
	{Name: "Type", Type: "string", Description: "Type of the Event: Normal or Warning."},
	{Name: "Reason", Type: "string", Description: "Why the Event was recorded, in one word."},
	{Name: "Object", Type: "string", Description: "The object the Event is about, as kind/name."},
	{Name: "Subobject", Type: "string", Priority: 1, Description: "The part of the object the Event is about, if any."},
	{Name: "Source", Type: "string", Priority: 1, Description: "The component that reported the Event, and its host or instance."},
	{Name: "Message", Type: "string", Description: "What happened, for people."},
	{Name: "First Seen", Type: "string", Priority: 1, Description: "Time since the Event was first observed."},
	{Name: "Count", Type: "integer", Priority: 1, Description: "How many times the Event was observed."},
	{Name: "Name", Type: "string", Priority: 1, Format: "name", Description: "Name of the Event."},
}

// ConvertToTable prints one Event or a list of them.
func (c TableConvertor) ConvertToTable(_ context.Context, obj runtime.Object, _ runtime.Object) (*metav1.Table, error) {
	now := time.Now()
	if c.Now != nil {
		now = c.Now()
	}
	table := &metav1.Table{ColumnDefinitions: columns}
	switch o := obj.(type) {
	case *corev1.EventList:
		table.ResourceVersion = o.ResourceVersion
		table.Continue = o.Continue
		table.RemainingItemCount = o.RemainingItemCount
		for i := range o.Items {
			table.Rows = append(table.Rows, row(&o.Items[i], now))
		}
	case *corev1.Event:
		table.ResourceVersion = o.ResourceVersion
		table.Rows = []metav1.TableRow{row(o, now)}
	default:
		return nil, fmt.Errorf("cannot print %T as a table of Events", obj)
	}
	return table, nil
}

// row prints one Event. An Event of the events.k8s.io API has an eventTime
// and, when it repeated, a series in place of the older timestamps and
// count; either kind is printed the same way.
func row(e *corev1.Event, now time.Time) metav1.TableRow {
	first := age(e.FirstTimestamp.Time, now)
	if e.FirstTimestamp.IsZero() {
		first = age(e.EventTime.Time, now)
	}
	last := first
	if !e.LastTimestamp.IsZero() {
		last = age(e.LastTimestamp.Time, now)
	}
	count := int64(e.Count)
	switch {
	case e.Series != nil:
		last = age(e.Series.LastObservedTime.Time, now)
		count = int64(e.Series.Count)
	case count == 0:
		// An Event seen once has no count in the events.k8s.io API.
		count = 1
	}
	object := strings.ToLower(e.InvolvedObject.Kind)
	if e.InvolvedObject.Name != "" {
		object += "/" + e.InvolvedObject.Name
	}
	return metav1.TableRow{
		Cells: []interface{}{
			last, e.Type, e.Reason, object, e.InvolvedObject.FieldPath, source(e),
			strings.TrimSpace(e.Message), first, count, e.Name,
		},
		Object: runtime.RawExtension{Object: e},
	}
}

// source names who reported an Event: the component and host of an older
// recorder, or the controller and instance of a newer one.
func source(e *corev1.Event) string {
	component, host := e.Source.Component, e.Source.Host
	if component == "" {
		component, host = e.ReportingController, e.ReportingInstance
	}
	if host == "" {
		return component
	}
	return component + ", " + host
}

// age is the time since t as kubectl prints it, or <unknown> for no time.
func age(t time.Time, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t))
}
