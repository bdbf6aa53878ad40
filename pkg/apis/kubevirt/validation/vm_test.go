package validation

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
	virtv1 "kubevirt.io/api/core/v1"
	cdiv1 "kubevirt.io/containerized-data-importer-api/pkg/apis/core/v1beta1"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
)

// TestValidateVirtualMachineSpecAndMetadata covers the VM-level rules: run
// strategy, template, metadata, template labels and the matchers.
func TestValidateVirtualMachineSpecAndMetadata(t *testing.T) {
	runCreateCases(t, []vmCase{
		{
			name:   "running and runStrategy both set",
			mutate: func(vm *kubevirt.VirtualMachine) { vm.Spec.Running = ptr.To(true) },
			want:   []wantErr{{field.ErrorTypeForbidden, "spec.running"}},
		},
		{
			name:   "neither running nor runStrategy",
			mutate: func(vm *kubevirt.VirtualMachine) { vm.Spec.RunStrategy = nil },
			want:   []wantErr{{field.ErrorTypeRequired, "spec.runStrategy"}},
		},
		{
			name: "unknown run strategy",
			mutate: func(vm *kubevirt.VirtualMachine) {
				vm.Spec.RunStrategy = ptr.To(virtv1.VirtualMachineRunStrategy("Sometimes"))
			},
			want: []wantErr{{field.ErrorTypeNotSupported, "spec.runStrategy"}},
		},
		{
			name:   "missing template",
			mutate: func(vm *kubevirt.VirtualMachine) { vm.Spec.Template = nil },
			want:   []wantErr{{field.ErrorTypeRequired, "spec.template"}},
		},
		{
			name:   "missing namespace",
			mutate: func(vm *kubevirt.VirtualMachine) { vm.Namespace = "" },
			want:   []wantErr{{field.ErrorTypeRequired, "metadata.namespace"}},
		},
		{
			name:   "name not a DNS subdomain",
			mutate: func(vm *kubevirt.VirtualMachine) { vm.Name = "Bad_Name" },
			want:   []wantErr{{field.ErrorTypeInvalid, "metadata.name"}},
		},
		{
			name:   "invalid label",
			mutate: func(vm *kubevirt.VirtualMachine) { vm.Labels = map[string]string{"bad key!": "x"} },
			want:   []wantErr{{field.ErrorTypeInvalid, "metadata.labels"}},
		},
		{
			name: "invalid template label value",
			mutate: func(vm *kubevirt.VirtualMachine) {
				vm.Spec.Template.ObjectMeta.Labels = map[string]string{"app": "not valid!"}
			},
			want: []wantErr{{field.ErrorTypeInvalid, "spec.template.metadata.labels"}},
		},
		{
			name: "invalid template annotation key",
			mutate: func(vm *kubevirt.VirtualMachine) {
				vm.Spec.Template.ObjectMeta.Annotations = map[string]string{"bad key!": "x"}
			},
			want: []wantErr{{field.ErrorTypeInvalid, "spec.template.metadata.annotations"}},
		},
		{
			name: "reserved kubevirt.io label on the template",
			mutate: func(vm *kubevirt.VirtualMachine) {
				vm.Spec.Template.ObjectMeta.Labels[virtv1.NodeNameLabel] = "node01"
			},
			want: []wantErr{{field.ErrorTypeForbidden, "spec.template.metadata.labels[kubevirt.io/nodeName]"}},
		},
		{
			name: "other kubevirt.io labels are the user's",
			mutate: func(vm *kubevirt.VirtualMachine) {
				vm.Spec.Template.ObjectMeta.Labels["kubevirt.io/domain"] = "cirros"
				vm.Spec.Template.ObjectMeta.Labels["kubevirt.io/size"] = "small"
			},
		},
		{
			name:   "instancetype without name or inferFromVolume",
			mutate: func(vm *kubevirt.VirtualMachine) { vm.Spec.Instancetype = &virtv1.InstancetypeMatcher{Kind: "x"} },
			want:   []wantErr{{field.ErrorTypeRequired, "spec.instancetype"}},
		},
		{
			name: "preference inferred from a volume",
			mutate: func(vm *kubevirt.VirtualMachine) {
				vm.Spec.Preference = &virtv1.PreferenceMatcher{InferFromVolume: "containerdisk",
					InferFromVolumeFailurePolicy: ptr.To(virtv1.IgnoreInferFromVolumeFailure)}
			},
		},
		{
			name: "inferFromVolume with name and kind",
			mutate: func(vm *kubevirt.VirtualMachine) {
				vm.Spec.Preference = &virtv1.PreferenceMatcher{InferFromVolume: "containerdisk", Name: "p", Kind: "k"}
			},
			want: []wantErr{
				{field.ErrorTypeForbidden, "spec.preference.name"},
				{field.ErrorTypeForbidden, "spec.preference.kind"},
			},
		},
		{
			name: "unknown inferFromVolumeFailurePolicy",
			mutate: func(vm *kubevirt.VirtualMachine) {
				vm.Spec.Instancetype = &virtv1.InstancetypeMatcher{Name: "u1.small",
					InferFromVolumeFailurePolicy: ptr.To(virtv1.InferFromVolumeFailurePolicy("Retry"))}
			},
			want: []wantErr{{field.ErrorTypeNotSupported, "spec.instancetype.inferFromVolumeFailurePolicy"}},
		},
		{
			name: "utility volumes in a template",
			mutate: func(vm *kubevirt.VirtualMachine) {
				tmpl(vm).UtilityVolumes = []virtv1.UtilityVolume{{Name: "dump"}}
			},
			want: []wantErr{{field.ErrorTypeForbidden, tmplSpec + "utilityVolumes"}},
		},
	})
}

