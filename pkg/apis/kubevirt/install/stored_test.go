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

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
	v1 "github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt/v1"
)

// TestStoredByEarlierRelease decodes the bytes that the release before
// KubeVirt's own types stored in etcd, as the storage codec does, and encodes
// the result as the server would serve it: every field that was stored comes
// back with the same value.
func TestStoredByEarlierRelease(t *testing.T) {
	_, codecs := benchCodecs()
	info, ok := runtime.SerializerInfoForMediaType(codecs.SupportedMediaTypes(), runtime.ContentTypeJSON)
	require.True(t, ok)
	storage := codecs.CodecForVersions(info.Serializer, info.Serializer, v1.SchemeGroupVersion, kubevirt.SchemeGroupVersion)

	files, err := filepath.Glob("testdata/stored-v0.1.0/*.json")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			stored, err := os.ReadFile(file)
			require.NoError(t, err)

			obj, err := runtime.Decode(storage, stored)
			require.NoError(t, err)
			vm, ok := obj.(*kubevirt.VirtualMachine)
			require.True(t, ok, "decoded %T", obj)

			var served bytes.Buffer
			require.NoError(t, storage.Encode(vm, &served))
			assert.JSONEq(t, string(stored), served.String())

			// The strict decoder finds nothing unknown in what was stored.
			strict := codecs.CodecForVersions(info.StrictSerializer, info.StrictSerializer, v1.SchemeGroupVersion, kubevirt.SchemeGroupVersion)
			_, err = runtime.Decode(strict, stored)
			require.NoError(t, err)
		})
	}
}

// TestStoredFixturesAreWhole guards the fixture itself: each file is one
// kubevirt.io/v1 VirtualMachine with a spec.
func TestStoredFixturesAreWhole(t *testing.T) {
	files, err := filepath.Glob("testdata/stored-v0.1.0/*.json")
	require.NoError(t, err)
	for _, file := range files {
		data, err := os.ReadFile(file)
		require.NoError(t, err)
		var doc map[string]any
		require.NoError(t, json.Unmarshal(data, &doc), file)
		assert.Equal(t, "kubevirt.io/v1", doc["apiVersion"], file)
		assert.Equal(t, "VirtualMachine", doc["kind"], file)
		assert.Contains(t, doc, "spec", file)
	}
}
