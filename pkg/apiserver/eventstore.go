package apiserver

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/registry/rest"
	genericapiserver "k8s.io/apiserver/pkg/server"

	"github.com/vm-apiserver/vm-apiserver/pkg/api/scheme"
	eventsapi "github.com/vm-apiserver/vm-apiserver/pkg/apis/events"
	eventstorage "github.com/vm-apiserver/vm-apiserver/pkg/registry/event/storage"
	vmstorage "github.com/vm-apiserver/vm-apiserver/pkg/registry/virtualmachine/storage"
)

// eventOptions gives the store of Events its storage settings: the
// server's etcd and key prefix, but Events encoded as core v1 (the
// server's storage codec writes kubevirt.io/v1 only), and no watch cache,
// as kube-apiserver keeps none for Events: they are many, short-lived and
// rarely watched. Errors of an etcd outage are reported as the VM store
// reports them.
type eventOptions struct{ generic.RESTOptionsGetter }

func (g eventOptions) GetRESTOptions(resource schema.GroupResource, example runtime.Object) (generic.RESTOptions, error) {
	opts, err := g.RESTOptionsGetter.GetRESTOptions(resource, example)
	if err != nil {
		return opts, err
	}
	config := *opts.StorageConfig
	config.Codec = scheme.Codecs.LegacyCodec(corev1.SchemeGroupVersion)
	config.EncodeVersioner = corev1.SchemeGroupVersion
	opts.StorageConfig = &config
	opts.Decorator = generic.UndecoratedStorage
	return opts, nil
}

// newEventStorage builds the store of Events on the server's etcd.
func newEventStorage(getter generic.RESTOptionsGetter, ttl time.Duration) (*eventstorage.EventStorage, error) {
	if ttl == 0 {
		ttl = eventstorage.DefaultTTL
	}
	s, err := eventstorage.NewStorage(vmstorage.WithEtcdErrors(eventOptions{getter}), ttl)
	if err != nil {
		return nil, fmt.Errorf("building events storage: %w", err)
	}
	return s, nil
}

// installEvents serves the store of Events as core v1 events, under the
// legacy /api prefix, and as events.k8s.io/v1 events. Both read the same
// store; discovery, the plain and the aggregated, lists both.
func installEvents(s *genericapiserver.GenericAPIServer, events rest.Storage) error {
	core := genericapiserver.NewDefaultAPIGroupInfo(corev1.GroupName, scheme.Scheme, scheme.ParameterCodec, scheme.Codecs)
	core.VersionedResourcesStorageMap[eventsapi.CoreGroupVersion.Version] = map[string]rest.Storage{eventsapi.Resource: events}
	if err := s.InstallLegacyAPIGroup(genericapiserver.DefaultLegacyAPIPrefix, &core); err != nil {
		return fmt.Errorf("installing core v1 events: %w", err)
	}
	group := genericapiserver.NewDefaultAPIGroupInfo(eventsapi.EventsGroupVersion.Group, scheme.Scheme, scheme.ParameterCodec, scheme.Codecs)
	group.VersionedResourcesStorageMap[eventsapi.EventsGroupVersion.Version] = map[string]rest.Storage{eventsapi.Resource: events}
	if err := s.InstallAPIGroup(&group); err != nil {
		return fmt.Errorf("installing events.k8s.io/v1 events: %w", err)
	}
	return nil
}
