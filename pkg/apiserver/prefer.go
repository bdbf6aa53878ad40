package apiserver

import (
	"net/http"
	"strings"
)

// The preference (RFC 7240) with which a client asks an action to answer
// without the VM, as KubeVirt's virt-api always answers: 202 and an empty
// body. The server says it honoured it in Preference-Applied.
const (
	headerPrefer            = "Prefer"
	headerPreferenceApplied = "Preference-Applied"
	preferReturnMinimal     = "return=minimal"
)

// prefersMinimal reports whether the Prefer headers of h ask for
// return=minimal. Each header holds comma-separated preferences, each a
// token with an optional value (quoted or not) and ";"-separated
// parameters; tokens are compared without regard to case. Preferences the
// server does not know are ignored, as RFC 7240 asks; when "return" is
// given more than once, the first counts.
func prefersMinimal(h http.Header) bool {
	for _, line := range h.Values(headerPrefer) {
		for pref := range strings.SplitSeq(line, ",") {
			pref, _, _ = strings.Cut(pref, ";")
			token, value, _ := strings.Cut(pref, "=")
			if !strings.EqualFold(strings.TrimSpace(token), "return") {
				continue
			}
			value = strings.TrimSpace(value)
			if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
				value = value[1 : len(value)-1]
			}
			return strings.EqualFold(value, "minimal")
		}
	}
	return false
}
