package apiserver

import (
	"context"
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
