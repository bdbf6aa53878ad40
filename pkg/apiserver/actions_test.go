package apiserver

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/client-go/tools/events"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
	"github.com/vm-apiserver/vm-apiserver/pkg/registry/virtualmachine"
)

func TestRecordActionNamesTheRequester(t *testing.T) {
	vm := &kubevirt.VirtualMachine{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "vm"}}
	for _, tt := range []struct {
		action virtualmachine.Action
		volume string
		user   user.Info
		want   string // as the fake recorder formats it: type, reason, note
	}{
		{virtualmachine.ActionStart, "", &user.DefaultInfo{Name: "alice"}, "Normal " + ReasonStartRequested + " start requested by alice"},
		{virtualmachine.ActionStop, "", &user.DefaultInfo{Name: "bob"}, "Normal " + ReasonStopRequested + " stop requested by bob"},
		{virtualmachine.ActionRestart, "", nil, "Normal " + ReasonRestartRequested + " restart requested by an unknown user"},
		{virtualmachine.ActionAddVolume, "data", &user.DefaultInfo{Name: "alice"}, "Normal " + ReasonAddVolumeRequested + " addvolume of data requested by alice"},
		{virtualmachine.ActionRemoveVolume, "data", &user.DefaultInfo{Name: "bob"}, "Normal " + ReasonRemoveVolumeRequested + " removevolume of data requested by bob"},
	} {
		t.Run(string(tt.action), func(t *testing.T) {
			recorder := events.NewFakeRecorder(1)
			ctx := t.Context()
			if tt.user != nil {
				ctx = request.WithUser(ctx, tt.user)
			}
			recordAction(ctx, recorder, vm, tt.action, tt.volume)
			require.Len(t, recorder.Events, 1)
			assert.Equal(t, tt.want, <-recorder.Events)
		})
	}
}

func TestActionResourcesListEveryAction(t *testing.T) {
	resources := actionResources()
	require.Len(t, resources, 1+len(actions))
	assert.Equal(t, "virtualmachines", resources[0].Name)
	assert.Empty(t, resources[0].Verbs)
	for i, action := range actions {
		r := resources[1+i]
		assert.Equal(t, "virtualmachines/"+string(action), r.Name)
		assert.Equal(t, metav1.Verbs{"update"}, r.Verbs)
		if virtualmachine.IsVolumeAction(action) {
			assert.NotContains(t, optionKinds, action, "a volume action reads KubeVirt's own option kinds")
		} else {
			assert.Contains(t, optionKinds, action, "every lifecycle action has its options")
		}
		assert.Contains(t, optionSamples, action, "every action documents its body")
		assert.Contains(t, actionTitles, action, "every action names its operation")
		assert.Contains(t, actionDocs, action, "every action describes its route")
		assert.Contains(t, actionEvents, action, "every action has its Event")
	}
}

func TestManagerFromUserAgent(t *testing.T) {
	for _, tt := range []struct{ userAgent, want string }{
		{"kubectl-vm/v0.1.0 (linux/amd64)", "kubectl-vm"},
		{"virtctl/v1.9.0", "virtctl"},
		{"", "unknown"},
		{"\x00\x01/x", "unknown"},
		{"curl", "curl"},
		{strings.Repeat("a", 200), strings.Repeat("a", maxFieldManagerLength)},
		{strings.Repeat("a", maxFieldManagerLength) + "/1", strings.Repeat("a", maxFieldManagerLength)},
		{"my client~/1", "my client~"},
		{"tab\tbed/1", "tabbed"},
		{"\x7fdel/1", "del"},
		{"vm-öperator/2", "vm-öperator"},
		{strings.Repeat("ö", 100), strings.Repeat("ö", maxFieldManagerLength/2)},
	} {
		assert.Equal(t, tt.want, managerFromUserAgent(tt.userAgent), "%q", tt.userAgent)
	}
}
