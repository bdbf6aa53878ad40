package apiserver

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestWithStackReserve(t *testing.T) {
	var got *http.Request
	h := WithStackReserve(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		got = req
		w.WriteHeader(http.StatusTeapot)
		_, _ = w.Write([]byte("served"))
	}))
	req := httptest.NewRequest(http.MethodGet, "/apis/kubevirt.io/v1/virtualmachines", nil)
	rec := httptest.NewRecorder()

	h.ServeHTTP(rec, req)

	assert.Same(t, req, got, "the handler gets the request itself")
	assert.Equal(t, http.StatusTeapot, rec.Code)
	assert.Equal(t, "served", rec.Body.String())
}

// deepStack recurses through depth frames of about 1 KB each, as a
// request's path through the store, the codecs and the tracing nests.
//
//go:noinline
func deepStack(depth int) byte {
	var frame [1 << 10]byte
	frame[depth%len(frame)] = byte(depth)
	if depth == 0 {
		return frame[1]
	}
	return deepStack(depth-1) + frame[(depth+1)%len(frame)]
}

// BenchmarkStackReserve serves each request in a new goroutine, as the
// timeout filter does, with a handler that needs about 40 KB of stack:
// grown step by step, or reserved at once by WithStackReserve.
func BenchmarkStackReserve(b *testing.B) {
	for _, bc := range []struct {
		name string
		wrap func(http.Handler) http.Handler
	}{
		{"grown", func(h http.Handler) http.Handler { return h }},
		{"reserved", WithStackReserve},
	} {
		b.Run(bc.name, func(b *testing.B) {
			h := bc.wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { deepStack(40) }))
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			done := make(chan struct{})
			for b.Loop() {
				go func() {
					h.ServeHTTP(nil, req)
					done <- struct{}{}
				}()
				<-done
			}
		})
	}
}
