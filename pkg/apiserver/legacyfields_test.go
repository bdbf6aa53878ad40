package apiserver

import (
	"reflect"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kubevirtv1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/pkg/fieldcheck"
)

// The checker that pruning replaces, kept while the two are compared.
var legacyVMFields = fieldcheck.NewChecker(reflect.TypeFor[kubevirtv1.VirtualMachine](),
	reflect.TypeFor[kubevirtv1.VirtualMachineInstanceSpec](),
	reflect.TypeFor[kubevirtv1.PodNetwork](),
	reflect.TypeFor[kubevirtv1.DHCPOptions]())

// legacyVMFieldsDecoder is the serializer's decoder before pruning.
type legacyVMFieldsDecoder struct {
	runtime.Serializer
	strict bool
}

func (d *legacyVMFieldsDecoder) Decode(data []byte, defaults *schema.GroupVersionKind, into runtime.Object) (runtime.Object, *schema.GroupVersionKind, error) {
	if !isVirtualMachine(data, defaults, into) {
		return d.Serializer.Decode(data, defaults, into)
	}
	clean, problems, err := legacyVMFields.Check(data, fieldcheck.Object)
	if err != nil || len(problems) == 0 {
		return d.Serializer.Decode(data, defaults, into)
	}
	obj, gvk, err := d.Serializer.Decode(clean, defaults, into)
	if !d.strict {
		return obj, gvk, err
	}
	if err != nil {
		strictErr, ok := runtime.AsStrictDecodingError(err)
		if !ok {
			return obj, gvk, err
		}
		problems = append(problems, strictErr.Errors()...)
	}
	return obj, gvk, runtime.NewStrictDecodingError(problems)
}

func init() {
	benchDecoders["fieldcheck"] = func(s runtime.Serializer) runtime.Decoder {
		return &legacyVMFieldsDecoder{Serializer: s, strict: true}
	}
}
