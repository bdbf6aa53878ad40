package fieldcheck

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheckStrategicMergePatch(t *testing.T) {
	cases := []struct {
		name, doc, clean string // clean "" means unchanged
		want             []string
	}{
		{name: "patch directive", doc: `{"$patch":"replace","top":"x","named":{"$patch":"delete"}}`},
		{name: "list element directives", doc: `{"items":[{"$patch":"delete","name":"a"},{"$patch":"replace"},{"name":"b"}]}`},
		{name: "map directive", doc: `{"labels":{"$patch":"replace","a":"b"},"byName":{"$patch":"delete"}}`},
		{name: "retain keys", doc: `{"$retainKeys":["top","named"],"top":"x","named":{"$retainKeys":["name"],"name":"n"}}`},
		{name: "set element order", doc: `{"$setElementOrder/items":[{"name":"a"},{"name":"b"}],"items":[{"name":"b","value":1}]}`},
		{name: "set element order of primitives", doc: `{"named":{"$setElementOrder/tags":["b","a"],"tags":["a"]}}`},
		{name: "set element order elements are checked", doc: `{"$setElementOrder/items":[{"name":"a"},{"nam":"b"}]}`,
			clean: `{"$setElementOrder/items":[{"name":"a"},{}]}`, want: []string{`unknown field "$setElementOrder/items[1].nam"`}},
		{name: "delete from primitive list", doc: `{"named":{"$deleteFromPrimitiveList/tags":["x"],"tags":["y"]}}`},
		{name: "directives inside transparent types", doc: `{"trans":{"$patch":"replace","$setElementOrder/list":[{"name":"a"}],"list":[{"name":"a"}]}}`},
		{name: "directive naming an unknown field", doc: `{"$setElementOrder/nope":[],"$deleteFromPrimitiveList/Tags":[],"top":"x"}`, clean: `{"top":"x"}`,
			want: []string{`unknown field "$setElementOrder/nope"`, `unknown field "$deleteFromPrimitiveList/Tags"`}},
		{name: "directive without field", doc: `{"$setElementOrder":[],"$setElementOrder/":[],"$deleteFromPrimitiveList/":[]}`, clean: `{}`,
			want: []string{`unknown field "$setElementOrder"`, `unknown field "$setElementOrder/"`, `unknown field "$deleteFromPrimitiveList/"`}},
		{name: "unknown directive", doc: `{"items":[{"$patch":"delete","$delete":true,"name":"a"}],"$Patch":"x"}`,
			clean: `{"items":[{"$patch":"delete","name":"a"}]}`, want: []string{`unknown field "items[0].$delete"`, `unknown field "$Patch"`}},
		{name: "duplicate directive", doc: `{"$patch":"merge","top":"x","$patch":"replace"}`, clean: `{"top":"x","$patch":"replace"}`,
			want: []string{`duplicate field "$patch"`}},
		{name: "duplicate parallel list", doc: `{"$setElementOrder/items":[],"$setElementOrder/items":[{"name":"a"}]}`,
			clean: `{"$setElementOrder/items":[{"name":"a"}]}`, want: []string{`duplicate field "$setElementOrder/items"`}},
		{name: "ordinary rules still apply", doc: `{"named":{"bad":1},"top":"a","top":null}`, clean: `{"named":{},"top":null}`,
			want: []string{`unknown field "named.bad"`, `duplicate field "top"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := []byte(tc.doc)
			clean, problems, err := treeChecker.Check(doc, StrategicMergePatch)
			require.NoError(t, err)
			if tc.clean == "" {
				assert.True(t, sameBacking(doc, clean))
			} else {
				assert.Equal(t, tc.clean, string(clean))
			}
			assert.Equal(t, tc.want, nilIfEmpty(errTexts(problems)))
			again, more, err := treeChecker.Check(clean, StrategicMergePatch)
			require.NoError(t, err)
			assert.Empty(t, more)
			assert.True(t, sameBacking(clean, again))
		})
	}
}

func TestDirectivesAreUnknownInObjects(t *testing.T) {
	doc := []byte(`{"$patch":"replace","items":[{"$patch":"delete","name":"a"}],"$setElementOrder/items":[],"labels":{"$patch":"x"}}`)
	clean, problems, err := treeChecker.Check(doc, Object)
	require.NoError(t, err)
	assert.Equal(t, []string{`unknown field "$patch"`, `unknown field "items[0].$patch"`, `unknown field "$setElementOrder/items"`}, errTexts(problems))
	assert.Equal(t, `{"items":[{"name":"a"}],"labels":{"$patch":"x"}}`, string(clean))
	assert.Equal(t, errTexts(problems), sigsProblems[tRoot](t, doc))
}

func TestVMStrategicMergePatch(t *testing.T) {
	patch := []byte(`{"metadata":{"labels":{"$patch":"replace","app":"x"}},"spec":{"template":{"spec":{"domain":{"devices":{` +
		`"$setElementOrder/disks":[{"name":"rootdisk"},{"name":"datadisk"}],"disks":[{"name":"scratch","$patch":"delete"},{"name":"datadisk","bootOrder":1}],` +
		`"$setElementOrder/interfaces":[{"name":"default"}],"interfaces":[{"name":"default","dhcpOptions":{"$retainKeys":["ntpServers"],"ntpServers":["10.0.0.3"]}}]}},` +
		`"nodeSelector":{"$patch":"delete"},"$deleteFromPrimitiveList/x":["y"],"networks":[{"name":"default","pod":{"$patch":"replace","vmNetworkCidr":"x"}}]}}}}`)
	clean, problems, err := vmChecker.Check(patch, StrategicMergePatch)
	require.NoError(t, err)
	assert.Equal(t, []string{
		`unknown field "spec.template.spec.$deleteFromPrimitiveList/x"`,
		`unknown field "spec.template.spec.networks[0].pod.vmNetworkCidr"`,
	}, errTexts(problems))
	assert.NotContains(t, string(clean), "deleteFromPrimitiveList")
	assert.Contains(t, string(clean), `"pod":{"$patch":"replace"}`)
}
