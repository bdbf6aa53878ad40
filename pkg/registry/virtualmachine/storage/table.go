package storage

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"
	virtv1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
)

// columns are those of docs/api.md; RUNSTRATEGY shows with -o wide.
var columns = []metav1.TableColumnDefinition{
	{Name: "Name", Type: "string", Format: "name", Description: "Name of the VirtualMachine."},
	{Name: "Age", Type: "string", Description: "Time since the VirtualMachine was created."},
	{Name: "Status", Type: "string", Description: "The VM's state as its runtime reports it (status.printableStatus); Stopped when unset."},
	{Name: "Ready", Type: "string", Description: "Status of the Ready condition."},
	{Name: "RunStrategy", Type: "string", Priority: 1, Description: "The effective run strategy: spec.runStrategy, or Always/Halted for the deprecated spec.running."},
}

// tableConvertor renders VirtualMachines for kubectl get.
type tableConvertor struct{}

// ConvertToTable renders a VirtualMachine or a VirtualMachineList.
func (tableConvertor) ConvertToTable(_ context.Context, obj runtime.Object, _ runtime.Object) (*metav1.Table, error) {
	table := &metav1.Table{ColumnDefinitions: columns}
	switch t := obj.(type) {
	case *kubevirt.VirtualMachine:
		table.Rows = []metav1.TableRow{row(t)}
	case *kubevirt.VirtualMachineList:
		table.Rows = make([]metav1.TableRow, 0, len(t.Items))
		for i := range t.Items {
			table.Rows = append(table.Rows, row(&t.Items[i]))
		}
	default:
		return nil, fmt.Errorf("cannot print %T as a VirtualMachine table", obj)
	}
	if m, err := meta.ListAccessor(obj); err == nil {
		table.ResourceVersion = m.GetResourceVersion()
		table.Continue = m.GetContinue()
		table.RemainingItemCount = m.GetRemainingItemCount()
	} else if m, err := meta.CommonAccessor(obj); err == nil {
		table.ResourceVersion = m.GetResourceVersion()
	}
	return table, nil
}

func row(vm *kubevirt.VirtualMachine) metav1.TableRow {
	status := string(vm.Status.PrintableStatus)
	if status == "" {
		status = string(virtv1.VirtualMachineStatusStopped)
	}
	ready := "False"
	for _, c := range vm.Status.Conditions {
		if c.Type == virtv1.VirtualMachineReady {
			ready = string(c.Status)
		}
	}
	strategy, _ := kubevirt.EffectiveRunStrategy(&vm.Spec)
	return metav1.TableRow{
		Cells:  []interface{}{vm.Name, age(vm.CreationTimestamp), status, ready, string(strategy)},
		Object: runtime.RawExtension{Object: vm},
	}
}

func age(ts metav1.Time) string {
	if ts.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(time.Since(ts.Time))
}
