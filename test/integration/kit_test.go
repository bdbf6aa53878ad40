package integration

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/vm-apiserver/vm-apiserver/test/framework"
)

// renderKit copies artifacts/ to dst, creates its certificates with
// writeKitCerts, and renders it with kubectl kustomize: what
// `hack/gen-certs.sh && kubectl apply -k artifacts/` deploys. It returns the
// objects and the kit's CA.
func renderKit(root, kubectl, dst string) ([]*unstructured.Unstructured, *framework.CA, error) {
	certs, err := copyKit(root, dst)
	if err != nil {
		return nil, nil, err
	}
	ca, err := writeKitCerts(certs)
	if err != nil {
		return nil, nil, err
	}
	objs, err := kustomize(kubectl, dst)
	return objs, ca, err
}

// copyKit copies artifacts/ to dst and returns the directory its
// certificates go to, empty: certificates that a developer generated in
// the working tree stay out.
func copyKit(root, dst string) (string, error) {
	if err := copyDir(filepath.Join(root, "artifacts"), dst); err != nil {
		return "", err
	}
	certs := filepath.Join(dst, "certs")
	if err := os.RemoveAll(certs); err != nil {
		return "", err
	}
	return certs, os.MkdirAll(certs, 0o700)
}

// kitServiceNames are the names the kit's serving certificate is for, as
// hack/gen-certs.sh issues it: the aggregator dials <service>.<namespace>.svc.
var kitServiceNames = []string{
	kitService,
	kitService + "." + kitNamespace,
	kitService + "." + kitNamespace + ".svc",
	kitService + "." + kitNamespace + ".svc.cluster.local",
}

// writeKitCerts writes into dir the files hack/gen-certs.sh writes there: a
// CA (ca.crt, ca.key), kept if dir has one already, so that a renewal keeps
// the caBundle; a new serving certificate for the kit's Service (tls.crt,
// tls.key); and the JSON patch that puts the CA into every APIService's
// caBundle (cabundle-patch.yaml).
func writeKitCerts(dir string) (*framework.CA, error) {
	ca, err := framework.LoadCA(filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key"))
	if errors.Is(err, fs.ErrNotExist) {
		ca = framework.NewCA(kitService + "-ca")
		_, _, err = ca.Write(dir, "ca")
	}
	if err != nil {
		return nil, err
	}
	if _, _, err := ca.ServingCert(kitService+"."+kitNamespace+".svc", kitServiceNames...).Write(dir, "tls"); err != nil {
		return nil, err
	}
	patch := fmt.Sprintf("# The CA that signed %s.%s.svc, written by the integration suite.\n- op: add\n  path: /spec/caBundle\n  value: %s\n",
		kitService, kitNamespace, base64.StdEncoding.EncodeToString(ca.CertPEM))
	return ca, os.WriteFile(filepath.Join(dir, "cabundle-patch.yaml"), []byte(patch), 0o644)
}

// kustomize renders a kustomization directory into objects.
func kustomize(kubectl, dir string) ([]*unstructured.Unstructured, error) {
	out, err := framework.RunCommand(dir, kubectl, "kustomize", dir)
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
