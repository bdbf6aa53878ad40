package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	kubevirtv1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/test/framework"
)

// This file ports KubeVirt's own tests of its start, stop and restart
// handlers (pkg/virt-api/rest/subresource_test.go in kubevirt/kubevirt) to
// requests over HTTPS against this server. Each case is named by KubeVirt's
// description (Context, It or DescribeTable, and Entry), so that a KubeVirt
// upgrade can be checked case by case. KubeVirt reads the instance from its
// VirtualMachineInstance; here the runtime reports it in the VM's status
// (docs/runtime.md), so each VMI phase is written as that status:
//
//	no VMI            no status
//	Pending, unset    created, Starting
//	Running           created, Running
//	Unknown           created, Unknown
//	Succeeded         created, Stopped, Ready reason GuestShutdown
//	Failed            created, Stopped, Ready reason GuestCrashed
//
// and the instance's terminationGracePeriodSeconds is the template's. A case
// whose answer here differs on purpose says why in differs; docs/api.md
// lists the same differences. KubeVirt's cases that test its two-request
// implementation (a failed VMI patch and its rollback) have no counterpart,
// since an action here is one write, and neither have the two "StateChange
// JSON" cases that build a patch for a VM without status, which no handler
// sends: a stop or restart needs an instance, so a status.

// vmiPhase is the KubeVirt instance phase a case starts from; "" is no VMI.
type vmiPhase string

const (
	noVMI        vmiPhase = ""
	vmiPending   vmiPhase = "Pending"
	vmiRunning   vmiPhase = "Running"
	vmiUnknown   vmiPhase = "Unknown"
	vmiSucceeded vmiPhase = "Succeeded"
	vmiFailed    vmiPhase = "Failed"
)

// status is the VM status a runtime writes for an instance in phase p.
func (p vmiPhase) status() kubevirtv1.VirtualMachineStatus {
	ready := func(reason string) []kubevirtv1.VirtualMachineCondition {
		return []kubevirtv1.VirtualMachineCondition{{Type: kubevirtv1.VirtualMachineReady, Status: corev1.ConditionFalse, Reason: reason}}
	}
	switch p {
	case vmiPending:
		return kubevirtv1.VirtualMachineStatus{Created: true, PrintableStatus: kubevirtv1.VirtualMachineStatusStarting, Conditions: ready("Starting")}
	case vmiRunning:
		return kubevirtv1.VirtualMachineStatus{Created: true, Ready: true, PrintableStatus: kubevirtv1.VirtualMachineStatusRunning,
			Conditions: []kubevirtv1.VirtualMachineCondition{{Type: kubevirtv1.VirtualMachineReady, Status: corev1.ConditionTrue}}}
	case vmiUnknown:
		return kubevirtv1.VirtualMachineStatus{Created: true, PrintableStatus: kubevirtv1.VirtualMachineStatusUnknown, Conditions: ready("Unknown")}
	case vmiSucceeded:
		return kubevirtv1.VirtualMachineStatus{Created: true, PrintableStatus: kubevirtv1.VirtualMachineStatusStopped, Conditions: ready("GuestShutdown")}
	case vmiFailed:
		return kubevirtv1.VirtualMachineStatus{Created: true, PrintableStatus: kubevirtv1.VirtualMachineStatusStopped, Conditions: ready("GuestCrashed")}
	}
	return kubevirtv1.VirtualMachineStatus{}
}

// kubevirtCase is one of KubeVirt's handler test cases.
type kubevirtCase struct {
	name      string   // KubeVirt's description
	strategy  string   // a run strategy, or running:true / running:false
	vmi       vmiPhase // the instance
	grace     *int64   // the instance's terminationGracePeriodSeconds
	condition kubevirtv1.VirtualMachineConditionType
	scr       []kubevirtv1.VirtualMachineStateChangeRequest // pending requests
	missing   bool                                          // no VM at all
	action    string
	body      string
	code      int
	message   string                                       // part of the error's message
	want      func(*testing.T, *kubevirtv1.VirtualMachine) // checks the stored VM after a 202
	differs   string                                       // why this server answers otherwise on purpose
}

// dryRun is KubeVirt's withDryRun() in a body.
const dryRun = `"dryRun":["All"]`

// scrIs checks the stored request list, grace periods included.
func scrIs(want ...kubevirtv1.VirtualMachineStateChangeRequest) func(*testing.T, *kubevirtv1.VirtualMachine) {
	return func(t *testing.T, vm *kubevirtv1.VirtualMachine) {
		assert.Equal(t, want, vm.Status.StateChangeRequests)
	}
}

