package storage

import (
	"context"
	"errors"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/rest"
)

// requestInputErrors turns the plain errors of an update's new object into
// 400s. The new object is the client's: its body, or its patch applied to
// the stored VM. Where that fails with an error that is not an API status,
// such as server-side apply finding a value of the wrong type for KubeVirt's
// schema, the generic handler would answer 500, blaming the server for what
// the client sent.
type requestInputErrors struct {
	rest.UpdatedObjectInfo
}

// UpdatedObject returns the new object, or the error that explains to the
// client why it could not be made.
func (i requestInputErrors) UpdatedObject(ctx context.Context, oldObj runtime.Object) (runtime.Object, error) {
	obj, err := i.UpdatedObjectInfo.UpdatedObject(ctx, oldObj)
	if err == nil || isStatusOrDeadline(err) {
		return obj, err
	}
	return nil, apierrors.NewBadRequest(err.Error())
}

func isStatusOrDeadline(err error) bool {
	var status apierrors.APIStatus
	return errors.As(err, &status) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}
