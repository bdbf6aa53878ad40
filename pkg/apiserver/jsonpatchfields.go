package apiserver

import (
	"encoding/json"
	"strconv"
	"strings"

	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
)

// jsonPatchOp is one operation of a JSON patch, with its value kept as sent.
type jsonPatchOp struct {
	Op    string          `json:"op"`
	Path  string          `json:"path"`
	From  string          `json:"from,omitempty"`
	Value json.RawMessage `json:"value,omitempty"`
}

// checkJSONPatch prunes the value of every add and replace operation as the
// part of a VirtualMachine at the operation's path. A test operation writes
// nothing: its value is compared with the stored object as it was sent
// (RFC 6902), so an unknown field in it makes the test fail, as it must.
// Paths that lead nowhere in the schema are left to the patch handler,
// which reports them.
func checkJSONPatch(body []byte) ([]byte, []error, error) {
	var ops []jsonPatchOp
	if err := json.Unmarshal(body, &ops); err != nil {
		return nil, nil, err
	}
	root, err := vmSchema()
	if err != nil {
		return nil, nil, err
	}
	var problems []error
	for i := range ops {
		op := &ops[i]
		if len(op.Value) == 0 || (op.Op != "add" && op.Op != "replace") {
			continue
		}
		s, path, ok := schemaAt(root, op.Path)
		if !ok {
			continue
		}
		value, found, err := pruneVM(op.Value, s, path, false)
		if err != nil || len(found) == 0 {
			continue
		}
		if op.Value, err = json.Marshal(value); err != nil {
			return nil, nil, err
		}
		problems = append(problems, found...)
	}
	if len(problems) == 0 {
		return body, nil, nil
	}
	clean, err := json.Marshal(ops)
	return clean, problems, err
}

// schemaAt follows a JSON pointer (RFC 6901) from the schema s and returns
// the schema there, with the pointer as pruning writes paths: keys joined
// by dots, indexes in brackets ("-", a list's end, as [-]). ok is false
// where nothing can be checked: the pointer leads to no field of the
// schema, or into a value of any fields.
func schemaAt(s *structuralschema.Structural, pointer string) (_ *structuralschema.Structural, path []string, ok bool) {
	if pointer == "" {
		return s, nil, true
	}
	rest, ok := strings.CutPrefix(pointer, "/")
	if !ok {
		return nil, nil, false
	}
	at := structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true}
	for _, token := range strings.Split(rest, "/") {
		token = strings.ReplaceAll(strings.ReplaceAll(token, "~1", "/"), "~0", "~")
		if s == nil {
			return nil, nil, false
		}
		if s.Items != nil {
			if _, err := strconv.Atoi(token); err != nil && token != "-" {
				return nil, nil, false
			}
			at.ParentPath = append(at.ParentPath, "[", token, "]")
			s = s.Items
			continue
		}
		if p, found := s.Properties[token]; found {
			s = &p
		} else if s.AdditionalProperties != nil {
			s = s.AdditionalProperties.Structural
		} else {
			return nil, nil, false
		}
		at.AppendKey(token)
	}
	return s, at.ParentPath, s != nil
}
