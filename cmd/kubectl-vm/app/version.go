package app

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/version"

	vmversion "github.com/vm-apiserver/vm-apiserver/pkg/version"
)

// serverVersionPath is where vm-apiserver serves its version, as KubeVirt's
// virt-api does for virtctl.
const serverVersionPath = "/apis/subresources.kubevirt.io/v1/version"

func newVersionCommand(g *globals) *cobra.Command {
	var clientOnly bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version of kubectl vm and of the vm-apiserver it talks to",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := g.streams.Out
			fmt.Fprintf(out, "Client: %s\n", vmversion.String("kubectl-vm", vmversion.Get()))
			if clientOnly {
				return nil
			}
			client, _, err := g.client()
			if err != nil {
				return err
			}
			raw, err := client.Discovery().RESTClient().Get().AbsPath(serverVersionPath).DoRaw(cmd.Context())
			if err != nil {
				return fmt.Errorf("reading the server's version: %w", err)
			}
			var info version.Info
			if err := json.Unmarshal(raw, &info); err != nil {
				return fmt.Errorf("reading the server's version: %w", err)
			}
			fmt.Fprintf(out, "Server: %s\n", vmversion.String("vm-apiserver", info))
			return nil
		},
	}
	cmd.Flags().BoolVar(&clientOnly, "client", false, "Print the client's version only, without contacting a server.")
	return cmd
}
