package apiserver

import (
	"encoding/json"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kubevirtv1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/pkg/api/scheme"
)

// benchDecoders are the decoders that BenchmarkVMBodyDecode compares, by name,
// each wrapping the strict JSON serializer of scheme.Codecs.
var benchDecoders = map[string]func(runtime.Serializer) runtime.Decoder{
	// reference is the strict decode alone, which finds nothing inside
	// spec.template.spec.
	"reference": func(s runtime.Serializer) runtime.Decoder { return s },
	"pruning": func(s runtime.Serializer) runtime.Decoder {
		return &vmFieldsDecoder{Serializer: s, strict: true}
	},
}

// benchDocs are the bodies of a create and of an update of the sample VM:
// the update carries what the server set (uid, resourceVersion, managed
// fields) and the status.
func benchDocs(b *testing.B) map[string][]byte {
	create := sampleVM()
	create.Status = kubevirtv1.VirtualMachineStatus{}
	update := sampleVM()
	update.UID, update.ResourceVersion, update.Generation = "6a1c0f4e-5b7d-4c1e-9d8f-2f0c3b1a9e77", "48213", 3
	update.CreationTimestamp = metav1.NewTime(time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC))
	update.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "kubectl", Operation: metav1.ManagedFieldsOperationApply, APIVersion: "kubevirt.io/v1",
		FieldsType: "FieldsV1", FieldsV1: metav1.NewFieldsV1(`{"f:spec":{"f:runStrategy":{},"f:template":{"f:spec":{"f:domain":{}}}}}`)}}
	docs := map[string][]byte{}
	for name, vm := range map[string]*kubevirtv1.VirtualMachine{"create": create, "update": update} {
		raw, err := json.Marshal(vm)
		require.NoError(b, err)
		docs[name] = raw
	}
	return docs
}

// cpuTime is the CPU time the process has used, garbage collection
// included. Per operation it is what a request costs the server, and unlike
// ns/op it does not count the time spent waiting for a CPU on a busy machine.
func cpuTime(b *testing.B) time.Duration {
	var u syscall.Rusage
	require.NoError(b, syscall.Getrusage(syscall.RUSAGE_SELF, &u))
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}

// BenchmarkVMBodyDecode measures the decode and field check of a whole VM body,
// as a create or an update decodes it under fieldValidation=Warn or Strict.
func BenchmarkVMBodyDecode(b *testing.B) {
	info, ok := runtime.SerializerInfoForMediaType(scheme.Codecs.SupportedMediaTypes(), runtime.ContentTypeJSON)
	require.True(b, ok)
	_, err := vmSchema()
	require.NoError(b, err)
	docs := benchDocs(b)
	for _, request := range []string{"create", "update"} {
		for _, name := range []string{"reference", "pruning"} {
			decoder := benchDecoders[name](info.StrictSerializer)
			doc := docs[request]
			b.Run(request+"/"+name, func(b *testing.B) {
				b.SetBytes(int64(len(doc)))
				b.ReportAllocs()
				start := cpuTime(b)
				for b.Loop() {
					if _, _, err := decoder.Decode(doc, nil, &kubevirtv1.VirtualMachine{}); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N), "cpu-ns/op")
			})
		}
	}
}
