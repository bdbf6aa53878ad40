package framework

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// Condition reports whether what a Poll waits for holds. done wins over
// err: an error with done false is kept as the reason it does not hold yet,
// for the timeout's message, unless Abort wrapped it, which ends the Poll.
type Condition func(ctx context.Context) (done bool, err error)

// Poll calls cond at once and then every interval until it is done, it
// returns an error wrapped by Abort, or timeout passes (or ctx ends). The
// error names what was awaited and the last reason cond gave.
func Poll(ctx context.Context, interval, timeout time.Duration, what string, cond Condition) error {
	var last error
	err := wait.PollUntilContextTimeout(ctx, interval, timeout, true, func(ctx context.Context) (bool, error) {
		done, err := cond(ctx)
		switch {
		case done:
			return true, nil
		case errors.As(err, new(abortError)):
			return false, err
		case err != nil && ctx.Err() == nil:
			// An error caused by the poll's own deadline says nothing.
			last = err
		}
		return false, nil
	})
	switch {
	case err == nil:
		return nil
	case errors.As(err, new(abortError)) || last == nil:
		return fmt.Errorf("waiting for %s: %w", what, err)
	default:
		return fmt.Errorf("waiting for %s: %w (after %s; last error: %w)", what, err, timeout, last)
	}
}

// Abort wraps err so that, returned by a Condition, it ends the Poll at once.
func Abort(err error) error { return abortError{err} }

type abortError struct{ error }

func (e abortError) Unwrap() error { return e.error }

// ReadyzOK asks base+"/readyz" once, within 5 s, and reports whether it
// answered 200; any other answer is an error that carries the body.
func ReadyzOK(ctx context.Context, hc *http.Client, base string) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
	if err != nil {
		return false, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return false, err
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("/readyz: %d %s", resp.StatusCode, body)
	}
	return true, nil
}
