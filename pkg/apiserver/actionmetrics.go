package apiserver

import (
	"errors"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/component-base/metrics"

	"github.com/vm-apiserver/vm-apiserver/pkg/registry/virtualmachine"
)

// The results an action is counted under.
const (
	resultAccepted = "accepted" // written
	resultDryRun   = "dry_run"  // every check passed, nothing written
	resultConflict = "conflict" // 409: the transition table refused it, or the write kept losing races
	resultInvalid  = "invalid"  // another 4xx: a bad body, an unknown VM, an invalid result
	resultDenied   = "denied"   // an admission plugin refused it
	resultError    = "error"    // the server failed: etcd unavailable, a timeout, a bug
)

var (
	actionsTotal = metrics.NewCounterVec(&metrics.CounterOpts{
		Namespace:      "vm_apiserver",
		Name:           "actions_total",
		Help:           "Lifecycle actions on VirtualMachines, and writes of their scale (action scale), by action and by result: accepted, dry_run, conflict, invalid, denied or error.",
		StabilityLevel: metrics.ALPHA,
	}, []string{"action", "result"})

	actionDuration = metrics.NewHistogramVec(&metrics.HistogramOpts{
		Namespace: "vm_apiserver",
		Name:      "action_duration_seconds",
		Help:      "Time the server took to answer a lifecycle action, from reading its body to the answer, by action.",
		// 1 ms to about 16 s.
		Buckets:        metrics.ExponentialBuckets(0.001, 2, 15),
		StabilityLevel: metrics.ALPHA,
	}, []string{"action"})
)

// observeAction counts one answered action and its latency.
func observeAction(action virtualmachine.Action, started time.Time, dryRun, denied bool, err error) {
	actionDuration.WithLabelValues(string(action)).Observe(time.Since(started).Seconds())
	actionsTotal.WithLabelValues(string(action), actionResult(dryRun, denied, err)).Inc()
}

// actionResult classifies an action's answer.
func actionResult(dryRun, denied bool, err error) string {
	switch {
	case err == nil && dryRun:
		return resultDryRun
	case err == nil:
		return resultAccepted
	case denied:
		return resultDenied
	case apierrors.IsConflict(err):
		return resultConflict
	}
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		if code := status.Status().Code; code >= 400 && code < 500 {
			return resultInvalid
		}
	}
	return resultError
}
