package apiserver

import (
	"context"
	"net/http"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/client-go/tools/events"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
	"github.com/vm-apiserver/vm-apiserver/pkg/registry/virtualmachine"
	vmstorage "github.com/vm-apiserver/vm-apiserver/pkg/registry/virtualmachine/storage"
)

// actionScale is the action label under which vm_apiserver_actions_total
// counts the writes of virtualmachines/scale.
const actionScale virtualmachine.Action = "scale"

// scaleSubresource is the subresource the generic installer serves the
// Scale of a VM at.
const scaleSubresource = "scale"

// scaleStorage serves virtualmachines/scale through the generic installer,
// so that GET, PUT and PATCH, their admission (an UPDATE of
// virtualmachines/scale with Scale objects), discovery and OpenAPI are
// those of any Kubernetes scale subresource. Around the registry's writes
// it adds what the actions' handler adds around theirs: the field manager
// named after the client, the action metrics and the Event.
type scaleStorage struct {
	*vmstorage.ScaleREST
	events events.EventRecorder
}

var (
	_ rest.Patcher                  = &scaleStorage{}
	_ rest.GroupVersionKindProvider = &scaleStorage{}
	_ rest.TableConvertor           = &scaleStorage{}
)

// Update writes the Scale, counts the write under action="scale", and
// records the Event of the start or the stop it made, unless under dry-run.
func (s *scaleStorage) Update(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo, createValidation rest.ValidateObjectFunc, updateValidation rest.ValidateObjectUpdateFunc, _ bool, options *metav1.UpdateOptions) (_ runtime.Object, _ bool, err error) {
	started := time.Now()
	dryRun := len(options.DryRun) > 0
	obj, write, err := s.UpdateScale(ctx, name, objInfo, createValidation, updateValidation, options, scaleFieldManager(ctx, options))
	observeAction(actionScale, started, dryRun, write.Denied, err)
	if err != nil {
		return nil, false, err
	}
	if !dryRun && write.Action != "" {
		recordAction(ctx, s.events, write.VM, write.Action, "")
	}
	return obj, false, nil
}

// scaleFieldManager names the field manager of a scale write as the generic
// handlers name that of any update: ?fieldManager, else the product of the
// client's User-Agent (WithScaleUserAgent keeps it in the context).
func scaleFieldManager(ctx context.Context, options *metav1.UpdateOptions) string {
	if options.FieldManager != "" {
		return options.FieldManager
	}
	userAgent, _ := ctx.Value(userAgentKey{}).(string)
	return managerFromUserAgent(userAgent)
}

// userAgentKey is the context key of the User-Agent of a scale write.
type userAgentKey struct{}

// WithScaleUserAgent keeps the User-Agent of each request for
// virtualmachines/scale in its context. The generic handlers call the
// storage with the request's context only, and the storage names the field
// manager of what a scale write changes in the VM after the client, as the
// actions do.
func WithScaleUserAgent(handler http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		info, ok := request.RequestInfoFrom(req.Context())
		if ok && info.IsResourceRequest && info.APIGroup == kubevirt.GroupName &&
			info.Resource == "virtualmachines" && info.Subresource == scaleSubresource {
			req = req.WithContext(context.WithValue(req.Context(), userAgentKey{}, req.UserAgent()))
		}
		handler.ServeHTTP(w, req)
	})
}
