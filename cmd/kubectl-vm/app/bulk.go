package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	v1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/pkg/generated/clientset/versioned"
)

// An action can name its VMs on the command line, select them by label
// (-l), or take every VM (--all), in one namespace or in all of them (-A).
// Each VM is still one request, and so one atomic action on the server;
// the plugin only fans the requests out, at most --max-in-flight at a time.

// defaultMaxInFlight is how many actions are sent at once by default: enough
// to act on hundreds of VMs in seconds, few enough not to crowd out other
// clients under the server's priority and fairness.
const defaultMaxInFlight = 10

// listPageSize is how many VMs a selection lists per page.
const listPageSize = 500

// The values of --dry-run.
const (
	dryRunNone   = "none"
	dryRunServer = "server"
)

// dryRunFlag is --dry-run: "server" (also the flag alone, as virtctl's
// boolean --dry-run is used) or "none". There is no client-side dry run: only
// the server can tell whether an action would be accepted.
type dryRunFlag struct{ dryRun *bool }

func (f dryRunFlag) String() string {
	if f.dryRun != nil && *f.dryRun {
		return dryRunServer
	}
	return dryRunNone
}

func (f dryRunFlag) Set(value string) error {
	switch value {
	case dryRunServer, "true":
		*f.dryRun = true
	case dryRunNone, "false":
		*f.dryRun = false
	case "client":
		return errors.New(`only the server can check an action: use --dry-run=server`)
	default:
		return fmt.Errorf(`must be "none" or "server", not %q`, value)
	}
	return nil
}

func (f dryRunFlag) Type() string { return "string" }

func (o *actionOptions) addBulkFlags(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&o.selector, "selector", "l", "",
		"Act on the VMs whose labels match this selector (e.g. -l 'tier=web,env!=prod').")
	cmd.Flags().BoolVar(&o.all, "all", false,
		"Act on every VM in the namespace (with -A, in every namespace).")
	cmd.Flags().BoolVarP(&o.allNamespaces, "all-namespaces", "A", false,
		"With -l or --all, select VMs in every namespace.")
	cmd.Flags().IntVar(&o.maxInFlight, "max-in-flight", defaultMaxInFlight,
		"How many actions (and, with --wait, watches) run at once when acting on several VMs.")
}

// validateTargets checks that the VMs are named in exactly one way.
func (o *actionOptions) validateTargets(names []string) error {
	switch {
	case o.all && o.selector != "":
		return errors.New("--all and -l/--selector cannot be used together")
	case len(names) > 0 && (o.all || o.selector != ""):
		return errors.New("name VMs or select them with -l or --all, not both")
	case len(names) > 0 && o.allNamespaces:
		return errors.New("a VM cannot be named across all namespaces: use -l or --all with -A, or -n NAMESPACE with names")
	case len(names) == 0 && !o.all && o.selector == "":
		return errors.New("name one or more VMs, or select them with -l SELECTOR or --all")
	}
	if o.selector != "" {
		if _, err := labels.Parse(o.selector); err != nil {
			return fmt.Errorf("-l %q: %w", o.selector, err)
		}
	}
	return nil
}

// single reports whether the command names exactly one VM and nothing else,
// the form virtctl has, which answers as virtctl does.
func (o *actionOptions) single(names []string) bool {
	return len(names) == 1 && !o.all && o.selector == "" && !o.allNamespaces
}

// target is one VM a bulk action acts on.
type target struct{ namespace, name string }

// outcome is what happened to one target.
type outcome struct {
	vm  *v1.VirtualMachine // as the action returned it; nil if refused
	err error
}

// runBulk acts on every target, prints one line per VM in the order of the
// targets, waits for the accepted ones with --wait, and fails if any VM was
// refused or did not reach its state.
func (o *actionOptions) runBulk(ctx context.Context, names []string) error {
	client, namespace, err := o.client()
	if err != nil {
		return err
	}
	targets, err := o.targets(ctx, client, namespace, names)
	if err != nil {
		return err
	}
	if len(targets) == 0 {
		where := namespace + " namespace"
		if o.allNamespaces {
			where = "any namespace"
		}
		fmt.Fprintf(o.streams.ErrOut, "No VirtualMachines found in %s.\n", where)
		return nil
	}

	out := &lockedWriter{w: o.streams.Out}
	errOut := &lockedWriter{w: o.streams.ErrOut}
	act := func(t target) (*v1.VirtualMachine, error) {
		return o.call(ctx, client.KubevirtV1().VirtualMachines(t.namespace), t.name)
	}
	outcomes := actOnAll(targets, o.maxInFlight, act, func(t target, r outcome) {
		if r.err != nil {
			fmt.Fprintf(errOut, "%s not %s: %v\n", o.describe(t), pastTense(o.action), r.err)
			return
		}
		suffix := ""
		if o.dryRun {
			suffix = " (server dry run)"
		}
		fmt.Fprintf(out, "%s %s%s\n", o.describe(t), pastTense(o.action), suffix)
	})

	refused := 0
	var accepted []*v1.VirtualMachine
	for _, r := range outcomes {
		if r.err != nil {
			refused++
			continue
		}
		accepted = append(accepted, r.vm)
	}
	notReached := 0
	if o.wait && len(accepted) > 0 {
		notReached = o.waitForAll(ctx, client, accepted, out, errOut)
	}
	switch {
	case refused > 0 && notReached > 0:
		return fmt.Errorf("%d of %d VMs were not %s, and %d did not become %s", refused, len(targets), pastTense(o.action), notReached, o.expectation().want)
	case refused > 0:
		return fmt.Errorf("%d of %d VMs were not %s", refused, len(targets), pastTense(o.action))
	case notReached > 0:
		return fmt.Errorf("%d of %d VMs did not become %s", notReached, len(targets), o.expectation().want)
	}
	return nil
}

