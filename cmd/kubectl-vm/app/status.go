package app

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
	v1 "kubevirt.io/api/core/v1"
)

func newStatusCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "status NAME",
		Short: "Show a virtual machine's run strategy, status, pending requests and conditions",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			client, namespace, err := g.client()
			if err != nil {
				return err
			}
			vm, err := client.KubevirtV1().VirtualMachines(namespace).Get(cmd.Context(), args[0], metav1.GetOptions{})
			if err != nil {
				return err
			}
			return printStatus(g.streams.Out, vm, time.Now())
		},
	}
}

// printStatus writes a person-readable view of vm, with ages relative to now.
func printStatus(out io.Writer, vm *v1.VirtualMachine, now time.Time) error {
	w := tabwriter.NewWriter(out, 0, 8, 2, ' ', 0)
	fmt.Fprintf(w, "Name:\t%s\n", vm.Name)
	fmt.Fprintf(w, "Namespace:\t%s\n", vm.Namespace)
	fmt.Fprintf(w, "Run strategy:\t%s\n", describeStrategy(&vm.Spec))
	status := printableStatus(vm)
	if vm.Status.PrintableStatus == "" {
		status += " (no runtime has reported on this VM yet)"
	}
	fmt.Fprintf(w, "Status:\t%s\n", status)
	fmt.Fprintf(w, "Created:\t%t\n", vm.Status.Created)
	fmt.Fprintf(w, "Ready:\t%t\n", vm.Status.Ready)
	pending := "<none>"
	if len(vm.Status.StateChangeRequests) > 0 {
		pending = describeRequests(vm.Status.StateChangeRequests)
	}
	fmt.Fprintf(w, "Pending requests:\t%s\n", pending)
	runtime := "<none>"
	if vm.Status.RunStrategy != "" || vm.Status.ObservedGeneration != 0 {
		runtime = fmt.Sprintf("acted on %s at generation %d (current generation %d)",
			orNone(string(vm.Status.RunStrategy)), vm.Status.ObservedGeneration, vm.Generation)
	}
	fmt.Fprintf(w, "Runtime:\t%s\n", runtime)
	if err := w.Flush(); err != nil {
		return err
	}

	if len(vm.Status.Conditions) == 0 {
		_, err := fmt.Fprintln(out, "Conditions:  <none>")
		return err
	}
	fmt.Fprintln(out, "Conditions:")
	w = tabwriter.NewWriter(out, 0, 8, 2, ' ', 0)
	fmt.Fprintln(w, "  TYPE\tSTATUS\tREASON\tAGE\tMESSAGE")
	for _, c := range vm.Status.Conditions {
		age := "<unknown>"
		if !c.LastTransitionTime.IsZero() {
			age = duration.HumanDuration(now.Sub(c.LastTransitionTime.Time))
		}
		fmt.Fprintf(w, "  %s\t%s\t%s\t%s\t%s\n", c.Type, c.Status, orNone(c.Reason), age, c.Message)
	}
	return w.Flush()
}

// describeStrategy names the effective strategy and where it comes from.
func describeStrategy(spec *v1.VirtualMachineSpec) string {
	switch {
	case spec.RunStrategy != nil:
		return string(*spec.RunStrategy)
	case spec.Running != nil && *spec.Running:
		return "Always (from the deprecated spec.running: true)"
	case spec.Running != nil:
		return "Halted (from the deprecated spec.running: false)"
	}
	return "<none>"
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}
