package framework

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/storage"
	kubevirtv1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
)

// TestNewEtcdStorage stores a VM through the options' storage, as the
// registry's store does, and reads it back through the server's codecs.
func TestNewEtcdStorage(t *testing.T) {
	opts := NewEtcdStorage(t)
	prefix := "/" + opts.ResourcePrefix // as the generic registry's store passes it
	s, destroy, err := opts.Decorator(opts.StorageConfig, prefix, nil,
		func() runtime.Object { return &kubevirt.VirtualMachine{} },
		func() runtime.Object { return &kubevirt.VirtualMachineList{} },
		nil, nil, nil)
	require.NoError(t, err)
	t.Cleanup(destroy)

	ctx := context.Background()
	halted := kubevirtv1.RunStrategyHalted
	vm := &kubevirt.VirtualMachine{
		ObjectMeta: metav1.ObjectMeta{Name: "stored", Namespace: "framework"},
		Spec:       kubevirtv1.VirtualMachineSpec{RunStrategy: &halted},
	}
	key := prefix + "/framework/stored"
	created := &kubevirt.VirtualMachine{}
	require.NoError(t, s.Create(ctx, key, vm, created, 0))
	assert.NotEmpty(t, created.ResourceVersion)

	got := &kubevirt.VirtualMachine{}
	require.NoError(t, s.Get(ctx, key, storage.GetOptions{}, got))
	assert.Equal(t, "stored", got.Name)
	assert.Equal(t, created.ResourceVersion, got.ResourceVersion)
	require.NotNil(t, got.Spec.RunStrategy)
	assert.Equal(t, halted, *got.Spec.RunStrategy)
}
