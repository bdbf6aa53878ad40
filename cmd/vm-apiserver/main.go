// Command vm-apiserver serves the KubeVirt VirtualMachine lifecycle API.
package main

import (
	"os"

	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/component-base/cli"

	"github.com/vm-apiserver/vm-apiserver/cmd/vm-apiserver/app"
)

func main() {
	// The signal context ends on SIGTERM or SIGINT, which starts a graceful
	// shutdown; a second signal exits at once.
	ctx := genericapiserver.SetupSignalContext()
	os.Exit(cli.Run(app.NewCommand(ctx, os.Stdout)))
}
