package fieldcheck

import "bytes"

// Directive keys of strategic merge patch.
const (
	patchDirective      = "$patch"                    // replace, merge or delete the enclosing object or list
	retainKeysDirective = "$retainKeys"               // list of the field names to keep
	setOrderPrefix      = "$setElementOrder/"         // followed by a list field's name
	deletePrimPrefix    = "$deleteFromPrimitiveList/" // followed by a primitive list field's name
)

// directive reports whether key is a strategic merge patch directive that
// struct n allows, and returns the plan for its value.
//
// $patch and $retainKeys hold a string and a list of field names. The
// parallel lists $setElementOrder/<f> and $deleteFromPrimitiveList/<f> need
// a field f of n: the former lists f's elements (primitives, or objects with
// just the merge key) and is walked like f when f is a list, so those
// objects' keys are checked too; the latter lists primitives to delete.
func (n *node) directive(key []byte) (*node, bool) {
	switch string(key) {
	case patchDirective, retainKeysDirective:
		return nil, true
	}
	if f, ok := bytes.CutPrefix(key, []byte(setOrderPrefix)); ok {
		idx, ok := n.fields.lookup(f)
		if !ok {
			return nil, false
		}
		if kid := n.kids[idx]; kid != nil && kid.kind == listNode {
			return kid, true
		}
		return nil, true
	}
	if f, ok := bytes.CutPrefix(key, []byte(deletePrimPrefix)); ok {
		_, ok := n.fields.lookup(f)
		return nil, ok
	}
	return nil, false
}
