package validation

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"k8s.io/utils/ptr"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/subresources"
)

func TestValidateOptions(t *testing.T) {
	opts := func(grace *int64, dryRun ...string) subresources.ActionOptions {
		return subresources.ActionOptions{GracePeriodSeconds: grace, DryRun: dryRun}
	}
	tests := []struct {
		name  string
		errs  func() []string
		wants []string // "field: detail" of every error, in order
	}{
		{"start, none", func() []string { return details(ValidateStartOptions(&subresources.StartOptions{})) }, nil},
		{"start, paused, dry run", func() []string {
			return details(ValidateStartOptions(&subresources.StartOptions{ActionOptions: subresources.ActionOptions{Paused: true, DryRun: []string{"All"}}}))
		}, nil},
		{"start, bad dry run", func() []string {
			return details(ValidateStartOptions(&subresources.StartOptions{ActionOptions: opts(nil, "All", "None")}))
		}, []string{`dryRun: may only be "All", got "None"`}},
		{"stop, no grace", func() []string { return details(ValidateStopOptions(&subresources.StopOptions{})) }, nil},
		{"stop, grace 0", func() []string {
			return details(ValidateStopOptions(&subresources.StopOptions{ActionOptions: opts(ptr.To[int64](0))}))
		}, nil},
		{"stop, grace 30", func() []string {
			return details(ValidateStopOptions(&subresources.StopOptions{ActionOptions: opts(ptr.To[int64](30))}))
		}, nil},
		{"stop, negative grace", func() []string {
			return details(ValidateStopOptions(&subresources.StopOptions{ActionOptions: opts(ptr.To[int64](-1))}))
		}, []string{"gracePeriod: must not be negative, got -1"}},
		{"stop, both wrong", func() []string {
			return details(ValidateStopOptions(&subresources.StopOptions{ActionOptions: opts(ptr.To[int64](-5), "")}))
		}, []string{`dryRun: may only be "All", got ""`, "gracePeriod: must not be negative, got -5"}},
		{"restart, none", func() []string { return details(ValidateRestartOptions(&subresources.RestartOptions{})) }, nil},
		{"restart, forced", func() []string {
			return details(ValidateRestartOptions(&subresources.RestartOptions{ActionOptions: opts(ptr.To[int64](0), "All")}))
		}, nil},
		{"restart, grace 10", func() []string {
			return details(ValidateRestartOptions(&subresources.RestartOptions{ActionOptions: opts(ptr.To[int64](10))}))
		}, []string{"gracePeriodSeconds: of a restart may only be 0 (a forced restart), got 10"}},
		{"restart, negative grace", func() []string {
			return details(ValidateRestartOptions(&subresources.RestartOptions{ActionOptions: opts(ptr.To[int64](-1))}))
		}, []string{"gracePeriodSeconds: of a restart may only be 0 (a forced restart), got -1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.wants, tt.errs())
		})
	}
}
