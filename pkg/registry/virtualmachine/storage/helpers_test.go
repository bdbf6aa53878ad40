package storage

import (
	"testing"

	restful "github.com/emicklei/go-restful/v3"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/authorization/authorizerfactory"
	"k8s.io/apiserver/pkg/endpoints"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/registry/rest"
	etcd3testing "k8s.io/apiserver/pkg/storage/etcd3/testing"
	kubevirtv1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/pkg/api/openapi"
	"github.com/vm-apiserver/vm-apiserver/pkg/api/scheme"
	"github.com/vm-apiserver/vm-apiserver/pkg/api/storagecodec"
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
	// The server's storage codec (cmd/vm-apiserver/app).
	etcdConfig.Codec = storagecodec.New(scheme.Codecs.LegacyCodec(kubevirtv1.SchemeGroupVersion), storagecodec.DefaultSize)
	etcdConfig.EncodeVersioner = kubevirtv1.SchemeGroupVersion
	typeConverter, err := openapi.NewTypeConverter()
	require.NoError(t, err)
	vms, err := NewStorage(generic.RESTOptions{
		StorageConfig:           etcdConfig.ForResource(kubevirt.Resource("virtualmachines")),
		Decorator:               generic.UndecoratedStorage,
		DeleteCollectionWorkers: 1,
		ResourcePrefix:          "virtualmachines",
	}, admit, typeConverter)
	require.NoError(t, err)
	t.Cleanup(vms.VirtualMachine.Destroy)
	return vms, server
}

// installGroupVersion installs storage for gv into container with
// k8s.io/apiserver's installer, configured as the generic server configures
// it for this server's scheme; the tests' handlers are built on it.
func installGroupVersion(t *testing.T, container *restful.Container, gv schema.GroupVersion, storage map[string]rest.Storage, typeConverter managedfields.TypeConverter) {
	t.Helper()
	group := &endpoints.APIGroupVersion{
		Storage:                    storage,
		Root:                       "/apis",
		GroupVersion:               gv,
		Serializer:                 scheme.Codecs,
		ParameterCodec:             runtime.NewParameterCodec(scheme.Scheme),
		Typer:                      scheme.Scheme,
		Creater:                    scheme.Scheme,
		Convertor:                  scheme.Scheme,
		ConvertabilityChecker:      scheme.Scheme,
		Defaulter:                  scheme.Scheme,
		UnsafeConvertor:            runtime.UnsafeObjectConvertor(scheme.Scheme),
		Namer:                      runtime.Namer(meta.NewAccessor()),
		TypeConverter:              typeConverter,
		EquivalentResourceRegistry: runtime.NewEquivalentResourceRegistry(),
		// Server-side apply of a new object authorizes the create.
		Authorizer: authorizerfactory.NewAlwaysAllowAuthorizer(),
	}
	_, _, err := group.InstallREST(container)
	require.NoError(t, err, "the installer accepts the storages in %s", gv)
}
