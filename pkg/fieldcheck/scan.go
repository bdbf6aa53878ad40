package fieldcheck

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// maxDepth is the deepest nesting accepted, the same limit encoding/json has.
const maxDepth = 10000

// state is the scratch space of one Check call; it is pooled so that a
// document without problems is checked without allocating.
type state struct {
	data     []byte
	mode     Mode
	depth    int
	err      error
	members  []member // members of the objects being walked, innermost last
	bits     []uint64 // seen-field bitsets of the structs being walked
	path     []segment
	cuts     []cut
	keyBuf   []byte // decoded keys that differ from their raw bytes
	problems []error
}

// keyRef locates a decoded key in the input or, if buffered, in keyBuf.
// Members and path segments hold keyRefs rather than slices: without
// pointers, appending them costs no GC write barriers.
type keyRef struct {
	start, end int
	buffered   bool
}

// segment is one step of the path to the value being walked: an object key or an array index.
type segment struct {
	key   keyRef
	index int
	isKey bool
}

func (s *state) keyOf(r keyRef) []byte {
	if r.buffered {
		return s.keyBuf[r.start:r.end]
	}
	return s.data[r.start:r.end]
}

func (s *state) reset(data []byte, mode Mode) {
	s.data, s.mode, s.depth, s.err = data, mode, 0, nil
	s.members = s.members[:0]
	s.bits = s.bits[:0]
	s.path = s.path[:0]
	s.cuts = s.cuts[:0]
	s.keyBuf = s.keyBuf[:0]
	s.problems = nil
}

// fail records a syntax error and returns -1, the position every scanning function returns on failure.
func (s *state) fail(i int, msg string) int {
	if s.err == nil {
		s.err = &SyntaxError{Offset: int64(i), msg: msg}
	}
	return -1
}

