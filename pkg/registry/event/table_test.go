package event

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestTable(t *testing.T) {
	now := time.Date(2026, 1, 2, 4, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	tests := []struct {
		name  string
		event func(*corev1.Event)
		want  []interface{}
	}{
		{"seen once, new API", func(*corev1.Event) {},
			[]interface{}{"5m", "Normal", "StopRequested", "virtualmachine/vm", "", "vm-apiserver.kubevirt.io, vm-apiserver.kubevirt.io-host", "stop requested by alice", "5m", int64(1), "vm.1"}},
		{"a series", func(e *corev1.Event) {
			e.Series = &corev1.EventSeries{Count: 4, LastObservedTime: metav1.NewMicroTime(ago(10 * time.Second))}
		}, []interface{}{"10s", "Normal", "StopRequested", "virtualmachine/vm", "", "vm-apiserver.kubevirt.io, vm-apiserver.kubevirt.io-host", "stop requested by alice", "5m", int64(4), "vm.1"}},
		{"older recorder", func(e *corev1.Event) {
			e.EventTime = metav1.MicroTime{}
			e.ReportingController, e.ReportingInstance = "", ""
			e.Source = corev1.EventSource{Component: "kubelet", Host: "node1"}
			e.FirstTimestamp, e.LastTimestamp, e.Count = metav1.NewTime(ago(2*time.Hour)), metav1.NewTime(ago(time.Minute)), 3
			e.InvolvedObject.FieldPath = "spec.containers{a}"
			e.Type = corev1.EventTypeWarning
			e.Message = " trimmed \n"
		}, []interface{}{"60s", "Warning", "StopRequested", "virtualmachine/vm", "spec.containers{a}", "kubelet, node1", "trimmed", "120m", int64(3), "vm.1"}},
		{"no object name, no times", func(e *corev1.Event) {
			e.InvolvedObject.Name = ""
			e.EventTime = metav1.MicroTime{}
			e.ReportingInstance = ""
		}, []interface{}{"<unknown>", "Normal", "StopRequested", "virtualmachine", "", "vm-apiserver.kubevirt.io", "stop requested by alice", "<unknown>", int64(1), "vm.1"}},
	}
	convertor := TableConvertor{Now: func() time.Time { return now }}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := recorded()
			e.EventTime = metav1.NewMicroTime(ago(5 * time.Minute))
			tt.event(e)
			table, err := convertor.ConvertToTable(context.Background(), e, nil)
			require.NoError(t, err)
			require.Len(t, table.Rows, 1)
			assert.Equal(t, tt.want, table.Rows[0].Cells)
			assert.Len(t, table.ColumnDefinitions, len(tt.want))
		})
	}

	list := &corev1.EventList{ListMeta: metav1.ListMeta{ResourceVersion: "9", Continue: "c"}, Items: []corev1.Event{*recorded(), *recorded()}}
	table, err := convertor.ConvertToTable(context.Background(), list, nil)
	require.NoError(t, err)
	assert.Len(t, table.Rows, 2)
	assert.Equal(t, "9", table.ResourceVersion)
	assert.Equal(t, "c", table.Continue)
	var narrow []string
	for _, c := range table.ColumnDefinitions {
		if c.Priority == 0 {
			narrow = append(narrow, c.Name)
		}
	}
	assert.Equal(t, []string{"Last Seen", "Type", "Reason", "Object", "Message"}, narrow, "kubectl get events' columns")

	_, err = convertor.ConvertToTable(context.Background(), &corev1.Pod{}, nil)
	assert.Error(t, err)
}
