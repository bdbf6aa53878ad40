// Package app implements the kubectl plugin kubectl-vm: the lifecycle
// actions start, stop and restart (with the flags and checks of KubeVirt's
// virtctl), a status view, and waiting for the runtime to carry an action out.
package app

import (
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/vm-apiserver/vm-apiserver/pkg/generated/clientset/versioned"
)

// NewCommand returns the kubectl-vm root command, writing to streams. It has
// the standard kubeconfig flags (-n, --context, --kubeconfig, ...).
func NewCommand(streams genericiooptions.IOStreams) *cobra.Command {
	g := &globals{configFlags: genericclioptions.NewConfigFlags(true), streams: streams}
	cmd := &cobra.Command{
		Use:   "kubectl-vm",
		Short: "Start, stop, restart and inspect vm-apiserver VirtualMachines",
		Long: `kubectl vm drives the lifecycle actions of kubevirt.io/v1 VirtualMachines
served by vm-apiserver (the subresources.kubevirt.io API), and shows what the
VM's runtime reports.`,
		Annotations: map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl vm"},
		// Errors are the server's messages: print them once, without usage.
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	cmd.SetIn(streams.In)
	cmd.SetOut(streams.Out)
	cmd.SetErr(streams.ErrOut)
	g.configFlags.AddFlags(cmd.PersistentFlags())

	cmd.AddCommand(
		newStartCommand(g),
		newStopCommand(g),
		newRestartCommand(g),
		newStatusCommand(g),
		newVersionCommand(g),
	)
	return cmd
}

// globals is what every subcommand shares: the kubeconfig flags and streams.
type globals struct {
	configFlags *genericclioptions.ConfigFlags
	streams     genericiooptions.IOStreams
}

// client returns a clientset and the namespace to work in (from -n, or the
// kubeconfig context's namespace, or "default").
func (g *globals) client() (versioned.Interface, string, error) {
	namespace, _, err := g.configFlags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return nil, "", err
	}
	config, err := g.configFlags.ToRESTConfig()
	if err != nil {
		return nil, "", err
	}
	config.UserAgent = "kubectl-vm"
	client, err := versioned.NewForConfig(config)
	if err != nil {
		return nil, "", fmt.Errorf("creating a client: %w", err)
	}
	return client, namespace, nil
}
