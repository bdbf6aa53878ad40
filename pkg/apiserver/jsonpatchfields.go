package apiserver

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"

	kubevirtv1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/pkg/fieldcheck"
)

// jsonPatchOp is one operation of a JSON patch, with its value kept as sent.
type jsonPatchOp struct {
	Op    string          `json:"op"`
	Path  string          `json:"path"`
	From  string          `json:"from,omitempty"`
	Value json.RawMessage `json:"value,omitempty"`
}

// valueCheckers caches a checker per Go type that a JSON patch value lands on.
var valueCheckers sync.Map

// checkJSONPatch checks the value of every add, replace and test operation
// along the type of the VirtualMachine at the operation's path. Paths that
// lead nowhere in the type are left to the patch handler, which reports them.
func checkJSONPatch(body []byte) ([]byte, []error, error) {
	var ops []jsonPatchOp
	if err := json.Unmarshal(body, &ops); err != nil {
		return nil, nil, err
	}
	var problems []error
	changed := false
	for i := range ops {
		op := &ops[i]
		if len(op.Value) == 0 || (op.Op != "add" && op.Op != "replace" && op.Op != "test") {
			continue
		}
		t, prefix, ok := typeAtPointer(reflect.TypeFor[kubevirtv1.VirtualMachine](), op.Path)
		if !ok {
			continue
		}
		clean, found, err := checkerFor(t).Check(op.Value, fieldcheck.Object)
		if err != nil {
			continue
		}
		for _, p := range found {
			if fe, ok := p.(*fieldcheck.FieldError); ok {
				fe.SetFieldPath(joinFieldPath(prefix, fe.Path))
			}
			problems = append(problems, p)
		}
		if len(found) > 0 {
			op.Value = clean
			changed = true
		}
	}
	if !changed {
		return body, problems, nil
	}
	clean, err := json.Marshal(ops)
	return clean, problems, err
}

func checkerFor(t reflect.Type) *fieldcheck.Checker {
	if c, ok := valueCheckers.Load(t); ok {
		return c.(*fieldcheck.Checker)
	}
	c, _ := valueCheckers.LoadOrStore(t, fieldcheck.NewChecker(t, transparentKubeVirtTypes...))
	return c.(*fieldcheck.Checker)
}

// typeAtPointer follows a JSON pointer through t by JSON field names, slice
// indexes and map keys, and returns the type found there and the pointer in
// the strict decoder's path notation.
func typeAtPointer(t reflect.Type, pointer string) (reflect.Type, string, bool) {
	if pointer == "" {
		return t, "", true
	}
	if !strings.HasPrefix(pointer, "/") {
		return nil, "", false
	}
	var path strings.Builder
	for _, token := range strings.Split(pointer[1:], "/") {
		token = strings.ReplaceAll(strings.ReplaceAll(token, "~1", "/"), "~0", "~")
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		switch t.Kind() {
		case reflect.Struct:
			field, ok := jsonField(t, token)
			if !ok {
				return nil, "", false
			}
			t = field
			if path.Len() > 0 {
				path.WriteByte('.')
			}
			path.WriteString(token)
		case reflect.Slice, reflect.Array:
			t = t.Elem()
			if token == "-" {
				// An append: the index is the list's length, unknown here.
				path.WriteString("[-]")
				continue
			}
			if _, err := strconv.Atoi(token); err != nil {
				return nil, "", false
			}
			fmt.Fprintf(&path, "[%s]", token)
		case reflect.Map:
			t = t.Elem()
			if path.Len() > 0 {
				path.WriteByte('.')
			}
			path.WriteString(token)
		default:
			return nil, "", false
		}
	}
	return t, path.String(), true
}

// jsonField returns the type of the field of struct t whose JSON name is
// name, looking into inlined embedded structs as encoding/json does.
func jsonField(t reflect.Type, name string) (reflect.Type, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if tag == "-" {
			continue
		}
		if f.Anonymous && tag == "" {
			inner := f.Type
			if inner.Kind() == reflect.Pointer {
				inner = inner.Elem()
			}
			if inner.Kind() == reflect.Struct {
				if ft, ok := jsonField(inner, name); ok {
					return ft, true
				}
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		if tag == "" {
			tag = f.Name
		}
		if tag == name {
			return f.Type, true
		}
	}
	return nil, false
}

// joinFieldPath appends a path found inside a value to the path of the value.
func joinFieldPath(prefix, inner string) string {
	switch {
	case prefix == "":
		return inner
	case strings.HasPrefix(inner, "["):
		return prefix + inner
	default:
		return prefix + "." + inner
	}
}
