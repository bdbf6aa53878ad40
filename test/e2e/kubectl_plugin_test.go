package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	apimachineryversion "k8s.io/apimachinery/pkg/version"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/utils/ptr"
	v1 "kubevirt.io/api/core/v1"

	kubectlvm "github.com/vm-apiserver/vm-apiserver/cmd/kubectl-vm/app"
	"github.com/vm-apiserver/vm-apiserver/pkg/generated/clientset/versioned"
	typedv1 "github.com/vm-apiserver/vm-apiserver/pkg/generated/clientset/versioned/typed/core/v1"
	vmversion "github.com/vm-apiserver/vm-apiserver/pkg/version"
	"github.com/vm-apiserver/vm-apiserver/test/framework"
)

// The plugin runs against the real server with the simulated runtime inside
// it, through the admin kubeconfig the server writes, as a user would.

type plugin struct {
	t          *testing.T
	kubeconfig string
	client     typedv1.KubevirtV1Interface
	vms        typedv1.VirtualMachineInterface
}

func startPluginServer(t *testing.T) *plugin {
	t.Helper()
	s := framework.StartServer(t,
		"--runtime=simulated",
		"--simulated-start-delay=100ms",
		"--simulated-stop-delay=100ms",
		"--simulated-restart-delay=1ms",
	)
	client, err := versioned.NewForConfig(s.RESTConfig)
	require.NoError(t, err)
	return &plugin{t: t, kubeconfig: s.Kubeconfig, client: client.KubevirtV1(), vms: client.KubevirtV1().VirtualMachines("default")}
}

// run executes `kubectl vm ARGS` and returns what it printed and its error
// (the plugin's main prints the error and exits 1).
func (p *plugin) run(args ...string) (string, error) {
	p.t.Helper()
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	cmd := kubectlvm.NewCommand(streams)
	cmd.SetArgs(append([]string{"--kubeconfig", p.kubeconfig, "-n", "default"}, args...))
	err := cmd.ExecuteContext(context.Background())
	assert.Empty(p.t, errOut.String())
	return out.String(), err
}

func (p *plugin) create(name string, strategy v1.VirtualMachineRunStrategy) {
	p.t.Helper()
	vm := &v1.VirtualMachine{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1.VirtualMachineSpec{
			RunStrategy: ptr.To(strategy),
			Template: &v1.VirtualMachineInstanceTemplateSpec{Spec: v1.VirtualMachineInstanceSpec{
				Domain: v1.DomainSpec{Devices: v1.Devices{}},
			}},
		},
	}
	_, err := p.vms.Create(context.Background(), vm, metav1.CreateOptions{})
	require.NoError(p.t, err)
}

func (p *plugin) get(name string) *v1.VirtualMachine {
	p.t.Helper()
	vm, err := p.vms.Get(context.Background(), name, metav1.GetOptions{})
	require.NoError(p.t, err)
	return vm
}

