package apiserver

import "net/http"

// Every request is served in a goroutine of its own (k8s.io/apiserver's
// timeout filter starts one per request), and a goroutine starts with the
// runtime's smallest stack. The generic store's update path, the codecs and
// the tracing nest deep enough that this stack is outgrown several times on
// every request, and each time the runtime copies it to one twice the size,
// walking every frame on it to move its pointers. Reserving the room once,
// while the stack is still shallow, makes that one copy of a shallow stack
// and a clear of the reserve. A goroutine that lives on (a watch) gives the
// room back: the garbage collector halves a stack of which less than a
// quarter is in use.

// stackReserve is how much stack a request reserves: room for the
// deepest path of an action below this filter.
const stackReserve = 48 << 10

// WithStackReserve reserves stackReserve bytes of stack in the goroutine
// that serves the request before handler runs.
func WithStackReserve(handler http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		reserveStack(len(req.URL.Path))
		handler.ServeHTTP(w, req)
	})
}

// reserveStack has a frame of stackReserve bytes, so that calling it grows
// the stack to hold that frame in one step. It writes and reads the frame
// at places the compiler cannot know, so that the frame is kept.
//
//go:noinline
func reserveStack(n int) byte {
	var frame [stackReserve]byte
	frame[n%stackReserve] = byte(n)
	return frame[(n+1)%stackReserve]
}
