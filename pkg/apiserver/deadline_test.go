package apiserver

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWithDeadlineMargin(t *testing.T) {
	var got time.Time
	var hasDeadline bool
	h := WithDeadlineMargin(http.HandlerFunc(func(_ http.ResponseWriter, req *http.Request) {
		got, hasDeadline = req.Context().Deadline()
	}))

	t.Run("no deadline stays none", func(t *testing.T) {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
		assert.False(t, hasDeadline)
	})
	for _, tc := range []struct {
		left, minMargin, maxMargin time.Duration
	}{
		{60 * time.Second, 1900 * time.Millisecond, 2 * time.Second}, // capped at two seconds
		{10 * time.Second, 400 * time.Millisecond, 500 * time.Millisecond},
	} {
		t.Run(tc.left.String(), func(t *testing.T) {
			deadline := time.Now().Add(tc.left)
			ctx, cancel := context.WithDeadline(context.Background(), deadline)
			defer cancel()
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil).WithContext(ctx))
			require.True(t, hasDeadline)
			margin := deadline.Sub(got)
			assert.GreaterOrEqual(t, margin, tc.minMargin)
			assert.LessOrEqual(t, margin, tc.maxMargin)
		})
	}
}

func TestWithBodyReadDeadline(t *testing.T) {
	readErr := make(chan error, 1)
	srv := httptest.NewServer(WithBodyReadDeadline(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, err := io.ReadAll(req.Body)
		readErr <- err
	}), 200*time.Millisecond))
	defer srv.Close()

	// A client that announces a body and never sends it.
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	_, err = conn.Write([]byte("PUT /x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"))
	require.NoError(t, err)
	select {
	case err := <-readErr:
		require.Error(t, err, "reading the body ends at the deadline")
	case <-time.After(30 * time.Second):
		require.FailNow(t, "the body read was never cut off")
	}
}