// TestRunStrategyMessages checks that the run strategy errors explain
// themselves and list the supported strategies.
func TestRunStrategyMessages(t *testing.T) {
	tests := []struct {
		name     string
		mutate   func(spec *virtv1.VirtualMachineSpec)
		contains []string
	}{
		{
			name:     "both set says why and what to use",
			mutate:   func(spec *virtv1.VirtualMachineSpec) { spec.Running = ptr.To(true) },
			contains: []string{"spec.running", "mutually exclusive", "deprecated", "use spec.runStrategy", RunningAndRunStrategyMessage},
		},
		{
			name:     "neither set",
			mutate:   func(spec *virtv1.VirtualMachineSpec) { spec.RunStrategy = nil },
			contains: []string{"spec.runStrategy", RunStrategyRequiredMessage},
		},
		{
			name: "unknown strategy lists the supported ones",
			mutate: func(spec *virtv1.VirtualMachineSpec) {
				spec.RunStrategy = ptr.To(virtv1.VirtualMachineRunStrategy("Sometimes"))
			},
			contains: []string{`"Sometimes"`, `"Always"`, `"RerunOnFailure"`, `"Once"`, `"Manual"`, `"Halted"`,
				`"WaitAsReceiver"`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			vm := cirrosVM()
			tc.mutate(&vm.Spec)
			errs := ValidateVirtualMachineSpec(&vm.Spec, field.NewPath("spec"))
			require.Len(t, errs, 1)
			for _, want := range tc.contains {
				assert.Contains(t, errs[0].Error(), want)
			}
		})
	}
}

