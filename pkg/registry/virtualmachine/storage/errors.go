package storage

import (
	"context"
	"errors"
	"net/http"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
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
//
// Every call also requires a leader. An etcd member cut off from its peers
// but still reachable by clients cannot serve a linearizable read or commit
// a write; without this, it holds a call until etcd's request timeout (5 s
// plus two election timeouts), and the client retries a read on it again.
// With it, a member that knows it has no leader refuses the call at once:
// the etcd client retries a read on the next member, and a write is retried
// here (withLeader).
type etcdErrorsStorage struct{ storage.Interface }

func (s etcdErrorsStorage) Create(ctx context.Context, key string, obj, out runtime.Object, ttl uint64) error {
	return withLeader(ctx, func(ctx context.Context) error {
		return s.Interface.Create(ctx, key, obj, out, ttl)
	})
}

func (s etcdErrorsStorage) Delete(ctx context.Context, key string, out runtime.Object, preconditions *storage.Preconditions,
	validateDeletion storage.ValidateObjectFunc, cachedExistingObject runtime.Object, opts storage.DeleteOptions) error {
	return withLeader(ctx, func(ctx context.Context) error {
		return s.Interface.Delete(ctx, key, out, preconditions, validateDeletion, cachedExistingObject, opts)
	})
}

func (s etcdErrorsStorage) Get(ctx context.Context, key string, opts storage.GetOptions, objPtr runtime.Object) error {
	return withLeader(ctx, func(ctx context.Context) error {
		return s.Interface.Get(ctx, key, opts, objPtr)
	})
}

func (s etcdErrorsStorage) GetList(ctx context.Context, key string, opts storage.ListOptions, listObj runtime.Object) error {
	return withLeader(ctx, func(ctx context.Context) error {
		return s.Interface.GetList(ctx, key, opts, listObj)
	})
}

func (s etcdErrorsStorage) GuaranteedUpdate(ctx context.Context, key string, destination runtime.Object, ignoreNotFound bool,
	preconditions *storage.Preconditions, tryUpdate storage.UpdateFunc, cachedExistingObject runtime.Object) error {
	return withLeader(ctx, func(ctx context.Context) error {
		return s.Interface.GuaranteedUpdate(ctx, key, destination, ignoreNotFound, preconditions, tryUpdate, cachedExistingObject)
	})
}

// noLeaderAttempts bounds how often withLeader sends a call that members
// refused for want of a leader: enough to try each member of a five-member
// cluster once.
const noLeaderAttempts = 5

// withLeader runs call with a context that requires an etcd leader, and
// runs it again when the member it reached refused it for having none.
// That refusal comes from etcd's gRPC interceptor before the request is
// processed, so the call did nothing and sending it again cannot apply it
// twice; the etcd client sends it to the next member. The error that
// remains is translated (translateEtcdError).
func withLeader(ctx context.Context, call func(context.Context) error) error {
	ctx = clientv3.WithRequireLeader(ctx)
	var err error
	for range noLeaderAttempts {
		err = call(ctx)
		if !isNoLeader(err) || ctx.Err() != nil {
			break
		}
	}
	return translateEtcdError(err)
}

// isNoLeader reports whether an etcd member refused a call for having no
// leader, as the etcd client or the gRPC status says it.
func isNoLeader(err error) bool {
	return err != nil && (errors.Is(err, rpctypes.ErrNoLeader) || errors.Is(err, rpctypes.ErrGRPCNoLeader))
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
		// Refused before it was processed (no leader) or dropped by a
		// leader change: a client may send it again after a moment.
		e := apierrors.NewServiceUnavailable("etcd has no leader: " + err.Error())
		e.ErrStatus.Details = &metav1.StatusDetails{RetryAfterSeconds: unavailableRetryAfterSeconds}
		return e
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

// WithEtcdErrors wraps the RESTOptionsGetter of another store of the
// server, so that it reports etcd outages as the VM store does.
func WithEtcdErrors(getter generic.RESTOptionsGetter) generic.RESTOptionsGetter {
	return withEtcdErrors(getter)
}
