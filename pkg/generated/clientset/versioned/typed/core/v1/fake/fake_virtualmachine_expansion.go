package fake

// This file is written by hand: client-gen does not generate fakes for the
// methods of a hand-written expansion.

import (
	"context"

	subresourcesv1 "github.com/vm-apiserver/vm-apiserver/pkg/apis/subresources/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/testing"
	kubevirtv1 "kubevirt.io/api/core/v1"
)

// LifecycleAction is the Value of the testing.GenericAction that the fake
// Start, Stop and Restart record (verb "update", subresource start, stop or
// restart). The object tracker does not react to it, so a test that needs a
// result prepends a reactor for "update" on "virtualmachines".
type LifecycleAction struct {
	// Name of the VM.
	Name string
	// Options is the *StartOptions, *StopOptions or *RestartOptions sent.
	Options runtime.Object
}

// Start implements VirtualMachineExpansion.
func (c *fakeVirtualMachines) Start(ctx context.Context, name string, opts *subresourcesv1.StartOptions) (*kubevirtv1.VirtualMachine, error) {
	if opts == nil {
		opts = &subresourcesv1.StartOptions{}
	}
	return c.invokeLifecycle(name, "start", opts)
}

// Stop implements VirtualMachineExpansion.
func (c *fakeVirtualMachines) Stop(ctx context.Context, name string, opts *subresourcesv1.StopOptions) (*kubevirtv1.VirtualMachine, error) {
	if opts == nil {
		opts = &subresourcesv1.StopOptions{}
	}
	return c.invokeLifecycle(name, "stop", opts)
}

// Restart implements VirtualMachineExpansion.
func (c *fakeVirtualMachines) Restart(ctx context.Context, name string, opts *subresourcesv1.RestartOptions) (*kubevirtv1.VirtualMachine, error) {
	if opts == nil {
		opts = &subresourcesv1.RestartOptions{}
	}
	return c.invokeLifecycle(name, "restart", opts)
}

func (c *fakeVirtualMachines) invokeLifecycle(name, subresource string, opts runtime.Object) (*kubevirtv1.VirtualMachine, error) {
	action := testing.GenericActionImpl{
		ActionImpl: testing.ActionImpl{
			Namespace:   c.Namespace(),
			Verb:        "update",
			Resource:    c.Resource(),
			Subresource: subresource,
		},
		Value: &LifecycleAction{Name: name, Options: opts},
	}
	obj, err := c.Fake.Invokes(action, &kubevirtv1.VirtualMachine{})
	if obj == nil {
		return nil, err
	}
	return obj.(*kubevirtv1.VirtualMachine), err
}
