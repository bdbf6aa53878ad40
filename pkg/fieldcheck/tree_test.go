package fieldcheck

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	sigsjson "sigs.k8s.io/json"
)

// The test tree covers every rule of walking a type; tRoot is its root.

type tInner struct {
	Name  string   `json:"name"`
	Value int      `json:"value,omitempty"`
	Tags  []string `json:"tags,omitempty"`
	Child *tInner  `json:"child,omitempty"`
}

// tLeaf decodes itself with encoding/json, like the KubeVirt types do.
type tLeaf struct {
	A string `json:"a"`
}

func (l *tLeaf) UnmarshalJSON(b []byte) error {
	type alias tLeaf
	return json.Unmarshal(b, (*alias)(l))
}

// tTrans has its own UnmarshalJSON too, but the test checker walks it.
type tTrans struct {
	Inner tInner   `json:"inner"`
	List  []tInner `json:"list,omitempty"`
}

func (t *tTrans) UnmarshalJSON(b []byte) error {
	type alias tTrans
	return json.Unmarshal(b, (*alias)(t))
}

type tText struct{ v string }

func (t *tText) UnmarshalText(b []byte) error { t.v = string(b); return nil }

type tBase struct {
	Kind   string `json:"kind,omitempty"`
	Shared string
}

type tExtra struct {
	Extra  string `json:"extra,omitempty"`
	Shared string // as deep and as untagged as tBase.Shared: neither exists
}

type PtrEmbed struct {
	PtrField string `json:"ptrField,omitempty"`
}

type NamedEmbed struct {
	Name string `json:"name,omitempty"`
}

type tRoot struct {
	tBase      // unexported embedded struct: its fields are promoted
	tExtra     `json:",inline"`
	*PtrEmbed  // embedded pointer: inlined too
	NamedEmbed `json:"namedEmbed"`

	Override   string `json:"extra,omitempty"` // shallower than tExtra.Extra, so it wins
	Top        string `json:"top,omitempty"`
	Untagged   string
	Skipped    string `json:"-"`
	Dash       string `json:"-,"`   //nolint:staticcheck // the checker must read this tag as encoding/json does
	InvalidTag string `json:"a\\b"` //nolint:staticcheck // a malformed tag, as encoding/json tolerates it
	hidden     string //nolint:unused // unexported fields must be skipped

	Named  tInner              `json:"named,omitempty"`
	Items  []tInner            `json:"items,omitempty"`
	Fixed  [1]tInner           `json:"fixed,omitempty"`
	Labels map[string]string   `json:"labels,omitempty"`
	ByName map[string]tInner   `json:"byName,omitempty"`
	ByNum  map[int]tInner      `json:"byNum,omitempty"`
	Nested map[string][]tInner `json:"nested,omitempty"`
	Ptr    **tInner            `json:"ptr,omitempty"`
	Any    any                 `json:"any,omitempty"`
	Raw    json.RawMessage     `json:"raw,omitempty"`
	Bytes  []byte              `json:"bytes,omitempty"`
	Leaf   tLeaf               `json:"leaf,omitempty"`
	LeafP  *tLeaf              `json:"leafPtr,omitempty"`
	Trans  tTrans              `json:"trans,omitempty"`
	TransL []*tTrans           `json:"transList,omitempty"`
	Text   tText               `json:"text,omitempty"`
	Time   metav1.Time         `json:"time,omitempty"`
	Quoted int                 `json:"quoted,omitempty,string"`
	Anon   struct {
		X int `json:"x"`
	} `json:"anon,omitempty"`
	Self *tRoot `json:"self,omitempty"`
}

var treeChecker = NewChecker(reflect.TypeFor[tRoot](), reflect.TypeFor[*tTrans]())

// strings of errors, for comparing problem lists.
func errTexts(errs []error) []string {
	out := make([]string, 0, len(errs))
	for _, e := range errs {
		out = append(out, e.Error())
	}
	return out
}

// sigsProblems decodes doc into a new T with the strict decoder and returns its strict errors.
func sigsProblems[T any](t *testing.T, doc []byte) []string {
	t.Helper()
	strict, err := sigsjson.UnmarshalStrict(doc, new(T))
	require.NoError(t, err)
	return errTexts(strict)
}

// sameBacking reports whether a and b are the same bytes in memory.
func sameBacking(a, b []byte) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

func TestJSONFieldNames(t *testing.T) {
	n := treeChecker.root
	has := func(name string) bool {
		_, ok := n.fields.lookup([]byte(name))
		return ok
	}
	kid := func(name string) *node {
		i, ok := n.fields.lookup([]byte(name))
		require.True(t, ok, name)
		return n.kids[i]
	}
	for _, name := range []string{"kind", "extra", "ptrField", "namedEmbed", "top", "Untagged", "-", "InvalidTag", "time", "self"} {
		assert.True(t, has(name), name)
	}
	for _, name := range []string{"Shared", "tBase", "tExtra", "PtrEmbed", "Skipped", "hidden", "a\\b", "untagged", ""} {
		assert.False(t, has(name), name)
	}
	for _, name := range []string{"raw", "bytes", "leaf", "leafPtr", "text", "time", "quoted", "top"} {
		assert.Nil(t, kid(name), name)
	}
	trans := kid("trans")
	require.NotNil(t, trans)
	assert.Equal(t, structNode, trans.kind)
	assert.Same(t, trans, kid("transList").elem, "a pointer walks like its element")
	assert.Same(t, n, kid("self"), "recursive types share their node")
	assert.Equal(t, dynamicNode, kid("any").kind)
	assert.Equal(t, 1, kid("fixed").length)
	assert.Equal(t, -1, kid("items").length)
}

func TestFieldErrorInterface(t *testing.T) {
	// The strict decoder's FieldError interface, which callers use to re-root paths.
	var fe sigsjson.FieldError = &FieldError{Kind: UnknownField, Path: "a.b"}
	assert.Equal(t, "a.b", fe.FieldPath())
	fe.SetFieldPath("x.a.b")
	assert.Equal(t, `unknown field "x.a.b"`, fe.Error())
	assert.Equal(t, `duplicate field "x"`, (&FieldError{Kind: DuplicateField, Path: "x"}).Error())
}

func TestConcurrentChecks(t *testing.T) {
	doc := []byte(`{"top":"a","named":{"name":"x","bad":1},"items":[{"name":"a","name":"b"}]}`)
	want := []string{`unknown field "named.bad"`, `duplicate field "items[0].name"`}
	done := make(chan struct{})
	for range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			for range 200 {
				clean, problems, err := treeChecker.Check(doc, Object)
				assert.NoError(t, err)
				assert.Equal(t, want, errTexts(problems))
				assert.Equal(t, `{"top":"a","named":{"name":"x"},"items":[{"name":"b"}]}`, string(clean))
			}
		}()
	}
	for range 8 {
		<-done
	}
}
