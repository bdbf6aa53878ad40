package fieldcheck

import (
	"bytes"
	"errors"
	"strconv"
)

// member is one key-value pair of the object being walked.
type member struct {
	keyStart int // offset of the key's opening quote
	valEnd   int // offset just after the value
	key      keyRef
	field    int // struct field index, directiveField, or -1
	removed  bool
}

// directiveField marks a member that is a strategic merge patch directive.
const directiveField = -2

// bigObject is the member count from which map keys are indexed instead of
// compared one by one, to keep duplicate detection linear.
const bigObject = 32

// value walks the value at i along n and returns the position after it.
func (s *state) value(i int, n *node) int {
	if n == nil || i >= len(s.data) {
		return s.skip(i)
	}
	switch s.data[i] {
	case '{':
		if n.kind != listNode {
			return s.object(i, n)
		}
	case '[':
		if n.kind == listNode || n.kind == dynamicNode {
			return s.array(i, n)
		}
	}
	// Scalars, and containers of the wrong JSON type, which the decoder rejects itself.
	return s.skip(i)
}

// array walks the array opened at i; n is a list or dynamic node.
func (s *state) array(i int, n *node) int {
	if s.depth++; s.depth > maxDepth {
		return s.fail(i, "exceeded max depth")
	}
	i = s.ws(i + 1)
	if i < len(s.data) && s.data[i] == ']' {
		s.depth--
		return i + 1
	}
	elem := n.elem
	if n.kind == dynamicNode {
		elem = n
	}
	top := len(s.path)
	s.path = append(s.path, segment{})
	for k := 0; ; k++ {
		e := elem
		if n.length >= 0 && k >= n.length {
			e = nil // the decoder drops what does not fit a Go array
		}
		s.path[top] = segment{index: k}
		if i = s.value(i, e); i < 0 {
			return -1
		}
		var closed bool
		if i, closed = s.next(i, ']'); i < 0 {
			return -1
		} else if closed {
			break
		}
	}
	s.path = s.path[:top]
	s.depth--
	return i
}

// object walks the object opened at i; n is a struct, map or dynamic node.
func (s *state) object(i int, n *node) int {
	if s.depth++; s.depth > maxDepth {
		return s.fail(i, "exceeded max depth")
	}
	i = s.ws(i + 1)
	if i < len(s.data) && s.data[i] == '}' {
		s.depth--
		return i + 1
	}
	base, bitsBase, top, keyBase := len(s.members), len(s.bits), len(s.path), len(s.keyBuf)
	if n.kind == structNode {
		for range (len(n.kids) + 63) / 64 {
			s.bits = append(s.bits, 0)
		}
	}
	s.path = append(s.path, segment{isKey: true})
	var index map[string]int // latest member per key, for big maps
	for {
		if i >= len(s.data) || s.data[i] != '"' {
			return s.fail(i, "invalid character looking for beginning of object key string")
		}
		end, plain := s.str(i)
		if end < 0 {
			return -1
		}
		m := member{keyStart: i, key: keyRef{start: i + 1, end: end - 1}, field: -1}
		if !plain {
			m.key = s.decodeKey(m.key)
		}
		key := s.keyOf(m.key)
		if i = s.colon(end); i < 0 {
			return -1
		}
		// Like the strict decoder, judge the key before walking its value, so
		// problems come out in the same order.
		var child *node
		known := true
		switch n.kind {
		case structNode:
			child, known = s.structKey(n, key, &m, base, bitsBase, top)
		case mapNode:
			child = n.elem
			index = s.mapKey(key, &m, base, top, index)
		default:
			child = n
			index = s.mapKey(key, &m, base, top, index)
		}
		if known {
			s.path[top].key = m.key
			i = s.value(i, child)
		} else {
			// The decoder skips the value of an unknown field, so nothing inside it is reported.
			s.report(UnknownField, top, key)
			m.removed = true
			i = s.skip(i)
		}
		if i < 0 {
			return -1
		}
		// Appended only now: nested objects stack their members above while the value is walked.
		m.valEnd = i
		s.members = append(s.members, m)
		var closed bool
		if i, closed = s.next(i, '}'); i < 0 {
			return -1
		} else if closed {
			break
		}
	}
	s.cutRemoved(s.members[base:])
	// Keys decoded here are not referenced once the object is done.
	s.members, s.bits, s.path, s.keyBuf = s.members[:base], s.bits[:bitsBase], s.path[:top], s.keyBuf[:keyBase]
	s.depth--
	return i
}

