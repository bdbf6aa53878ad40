package events

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/randfill"
)

var (
	created  = metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	first    = metav1.NewTime(time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC))
	last     = metav1.NewTime(time.Date(2026, 1, 2, 3, 10, 0, 0, time.UTC))
	observed = metav1.NewMicroTime(time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC))
	seen     = metav1.NewMicroTime(time.Date(2026, 1, 2, 3, 9, 0, 7000, time.UTC))
	vmRef    = corev1.ObjectReference{Kind: "VirtualMachine", Namespace: "ns", Name: "vm", UID: "u1", APIVersion: "kubevirt.io/v1", ResourceVersion: "7", FieldPath: "spec"}
	diskRef  = corev1.ObjectReference{Kind: "DataVolume", Namespace: "ns", Name: "disk"}
	meta     = metav1.ObjectMeta{Name: "vm.1", Namespace: "ns", UID: "e1", ResourceVersion: "9", CreationTimestamp: created, Labels: map[string]string{"a": "b"}}
)

// fullCore is a core v1 Event with every field set.
func fullCore() *corev1.Event {
	return &corev1.Event{
		ObjectMeta: *meta.DeepCopy(), InvolvedObject: vmRef, Reason: "StopRequested", Message: "stop requested by alice",
		Source: corev1.EventSource{Component: "kubelet", Host: "node1"}, FirstTimestamp: first, LastTimestamp: last, Count: 3,
		Type: corev1.EventTypeWarning, EventTime: observed, Series: &corev1.EventSeries{Count: 4, LastObservedTime: seen},
		Action: "Stop", Related: diskRef.DeepCopy(), ReportingController: "vm-apiserver.kubevirt.io", ReportingInstance: "vm-apiserver.kubevirt.io-host",
	}
}

// fullEvents is fullCore in events.k8s.io/v1.
func fullEvents() *eventsv1.Event {
	return &eventsv1.Event{
		ObjectMeta: *meta.DeepCopy(), EventTime: observed, Series: &eventsv1.EventSeries{Count: 4, LastObservedTime: seen},
		ReportingController: "vm-apiserver.kubevirt.io", ReportingInstance: "vm-apiserver.kubevirt.io-host", Action: "Stop",
		Reason: "StopRequested", Regarding: vmRef, Related: diskRef.DeepCopy(), Note: "stop requested by alice", Type: corev1.EventTypeWarning,
		DeprecatedSource: corev1.EventSource{Component: "kubelet", Host: "node1"}, DeprecatedFirstTimestamp: first, DeprecatedLastTimestamp: last, DeprecatedCount: 3,
	}
}

func TestConversionMapsEveryField(t *testing.T) {
	// Each row changes one field of the core Event and says where it
	// must appear in events.k8s.io/v1; together they cover every field.
	tests := []struct {
		name  string
		core  func(*corev1.Event)
		check func(*testing.T, *eventsv1.Event)
	}{
		{"metadata", func(e *corev1.Event) { e.Annotations = map[string]string{"x": "y"} }, func(t *testing.T, e *eventsv1.Event) {
			assert.Equal(t, map[string]string{"x": "y"}, e.Annotations)
		}},
		{"involvedObject is regarding", func(e *corev1.Event) { e.InvolvedObject.Name = "other" }, func(t *testing.T, e *eventsv1.Event) {
			assert.Equal(t, "other", e.Regarding.Name)
		}},
		{"reason", func(e *corev1.Event) { e.Reason = "R" }, func(t *testing.T, e *eventsv1.Event) { assert.Equal(t, "R", e.Reason) }},
		{"message is note", func(e *corev1.Event) { e.Message = "m" }, func(t *testing.T, e *eventsv1.Event) { assert.Equal(t, "m", e.Note) }},
		{"source is deprecatedSource", func(e *corev1.Event) { e.Source.Host = "h" }, func(t *testing.T, e *eventsv1.Event) {
			assert.Equal(t, "h", e.DeprecatedSource.Host)
		}},
		{"firstTimestamp", func(e *corev1.Event) { e.FirstTimestamp = last }, func(t *testing.T, e *eventsv1.Event) {
			assert.Equal(t, last, e.DeprecatedFirstTimestamp)
		}},
		{"lastTimestamp", func(e *corev1.Event) { e.LastTimestamp = first }, func(t *testing.T, e *eventsv1.Event) {
			assert.Equal(t, first, e.DeprecatedLastTimestamp)
		}},
		{"count", func(e *corev1.Event) { e.Count = 11 }, func(t *testing.T, e *eventsv1.Event) { assert.Equal(t, int32(11), e.DeprecatedCount) }},
		{"type", func(e *corev1.Event) { e.Type = corev1.EventTypeNormal }, func(t *testing.T, e *eventsv1.Event) {
			assert.Equal(t, corev1.EventTypeNormal, e.Type)
		}},
		{"eventTime", func(e *corev1.Event) { e.EventTime = seen }, func(t *testing.T, e *eventsv1.Event) { assert.Equal(t, seen, e.EventTime) }},
		{"series", func(e *corev1.Event) { e.Series.Count = 12 }, func(t *testing.T, e *eventsv1.Event) {
			assert.Equal(t, &eventsv1.EventSeries{Count: 12, LastObservedTime: seen}, e.Series)
		}},
		{"no series", func(e *corev1.Event) { e.Series = nil }, func(t *testing.T, e *eventsv1.Event) { assert.Nil(t, e.Series) }},
		{"action", func(e *corev1.Event) { e.Action = "A" }, func(t *testing.T, e *eventsv1.Event) { assert.Equal(t, "A", e.Action) }},
		{"related", func(e *corev1.Event) { e.Related.Name = "d2" }, func(t *testing.T, e *eventsv1.Event) { assert.Equal(t, "d2", e.Related.Name) }},
		{"no related", func(e *corev1.Event) { e.Related = nil }, func(t *testing.T, e *eventsv1.Event) { assert.Nil(t, e.Related) }},
		{"reportingController", func(e *corev1.Event) { e.ReportingController = "c" }, func(t *testing.T, e *eventsv1.Event) {
			assert.Equal(t, "c", e.ReportingController)
		}},
		{"reportingInstance", func(e *corev1.Event) { e.ReportingInstance = "i" }, func(t *testing.T, e *eventsv1.Event) {
			assert.Equal(t, "i", e.ReportingInstance)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			core := fullCore()
			tt.core(core)
			var out eventsv1.Event
			CoreToEvents(core, &out)
			tt.check(t, &out)

			var back corev1.Event
			ToCore(&out, &back)
			assert.Equal(t, core, &back, "core v1 -> events.k8s.io/v1 -> core v1 loses nothing")
		})
	}
}