// strategyIs checks the stored effective strategy.
func strategyIs(want string) func(*testing.T, *kubevirtv1.VirtualMachine) {
	return func(t *testing.T, vm *kubevirtv1.VirtualMachine) {
		switch want {
		case "running:true", "running:false":
			require.NotNil(t, vm.Spec.Running)
			assert.Equal(t, want == "running:true", *vm.Spec.Running)
		default:
			require.NotNil(t, vm.Spec.RunStrategy)
			assert.Equal(t, want, string(*vm.Spec.RunStrategy))
		}
	}
}

var (
	kvStart       = kubevirtv1.VirtualMachineStateChangeRequest{Action: kubevirtv1.StartRequest}
	kvStop        = kubevirtv1.VirtualMachineStateChangeRequest{Action: kubevirtv1.StopRequest}
	kvStartPaused = kubevirtv1.VirtualMachineStateChangeRequest{Action: kubevirtv1.StartRequest, Data: map[string]string{"paused": "true"}}
)

func kvStopGrace(seconds string) kubevirtv1.VirtualMachineStateChangeRequest {
	return kubevirtv1.VirtualMachineStateChangeRequest{Action: kubevirtv1.StopRequest, Data: map[string]string{"gracePeriodSeconds": seconds}}
}

// kubevirtCases are KubeVirt's start, stop and restart handler cases.
func kubevirtCases() []kubevirtCase {
	var cases []kubevirtCase
	add := func(c ...kubevirtCase) { cases = append(cases, c...) }

	// Context "Subresource api", Context "restart".
	const restart = "Subresource api / restart / "
	add(kubevirtCase{name: restart + "should fail if VirtualMachine not exists", missing: true, action: "restart", code: http.StatusNotFound})
	add(
		kubevirtCase{name: restart + "should return an error when VM is not running / with Running field", strategy: "running:false", action: "restart",
			code: http.StatusConflict, message: "Halted does not support manual restart requests",
			differs: `KubeVirt's text starts with a misspelled "RunStategy "; the rest is the same`},
		kubevirtCase{name: restart + "should return an error when VM is not running / with RunStrategyHalted", strategy: "Halted", action: "restart",
			code: http.StatusConflict, message: "Halted does not support manual restart requests",
			differs: `KubeVirt's text starts with a misspelled "RunStategy "; the rest is the same`},
		kubevirtCase{name: restart + "should return an error when VM is not running / with RunStrategyManual", strategy: "Manual", action: "restart",
			code: http.StatusConflict, message: "VM is not running",
			differs: `KubeVirt appends ": Halted" whatever the VM's strategy`},
	)
	for _, e := range []struct {
		entry string
		grace *int64
		body  string
	}{
		{"with non-nil terminationGracePeriod", ptr.To[int64](600), `{"gracePeriodSeconds":0}`},
		{"with nil terminationGracePeriod", nil, `{"gracePeriodSeconds":0}`},
		{"with dry-run option", ptr.To[int64](600), `{"gracePeriodSeconds":0,` + dryRun + `}`},
	} {
		add(kubevirtCase{name: restart + "should ForceRestart VirtualMachine according to options / " + e.entry, strategy: "running:true",
			vmi: vmiPending, grace: e.grace, action: "restart", body: e.body, code: http.StatusAccepted,
			want: scrIs(kvStopGrace("1"), kvStart)})
	}
	add(
		kubevirtCase{name: restart + "should restart VirtualMachine", strategy: "running:true", vmi: vmiPending, action: "restart",
			code: http.StatusAccepted, want: scrIs(kvStop, kvStart)},
		kubevirtCase{name: restart + "should start VirtualMachine if VMI doesn't exist", strategy: "running:true", vmi: vmiRunning, action: "restart",
			code: http.StatusAccepted, want: scrIs(kvStop, kvStart)},
		kubevirtCase{name: restart + "should fail when the volume migration in ongoing", strategy: "Always", vmi: vmiRunning, action: "restart",
			condition: kubevirtv1.VirtualMachineConditionType(kubevirtv1.VirtualMachineInstanceVolumesChange), code: http.StatusConflict, message: "VM recovery required"},
	)

	// Context "Subresource api", Context "stop".
	for _, e := range []struct {
		entry string
		vmi   vmiPhase
		body  string
	}{
		{"in status Running with default", vmiRunning, `{"gracePeriod":0}`},
		{"in status Failed with default", vmiFailed, `{"gracePeriod":0}`},
		{"in status Running with dry-run", vmiRunning, `{"gracePeriod":0,` + dryRun + `}`},
		{"in status Failed with dry-run", vmiFailed, `{"gracePeriod":0,` + dryRun + `}`},
	} {
		add(kubevirtCase{name: "Subresource api / stop / should ForceStop VirtualMachine according to options / " + e.entry,
			strategy: "running:true", vmi: e.vmi, grace: ptr.To[int64](1800), action: "stop", body: e.body, code: http.StatusAccepted,
			want: func(t *testing.T, vm *kubevirtv1.VirtualMachine) {
				strategyIs("running:false")(t, vm)
				scrIs(kvStopGrace("0"))(t, vm)
			}})
	}

	// Context "Subresource api - error handling for RestartVMRequestHandler".
	const restartErrors = "Subresource api - error handling for RestartVMRequestHandler / "
	add(kubevirtCase{name: restartErrors + "should fail on VM with RunStrategyHalted", strategy: "Halted", action: "restart",
		code: http.StatusConflict, message: "Halted does not support manual restart requests"})
	for _, s := range []string{"Always", "Manual", "RerunOnFailure"} {
		add(kubevirtCase{name: restartErrors + "should not fail with VMI and RunStrategy / " + s, strategy: s, vmi: vmiFailed, action: "restart",
			code: http.StatusAccepted, want: scrIs(kvStop, kvStart)})
	}
	for _, e := range []struct{ strategy, message string }{
		{"Always", "VM is not running"},
		{"Manual", "VM is not running"},
		{"RerunOnFailure", "VM is not running"},
		{"Once", "Once does not support manual restart requests"},
		{"Halted", "Halted does not support manual restart requests"},
	} {
		for _, dry := range []bool{false, true} {
			entry, body := e.strategy, `{}`
			if dry {
				entry, body = e.strategy+" with dry-run option", `{`+dryRun+`}`
			}
			add(kubevirtCase{name: restartErrors + "should fail anytime without VMI and RunStrategy / " + entry, strategy: e.strategy,
				action: "restart", body: body, code: http.StatusConflict, message: e.message})
		}
	}

	// Context "Subresource api - error handling for StartVMRequestHandler".
	const startErrors = "Subresource api - error handling for StartVMRequestHandler / "
	for _, e := range []struct {
		entry, strategy string
		vmi             vmiPhase
		message         string
	}{
		{"Always without VMI", "Always", noVMI, "Always does not support manual start requests"},
		{"Always with VMI in phase Running", "Always", vmiRunning, "VM is already running"},
		{"Once", "Once", noVMI, "Once does not support manual start requests"},
		{"RerunOnFailure with VMI in phase Failed", "RerunOnFailure", vmiFailed, "RerunOnFailure does not support starting VM from failed state"},
	} {
		add(
			kubevirtCase{name: startErrors + "should fail on VM with RunStrategy / " + e.entry, strategy: e.strategy, vmi: e.vmi,
				action: "start", body: `{}`, code: http.StatusConflict, message: e.message},
			kubevirtCase{name: startErrors + "should fail on VM with RunStrategy / " + e.entry + dryRunEntrySuffix(e.entry),
				strategy: e.strategy, vmi: e.vmi, action: "start", body: `{` + dryRun + `}`, code: http.StatusConflict, message: e.message},
		)
	}
	for _, e := range []struct {
		entry, strategy string
		vmi             vmiPhase
	}{
		{"RerunOnFailure with VMI in state Succeeded", "RerunOnFailure", vmiSucceeded},
		{"Manual with VMI in state Succeeded", "Manual", vmiSucceeded},
		{"Manual with VMI in state Failed", "Manual", vmiFailed},
	} {
		add(kubevirtCase{name: startErrors + "should not fail on VM with RunStrategy  / " + e.entry, strategy: e.strategy, vmi: e.vmi,
			action: "start", code: http.StatusAccepted, want: scrIs(kvStop, kvStart)})
	}
	add(kubevirtCase{name: startErrors + "should fail when the volume migration in ongoing", strategy: "Manual", vmi: vmiSucceeded,
		condition: kubevirtv1.VirtualMachineManualRecoveryRequired, action: "start", code: http.StatusConflict, message: "VM recovery required"})

	// Context "Subresource api - error handling for StopVMRequestHandler".
	const stopErrors = "Subresource api - error handling for StopVMRequestHandler / "
	for _, e := range []struct {
		strategy string
		code     int
		message  string
	}{
		{"Always", http.StatusAccepted, ""},
		{"Once", http.StatusAccepted, ""},
		{"RerunOnFailure", http.StatusConflict, "VM is not running"},
		{"Manual", http.StatusConflict, "VM is not running"},
		{"Halted", http.StatusConflict, "VM is not running"},
	} {
		for _, dry := range []bool{false, true} {
			entry, body := "RunStrategy"+e.strategy, `{}`
			if dry {
				entry, body = entry+" with dry-run option", `{`+dryRun+`}`
			}
			c := kubevirtCase{name: stopErrors + "should handle VMI does not exist per run strategy / " + entry, strategy: e.strategy,
				action: "stop", body: body, code: e.code, message: e.message}
			if e.code == http.StatusAccepted {
				c.want = strategyIs("Halted")
			}
			add(c)
		}
	}
	add(kubevirtCase{name: stopErrors + "should fail on VM with VMI in Unknown Phase", strategy: "Halted", vmi: vmiUnknown, action: "stop",
		code: http.StatusConflict, message: "Halted only supports manual stop requests with a shorter graceperiod"})
	for _, e := range []struct {
		entry     string
		instance  *int64
		requested string
		ok        bool
	}{
		{"fail with nil graceperiod", ptr.To[int64](1800), "", false},
		{"fail with equal graceperiod", ptr.To[int64](1800), "1800", false},
		{"fail with greater graceperiod", ptr.To[int64](1800), "2400", false},
		{"not fail with non-nil graceperiod and nil termination graceperiod", nil, "1800", true},
		{"not fail with shorter graceperiod and non-nil termination graceperiod", ptr.To[int64](1800), "800", true},
	} {
		c := kubevirtCase{name: stopErrors + "for VM with RunStrategyHalted, should / " + e.entry, strategy: "Halted", vmi: vmiRunning,
			grace: e.instance, action: "stop", body: `{}`, code: http.StatusConflict,
			message: "Halted only supports manual stop requests with a shorter graceperiod"}
		if e.requested != "" {
			c.body = `{"gracePeriod":` + e.requested + `}`
		}
		if e.ok {
			c.code, c.message, c.want = http.StatusAccepted, "", scrIs(kvStopGrace(e.requested))
		}
		add(c)
	}
	for _, s := range []string{"Always", "RerunOnFailure", "Once", "Manual"} {
		c := kubevirtCase{name: stopErrors + "should not fail on VM with RunStrategy / " + s, strategy: s, vmi: vmiRunning, action: "stop",
			code: http.StatusAccepted, want: strategyIs("Halted")}
		if s == "RerunOnFailure" || s == "Manual" {
			c.want = func(t *testing.T, vm *kubevirtv1.VirtualMachine) {
				strategyIs(s)(t, vm)
				scrIs(kvStop)(t, vm)
			}
		}
		add(c)
	}

	// Context "StateChange JSON": the request lists the handlers write.
	const scr = "StateChange JSON / "
	add(
		kubevirtCase{name: scr + "should create a stop request if status exists", strategy: "Manual", vmi: vmiRunning, action: "stop",
			code: http.StatusAccepted, want: scrIs(kvStop)},
		kubevirtCase{name: scr + "should create a restart request if status exists", strategy: "Manual", vmi: vmiRunning, action: "restart",
			code: http.StatusAccepted, want: scrIs(kvStop, kvStart)},
		kubevirtCase{name: scr + "should create a start request if status exists", strategy: "Manual", vmi: vmiSucceeded, action: "start",
			code: http.StatusAccepted, want: scrIs(kvStop, kvStart)},
		kubevirtCase{name: scr + "should create a start request if status doesn't exist", strategy: "Manual", action: "start",
			code: http.StatusAccepted, want: scrIs(kvStart)},
		kubevirtCase{name: scr + "should force a stop request to override", strategy: "Manual", vmi: vmiRunning,
			scr: []kubevirtv1.VirtualMachineStateChangeRequest{kvStart}, action: "stop", code: http.StatusAccepted, want: scrIs(kvStop)},
		kubevirtCase{name: scr + "should error on start request if other requests exist", strategy: "Manual",
			scr: []kubevirtv1.VirtualMachineStateChangeRequest{kvStart}, action: "start", code: http.StatusConflict,
			message: "a start or stop request is already pending", differs: "KubeVirt answers 500: a request pending is the VM's state, not a server fault"},
		kubevirtCase{name: scr + "should error on restart request if other requests exist", strategy: "Manual", vmi: vmiRunning,
			scr: []kubevirtv1.VirtualMachineStateChangeRequest{kvStart}, action: "restart", code: http.StatusConflict,
			message: "a start or stop request is already pending", differs: "KubeVirt answers 500: a request pending is the VM's state, not a server fault"},
	)

	// Context "Subresource api - start paused".
	const paused = "Subresource api - start paused / "
	// KubeVirt's VMI here has no phase yet: a starting instance, which this
	// server counts as running.
	for _, e := range []struct{ entry, body string }{
		{"with default", `{"paused":true}`},
		{"with dry-run option", `{"paused":true,` + dryRun + `}`},
	} {
		add(kubevirtCase{name: paused + "should patch status on start according to options / " + e.entry, strategy: "running:false", vmi: vmiPending,
			action: "start", body: e.body, code: http.StatusConflict, message: "VM is already running",
			differs: "KubeVirt lets a start through while its instance has no phase yet; here a starting instance is running, so that no second one is started"})
	}
	for _, s := range []string{"Manual", "RerunOnFailure"} {
		add(kubevirtCase{name: paused + "should patch status on start for VM with RunStrategy / " + s + " RunStrategy", strategy: s, vmi: vmiSucceeded,
			action: "start", body: `{"paused":true}`, code: http.StatusAccepted, want: scrIs(kvStop, kvStartPaused)})
	}
	return cases
}

