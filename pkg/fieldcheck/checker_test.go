package fieldcheck

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sigsjson "sigs.k8s.io/json"
)

// objectCase is a document checked against the test tree in Object mode.
type objectCase struct {
	name  string
	doc   string
	clean string   // "" means the document comes back unchanged
	want  []string // problem texts, in order
	// notSigs marks documents the strict decoder judges differently: problems
	// under a transparent type, or JSON types the decoder rejects.
	notSigs bool
	// merges marks duplicated objects, which the decoder merges, while the
	// clean document keeps only the last one.
	merges bool
}

func manyKeys(prefix string, n int, last string) string {
	var b strings.Builder
	b.WriteString("{")
	for i := range n {
		fmt.Fprintf(&b, `"%s%d":1,`, prefix, i)
	}
	return b.String() + last + "}"
}

var objectCases = []objectCase{
	{name: "known fields only", doc: `{"top":"a","named":{"name":"x","value":1,"tags":["a"]},"items":[],"labels":{}}`},
	{name: "empty object", doc: ` {} `},
	{name: "unknown last", doc: `{"top":"a","foo":1}`, clean: `{"top":"a"}`, want: []string{`unknown field "foo"`}},
	{name: "unknown first", doc: `{"foo":{"x":[1]},"top":"a"}`, clean: `{"top":"a"}`, want: []string{`unknown field "foo"`}},
	{name: "all unknown", doc: `{"foo":1, "bar":2}`, clean: `{}`, want: []string{`unknown field "foo"`, `unknown field "bar"`}},
	{name: "runs of unknown", doc: `{"a":1,"top":"x","b":2,"c":3,"extra":"y","d":4}`, clean: `{"top":"x","extra":"y"}`,
		want: []string{`unknown field "a"`, `unknown field "b"`, `unknown field "c"`, `unknown field "d"`}},
	{name: "indented", doc: "{\n  \"foo\": 1,\n  \"top\": \"x\",\n  \"bar\": 2\n}", clean: "{\n  \"top\": \"x\"\n}",
		want: []string{`unknown field "foo"`, `unknown field "bar"`}},
	{name: "case differs", doc: `{"Top":"a","untagged":"b"}`, clean: `{}`, want: []string{`unknown field "Top"`, `unknown field "untagged"`}},
	{name: "nested struct", doc: `{"named":{"name":"x","nope":1}}`, clean: `{"named":{"name":"x"}}`, want: []string{`unknown field "named.nope"`}},
	{name: "array index", doc: `{"items":[{"name":"a"},{"name":"b","bad":true}]}`, clean: `{"items":[{"name":"a"},{"name":"b"}]}`,
		want: []string{`unknown field "items[1].bad"`}},
	{name: "through arrays and pointers", doc: `{"items":[{"child":{"tags":["x"],"zz":1,"child":{"yy":2}}}]}`,
		clean: `{"items":[{"child":{"tags":["x"],"child":{}}}]}`,
		want:  []string{`unknown field "items[0].child.zz"`, `unknown field "items[0].child.child.yy"`}},
	{name: "map values", doc: `{"byName":{"k.with.dots":{"nme":"x"}},"byNum":{"1":{"q":1}}}`, clean: `{"byName":{"k.with.dots":{}},"byNum":{"1":{}}}`,
		want: []string{`unknown field "byName.k.with.dots.nme"`, `unknown field "byNum.1.q"`}},
	{name: "map of lists", doc: `{"nested":{"a":[{"name":"n"},{"x":1}]}}`, clean: `{"nested":{"a":[{"name":"n"},{}]}}`,
		want: []string{`unknown field "nested.a[1].x"`}},
	{name: "empty keys", doc: `{"byName":{"":{"q":1}},"":2}`, clean: `{"byName":{"":{}}}`,
		want: []string{`unknown field "byName..q"`, `unknown field ""`}},
	{name: "map keys are free", doc: `{"labels":{"anything":"x","Top":"y","$patch":"z"}}`},
	{name: "fixed array", doc: `{"fixed":[{"bad":1}]}`, clean: `{"fixed":[{}]}`, want: []string{`unknown field "fixed[0].bad"`}},
	{name: "fixed array overflow is not looked at", doc: `{"fixed":[{"name":"a"},{"bad":1,"bad":2}]}`},
	{name: "pointer to pointer", doc: `{"ptr":{"x":1}}`, clean: `{"ptr":{}}`, want: []string{`unknown field "ptr.x"`}},
	{name: "inlined embedded", doc: `{"kind":"k","ptrField":"p","extra":"e"}`},
	{name: "embedded type names", doc: `{"tBase":{},"PtrEmbed":{},"NamedEmbed":{}}`, clean: `{}`,
		want: []string{`unknown field "tBase"`, `unknown field "PtrEmbed"`, `unknown field "NamedEmbed"`}},
	{name: "named embedded", doc: `{"namedEmbed":{"name":"n","kind":"k"}}`, clean: `{"namedEmbed":{"name":"n"}}`,
		want: []string{`unknown field "namedEmbed.kind"`}},
	{name: "ambiguous name", doc: `{"Shared":"x"}`, clean: `{}`, want: []string{`unknown field "Shared"`}},
	{name: "tags", doc: `{"Skipped":1,"-":"d","hidden":2,"Untagged":"u","InvalidTag":"i","a\\b":3}`, clean: `{"-":"d","Untagged":"u","InvalidTag":"i"}`,
		want: []string{`unknown field "Skipped"`, `unknown field "hidden"`, `unknown field "a\\b"`}},
	{name: "leaves", doc: `{"raw":{"a":1,"a":2},"bytes":"AAE=","leaf":{"whatever":1,"A":"x"},"leafPtr":{"zz":1},"text":"t","time":"2024-01-02T03:04:05Z","quoted":"12"}`},
	{name: "anonymous struct", doc: `{"anon":{"x":1,"y":2}}`, clean: `{"anon":{"x":1}}`, want: []string{`unknown field "anon.y"`}},
	{name: "recursive type", doc: `{"self":{"self":{"bogus":1,"top":"t"}}}`, clean: `{"self":{"self":{"top":"t"}}}`,
		want: []string{`unknown field "self.self.bogus"`}},
	{name: "interface values keep every key", doc: `{"any":{"x":{"Top":[1,{"z":1}]}}}`},
	{name: "interface values report duplicates", doc: `{"any":{"x":{"y":[1,{"z":1,"z":2}]}}}`, clean: `{"any":{"x":{"y":[1,{"z":2}]}}}`,
		want: []string{`duplicate field "any.x.y[1].z"`}},
	{name: "root path of interface array", doc: `{"any":[[{"a":1,"a":2}]]}`, clean: `{"any":[[{"a":2}]]}`, want: []string{`duplicate field "any[0][0].a"`}},
	{name: "nulls", doc: `{"named":null,"items":[null],"ptr":null,"byName":{"a":null},"any":null,"leaf":null}`},
	{name: "type mismatch is left alone", doc: `{"named":"str","items":{"a":1},"top":{"x":1},"labels":[{"y":1}]}`, notSigs: true},
	{name: "duplicate scalar", doc: `{"top":"a","top":"b"}`, clean: `{"top":"b"}`, want: []string{`duplicate field "top"`}},
	{name: "three times", doc: `{"top":"a","named":{},"top":"b","top":"c"}`, clean: `{"named":{},"top":"c"}`, want: []string{`duplicate field "top"`}},
	{name: "duplicate holding unknown", doc: `{"named":{"bad":1},"named":{"name":"x"}}`, clean: `{"named":{"name":"x"}}`,
		want: []string{`unknown field "named.bad"`, `duplicate field "named"`}},
	{name: "duplicate objects merge in the decoder", doc: `{"named":{"name":"x"},"named":{"value":1}}`, clean: `{"named":{"value":1}}`,
		want: []string{`duplicate field "named"`}, merges: true},
	{name: "duplicate map key", doc: `{"labels":{"a":"1","b":"2","a":"3"}}`, clean: `{"labels":{"b":"2","a":"3"}}`, want: []string{`duplicate field "labels.a"`}},
	{name: "duplicate in array element", doc: `{"items":[{},{"tags":[],"name":"a","tags":["x"]}]}`, clean: `{"items":[{},{"name":"a","tags":["x"]}]}`,
		want: []string{`duplicate field "items[1].tags"`}},
	{name: "escaped keys", doc: `{"t\u006fp":"a","top":"b","f\u006fo":1}`, clean: `{"top":"b"}`,
		want: []string{`duplicate field "top"`, `unknown field "foo"`}},
	{name: "invalid UTF-8 keys", doc: "{\"labels\":{\"\xff\":\"a\",\"\\ufffd\":\"b\"}}", clean: "{\"labels\":{\"\\ufffd\":\"b\"}}",
		want: []string{"duplicate field \"labels.\ufffd\""}},
	{name: "repeated unknown reported once", doc: `{"foo":1,"foo":2}`, clean: `{}`, want: []string{`unknown field "foo"`}},
	{name: "big object duplicates", doc: `{"any":` + manyKeys("k", 40, `"k3":2,"k39":3`) + `}`,
		clean: `{"any":` + strings.Replace(strings.Replace(manyKeys("k", 40, `"k3":2,"k39":3`), `"k3":1,`, "", 1), `,"k39":1`, "", 1) + `}`,
		want:  []string{`duplicate field "any.k3"`, `duplicate field "any.k39"`}},
	{name: "transparent type is walked", doc: `{"trans":{"inner":{"name":"x","Name":"y"},"Inner":{}}}`, clean: `{"trans":{"inner":{"name":"x"}}}`,
		want: []string{`unknown field "trans.inner.Name"`, `unknown field "trans.Inner"`}, notSigs: true},
	{name: "transparent duplicates", doc: `{"transList":[{"list":[],"list":[{"name":"a","zz":1}]}]}`, clean: `{"transList":[{"list":[{"name":"a"}]}]}`,
		want: []string{`duplicate field "transList[0].list"`, `unknown field "transList[0].list[0].zz"`}, notSigs: true},
}

