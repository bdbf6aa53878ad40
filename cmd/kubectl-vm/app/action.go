package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	v1 "kubevirt.io/api/core/v1"

	subresourcesv1 "github.com/vm-apiserver/vm-apiserver/pkg/apis/subresources/v1"
	typedv1 "github.com/vm-apiserver/vm-apiserver/pkg/generated/clientset/versioned/typed/core/v1"
)

// The lifecycle actions.
const (
	actionStart   = "start"
	actionStop    = "stop"
	actionRestart = "restart"
)

// defaultTimeout bounds --wait.
const defaultTimeout = 5 * time.Minute

// actionOptions are the flags of start, stop and restart.
type actionOptions struct {
	*globals
	action string

	paused      bool
	dryRun      bool
	gracePeriod int64
	force       bool
	wait        bool
	timeout     time.Duration

	// What to act on besides the names given as arguments (bulk.go).
	selector      string
	all           bool
	allNamespaces bool
	maxInFlight   int

	// gracePeriodSet is whether --grace-period was given at all.
	gracePeriodSet bool
}

func newStartCommand(g *globals) *cobra.Command {
	o := &actionOptions{globals: g, action: actionStart}
	cmd := &cobra.Command{
		Use:   "start (NAME... | -l SELECTOR | --all) [-A]",
		Short: "Start virtual machines",
		Example: `  # Start vm-cirros and wait until it runs.
  kubectl vm start vm-cirros --wait

  # Start it with its vCPUs paused.
  kubectl vm start vm-cirros --paused

  # Start every VM labelled tier=web, in every namespace, and wait for all.
  kubectl vm start -l tier=web -A --wait`,
		RunE: o.runE,
	}
	cmd.Flags().BoolVar(&o.paused, "paused", false, "Start the virtual machine with its vCPUs paused.")
	o.addCommonFlags(cmd)
	return cmd
}

func newStopCommand(g *globals) *cobra.Command {
	o := &actionOptions{globals: g, action: actionStop}
	cmd := &cobra.Command{
		Use:   "stop (NAME... | -l SELECTOR | --all) [-A]",
		Short: "Stop virtual machines",
		Example: `  # Stop vm-cirros and wait until it has stopped.
  kubectl vm stop vm-cirros --wait

  # Stop it at once, without a graceful shutdown.
  kubectl vm stop vm-cirros --force --grace-period=0

  # See which VMs of the namespace a stop would accept, without stopping any.
  kubectl vm stop --all --dry-run=server`,
		RunE: o.runE,
	}
	o.addForceFlags(cmd)
	o.addCommonFlags(cmd)
	return cmd
}

func newRestartCommand(g *globals) *cobra.Command {
	o := &actionOptions{globals: g, action: actionRestart}
	cmd := &cobra.Command{
		Use:   "restart (NAME... | -l SELECTOR | --all) [-A]",
		Short: "Restart virtual machines",
		Example: `  # Restart vm-cirros and wait until it runs again.
  kubectl vm restart vm-cirros --wait

  # Restart it without a graceful shutdown.
  kubectl vm restart vm-cirros --force --grace-period=0

  # Restart two VMs, at most one request at a time.
  kubectl vm restart web-1 web-2 --max-in-flight=1`,
		RunE: o.runE,
	}
	o.addForceFlags(cmd)
	o.addCommonFlags(cmd)
	return cmd
}

// addForceFlags adds --force and --grace-period, which virtctl only accepts
// together.
func (o *actionOptions) addForceFlags(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&o.force, "force", false,
		"Stop without waiting for a graceful shutdown; requires --grace-period.")
	cmd.Flags().Int64Var(&o.gracePeriod, "grace-period", -1,
		"Seconds the guest gets to shut down; requires --force. Restart accepts only 0.")
}