// TestValidateVirtualMachineUpdate covers what an update adds to a create:
// templates that only matter when changed, the freeze during a snapshot or a
// restore, and pinned matcher revisions. The metadata rules of an update are
// the generic store's (TestMetadataUpdateRules in the registry).
func TestValidateVirtualMachineUpdate(t *testing.T) {
	snapshotting := func(vm *kubevirt.VirtualMachine) { vm.Status.SnapshotInProgress = ptr.To("snap-1") }
	restoring := func(vm *kubevirt.VirtualMachine) { vm.Status.RestoreInProgress = ptr.To("restore-1") }
	tests := []struct {
		name   string
		old    func(vm *kubevirt.VirtualMachine)
		mutate func(vm *kubevirt.VirtualMachine)
		want   []wantErr
	}{
		{name: "spec change is valid", mutate: func(vm *kubevirt.VirtualMachine) { vm.Spec.RunStrategy = ptr.To(virtv1.RunStrategyHalted) }},
		{
			name:   "update runs full spec validation",
			mutate: func(vm *kubevirt.VirtualMachine) { vm.Spec.Running = ptr.To(true) },
			want:   []wantErr{{field.ErrorTypeForbidden, "spec.running"}},
		},
		{
			name:   "template removed",
			mutate: func(vm *kubevirt.VirtualMachine) { vm.Spec.Template = nil },
			want:   []wantErr{{field.ErrorTypeRequired, "spec.template"}},
		},
		{
			name: "unchanged DataVolume template in another namespace stays updatable",
			old: func(vm *kubevirt.VirtualMachine) {
				*vm = *instancetypeVM()
				vm.ResourceVersion = "7"
				vm.Spec.DataVolumeTemplates[0].Namespace = "elsewhere"
			},
			mutate: func(vm *kubevirt.VirtualMachine) { vm.Spec.RunStrategy = ptr.To(virtv1.RunStrategyAlways) },
		},
		{
			name: "changed DataVolume template in another namespace",
			old: func(vm *kubevirt.VirtualMachine) {
				*vm = *instancetypeVM()
				vm.ResourceVersion = "7"
			},
			mutate: func(vm *kubevirt.VirtualMachine) { vm.Spec.DataVolumeTemplates[0].Namespace = "elsewhere" },
			want:   []wantErr{{field.ErrorTypeInvalid, "spec.dataVolumeTemplates[0].metadata.namespace"}},
		},
		{
			name:   "volumes frozen during a snapshot",
			old:    snapshotting,
			mutate: func(vm *kubevirt.VirtualMachine) { tmpl(vm).Volumes[2].EmptyDisk.Capacity = q("2Gi") },
			want:   []wantErr{{field.ErrorTypeForbidden, tmplSpec + "volumes"}},
		},
		{
			name:   "run strategy frozen during a snapshot",
			old:    snapshotting,
			mutate: func(vm *kubevirt.VirtualMachine) { vm.Spec.RunStrategy = ptr.To(virtv1.RunStrategyHalted) },
			want:   []wantErr{{field.ErrorTypeForbidden, "spec.runStrategy"}},
		},
		{
			name:   "other changes allowed during a snapshot",
			old:    snapshotting,
			mutate: func(vm *kubevirt.VirtualMachine) { tmpl(vm).Hostname = "other" },
		},
		{
			name:   "run strategy frozen during a restore",
			old:    restoring,
			mutate: func(vm *kubevirt.VirtualMachine) { vm.Spec.RunStrategy = ptr.To(virtv1.RunStrategyHalted) },
			want:   []wantErr{{field.ErrorTypeForbidden, "spec.runStrategy"}},
		},
		{
			name: "same effective strategy during a restore",
			old:  restoring,
			mutate: func(vm *kubevirt.VirtualMachine) {
				vm.Spec.RunStrategy, vm.Spec.Running = nil, ptr.To(true)
			},
		},
		{
			name:   "volumes may change during a restore",
			old:    restoring,
			mutate: func(vm *kubevirt.VirtualMachine) { tmpl(vm).Volumes[2].EmptyDisk.Capacity = q("2Gi") },
		},
		{
			name: "renamed instancetype keeps its revision",
			old: func(vm *kubevirt.VirtualMachine) {
				vm.Spec.Instancetype = &virtv1.InstancetypeMatcher{Name: "u1.small", RevisionName: "rev-1"}
			},
			mutate: func(vm *kubevirt.VirtualMachine) { vm.Spec.Instancetype.Name = "u1.large" },
			want:   []wantErr{{field.ErrorTypeInvalid, "spec.instancetype.revisionName"}},
		},
		{
			name: "renamed preference with its revision cleared",
			old: func(vm *kubevirt.VirtualMachine) {
				vm.Spec.Preference = &virtv1.PreferenceMatcher{Name: "fedora", RevisionName: "rev-1"}
			},
			mutate: func(vm *kubevirt.VirtualMachine) {
				vm.Spec.Preference.Name, vm.Spec.Preference.RevisionName = "rhel", ""
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			oldVM := cirrosVM()
			oldVM.ResourceVersion = "7"
			if tc.old != nil {
				tc.old(oldVM)
			}
			newVM := oldVM.DeepCopy()
			tc.mutate(newVM)
			sinkTableCase(t, newVM, oldVM)
			assertErrors(t, tc.want, ValidateVirtualMachineUpdate(newVM, oldVM))
		})
	}
}