func TestPluginEndToEnd(t *testing.T) {
	p := startPluginServer(t)

	t.Run("version names the plugin and the server", func(t *testing.T) {
		out, err := p.run("version")
		require.NoError(t, err)
		want := vmversion.String("kubectl-vm", vmversion.Get())
		assert.Equal(t, "Client: "+want+"\nServer: "+vmversion.String("vm-apiserver", vmversion.Get())+"\n", out,
			"the server runs in this process, so it reports the same build")

		out, err = p.run("version", "--client")
		require.NoError(t, err)
		assert.Equal(t, "Client: "+want+"\n", out)

		// The server's /version is the Kubernetes API level, for kubectl,
		// with this build's release as build metadata.
		raw, err := p.client.RESTClient().Get().AbsPath("/version").DoRaw(t.Context())
		require.NoError(t, err)
		var info apimachineryversion.Info
		require.NoError(t, json.Unmarshal(raw, &info))
		assert.Equal(t, vmversion.KubernetesAPI(), info)
	})

	t.Run("start --wait shows progress until Running", func(t *testing.T) {
		p.create("vm-cirros", v1.RunStrategyHalted)
		out, err := p.run("start", "vm-cirros", "--wait")
		require.NoError(t, err)
		assert.Contains(t, out, "VM vm-cirros was scheduled to start\n")
		assert.Contains(t, out, "vm-cirros: Starting")
		assert.Contains(t, out, "VM vm-cirros is Running\n")
		vm := p.get("vm-cirros")
		assert.Equal(t, v1.RunStrategyAlways, *vm.Spec.RunStrategy)
		assert.Equal(t, v1.VirtualMachineStatusRunning, vm.Status.PrintableStatus)

		out, err = p.run("status", "vm-cirros")
		require.NoError(t, err)
		assert.Regexp(t, `Run strategy:\s+Always\n`, out)
		assert.Regexp(t, `Status:\s+Running\n`, out)
		assert.Regexp(t, `Pending requests:\s+<none>\n`, out)
		assert.Regexp(t, `Ready\s+True\s+Running`, out)
	})

	t.Run("a second start prints the server's conflict", func(t *testing.T) {
		_, err := p.run("start", "vm-cirros")
		require.Error(t, err)
		assert.Contains(t, err.Error(), "VM is already running")
	})

	t.Run("restart --force --grace-period=0 --wait", func(t *testing.T) {
		out, err := p.run("restart", "vm-cirros", "--force", "--grace-period=0", "--wait")
		require.NoError(t, err)
		assert.Contains(t, out, "pending Stop(gracePeriodSeconds=1), Start", "a forced restart gives the guest one second")
		assert.Contains(t, out, "VM vm-cirros is Running\n")
		assert.Empty(t, p.get("vm-cirros").Status.StateChangeRequests)
	})

	t.Run("restart with another grace period is refused by the server", func(t *testing.T) {
		_, err := p.run("restart", "vm-cirros", "--force", "--grace-period=5")
		require.Error(t, err)
		assert.Contains(t, err.Error(), "gracePeriodSeconds")
	})

	t.Run("stop --dry-run changes nothing", func(t *testing.T) {
		before := p.get("vm-cirros")
		out, err := p.run("stop", "vm-cirros", "--dry-run")
		require.NoError(t, err)
		assert.Contains(t, out, "(dry run)")
		after := p.get("vm-cirros")
		assert.Equal(t, before.ResourceVersion, after.ResourceVersion)
	})

	t.Run("stop --wait ends Stopped", func(t *testing.T) {
		out, err := p.run("stop", "vm-cirros", "--wait")
		require.NoError(t, err)
		assert.Contains(t, out, "VM vm-cirros is Stopped\n")
		vm := p.get("vm-cirros")
		assert.Equal(t, v1.RunStrategyHalted, *vm.Spec.RunStrategy)
		assert.False(t, vm.Status.Created)
	})

	t.Run("stop on a stopped VM prints the server's conflict", func(t *testing.T) {
		_, err := p.run("stop", "vm-cirros")
		require.Error(t, err)
		assert.Contains(t, err.Error(), "VM is not running")
	})

	t.Run("start --paused --wait ends Paused", func(t *testing.T) {
		p.create("manual", v1.RunStrategyManual)
		out, err := p.run("start", "manual", "--paused", "--wait")
		require.NoError(t, err)
		assert.Contains(t, out, "VM manual is Paused\n")

		out, err = p.run("status", "manual")
		require.NoError(t, err)
		assert.Regexp(t, `Run strategy:\s+Manual\n`, out)
		assert.Regexp(t, `Paused\s+True`, out)
	})

	t.Run("stop --force --grace-period=0 --wait on Manual", func(t *testing.T) {
		out, err := p.run("stop", "manual", "--force", "--grace-period=0", "--wait")
		require.NoError(t, err)
		assert.Contains(t, out, "VM manual is Stopped\n")
		assert.Equal(t, v1.RunStrategyManual, *p.get("manual").Spec.RunStrategy)
	})

	t.Run("unknown VM", func(t *testing.T) {
		_, err := p.run("start", "nope")
		require.Error(t, err)
		assert.Contains(t, err.Error(), `"nope" not found`)
		_, err = p.run("status", "nope")
		require.Error(t, err)
		assert.Contains(t, err.Error(), `"nope" not found`)
	})

	t.Run("--wait gives up after --timeout", func(t *testing.T) {
		p.create("slow", v1.RunStrategyHalted)
		// The runtime needs at least the start delay (100ms): 1ms is never enough.
		_, err := p.run("start", "slow", "--wait", "--timeout=1ms")
		require.Error(t, err)
		assert.Contains(t, err.Error(), "timed out after 1ms waiting for VM slow to be Running")
	})
}

// runBoth executes `kubectl vm ARGS` and returns what it printed on stdout
// and on stderr, and its error.
func (p *plugin) runBoth(args ...string) (string, string, error) {
	p.t.Helper()
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	cmd := kubectlvm.NewCommand(streams)
	cmd.SetArgs(append([]string{"--kubeconfig", p.kubeconfig, "-n", "default"}, args...))
	err := cmd.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

// createIn creates a VM with labels in namespace.
func (p *plugin) createIn(namespace, name string, strategy v1.VirtualMachineRunStrategy, labels map[string]string) {
	p.t.Helper()
	vm := &v1.VirtualMachine{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: labels},
		Spec: v1.VirtualMachineSpec{
			RunStrategy: ptr.To(strategy),
			Template: &v1.VirtualMachineInstanceTemplateSpec{Spec: v1.VirtualMachineInstanceSpec{
				Domain: v1.DomainSpec{Devices: v1.Devices{}},
			}},
		},
	}
	_, err := p.client.VirtualMachines(namespace).Create(context.Background(), vm, metav1.CreateOptions{})
	require.NoError(p.t, err)
}

