package events

import (
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
)

// CoreToEvents fills out, an events.k8s.io/v1 Event, from in, a core v1
// Event. The two carry the same information under other names: the object
// is "regarding", the message is "note", and the fields the new API keeps
// only for old clients (source, first and last timestamp, count) are
// "deprecated". Nothing is lost either way. out shares no memory with in.
func CoreToEvents(in *corev1.Event, out *eventsv1.Event) {
	in = in.DeepCopy()
	*out = eventsv1.Event{
		TypeMeta:                 out.TypeMeta,
		ObjectMeta:               in.ObjectMeta,
		EventTime:                in.EventTime,
		ReportingController:      in.ReportingController,
		ReportingInstance:        in.ReportingInstance,
		Action:                   in.Action,
		Reason:                   in.Reason,
		Regarding:                in.InvolvedObject,
		Related:                  in.Related,
		Note:                     in.Message,
		Type:                     in.Type,
		DeprecatedSource:         in.Source,
		DeprecatedFirstTimestamp: in.FirstTimestamp,
		DeprecatedLastTimestamp:  in.LastTimestamp,
		DeprecatedCount:          in.Count,
	}
	if in.Series != nil {
		out.Series = &eventsv1.EventSeries{Count: in.Series.Count, LastObservedTime: in.Series.LastObservedTime}
	}
}

// ToCore fills out, a core v1 Event, from in, an events.k8s.io/v1
// Event: the inverse of CoreToEvents. out shares no memory with in.
func ToCore(in *eventsv1.Event, out *corev1.Event) {
	in = in.DeepCopy()
	*out = corev1.Event{
		TypeMeta:            out.TypeMeta,
		ObjectMeta:          in.ObjectMeta,
		InvolvedObject:      in.Regarding,
		Reason:              in.Reason,
		Message:             in.Note,
		Source:              in.DeprecatedSource,
		FirstTimestamp:      in.DeprecatedFirstTimestamp,
		LastTimestamp:       in.DeprecatedLastTimestamp,
		Count:               in.DeprecatedCount,
		Type:                in.Type,
		EventTime:           in.EventTime,
		Action:              in.Action,
		Related:             in.Related,
		ReportingController: in.ReportingController,
		ReportingInstance:   in.ReportingInstance,
	}
	if in.Series != nil {
		out.Series = &corev1.EventSeries{Count: in.Series.Count, LastObservedTime: in.Series.LastObservedTime}
	}
}

// CoreListToEvents converts a core v1 EventList item by item.
func CoreListToEvents(in *corev1.EventList, out *eventsv1.EventList) {
	out.ListMeta = *in.ListMeta.DeepCopy()
	out.Items = nil
	if in.Items != nil {
		out.Items = make([]eventsv1.Event, len(in.Items))
	}
	for i := range in.Items {
		CoreToEvents(&in.Items[i], &out.Items[i])
	}
}

// ListToCore converts an events.k8s.io/v1 EventList item by item.
func ListToCore(in *eventsv1.EventList, out *corev1.EventList) {
	out.ListMeta = *in.ListMeta.DeepCopy()
	out.Items = nil
	if in.Items != nil {
		out.Items = make([]corev1.Event, len(in.Items))
	}
	for i := range in.Items {
		ToCore(&in.Items[i], &out.Items[i])
	}
}
