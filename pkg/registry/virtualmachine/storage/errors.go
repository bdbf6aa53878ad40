package storage

import (
	"context"
	"errors"
	"net/http"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/storage"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	"k8s.io/apiserver/pkg/storage/storagebackend/factory"
	"k8s.io/client-go/tools/cache"
)

// unavailableRetryAfterSeconds is the Retry-After given with a 503 while etcd
// cannot be reached.
const unavailableRetryAfterSeconds = 1

// StatusReasonInsufficientStorage is the reason of the 507 that refuses a
// write while etcd is out of space. metav1 has no reason for it; clients
// match the code, and the reason names it for people.
const StatusReasonInsufficientStorage metav1.StatusReason = "InsufficientStorage"

// noSpaceMessage explains the 507: what is wrong, and that retrying does not
// help until an operator acts.
const noSpaceMessage = "etcd is out of space (mvcc: database space exceeded, its NOSPACE alarm is raised): " +
	"writes are refused until an operator compacts and defragments etcd and disarms the alarm; reads still work"

// withEtcdErrors wraps the RESTOptionsGetter so that the storage it builds
// reports etcd outages as API errors. Without it, an etcd that is down or
// overloaded surfaces as a gRPC error, which the API server answers with a
// 500 Internal Error; clients and load balancers need a 503 or 504 to know
// they may retry.
func withEtcdErrors(getter generic.RESTOptionsGetter) generic.RESTOptionsGetter {
	return etcdErrorsGetter{getter}
}

type etcdErrorsGetter struct{ generic.RESTOptionsGetter }

func (g etcdErrorsGetter) GetRESTOptions(resource schema.GroupResource, example runtime.Object) (generic.RESTOptions, error) {
	opts, err := g.RESTOptionsGetter.GetRESTOptions(resource, example)
	if err != nil {
		return opts, err
	}
	decorate := opts.Decorator
	opts.Decorator = func(config *storagebackend.ConfigForResource, resourcePrefix string, keyFunc func(runtime.Object) (string, error),
		newFunc, newListFunc func() runtime.Object, getAttrs storage.AttrFunc, trigger storage.IndexerFuncs, indexers *cache.Indexers,
	) (storage.Interface, factory.DestroyFunc, error) {
		s, destroy, err := decorate(config, resourcePrefix, keyFunc, newFunc, newListFunc, getAttrs, trigger, indexers)
		if err != nil {
			return nil, nil, err
		}
		return etcdErrorsStorage{s}, destroy, nil
	}
	return opts, nil
}

// etcdErrorsStorage translates etcd outages in the errors of the calls a
// request makes; everything else passes through untouched, so the generic
// store still sees its own storage errors (not found, conflict, ...).
type etcdErrorsStorage struct{ storage.Interface }

func (s etcdErrorsStorage) Create(ctx context.Context, key string, obj, out runtime.Object, ttl uint64) error {
	return translateEtcdError(s.Interface.Create(ctx, key, obj, out, ttl))
}

func (s etcdErrorsStorage) Delete(ctx context.Context, key string, out runtime.Object, preconditions *storage.Preconditions,
	validateDeletion storage.ValidateObjectFunc, cachedExistingObject runtime.Object, opts storage.DeleteOptions) error {
	return translateEtcdError(s.Interface.Delete(ctx, key, out, preconditions, validateDeletion, cachedExistingObject, opts))
}

func (s etcdErrorsStorage) Get(ctx context.Context, key string, opts storage.GetOptions, objPtr runtime.Object) error {
	return translateEtcdError(s.Interface.Get(ctx, key, opts, objPtr))
}

func (s etcdErrorsStorage) GetList(ctx context.Context, key string, opts storage.ListOptions, listObj runtime.Object) error {
	return translateEtcdError(s.Interface.GetList(ctx, key, opts, listObj))
}

func (s etcdErrorsStorage) GuaranteedUpdate(ctx context.Context, key string, destination runtime.Object, ignoreNotFound bool,
	preconditions *storage.Preconditions, tryUpdate storage.UpdateFunc, cachedExistingObject runtime.Object) error {
	return translateEtcdError(s.Interface.GuaranteedUpdate(ctx, key, destination, ignoreNotFound, preconditions, tryUpdate, cachedExistingObject))
}

// translateEtcdError maps an etcd outage to 503 Service Unavailable, an
// expired request deadline to 504 Timeout, and a full etcd to 507
// Insufficient Storage. Any other error is returned as it is.
func translateEtcdError(err error) error {
	if err == nil {
		return nil
	}
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		return err
	}
	// etcd gave up waiting for the write's commit: whether it was applied
	// is unknown, as with a deadline. "Possibly due to connection lost" is
	// what a leader cut off from its peers answers.
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, rpctypes.ErrTimeout) || errors.Is(err, rpctypes.ErrTimeoutDueToConnectionLost) {
		return apierrors.NewTimeoutError("the request did not complete within its deadline; it may still have been applied", 0)
	}
	// A full etcd refuses every write that adds data until an operator
	// frees space: a 507, not a 503, since retrying soon does not help and
	// client-go retries a 503 that carries a Retry-After by itself.
	if errors.Is(err, rpctypes.ErrNoSpace) || errors.Is(err, rpctypes.ErrGRPCNoSpace) {
		return insufficientStorage()
	}
	if errors.Is(err, rpctypes.ErrNoLeader) || errors.Is(err, rpctypes.ErrLeaderChanged) || errors.Is(err, rpctypes.ErrTimeoutDueToLeaderFail) {
		return apierrors.NewServiceUnavailable("etcd has no leader: " + err.Error())
	}
	if s, ok := grpcstatus.FromError(err); ok {
		switch s.Code() {
		case codes.Unavailable:
			e := apierrors.NewServiceUnavailable("etcd is unavailable: " + s.Message())
			e.ErrStatus.Details = &metav1.StatusDetails{RetryAfterSeconds: unavailableRetryAfterSeconds}
			return e
		case codes.DeadlineExceeded:
			return apierrors.NewTimeoutError("etcd did not answer within the request's deadline", 0)
		}
	}
	return err
}

// insufficientStorage is the 507 that refuses a write while etcd is full.
func insufficientStorage() *apierrors.StatusError {
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status:  metav1.StatusFailure,
		Code:    http.StatusInsufficientStorage,
		Reason:  StatusReasonInsufficientStorage,
		Message: noSpaceMessage,
	}}
}