// structKey resolves the key of m in struct n. It returns the plan for the
// value and whether the key is allowed at all; a repeated field is reported
// and its earlier occurrence removed.
func (s *state) structKey(n *node, key []byte, m *member, base, bitsBase, top int) (*node, bool) {
	idx, ok := n.fields.lookup(key)
	if !ok {
		if s.mode != StrategicMergePatch {
			return nil, false
		}
		child, ok := n.directive(key)
		if ok {
			m.field = directiveField
			s.dropEarlier(key, m, base, top, nil)
		}
		return child, ok
	}
	// The decoder tells fields apart by index, so a bitset per object finds repeats.
	m.field = idx
	word, bit := &s.bits[bitsBase+idx/64], uint64(1)<<(idx%64)
	if *word&bit != 0 {
		s.dropEarlier(key, m, base, top, nil)
	}
	*word |= bit
	return n.kids[idx], true
}

// mapKey checks the key of m in a map or dynamic object for duplicates. Small
// objects are searched backwards; from bigObject members on, index holds the
// latest member per key. It returns the (possibly new) index.
func (s *state) mapKey(key []byte, m *member, base, top int, index map[string]int) map[string]int {
	count := len(s.members) - base
	if count < bigObject {
		s.dropEarlier(key, m, base, top, nil)
		return index
	}
	if index == nil {
		index = make(map[string]int, 2*count)
		for j := base; j < len(s.members); j++ {
			index[string(s.keyOf(s.members[j].key))] = j
		}
	}
	s.dropEarlier(key, m, base, top, index)
	index[string(key)] = len(s.members)
	return index
}

// dropEarlier looks for an earlier member of the current object that m (with
// key) repeats; if there is one, it is marked removed and m reported as duplicate.
func (s *state) dropEarlier(key []byte, m *member, base, top int, index map[string]int) {
	found := -1
	if index != nil {
		if j, ok := index[string(key)]; ok {
			found = j
		}
	} else {
		// Newest first: older occurrences were removed when this one was seen.
		for j := len(s.members) - 1; j >= base; j-- {
			o := &s.members[j]
			if o.removed || o.field != m.field {
				continue
			}
			if m.field >= 0 || bytes.Equal(s.keyOf(o.key), key) {
				found = j
				break
			}
		}
	}
	if found >= 0 && !s.members[found].removed {
		s.members[found].removed = true
		s.report(DuplicateField, top, key)
	}
}

// cutRemoved records the byte ranges that drop the removed members of one
// object together with the right commas: a run of removed members goes from
// the end of the kept member before it, or, when it leads the object, up to
// the kept member after it.
// Cuts of one object never overlap; cuts inside a removed member are left
// for apply to drop.
func (s *state) cutRemoved(ms []member) {
	for p := 0; p < len(ms); p++ {
		if !ms[p].removed {
			continue
		}
		q := p
		for q+1 < len(ms) && ms[q+1].removed {
			q++
		}
		switch {
		case p > 0:
			s.cuts = append(s.cuts, cut{ms[p-1].valEnd, ms[q].valEnd})
		case q+1 < len(ms):
			s.cuts = append(s.cuts, cut{ms[p].keyStart, ms[q+1].keyStart})
		default:
			s.cuts = append(s.cuts, cut{ms[p].keyStart, ms[q].valEnd})
		}
		p = q
	}
}

// report records a problem with key in the object at path depth top, unless
// the same problem was already recorded or there are maxProblems already.
func (s *state) report(kind Kind, top int, key []byte) {
	if len(s.problems) >= maxProblems {
		return
	}
	path := s.pathTo(top, key)
	for _, p := range s.problems {
		var fe *FieldError
		if errors.As(p, &fe) && fe.Kind == kind && fe.Path == path {
			return
		}
	}
	s.problems = append(s.problems, &FieldError{Kind: kind, Path: path})
}

// pathTo renders the path of key below the first top segments the way the
// strict decoder does: keys joined by dots, indexes in brackets without a dot.
func (s *state) pathTo(top int, key []byte) string {
	var buf [256]byte // most paths fit, saving the growing of b
	b := buf[:0]
	for k, seg := range s.path[:top] {
		if !seg.isKey {
			b = append(strconv.AppendInt(append(b, '['), int64(seg.index), 10), ']')
			continue
		}
		if k > 0 {
			b = append(b, '.')
		}
		b = append(b, s.keyOf(seg.key)...)
	}
	if top > 0 {
		b = append(b, '.')
	}
	return string(append(b, key...))
}
