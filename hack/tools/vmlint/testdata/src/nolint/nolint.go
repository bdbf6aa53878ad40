// Package nolint is the test input of guard.
package nolint

func conversions(x int) int {
	a := int(x) // want `unnecessary conversion \(unconvert\)`
	b := int(x) //nolint:unconvert // silenced
	c := int(x) //nolint // every linter silenced
	d := int(x) //nolint:errcheck // want `unnecessary conversion \(unconvert\)`
	e := int(x) // nolint:unconvert // want `unnecessary conversion \(unconvert\)`
	//nolint:unconvert // the statement below, all its lines
	f := int(x) +
		int(x)
	g := int(x) // want `unnecessary conversion \(unconvert\)`
	return a + b + c + d + e + f + g
}
