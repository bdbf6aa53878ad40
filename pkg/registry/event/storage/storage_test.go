package storage

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/registry/rest"
	etcd3testing "k8s.io/apiserver/pkg/storage/etcd3/testing"

	"github.com/vm-apiserver/vm-apiserver/pkg/api/scheme"
	eventsapi "github.com/vm-apiserver/vm-apiserver/pkg/apis/events"
)

// newTestStorage builds the Event store, as the server does, on an etcd
// started in the test process, with Events living ttl.
func newTestStorage(t *testing.T, ttl time.Duration) (*EventStorage, *etcd3testing.EtcdTestServer, string) {
	t.Helper()
	server, etcdConfig := etcd3testing.NewUnsecuredEtcd3TestClientServer(t)
	etcdConfig.Codec = scheme.Codecs.LegacyCodec(corev1.SchemeGroupVersion)
	etcdConfig.EncodeVersioner = corev1.SchemeGroupVersion
	s, err := NewStorage(generic.RESTOptions{
		StorageConfig:           etcdConfig.ForResource(corev1.Resource("events")),
		Decorator:               generic.UndecoratedStorage,
		DeleteCollectionWorkers: 1,
		ResourcePrefix:          "events",
	}, ttl)
	require.NoError(t, err)
	t.Cleanup(s.REST.Destroy)
	return s, server, etcdConfig.Prefix
}

// newEvent is an Event as the server's recorder makes one.
func newEvent(namespace, name, vm, reason, eventType string) *eventsv1.Event {
	return &eventsv1.Event{
		ObjectMeta:          metav1.ObjectMeta{Namespace: namespace, Name: name},
		EventTime:           metav1.NewMicroTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)),
		ReportingController: "vm-apiserver.kubevirt.io",
		ReportingInstance:   "vm-apiserver.kubevirt.io-host",
		Action:              "Stop",
		Reason:              reason,
		Regarding: corev1.ObjectReference{
			Kind: "VirtualMachine", APIVersion: "kubevirt.io/v1", Namespace: namespace, Name: vm,
			UID: types.UID("uid-" + vm), ResourceVersion: "rv-" + vm, FieldPath: "path-" + vm,
		},
		Note: reason + " of " + vm,
		Type: eventType,
	}
}

func listNames(t *testing.T, r *REST, namespace string, selector fields.Selector) []string {
	t.Helper()
	ctx := genericapirequest.WithNamespace(context.Background(), namespace)
	obj, err := r.List(ctx, &metainternalversion.ListOptions{FieldSelector: selector})
	require.NoError(t, err)
	var names []string
	for _, e := range obj.(*corev1.EventList).Items {
		assert.Empty(t, e.Kind, "list items carry no kind")
		names = append(names, e.Name)
	}
	sort.Strings(names)
	return names
}

