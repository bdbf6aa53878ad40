package subresources

import (
	"k8s.io/apiserver/pkg/registry/rest"
)

// StopREST serves PUT virtualmachines/{name}/stop: Always and Once become
// Halted, an active RerunOnFailure or Manual instance gets a Stop request,
// and a grace period may speed up a Halted VM's shutdown. The body is an
// optional StopOptions.
type StopREST struct {
	*actionREST
}

var (
	_ rest.Storage                  = &StopREST{}
	_ rest.Connecter                = &StopREST{}
	_ rest.GroupVersionKindProvider = &StopREST{}
)

// decodeStop turns a stop body into Decide's options and the dryRun list.
func decodeStop(body []byte, dryRunQuery []string) (Options, []string, error) {
	in, err := DecodeStopOptions(body, dryRunQuery)
	if err != nil {
		return Options{}, nil, err
	}
	return Options{GracePeriodSeconds: in.GracePeriod}, in.DryRun, nil
}
