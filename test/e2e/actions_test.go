package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	kubevirtv1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/test/framework"
)

// actionClient sends action requests the way KubeVirt's virtctl does: a PUT
// with a JSON body and no Content-Type.
type actionClient struct {
	t    *testing.T
	http *http.Client
	base string
}

func newActionClient(t *testing.T, s *framework.Server) *actionClient {
	transport, err := rest.TransportFor(s.RESTConfig)
	require.NoError(t, err)
	return &actionClient{t: t, http: &http.Client{Transport: transport}, base: s.URL}
}

// do sends method to the action path of VM name and returns the status code
// and the decoded body (a VirtualMachine or a Status).
func (c *actionClient) do(method, version, name, action, contentType, body string) (int, map[string]interface{}) {
	c.t.Helper()
	url := c.base + "/apis/subresources.kubevirt.io/" + version + "/namespaces/default/virtualmachines/" + name + "/" + action
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(c.t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.http.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	out := map[string]interface{}{}
	require.NoError(c.t, json.Unmarshal(data, &out), "body: %s", data)
	return resp.StatusCode, out
}

func TestActionsAsVirtctlSendsThem(t *testing.T) {
	s := framework.StartServer(t)
	ctx := context.Background()
	vms := defaultVMs(t, s)
	actions := newActionClient(t, s)

	create := func(name string, strategy kubevirtv1.VirtualMachineRunStrategy, active bool) {
		vm := typedVM(t, name)
		vm.Spec.RunStrategy = &strategy
		created, err := vms.Create(ctx, vm, metav1.CreateOptions{})
		require.NoError(t, err)
		if active {
			created.Status = kubevirtv1.VirtualMachineStatus{Created: true, PrintableStatus: kubevirtv1.VirtualMachineStatusRunning}
			_, err = vms.UpdateStatus(ctx, created, metav1.UpdateOptions{})
			require.NoError(t, err)
		}
	}
	get := func(name string) *kubevirtv1.VirtualMachine {
		vm, err := vms.Get(ctx, name, metav1.GetOptions{})
		require.NoError(t, err)
		return vm
	}

	t.Run("start with {} on Halted", func(t *testing.T) {
		create("start-empty", kubevirtv1.RunStrategyHalted, false)
		code, body := actions.do(http.MethodPut, "v1", "start-empty", "start", "", `{}`)
		require.Equal(t, http.StatusAccepted, code, body)
		assert.Equal(t, "VirtualMachine", body["kind"])
		assert.Equal(t, kubevirtv1.RunStrategyAlways, *get("start-empty").Spec.RunStrategy)
	})
	t.Run("start paused on Halted writes spec and SCR at once", func(t *testing.T) {
		create("start-paused", kubevirtv1.RunStrategyHalted, false)
		code, body := actions.do(http.MethodPut, "v1", "start-paused", "start", "", `{"paused":true}`)
		require.Equal(t, http.StatusAccepted, code, body)
		vm := get("start-paused")
		assert.Equal(t, kubevirtv1.RunStrategyAlways, *vm.Spec.RunStrategy)
		require.Len(t, vm.Status.StateChangeRequests, 1)
		assert.Equal(t, kubevirtv1.StartRequest, vm.Status.StateChangeRequests[0].Action)
		assert.Equal(t, "true", vm.Status.StateChangeRequests[0].Data["paused"])
	})
	t.Run("dry-run in the body writes nothing", func(t *testing.T) {
		create("dry", kubevirtv1.RunStrategyAlways, false)
		before := get("dry")
		code, body := actions.do(http.MethodPut, "v1", "dry", "stop", "", `{"dryRun":["All"]}`)
		require.Equal(t, http.StatusAccepted, code, body)
		spec := body["spec"].(map[string]interface{})
		assert.Equal(t, "Halted", spec["runStrategy"], "the answer is the VM as it would be")
		after := get("dry")
		assert.Equal(t, before.ResourceVersion, after.ResourceVersion)
		assert.Equal(t, kubevirtv1.RunStrategyAlways, *after.Spec.RunStrategy)
	})
	t.Run("dry-run in the query writes nothing", func(t *testing.T) {
		create("dryq", kubevirtv1.RunStrategyAlways, false)
		before := get("dryq")
		code, body := actions.do(http.MethodPut, "v1", "dryq", "stop?dryRun=All", "", ``)
		require.Equal(t, http.StatusAccepted, code, body)
		assert.Equal(t, before.ResourceVersion, get("dryq").ResourceVersion)
		code, body = actions.do(http.MethodPut, "v1", "dryq", "stop?dryRun=Some", "", ``)
		assert.Equal(t, http.StatusBadRequest, code, body)
	})
	t.Run("stop with gracePeriod 0 on Always", func(t *testing.T) {
		create("stop-grace", kubevirtv1.RunStrategyAlways, true)
		code, body := actions.do(http.MethodPut, "v1", "stop-grace", "stop", "", `{"gracePeriod":0}`)
		require.Equal(t, http.StatusAccepted, code, body)
		vm := get("stop-grace")
		assert.Equal(t, kubevirtv1.RunStrategyHalted, *vm.Spec.RunStrategy)
		require.Len(t, vm.Status.StateChangeRequests, 1)
		assert.Equal(t, kubevirtv1.StopRequest, vm.Status.StateChangeRequests[0].Action)
		assert.Equal(t, "0", vm.Status.StateChangeRequests[0].Data["gracePeriodSeconds"])
	})
	t.Run("forced restart with gracePeriodSeconds 0 on a running VM", func(t *testing.T) {
		create("restart-force", kubevirtv1.RunStrategyAlways, true)
		code, body := actions.do(http.MethodPut, "v1", "restart-force", "restart", "", `{"gracePeriodSeconds":0}`)
		require.Equal(t, http.StatusAccepted, code, body)
		vm := get("restart-force")
		assert.Equal(t, kubevirtv1.RunStrategyAlways, *vm.Spec.RunStrategy)
		require.Len(t, vm.Status.StateChangeRequests, 2)
		assert.Equal(t, kubevirtv1.StopRequest, vm.Status.StateChangeRequests[0].Action)
		assert.Equal(t, "1", vm.Status.StateChangeRequests[0].Data["gracePeriodSeconds"], "KubeVirt's forced restart gives the guest one second")
		assert.Equal(t, kubevirtv1.StartRequest, vm.Status.StateChangeRequests[1].Action)
	})
	t.Run("a YAML body is read by its Content-Type", func(t *testing.T) {
		create("yaml", kubevirtv1.RunStrategyHalted, false)
		code, body := actions.do(http.MethodPut, "v1", "yaml", "start", "application/yaml", "paused: true\n")
		require.Equal(t, http.StatusAccepted, code, body)
		create("yaml2", kubevirtv1.RunStrategyHalted, false)
		code, body = actions.do(http.MethodPut, "v1", "yaml2", "start", "", "apiVersion: subresources.kubevirt.io/v1\nkind: StartOptions\npaused: false\n")
		require.Equal(t, http.StatusBadRequest, code, "a body without Content-Type is JSON")
		assert.Contains(t, body["message"], "a YAML body needs Content-Type: application/yaml")
		code, body = actions.do(http.MethodPut, "v1", "yaml2", "start", "application/x-www-form-urlencoded", `{}`)
		require.Equal(t, http.StatusUnsupportedMediaType, code, body)
		assert.Equal(t, kubevirtv1.RunStrategyHalted, *get("yaml2").Spec.RunStrategy)
	})
	t.Run("an empty body through v1alpha3", func(t *testing.T) {
		create("empty", kubevirtv1.RunStrategyHalted, false)
		code, body := actions.do(http.MethodPut, "v1alpha3", "empty", "start", "", "")
		require.Equal(t, http.StatusAccepted, code, body)
		assert.Equal(t, kubevirtv1.RunStrategyAlways, *get("empty").Spec.RunStrategy)
	})
	t.Run("an unknown VM is a 404 Status", func(t *testing.T) {
		code, body := actions.do(http.MethodPut, "v1", "missing", "start", "", `{}`)
		assert.Equal(t, http.StatusNotFound, code)
		assert.Equal(t, "Status", body["kind"])
		assert.Equal(t, "NotFound", body["reason"])
		assert.Equal(t, `virtualmachines.kubevirt.io "missing" not found`, body["message"])
	})
	t.Run("other methods are a 405 and change nothing", func(t *testing.T) {
		create("methods", kubevirtv1.RunStrategyHalted, false)
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete} {
			code, body := actions.do(m, "v1", "methods", "start", "application/json", `{}`)
			assert.Equal(t, http.StatusMethodNotAllowed, code, m)
			assert.Equal(t, "Status", body["kind"], m)
		}
		assert.Equal(t, kubevirtv1.RunStrategyHalted, *get("methods").Spec.RunStrategy)
	})
	t.Run("bad options are a 400", func(t *testing.T) {
		create("bad", kubevirtv1.RunStrategyAlways, true)
		for _, tc := range []struct{ action, body string }{
			{"stop", `{"gracePeriod":-1}`},
			{"restart", `{"gracePeriodSeconds":30}`},
			{"start", `{"paused":`},
			{"start", `{"kind":"StopOptions"}`},
			{"start?fieldValidation=Strict", `{"unknown":true}`},
			{"start", `{"dryRun":["Everything"]}`},
		} {
			code, body := actions.do(http.MethodPut, "v1", "bad", tc.action, "", tc.body)
			assert.Equal(t, http.StatusBadRequest, code, "%s %s: %v", tc.action, tc.body, body)
			assert.Equal(t, "Status", body["kind"])
		}
	})
	// The cells the seed marks "-" are conflicts with the contract's text.
	for _, tc := range []struct {
		strategy kubevirtv1.VirtualMachineRunStrategy
		action   string
		message  string
	}{
		{kubevirtv1.RunStrategyAlways, "start", "Always does not support manual start requests"},
		{kubevirtv1.RunStrategyHalted, "stop", "VM is not running"},
		{kubevirtv1.RunStrategyHalted, "restart", "Halted does not support manual restart requests"},
	} {
		t.Run("409 for "+string(tc.strategy)+" "+tc.action, func(t *testing.T) {
			name := strings.ToLower("conflict-" + string(tc.strategy) + "-" + tc.action)
			create(name, tc.strategy, false)
			before := get(name)
			code, body := actions.do(http.MethodPut, "v1", name, tc.action, "", `{}`)
			assert.Equal(t, http.StatusConflict, code)
			assert.Equal(t, "Conflict", body["reason"])
			assert.Contains(t, body["message"], tc.message)
			assert.Equal(t, before.ResourceVersion, get(name).ResourceVersion, "nothing is written on a conflict")
		})
	}
}