func TestCheckObject(t *testing.T) {
	for _, tc := range objectCases {
		t.Run(tc.name, func(t *testing.T) {
			doc := []byte(tc.doc)
			clean, problems, err := treeChecker.Check(doc, Object)
			require.NoError(t, err)
			if tc.clean == "" {
				assert.True(t, sameBacking(doc, clean), "unchanged documents are not copied")
				assert.Empty(t, problems)
			} else {
				assert.Equal(t, tc.clean, string(clean))
			}
			assert.Equal(t, tc.want, nilIfEmpty(errTexts(problems)))

			again, more, err := treeChecker.Check(clean, Object)
			require.NoError(t, err)
			assert.Empty(t, more, "clean documents have no problems")
			assert.True(t, sameBacking(clean, again), "clean documents come back as they are")

			if tc.notSigs {
				return
			}
			assert.Equal(t, tc.want, nilIfEmpty(sigsProblems[tRoot](t, doc)), "the strict decoder finds the same")
			assert.Empty(t, sigsProblems[tRoot](t, clean))
			if !tc.merges {
				var fromDoc, fromClean tRoot
				require.NoError(t, sigsjson.UnmarshalCaseSensitivePreserveInts(doc, &fromDoc))
				require.NoError(t, sigsjson.UnmarshalCaseSensitivePreserveInts(clean, &fromClean))
				assert.Equal(t, fromDoc, fromClean, "the clean document decodes to the same object")
			}
		})
	}
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

func TestProblemCap(t *testing.T) {
	doc := []byte(manyKeys("x", 150, `"top":"t"`))
	clean, problems, err := treeChecker.Check(doc, Object)
	require.NoError(t, err)
	assert.Len(t, problems, maxProblems)
	assert.Equal(t, `{"top":"t"}`, string(clean), "problems past the cap are still removed")
	assert.Equal(t, sigsProblems[tRoot](t, doc), errTexts(problems))
}

func TestTransparentIsOptIn(t *testing.T) {
	// Without listing tTrans, it is a leaf like any other unmarshaler.
	c := NewChecker(reflect.TypeFor[tRoot]())
	doc := []byte(`{"trans":{"Inner":{},"zz":1}}`)
	clean, problems, err := c.Check(doc, Object)
	require.NoError(t, err)
	assert.Empty(t, problems)
	assert.True(t, sameBacking(doc, clean))
}

func TestMalformed(t *testing.T) {
	deep := strings.Repeat(`{"self":`, maxDepth) + "{}" + strings.Repeat("}", maxDepth)
	okDeep := strings.Repeat(`{"self":`, maxDepth-1) + "{}" + strings.Repeat("}", maxDepth-1)
	docs := []string{"", "   ", "{", `{"top":}`, `{"top" "a"}`, `{"top":"a",}`, `{,}`, `[1,]`, "01", "1 2", `{} x`,
		`"\x"`, `"\u12"`, "\"a\x01\"", `tru`, `nul`, `-`, `1.`, `1e`, `1e+`, `.5`, `{"any":[1 2]}`, `{"named":{"name":"x"]}`,
		`{"leaf":{"a":1,}}`, `{"raw":[}`, `{"top":"a"}}`, `{"labels":{"a"}}`, `{1:2}`, deep}
	for _, doc := range docs {
		name := doc
		if len(name) > 20 {
			name = name[:20]
		}
		t.Run(name, func(t *testing.T) {
			clean, problems, err := treeChecker.Check([]byte(doc), Object)
			assert.Error(t, err)
			assert.Nil(t, clean)
			assert.Nil(t, problems)
			var syntax *SyntaxError
			assert.ErrorAs(t, err, &syntax)
			_, sigsErr := sigsjson.UnmarshalStrict([]byte(doc), new(tRoot))
			assert.Error(t, sigsErr, "the decoder rejects it as well")
		})
	}
	_, _, err := treeChecker.Check([]byte(okDeep), Object)
	assert.NoError(t, err, "the nesting limit is the decoder's")
}
