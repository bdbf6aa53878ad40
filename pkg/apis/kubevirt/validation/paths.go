package validation

import (
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// The roots of the errors about a VirtualMachine. A *field.Path never
// changes once built, so these are shared by every validation.
var (
	metadataPath = field.NewPath("metadata")
	specPath     = field.NewPath("spec")
	statusPath   = field.NewPath("status")
)

// lazyPath returns the field path of a value when called. The validation
// helpers take their path in this form and call it only to report an error:
// each *field.Path is a heap allocation and most objects have no errors, so
// validating a valid object builds no path at all.
//
// child and index are small enough to be inlined, so the closures they make
// stay on the caller's stack as long as the callee does not keep its path.
type lazyPath func() *field.Path

// lazy returns the lazyPath of a path that is already built.
func lazy(p *field.Path) lazyPath {
	return func() *field.Path { return p }
}

// child is the lazy form of field.Path.Child.
func (p lazyPath) child(name string, moreNames ...string) lazyPath {
	return func() *field.Path { return p().Child(name, moreNames...) }
}

// index is the lazy form of field.Path.Index.
func (p lazyPath) index(i int) lazyPath {
	return func() *field.Path { return p().Index(i) }
}
