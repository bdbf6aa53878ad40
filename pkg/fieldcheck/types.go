package fieldcheck

import (
	"cmp"
	"encoding"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"unicode"
)

// nodeKind says how a JSON value is walked for one Go type.
type nodeKind uint8

const (
	structNode  nodeKind = iota // keys must name fields
	mapNode                     // any key; values walked as elem
	listNode                    // elements walked as elem
	dynamicNode                 // interface{}: any key, duplicates still reported
)

// node is the walking plan for one Go type. A nil *node is a leaf: its value
// is only validated as JSON.
type node struct {
	kind   nodeKind
	fields fieldIndex // struct: JSON name to index in kids
	kids   []*node    // struct: one per field
	elem   *node      // list and map: the elements' plan
	length int        // list: length of a Go array, -1 for slices and dynamic values
}

var (
	unmarshalerType     = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// builder turns Go types into nodes, once per type.
type builder struct {
	memo        map[reflect.Type]*node
	transparent map[reflect.Type]bool
	dynamic     *node
}

func newBuilder(transparent []reflect.Type) *builder {
	b := &builder{
		memo:        map[reflect.Type]*node{},
		transparent: map[reflect.Type]bool{},
		dynamic:     &node{kind: dynamicNode, length: -1},
	}
	for _, t := range transparent {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		b.transparent[t] = true
	}
	return b
}

// customDecoded reports whether the decoder hands values of the pointer
// type p to p's own UnmarshalJSON or UnmarshalText instead of looking inside.
func (b *builder) customDecoded(p reflect.Type) bool {
	if b.transparent[p.Elem()] {
		return false
	}
	return p.Implements(unmarshalerType) || p.Implements(textUnmarshalerType)
}

func (b *builder) build(t reflect.Type) *node {
	if n, ok := b.memo[t]; ok {
		return n
	}
	switch t.Kind() {
	case reflect.Pointer:
		// The decoder tests every pointer level for unmarshalers, then goes on
		// with the element. The leaf placeholder ends self-referencing pointer types.
		b.memo[t] = nil
		if !b.customDecoded(t) {
			b.memo[t] = b.build(t.Elem())
		}
		return b.memo[t]
	case reflect.Interface:
		// Only an empty interface gets decoded into; objects meet map[string]any rules.
		if t.NumMethod() == 0 {
			b.memo[t] = b.dynamic
			return b.dynamic
		}
		b.memo[t] = nil
		return nil
	}
	// Only named types are addressed to find pointer methods: an unnamed
	// struct with an embedded unmarshaler is still decoded field by field.
	if t.Name() != "" && b.customDecoded(reflect.PointerTo(t)) {
		b.memo[t] = nil
		return nil
	}
	var n *node
	switch t.Kind() {
	case reflect.Struct:
		n = &node{kind: structNode}
		b.memo[t] = n // before the fields, for recursive types
		fields := jsonFields(t)
		names := make([]string, len(fields))
		n.kids = make([]*node, len(fields))
		for i, f := range fields {
			names[i] = f.name
			n.kids[i] = b.build(f.typ)
		}
		n.fields = newFieldIndex(names)
		return n
	case reflect.Slice:
		// A []byte takes a base64 string; an array of numbers fits it too, but it holds no keys.
		if t.Elem().Kind() != reflect.Uint8 {
			n = &node{kind: listNode, length: -1}
		}
	case reflect.Array:
		n = &node{kind: listNode, length: t.Len()}
	case reflect.Map:
		if mapKeyDecodable(t.Key()) {
			n = &node{kind: mapNode}
		}
	}
	b.memo[t] = n
	if n != nil {
		n.elem = b.build(t.Elem())
	}
	return n
}

// mapKeyDecodable reports whether the decoder accepts maps with key type k.
func mapKeyDecodable(k reflect.Type) bool {
	switch k.Kind() {
	case reflect.String,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return true
	}
	return reflect.PointerTo(k).Implements(textUnmarshalerType)
}

// jsonField is a struct field as encoding/json sees it.
type jsonField struct {
	name   string
	tagged bool  // name came from the json tag
	index  []int // field indexes from the outer struct through embedded ones
	typ    reflect.Type
}

// jsonFields lists the fields encoding/json decodes for struct t: it inlines
// untagged embedded structs breadth first and, where names collide, keeps the
// shallowest field, a tagged one over untagged ones, or none when that is ambiguous.
func jsonFields(t reflect.Type) []jsonField {
	type embedded struct {
		typ   reflect.Type
		index []int
	}
	var all []jsonField
	visited := map[reflect.Type]bool{}
	level := []embedded{{typ: t}}
	var count map[reflect.Type]int // how often each type of this level was embedded
	for len(level) > 0 {
		var next []embedded
		nextCount := map[reflect.Type]int{}
		for _, e := range level {
			if visited[e.typ] {
				continue
			}
			visited[e.typ] = true
			for i := range e.typ.NumField() {
				sf := e.typ.Field(i)
				ft := sf.Type
				if ft.Name() == "" && ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if !sf.IsExported() && (!sf.Anonymous || ft.Kind() != reflect.Struct) {
					continue // unexported, and no embedded struct whose fields could be promoted
				}
				tag := sf.Tag.Get("json")
				if tag == "-" {
					continue
				}
				name, _, _ := strings.Cut(tag, ",")
				if !validTagName(name) {
					name = ""
				}
				index := append(slices.Clip(e.index), i)
				if name == "" && sf.Anonymous && ft.Kind() == reflect.Struct {
					if nextCount[ft]++; nextCount[ft] == 1 {
						next = append(next, embedded{typ: ft, index: index})
					}
					continue
				}
				f := jsonField{name: name, tagged: name != "", index: index, typ: sf.Type}
				if !f.tagged {
					f.name = sf.Name
				}
				all = append(all, f)
				if count[e.typ] > 1 {
					// The same struct embedded twice at one depth: the copy makes its fields ambiguous.
					all = append(all, f)
				}
			}
		}
		level, count = next, nextCount
	}
	slices.SortFunc(all, func(a, b jsonField) int {
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		if c := cmp.Compare(len(a.index), len(b.index)); c != 0 {
			return c
		}
		if a.tagged != b.tagged {
			if a.tagged {
				return -1
			}
			return 1
		}
		return slices.Compare(a.index, b.index)
	})
	out := all[:0]
	for i := 0; i < len(all); {
		j := i + 1
		for j < len(all) && all[j].name == all[i].name {
			j++
		}
		// Sorted by depth then tag, the first field wins unless the second is
		// just as deep and just as tagged.
		if j == i+1 || len(all[i].index) != len(all[i+1].index) || all[i].tagged != all[i+1].tagged {
			out = append(out, all[i])
		}
		i = j
	}
	return out
}

// validTagName reports whether encoding/json accepts name from a json tag.
func validTagName(name string) bool {
	if name == "" {
		return false
	}
	for _, c := range name {
		if !strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c) && !unicode.IsLetter(c) && !unicode.IsDigit(c) {
			return false
		}
	}
	return true
}
