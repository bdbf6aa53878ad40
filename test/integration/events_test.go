package integration

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/wait"
	kubevirtv1 "kubevirt.io/api/core/v1"
)

// TestActionsRecordEvents stops and starts a VM as two users, through the
// aggregator, and finds both actions as Events on the VM in kube-apiserver,
// each naming who asked. vm-apiserver sends them with the kit's
// ServiceAccount, so this also proves the kit's RBAC allows it.
func TestActionsRecordEvents(t *testing.T) {
	suite.Require(t)
	ns := newNamespace(t)
	vm := createVM(t, ns, newVM("vm", kubevirtv1.RunStrategyAlways))
	setStatus(t, ns, "vm", running)

	act := func(user, action string) {
		t.Helper()
		resp, err := do(t.Context(), impersonate(user, []string{"system:masters"}, nil), http.MethodPut,
			actionPath(subresourcesV1, ns, "vm", action), nil, "")
		require.NoError(t, err)
		require.Equal(t, http.StatusAccepted, resp.code, string(resp.body))
	}
	act("stella-stopper", "stop")
	// No runtime runs here: report the instance gone, as one would, so
	// that the VM can start again.
	setStatus(t, ns, "vm", finished)
	act("sam-starter", "start")

	var found []eventsv1.Event
	err := wait.PollUntilContextTimeout(t.Context(), 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		list, err := env.kube.EventsV1().Events(ns).List(ctx, metav1.ListOptions{
			FieldSelector: fields.OneTermEqualSelector("regarding.name", "vm").String(),
		})
		if err != nil {
			return false, err
		}
		found = list.Items
		return len(found) >= 2, nil
	})
	require.NoError(t, err, "the actions' Events never reached kube-apiserver: %v", found)

	notes := map[string]string{}
	for _, e := range found {
		assert.Equal(t, "VirtualMachine", e.Regarding.Kind)
		assert.Equal(t, "kubevirt.io/v1", e.Regarding.APIVersion)
		assert.Equal(t, vm.UID, e.Regarding.UID)
		assert.Equal(t, "Normal", e.Type)
		assert.Equal(t, "vm-apiserver.kubevirt.io", e.ReportingController)
		notes[e.Reason] = e.Note
	}
	assert.Equal(t, "stop requested by stella-stopper", notes["StopRequested"])
	assert.Equal(t, "start requested by sam-starter", notes["StartRequested"])

	// kubectl finds them by the aggregated resource's name.
	out, err := env.kubectl(t.Context(), "events", "-n", ns, "--for", "virtualmachine/vm")
	require.NoError(t, err, out)
	assert.Contains(t, out, "StopRequested")
	assert.Contains(t, out, "StartRequested")
	assert.True(t, strings.Contains(out, "stop requested by stella-stopper"), out)
}

// TestClusterModeServesNoEvents: behind kube-apiserver, Events are
// kube-apiserver's to serve. vm-apiserver, asked directly as a cluster
// admin, serves neither the legacy /api prefix nor events.k8s.io, and its
// group list names neither.
func TestClusterModeServesNoEvents(t *testing.T) {
	suite.Require(t)
	for _, path := range []string{
		"/api",
		"/api/v1",
		"/api/v1/events",
		"/api/v1/namespaces/default/events",
		"/apis/events.k8s.io/v1",
		"/apis/events.k8s.io/v1/events",
	} {
		resp, err := directRequest(t.Context(), env.frontProxy, http.MethodGet, path, asAdmin)
		require.NoError(t, err, path)
		assert.Equal(t, http.StatusNotFound, resp.code, "%s: %s", path, resp.body)
	}
	resp, err := directRequest(t.Context(), env.frontProxy, http.MethodGet, "/apis", asAdmin)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.code, string(resp.body))
	assert.Contains(t, string(resp.body), `"kubevirt.io"`)
	assert.NotContains(t, string(resp.body), "events.k8s.io")
}
