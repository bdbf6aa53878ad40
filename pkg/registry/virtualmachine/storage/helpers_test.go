package storage

import (
	"testing"

	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/registry/generic"
	etcd3testing "k8s.io/apiserver/pkg/storage/etcd3/testing"
	kubevirtv1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/pkg/api/openapi"
	"github.com/vm-apiserver/vm-apiserver/pkg/api/scheme"
	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
)

// newTestStorage builds every VM storage, as the server does, on an etcd
// started in the test process, with admit as the admission chain (nil for
// none). The storages are destroyed when the test ends.
func newTestStorage(t *testing.T, admit admission.Interface) *VirtualMachineStorage {
	t.Helper()
	vms, _ := newTestStorageAndEtcd(t, admit)
	return vms
}

// newTestStorageAndEtcd is newTestStorage, and the etcd it stores in, for
// tests that read what was stored.
func newTestStorageAndEtcd(t *testing.T, admit admission.Interface) (*VirtualMachineStorage, *etcd3testing.EtcdTestServer) {
	t.Helper()
	server, etcdConfig := etcd3testing.NewUnsecuredEtcd3TestClientServer(t)
	etcdConfig.Codec = scheme.Codecs.LegacyCodec(kubevirtv1.SchemeGroupVersion)
	etcdConfig.EncodeVersioner = kubevirtv1.SchemeGroupVersion
	typeConverter, err := openapi.NewTypeConverter()
	require.NoError(t, err)
	vms, err := NewStorage(generic.RESTOptions{
		StorageConfig:           etcdConfig.ForResource(kubevirt.Resource("virtualmachines")),
		Decorator:               generic.UndecoratedStorage,
		DeleteCollectionWorkers: 1,
		ResourcePrefix:          "virtualmachines",
	}, admit, typeConverter, nil)
	require.NoError(t, err)
	t.Cleanup(vms.VirtualMachine.Destroy)
	return vms, server
}

// benchSinkErr keeps benchmarked results alive.
var benchSinkErr error

// statusCode is the HTTP code of an API error, or 0 for another error.
func statusCode(err error) int32 {
	if status, ok := err.(apierrors.APIStatus); ok {
		return status.Status().Code
	}
	return 0
}
