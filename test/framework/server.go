package framework

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/vm-apiserver/vm-apiserver/cmd/vm-apiserver/app"
	"github.com/vm-apiserver/vm-apiserver/pkg/standalone"
)

// Server is a vm-apiserver running in the test process.
type Server struct {
	// DataDir holds the server's etcd data and credentials.
	DataDir string
	// Kubeconfig is the path of the generated admin kubeconfig.
	Kubeconfig string
	// RESTConfig authenticates as the admin (group system:masters).
	RESTConfig *rest.Config
	// URL is the server's base URL, https://127.0.0.1:PORT.
	URL string

	stop     context.CancelFunc
	done     chan struct{}
	err      error
	stopOnce sync.Once
}

// StartServer starts a standalone vm-apiserver with the given extra flags on
// a free loopback port and a fresh data dir (unless --data-dir is given), and
// waits until /readyz passes. It is stopped when the test ends.
func StartServer(t testing.TB, args ...string) *Server {
	t.Helper()
	o := app.NewOptions()
	o.DataDir = t.TempDir()
	fs := pflag.NewFlagSet("vm-apiserver", pflag.ContinueOnError)
	for _, f := range o.Flags().FlagSets {
		fs.AddFlagSet(f)
	}
	require.NoError(t, fs.Parse(args))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	o.Recommended.SecureServing.Listener = ln
	o.Recommended.SecureServing.BindPort = ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, o.Complete())
	require.NoError(t, o.Validate())
	require.True(t, o.Standalone(), "the test framework runs standalone servers only")

	kubeconfig := filepath.Join(o.DataDir, standalone.KubeconfigFile)
	// A kubeconfig left by an earlier run on the same data dir names the old
	// port; wait for the new one.
	_ = os.Remove(kubeconfig)

	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{DataDir: o.DataDir, Kubeconfig: kubeconfig, stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		s.err = o.Run(ctx, io.Discard)
	}()
	t.Cleanup(s.Stop)

	err = wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, 60*time.Second, true, func(context.Context) (bool, error) {
		select {
		case <-s.done:
			return false, errors.New("server exited before it was ready")
		default:
		}
		_, statErr := os.Stat(kubeconfig)
		return statErr == nil, nil
	})
	require.NoError(t, err, "server did not write its kubeconfig: %v", s.err)

	s.RESTConfig, err = clientcmd.BuildConfigFromFlags("", kubeconfig)
	require.NoError(t, err)
	s.URL = s.RESTConfig.Host
	// Tests drive many requests in a row; client-go's default of 5 per
	// second would make them wait on the client, not on the server.
	s.RESTConfig.QPS, s.RESTConfig.Burst = 1000, 2000
	client, err := kubernetes.NewForConfig(s.RESTConfig)
	require.NoError(t, err)
	err = wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		select {
		case <-s.done:
			return false, errors.New("server exited before it was ready")
		default:
		}
		var code int
		client.Discovery().RESTClient().Get().AbsPath("/readyz").Do(ctx).StatusCode(&code)
		return code == 200, nil
	})
	require.NoError(t, err, "server did not become ready: %v", s.err)
	return s
}

// Stop shuts the server down gracefully and waits for it to exit.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		s.stop()
		select {
		case <-s.done:
		case <-time.After(90 * time.Second):
		}
	})
}

// Err is the error the server exited with, after Stop.
func (s *Server) Err() error { return s.err }
