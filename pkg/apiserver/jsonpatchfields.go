package apiserver

import (
	"encoding/json"

	"github.com/vm-apiserver/vm-apiserver/pkg/fieldcheck"
)

// jsonPatchOp is one operation of a JSON patch, with its value kept as sent.
type jsonPatchOp struct {
	Op    string          `json:"op"`
	Path  string          `json:"path"`
	From  string          `json:"from,omitempty"`
	Value json.RawMessage `json:"value,omitempty"`
}

// checkJSONPatch checks the value of every add, replace and test operation
// as the part of a VirtualMachine at the operation's path. Paths that lead
// nowhere in the type are left to the patch handler, which reports them.
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
		clean, found, ok, err := vmFields.CheckAt(op.Path, op.Value, fieldcheck.Object)
		if err != nil || !ok || len(found) == 0 {
			continue
		}
		problems = append(problems, found...)
		op.Value = clean
		changed = true
	}
	if !changed {
		return body, problems, nil
	}
	clean, err := json.Marshal(ops)
	return clean, problems, err
}