func TestFieldSelectors(t *testing.T) {
	s, _, _ := newTestStorage(t, time.Hour)
	ctx := context.Background()
	stop := newEvent("ns1", "a", "vm1", "StopRequested", corev1.EventTypeNormal)
	start := newEvent("ns1", "b", "vm2", "StartRequested", corev1.EventTypeNormal)
	crash := newEvent("ns2", "c", "vm1", "Crashed", corev1.EventTypeWarning)
	crash.ReportingController = "other"
	// An Event of an older recorder: its component is its source.
	legacy := &eventsv1.Event{
		ObjectMeta:       metav1.ObjectMeta{Namespace: "ns2", Name: "d"},
		Regarding:        corev1.ObjectReference{Kind: "Pod", Namespace: "ns2", Name: "p"},
		Reason:           "Old",
		DeprecatedSource: corev1.EventSource{Component: "kubelet"},
	}
	for _, e := range []*eventsv1.Event{stop, start, crash, legacy} {
		_, err := s.Writer.Create(ctx, e)
		require.NoError(t, err)
	}

	core := eventsapi.CoreGroupVersion.WithKind("Event")
	events := eventsapi.EventsGroupVersion.WithKind("Event")
	tests := []struct {
		gvk       schema.GroupVersionKind
		namespace string
		selector  string
		want      []string
	}{
		{core, "", "", []string{"a", "b", "c", "d"}},
		{core, "ns1", "", []string{"a", "b"}},
		{core, "", "involvedObject.kind=VirtualMachine", []string{"a", "b", "c"}},
		{core, "", "involvedObject.namespace=ns2", []string{"c", "d"}},
		{core, "", "involvedObject.name=vm1", []string{"a", "c"}},
		{core, "", "involvedObject.uid=uid-vm2", []string{"b"}},
		{core, "", "involvedObject.apiVersion=kubevirt.io/v1", []string{"a", "b", "c"}},
		{core, "", "involvedObject.resourceVersion=rv-vm1", []string{"a", "c"}},
		{core, "", "involvedObject.fieldPath=path-vm2", []string{"b"}},
		{core, "", "reason=StopRequested", []string{"a"}},
		{core, "", "reportingComponent=vm-apiserver.kubevirt.io", []string{"a", "b"}},
		{core, "", "source=kubelet", []string{"d"}},
		{core, "", "source=other", []string{"c"}},
		{core, "", "type=Warning", []string{"c"}},
		{core, "", "type!=Warning", []string{"a", "b", "d"}},
		{core, "", "metadata.name=b", []string{"b"}},
		{core, "", "metadata.namespace=ns1", []string{"a", "b"}},
		// What kubectl describe asks for.
		{core, "ns1", "involvedObject.name=vm1,involvedObject.namespace=ns1,involvedObject.kind=VirtualMachine,involvedObject.uid=uid-vm1", []string{"a"}},
		{events, "", "regarding.kind=Pod", []string{"d"}},
		{events, "", "regarding.namespace=ns1", []string{"a", "b"}},
		{events, "", "regarding.name=vm2", []string{"b"}},
		{events, "", "regarding.uid=uid-vm1", []string{"a", "c"}},
		{events, "", "regarding.apiVersion=kubevirt.io/v1", []string{"a", "b", "c"}},
		{events, "", "regarding.resourceVersion=rv-vm2", []string{"b"}},
		{events, "", "regarding.fieldPath=path-vm1", []string{"a", "c"}},
		{events, "", "reportingController=other", []string{"c"}},
		{events, "", "reason=Crashed", []string{"c"}},
		{events, "", "source=kubelet", []string{"d"}},
		{events, "", "type=Normal", []string{"a", "b"}},
		{events, "", "metadata.name=a", []string{"a"}},
		{events, "", "metadata.namespace=ns2", []string{"c", "d"}},
	}
	for _, tt := range tests {
		t.Run(tt.gvk.Group+"/"+tt.namespace+"/"+tt.selector, func(t *testing.T) {
			selector, err := fields.ParseSelector(tt.selector)
			require.NoError(t, err)
			// As the server's list handler does: the selector of the
			// request's version is turned into the store's field names.
			selector, err = selector.Transform(func(label, value string) (string, string, error) {
				return scheme.Scheme.ConvertFieldLabel(tt.gvk, label, value)
			})
			require.NoError(t, err)
			assert.Equal(t, tt.want, listNames(t, s.REST, tt.namespace, selector))
		})
	}
}

func TestWriterStoresWhatItIsGiven(t *testing.T) {
	s, _, _ := newTestStorage(t, time.Hour)
	ctx := context.Background()
	in := newEvent("ns", "vm.1", "vm", "StopRequested", corev1.EventTypeNormal)
	created, err := s.Writer.Create(ctx, in)
	require.NoError(t, err)
	assert.NotEmpty(t, created.UID)
	assert.NotEmpty(t, created.ResourceVersion)

	got, err := s.REST.Get(genericapirequest.WithNamespace(ctx, "ns"), "vm.1", &metav1.GetOptions{})
	require.NoError(t, err)
	var stored eventsv1.Event
	eventsapi.CoreToEvents(got.(*corev1.Event), &stored)
	stored.ObjectMeta = in.ObjectMeta
	assert.True(t, apiequality.Semantic.DeepEqual(in, &stored), "every field is kept: %v", &stored)

	_, err = s.Writer.Create(ctx, in)
	assert.True(t, apierrors.IsAlreadyExists(err), "a second create of the name: %v", err)
}