// kubectlPath finds the kubectl that hack/build-test-binaries.sh builds.
func kubectlPath(t *testing.T) string {
	if p := os.Getenv("KUBECTL"); p != "" {
		return p
	}
	matches, _ := filepath.Glob("../../.cache/bin/v*/kubectl")
	if len(matches) == 0 {
		t.Skip("no kubectl: run hack/build-test-binaries.sh kubectl (make test does) or set KUBECTL")
	}
	abs, err := filepath.Abs(matches[len(matches)-1])
	require.NoError(t, err)
	return abs
}

func TestKubectlReplaceRawDrivesActions(t *testing.T) {
	kubectl := kubectlPath(t)
	s := framework.StartServer(t)
	run := func(stdin string, args ...string) (string, error) {
		cmd := exec.Command(kubectl, append([]string{"--kubeconfig", s.Kubeconfig}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		return out.String(), err
	}
	out, err := run("", "apply", "-f", "../../artifacts/examples/vm-cirros.yaml")
	require.NoError(t, err, out)

	path := "/apis/subresources.kubevirt.io/v1/namespaces/default/virtualmachines/vm-cirros/"
	out, err = run("{}", "replace", "--raw", path+"stop", "-f", "-")
	require.NoError(t, err, out)
	assert.Contains(t, out, `"runStrategy":"Halted"`)

	out, err = run("", "get", "vm", "vm-cirros", "-o", "wide", "--no-headers")
	require.NoError(t, err, out)
	assert.Contains(t, out, "Halted")

	// A second stop is a conflict, and kubectl says why.
	out, err = run("{}", "replace", "--raw", path+"stop", "-f", "-")
	require.Error(t, err)
	assert.Contains(t, out, "VM is not running")

	// kubectl get --raw on an action must never trigger it.
	out, err = run("", "get", "--raw", path+"start")
	require.Error(t, err)
	assert.Contains(t, out, "MethodNotAllowed")
	out, err = run("", "get", "vm", "vm-cirros", "-o", "jsonpath={.spec.runStrategy}")
	require.NoError(t, err, out)
	assert.Equal(t, "Halted", out)

	out, err = run("", "explain", "virtualmachine.spec.runStrategy")
	require.NoError(t, err, out)
	assert.Contains(t, out, "RerunOnFailure")
}

// TestActionsOwnTheFieldsTheyChange checks that an action is recorded in
// managedFields, so that re-applying an old manifest with server-side apply
// conflicts instead of silently undoing a stop.
func TestActionsOwnTheFieldsTheyChange(t *testing.T) {
	s := framework.StartServer(t)
	ctx := context.Background()
	dyn, err := dynamic.NewForConfig(s.RESTConfig)
	require.NoError(t, err)
	vms := dyn.Resource(vmGVR).Namespace("default")
	_, err = vms.Apply(ctx, "vm-cirros", seedVM(t), metav1.ApplyOptions{FieldManager: "e2e"})
	require.NoError(t, err)

	actions := newActionClient(t, s)
	req, err := http.NewRequest(http.MethodPut, s.URL+"/apis/subresources.kubevirt.io/v1/namespaces/default/virtualmachines/vm-cirros/stop", nil)
	require.NoError(t, err)
	req.Header.Set("User-Agent", "virtctl/v1.6.0 (linux/amd64) kubevirt/v1.6.0")
	resp, err := actions.http.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusAccepted, resp.StatusCode)

	vm, err := vms.Get(ctx, "vm-cirros", metav1.GetOptions{})
	require.NoError(t, err)
	var virtctl *metav1.ManagedFieldsEntry
	for i, entry := range vm.GetManagedFields() {
		if entry.Manager == "virtctl" {
			virtctl = &vm.GetManagedFields()[i]
		}
	}
	require.NotNil(t, virtctl, "the action is recorded under the User-Agent's product")
	assert.Equal(t, metav1.ManagedFieldsOperationUpdate, virtctl.Operation)
	assert.Contains(t, virtctl.FieldsV1.GetRawString(), `"f:runStrategy"`)

	_, err = vms.Apply(ctx, "vm-cirros", seedVM(t), metav1.ApplyOptions{FieldManager: "e2e"})
	require.Error(t, err, "re-applying runStrategy: Always conflicts with the stop")
	assert.True(t, apierrors.IsConflict(err), "got %v", err)
	assert.Contains(t, err.Error(), "virtctl")

	applied, err := vms.Apply(ctx, "vm-cirros", seedVM(t), metav1.ApplyOptions{FieldManager: "e2e", Force: true})
	require.NoError(t, err)
	strategy, _, _ := unstructured.NestedString(applied.Object, "spec", "runStrategy")
	assert.Equal(t, "Always", strategy)
}

// TestOptionBodiesFromNewerClients: a body with an option this server does
// not know, as a newer virtctl or client-go sends it, is handled by
// fieldValidation as kube-apiserver handles built-in kinds: by default the
// action goes ahead with a warning, Strict refuses it, Ignore is silent.
func TestOptionBodiesFromNewerClients(t *testing.T) {
	s := framework.StartServer(t)
	ctx := context.Background()
	vms := defaultVMs(t, s)
	transport, err := rest.TransportFor(s.RESTConfig)
	require.NoError(t, err)
	httpClient := &http.Client{Transport: transport}

	put := func(name, query, body string) (int, []string, map[string]any) {
		t.Helper()
		url := s.URL + "/apis/subresources.kubevirt.io/v1/namespaces/default/virtualmachines/" + name + "/stop" + query
		req, err := http.NewRequest(http.MethodPut, url, strings.NewReader(body))
		require.NoError(t, err)
		resp, err := httpClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		out := map[string]any{}
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
		return resp.StatusCode, resp.Header.Values("Warning"), out
	}
	const body = `{"kind":"StopOptions","apiVersion":"kubevirt.io/v1","gracePeriod":5,"forceful":true,"reason":"maintenance"}`
	tests := []struct {
		query    string
		code     int
		warnings []string
		message  string
	}{
		{"", http.StatusAccepted, []string{`299 - "unknown field \"forceful\""`, `299 - "unknown field \"reason\""`}, ""},
		{"?fieldValidation=Warn", http.StatusAccepted, []string{`299 - "unknown field \"forceful\""`, `299 - "unknown field \"reason\""`}, ""},
		{"?fieldValidation=Ignore", http.StatusAccepted, nil, ""},
		{"?fieldValidation=Strict", http.StatusBadRequest, nil, `unknown field "forceful"`},
		{"?fieldValidation=Sometimes", http.StatusUnprocessableEntity, nil, "fieldValidation"},
	}
	for i, tt := range tests {
		t.Run("stop"+tt.query, func(t *testing.T) {
			name := fmt.Sprintf("newer-%d", i)
			vm := typedVM(t, name)
			vm.Spec.RunStrategy = ptr.To(kubevirtv1.RunStrategyAlways)
			_, err := vms.Create(ctx, vm, metav1.CreateOptions{})
			require.NoError(t, err)

			code, warnings, out := put(name, tt.query, body)
			require.Equal(t, tt.code, code, "%v", out)
			assert.Equal(t, tt.warnings, warnings)
			stored, err := vms.Get(ctx, name, metav1.GetOptions{})
			require.NoError(t, err)
			if tt.code != http.StatusAccepted {
				assert.Contains(t, out["message"], tt.message)
				assert.Equal(t, kubevirtv1.RunStrategyAlways, *stored.Spec.RunStrategy, "a refused action writes nothing")
				return
			}
			assert.Equal(t, kubevirtv1.RunStrategyHalted, *stored.Spec.RunStrategy)
			require.Len(t, stored.Status.StateChangeRequests, 1)
			assert.Equal(t, "5", stored.Status.StateChangeRequests[0].Data["gracePeriodSeconds"], "the known options are applied")
		})
	}
}

// TestActionsEndTheCrashLoopBackOff: as in KubeVirt, an action that writes
// a start or stop request removes status.startFailure, so the runtime tries
// at once; a stop that only changes the strategy keeps it.
func TestActionsEndTheCrashLoopBackOff(t *testing.T) {
	s := framework.StartServer(t)
	ctx := context.Background()
	vms := defaultVMs(t, s)
	actions := newActionClient(t, s)

	failure := &kubevirtv1.VirtualMachineStartFailure{ConsecutiveFailCount: 4, RetryAfterTimestamp: &metav1.Time{Time: time.Now().Add(time.Hour).Truncate(time.Second)}}
	crashLooping := func(name string, strategy kubevirtv1.VirtualMachineRunStrategy, printable kubevirtv1.VirtualMachinePrintableStatus) {
		vm := typedVM(t, name)
		vm.Spec.RunStrategy = &strategy
		created, err := vms.Create(ctx, vm, metav1.CreateOptions{})
		require.NoError(t, err)
		created.Status = kubevirtv1.VirtualMachineStatus{Created: true, PrintableStatus: printable, StartFailure: failure.DeepCopy()}
		_, err = vms.UpdateStatus(ctx, created, metav1.UpdateOptions{})
		require.NoError(t, err)
	}
	for _, tc := range []struct {
		name      string
		strategy  kubevirtv1.VirtualMachineRunStrategy
		printable kubevirtv1.VirtualMachinePrintableStatus
		action    string
		kept      bool
	}{
		{"crashloop-start", kubevirtv1.RunStrategyManual, kubevirtv1.VirtualMachineStatusStopped, "start", false},
		{"crashloop-restart", kubevirtv1.RunStrategyRerunOnFailure, kubevirtv1.VirtualMachineStatusStopped, "restart", false},
		{"crashloop-stop", kubevirtv1.RunStrategyManual, kubevirtv1.VirtualMachineStatusStarting, "stop", false},
		{"crashloop-always-stop", kubevirtv1.RunStrategyAlways, kubevirtv1.VirtualMachineStatusStarting, "stop", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			crashLooping(tc.name, tc.strategy, tc.printable)
			code, body := actions.do(http.MethodPut, "v1", tc.name, tc.action, "", "")
			require.Equal(t, http.StatusAccepted, code, body)
			stored, err := vms.Get(ctx, tc.name, metav1.GetOptions{})
			require.NoError(t, err)
			if tc.kept {
				require.NotNil(t, stored.Status.StartFailure, "a change of the strategy alone keeps the back-off")
				assert.Equal(t, failure.ConsecutiveFailCount, stored.Status.StartFailure.ConsecutiveFailCount)
				return
			}
			assert.Nil(t, stored.Status.StartFailure, "a start or stop request ends the back-off")
			assert.NotEmpty(t, stored.Status.StateChangeRequests)
		})
	}
}
