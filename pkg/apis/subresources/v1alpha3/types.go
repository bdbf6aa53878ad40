package v1alpha3

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// StartOptions is the optional body of a start request.
type StartOptions struct {
	metav1.TypeMeta `json:",inline"`
	// Paused starts the instance with its vCPUs paused.
	// +optional
	Paused bool `json:"paused,omitempty"`
	// DryRun, when set to ["All"], runs every check and writes nothing.
	// +optional
	// +listType=atomic
	DryRun []string `json:"dryRun,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// StopOptions is the optional body of a stop request.
type StopOptions struct {
	metav1.TypeMeta `json:",inline"`
	// GracePeriod overrides the instance's termination grace period, in
	// seconds; 0 stops it at once.
	// +optional
	GracePeriod *int64 `json:"gracePeriod,omitempty"`
	// DryRun, when set to ["All"], runs every check and writes nothing.
	// +optional
	// +listType=atomic
	DryRun []string `json:"dryRun,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// RestartOptions is the optional body of a restart request.
type RestartOptions struct {
	metav1.TypeMeta `json:",inline"`
	// GracePeriodSeconds may only be 0, which forces the restart.
	// +optional
	GracePeriodSeconds *int64 `json:"gracePeriodSeconds,omitempty"`
	// DryRun, when set to ["All"], runs every check and writes nothing.
	// +optional
	// +listType=atomic
	DryRun []string `json:"dryRun,omitempty"`
}
