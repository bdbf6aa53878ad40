package fieldcheck

import (
	"errors"
	"strconv"
	"strings"
)

// CheckAt checks data as the value found at the JSON pointer (RFC 6901) in a
// document of the checker's root type, as a JSON patch's add, replace or test
// operation puts it there. The problems' paths are those of the whole
// document. ok is false when the pointer leads nowhere in the type (an
// unknown field, or an index into something that is not a list); then
// nothing is checked and the caller's patch machinery reports the path.
// "-", a list's end, counts as an index and is shown as [-].
func (c *Checker) CheckAt(pointer string, data []byte, mode Mode) (clean []byte, problems []error, ok bool, err error) {
	n, prefix, ok := c.root.at(pointer)
	if !ok {
		return data, nil, false, nil
	}
	clean, problems, err = c.check(n, data, mode)
	if prefix != "" {
		for _, p := range problems {
			var fe *FieldError
			if errors.As(p, &fe) {
				fe.Path = joinPath(prefix, fe.Path)
			}
		}
	}
	return clean, problems, true, err
}

// at follows pointer from n, returning the node found there and the
// pointer in the strict decoder's path notation.
func (n *node) at(pointer string) (*node, string, bool) {
	if pointer == "" {
		return n, "", true
	}
	if !strings.HasPrefix(pointer, "/") {
		return nil, "", false
	}
	var path strings.Builder
	for _, token := range strings.Split(pointer[1:], "/") {
		token = strings.ReplaceAll(strings.ReplaceAll(token, "~1", "/"), "~0", "~")
		if n == nil {
			// Inside a leaf, such as a quantity or a raw extension: nothing to check.
			return nil, path.String(), true
		}
		switch n.kind {
		case structNode:
			k, found := n.fields.lookup([]byte(token))
			if !found {
				return nil, "", false
			}
			n = n.kids[k]
			path.WriteString(dot(path.Len()) + token)
		case mapNode:
			n = n.elem
			path.WriteString(dot(path.Len()) + token)
		case dynamicNode:
			// Any key or index; the value is dynamic again.
			path.WriteString(dot(path.Len()) + token)
		case listNode:
			if _, err := strconv.Atoi(token); err != nil && token != "-" {
				return nil, "", false
			}
			n = n.elem
			path.WriteString("[" + token + "]")
		}
	}
	return n, path.String(), true
}

func dot(written int) string {
	if written == 0 {
		return ""
	}
	return "."
}

// joinPath appends a path found inside a value to the path of the value.
func joinPath(prefix, inner string) string {
	if strings.HasPrefix(inner, "[") {
		return prefix + inner
	}
	return prefix + "." + inner
}