func TestConversionOfAFullEvent(t *testing.T) {
	var out eventsv1.Event
	CoreToEvents(fullCore(), &out)
	assert.Equal(t, fullEvents(), &out)

	var back corev1.Event
	ToCore(fullEvents(), &back)
	assert.Equal(t, fullCore(), &back)
}

func TestConversionSharesNoMemory(t *testing.T) {
	core := fullCore()
	var out eventsv1.Event
	CoreToEvents(core, &out)
	out.Related.Name = "changed"
	out.Series.Count = 99
	out.Labels["a"] = "changed"
	assert.Equal(t, fullCore(), core, "the source is untouched when the copy changes")
}

func TestConversionRoundTripsRandomEvents(t *testing.T) {
	f := randfill.NewWithSeed(1).NilChance(0.2).NumElements(0, 3)
	for i := 0; i < 200; i++ {
		var core corev1.Event
		f.Fill(&core)
		core.TypeMeta = metav1.TypeMeta{}
		var mid eventsv1.Event
		CoreToEvents(&core, &mid)
		var back corev1.Event
		ToCore(&mid, &back)
		require.True(t, apiequality.Semantic.DeepEqual(core, back), "core round trip %d", i)

		var ev eventsv1.Event
		f.Fill(&ev)
		ev.TypeMeta = metav1.TypeMeta{}
		var midCore corev1.Event
		ToCore(&ev, &midCore)
		var evBack eventsv1.Event
		CoreToEvents(&midCore, &evBack)
		require.True(t, apiequality.Semantic.DeepEqual(ev, evBack), "events.k8s.io round trip %d", i)
	}
}

func TestListConversion(t *testing.T) {
	in := &corev1.EventList{ListMeta: metav1.ListMeta{ResourceVersion: "5", Continue: "c"}, Items: []corev1.Event{*fullCore(), {}}}
	var out eventsv1.EventList
	CoreListToEvents(in, &out)
	assert.Equal(t, "5", out.ResourceVersion)
	assert.Equal(t, "c", out.Continue)
	require.Len(t, out.Items, 2)
	assert.Equal(t, *fullEvents(), out.Items[0])

	var back corev1.EventList
	ListToCore(&out, &back)
	assert.Equal(t, in, &back)
}

func newScheme(t *testing.T) *runtime.Scheme {
	s := runtime.NewScheme()
	require.NoError(t, Install(s))
	return s
}