func TestWriterCountsASeries(t *testing.T) {
	s, _, _ := newTestStorage(t, time.Hour)
	ctx := context.Background()
	in := newEvent("ns", "vm.1", "vm", "Crashed", corev1.EventTypeWarning)
	_, err := s.Writer.Create(ctx, in)
	require.NoError(t, err)

	// The patch client-go's broadcaster sends when an Event repeats.
	seen := metav1.NewMicroTime(time.Date(2026, 1, 2, 3, 9, 0, 0, time.UTC))
	patched, err := s.Writer.Patch(ctx, in, []byte(`{"series":{"count":2,"lastObservedTime":"2026-01-02T03:09:00.000000Z"}}`))
	require.NoError(t, err)
	require.NotNil(t, patched.Series)
	assert.Equal(t, int32(2), patched.Series.Count)
	assert.True(t, seen.Equal(&patched.Series.LastObservedTime))
	assert.Equal(t, in.Note, patched.Note, "the patch keeps the rest")

	patched.Series.Count = 3
	updated, err := s.Writer.Update(ctx, patched)
	require.NoError(t, err)
	assert.Equal(t, int32(3), updated.Series.Count)

	_, err = s.Writer.Patch(ctx, newEvent("ns", "gone", "vm", "Crashed", corev1.EventTypeWarning), []byte(`{"series":{"count":2}}`))
	assert.True(t, apierrors.IsNotFound(err), "a series of an expired Event is NotFound, so the broadcaster creates it: %v", err)

	_, err = s.Writer.Patch(ctx, in, []byte(`{`))
	assert.Error(t, err, "a broken patch")
}

func TestWriterValidates(t *testing.T) {
	s, _, _ := newTestStorage(t, time.Hour)
	e := newEvent("ns", "vm.1", "vm", "", corev1.EventTypeNormal)
	_, err := s.Writer.Create(context.Background(), e)
	assert.True(t, apierrors.IsInvalid(err), "no reason: %v", err)
}

func TestEventsLiveUnderALeaseOfTheTTL(t *testing.T) {
	const ttl = 90 * time.Second
	s, server, prefix := newTestStorage(t, ttl)
	ctx := context.Background()
	_, err := s.Writer.Create(ctx, newEvent("ns", "vm.1", "vm", "StopRequested", corev1.EventTypeNormal))
	require.NoError(t, err)

	resp, err := server.V3Client.Client.Get(ctx, prefix, clientv3.WithPrefix())
	require.NoError(t, err)
	require.Len(t, resp.Kvs, 1)
	assert.True(t, strings.HasSuffix(string(resp.Kvs[0].Key), "/events/ns/vm.1"), "key %s", resp.Kvs[0].Key)
	assert.Contains(t, string(resp.Kvs[0].Value), `"apiVersion":"v1"`, "stored as core v1")
	require.NotZero(t, resp.Kvs[0].Lease, "the Event is written under a lease")

	lease, err := server.V3Client.TimeToLive(ctx, clientv3.LeaseID(resp.Kvs[0].Lease))
	require.NoError(t, err)
	// The store's lease manager shares a lease among the writes of a few
	// seconds, so it asks for a little more than the TTL (5% of it here).
	assert.GreaterOrEqual(t, lease.GrantedTTL, int64(ttl/time.Second))
	assert.LessOrEqual(t, lease.GrantedTTL, int64(ttl/time.Second)*105/100)
}

func TestEventsExpire(t *testing.T) {
	s, _, _ := newTestStorage(t, time.Second)
	ctx := context.Background()
	_, err := s.Writer.Create(ctx, newEvent("ns", "vm.1", "vm", "StopRequested", corev1.EventTypeNormal))
	require.NoError(t, err)
	get := genericapirequest.WithNamespace(ctx, "ns")
	require.Eventually(t, func() bool {
		_, err := s.REST.Get(get, "vm.1", &metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	}, time.Minute, 100*time.Millisecond, "etcd drops the Event when its lease ends")
}

func TestNewStorageRefusesAnEmptyTTL(t *testing.T) {
	_, err := NewStorage(nil, 999*time.Millisecond)
	assert.ErrorContains(t, err, "at least one second")
}

func TestClientsCanOnlyRead(t *testing.T) {
	var storage rest.Storage = &REST{}
	for name, ok := range map[string]bool{
		"create":            isA[rest.Creater](storage),
		"update and patch":  isA[rest.Updater](storage),
		"delete":            isA[rest.GracefulDeleter](storage),
		"delete collection": isA[rest.CollectionDeleter](storage),
	} {
		assert.False(t, ok, "events must not offer %s to clients", name)
	}
	for name, ok := range map[string]bool{
		"get":   isA[rest.Getter](storage),
		"list":  isA[rest.Lister](storage),
		"watch": isA[rest.Watcher](storage),
	} {
		assert.True(t, ok, "events offer %s", name)
	}
}

func isA[T any](v any) bool {
	_, ok := v.(T)
	return ok
}
