package event

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
)

// recorded is an Event as the server's recorder writes it.
func recorded() *corev1.Event {
	return &corev1.Event{
		ObjectMeta:          metav1.ObjectMeta{Namespace: "ns", Name: "vm.1"},
		InvolvedObject:      corev1.ObjectReference{Kind: "VirtualMachine", Namespace: "ns", Name: "vm"},
		EventTime:           metav1.NewMicroTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)),
		ReportingController: "vm-apiserver.kubevirt.io",
		ReportingInstance:   "vm-apiserver.kubevirt.io-host",
		Action:              "Stop",
		Reason:              "StopRequested",
		Message:             "stop requested by alice",
		Type:                corev1.EventTypeNormal,
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*corev1.Event)
		want   []string // the fields in error
	}{
		{"as recorded", func(*corev1.Event) {}, nil},
		{"no name", func(e *corev1.Event) { e.Name = "" }, []string{"metadata.name"}},
		{"name with a slash", func(e *corev1.Event) { e.Name = "a/b" }, []string{"metadata.name"}},
		{"name with a percent", func(e *corev1.Event) { e.Name = "a%b" }, []string{"metadata.name"}},
		{"name ..", func(e *corev1.Event) { e.Name = ".." }, []string{"metadata.name"}},
		{"name with dots and capitals", func(e *corev1.Event) { e.Name = "VM.18ef0409" }, nil},
		{"no namespace", func(e *corev1.Event) { e.Namespace = ""; e.InvolvedObject.Namespace = "" }, []string{"metadata.namespace"}},
		{"object in another namespace", func(e *corev1.Event) { e.InvolvedObject.Namespace = "other" }, []string{"involvedObject.namespace"}},
		{"cluster-scoped object", func(e *corev1.Event) { e.InvolvedObject.Namespace = "" }, nil},
		{"unknown type", func(e *corev1.Event) { e.Type = "Bad" }, []string{"type"}},
		{"Warning", func(e *corev1.Event) { e.Type = corev1.EventTypeWarning }, nil},
		{"no controller", func(e *corev1.Event) { e.ReportingController = "" }, []string{"reportingController"}},
		{"no instance", func(e *corev1.Event) { e.ReportingInstance = "" }, []string{"reportingInstance"}},
		{"no action", func(e *corev1.Event) { e.Action = "" }, []string{"action"}},
		{"no reason", func(e *corev1.Event) { e.Reason = "" }, []string{"reason"}},
		{"long reason", func(e *corev1.Event) { e.Reason = strings.Repeat("r", 129) }, []string{"reason"}},
		{"longest reason", func(e *corev1.Event) { e.Reason = strings.Repeat("r", 128) }, nil},
		{"long note", func(e *corev1.Event) { e.Message = strings.Repeat("n", 1025) }, []string{"note"}},
		{"older recorder: fields optional", func(e *corev1.Event) {
			*e = corev1.Event{ObjectMeta: e.ObjectMeta, InvolvedObject: e.InvolvedObject, Source: corev1.EventSource{Component: "kubelet"}}
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := recorded()
			tt.change(e)
			var got []string
			for _, err := range Validate(e) {
				got = append(got, err.Field)
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestValidateUpdate(t *testing.T) {
	old := recorded()
	old.ResourceVersion = "1"
	series := old.DeepCopy()
	series.Series = &corev1.EventSeries{Count: 2, LastObservedTime: old.EventTime}
	assert.Empty(t, Strategy.ValidateUpdate(context.Background(), series, old))

	renamed := old.DeepCopy()
	renamed.Name = "other"
	assert.NotEmpty(t, Strategy.ValidateUpdate(context.Background(), renamed, old), "the name is immutable")
}

func TestFields(t *testing.T) {
	e := recorded()
	e.InvolvedObject.UID, e.InvolvedObject.APIVersion = "u", "kubevirt.io/v1"
	e.InvolvedObject.ResourceVersion, e.InvolvedObject.FieldPath = "7", "spec"
	assert.Equal(t, fields.Set{
		"metadata.name":                  "vm.1",
		"metadata.namespace":             "ns",
		"involvedObject.kind":            "VirtualMachine",
		"involvedObject.namespace":       "ns",
		"involvedObject.name":            "vm",
		"involvedObject.uid":             "u",
		"involvedObject.apiVersion":      "kubevirt.io/v1",
		"involvedObject.resourceVersion": "7",
		"involvedObject.fieldPath":       "spec",
		"reason":                         "StopRequested",
		"reportingComponent":             "vm-apiserver.kubevirt.io",
		"source":                         "vm-apiserver.kubevirt.io",
		"type":                           "Normal",
	}, Fields(e))

	e.Source.Component = "kubelet"
	assert.Equal(t, "kubelet", Fields(e)["source"], "an older recorder's component is the source")

	e.Labels = map[string]string{"a": "b"}
	l, f, err := GetAttrs(e)
	require.NoError(t, err)
	assert.Equal(t, labels.Set{"a": "b"}, l)
	assert.Equal(t, "vm", f["involvedObject.name"])
	_, _, err = GetAttrs(&corev1.Pod{})
	assert.Error(t, err)

	predicate := Match(labels.Everything(), fields.OneTermEqualSelector("reason", "StopRequested"))
	matches, err := predicate.Matches(e)
	require.NoError(t, err)
	assert.True(t, matches)
}
