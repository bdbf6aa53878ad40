package apiserver

import (
	"context"
	"net/http"
	"time"
)

// maxDeadlineMargin caps how much earlier than the request's deadline the
// handlers' own deadline falls.
const maxDeadlineMargin = 2 * time.Second

// WithDeadlineMargin ends the handler's context a little before the request's
// deadline (a twentieth of the time left, at most two seconds). A handler
// stuck on etcd then answers with its own 504 Status before the generic
// timeout filter gives up on it, which can otherwise leave the client with a
// reset HTTP/2 stream and no answer at all. Wrap the innermost API handler
// with it, inside the filter that sets the deadline.
func WithDeadlineMargin(handler http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		deadline, ok := req.Context().Deadline()
		if !ok {
			handler.ServeHTTP(w, req)
			return
		}
		margin := time.Until(deadline) / 20
		if margin <= 0 {
			handler.ServeHTTP(w, req)
			return
		}
		if margin > maxDeadlineMargin {
			margin = maxDeadlineMargin
		}
		ctx, cancel := context.WithDeadline(req.Context(), deadline.Add(-margin))
		defer cancel()
		handler.ServeHTTP(w, req.WithContext(ctx))
	})
}
