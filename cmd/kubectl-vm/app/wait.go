package app

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
	v1 "kubevirt.io/api/core/v1"

	typedv1 "github.com/vm-apiserver/vm-apiserver/pkg/generated/clientset/versioned/typed/core/v1"
)

// expectation is what the runtime reports once an action has been carried
// out: the printable status, no pending state change request, and a status
// written for the spec that the action left (observedGeneration).
type expectation struct {
	want v1.VirtualMachinePrintableStatus
}

// met reports whether vm shows the expected state; generation is the VM's
// generation right after the action.
func (e expectation) met(vm *v1.VirtualMachine, generation int64) bool {
	return vm.Status.PrintableStatus == e.want &&
		len(vm.Status.StateChangeRequests) == 0 &&
		vm.Status.ObservedGeneration >= generation
}

// waitForVM watches the VM from the state the action returned until the
// expectation is met, printing a line to out whenever what the runtime
// reports changes. It gives up after timeout.
func waitForVM(ctx context.Context, vms typedv1.VirtualMachineInterface, out io.Writer, vm *v1.VirtualMachine, exp expectation, timeout time.Duration) error {
	generation := vm.Generation
	last := progress(vm, generation)
	fmt.Fprintln(out, last)
	if exp.met(vm, generation) {
		fmt.Fprintf(out, "VM %s is %s\n", vm.Name, exp.want)
		return nil
	}

	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	selector := fields.OneTermEqualSelector("metadata.name", vm.Name).String()
	lw := &cache.ListWatch{
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			opts.FieldSelector = selector
			return vms.Watch(ctx, opts)
		},
	}
	// Watching from the action's resourceVersion sees every later write and
	// nothing older, so a stale copy can never look like success.
	_, err := watchtools.Until(ctx, vm.ResourceVersion, lw, func(ev watch.Event) (bool, error) {
		switch ev.Type {
		case watch.Deleted:
			return false, fmt.Errorf("VM %s was deleted while waiting", vm.Name)
		case watch.Error:
			return false, fmt.Errorf("watching VM %s: %v", vm.Name, ev.Object)
		}
		cur, ok := ev.Object.(*v1.VirtualMachine)
		if !ok {
			return false, nil
		}
		if line := progress(cur, generation); line != last {
			fmt.Fprintln(out, line)
			last = line
		}
		return exp.met(cur, generation), nil
	})
	if wait.Interrupted(err) {
		return fmt.Errorf("timed out after %s waiting for VM %s to be %s (last seen: %s)", timeout, vm.Name, exp.want, last)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "VM %s is %s\n", vm.Name, exp.want)
	return nil
}

// progress describes in one line what the runtime reports about vm.
func progress(vm *v1.VirtualMachine, generation int64) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", vm.Name, printableStatus(vm))
	if len(vm.Status.StateChangeRequests) > 0 {
		fmt.Fprintf(&b, ", pending %s", describeRequests(vm.Status.StateChangeRequests))
	}
	if vm.Status.ObservedGeneration < generation {
		b.WriteString(", waiting for the runtime to see the change")
	}
	return b.String()
}

// printableStatus is status.printableStatus, shown as Stopped when no
// runtime has written it, like the STATUS column of kubectl get vm.
func printableStatus(vm *v1.VirtualMachine) string {
	if vm.Status.PrintableStatus == "" {
		return string(v1.VirtualMachineStatusStopped)
	}
	return string(vm.Status.PrintableStatus)
}

// describeRequests renders state change requests, for example
// "Stop(gracePeriodSeconds=0), Start".
func describeRequests(requests []v1.VirtualMachineStateChangeRequest) string {
	parts := make([]string, 0, len(requests))
	for _, r := range requests {
		s := string(r.Action)
		if len(r.Data) > 0 {
			kv := make([]string, 0, len(r.Data))
			for _, k := range slices.Sorted(maps.Keys(r.Data)) {
				kv = append(kv, k+"="+r.Data[k])
			}
			s += "(" + strings.Join(kv, ", ") + ")"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}
