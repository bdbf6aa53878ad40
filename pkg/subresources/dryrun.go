package subresources

import (
	"context"
	"net/http"

	"k8s.io/apiserver/pkg/endpoints/request"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/subresources"
)

// dryRunKey is the context key under which WithActionDryRun hands on the
// dryRun query values of an action request.
type dryRunKey struct{}

// WithActionDryRun lets ?dryRun=All reach the lifecycle actions. The generic
// connect handler of k8s.io/apiserver answers any request with a dryRun query
// "400 dryRun is not supported" before the action sees it, so this filter
// takes the values off the URL of an action request and passes them on in the
// request context. It needs the RequestInfo of the default handler chain;
// wrap the innermost API handler with it:
//
//	config.BuildHandlerChainFunc = func(h http.Handler, c *genericapiserver.Config) http.Handler {
//		return genericapiserver.DefaultBuildHandlerChain(subresources.WithActionDryRun(h), c)
//	}
func WithActionDryRun(handler http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		info, ok := request.RequestInfoFrom(req.Context())
		if !ok || !isActionRequest(info) {
			handler.ServeHTTP(w, req)
			return
		}
		query := req.URL.Query()
		values, present := query["dryRun"]
		if !present {
			handler.ServeHTTP(w, req)
			return
		}
		query.Del("dryRun")
		// Clone deep-copies the URL, so the caller's request stays intact.
		out := req.Clone(context.WithValue(req.Context(), dryRunKey{}, values))
		out.URL.RawQuery = query.Encode()
		out.RequestURI = out.URL.RequestURI()
		handler.ServeHTTP(w, out)
	})
}

// isActionRequest reports whether info names a lifecycle action of a VM.
func isActionRequest(info *request.RequestInfo) bool {
	if !info.IsResourceRequest || info.APIGroup != subresources.GroupName || info.Resource != "virtualmachines" {
		return false
	}
	switch Action(info.Subresource) {
	case ActionStart, ActionStop, ActionRestart:
		return true
	}
	return false
}

// dryRunQuery is every dryRun query value of req: those WithActionDryRun moved
// into the context and any still on the URL (when no filter ran).
func dryRunQuery(req *http.Request) []string {
	values, _ := req.Context().Value(dryRunKey{}).([]string)
	return append(append([]string(nil), values...), req.URL.Query()["dryRun"]...)
}
