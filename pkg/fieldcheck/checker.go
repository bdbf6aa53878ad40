// Package fieldcheck finds unknown and duplicate fields in JSON documents by
// walking the bytes along a Go type, independently of any custom
// UnmarshalJSON the type's parts may have, and returns the document with those
// fields removed.
//
// The problems it reports carry the same texts and paths as the strict mode
// of sigs.k8s.io/json, so they can be shown next to the decoder's own.
package fieldcheck

import (
	"reflect"
	"slices"
	"strconv"
	"sync"
)

// Mode says what kind of document is checked.
type Mode int

const (
	// Object is a whole object: create and update bodies, results of JSON and merge patches.
	Object Mode = iota
	// StrategicMergePatch is a strategic merge patch: its directive keys are allowed where strategic merge patch allows them.
	StrategicMergePatch
)

// maxProblems caps the problems of one document, as the strict decoder caps its errors.
const maxProblems = 100

// Kind tells which problem a FieldError reports.
type Kind uint8

const (
	// UnknownField is a key that names no field of the struct it is in.
	UnknownField Kind = iota + 1
	// DuplicateField is a key given more than once in one object.
	DuplicateField
)

// FieldError is one unknown or duplicate field; its text is the strict decoder's.
type FieldError struct {
	Kind Kind
	Path string
}

// Error formats the problem as sigs.k8s.io/json does, e.g. `unknown field "spec.foo"`.
func (e *FieldError) Error() string {
	if e.Kind == DuplicateField {
		return "duplicate field " + strconv.Quote(e.Path)
	}
	return "unknown field " + strconv.Quote(e.Path)
}

// FieldPath returns the path of the field within the document.
func (e *FieldError) FieldPath() string { return e.Path }

// SetFieldPath replaces the path, e.g. to prefix it with the path of an enclosing document.
func (e *FieldError) SetFieldPath(path string) { e.Path = path }

// Checker checks documents whose root has one Go type. It is safe for
// concurrent use: the type's field tables are built once, in NewChecker.
type Checker struct {
	root   *node
	states sync.Pool
}

// NewChecker builds a Checker for documents of type root. Types in
// transparent are walked as plain structs although they have their own
// UnmarshalJSON; every other json.Unmarshaler or encoding.TextUnmarshaler is a
// leaf whose inside is not looked at.
func NewChecker(root reflect.Type, transparent ...reflect.Type) *Checker {
	b := newBuilder(transparent)
	c := &Checker{root: b.build(root)}
	c.states.New = func() any { return new(state) }
	return c
}

// Check returns data with every unknown field and every earlier occurrence of
// a duplicated key removed (the last occurrence wins), and the problems in
// document order, each once and at most 100, as the strict decoder lists
// them. When nothing is removed it returns data itself.
// err is non-nil only for malformed JSON; clean and problems are nil then, and
// the caller should let its decoder report the syntax error.
func (c *Checker) Check(data []byte, mode Mode) (clean []byte, problems []error, err error) {
	return c.check(c.root, data, mode)
}

// check walks data as a value of node n.
func (c *Checker) check(n *node, data []byte, mode Mode) (clean []byte, problems []error, err error) {
	s := c.states.Get().(*state)
	s.reset(data, mode)
	defer c.release(s)

	i := s.ws(0)
	if i >= len(data) {
		return nil, nil, &SyntaxError{Offset: int64(i), msg: "unexpected end of JSON input"}
	}
	i = s.value(i, n)
	if i >= 0 {
		// Like json.Unmarshal, nothing but whitespace may follow the value.
		if i = s.ws(i); i < len(data) {
			s.fail(i, "invalid character after top-level value")
		}
	}
	if s.err != nil {
		return nil, nil, s.err
	}
	problems, s.problems = s.problems, nil
	if len(s.cuts) == 0 {
		return data, problems, nil
	}
	return s.apply(), problems, nil
}

// maxPooledMembers bounds the scratch space kept for later calls, so that one
// huge document does not pin its buffers.
const maxPooledMembers = 1 << 12

func (c *Checker) release(s *state) {
	s.reset(nil, Object)
	if cap(s.members) > maxPooledMembers || cap(s.path) > maxPooledMembers || cap(s.cuts) > maxPooledMembers {
		return
	}
	c.states.Put(s)
}

// SyntaxError reports malformed JSON.
type SyntaxError struct {
	Offset int64 // byte offset at which the error was detected
	msg    string
}

// Error describes the malformed input and where it was found.
func (e *SyntaxError) Error() string {
	return "fieldcheck: malformed JSON at offset " + strconv.FormatInt(e.Offset, 10) + ": " + e.msg
}

// cut is a half-open byte range of the input to leave out of the output.
type cut struct{ start, end int }

// apply copies the input without the cut ranges. Cuts are disjoint or
// nested (a removed member may contain cuts made while walking it), so after
// sorting by start, a cut that begins before the previous one ended lies
// inside it.
func (s *state) apply() []byte {
	cuts := s.cuts
	slices.SortFunc(cuts, func(a, b cut) int {
		if a.start != b.start {
			return a.start - b.start
		}
		return b.end - a.end
	})
	kept := cuts[:0]
	removed := 0
	for _, ct := range cuts {
		if n := len(kept); n > 0 && ct.start < kept[n-1].end {
			continue
		}
		kept = append(kept, ct)
		removed += ct.end - ct.start
	}
	out := make([]byte, 0, len(s.data)-removed)
	pos := 0
	for _, ct := range kept {
		out = append(out, s.data[pos:ct.start]...)
		pos = ct.end
	}
	return append(out, s.data[pos:]...)
}
