package fuzzer

import (
	"reflect"
	"strings"
)

// normalize brings a generated object into the form JSON decoding gives it
// back in, so that a round trip compares equal even field by field: an empty
// list or map behind omitempty is dropped and decodes as nil, and an inline
// embedded pointer whose fields are all empty is not written at all, so it
// decodes as nil too.
func normalize(obj interface{}) {
	normalizeValue(reflect.ValueOf(obj), 0)
}

// maxNormalizeDepth bounds the walk; the API types are far shallower.
const maxNormalizeDepth = 64

func normalizeValue(v reflect.Value, depth int) {
	if depth > maxNormalizeDepth {
		return
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			normalizeValue(v.Elem(), depth+1)
		}
	case reflect.Slice:
		for i := range v.Len() {
			normalizeValue(v.Index(i), depth+1)
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			sf := t.Field(i)
			fv := v.Field(i)
			if !sf.IsExported() || !fv.CanSet() {
				continue
			}
			normalizeValue(fv, depth+1)
			tag := sf.Tag.Get("json")
			omitEmpty := strings.Contains(tag, ",omitempty")
			switch {
			case (fv.Kind() == reflect.Slice || fv.Kind() == reflect.Map) && omitEmpty && !fv.IsNil() && fv.Len() == 0:
				fv.Set(reflect.Zero(sf.Type))
			case sf.Anonymous && fv.Kind() == reflect.Pointer && !fv.IsNil() && strings.Contains(tag, ",inline") &&
				fv.Elem().IsZero():
				fv.Set(reflect.Zero(sf.Type))
			}
		}
	}
}
