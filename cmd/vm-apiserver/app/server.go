package app

import (
	"context"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	genericapiserver "k8s.io/apiserver/pkg/server"
	cliflag "k8s.io/component-base/cli/flag"
	logsapi "k8s.io/component-base/logs/api/v1"
	"k8s.io/component-base/term"
	"k8s.io/klog/v2"

	"github.com/vm-apiserver/vm-apiserver/pkg/apiserver"
	"github.com/vm-apiserver/vm-apiserver/pkg/certauth"
	"github.com/vm-apiserver/vm-apiserver/pkg/standalone"
	vmversion "github.com/vm-apiserver/vm-apiserver/pkg/version"
)

// NewCommand returns the vm-apiserver command.
func NewCommand(ctx context.Context, out io.Writer) *cobra.Command {
	o := NewOptions()
	var versionFlag vmversion.Flag
	cmd := &cobra.Command{
		Use:   "vm-apiserver",
		Short: "Serve the KubeVirt VirtualMachine lifecycle API",
		Long: `vm-apiserver serves kubevirt.io/v1 virtualmachines, stored in etcd (and, over
the same store, the deprecated kubevirt.io/v1alpha3), and their start, stop and
restart actions in subresources.kubevirt.io/v1.

Without cluster flags it runs standalone: an embedded etcd and a private CA in
--data-dir, and an admin kubeconfig written to <data-dir>/admin.kubeconfig.
With --authentication-kubeconfig, --authorization-kubeconfig and --kubeconfig
(or in a pod) it runs behind kube-apiserver's aggregation layer.`,
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if printed, err := versionFlag.PrintIfRequested(cmd.OutOrStdout(), "vm-apiserver"); printed || err != nil {
				return err
			}
			if err := o.Complete(); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			if err := logsapi.ValidateAndApply(o.Logs, nil); err != nil {
				return err
			}
			return o.Run(cmd.Context(), out)
		},
		Args: cobra.NoArgs,
	}
	cmd.SetContext(ctx)

	fss := o.Flags()
	versionFlag.AddFlag(fss.FlagSet("global"))
	for _, f := range fss.FlagSets {
		cmd.Flags().AddFlagSet(f)
	}
	cols, _, _ := term.TerminalSize(cmd.OutOrStdout())
	cliflag.SetUsageAndHelpFunc(cmd, fss, cols)
	return cmd
}

// Run starts the server and blocks until ctx ends and the server has shut down.
func (o *Options) Run(ctx context.Context, out io.Writer) error {
	etcdServers := &o.Recommended.Etcd.StorageConfig.Transport.ServerList
	if len(*etcdServers) == 0 {
		etcd, err := standalone.StartEtcd(ctx, filepath.Join(o.DataDir, "etcd"), time.Minute)
		if err != nil {
			return err
		}
		// Closed after the server has drained, so in-flight writes finish.
		defer etcd.Close()
		*etcdServers = []string{etcd.ClientURL}
		klog.InfoS("Embedded etcd is serving", "dataDir", filepath.Join(o.DataDir, "etcd"), "url", etcd.ClientURL)
	}

	config, creds, err := o.Config()
	if err != nil {
		return err
	}
	if o.standalone {
		serverURL := "https://" + loopbackHostPort(config.GenericConfig.SecureServing.Listener.Addr())
		if err := creds.WriteKubeconfig(serverURL); err != nil {
			return fmt.Errorf("writing admin kubeconfig: %w", err)
		}
		config.ExtraConfig.PostStartHooks["print-access"] = func(genericapiserver.PostStartHookContext) error {
			fmt.Fprintf(out, "\nvm-apiserver %s is serving at %s (standalone, data in %s)\n", vmversion.Get().GitVersion, serverURL, o.DataDir)
			if o.Runtime == RuntimeSimulated {
				fmt.Fprintf(out, "The simulated runtime runs inside the server: VMs move through Starting, Running and Stopping.\n")
			}
			fmt.Fprintf(out, "Reach it with kubectl:\n\n  export KUBECONFIG=%s\n  kubectl get virtualmachines\n\n", creds.Path(standalone.KubeconfigFile))
			return nil
		}
	}

	config.ExtraConfig.HotplugVolumeRequests = o.HotplugVolumeRequests
	if o.Runtime == RuntimeSimulated {
		config.ExtraConfig.SimulatedRuntime = &o.Simulated
	}

	server, err := config.Complete().New()
	if err != nil {
		return err
	}
	return server.GenericAPIServer.PrepareRun().RunWithContext(ctx)
}

