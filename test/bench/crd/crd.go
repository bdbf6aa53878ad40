// Package crd builds the CustomResourceDefinition of KubeVirt's
// VirtualMachine (virtualmachines.kubevirt.io, version v1) from the OpenAPI
// definitions that openapi-gen generated for vm-apiserver from the
// kubevirt.io/api types, so that kube-apiserver can serve the same type as
// a custom resource: the benchmark's peer.
//
// The schema is openapi.VirtualMachineSchema's, the structural schema that
// vm-apiserver prunes VirtualMachines with, with metadata described the
// way KubeVirt's own CRD describes it.
package crd

import (
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vm-apiserver/vm-apiserver/pkg/api/openapi"
)

// The served resource and the CRD's name, <plural>.<group>.
const (
	Group   = "kubevirt.io"
	Version = "v1"
	Kind    = "VirtualMachine"
	Plural  = "virtualmachines"
	Name    = Plural + "." + Group
)

// VirtualMachine returns the CRD of kubevirt.io/v1 VirtualMachines:
// namespaced, with the status subresource, the short names vm and vms, and
// the schema of openapi.VirtualMachineSchema.
func VirtualMachine() (*apiextensionsv1.CustomResourceDefinition, error) {
	return VirtualMachineInGroup(Group)
}

// VirtualMachineInGroup returns the same CRD for the VirtualMachines of
// another API group, <group>/v1, named virtualmachines.<group>: a cluster
// where vm-apiserver serves kubevirt.io can serve the CRD next to it.
func VirtualMachineInGroup(group string) (*apiextensionsv1.CustomResourceDefinition, error) {
	schema, err := openapi.VirtualMachineSchema(openapi.CRDMetadata)
	if err != nil {
		return nil, err
	}
	return &apiextensionsv1.CustomResourceDefinition{
		TypeMeta:   metav1.TypeMeta{APIVersion: apiextensionsv1.SchemeGroupVersion.String(), Kind: "CustomResourceDefinition"},
		ObjectMeta: metav1.ObjectMeta{Name: Plural + "." + group},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: group,
			Scope: apiextensionsv1.NamespaceScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{
				Plural:     Plural,
				Singular:   strings.ToLower(Kind),
				Kind:       Kind,
				ListKind:   Kind + "List",
				ShortNames: []string{"vm", "vms"},
				Categories: []string{"all"},
			},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name:    Version,
				Served:  true,
				Storage: true,
				Schema:  &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: schema},
				Subresources: &apiextensionsv1.CustomResourceSubresources{
					Status: &apiextensionsv1.CustomResourceSubresourceStatus{},
				},
			}},
		},
	}, nil
}
