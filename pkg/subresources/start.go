package subresources

import (
	"k8s.io/apiserver/pkg/registry/rest"
)

// StartREST serves PUT virtualmachines/{name}/start: Halted becomes Always,
// RerunOnFailure and Manual get a Start request, and the rest of the start
// column of Decide's table are 409s. The body is an optional StartOptions.
type StartREST struct {
	*actionREST
}

var (
	_ rest.Storage                  = &StartREST{}
	_ rest.Connecter                = &StartREST{}
	_ rest.GroupVersionKindProvider = &StartREST{}
)

// decodeStart turns a start body into Decide's options and the dryRun list.
func decodeStart(body []byte, dryRunQuery []string) (Options, []string, error) {
	in, err := DecodeStartOptions(body, dryRunQuery)
	if err != nil {
		return Options{}, nil, err
	}
	return Options{Paused: in.Paused}, in.DryRun, nil
}
