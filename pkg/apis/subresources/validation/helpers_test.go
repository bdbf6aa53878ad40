package validation

import "k8s.io/apimachinery/pkg/util/validation/field"

// details renders each error as "field: detail", or nil for none.
func details(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Field+": "+e.Detail)
	}
	return out
}
