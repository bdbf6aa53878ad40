package storage

import (
	"context"
	"net/http"

	"k8s.io/apiserver/pkg/endpoints/request"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/subresources"
	"github.com/vm-apiserver/vm-apiserver/pkg/registry/virtualmachine"
)

// WithActionDryRun lets ?dryRun=All reach the lifecycle actions. The generic
// connect handler of k8s.io/apiserver answers any request with a dryRun query
// "400 dryRun is not supported" before the action sees it, so this filter
// takes the values off the URL of an action request and hands them to the
// action in the request context; decodeOptions merges them with the body's
// and checks them. It needs the RequestInfo of the default handler chain, so
// the server's handler chain puts it inside.
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
	switch virtualmachine.Action(info.Subresource) {
	case virtualmachine.ActionStart, virtualmachine.ActionStop, virtualmachine.ActionRestart:
		return true
	}
	return false
}

// dryRunKey is the context key under which the handler chain hands on the
// dryRun query values of an action request.
type dryRunKey struct{}

// dryRunQuery is every dryRun query value of req: those WithActionDryRun
// moved into the context and any still on the URL.
func dryRunQuery(req *http.Request) []string {
	values, _ := req.Context().Value(dryRunKey{}).([]string)
	return append(append([]string(nil), values...), req.URL.Query()["dryRun"]...)
}
