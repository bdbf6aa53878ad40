package integration

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// renderKit copies artifacts/ to dst, creates its certificates with
// hack/gen-certs.sh, and renders it with kubectl kustomize: exactly what
// `hack/gen-certs.sh && kubectl apply -k artifacts/` deploys.
func renderKit(root, kubectl, dst string) ([]*unstructured.Unstructured, error) {
	if err := copyDir(filepath.Join(root, "artifacts"), dst); err != nil {
		return nil, err
	}
	// Certificates that a developer generated in the working tree stay out;
	// the suite makes its own.
	certs := filepath.Join(dst, "certs")
	if err := os.RemoveAll(certs); err != nil {
		return nil, err
	}
	if _, err := runCmd(root, "bash", filepath.Join(root, "hack", "gen-certs.sh"), "-o", certs); err != nil {
		return nil, err
	}
	return kustomize(kubectl, dst)
}

// kustomize renders a kustomization directory into objects.
func kustomize(kubectl, dir string) ([]*unstructured.Unstructured, error) {
	out, err := runCmd(dir, kubectl, "kustomize", dir)
	if err != nil {
		return nil, err
	}
	return decodeManifest([]byte(out))
}

// decodeManifest splits a multi-document YAML stream into objects.
func decodeManifest(data []byte) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var objs []*unstructured.Unstructured
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return objs, nil
			}
			return nil, err
		}
		if len(u.Object) > 0 {
			objs = append(objs, u)
		}
	}
}

// routeToLoopback is the only change the suite makes to the kit. Without
// nodes or pods, the aggregator reaches vm-apiserver through an ExternalName
// Service to localhost, on the APIService's port (Endpoints cannot hold
// loopback addresses).
func routeToLoopback(o *unstructured.Unstructured, port int) {
	switch {
	case o.GetKind() == "Service" && o.GetName() == kitService && o.GetNamespace() == kitNamespace:
		unstructured.RemoveNestedField(o.Object, "spec", "selector")
		_ = unstructured.SetNestedField(o.Object, "ExternalName", "spec", "type")
		_ = unstructured.SetNestedField(o.Object, "localhost", "spec", "externalName")
	case o.GetKind() == "APIService":
		_ = unstructured.SetNestedField(o.Object, int64(port), "spec", "service", "port")
	}
}

// writeManifest writes objects as one YAML stream.
func writeManifest(path string, objs []*unstructured.Unstructured) error {
	var buf bytes.Buffer
	for _, o := range objs {
		data, err := yaml.Marshal(o.Object)
		if err != nil {
			return err
		}
		buf.WriteString("---\n")
		buf.Write(data)
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// copyDir copies a directory tree of regular files.
func copyDir(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
}

// findObject returns the first object of that kind and name.
func findObject(objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	return nil
}

// objectsOfKind returns the objects of one kind.
func objectsOfKind(objs []*unstructured.Unstructured, kind string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == kind {
			out = append(out, o)
		}
	}
	return out
}

// hasArg reports whether a container's args include one with that prefix.
func hasArg(args []string, prefix string) bool {
	for _, a := range args {
		if strings.HasPrefix(a, prefix) {
			return true
		}
	}
	return false
}
