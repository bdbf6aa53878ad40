package framework

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// The versions of the programs that hack/build-test-binaries.sh builds.
// It takes them from test/integration/go.mod (k8s.io/kubernetes and
// go.etcd.io/etcd/server/v3) and test/virtctl/go.mod (kubevirt.io/kubevirt);
// a test checks that these agree.
const (
	// KubernetesVersion is the version of kube-apiserver and kubectl.
	KubernetesVersion = "v1.37.2"
	// EtcdVersion is the version of etcd.
	EtcdVersion = "v3.7.0"
	// VirtctlVersion is the version of KubeVirt's virtctl.
	VirtctlVersion = "v1.9.0"
)

// mainModule is the module path of the repository's root go.mod.
const mainModule = "github.com/vm-apiserver/vm-apiserver"

// The programs FindBinaries knows, by name.
const (
	BinEtcd          = "etcd"
	BinKubeAPIServer = "kube-apiserver"
	BinKubectl       = "kubectl"
	BinVMAPIServer   = "vm-apiserver"
	BinVirtctl       = "virtctl"
)

// Binaries are the paths of the programs the suites run.
type Binaries struct {
	// Etcd, KubeAPIServer, Kubectl and Virtctl are in the cache that
	// hack/build-test-binaries.sh fills: .cache/bin/<version>/, or
	// $VM_APISERVER_TEST_CACHE/<version>/.
	Etcd, KubeAPIServer, Kubectl, Virtctl string
	// VMAPIServer is $VM_APISERVER_BIN, or bin/vm-apiserver.
	VMAPIServer string
}

// FindBinaries says where the programs are. It does not check that they
// are there: Check does.
func FindBinaries() (Binaries, error) {
	root, err := RepoRoot()
	if err != nil {
		return Binaries{}, err
	}
	cache := os.Getenv("VM_APISERVER_TEST_CACHE")
	if cache == "" {
		cache = filepath.Join(root, ".cache", "bin")
	}
	b := Binaries{
		Etcd:          filepath.Join(cache, EtcdVersion, "etcd"),
		KubeAPIServer: filepath.Join(cache, KubernetesVersion, "kube-apiserver"),
		Kubectl:       filepath.Join(cache, KubernetesVersion, "kubectl"),
		Virtctl:       filepath.Join(cache, VirtctlVersion, "virtctl"),
		VMAPIServer:   os.Getenv("VM_APISERVER_BIN"),
	}
	if b.VMAPIServer == "" {
		b.VMAPIServer = filepath.Join(root, "bin", "vm-apiserver")
	}
	return b, nil
}

// Path returns the path of the program named BinEtcd, BinKubeAPIServer,
// BinKubectl, BinVMAPIServer or BinVirtctl.
func (b Binaries) Path(name string) string {
	switch name {
	case BinEtcd:
		return b.Etcd
	case BinKubeAPIServer:
		return b.KubeAPIServer
	case BinKubectl:
		return b.Kubectl
	case BinVMAPIServer:
		return b.VMAPIServer
	case BinVirtctl:
		return b.Virtctl
	}
	return ""
}

// Check returns an error that names each of the programs that is missing
// and says how to build it.
func (b Binaries) Check(names ...string) error {
	var errs []error
	for _, name := range names {
		path := b.Path(name)
		if path == "" {
			errs = append(errs, fmt.Errorf("unknown program %q", name))
			continue
		}
		if _, err := os.Stat(path); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w; %s", name, err, howToBuild(name)))
		}
	}
	return errors.Join(errs...)
}

func howToBuild(name string) string {
	switch name {
	case BinVMAPIServer:
		return "build it with `make build` (or go build -o bin/vm-apiserver ./cmd/vm-apiserver), or set VM_APISERVER_BIN"
	case BinVirtctl:
		return "build it with `hack/build-test-binaries.sh virtctl` (make test-unit does)"
	}
	return fmt.Sprintf("build it with `hack/build-test-binaries.sh %s` (the hack/test-*.sh scripts do)", name)
}

// RequireBinaries finds the programs named, and fails the test, saying how
// to build them, if any is missing.
func RequireBinaries(t testing.TB, names ...string) Binaries {
	t.Helper()
	b, err := FindBinaries()
	if err == nil {
		err = b.Check(names...)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// BinariesOrSkip finds the programs named. If any is missing, it fails the
// test, saying how to build them, when the CI environment variable is
// "true" (CI builds every test binary first, so a missing one is a broken
// build), and skips the test otherwise, so that a plain go test on a
// developer's machine does not demand a long build.
func BinariesOrSkip(t testing.TB, names ...string) Binaries {
	t.Helper()
	b, err := FindBinaries()
	if err == nil {
		err = b.Check(names...)
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and a test binary is missing: %v", err)
		}
		t.Skip(err)
	}
	return b
}

var repoRoot = sync.OnceValues(findRepoRoot)

// RepoRoot is the repository: the nearest directory, from the working
// directory up, whose go.mod is the main module's (test/integration has a
// go.mod of its own).
func RepoRoot() (string, error) { return repoRoot() }

func findRepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if isMainModule(filepath.Join(dir, "go.mod")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod of module %s in the working directory or above", mainModule)
		}
		dir = parent
	}
}

// isMainModule reports whether the go.mod at path declares the main module.
func isMainModule(path string) bool {
	data, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if f := bytes.Fields(sc.Bytes()); len(f) == 2 && string(f[0]) == "module" {
			return string(f[1]) == mainModule
		}
	}
	return false
}
