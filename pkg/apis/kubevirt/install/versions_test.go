package install

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	virtv1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
	v1 "github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt/v1"
)

func TestServedVersions(t *testing.T) {
	scheme, _ := benchCodecs()
	assert.Equal(t, []schema.GroupVersion{v1.SchemeGroupVersion, v1.V1alpha3GroupVersion}, scheme.PrioritizedVersionsForGroup(kubevirt.GroupName),
		"v1 is preferred over v1alpha3")
	for _, gv := range v1.Versions {
		vm, err := scheme.New(gv.WithKind("VirtualMachine"))
		require.NoError(t, err)
		assert.IsType(t, &virtv1.VirtualMachine{}, vm, gv.String())
		list, err := scheme.New(gv.WithKind("VirtualMachineList"))
		require.NoError(t, err)
		assert.IsType(t, &virtv1.VirtualMachineList{}, list, gv.String())
	}
	kinds, _, err := scheme.ObjectKinds(&virtv1.VirtualMachine{})
	require.NoError(t, err)
	assert.ElementsMatch(t, []schema.GroupVersionKind{
		v1.SchemeGroupVersion.WithKind("VirtualMachine"),
		v1.V1alpha3GroupVersion.WithKind("VirtualMachine"),
	}, kinds, "both versions are kubevirt.io/api's Go type")
}

func TestDeprecationWarning(t *testing.T) {
	tests := []struct {
		version    string
		deprecated bool
		warning    string
	}{
		{"v1alpha3", true, "kubevirt.io/v1alpha3 is now deprecated and will be removed in a future release."},
		{"v1", false, ""},
		{"v2", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.version, func(t *testing.T) {
			warning, deprecated := v1.DeprecationWarning(tt.version)
			assert.Equal(t, tt.deprecated, deprecated)
			assert.Equal(t, tt.warning, warning)
		})
	}
}

// TestVersionsConvert decodes the seed VM in each version, as a request body
// is decoded, stores it as the storage codec does and serves it back in each
// version: the stored form is always kubevirt.io/v1, and only the apiVersion
// differs between what the two versions serve.
func TestVersionsConvert(t *testing.T) {
	_, codecs := benchCodecs()
	info, ok := runtime.SerializerInfoForMediaType(codecs.SupportedMediaTypes(), runtime.ContentTypeJSON)
	require.True(t, ok)
	storage := codecs.CodecForVersions(info.Serializer, info.Serializer, v1.SchemeGroupVersion, kubevirt.SchemeGroupVersion)
	seed, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "artifacts", "examples", "vm-cirros.yaml"))
	require.NoError(t, err)
	yamlInfo, ok := runtime.SerializerInfoForMediaType(codecs.SupportedMediaTypes(), runtime.ContentTypeYAML)
	require.True(t, ok)

	for _, from := range v1.Versions {
		t.Run("from "+from.Version, func(t *testing.T) {
			body := bytes.Replace(seed, []byte("apiVersion: kubevirt.io/v1\n"), []byte("apiVersion: "+from.String()+"\n"), 1)
			decoder := codecs.DecoderToVersion(yamlInfo.StrictSerializer, kubevirt.SchemeGroupVersion)
			obj, gvk, err := decoder.Decode(body, nil, nil)
			require.NoError(t, err)
			assert.Equal(t, from.WithKind("VirtualMachine"), *gvk)
			vm, ok := obj.(*kubevirt.VirtualMachine)
			require.True(t, ok, "decoded %T", obj)
			require.NotNil(t, vm.Spec.RunStrategy)
			assert.Equal(t, virtv1.RunStrategyAlways, *vm.Spec.RunStrategy)

			var stored bytes.Buffer
			require.NoError(t, storage.Encode(vm, &stored))
			var storedMeta struct {
				APIVersion string `json:"apiVersion"`
			}
			require.NoError(t, json.Unmarshal(stored.Bytes(), &storedMeta))
			assert.Equal(t, "kubevirt.io/v1", storedMeta.APIVersion, "stored as v1 whatever the request's version")

			served := map[string]map[string]any{}
			for _, to := range v1.Versions {
				var out bytes.Buffer
				require.NoError(t, codecs.EncoderForVersion(info.Serializer, to).Encode(vm, &out))
				doc := map[string]any{}
				require.NoError(t, json.Unmarshal(out.Bytes(), &doc))
				assert.Equal(t, to.String(), doc["apiVersion"])
				assert.Equal(t, "VirtualMachine", doc["kind"])
				delete(doc, "apiVersion")
				served[to.Version] = doc
			}
			assert.Equal(t, served["v1"], served["v1alpha3"], "the versions differ only in apiVersion")
		})
	}
}

func TestFieldLabelsInEveryVersion(t *testing.T) {
	scheme, _ := benchCodecs()
	tests := []struct {
		label string
		ok    bool
	}{
		{"metadata.name", true},
		{"metadata.namespace", true},
		{"spec.runStrategy", true},
		{"status.printableStatus", true},
		{"spec.running", false},
	}
	for _, gv := range v1.Versions {
		for _, tt := range tests {
			t.Run(gv.Version+"/"+tt.label, func(t *testing.T) {
				label, value, err := scheme.ConvertFieldLabel(gv.WithKind("VirtualMachine"), tt.label, "x")
				if !tt.ok {
					require.Error(t, err)
					assert.Contains(t, err.Error(), "is not supported for VirtualMachine")
					return
				}
				require.NoError(t, err)
				assert.Equal(t, tt.label, label)
				assert.Equal(t, "x", value)
			})
		}
	}
}
