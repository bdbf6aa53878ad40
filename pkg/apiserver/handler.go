package apiserver

import (
	"net/http"

	genericapiserver "k8s.io/apiserver/pkg/server"
)

// BuildHandlerChain is the server's handler chain: k8s.io/apiserver's
// default chain (authentication, audit, authorization, flow control,
// timeouts, ...) with vm-apiserver's filters around and inside it. Complete
// installs it, so every server made from a Config serves through it.
//
// Inside the default chain, from the outside in:
//   - WithStackReserve, so that the goroutine serving the request grows its
//     stack once, not step by step as the request goes deeper;
//   - WithDeprecatedVersionWarning, so that every request for a resource of
//     kubevirt.io/v1alpha3 is warned of its deprecation, refused ones too;
//   - WithStrictPatchFields, so that patches of VMs are checked for unknown
//     fields as whole documents are;
//   - WithScaleUserAgent, so that a write of virtualmachines/scale names
//     its field manager after the client;
//   - WithDeadlineMargin, so that handlers answer a 504 themselves before
//     the generic timeout filter gives up on them.
//
// Around it, WithBodyReadDeadline stops slow bodies from outliving the
// request timeout.
func BuildHandlerChain(apiHandler http.Handler, c *genericapiserver.Config) http.Handler {
	inner := WithStackReserve(WithDeprecatedVersionWarning(WithStrictPatchFields(WithScaleUserAgent(WithDeadlineMargin(apiHandler)))))
	return WithBodyReadDeadline(genericapiserver.DefaultBuildHandlerChain(inner, c), c.RequestTimeout)
}
