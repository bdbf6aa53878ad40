package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	v1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/test/framework"
)

// The reasons an action and the simulated runtime record on a VM that is
// started and then stopped.
var startStopReasons = []string{"StartRequested", "Starting", "Started", "StopRequested", "Stopping", "Stopped"}

// TestEventsOfAStartAndAStop: in standalone mode the server serves the
// Events it records, those of the actions and of the simulated runtime,
// read-only in the core group and in events.k8s.io, so that kubectl
// describe, kubectl events and kubectl get events show them.
func TestEventsOfAStartAndAStop(t *testing.T) {
	s := framework.StartServer(t, serverArgs...)
	vms := defaultVMs(t, s)
	k := newKubectl(t, s)
	client, err := kubernetes.NewForConfig(s.RESTConfig)
	require.NoError(t, err)
	ctx := context.Background()

	vm, err := vms.Create(ctx, newSimulatedVM("events-vm", v1.RunStrategyHalted), metav1.CreateOptions{})
	require.NoError(t, err)
	// A watch of the VM's Events, opened before any of them is recorded.
	w, err := client.CoreV1().Events("default").Watch(ctx, metav1.ListOptions{
		FieldSelector: fields.OneTermEqualSelector("involvedObject.name", vm.Name).String(),
	})
	require.NoError(t, err)
	defer w.Stop()

	vm, err = vms.Start(ctx, vm.Name, nil)
	require.NoError(t, err)
	vm, _ = waitUntil(t, vms, vm, "running", func(vm *v1.VirtualMachine) bool {
		return vm.Status.PrintableStatus == v1.VirtualMachineStatusRunning
	})
	vm, err = vms.Stop(ctx, vm.Name, nil)
	require.NoError(t, err)
	waitUntil(t, vms, vm, "stopped", func(vm *v1.VirtualMachine) bool {
		return vm.Status.PrintableStatus == v1.VirtualMachineStatusStopped
	})

	// The runtime's last Event is written by the broadcaster after the
	// status; wait for all of them.
	var events []corev1.Event
	require.NoError(t, framework.Poll(ctx, 100*time.Millisecond, deadline, "the Events of the start and the stop", func(ctx context.Context) (bool, error) {
		list, err := client.CoreV1().Events("default").List(ctx, metav1.ListOptions{
			FieldSelector: fields.SelectorFromSet(fields.Set{
				"involvedObject.kind": "VirtualMachine", "involvedObject.name": vm.Name, "involvedObject.uid": string(vm.UID),
			}).String(),
		})
		if err != nil {
			return false, err
		}
		events = list.Items
		return len(reasonsOf(events)) >= len(startStopReasons), nil
	}))
	assert.Subset(t, reasonsOf(events), startStopReasons)
	for _, e := range events {
		assert.Equal(t, "kubevirt.io/v1", e.InvolvedObject.APIVersion)
		assert.Equal(t, "vm-apiserver.kubevirt.io", e.ReportingController)
	}

	t.Run("the watch saw them", func(t *testing.T) {
		seen := map[string]bool{}
		for !seen["StopRequested"] {
			select {
			case ev := <-w.ResultChan():
				require.Equal(t, watch.Added, ev.Type, "%v", ev.Object)
				seen[ev.Object.(*corev1.Event).Reason] = true
			case <-time.After(deadline):
				require.Fail(t, "the watch ended before StopRequested", "%v", seen)
			}
		}
		assert.True(t, seen["StartRequested"])
	})

	t.Run("kubectl describe lists them", func(t *testing.T) {
		out, err := k.run("", "describe", "vm", vm.Name)
		require.NoError(t, err, out)
		_, section, found := strings.Cut(out, "\nEvents:")
		require.True(t, found, out)
		for _, reason := range startStopReasons {
			assert.Contains(t, section, reason)
		}
		assert.Contains(t, section, "stop requested by")
	})

	t.Run("kubectl events --for lists them", func(t *testing.T) {
		out, err := k.run("", "events", "--for", "virtualmachine/"+vm.Name)
		require.NoError(t, err, out)
		assert.Contains(t, out, "VirtualMachine/"+vm.Name)
		for _, reason := range startStopReasons {
			assert.Contains(t, out, reason)
		}
	})

	t.Run("kubectl get events prints the table", func(t *testing.T) {
		out, err := k.run("", "get", "events")
		require.NoError(t, err, out)
		assert.True(t, strings.HasPrefix(out, "LAST SEEN"), out)
		assert.Contains(t, out, "virtualmachine/"+vm.Name)
		assert.Contains(t, out, "StopRequested")

		out, err = k.run("", "get", "events.events.k8s.io", "-o", "wide")
		require.NoError(t, err, out)
		assert.Contains(t, out, "FIRST SEEN")
		assert.Contains(t, out, "vm-apiserver.kubevirt.io")
	})

	t.Run("events.k8s.io/v1 serves the same Events", func(t *testing.T) {
		out, err := k.run("", "get", "--raw", "/apis/events.k8s.io/v1/namespaces/default/events?fieldSelector=regarding.name="+vm.Name+",reason=StopRequested")
		require.NoError(t, err, out)
		var list eventsv1.EventList
		require.NoError(t, json.Unmarshal([]byte(out), &list), out)
		assert.Equal(t, "events.k8s.io/v1", list.APIVersion)
		require.Len(t, list.Items, 1)
		assert.Equal(t, vm.Name, list.Items[0].Regarding.Name)
		assert.Contains(t, list.Items[0].Note, "stop requested by")
		assert.Equal(t, "Stop", list.Items[0].Action)

		got, err := client.EventsV1().Events("default").Get(ctx, list.Items[0].Name, metav1.GetOptions{})
		require.NoError(t, err)
		assert.Equal(t, list.Items[0].UID, got.UID)

		_, err = client.EventsV1().Events("default").List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + vm.Name})
		assert.True(t, apierrors.IsBadRequest(err), "events.k8s.io/v1 names the object regarding: %v", err)
	})

	t.Run("clients cannot write Events", func(t *testing.T) {
		name := events[0].Name
		e := &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "made-up"}, InvolvedObject: events[0].InvolvedObject, Reason: "MadeUp"}
		_, err := client.CoreV1().Events("default").Create(ctx, e, metav1.CreateOptions{})
		assertMethodNotAllowed(t, err)
		err = client.CoreV1().Events("default").Delete(ctx, name, metav1.DeleteOptions{})
		assertMethodNotAllowed(t, err)
		err = client.CoreV1().Events("default").DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{})
		assertMethodNotAllowed(t, err)
		_, err = client.CoreV1().Events("default").Update(ctx, &events[0], metav1.UpdateOptions{})
		assertMethodNotAllowed(t, err)
		err = client.EventsV1().Events("default").Delete(ctx, name, metav1.DeleteOptions{})
		assertMethodNotAllowed(t, err)

		out, err := k.run("", "delete", "event", name)
		require.Error(t, err, out)
		assert.Contains(t, out, "MethodNotAllowed")
		_, err = client.CoreV1().Events("default").Get(ctx, name, metav1.GetOptions{})
		assert.NoError(t, err, "the Event is still there")
	})

	t.Run("discovery lists events", func(t *testing.T) {
		for _, gv := range []string{"v1", "events.k8s.io/v1"} {
			resources, err := client.Discovery().ServerResourcesForGroupVersion(gv)
			require.NoError(t, err, gv)
			var found bool
			for _, r := range resources.APIResources {
				if r.Name == "events" {
					found = true
					assert.Equal(t, metav1.Verbs{"get", "list", "watch"}, r.Verbs, gv)
					assert.True(t, r.Namespaced)
				}
			}
			assert.True(t, found, "%s lists events", gv)
		}
		out, err := k.run("", "api-resources", "--api-group=events.k8s.io")
		require.NoError(t, err, out)
		assert.Contains(t, out, "events.k8s.io/v1")
	})
}

// assertMethodNotAllowed checks that err is a 405 with its metav1.Status.
func assertMethodNotAllowed(t *testing.T, err error) {
	t.Helper()
	var status apierrors.APIStatus
	require.ErrorAs(t, err, &status)
	assert.Equal(t, int32(http.StatusMethodNotAllowed), status.Status().Code)
	assert.Equal(t, metav1.StatusReasonMethodNotAllowed, status.Status().Reason)
}

// reasonsOf lists the reasons of events, each once.
func reasonsOf(events []corev1.Event) []string {
	seen := map[string]bool{}
	var reasons []string
	for _, e := range events {
		if !seen[e.Reason] {
			seen[e.Reason] = true
			reasons = append(reasons, e.Reason)
		}
	}
	return reasons
}
