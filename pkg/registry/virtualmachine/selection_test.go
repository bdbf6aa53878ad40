package virtualmachine

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/ptr"
	virtv1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
)

func TestGetAttrs(t *testing.T) {
	tests := []struct {
		name       string
		mutate     change
		wantFields fields.Set
	}{
		{
			name:   "runStrategy VM",
			mutate: func(*kubevirt.VirtualMachine) {},
			wantFields: fields.Set{
				"metadata.name": "vm", "metadata.namespace": "default",
				"spec.runStrategy": "Always", "status.printableStatus": "Running",
			},
		},
		{
			name: "legacy VM without status has empty values",
			mutate: func(vm *kubevirt.VirtualMachine) {
				vm.Spec.RunStrategy, vm.Spec.Running = nil, ptr.To(true)
				vm.Status = virtv1.VirtualMachineStatus{}
			},
			wantFields: fields.Set{
				"metadata.name": "vm", "metadata.namespace": "default",
				"spec.runStrategy": "", "status.printableStatus": "",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			vm := newVM()
			tc.mutate(vm)
			ls, fs, err := GetAttrs(vm)
			require.NoError(t, err)
			assert.Equal(t, labels.Set{"app": "demo"}, ls)
			assert.Equal(t, tc.wantFields, fs)
		})
	}
}

func TestGetAttrsWrongType(t *testing.T) {
	_, _, err := GetAttrs(&kubevirt.VirtualMachineList{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not a VirtualMachine")
}

func TestMatchVirtualMachine(t *testing.T) {
	tests := []struct {
		name         string
		label, field string
		wantMatches  bool
	}{
		{name: "everything", wantMatches: true},
		{name: "by label", label: "app=demo", wantMatches: true},
		{name: "by other label", label: "app=other"},
		{name: "by run strategy", field: "spec.runStrategy=Always", wantMatches: true},
		{name: "by other run strategy", field: "spec.runStrategy=Halted"},
		{name: "by printable status", field: "status.printableStatus=Running,metadata.name=vm", wantMatches: true},
		{name: "by namespace", field: "metadata.namespace=kube-system"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ls, err := labels.Parse(tc.label)
			require.NoError(t, err)
			fs, err := fields.ParseSelector(tc.field)
			require.NoError(t, err)

			predicate := MatchVirtualMachine(ls, fs)
			matches, err := predicate.Matches(newVM())
			require.NoError(t, err)
			assert.Equal(t, tc.wantMatches, matches)
		})
	}
}
