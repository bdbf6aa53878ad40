package subresources

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// StartOptions is the optional body of a start request.
type StartOptions struct {
	metav1.TypeMeta
	// Paused starts the instance with its vCPUs paused.
	Paused bool
	// DryRun, when set to ["All"], runs every check and writes nothing.
	DryRun []string
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// StopOptions is the optional body of a stop request.
type StopOptions struct {
	metav1.TypeMeta
	// GracePeriod overrides the instance's termination grace period, in
	// seconds; 0 stops it at once.
	GracePeriod *int64
	// DryRun, when set to ["All"], runs every check and writes nothing.
	DryRun []string
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// RestartOptions is the optional body of a restart request.
type RestartOptions struct {
	metav1.TypeMeta
	// GracePeriodSeconds may only be 0, which forces the restart.
	GracePeriodSeconds *int64
	// DryRun, when set to ["All"], runs every check and writes nothing.
	DryRun []string
}