// Config builds the server's configuration from the completed options. In
// standalone mode it also creates the credentials in the data dir.
func (o *Options) Config() (*apiserver.Config, standalone.Credentials, error) {
	var creds standalone.Credentials
	serving := o.Recommended.SecureServing
	if o.standalone {
		hosts := append([]string{"localhost", "127.0.0.1", "::1"}, o.AdvertiseHosts...)
		if ip := serving.BindAddress; ip != nil && !ip.IsUnspecified() && !ip.IsLoopback() {
			hosts = append(hosts, ip.String())
		}
		var err error
		if creds, err = standalone.Ensure(o.DataDir, hosts); err != nil {
			return nil, creds, err
		}
		if serving.ServerCert.CertKey.CertFile == "" && serving.ServerCert.CertKey.KeyFile == "" {
			serving.ServerCert.CertKey.CertFile = creds.Path(standalone.ServingCertFile)
			serving.ServerCert.CertKey.KeyFile = creds.Path(standalone.ServingKeyFile)
		}
	} else if err := serving.MaybeDefaultWithSelfSignedCerts("localhost", nil, []net.IP{net.ParseIP("127.0.0.1")}); err != nil {
		return nil, creds, fmt.Errorf("creating self-signed serving certificate: %w", err)
	}

	gc := apiserver.NewRecommendedConfig()
	// The etcd health checks are the server's own (EtcdHealthChecks): they
	// stay green while a majority of etcd is, with a member cut off.
	o.Recommended.Etcd.SkipHealthEndpoints = true
	// In cluster mode the delegating options build the authenticator; the
	// client CA they verify against is decided here first, so that the
	// certificate verifications can be remembered per connection against
	// the very same bundle.
	clusterClientCA, err := certauth.PinClientCA(o.Recommended.Authentication)
	if err != nil {
		return nil, creds, err
	}
	if err := o.Recommended.ApplyTo(gc); err != nil {
		return nil, creds, err
	}
	if !o.standalone && gc.Authentication.Authenticator != nil {
		gc.Authentication.Authenticator = certauth.New(gc.Authentication.Authenticator, certauth.Config{
			ClientCA: clusterClientCA, RequestHeader: gc.Authentication.RequestHeaderConfig,
		})
	}
	health, ready, err := apiserver.EtcdHealthChecks(o.Recommended.Etcd.StorageConfig, gc.DrainedNotify())
	if err != nil {
		return nil, creds, err
	}
	gc.AddHealthChecks(health)
	gc.AddReadyzChecks(ready)
	if o.standalone {
		caFile := creds.Path(standalone.CAFile)
		if o.clientCAFile != "" {
			caFile = o.clientCAFile
		}
		clientCA, err := standalone.ClientCAFromFile(caFile)
		if err != nil {
			return nil, creds, err
		}
		// One provider for the handshake and the authenticator: ApplyClientCert
		// makes it the serving info's ClientCA, which the server runs (it
		// watches the file), and the authenticator verifies each request's
		// certificate against its current bundle.
		if err := gc.Authentication.ApplyClientCert(clientCA, gc.SecureServing); err != nil {
			return nil, creds, err
		}
		authn, err := standalone.NewAuthenticator(clientCA)
		if err != nil {
			return nil, creds, err
		}
		gc.Authentication.Authenticator = authn
	}

	return &apiserver.Config{
		GenericConfig: gc,
		ExtraConfig: apiserver.ExtraConfig{
			PostStartHooks: map[string]genericapiserver.PostStartHookFunc{},
			// Standalone mode has no kube-apiserver to send Events to: it
			// stores and serves them itself.
			ServeEvents: o.standalone,
			EventTTL:    o.EventTTL,
		},
	}, creds, nil
}

// loopbackHostPort turns a listen address into one a local client can dial:
// an unspecified address becomes the loopback address.
func loopbackHostPort(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return addr.String()
	}
	host := tcp.IP
	if host == nil || host.IsUnspecified() {
		host = net.IPv4(127, 0, 0, 1)
	}
	return net.JoinHostPort(host.String(), strconv.Itoa(tcp.Port))
}
