package simulator

import (
	"k8s.io/client-go/tools/events"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/utils/clock"
)

// Default values of Options.
const (
	DefaultStartDelay   = 2 * time.Second
	DefaultStopDelay    = time.Second
	DefaultRestartDelay = time.Second
	DefaultResyncPeriod = 5 * time.Minute
	DefaultFieldManager = "vm-runtime-sim"
)

// Options configure the simulated runtime. A zero field takes its default,
// so Options{} is a working configuration.
type Options struct {
	// StartDelay is how long an instance stays Starting before it runs.
	StartDelay time.Duration
	// StopDelay is the longest an instance stays Stopping. A shorter grace
	// period, from the stop request or the VM's template, cuts it short.
	StopDelay time.Duration
	// RestartDelay is how long a crashed or shut-down instance stays
	// finished before Always or RerunOnFailure replace it.
	RestartDelay time.Duration
	// Namespace limits the runtime to one namespace; empty means all.
	Namespace string
	// ResyncPeriod is the informer's resync period.
	ResyncPeriod time.Duration
	// FieldManager names the runtime in managedFields.
	FieldManager string
	// Clock is the source of time for the delays; tests inject a fake one.
	Clock clock.WithTicker
	// Recorder receives an Event on the VM for every start, stop and crash
	// of its instance; nil records none.
	Recorder events.EventRecorder
}

// DefaultOptions returns Options with every field set to its default.
func DefaultOptions() Options {
	var o Options
	o.complete()
	return o
}

// complete fills in the defaults of zero (or negative) fields.
func (o *Options) complete() {
	if o.StartDelay <= 0 {
		o.StartDelay = DefaultStartDelay
	}
	if o.StopDelay <= 0 {
		o.StopDelay = DefaultStopDelay
	}
	if o.RestartDelay <= 0 {
		o.RestartDelay = DefaultRestartDelay
	}
	if o.ResyncPeriod <= 0 {
		o.ResyncPeriod = DefaultResyncPeriod
	}
	if o.FieldManager == "" {
		o.FieldManager = DefaultFieldManager
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
}

// AddFlags binds the delays to flags named prefix+"start-delay",
// prefix+"stop-delay" and prefix+"restart-delay", so that vm-runtime-sim
// (prefix "") and vm-apiserver (for example "simulated-") offer the same knobs.
func (o *Options) AddFlags(fs *pflag.FlagSet, prefix string) {
	fs.DurationVar(&o.StartDelay, prefix+"start-delay", DefaultStartDelay,
		"How long a simulated instance stays Starting before it is Running.")
	fs.DurationVar(&o.StopDelay, prefix+"stop-delay", DefaultStopDelay,
		"The longest a simulated instance stays Stopping; a shorter grace period cuts it short.")
	fs.DurationVar(&o.RestartDelay, prefix+"restart-delay", DefaultRestartDelay,
		"How long a crashed or shut-down instance stays finished before Always or RerunOnFailure replace it.")
}

// timing returns the delays that decide uses.
func (o *Options) timing() timing {
	return timing{start: o.StartDelay, stop: o.StopDelay, restart: o.RestartDelay}
}
