package v1

// This file is written by hand. client-gen leaves it alone and, because it
// exists, does not emit an empty VirtualMachineExpansion in
// generated_expansion.go.

import (
	"context"
	"encoding/json"
	"fmt"

	subresourcesv1 "github.com/vm-apiserver/vm-apiserver/pkg/apis/subresources/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kubevirtv1 "kubevirt.io/api/core/v1"
)

// VirtualMachineExpansion adds the lifecycle actions of the
// subresources.kubevirt.io/v1 group to the typed VirtualMachine client.
type VirtualMachineExpansion interface {
	// Start asks the server to start the VM and returns the VM as stored
	// after the action (or as it would be stored, with dry-run).
	Start(ctx context.Context, name string, opts *subresourcesv1.StartOptions) (*kubevirtv1.VirtualMachine, error)
	// Stop asks the server to stop the VM and returns the resulting VM.
	Stop(ctx context.Context, name string, opts *subresourcesv1.StopOptions) (*kubevirtv1.VirtualMachine, error)
	// Restart asks the server to restart the VM and returns the resulting VM.
	Restart(ctx context.Context, name string, opts *subresourcesv1.RestartOptions) (*kubevirtv1.VirtualMachine, error)
}

// Start implements VirtualMachineExpansion.
func (c *virtualMachines) Start(ctx context.Context, name string, opts *subresourcesv1.StartOptions) (*kubevirtv1.VirtualMachine, error) {
	if opts == nil {
		opts = &subresourcesv1.StartOptions{}
	}
	return c.lifecycleAction(ctx, name, "start", "StartOptions", opts.DeepCopy())
}

// Stop implements VirtualMachineExpansion.
func (c *virtualMachines) Stop(ctx context.Context, name string, opts *subresourcesv1.StopOptions) (*kubevirtv1.VirtualMachine, error) {
	if opts == nil {
		opts = &subresourcesv1.StopOptions{}
	}
	return c.lifecycleAction(ctx, name, "stop", "StopOptions", opts.DeepCopy())
}

// Restart implements VirtualMachineExpansion.
func (c *virtualMachines) Restart(ctx context.Context, name string, opts *subresourcesv1.RestartOptions) (*kubevirtv1.VirtualMachine, error) {
	if opts == nil {
		opts = &subresourcesv1.RestartOptions{}
	}
	return c.lifecycleAction(ctx, name, "restart", "RestartOptions", opts.DeepCopy())
}

// lifecycleAction PUTs opts as JSON to the action's path in the
// subresources.kubevirt.io/v1 group. The typed client's REST client is rooted
// at kubevirt.io/v1, so the path is absolute; the response (202 Accepted with
// the VirtualMachine) is decoded with the client's kubevirt.io codecs.
func (c *virtualMachines) lifecycleAction(ctx context.Context, name, action, kind string, opts runtime.Object) (*kubevirtv1.VirtualMachine, error) {
	if name == "" {
		return nil, fmt.Errorf("resource name may not be empty")
	}
	if c.GetNamespace() == "" {
		return nil, fmt.Errorf("%s needs a namespace: VirtualMachines are namespaced", action)
	}
	// The server checks kind and apiVersion when they are present; sending
	// them makes the body self-describing.
	opts.GetObjectKind().SetGroupVersionKind(subresourcesv1.SchemeGroupVersion.WithKind(kind))
	body, err := json.Marshal(opts)
	if err != nil {
		return nil, fmt.Errorf("encoding %s: %w", kind, err)
	}
	result := &kubevirtv1.VirtualMachine{}
	err = c.GetClient().Put().
		AbsPath("/apis", subresourcesv1.GroupName, subresourcesv1.SchemeGroupVersion.Version,
			"namespaces", c.GetNamespace(), "virtualmachines", name, action).
		SetHeader("Content-Type", "application/json").
		Body(body).
		Do(ctx).
		Into(result)
	if err != nil {
		return nil, err
	}
	return result, nil
}
