package subresources

import (
	"k8s.io/apiserver/pkg/registry/rest"
)

// RestartREST serves PUT virtualmachines/{name}/restart: an active instance
// of an Always, RerunOnFailure or Manual VM gets [Stop, Start]; Halted and
// Once refuse it. The body is an optional RestartOptions, whose only
// accepted grace period is 0 (a forced restart).
type RestartREST struct {
	*actionREST
}

var (
	_ rest.Storage                  = &RestartREST{}
	_ rest.Connecter                = &RestartREST{}
	_ rest.GroupVersionKindProvider = &RestartREST{}
)

// decodeRestart turns a restart body into Decide's options and the dryRun list.
func decodeRestart(body []byte, dryRunQuery []string) (Options, []string, error) {
	in, err := DecodeRestartOptions(body, dryRunQuery)
	if err != nil {
		return Options{}, nil, err
	}
	return Options{GracePeriodSeconds: in.GracePeriodSeconds}, in.DryRun, nil
}
