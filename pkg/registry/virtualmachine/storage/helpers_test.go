package storage

import (
	"net/http"
	"testing"

	restful "github.com/emicklei/go-restful/v3"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/audit"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizerfactory"
	"k8s.io/apiserver/pkg/endpoints"
	genericfilters "k8s.io/apiserver/pkg/endpoints/filters"
	"k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/registry/rest"
	etcd3testing "k8s.io/apiserver/pkg/storage/etcd3/testing"
	kubevirtv1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/pkg/api/openapi"
	"github.com/vm-apiserver/vm-apiserver/pkg/api/scheme"
	"github.com/vm-apiserver/vm-apiserver/pkg/api/storagecodec"
	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
	vmv1 "github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt/v1"
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

// serveStorages serves storages the way the generic API server does: in
// every version of kubevirt.io, installed by k8s.io/apiserver's installer
// with the field manager on the server's OpenAPI models and admit as the
// admission chain (nil for none), every request made by userName.
func serveStorages(t *testing.T, storages map[string]rest.Storage, admit admission.Interface, userName string) http.Handler {
	t.Helper()
	typeConverter, err := openapi.NewTypeConverter()
	require.NoError(t, err)
	container := restful.NewContainer()
	for _, gv := range vmv1.Versions {
		installGroupVersion(t, container, gv, storages, typeConverter, admit)
	}
	resolver := &request.RequestInfoFactory{APIPrefixes: sets.NewString("apis", "api"), GrouplessAPIPrefixes: sets.NewString("api")}
	// The patch handler records the patch in the request's audit context,
	// and authorizes as the request's user, which the default chain's
	// filters provide.
	asUser := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		ctx := request.WithUser(audit.WithAuditContext(req.Context()), &user.DefaultInfo{Name: userName})
		container.ServeHTTP(w, req.WithContext(ctx))
	})
	return genericfilters.WithRequestInfo(asUser, resolver)
}

// installGroupVersion installs storage for gv into container with
// k8s.io/apiserver's installer, configured as the generic server configures
// it for this server's scheme, with admit as the admission chain (nil for
// none); the tests' handlers are built on it.
func installGroupVersion(t *testing.T, container *restful.Container, gv schema.GroupVersion, storage map[string]rest.Storage, typeConverter managedfields.TypeConverter, admit admission.Interface) {
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
		Admit:      admit,
	}
	_, _, err := group.InstallREST(container)
	require.NoError(t, err, "the installer accepts the storages in %s", gv)
}
