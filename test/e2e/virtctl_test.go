package e2e

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	kubevirtv1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/pkg/generated/clientset/versioned"
	typedv1 "github.com/vm-apiserver/vm-apiserver/pkg/generated/clientset/versioned/typed/core/v1"
	vmversion "github.com/vm-apiserver/vm-apiserver/pkg/version"
	"github.com/vm-apiserver/vm-apiserver/test/framework"
)

// The tests here run KubeVirt's own virtctl, the binary that
// hack/build-test-binaries.sh virtctl builds, against the server through the
// admin kubeconfig the server writes, as a KubeVirt user would.

// versionMismatch is what virtctl prints, before the error, whenever a
// command fails: it compares its own version (KubeVirt's) with the server's
// (vm-apiserver's) and finds that their major and minor versions differ.
const versionMismatch = "You are using a client virtctl version that is different from the KubeVirt version running in the cluster"

// virtctlResult is what one run of virtctl did.
type virtctlResult struct {
	stdout, stderr string
	// code is the exit code.
	code int
}

type virtctlRunner struct {
	path, kubeconfig string
	vms              typedv1.VirtualMachineInterface
}

// newVirtctl runs the virtctl at path against s.
func newVirtctl(t *testing.T, s *framework.Server, path string) *virtctlRunner {
	t.Helper()
	return &virtctlRunner{path: path, kubeconfig: s.Kubeconfig, vms: defaultVMs(t, s)}
}

// run runs virtctl --kubeconfig KUBECONFIG ARGS.
func (v *virtctlRunner) run(t *testing.T, args ...string) virtctlResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, v.path, append([]string{"--kubeconfig", v.kubeconfig}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := virtctlResult{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		res.code = exit.ExitCode()
	} else {
		require.NoError(t, err, "virtctl %v did not run", args)
	}
	t.Logf("virtctl %v: exit %d\nstdout: %s\nstderr: %s", args, res.code, res.stdout, res.stderr)
	return res
}

// ok runs virtctl and requires that it succeeded, printed nothing on
// stderr, and printed wantStdout on stdout.
func (v *virtctlRunner) ok(t *testing.T, wantStdout string, args ...string) {
	t.Helper()
	res := v.run(t, args...)
	require.Equal(t, 0, res.code, "virtctl %v failed: %s", args, res.stderr)
	assert.Equal(t, wantStdout, res.stdout, "virtctl %v", args)
	assert.Empty(t, res.stderr, "virtctl %v", args)
}

// refused runs virtctl, requires that it exited 1, and returns what it
// printed on stderr. virtctl prints the version mismatch first, then the
// error.
func (v *virtctlRunner) refused(t *testing.T, args ...string) string {
	t.Helper()
	res := v.run(t, args...)
	require.Equal(t, 1, res.code, "virtctl %v: stdout %q, stderr %q", args, res.stdout, res.stderr)
	assert.Contains(t, res.stderr, versionMismatch, "virtctl %v", args)
	return res.stderr
}

// create stores a VM with the given run strategy; an active one gets an
// instance that is Running, as a runtime would report it.
func (v *virtctlRunner) create(t *testing.T, name string, strategy kubevirtv1.VirtualMachineRunStrategy, active bool) *kubevirtv1.VirtualMachine {
	t.Helper()
	ctx := context.Background()
	vm := typedVM(t, name)
	vm.Spec.RunStrategy = &strategy
	created, err := v.vms.Create(ctx, vm, metav1.CreateOptions{})
	require.NoError(t, err)
	if active {
		created.Status = kubevirtv1.VirtualMachineStatus{Created: true, Ready: true, PrintableStatus: kubevirtv1.VirtualMachineStatusRunning}
		created, err = v.vms.UpdateStatus(ctx, created, metav1.UpdateOptions{})
		require.NoError(t, err)
	}
	return created
}

func (v *virtctlRunner) get(t *testing.T, name string) *kubevirtv1.VirtualMachine {
	t.Helper()
	vm, err := v.vms.Get(context.Background(), name, metav1.GetOptions{})
	require.NoError(t, err)
	return vm
}

// requests lists a VM's state change requests as "Action" or
// "Action{key=value}".
func requests(vm *kubevirtv1.VirtualMachine) []string {
	out := []string{}
	for _, r := range vm.Status.StateChangeRequests {
		s := string(r.Action)
		for k, val := range r.Data {
			s += "{" + k + "=" + val + "}"
		}
		out = append(out, s)
	}
	return out
}