func (o *actionOptions) addCommonFlags(cmd *cobra.Command) {
	cmd.Flags().Var(dryRunFlag{&o.dryRun}, "dry-run",
		`"server" (or the flag alone) lets the server run every check without changing anything; "none" acts.`)
	cmd.Flags().Lookup("dry-run").NoOptDefVal = dryRunServer
	cmd.Flags().BoolVar(&o.wait, "wait", false,
		"Wait until the VM's runtime reports that the action has been carried out.")
	cmd.Flags().DurationVar(&o.timeout, "timeout", defaultTimeout,
		"How long --wait waits before giving up.")
	o.addBulkFlags(cmd)
}

func (o *actionOptions) runE(cmd *cobra.Command, args []string) error {
	if f := cmd.Flags().Lookup("grace-period"); f != nil {
		o.gracePeriodSet = f.Changed
	}
	if err := o.validate(); err != nil {
		return err
	}
	if err := o.validateTargets(args); err != nil {
		return err
	}
	if o.single(args) {
		return o.run(cmd.Context(), args[0])
	}
	return o.runBulk(cmd.Context(), args)
}

// validate applies virtctl's checks and those of --wait.
func (o *actionOptions) validate() error {
	if o.action != actionStart && o.gracePeriodSet != o.force {
		return errors.New("--force and --grace-period must be used together")
	}
	if o.wait && o.dryRun {
		return errors.New("--wait cannot be used with --dry-run: a dry run changes nothing to wait for")
	}
	if o.timeout <= 0 {
		return errors.New("--timeout must be greater than zero")
	}
	if o.maxInFlight < 1 {
		return errors.New("--max-in-flight must be at least 1")
	}
	return nil
}

// run acts on one VM named on the command line, and answers as virtctl
// does ("VM vm-cirros was scheduled to stop").
func (o *actionOptions) run(ctx context.Context, name string) error {
	client, namespace, err := o.client()
	if err != nil {
		return err
	}
	vms := client.KubevirtV1().VirtualMachines(namespace)
	vm, err := o.call(ctx, vms, name)
	if err != nil {
		return fmt.Errorf("%s %s/%s: %w", gerund(o.action), namespace, name, err)
	}
	if o.dryRun {
		fmt.Fprintf(o.streams.Out, "VM %s would be scheduled to %s (dry run)\n", name, o.action)
		return nil
	}
	fmt.Fprintf(o.streams.Out, "VM %s was scheduled to %s\n", name, o.action)
	if !o.wait {
		return nil
	}
	return waitForVM(ctx, vms, o.streams.Out, vm, o.expectation(), o.timeout)
}

// call invokes the action through the typed client.
func (o *actionOptions) call(ctx context.Context, vms typedv1.VirtualMachineInterface, name string) (*v1.VirtualMachine, error) {
	var dryRun []string
	if o.dryRun {
		dryRun = []string{"All"}
	}
	var grace *int64
	if o.force {
		grace = &o.gracePeriod
	}
	switch o.action {
	case actionStart:
		return vms.Start(ctx, name, &subresourcesv1.StartOptions{Paused: o.paused, DryRun: dryRun})
	case actionStop:
		return vms.Stop(ctx, name, &subresourcesv1.StopOptions{GracePeriod: grace, DryRun: dryRun})
	default:
		return vms.Restart(ctx, name, &subresourcesv1.RestartOptions{GracePeriodSeconds: grace, DryRun: dryRun})
	}
}

// expectation is the state that ends --wait for this action.
func (o *actionOptions) expectation() expectation {
	switch {
	case o.action == actionStop:
		return expectation{want: v1.VirtualMachineStatusStopped}
	case o.action == actionStart && o.paused:
		return expectation{want: v1.VirtualMachineStatusPaused}
	}
	return expectation{want: v1.VirtualMachineStatusRunning}
}

func gerund(action string) string {
	switch action {
	case actionStart:
		return "starting"
	case actionStop:
		return "stopping"
	}
	return "restarting"
}
