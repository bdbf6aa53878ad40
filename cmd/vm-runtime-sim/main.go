// Command vm-runtime-sim runs the simulated VM runtime as its own process
// against any vm-apiserver, reached through a kubeconfig (or the in-cluster
// configuration). It is the same controller that `vm-apiserver
// --runtime=simulated` runs in-process.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/klog/v2"

	"github.com/vm-apiserver/vm-apiserver/pkg/generated/clientset/versioned"
	"github.com/vm-apiserver/vm-apiserver/pkg/simulator"
	vmversion "github.com/vm-apiserver/vm-apiserver/pkg/version"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newCommand().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func newCommand() *cobra.Command {
	configFlags := genericclioptions.NewConfigFlags(false)
	opts := simulator.DefaultOptions()
	workers := 2
	var versionFlag vmversion.Flag
	cmd := &cobra.Command{
		Use:   "vm-runtime-sim",
		Short: "Simulate VM instances for the VirtualMachines of a vm-apiserver",
		Long: `vm-runtime-sim watches VirtualMachines and simulates their instances: it carries
out run strategies and start/stop requests and reports them in status, through
the virtualmachines/status subresource only. It watches every namespace unless
--namespace is given. Run one per server.

Inject a fault into a running instance with an annotation:
  kubectl annotate vm NAME --overwrite simulated.vm-apiserver.io/fault=crash-1
  kubectl annotate vm NAME --overwrite simulated.vm-apiserver.io/fault=shutdown-1`,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if printed, err := versionFlag.PrintIfRequested(cmd.OutOrStdout(), "vm-runtime-sim"); printed || err != nil {
				return err
			}
			config, err := configFlags.ToRESTConfig()
			if err != nil {
				return err
			}
			config.UserAgent = "vm-runtime-sim"
			client, err := versioned.NewForConfig(config)
			if err != nil {
				return err
			}
			// Only an explicit -n narrows the watch: the kubeconfig's
			// default namespace is a kubectl habit, not a runtime's scope.
			opts.Namespace = *configFlags.Namespace
			return simulator.New(client, opts).Run(cmd.Context(), workers)
		},
	}
	configFlags.AddFlags(cmd.Flags())
	versionFlag.AddFlag(cmd.Flags())
	opts.AddFlags(cmd.Flags(), "")
	cmd.Flags().IntVar(&workers, "workers", workers, "How many VMs are worked on at once.")
	// Of klog's flags only the verbosity ones matter here. At -v=2 (the
	// default) every change of a simulated instance is logged.
	klogFlags := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(klogFlags)
	_ = klogFlags.Set("v", "2")
	for _, name := range []string{"v", "vmodule"} {
		cmd.Flags().AddGoFlag(klogFlags.Lookup(name))
	}
	return cmd
}