func (s *state) ws(i int) int {
	for i < len(s.data) {
		switch s.data[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// plainByte tells the bytes a string can hold that need no second look:
// not the quote, backslash, control characters or non-ASCII.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// str scans the string whose opening quote is at i and returns the position
// after its closing quote. plain reports that the string holds neither escapes
// nor non-ASCII bytes, so its raw bytes are its value.
func (s *state) str(i int) (end int, plain bool) {
	d := s.data
	plain = true
	for j := i + 1; j < len(d); j++ {
		// The fast loop skips runs of ordinary bytes; the switch sees the rest.
		for j < len(d) && plainByte[d[j]] {
			j++
		}
		if j >= len(d) {
			break
		}
		switch c := d[j]; {
		case c == '"':
			return j + 1, plain
		case c == '\\':
			plain = false
			j++
			if j >= len(d) {
				return s.fail(j, "unexpected end of JSON input"), false
			}
			switch d[j] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if j+4 >= len(d) {
					return s.fail(j, "unexpected end of JSON input"), false
				}
				for _, h := range d[j+1 : j+5] {
					if !isHex(h) {
						return s.fail(j, "invalid character in \\u escape"), false
					}
				}
				j += 4
			default:
				return s.fail(j, "invalid escape in string"), false
			}
		case c < 0x20:
			return s.fail(j, "invalid control character in string"), false
		default: // non-ASCII
			plain = false
		}
	}
	return s.fail(len(d), "unexpected end of JSON input"), false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// decodeKey resolves a key whose raw bytes are not plain. Escapes and
// invalid UTF-8 are resolved as the decoders do, so that "\u0061" and "a"
// are the same key.
func (s *state) decodeKey(r keyRef) keyRef {
	raw := s.data[r.start:r.end]
	if bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw) {
		return r
	}
	var v string
	if json.Unmarshal(s.data[r.start-1:r.end+1], &v) != nil {
		return r // unreachable: str validated the string
	}
	start := len(s.keyBuf)
	s.keyBuf = append(s.keyBuf, v...)
	return keyRef{start: start, end: len(s.keyBuf), buffered: true}
}

// number scans a number starting at i.
func (s *state) number(i int) int {
	d := s.data
	j := i
	if d[j] == '-' {
		j++
	}
	switch {
	case j < len(d) && d[j] == '0':
		j++
	case j < len(d) && '1' <= d[j] && d[j] <= '9':
		j = digits(d, j)
	default:
		return s.fail(j, "invalid number")
	}
	if j < len(d) && d[j] == '.' {
		if k := digits(d, j+1); k > j+1 {
			j = k
		} else {
			return s.fail(j+1, "invalid number")
		}
	}
	if j < len(d) && (d[j] == 'e' || d[j] == 'E') {
		j++
		if j < len(d) && (d[j] == '+' || d[j] == '-') {
			j++
		}
		if k := digits(d, j); k > j {
			j = k
		} else {
			return s.fail(j, "invalid number")
		}
	}
	return j
}

func digits(d []byte, j int) int {
	for j < len(d) && '0' <= d[j] && d[j] <= '9' {
		j++
	}
	return j
}

// literal scans true, false or null starting at i.
func (s *state) literal(i int, word string) int {
	if len(s.data)-i < len(word) || string(s.data[i:i+len(word)]) != word {
		return s.fail(i, "invalid literal")
	}
	return i + len(word)
}

// scalar scans a string, number or literal starting at i (i < len(data)).
func (s *state) scalar(i int) int {
	switch c := s.data[i]; {
	case c == '"':
		end, _ := s.str(i)
		return end
	case c == 't':
		return s.literal(i, "true")
	case c == 'f':
		return s.literal(i, "false")
	case c == 'n':
		return s.literal(i, "null")
	case c == '-' || '0' <= c && c <= '9':
		return s.number(i)
	}
	return s.fail(i, "invalid character looking for beginning of value")
}

// skip validates the value at i without looking at its keys: it is used for
// leaves, unknown fields and values whose JSON type does not fit the Go type.
func (s *state) skip(i int) int {
	if i >= len(s.data) {
		return s.fail(i, "unexpected end of JSON input")
	}
	switch s.data[i] {
	case '{':
		return s.container(i, '}', true)
	case '[':
		return s.container(i, ']', false)
	}
	return s.scalar(i)
}

// container validates an object or array opened at i; it shares the
// separator handling of both, objects additionally needing "key:" per member.
func (s *state) container(i int, closer byte, object bool) int {
	if s.depth++; s.depth > maxDepth {
		return s.fail(i, "exceeded max depth")
	}
	i = s.ws(i + 1)
	if i < len(s.data) && s.data[i] == closer {
		s.depth--
		return i + 1
	}
	for {
		if object {
			if i = s.key(i); i < 0 {
				return -1
			}
		}
		if i = s.skip(i); i < 0 {
			return -1
		}
		var closed bool
		if i, closed = s.next(i, closer); i < 0 || closed {
			s.depth--
			return i
		}
	}
}

// key scans `"key" :` at i and returns the position of the value.
func (s *state) key(i int) int {
	if i >= len(s.data) || s.data[i] != '"' {
		return s.fail(i, "invalid character looking for beginning of object key string")
	}
	end, _ := s.str(i)
	if end < 0 {
		return -1
	}
	return s.colon(end)
}

// colon scans the ':' after a key ending at i and returns the position of the value.
func (s *state) colon(i int) int {
	if i = s.ws(i); i >= len(s.data) || s.data[i] != ':' {
		return s.fail(i, "invalid character after object key")
	}
	return s.ws(i + 1)
}

// next scans the separator after a member or element ending at i: after ','
// it returns the start of the next item, after the closer the position
// behind it and closed.
func (s *state) next(i int, closer byte) (int, bool) {
	if i = s.ws(i); i >= len(s.data) {
		return s.fail(i, "unexpected end of JSON input"), false
	}
	switch s.data[i] {
	case ',':
		return s.ws(i + 1), false
	case closer:
		return i + 1, true
	}
	return s.fail(i, "invalid character after value"), false
}
