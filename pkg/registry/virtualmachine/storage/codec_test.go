package storage

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	etcd3testing "k8s.io/apiserver/pkg/storage/etcd3/testing"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	kubevirtv1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/pkg/api/openapi"
	"github.com/vm-apiserver/vm-apiserver/pkg/api/scheme"
	"github.com/vm-apiserver/vm-apiserver/pkg/api/storagecodec"
	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
	"github.com/vm-apiserver/vm-apiserver/pkg/apis/subresources"
	"github.com/vm-apiserver/vm-apiserver/pkg/registry/virtualmachine"
)

// countingDecoder counts the decodes that reach the JSON codec.
type countingDecoder struct {
	runtime.Codec
	decodes atomic.Int64
}

func (c *countingDecoder) Decode(data []byte, defaults *schema.GroupVersionKind, into runtime.Object) (runtime.Object, *schema.GroupVersionKind, error) {
	c.decodes.Add(1)
	return c.Codec.Decode(data, defaults, into)
}

// TestEachWriteDecodedOnce runs the VM store behind the watch cache, as the
// server does, on a real etcd: each action's write is decoded once between
// the store, which returns the VM written, and the watcher feeding the
// cache, and what each hands out is its own.
func TestEachWriteDecodedOnce(t *testing.T) {
	_, etcdConfig := etcd3testing.NewUnsecuredEtcd3TestClientServer(t)
	counting := &countingDecoder{Codec: scheme.Codecs.LegacyCodec(kubevirtv1.SchemeGroupVersion)}
	etcdConfig.Codec = storagecodec.New(counting, storagecodec.DefaultSize)
	etcdConfig.EncodeVersioner = kubevirtv1.SchemeGroupVersion
	etcdConfig.EventsHistoryWindow = storagebackend.DefaultEventsHistoryWindow
	typeConverter, err := openapi.NewTypeConverter()
	require.NoError(t, err)
	vms, err := NewStorage(generic.RESTOptions{
		StorageConfig:           etcdConfig.ForResource(kubevirt.Resource("virtualmachines")),
		Decorator:               genericregistry.StorageWithCacher(),
		DeleteCollectionWorkers: 1,
		ResourcePrefix:          "virtualmachines",
	}, nil, typeConverter)
	require.NoError(t, err)
	t.Cleanup(vms.VirtualMachine.Destroy)

	ctx := nsContext()
	// The cache answers once it has listed etcd.
	var w watch.Interface
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		w, err = vms.VirtualMachine.Watch(ctx, &metainternalversion.ListOptions{})
		assert.NoError(c, err)
	}, 30*time.Second, 50*time.Millisecond)
	defer w.Stop()
	next := func(want watch.EventType) *kubevirt.VirtualMachine {
		t.Helper()
		select {
		case ev := <-w.ResultChan():
			require.Equal(t, want, ev.Type, "%v", ev.Object)
			obj := ev.Object
			// The cache hands every watcher the same object, wrapped.
			if cached, ok := obj.(runtime.CacheableObject); ok {
				obj = cached.GetObject()
			}
			return obj.(*kubevirt.VirtualMachine)
		case <-time.After(30 * time.Second):
			require.FailNow(t, "no watch event")
		}
		return nil
	}

	vm := seedVM(string(kubevirtv1.RunStrategyAlways), nil)
	vm.Namespace = namespace
	_, err = vms.VirtualMachine.Create(ctx, vm, rest.ValidateAllObjectFunc, &metav1.CreateOptions{})
	require.NoError(t, err)
	next(watch.Added)

	before := counting.decodes.Load()
	const writes = 6
	for i := range writes {
		action := virtualmachine.ActionStop
		if i%2 == 1 {
			action = virtualmachine.ActionStart
		}
		obj, _, err := vms.Actions.Act(ctx, "vm", action, &subresources.ActionOptions{}, "test")
		require.NoError(t, err)
		written := obj.(*kubevirt.VirtualMachine)
		seen := next(watch.Modified)
		assert.Equal(t, written.ResourceVersion, seen.ResourceVersion)
		assert.Equal(t, written.Spec, seen.Spec)

		// What the action returned is the caller's own: changing it
		// changes neither the cache nor the next write.
		written.Labels["app"] = "changed"
		*written.Spec.RunStrategy = kubevirtv1.RunStrategyManual
		got, err := vms.VirtualMachine.Get(ctx, "vm", &metav1.GetOptions{ResourceVersion: "0"})
		require.NoError(t, err)
		assert.Equal(t, "x", got.(*kubevirt.VirtualMachine).Labels["app"])
		assert.NotEqual(t, kubevirtv1.RunStrategyManual, *got.(*kubevirt.VirtualMachine).Spec.RunStrategy)
	}
	assert.EqualValues(t, writes, counting.decodes.Load()-before, "one decode per write, not two")
}