func TestSchemeConvertsBetweenTheGroups(t *testing.T) {
	s := newScheme(t)
	out, err := s.ConvertToVersion(fullCore(), EventsGroupVersion)
	require.NoError(t, err)
	want := fullEvents()
	want.APIVersion, want.Kind = "events.k8s.io/v1", "Event"
	assert.Equal(t, want, out)

	// Core v1 is the hub: serving it converts nothing.
	core, err := s.ConvertToVersion(fullCore(), CoreGroupVersion)
	require.NoError(t, err)
	assert.Equal(t, schema.GroupVersionKind{Version: "v1", Kind: "Event"}, core.GetObjectKind().GroupVersionKind())

	// A request to events.k8s.io/v1 decodes to that group's hub.
	back, err := s.ConvertToVersion(fullEvents(), eventsInternal)
	require.NoError(t, err)
	assert.Equal(t, fullCore(), back)

	list, err := s.ConvertToVersion(&corev1.EventList{Items: []corev1.Event{*fullCore()}}, EventsGroupVersion)
	require.NoError(t, err)
	require.IsType(t, &eventsv1.EventList{}, list)
	assert.Equal(t, *fullEvents(), list.(*eventsv1.EventList).Items[0])
}

func TestFieldLabels(t *testing.T) {
	s := newScheme(t)
	core := CoreGroupVersion.WithKind("Event")
	events := EventsGroupVersion.WithKind("Event")
	tests := []struct {
		gvk   schema.GroupVersionKind
		label string
		want  string // empty: refused
	}{
		{core, "involvedObject.kind", "involvedObject.kind"},
		{core, "involvedObject.namespace", "involvedObject.namespace"},
		{core, "involvedObject.name", "involvedObject.name"},
		{core, "involvedObject.uid", "involvedObject.uid"},
		{core, "involvedObject.apiVersion", "involvedObject.apiVersion"},
		{core, "involvedObject.resourceVersion", "involvedObject.resourceVersion"},
		{core, "involvedObject.fieldPath", "involvedObject.fieldPath"},
		{core, "reason", "reason"},
		{core, "reportingComponent", "reportingComponent"},
		{core, "source", "source"},
		{core, "type", "type"},
		{core, "metadata.name", "metadata.name"},
		{core, "metadata.namespace", "metadata.namespace"},
		{core, "regarding.name", ""},
		{core, "reportingController", ""},
		{core, "message", ""},
		{events, "regarding.kind", "involvedObject.kind"},
		{events, "regarding.namespace", "involvedObject.namespace"},
		{events, "regarding.name", "involvedObject.name"},
		{events, "regarding.uid", "involvedObject.uid"},
		{events, "regarding.apiVersion", "involvedObject.apiVersion"},
		{events, "regarding.resourceVersion", "involvedObject.resourceVersion"},
		{events, "regarding.fieldPath", "involvedObject.fieldPath"},
		{events, "reportingController", "reportingComponent"},
		{events, "reason", "reason"},
		{events, "source", "source"},
		{events, "type", "type"},
		{events, "metadata.name", "metadata.name"},
		{events, "metadata.namespace", "metadata.namespace"},
		{events, "involvedObject.name", ""},
		{events, "reportingComponent", ""},
		{events, "note", ""},
	}
	for _, tt := range tests {
		t.Run(tt.gvk.Group+"/"+tt.label, func(t *testing.T) {
			label, value, err := s.ConvertFieldLabel(tt.gvk, tt.label, "v")
			if tt.want == "" {
				assert.EqualError(t, err, "field label not supported: "+tt.label)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, label)
			assert.Equal(t, "v", value)
		})
	}
}

// FuzzConversion decodes arbitrary JSON as an Event of either API and
// checks that converting it to the other API and back loses nothing.
func FuzzConversion(f *testing.F) {
	seed, err := json.Marshal(fullEvents())
	require.NoError(f, err)
	f.Add(seed)
	seed, err = json.Marshal(fullCore())
	require.NoError(f, err)
	f.Add(seed)
	f.Add([]byte(`{"metadata":{"name":"a"},"series":{"count":2},"regarding":{"kind":"VirtualMachine"}}`))
	f.Add([]byte(`{"involvedObject":{"uid":"x"},"related":{},"count":-1}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var ev eventsv1.Event
		if json.Unmarshal(data, &ev) == nil {
			ev.TypeMeta = metav1.TypeMeta{}
			var core corev1.Event
			ToCore(&ev, &core)
			var back eventsv1.Event
			CoreToEvents(&core, &back)
			require.Equal(t, ev, back)
		}
		var core corev1.Event
		if json.Unmarshal(data, &core) == nil {
			core.TypeMeta = metav1.TypeMeta{}
			var mid eventsv1.Event
			CoreToEvents(&core, &mid)
			var back corev1.Event
			ToCore(&mid, &back)
			require.Equal(t, core, back)
		}
	})
}
