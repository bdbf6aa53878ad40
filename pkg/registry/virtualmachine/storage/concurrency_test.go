package storage

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/vm-apiserver/vm-apiserver/pkg/registry/virtualmachine"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	virtv1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
)

// TestConcurrentStartStop has 32 goroutines alternate start and stop on one
// VM with no instance: a start flips Halted to Always and a stop flips it
// back, and every other request is a 409. If each action decides on the state
// it writes, every 202 is exactly one strategy change seen on a watch: none
// is lost and none is applied twice.
func TestConcurrentStartStop(t *testing.T) {
	const (
		workers = 32
		rounds  = 4
	)
	e := newEnv(t)
	before := e.create(t, "busy", strategySpec(virtv1.RunStrategyHalted), nil)

	// A generous bound so that a bug fails the test rather than hanging it.
	ctx, cancel := context.WithTimeout(nsContext(), 2*time.Minute)
	defer cancel()
	w, err := e.vms.VirtualMachine.Watch(ctx, &metainternalversion.ListOptions{
		ResourceVersion: before.ResourceVersion,
		FieldSelector:   fields.OneTermEqualSelector("metadata.name", "busy"),
	})
	require.NoError(t, err)
	defer w.Stop()

	results := make(chan error, workers*rounds)
	var wg sync.WaitGroup
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				action := virtualmachine.ActionStart
				if (i+r)%2 == 1 {
					action = virtualmachine.ActionStop
				}
				_, _, err := e.act(action, "busy", nil)
				results <- err
			}
		}()
	}
	wg.Wait()
	close(results)

	accepted := 0
	for err := range results {
		switch {
		case err == nil:
			accepted++
		case apierrors.IsConflict(err):
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	final := e.get(t, "busy")

	// Count the strategy changes on the watch up to the final write.
	changes, last := 0, virtv1.RunStrategyHalted
	for rv := before.ResourceVersion; rv != final.ResourceVersion; {
		select {
		case ev, ok := <-w.ResultChan():
			require.True(t, ok, "the watch ended early")
			require.Equal(t, watch.Modified, ev.Type)
			vm := ev.Object.(*kubevirt.VirtualMachine)
			if *vm.Spec.RunStrategy != last {
				changes++
				last = *vm.Spec.RunStrategy
			}
			rv = vm.ResourceVersion
		case <-ctx.Done():
			t.Fatalf("the watch did not reach the final resourceVersion %s", final.ResourceVersion)
		}
	}

	assert.Positive(t, accepted)
	assert.Equal(t, accepted, changes, "one strategy change per action written")
	assert.Equal(t, last, *final.Spec.RunStrategy)
	wantFinal := virtv1.RunStrategyHalted
	if accepted%2 == 1 {
		wantFinal = virtv1.RunStrategyAlways
	}
	assert.Equal(t, wantFinal, *final.Spec.RunStrategy)
}