// targets lists the VMs to act on: the names given, in their order without
// repeats, or the VMs the selection matches, by namespace and name.
func (o *actionOptions) targets(ctx context.Context, client versioned.Interface, namespace string, names []string) ([]target, error) {
	if len(names) > 0 {
		var targets []target
		seen := map[string]bool{}
		for _, name := range names {
			if !seen[name] {
				seen[name] = true
				targets = append(targets, target{namespace, name})
			}
		}
		return targets, nil
	}
	if o.allNamespaces {
		namespace = metav1.NamespaceAll
	}
	vms := client.KubevirtV1().VirtualMachines(namespace)
	opts := metav1.ListOptions{LabelSelector: o.selector, Limit: listPageSize}
	var targets []target
	for {
		list, err := vms.List(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("listing VMs: %w", err)
		}
		for _, vm := range list.Items {
			targets = append(targets, target{vm.Namespace, vm.Name})
		}
		if list.Continue == "" {
			break
		}
		opts.Continue = list.Continue
	}
	slices.SortFunc(targets, func(a, b target) int {
		if c := strings.Compare(a.namespace, b.namespace); c != 0 {
			return c
		}
		return strings.Compare(a.name, b.name)
	})
	return targets, nil
}

// actOnAll calls act for every target, at most maxInFlight at once, and
// calls report for each in the order of targets as soon as it and every
// target before it are answered, so that the lines come out in order while
// the requests overlap.
func actOnAll(targets []target, maxInFlight int, act func(target) (*v1.VirtualMachine, error), report func(target, outcome)) []outcome {
	outcomes := make([]outcome, len(targets))
	done := make([]chan struct{}, len(targets))
	for i := range done {
		done[i] = make(chan struct{})
	}
	slots := make(chan struct{}, maxInFlight)
	go func() {
		for i, t := range targets {
			slots <- struct{}{}
			go func() {
				defer func() { <-slots }()
				defer close(done[i])
				vm, err := act(t)
				outcomes[i] = outcome{vm: vm, err: err}
			}()
		}
	}()
	for i, t := range targets {
		<-done[i]
		report(t, outcomes[i])
	}
	return outcomes
}

// waitForAll waits, at most maxInFlight watches at once, until every VM
// shows the state its action asked for, and returns how many did not within
// --timeout. The timeout covers the whole wait.
func (o *actionOptions) waitForAll(ctx context.Context, client versioned.Interface, vms []*v1.VirtualMachine, out, errOut io.Writer) int {
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	var (
		mu     sync.Mutex
		failed int
		wg     sync.WaitGroup
	)
	slots := make(chan struct{}, o.maxInFlight)
	for _, vm := range vms {
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			err := waitForVM(ctx, client.KubevirtV1().VirtualMachines(vm.Namespace), out, vm, o.expectation(), o.timeout)
			if err != nil {
				fmt.Fprintf(errOut, "%s: %v\n", o.describe(target{vm.Namespace, vm.Name}), err)
				mu.Lock()
				failed++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return failed
}

// describe names a VM as kubectl names objects, with its namespace when the
// VMs come from every namespace.
func (o *actionOptions) describe(t target) string {
	name := "virtualmachine.kubevirt.io/" + t.name
	if o.allNamespaces {
		name += " in namespace " + t.namespace
	}
	return name
}

// pastTense is what a VM is once the action is accepted: "stopped".
func pastTense(action string) string {
	switch action {
	case actionStart:
		return "started"
	case actionStop:
		return "stopped"
	}
	return "restarted"
}

// lockedWriter lets several goroutines write whole lines to one stream.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
