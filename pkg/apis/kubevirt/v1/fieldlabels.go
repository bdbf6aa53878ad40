package v1

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
)

// fieldLabels are the field selectors that lists and watches of
// VirtualMachines accept.
var fieldLabels = []string{"metadata.name", "metadata.namespace", "spec.runStrategy", "status.printableStatus"}

func addFieldLabelConversionFuncs(scheme *runtime.Scheme) error {
	for _, gv := range Versions {
		if err := scheme.AddFieldLabelConversionFunc(gv.WithKind("VirtualMachine"), convertFieldLabel); err != nil {
			return err
		}
	}
	return nil
}

// convertFieldLabel accepts the field labels of VirtualMachines as they are;
// they are the same in every version.
func convertFieldLabel(label, value string) (string, string, error) {
	for _, known := range fieldLabels {
		if label == known {
			return label, value, nil
		}
	}
	return "", "", fmt.Errorf("field label %q is not supported for VirtualMachine; use one of %s", label, strings.Join(fieldLabels, ", "))
}
