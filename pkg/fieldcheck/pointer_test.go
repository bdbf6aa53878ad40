package fieldcheck

import (
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	kubevirtv1 "kubevirt.io/api/core/v1"
)

func TestCheckAt(t *testing.T) {
	c := NewChecker(reflect.TypeFor[kubevirtv1.VirtualMachine](),
		reflect.TypeFor[kubevirtv1.VirtualMachineInstanceSpec](),
		reflect.TypeFor[kubevirtv1.PodNetwork](),
		reflect.TypeFor[kubevirtv1.DHCPOptions]())
	tests := []struct {
		name, pointer, value string
		wantOK               bool
		wantClean            string
		wantProblems         []string
	}{
		{"the root", "", `{"kind":"VirtualMachine","bogus":1}`, true, `{"kind":"VirtualMachine"}`, []string{`unknown field "bogus"`}},
		{"a struct inside a self-decoding type", "/spec/template/spec/domain", `{"Cpu":{},"cpu":{}}`, true, `{"cpu":{}}`, []string{`unknown field "spec.template.spec.domain.Cpu"`}},
		{"a list element", "/spec/template/spec/volumes/0", `{"name":"a","bogus":true}`, true, `{"name":"a"}`, []string{`unknown field "spec.template.spec.volumes[0].bogus"`}},
		{"a list's end", "/spec/template/spec/volumes/-", `{"bogus":true}`, true, `{}`, []string{`unknown field "spec.template.spec.volumes[-].bogus"`}},
		{"a whole list", "/spec/template/spec/networks", `[{"name":"a","pod":{},"x":1}]`, true, `[{"name":"a","pod":{}}]`, []string{`unknown field "spec.template.spec.networks[0].x"`}},
		{"a map value", "/metadata/labels/app", `"x"`, true, `"x"`, nil},
		{"an escaped map key", "/metadata/annotations/kubevirt.io~1x", `"y"`, true, `"y"`, nil},
		{"inside a leaf", "/spec/template/spec/domain/resources/requests/memory", `"1Gi"`, true, `"1Gi"`, nil},
		{"an unknown field on the way", "/spec/bogus/x", `{}`, false, `{}`, nil},
		{"an index into a struct", "/spec/0", `{}`, false, `{}`, nil},
		{"a relative pointer", "spec", `{}`, false, `{}`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clean, problems, ok, err := c.CheckAt(tc.pointer, []byte(tc.value), Object)
			require.NoError(t, err)
			assert.Equal(t, tc.wantOK, ok)
			assert.JSONEq(t, tc.wantClean, string(clean))
			var got []string
			for _, p := range problems {
				got = append(got, p.Error())
			}
			assert.Equal(t, tc.wantProblems, got)
		})
	}
}
