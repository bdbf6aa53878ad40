package framework

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPoll(t *testing.T) {
	ctx := context.Background()
	t.Run("done on the third call", func(t *testing.T) {
		calls := 0
		err := Poll(ctx, time.Millisecond, time.Minute, "three calls", func(context.Context) (bool, error) {
			calls++
			return calls == 3, errors.New("not yet")
		})
		require.NoError(t, err)
		assert.Equal(t, 3, calls)
	})
	t.Run("timeout names the last reason", func(t *testing.T) {
		err := Poll(ctx, time.Millisecond, 20*time.Millisecond, "nothing", func(context.Context) (bool, error) {
			return false, errors.New("still waiting")
		})
		require.Error(t, err)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Contains(t, err.Error(), "waiting for nothing")
		assert.Contains(t, err.Error(), "still waiting")
	})
	t.Run("Abort ends at once", func(t *testing.T) {
		gone := errors.New("gone")
		calls := 0
		err := Poll(ctx, time.Millisecond, time.Minute, "a process", func(context.Context) (bool, error) {
			calls++
			return false, Abort(gone)
		})
		assert.ErrorIs(t, err, gone)
		assert.Equal(t, 1, calls)
	})
}
