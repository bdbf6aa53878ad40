package v1

import (
	"k8s.io/apimachinery/pkg/conversion"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/subresources"
)

// The option kinds name their fields as KubeVirt does, the internal version
// gathers them in one ActionOptions; these conversions map one to the other.
// A field a kind does not have stays unset.

// Convert_v1_StartOptions_To_subresources_StartOptions converts a start body.
func Convert_v1_StartOptions_To_subresources_StartOptions(in *StartOptions, out *subresources.StartOptions, _ conversion.Scope) error {
	out.ActionOptions = subresources.ActionOptions{Paused: in.Paused, DryRun: in.DryRun}
	return nil
}

// Convert_subresources_StartOptions_To_v1_StartOptions converts a start body back.
func Convert_subresources_StartOptions_To_v1_StartOptions(in *subresources.StartOptions, out *StartOptions, _ conversion.Scope) error {
	out.Paused = in.Paused
	out.DryRun = in.DryRun
	return nil
}

// Convert_v1_StopOptions_To_subresources_StopOptions converts a stop body.
func Convert_v1_StopOptions_To_subresources_StopOptions(in *StopOptions, out *subresources.StopOptions, _ conversion.Scope) error {
	out.ActionOptions = subresources.ActionOptions{GracePeriodSeconds: in.GracePeriod, DryRun: in.DryRun}
	return nil
}

// Convert_subresources_StopOptions_To_v1_StopOptions converts a stop body back.
func Convert_subresources_StopOptions_To_v1_StopOptions(in *subresources.StopOptions, out *StopOptions, _ conversion.Scope) error {
	out.GracePeriod = in.GracePeriodSeconds
	out.DryRun = in.DryRun
	return nil
}

// Convert_v1_RestartOptions_To_subresources_RestartOptions converts a restart body.
func Convert_v1_RestartOptions_To_subresources_RestartOptions(in *RestartOptions, out *subresources.RestartOptions, _ conversion.Scope) error {
	out.ActionOptions = subresources.ActionOptions{GracePeriodSeconds: in.GracePeriodSeconds, DryRun: in.DryRun}
	return nil
}

// Convert_subresources_RestartOptions_To_v1_RestartOptions converts a restart body back.
func Convert_subresources_RestartOptions_To_v1_RestartOptions(in *subresources.RestartOptions, out *RestartOptions, _ conversion.Scope) error {
	out.GracePeriodSeconds = in.GracePeriodSeconds
	out.DryRun = in.DryRun
	return nil
}
