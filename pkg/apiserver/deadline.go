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

// WithBodyReadDeadline bounds how long reading a request body may take to
// the request timeout. Without it, a client that trickles a body keeps its
// connection and a goroutine after the timeout filter has given up: net/http
// drains the rest of the body before it sends the 504. Only requests with a
// body are bounded; watches and other reads keep their connection open.
// Wrap the whole handler chain with it.
func WithBodyReadDeadline(handler http.Handler, timeout time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if timeout > 0 && req.ContentLength != 0 && hasBody(req.Method) {
			// An error means the connection cannot take deadlines; the
			// request is then served as before.
			_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(timeout))
		}
		handler.ServeHTTP(w, req)
	})
}

func hasBody(method string) bool {
	return method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch
}