func (p *plugin) strategyOf(namespace, name string) v1.VirtualMachineRunStrategy {
	p.t.Helper()
	vm, err := p.client.VirtualMachines(namespace).Get(context.Background(), name, metav1.GetOptions{})
	require.NoError(p.t, err)
	return *vm.Spec.RunStrategy
}

func TestPluginBulkActions(t *testing.T) {
	p := startPluginServer(t)
	web := map[string]string{"tier": "web"}
	p.createIn("default", "web-2", v1.RunStrategyHalted, web)
	p.createIn("default", "web-1", v1.RunStrategyHalted, web)
	p.createIn("default", "db-1", v1.RunStrategyHalted, map[string]string{"tier": "db"})
	p.createIn("team-b", "web-3", v1.RunStrategyHalted, web)

	t.Run("a selector acts on the matching VMs of the namespace, in name order", func(t *testing.T) {
		out, errOut, err := p.runBoth("start", "-l", "tier=web", "--wait")
		require.NoError(t, err)
		assert.Empty(t, errOut)
		assert.True(t, strings.HasPrefix(out, "virtualmachine.kubevirt.io/web-1 started\nvirtualmachine.kubevirt.io/web-2 started\n"), out)
		assert.Contains(t, out, "VM web-1 is Running\n")
		assert.Contains(t, out, "VM web-2 is Running\n")
		assert.Equal(t, v1.RunStrategyAlways, p.strategyOf("default", "web-1"))
		assert.Equal(t, v1.RunStrategyHalted, p.strategyOf("default", "db-1"), "not selected")
		assert.Equal(t, v1.RunStrategyHalted, p.strategyOf("team-b", "web-3"), "another namespace")
	})

	t.Run("names: each refusal is one line with the server's reason, and the exit fails", func(t *testing.T) {
		out, errOut, err := p.runBoth("start", "web-1", "db-1", "nope", "db-1")
		require.Error(t, err)
		assert.Equal(t, "2 of 3 VMs were not started", err.Error(), "a repeated name is acted on once")
		assert.Equal(t, "virtualmachine.kubevirt.io/db-1 started\n", out)
		lines := strings.Split(strings.TrimSuffix(errOut, "\n"), "\n")
		require.Len(t, lines, 2, errOut)
		assert.Contains(t, lines[0], "virtualmachine.kubevirt.io/web-1 not started: ")
		assert.Contains(t, lines[0], "VM is already running")
		assert.Contains(t, lines[1], "virtualmachine.kubevirt.io/nope not started: ")
		assert.Contains(t, lines[1], `"nope" not found`)
	})

	t.Run("--all --dry-run=server checks every VM and changes none", func(t *testing.T) {
		// db-1 was just started: once the runtime reports it Running,
		// nothing but an action writes it.
		require.EventuallyWithT(t, func(c *assert.CollectT) {
			assert.Equal(c, v1.VirtualMachineStatusRunning, p.get("db-1").Status.PrintableStatus)
		}, time.Minute, 20*time.Millisecond)
		before := map[string]string{}
		for _, name := range []string{"web-1", "web-2", "db-1"} {
			before[name] = p.get(name).ResourceVersion
		}
		out, errOut, err := p.runBoth("stop", "--all", "--dry-run=server")
		require.NoError(t, err)
		assert.Empty(t, errOut)
		assert.Equal(t, "virtualmachine.kubevirt.io/db-1 stopped (server dry run)\n"+
			"virtualmachine.kubevirt.io/web-1 stopped (server dry run)\n"+
			"virtualmachine.kubevirt.io/web-2 stopped (server dry run)\n", out)
		for name, rv := range before {
			assert.Equal(t, rv, p.get(name).ResourceVersion, name)
		}
	})

	t.Run("-A with a selector and --wait, one request at a time", func(t *testing.T) {
		out, errOut, err := p.runBoth("stop", "-A", "-l", "tier=web", "--wait", "--max-in-flight=1")
		require.Error(t, err, "web-3 was never started")
		assert.Equal(t, "1 of 3 VMs were not stopped", err.Error())
		assert.Contains(t, out, "virtualmachine.kubevirt.io/web-1 in namespace default stopped\n")
		assert.Contains(t, out, "virtualmachine.kubevirt.io/web-2 in namespace default stopped\n")
		assert.Contains(t, out, "VM web-1 is Stopped\n")
		assert.Contains(t, out, "VM web-2 is Stopped\n")
		assert.Contains(t, errOut, "virtualmachine.kubevirt.io/web-3 in namespace team-b not stopped: ")
		assert.Contains(t, errOut, "VM is not running")
		assert.Equal(t, v1.RunStrategyHalted, p.strategyOf("default", "web-1"))
		assert.Equal(t, v1.RunStrategyHalted, p.strategyOf("default", "web-2"))
	})

	t.Run("a selector that matches nothing says so and succeeds", func(t *testing.T) {
		out, errOut, err := p.runBoth("restart", "-l", "tier=none")
		require.NoError(t, err)
		assert.Empty(t, out)
		assert.Equal(t, "No VirtualMachines found in default namespace.\n", errOut)
	})
}
