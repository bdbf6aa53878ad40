package install

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/runtime/serializer/cbor"
	"k8s.io/apimachinery/pkg/types"
	v1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/pkg/api/storagecodec"
	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
)

// benchSeedPath is the repository's seed VM, the size every benchmark uses,
// relative to the repository's root.
const benchSeedPath = "artifacts/examples/vm-cirros.yaml"

// repoFile is the path of a file of the repository, given relative to its
// root: the nearest directory above the package's (where go test runs it)
// that holds a go.mod. It does not depend on how deep the package lies.
func repoFile(tb testing.TB, rel string) string {
	tb.Helper()
	dir, err := os.Getwd()
	require.NoError(tb, err)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, rel)
		}
		parent := filepath.Dir(dir)
		require.NotEqual(tb, dir, parent, "no go.mod above the package's directory")
		dir = parent
	}
}

// benchCodecs are the scheme and codecs of the benchmarks: kubevirt.io only.
func benchCodecs() (*runtime.Scheme, serializer.CodecFactory) {
	scheme := runtime.NewScheme()
	Install(scheme)
	return scheme, serializer.NewCodecFactory(scheme)
}

// benchStoredVM is the seed VM as the server stores it: decoded to the
// internal type, with server-set metadata and the managedFields entry of
// the client that created it.
func benchStoredVM(b *testing.B, codecs serializer.CodecFactory) *kubevirt.VirtualMachine {
	b.Helper()
	data, err := os.ReadFile(repoFile(b, benchSeedPath))
	require.NoError(b, err)
	obj, _, err := codecs.UniversalDecoder(kubevirt.SchemeGroupVersion).Decode(data, nil, nil)
	require.NoError(b, err)
	vm := obj.(*kubevirt.VirtualMachine)
	vm.Namespace = "bench"
	vm.UID = types.UID("6f1c3b1e-8d1a-4c4e-9a59-2a4f0e6c7d10")
	vm.ResourceVersion = "123456"
	vm.Generation = 7
	vm.CreationTimestamp = metav1.NewTime(time.Unix(1700000000, 0))
	vm.ManagedFields = []metav1.ManagedFieldsEntry{{
		Manager: "vm-bench", Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: "kubevirt.io/v1",
		Time: &vm.CreationTimestamp, FieldsType: "FieldsV1",
		FieldsV1: metav1.NewFieldsV1(`{"f:metadata":{"f:labels":{".":{},"f:kubevirt.io/vm":{}}},"f:spec":{".":{},"f:runStrategy":{},"f:template":{".":{},"f:metadata":{".":{},"f:labels":{".":{},"f:kubevirt.io/vm":{}}},"f:spec":{".":{},"f:domain":{".":{},"f:devices":{".":{},"f:disks":{}}},"f:terminationGracePeriodSeconds":{},"f:volumes":{}}}}}`),
	}}
	return vm
}

// benchStorageCodecs are the ways a VM can be stored: JSON as the server
// does today (the legacy codec for kubevirt.io/v1), and CBOR, which
// k8s.io/apiserver offers behind the CBORServingAndStorage feature gate.
func benchStorageCodecs(scheme *runtime.Scheme, codecs serializer.CodecFactory) map[string]runtime.Codec {
	c := cbor.NewSerializer(scheme, scheme)
	return map[string]runtime.Codec{
		"json": codecs.LegacyCodec(v1.SchemeGroupVersion),
		"cbor": codecs.CodecForVersions(c, c, v1.SchemeGroupVersion, runtime.InternalGroupVersioner),
	}
}

var (
	benchSinkBytes []byte
	benchSinkObj   runtime.Object
)

// BenchmarkVMEncode measures the encoding of a stored VM from the internal
// type: conversion to kubevirt.io/v1 plus serialization. The server pays
// it once per write (storage) and once per answer (JSON to the client).
func BenchmarkVMEncode(b *testing.B) {
	scheme, codecs := benchCodecs()
	vm := benchStoredVM(b, codecs)
	for _, name := range []string{"json", "cbor"} {
		codec := benchStorageCodecs(scheme, codecs)[name]
		b.Run(name, func(b *testing.B) {
			data, err := runtime.Encode(codec, vm)
			require.NoError(b, err)
			b.ReportAllocs()
			for b.Loop() {
				benchSinkBytes, _ = runtime.Encode(codec, vm)
			}
			b.ReportMetric(float64(len(data)), "bytes/obj")
		})
	}
}

// BenchmarkVMDecode measures the decoding of a stored VM to the internal
// type: deserialization, defaulting and conversion. The server pays it for
// every object it reads from etcd, including every watch event.
func BenchmarkVMDecode(b *testing.B) {
	scheme, codecs := benchCodecs()
	vm := benchStoredVM(b, codecs)
	for _, name := range []string{"json", "cbor"} {
		codec := benchStorageCodecs(scheme, codecs)[name]
		b.Run(name, func(b *testing.B) {
			data, err := runtime.Encode(codec, vm)
			require.NoError(b, err)
			got, err := runtime.Decode(codec, data)
			require.NoError(b, err)
			require.Equal(b, vm.Spec, got.(*kubevirt.VirtualMachine).Spec)
			b.ReportAllocs()
			for b.Loop() {
				benchSinkObj, _ = runtime.Decode(codec, data)
			}
		})
	}
}

// BenchmarkVMDeepCopy measures one deep copy of a stored VM: the store
// copies the cached object before each update, and Decide copies it again.
func BenchmarkVMDeepCopy(b *testing.B) {
	_, codecs := benchCodecs()
	vm := benchStoredVM(b, codecs)
	b.ReportAllocs()
	for b.Loop() {
		benchSinkObj = vm.DeepCopyObject()
	}
}

// BenchmarkWriteDecodes measures what the storage codec costs for one
// write of a stored VM: the encode, then the store's decode of the bytes it
// wrote (into the VM it returns) and the watcher's (for the watch cache).
// "json" decodes twice; "decode-once" is the server's storage codec
// (pkg/api/storagecodec), which answers the second decode with a deep copy.
func BenchmarkWriteDecodes(b *testing.B) {
	scheme, codecs := benchCodecs()
	vm := benchStoredVM(b, codecs)
	json := benchStorageCodecs(scheme, codecs)["json"]
	for name, codec := range map[string]runtime.Codec{"json": json, "decode-once": storagecodec.New(json, storagecodec.DefaultSize)} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			generation := int64(0)
			for b.Loop() {
				// Each write stores other bytes.
				generation++
				vm.Generation = generation
				data, err := runtime.Encode(codec, vm)
				if err != nil {
					b.Fatal(err)
				}
				if _, _, err := codec.Decode(data, nil, &kubevirt.VirtualMachine{}); err != nil {
					b.Fatal(err)
				}
				if benchSinkObj, _, err = codec.Decode(data, nil, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
