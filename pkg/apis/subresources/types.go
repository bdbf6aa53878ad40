package subresources

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// ActionOptions are the options of a lifecycle action, whichever option kind
// carried them. Each kind sets only the fields its wire form has; the
// transition table reads this one type.
type ActionOptions struct {
	// Paused starts the instance with its vCPUs paused (start only).
	Paused bool
	// GracePeriodSeconds is a stop's gracePeriod or a restart's
	// gracePeriodSeconds: how long the instance may take to shut down.
	GracePeriodSeconds *int64
	// DryRun, when ["All"], runs every check and writes nothing. The values
	// of the request's dryRun query are merged in when it is decoded.
	DryRun []string
}

// Options returns the options themselves; every option kind has it through
// embedding, so that callers reach the options without knowing the kind.
func (o *ActionOptions) Options() *ActionOptions { return o }

// OptionsObject is any of the option kinds.
type OptionsObject interface {
	runtime.Object
	Options() *ActionOptions
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// StartOptions is the optional body of a start request.
type StartOptions struct {
	metav1.TypeMeta
	ActionOptions
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// StopOptions is the optional body of a stop request.
type StopOptions struct {
	metav1.TypeMeta
	ActionOptions
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// RestartOptions is the optional body of a restart request.
type RestartOptions struct {
	metav1.TypeMeta
	ActionOptions
}