var cdiHTTP = cdiv1.DataVolumeSourceHTTP{URL: "https://example.com/disk.img"}

// TestValidateDataVolumeTemplates starts from the instancetype VM, whose
// first template imports from a registry into storage and whose second
// refers to a DataSource into a pvc.
func TestValidateDataVolumeTemplates(t *testing.T) {
	tests := []vmCase{
		{
			name:   "template without name",
			mutate: func(vm *kubevirt.VirtualMachine) { vm.Spec.DataVolumeTemplates[0].Name = "" },
			want:   []wantErr{{field.ErrorTypeRequired, "spec.dataVolumeTemplates[0].metadata.name"}},
		},
		{
			name:   "template no volume uses",
			mutate: func(vm *kubevirt.VirtualMachine) { tmpl(vm).Volumes[0].DataVolume.Name = "other" },
			want:   []wantErr{{field.ErrorTypeInvalid, "spec.dataVolumeTemplates[0].metadata.name"}},
		},
		{
			name:   "template in another namespace",
			mutate: func(vm *kubevirt.VirtualMachine) { vm.Spec.DataVolumeTemplates[1].Namespace = "other" },
			want:   []wantErr{{field.ErrorTypeInvalid, "spec.dataVolumeTemplates[1].metadata.namespace"}},
		},
		{
			name:   "template in the VM's namespace",
			mutate: func(vm *kubevirt.VirtualMachine) { vm.Spec.DataVolumeTemplates[1].Namespace = "default" },
		},
		{
			name:   "neither pvc nor storage",
			mutate: func(vm *kubevirt.VirtualMachine) { vm.Spec.DataVolumeTemplates[0].Spec.Storage = nil },
			want:   []wantErr{{field.ErrorTypeRequired, "spec.dataVolumeTemplates[0].spec"}},
		},
		{
			name: "both pvc and storage",
			mutate: func(vm *kubevirt.VirtualMachine) {
				vm.Spec.DataVolumeTemplates[0].Spec.PVC = &corev1.PersistentVolumeClaimSpec{}
			},
			want: []wantErr{{field.ErrorTypeForbidden, "spec.dataVolumeTemplates[0].spec.storage"}},
		},
		{
			name: "no way to populate",
			mutate: func(vm *kubevirt.VirtualMachine) {
				vm.Spec.DataVolumeTemplates[1].Spec.SourceRef = nil
			},
			want: []wantErr{{field.ErrorTypeRequired, "spec.dataVolumeTemplates[1].spec.source"}},
		},
		{
			name: "externally populated",
			mutate: func(vm *kubevirt.VirtualMachine) {
				spec := &vm.Spec.DataVolumeTemplates[1].Spec
				spec.SourceRef = nil
				spec.PVC.DataSourceRef = &corev1.TypedObjectReference{Kind: "VolumeImportSource", Name: "src"}
			},
		},
		{
			name: "external population and a source ref",
			mutate: func(vm *kubevirt.VirtualMachine) {
				vm.Spec.DataVolumeTemplates[1].Spec.PVC.DataSource = &corev1.TypedLocalObjectReference{Kind: "PersistentVolumeClaim", Name: "x"}
			},
			want: []wantErr{{field.ErrorTypeForbidden, "spec.dataVolumeTemplates[1].spec.sourceRef"}},
		},
		{
			name: "empty source",
			mutate: func(vm *kubevirt.VirtualMachine) {
				vm.Spec.DataVolumeTemplates[0].Spec.Source.Registry = nil
			},
			want: []wantErr{{field.ErrorTypeRequired, "spec.dataVolumeTemplates[0].spec.source"}},
		},
		{
			name: "two import sources",
			mutate: func(vm *kubevirt.VirtualMachine) {
				vm.Spec.DataVolumeTemplates[0].Spec.Source.HTTP = &cdiHTTP
			},
			want: []wantErr{{field.ErrorTypeForbidden, "spec.dataVolumeTemplates[0].spec.source.registry"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			vm := instancetypeVM()
			tc.mutate(vm)
			sinkTableCase(t, vm, nil)
			assertErrors(t, tc.want, ValidateVirtualMachine(vm))
		})
	}
}
