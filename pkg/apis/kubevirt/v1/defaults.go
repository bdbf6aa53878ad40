package v1

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
)

func addDefaultingFuncs(scheme *runtime.Scheme) error {
	return RegisterDefaults(scheme)
}

// SetDefaults_Port defaults a forwarded port's protocol to TCP, as KubeVirt does.
func SetDefaults_Port(obj *Port) {
	if obj.Protocol == "" {
		obj.Protocol = "TCP"
	}
}

func addFieldLabelConversionFuncs(scheme *runtime.Scheme) error {
	return scheme.AddFieldLabelConversionFunc(SchemeGroupVersion.WithKind("VirtualMachine"),
		func(label, value string) (string, string, error) {
			switch label {
			case "metadata.name", "metadata.namespace", "spec.runStrategy", "status.printableStatus":
				return label, value, nil
			default:
				return "", "", fmt.Errorf("field label %q is not supported for VirtualMachine; use one of metadata.name, metadata.namespace, spec.runStrategy, status.printableStatus", label)
			}
		})
}
