package fake_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clienttesting "k8s.io/client-go/testing"
	kubevirtv1 "kubevirt.io/api/core/v1"

	subresourcesv1 "github.com/vm-apiserver/vm-apiserver/pkg/apis/subresources/v1"
	"github.com/vm-apiserver/vm-apiserver/pkg/generated/clientset/versioned/fake"
	typedfake "github.com/vm-apiserver/vm-apiserver/pkg/generated/clientset/versioned/typed/core/v1/fake"
)

func TestFakeLifecycleActions(t *testing.T) {
	client := fake.NewSimpleClientset()
	client.PrependReactor("update", "virtualmachines", func(a clienttesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "restart" {
			return false, nil, nil
		}
		req := a.(clienttesting.GenericAction).GetValue().(*typedfake.LifecycleAction)
		return true, &kubevirtv1.VirtualMachine{ObjectMeta: metav1.ObjectMeta{Name: req.Name, Namespace: a.GetNamespace()}}, nil
	})
	vms := client.KubevirtV1().VirtualMachines("ns")

	vm, err := vms.Restart(context.Background(), "vm", &subresourcesv1.RestartOptions{})
	require.NoError(t, err)
	assert.Equal(t, "vm", vm.Name)

	// Without a reactor the fake answers an empty VM, like other fakes.
	_, err = vms.Start(context.Background(), "vm", &subresourcesv1.StartOptions{Paused: true})
	require.NoError(t, err)
	_, err = vms.Stop(context.Background(), "vm", nil)
	require.NoError(t, err)

	actions := client.Actions()
	require.Len(t, actions, 3)
	for i, sub := range []string{"restart", "start", "stop"} {
		assert.Equal(t, "update", actions[i].GetVerb())
		assert.Equal(t, sub, actions[i].GetSubresource())
		assert.Equal(t, "ns", actions[i].GetNamespace())
	}
	start := actions[1].(clienttesting.GenericAction).GetValue().(*typedfake.LifecycleAction)
	assert.Equal(t, &subresourcesv1.StartOptions{Paused: true}, start.Options)
}
