// Package nolintlint is the test input of nolintlint.
package nolintlint

func conversions(x int) int {
	a := int(x) //nolint:unconvert // used
	b := int(x) // nolint:unconvert // want `directive .// nolint. should be written as .//nolint.`
	c := x      //nolint:unconvert // want `directive .//nolint:unconvert. silences nothing`
	d := x      //nolint:gosec // not a linter of vmlint's: not checked
	return a + b + c + d
}
