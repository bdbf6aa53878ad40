package validation

import (
	"testing"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
	virtv1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
)

// Prefixes of the field paths that the cases expect.
const (
	tmplSpec = "spec.template.spec."
	domain   = tmplSpec + "domain."
	devices  = domain + "devices."
)

// wantErr is an expected validation error: its type and its field path.
type wantErr struct {
	Type  field.ErrorType
	Field string
}

// vmCase is one table case: a change to a valid VM and the errors it causes.
type vmCase struct {
	name   string
	mutate func(vm *kubevirt.VirtualMachine)
	want   []wantErr
}

// runCreateCases validates each mutated cirros VM as a create.
func runCreateCases(t *testing.T, cases []vmCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			vm := cirrosVM()
			tc.mutate(vm)
			sinkTableCase(t, vm, nil)
			assertErrors(t, tc.want, ValidateVirtualMachine(vm))
		})
	}
}

// tableCaseSink, when set, receives the VMs of every table case: the VM
// the case validates and, for an update, the VM it updates.
// TestLazyPathsKeepResults sets it to add the table cases to its corpus.
var tableCaseSink func(t *testing.T, newVM, oldVM *kubevirt.VirtualMachine)

// sinkTableCase hands the VMs of a table case to tableCaseSink, if set.
func sinkTableCase(t *testing.T, newVM, oldVM *kubevirt.VirtualMachine) {
	t.Helper()
	if tableCaseSink != nil {
		tableCaseSink(t, newVM, oldVM)
	}
}

// assertErrors checks that errs holds exactly the wanted types and fields.
func assertErrors(t *testing.T, want []wantErr, errs field.ErrorList) {
	t.Helper()
	got := make([]wantErr, 0, len(errs))
	for _, e := range errs {
		got = append(got, wantErr{Type: e.Type, Field: e.Field})
	}
	if len(want) == 0 {
		assert.Empty(t, errs, "unexpected errors: %v", errs)
		return
	}
	assert.ElementsMatch(t, want, got, "errors: %v", errs)
}

func ref(name string) *corev1.LocalObjectReference { return &corev1.LocalObjectReference{Name: name} }

func q(s string) resource.Quantity { return resource.MustParse(s) }

func qp(s string) *resource.Quantity { return ptr.To(resource.MustParse(s)) }

// cirrosVM is KubeVirt's vm-cirros example, with a few more devices so that
// the cases have something to break: a container disk, a cloud-init disk,
// a scratch disk and a masquerade interface with forwarded ports.
func cirrosVM() *kubevirt.VirtualMachine {
	return &kubevirt.VirtualMachine{
		ObjectMeta: metav1.ObjectMeta{Name: "vm-cirros", Namespace: "default", Labels: map[string]string{"kubevirt.io/vm": "vm-cirros"}},
		Spec: virtv1.VirtualMachineSpec{
			RunStrategy: ptr.To(virtv1.RunStrategyAlways),
			Template: &virtv1.VirtualMachineInstanceTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"kubevirt.io/vm": "vm-cirros"}},
				Spec: virtv1.VirtualMachineInstanceSpec{
					Domain: virtv1.DomainSpec{
						Resources: virtv1.ResourceRequirements{
							Requests: corev1.ResourceList{corev1.ResourceMemory: q("128Mi")},
						},
						Devices: virtv1.Devices{
							Disks: []virtv1.Disk{
								{Name: "containerdisk", DiskDevice: virtv1.DiskDevice{Disk: &virtv1.DiskTarget{Bus: virtv1.DiskBusVirtio}}, BootOrder: ptr.To[uint](1)},
								{Name: "cloudinitdisk", DiskDevice: virtv1.DiskDevice{Disk: &virtv1.DiskTarget{Bus: virtv1.DiskBusVirtio}}},
								{Name: "scratch"},
							},
							Interfaces: []virtv1.Interface{{
								Name:                   "default",
								InterfaceBindingMethod: virtv1.InterfaceBindingMethod{Masquerade: &virtv1.InterfaceMasquerade{}},
								Ports:                  []virtv1.Port{{Name: "ssh", Port: 22, Protocol: "TCP"}, {Port: 53, Protocol: "UDP"}},
							}},
						},
					},
					NodeSelector:                  map[string]string{"kubernetes.io/os": "linux"},
					Tolerations:                   []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "vms", Effect: corev1.TaintEffectNoSchedule}},
					TerminationGracePeriodSeconds: ptr.To[int64](0),
					Hostname:                      "cirros",
					Subdomain:                     "vms",
					Volumes: []virtv1.Volume{
						{Name: "containerdisk", VolumeSource: virtv1.VolumeSource{ContainerDisk: &virtv1.ContainerDiskSource{Image: "quay.io/kubevirt/cirros-container-disk-demo"}}},
						{Name: "cloudinitdisk", VolumeSource: virtv1.VolumeSource{CloudInitNoCloud: &virtv1.CloudInitNoCloudSource{UserDataBase64: "SGkuXG4="}}},
						{Name: "scratch", VolumeSource: virtv1.VolumeSource{EmptyDisk: &virtv1.EmptyDiskSource{Capacity: q("1Gi")}}},
					},
					Networks: []virtv1.Network{{Name: "default", NetworkSource: virtv1.NetworkSource{Pod: &virtv1.PodNetwork{}}}},
				},
			},
		},
	}
}

func tmpl(vm *kubevirt.VirtualMachine) *virtv1.VirtualMachineInstanceSpec {
	return &vm.Spec.Template.Spec
}

func devs(vm *kubevirt.VirtualMachine) *virtv1.Devices {
	return &vm.Spec.Template.Spec.Domain.Devices
}