func TestVirtctl(t *testing.T) {
	// Skipped or failed before the server starts if virtctl is missing.
	path := framework.BinariesOrSkip(t, framework.BinVirtctl).Virtctl
	s := framework.StartServer(t)
	v := newVirtctl(t, s, path)
	server := vmversion.Get()

	t.Run("version shows the client's and the server's version", func(t *testing.T) {
		res := v.run(t, "version")
		require.Equal(t, 0, res.code, res.stderr)
		assert.Empty(t, res.stderr)
		assert.Contains(t, res.stdout, `Client Version: version.Info{GitVersion:"`+framework.VirtctlVersion+`"`,
			"hack/build-test-binaries.sh stamps the version")
		assert.Contains(t, res.stdout, `GitTreeState:"clean"`)
		assert.Contains(t, res.stdout, `Server Version: version.Info{GitVersion:"`+server.GitVersion+`", GitCommit:"`+server.GitCommit+`"`)
		assert.Contains(t, res.stdout, `Platform:"`+server.Platform+`"`)

		res = v.run(t, "version", "--client")
		require.Equal(t, 0, res.code, res.stderr)
		assert.Contains(t, res.stdout, `Client Version: version.Info{GitVersion:"`+framework.VirtctlVersion+`"`)
		assert.NotContains(t, res.stdout, "Server Version")
	})

	// finish gives the VM a finished instance, as a runtime reports a guest
	// that shut itself down, or crashed (the Ready reason GuestCrashed).
	finish := func(t *testing.T, name string, crashed bool) {
		t.Helper()
		vm := v.get(t, name)
		reason := "GuestShutdown"
		if crashed {
			reason = "GuestCrashed"
		}
		vm.Status = kubevirtv1.VirtualMachineStatus{Created: true, PrintableStatus: kubevirtv1.VirtualMachineStatusStopped,
			Conditions: []kubevirtv1.VirtualMachineCondition{{Type: kubevirtv1.VirtualMachineReady, Status: "False", Reason: reason}}}
		_, err := v.vms.UpdateStatus(context.Background(), vm, metav1.UpdateOptions{})
		require.NoError(t, err)
	}

	t.Run("restart of a Manual VM whose guest shut down", func(t *testing.T) {
		v.create(t, "shutdown", kubevirtv1.RunStrategyManual, false)
		finish(t, "shutdown", false)
		v.ok(t, "VM shutdown was scheduled to restart\n", "restart", "shutdown")
		assert.Equal(t, []string{"Stop", "Start"}, requests(v.get(t, "shutdown")))
	})

	t.Run("start of a RerunOnFailure VM whose guest crashed is refused", func(t *testing.T) {
		v.create(t, "crashed", kubevirtv1.RunStrategyRerunOnFailure, false)
		finish(t, "crashed", true)
		stderr := v.refused(t, "start", "crashed")
		assert.Contains(t, stderr, "RerunOnFailure does not support starting VM from failed state")
		assert.Empty(t, requests(v.get(t, "crashed")))
	})

	t.Run("start of a crash-looping Manual VM ends the back-off", func(t *testing.T) {
		v.create(t, "backoff", kubevirtv1.RunStrategyManual, false)
		finish(t, "backoff", true)
		vm := v.get(t, "backoff")
		vm.Status.StartFailure = &kubevirtv1.VirtualMachineStartFailure{ConsecutiveFailCount: 3}
		_, err := v.vms.UpdateStatus(context.Background(), vm, metav1.UpdateOptions{})
		require.NoError(t, err)
		v.ok(t, "VM backoff was scheduled to start\n", "start", "backoff")
		vm = v.get(t, "backoff")
		assert.Nil(t, vm.Status.StartFailure)
		assert.Equal(t, []string{"Stop", "Start"}, requests(vm))
	})

	t.Run("stop of a stopping Halted VM needs a shorter grace period", func(t *testing.T) {
		vm := v.create(t, "stopping", kubevirtv1.RunStrategyHalted, true)
		vm.Spec.Template.Spec.TerminationGracePeriodSeconds = ptr.To[int64](60)
		_, err := v.vms.Update(context.Background(), vm, metav1.UpdateOptions{})
		require.NoError(t, err)
		stderr := v.refused(t, "stop", "stopping", "--force", "--grace-period=60")
		assert.Contains(t, stderr, "Halted only supports manual stop requests with a shorter graceperiod")
		v.ok(t, "VM stopping was scheduled to stop\n", "stop", "stopping", "--force", "--grace-period=5")
		assert.Equal(t, []string{"Stop{gracePeriodSeconds=5}"}, requests(v.get(t, "stopping")))
	})

	t.Run("start, then stop, a Halted VM", func(t *testing.T) {
		v.create(t, "halted", kubevirtv1.RunStrategyHalted, false)
		v.ok(t, "VM halted was scheduled to start\n", "start", "halted")
		vm := v.get(t, "halted")
		assert.Equal(t, kubevirtv1.RunStrategyAlways, *vm.Spec.RunStrategy)
		assert.Empty(t, vm.Status.StateChangeRequests)

		v.ok(t, "VM halted was scheduled to stop\n", "stop", "halted")
		vm = v.get(t, "halted")
		assert.Equal(t, kubevirtv1.RunStrategyHalted, *vm.Spec.RunStrategy)
		assert.Empty(t, vm.Status.StateChangeRequests)
	})

	t.Run("a refused start prints the server's 409 and exits 1", func(t *testing.T) {
		before := v.create(t, "always", kubevirtv1.RunStrategyAlways, false)
		stderr := v.refused(t, "start", "always")
		assert.Contains(t, stderr, `Error starting VirtualMachine Operation cannot be fulfilled on virtualmachines.kubevirt.io "always": Always does not support manual start requests`)
		assert.Equal(t, before.ResourceVersion, v.get(t, "always").ResourceVersion, "nothing is written")

		v.create(t, "running", kubevirtv1.RunStrategyAlways, true)
		assert.Contains(t, v.refused(t, "start", "running"), "VM is already running")
		v.create(t, "stopped", kubevirtv1.RunStrategyHalted, false)
		assert.Contains(t, v.refused(t, "stop", "stopped"), "error stopping VirtualMachine")
		assert.Contains(t, v.refused(t, "stop", "stopped"), "VM is not running")
		assert.Contains(t, v.refused(t, "restart", "stopped"), "Halted does not support manual restart requests")
	})

	t.Run("start --paused", func(t *testing.T) {
		v.create(t, "paused-halted", kubevirtv1.RunStrategyHalted, false)
		v.ok(t, "VM paused-halted was scheduled to start\n", "start", "paused-halted", "--paused")
		vm := v.get(t, "paused-halted")
		assert.Equal(t, kubevirtv1.RunStrategyAlways, *vm.Spec.RunStrategy)
		assert.Equal(t, []string{"Start{paused=true}"}, requests(vm))

		v.create(t, "paused-manual", kubevirtv1.RunStrategyManual, false)
		v.ok(t, "VM paused-manual was scheduled to start\n", "start", "paused-manual", "--paused=true")
		vm = v.get(t, "paused-manual")
		assert.Equal(t, kubevirtv1.RunStrategyManual, *vm.Spec.RunStrategy)
		assert.Equal(t, []string{"Start{paused=true}"}, requests(vm))

		// A second start finds the first one pending.
		assert.Contains(t, v.refused(t, "start", "paused-manual"), "a start or stop request is already pending")
	})

	t.Run("restart of a Manual VM with an instance", func(t *testing.T) {
		v.create(t, "manual", kubevirtv1.RunStrategyManual, true)
		v.ok(t, "VM manual was scheduled to restart\n", "restart", "manual")
		vm := v.get(t, "manual")
		assert.Equal(t, kubevirtv1.RunStrategyManual, *vm.Spec.RunStrategy)
		assert.Equal(t, []string{"Stop", "Start"}, requests(vm))

		stderr := v.refused(t, "restart", "manual")
		assert.Contains(t, stderr, "error restarting VirtualMachine: ")
		assert.Contains(t, stderr, "a start or stop request is already pending")
	})

	t.Run("restart --force --grace-period=0 of a RerunOnFailure VM", func(t *testing.T) {
		v.create(t, "rerun", kubevirtv1.RunStrategyRerunOnFailure, true)
		v.ok(t, "VM rerun was scheduled to restart\n", "restart", "rerun", "--force", "--grace-period=0")
		vm := v.get(t, "rerun")
		assert.Equal(t, kubevirtv1.RunStrategyRerunOnFailure, *vm.Spec.RunStrategy)
		// KubeVirt gives the old instance one second, not zero.
		assert.Equal(t, []string{"Stop{gracePeriodSeconds=1}", "Start"}, requests(vm))
	})

	t.Run("stop --force --grace-period", func(t *testing.T) {
		v.create(t, "grace", kubevirtv1.RunStrategyAlways, true)
		v.ok(t, "VM grace was scheduled to stop\n", "stop", "grace", "--force", "--grace-period=0")
		vm := v.get(t, "grace")
		assert.Equal(t, kubevirtv1.RunStrategyHalted, *vm.Spec.RunStrategy)
		assert.Equal(t, []string{"Stop{gracePeriodSeconds=0}"}, requests(vm))

		// A grace period other than 0 reaches the server, which keeps it.
		v.create(t, "grace-rerun", kubevirtv1.RunStrategyRerunOnFailure, true)
		v.ok(t, "VM grace-rerun was scheduled to stop\n", "stop", "grace-rerun", "--force", "--grace-period=30")
		assert.Equal(t, []string{"Stop{gracePeriodSeconds=30}"}, requests(v.get(t, "grace-rerun")))

		// virtctl itself refuses a grace period without --force, and sends
		// nothing.
		before := v.create(t, "grace-alone", kubevirtv1.RunStrategyAlways, true)
		stderr := v.refused(t, "stop", "grace-alone", "--grace-period=0")
		assert.Contains(t, stderr, "Must both use --force=true and set --grace-period.")
		assert.Equal(t, before.ResourceVersion, v.get(t, "grace-alone").ResourceVersion)
	})

	t.Run("--dry-run changes nothing", func(t *testing.T) {
		for _, tc := range []struct {
			name     string
			strategy kubevirtv1.VirtualMachineRunStrategy
			active   bool
			args     []string
		}{
			{"dry-start", kubevirtv1.RunStrategyHalted, false, []string{"start"}},
			{"dry-start-paused", kubevirtv1.RunStrategyManual, false, []string{"start", "--paused"}},
			{"dry-stop", kubevirtv1.RunStrategyAlways, true, []string{"stop"}},
			{"dry-stop-grace", kubevirtv1.RunStrategyAlways, true, []string{"stop", "--force", "--grace-period=0"}},
			{"dry-restart", kubevirtv1.RunStrategyManual, true, []string{"restart"}},
		} {
			before := v.create(t, tc.name, tc.strategy, tc.active)
			args := append([]string{tc.args[0], tc.name, "--dry-run"}, tc.args[1:]...)
			v.ok(t, "Dry Run execution\nVM "+tc.name+" was scheduled to "+tc.args[0]+"\n", args...)
			after := v.get(t, tc.name)
			assert.Equal(t, before.ResourceVersion, after.ResourceVersion, "%v", args)
			assert.Equal(t, tc.strategy, *after.Spec.RunStrategy, "%v", args)
			assert.Empty(t, after.Status.StateChangeRequests, "%v", args)
		}

		// A dry run is refused as the real action would be.
		before := v.create(t, "dry-always", kubevirtv1.RunStrategyAlways, false)
		stderr := v.refused(t, "start", "dry-always", "--dry-run")
		assert.Contains(t, stderr, "Always does not support manual start requests")
		assert.Equal(t, before.ResourceVersion, v.get(t, "dry-always").ResourceVersion)
	})

	t.Run("an unknown VM", func(t *testing.T) {
		stderr := v.refused(t, "start", "missing")
		assert.Contains(t, stderr, `virtualmachines.kubevirt.io "missing" not found`)
	})

	t.Run("--namespace", func(t *testing.T) {
		client, err := versioned.NewForConfig(s.RESTConfig)
		require.NoError(t, err)
		vm := typedVM(t, "elsewhere")
		vm.Spec.RunStrategy = ptr.To(kubevirtv1.RunStrategyHalted)
		_, err = client.KubevirtV1().VirtualMachines("other").Create(context.Background(), vm, metav1.CreateOptions{})
		require.NoError(t, err)

		assert.Contains(t, v.refused(t, "start", "elsewhere"), `"elsewhere" not found`, "the kubeconfig's namespace is default")
		v.ok(t, "VM elsewhere was scheduled to start\n", "start", "elsewhere", "--namespace", "other")
		got, err := client.KubevirtV1().VirtualMachines("other").Get(context.Background(), "elsewhere", metav1.GetOptions{})
		require.NoError(t, err)
		assert.Equal(t, kubevirtv1.RunStrategyAlways, *got.Spec.RunStrategy)
	})
}