// dryRunEntrySuffix is how KubeVirt names the dry-run twin of a start entry:
// "Once with dry-run option", but "Always without VMI and with dry-run option".
func dryRunEntrySuffix(entry string) string {
	if strings.Contains(entry, " with") || strings.Contains(entry, " without") {
		return " and with dry-run option"
	}
	return " with dry-run option"
}

func TestKubeVirtHandlerCases(t *testing.T) {
	s := framework.StartServer(t)
	ctx := context.Background()
	vms := defaultVMs(t, s)
	actions := newActionClient(t, s)

	names := map[string]bool{}
	for i, c := range kubevirtCases() {
		require.False(t, names[c.name], "duplicate case name %q", c.name)
		names[c.name] = true
		t.Run(c.name, func(t *testing.T) {
			if c.differs != "" {
				t.Logf("a deliberate difference from KubeVirt: %s", c.differs)
			}
			name := fmt.Sprintf("kv-%d", i)
			var before *kubevirtv1.VirtualMachine
			if !c.missing {
				vm := typedVM(t, name)
				vm.Spec.Running, vm.Spec.RunStrategy = nil, nil
				switch c.strategy {
				case "running:true", "running:false":
					vm.Spec.Running = ptr.To(c.strategy == "running:true")
				default:
					vm.Spec.RunStrategy = ptr.To(kubevirtv1.VirtualMachineRunStrategy(c.strategy))
				}
				vm.Spec.Template.Spec.TerminationGracePeriodSeconds = c.grace
				created, err := vms.Create(ctx, vm, metav1.CreateOptions{})
				require.NoError(t, err)
				created.Status = c.vmi.status()
				if c.condition != "" {
					created.Status.Conditions = append(created.Status.Conditions,
						kubevirtv1.VirtualMachineCondition{Type: c.condition, Status: corev1.ConditionTrue})
				}
				created.Status.StateChangeRequests = c.scr
				before, err = vms.UpdateStatus(ctx, created, metav1.UpdateOptions{})
				require.NoError(t, err)
			}

			code, body := actions.do(http.MethodPut, "v1", name, c.action, "", c.body)
			require.Equal(t, c.code, code, "%v", body)
			if c.code != http.StatusAccepted {
				assert.Equal(t, "Status", body["kind"])
				assert.Contains(t, body["message"], c.message)
				if before != nil {
					after, err := vms.Get(ctx, name, metav1.GetOptions{})
					require.NoError(t, err)
					assert.Equal(t, before.ResourceVersion, after.ResourceVersion, "a refusal writes nothing")
				}
				return
			}
			assert.Equal(t, "VirtualMachine", body["kind"])
			after, err := vms.Get(ctx, name, metav1.GetOptions{})
			require.NoError(t, err)
			if strings.Contains(c.body, dryRun) {
				assert.Equal(t, before.ResourceVersion, after.ResourceVersion, "a dry run writes nothing")
				return
			}
			require.NotNil(t, c.want, "a 202 case checks what was written")
			c.want(t, after)
		})
	}
}
