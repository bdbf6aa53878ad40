package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	utilversion "k8s.io/apimachinery/pkg/util/version"
	"sigs.k8s.io/yaml"

	"github.com/vm-apiserver/vm-apiserver/test/framework"
)

// kubectlRunner runs the real kubectl against a server.
type kubectlRunner struct {
	path, kubeconfig string
}

func newKubectl(t *testing.T, s *framework.Server) kubectlRunner {
	return kubectlRunner{path: kubectlPath(t), kubeconfig: s.Kubeconfig}
}

func (k kubectlRunner) run(stdin string, args ...string) (string, error) {
	cmd := exec.Command(k.path, append([]string{"--kubeconfig", k.kubeconfig}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// TestKubectlApplyOfAKubeVirtManifest applies a manifest written for
// KubeVirt, with instancetype, preference, DataVolume templates, GPU, host
// device, TPM, probes, affinity and tolerations, with kubectl's strict
// default, and reads it back field for field.
func TestKubectlApplyOfAKubeVirtManifest(t *testing.T) {
	s := framework.StartServer(t)
	k := newKubectl(t, s)
	const manifest = "../../artifacts/examples/vm-fedora-gpu.yaml"

	for _, mode := range []string{"--server-side", "--server-side=false"} {
		out, err := k.run("", "apply", mode, "-f", manifest)
		require.NoError(t, err, out)

		raw, err := os.ReadFile(manifest)
		require.NoError(t, err)
		var want map[string]any
		require.NoError(t, yaml.Unmarshal(raw, &want))

		out, err = k.run("", "get", "vm", "fedora-gpu", "-o", "json")
		require.NoError(t, err, out)
		var got map[string]any
		require.NoError(t, json.Unmarshal([]byte(out), &got))
		assertSameJSON(t, want["spec"], got["spec"], "spec")
		require.NoError(t, func() error { _, err := k.run("", "delete", "vm", "fedora-gpu"); return err }())
	}
}

// TestKubectlApplyRefusesAMisspelledField: a misspelled field anywhere in a
// VM, here deep inside spec.template.spec where KubeVirt's own decoders would
// not notice, is refused by kubectl apply with the field's path.
func TestKubectlApplyRefusesAMisspelledField(t *testing.T) {
	s := framework.StartServer(t)
	k := newKubectl(t, s)
	raw, err := os.ReadFile("../../artifacts/examples/vm-fedora-gpu.yaml")
	require.NoError(t, err)
	typo := strings.Replace(string(raw), "          - name: gpu1\n", "          - name: gpu1\n            virtualGPUOptionz: {}\n", 1)
	require.NotEqual(t, string(raw), typo)

	out, err := k.run(typo, "apply", "-f", "-")
	require.Error(t, err, out)
	assert.Contains(t, out, `unknown field "spec.template.spec.domain.devices.gpus[0].virtualGPUOptionz"`)

	out, err = k.run(typo, "apply", "--server-side", "-f", "-")
	require.Error(t, err, out)
	assert.Contains(t, out, "virtualGPUOptionz")

	// An update by client-side apply is a strategic merge patch; it is refused too.
	out, err = k.run(string(raw), "apply", "-f", "-")
	require.NoError(t, err, out)
	out, err = k.run(typo, "apply", "-f", "-")
	require.Error(t, err, out)
	assert.Contains(t, out, `unknown field "spec.template.spec.domain.devices.gpus[0].virtualGPUOptionz"`)
}

// TestKubectlExplainDeepFields: the OpenAPI that kubectl explain reads comes
// from kubevirt.io/api's own markers, for every field.
func TestKubectlExplainDeepFields(t *testing.T) {
	s := framework.StartServer(t)
	k := newKubectl(t, s)
	for field, want := range map[string]string{
		"virtualmachine.spec.template.spec.domain.devices.gpus":   "deviceName",
		"virtualmachine.spec.dataVolumeTemplates":                 "DataVolumeTemplateSpec",
		"virtualmachine.spec.instancetype":                        "inferFromVolume",
		"virtualmachine.status.printableStatus":                   "printableStatus",
		"virtualmachine.spec.template.spec.affinity.nodeAffinity": "requiredDuringSchedulingIgnoredDuringExecution",
	} {
		out, err := k.run("", "explain", field)
		require.NoError(t, err, out)
		assert.Contains(t, out, want, field)
	}
}

// assertSameJSON checks that got holds every field of want with the same
// value, and nothing else but empty objects: KubeVirt's Go types always
// write a few struct fields, such as domain.resources, even when empty, as
// KubeVirt itself does.
func assertSameJSON(t *testing.T, want, got any, path string) {
	t.Helper()
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !assert.True(t, ok, "%s: want an object, got %v", path, got) {
			return
		}
		for k, wv := range w {
			gv, ok := g[k]
			if assert.True(t, ok, "%s.%s is missing", path, k) {
				assertSameJSON(t, wv, gv, path+"."+k)
			}
		}
		for k, gv := range g {
			if _, ok := w[k]; !ok {
				assert.Equal(t, map[string]any{}, gv, "%s.%s was not sent; only an empty object may appear", path, k)
			}
		}
	case []any:
		g, ok := got.([]any)
		if !assert.True(t, ok, "%s: want a list, got %v", path, got) || !assert.Len(t, g, len(w), path) {
			return
		}
		for i := range w {
			assertSameJSON(t, w[i], g[i], fmt.Sprintf("%s[%d]", path, i))
		}
	default:
		assert.Equal(t, want, got, path)
	}
}

// TestKubectlVersionSeesTheKubernetesAPILevel: kubectl reads /version as
// the Kubernetes release whose API the server serves; a kubectl of that
// release sees no version skew, and the server's own release is in the
// build metadata.
func TestKubectlVersionSeesTheKubernetesAPILevel(t *testing.T) {
	s := framework.StartServer(t)
	k := newKubectl(t, s)
	out, err := k.run("", "version", "-o", "json")
	require.NoError(t, err, out)
	assert.NotContains(t, out, "WARNING", "no version skew for kubectl of the same Kubernetes release")
	var versions struct {
		Server struct {
			Major, Minor, GitVersion string
		} `json:"serverVersion"`
	}
	require.NoError(t, json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &versions), out)
	// The libraries and the test binaries are pinned to the same release.
	// A test binary carries no module versions, so the server names the
	// minor release only (a built binary names k8s.io/apiserver's patch too).
	kube := utilversion.MustParseSemantic(framework.KubernetesVersion)
	assert.Equal(t, "1", versions.Server.Major)
	assert.Equal(t, fmt.Sprint(kube.Minor()), versions.Server.Minor)
	prefix := fmt.Sprintf("v%d.%d.", kube.Major(), kube.Minor())
	assert.True(t, strings.HasPrefix(versions.Server.GitVersion, prefix), versions.Server.GitVersion)
	assert.Contains(t, versions.Server.GitVersion, "+vm-apiserver.")
}
