package apiserver

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestPrefersMinimal(t *testing.T) {
	tests := []struct {
		name    string
		headers []string
		want    bool
	}{
		{"no header", nil, false},
		{"minimal", []string{"return=minimal"}, true},
		{"quoted", []string{`return="minimal"`}, true},
		{"case of token and value", []string{"Return=Minimal"}, true},
		{"spaces", []string{"  return = minimal  "}, true},
		{"among others", []string{"respond-async, wait=10, return=minimal"}, true},
		{"with a parameter", []string{"return=minimal; foo=bar"}, true},
		{"in a second header", []string{"wait=5", "return=minimal"}, true},
		{"representation", []string{"return=representation"}, false},
		{"the first return counts", []string{"return=representation, return=minimal"}, false},
		{"return without a value", []string{"return"}, false},
		{"another token ending in return", []string{"noreturn=minimal"}, false},
		{"minimal as another token's value", []string{"handling=minimal"}, false},
		{"empty", []string{""}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			for _, v := range tc.headers {
				h.Add("Prefer", v)
			}
			assert.Equal(t, tc.want, prefersMinimal(h))
		})
	}
}

func FuzzPrefersMinimal(f *testing.F) {
	for _, seed := range []string{"return=minimal", `return="minimal"`, "a, return=minimal;x", "return=", `return="`, ",,;=", ""} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, value string) {
		h := http.Header{}
		h.Set("Prefer", value)
		// Whatever the header, the answer is decided without a panic, and
		// adding an unknown preference before it changes nothing.
		got := prefersMinimal(h)
		h.Set("Prefer", "x-unknown=1, "+value)
		assert.Equal(t, got, prefersMinimal(h))
	})
}
