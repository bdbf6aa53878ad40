package main

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	v1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/pkg/generated/clientset/versioned"
	"github.com/vm-apiserver/vm-apiserver/test/framework"
)

// TestRunsAgainstAServer runs the command as its own "process" against a
// server without a runtime, reaching it through the server's kubeconfig.
func TestRunsAgainstAServer(t *testing.T) {
	s := framework.StartServer(t, "--runtime=none")
	client, err := versioned.NewForConfig(s.RESTConfig)
	require.NoError(t, err)
	vms := client.KubevirtV1().VirtualMachines("default")

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	cmd := newCommand()
	cmd.SetArgs([]string{"--kubeconfig", s.Kubeconfig, "--start-delay=10ms", "--stop-delay=10ms", "--v=0"})
	go func() { done <- cmd.ExecuteContext(ctx) }()

	_, err = vms.Create(context.Background(), &v1.VirtualMachine{
		ObjectMeta: metav1.ObjectMeta{Name: "vm"},
		Spec: v1.VirtualMachineSpec{
			RunStrategy: ptr.To(v1.RunStrategyAlways),
			Template:    &v1.VirtualMachineInstanceTemplateSpec{},
		},
	}, metav1.CreateOptions{})
	require.NoError(t, err)

	var last *v1.VirtualMachine
	err = wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		vm, err := vms.Get(ctx, "vm", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		last = vm
		return vm.Status.PrintableStatus == v1.VirtualMachineStatusRunning, nil
	})
	require.NoError(t, err, "last status: %+v", last)
	assert.Equal(t, v1.RunStrategyAlways, last.Status.RunStrategy)

	cancel()
	require.NoError(t, <-done, "the command returns cleanly when stopped")
}
