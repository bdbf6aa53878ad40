package framework

import (
	"testing"

	"k8s.io/apiserver/pkg/registry/generic"
	etcd3testing "k8s.io/apiserver/pkg/storage/etcd3/testing"
	kubevirtv1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/pkg/api/scheme"
	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
)

// NewEtcdStorage starts an etcd inside the test process and returns the
// options for the VM resource's storage on it: the server's codecs
// (pkg/api/scheme), objects stored as kubevirt.io/v1, no watch cache. It is
// the counterpart, for the suites, of Kubernetes' registrytest: pass the
// options to the registry's NewStorage. The etcd stops when the test ends.
func NewEtcdStorage(t testing.TB) generic.RESTOptions {
	t.Helper()
	_, config := etcd3testing.NewUnsecuredEtcd3TestClientServer(t)
	config.Codec = scheme.Codecs.LegacyCodec(kubevirtv1.SchemeGroupVersion)
	config.EncodeVersioner = kubevirtv1.SchemeGroupVersion
	return generic.RESTOptions{
		StorageConfig:           config.ForResource(kubevirt.Resource("virtualmachines")),
		Decorator:               generic.UndecoratedStorage,
		DeleteCollectionWorkers: 1,
		ResourcePrefix:          "virtualmachines",
	}
}
