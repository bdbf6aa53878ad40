// Package validation holds the validation of the kubevirt.io types as pure
// functions. The registry strategy calls them and the store turns the errors
// they return into a 422 Invalid. Field paths use the JSON names of
// kubevirt.io/v1, so that a message points at what the user wrote.
//
// The rules follow what KubeVirt's admission webhooks enforce on a
// VirtualMachine without looking at any other object or at the cluster
// configuration. Fields behind KubeVirt feature gates are accepted, since
// this server has no feature-gate configuration, but the rules that apply to
// them once the gate is on are kept.
package validation

import (
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	virtv1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
)

// MaxPrintableStatusLength bounds status.printableStatus, which is free-form.
const MaxPrintableStatusLength = 128

// RunningAndRunStrategyMessage is the detail of the error for a spec that sets
// both spec.running and spec.runStrategy.
const RunningAndRunStrategyMessage = "spec.running and spec.runStrategy are mutually exclusive; " +
	"spec.running is deprecated, use spec.runStrategy"

// RunStrategyRequiredMessage is the detail of the error for a spec that sets
// neither spec.running nor spec.runStrategy.
const RunStrategyRequiredMessage = "a run strategy must be specified"

// reservedTemplateLabels are the kubevirt.io/ labels that only KubeVirt's own
// components may put on an instance; a user's template may not carry them.
var reservedTemplateLabels = []string{
	virtv1.CreatedByLabel, virtv1.MigrationJobLabel, virtv1.NodeNameLabel,
	virtv1.MigrationTargetNodeNameLabel, virtv1.NodeSchedulable, virtv1.InstallStrategyLabel,
}

var supportedInferFromVolumeFailurePolicies = []virtv1.InferFromVolumeFailurePolicy{
	virtv1.RejectInferFromVolumeFailure, virtv1.IgnoreInferFromVolumeFailure,
}

// ValidateVirtualMachine validates a VirtualMachine on create: its metadata
// (namespaced, with a DNS-1123 subdomain name) and its spec.
func ValidateVirtualMachine(vm *kubevirt.VirtualMachine) field.ErrorList {
	allErrs := apimachineryvalidation.ValidateObjectMeta(&vm.ObjectMeta, true,
		apimachineryvalidation.NameIsDNSSubdomain, metadataPath)
	allErrs = append(allErrs, ValidateVirtualMachineSpec(&vm.Spec, specPath)...)
	allErrs = append(allErrs, validateDataVolumeTemplateNamespaces(vm.Namespace, vm.Spec.DataVolumeTemplates,
		lazy(specPath).child("dataVolumeTemplates"))...)
	return allErrs
}

// ValidateVirtualMachineUpdate validates an update of a VirtualMachine: the
// whole new spec, so that an update can never store a VM that a create would
// have rejected, and the changes an update may not make to it. The metadata
// and its change are not validated here: k8s.io/apiserver's generic store
// validates them for every update of every resource (rest.BeforeUpdate), and
// validating them again would report each of their errors twice more.
func ValidateVirtualMachineUpdate(newVM, oldVM *kubevirt.VirtualMachine) field.ErrorList {
	allErrs := ValidateVirtualMachineSpec(&newVM.Spec, specPath)
	// Like KubeVirt, the namespaces of the templates are only checked when the
	// templates change, so that an old object stays updatable.
	if !apiequality.Semantic.DeepEqual(newVM.Spec.DataVolumeTemplates, oldVM.Spec.DataVolumeTemplates) {
		allErrs = append(allErrs, validateDataVolumeTemplateNamespaces(newVM.Namespace, newVM.Spec.DataVolumeTemplates,
			lazy(specPath).child("dataVolumeTemplates"))...)
	}
	allErrs = append(allErrs, validateUpdateDuringSnapshotOrRestore(newVM, oldVM, specPath)...)
	if newVM.Spec.Instancetype != nil && oldVM.Spec.Instancetype != nil {
		allErrs = append(allErrs, validateMatcherUpdate(newVM.Spec.Instancetype, oldVM.Spec.Instancetype, lazy(specPath).child("instancetype"))...)
	}
	if newVM.Spec.Preference != nil && oldVM.Spec.Preference != nil {
		allErrs = append(allErrs, validateMatcherUpdate(newVM.Spec.Preference, oldVM.Spec.Preference, lazy(specPath).child("preference"))...)
	}
	return allErrs
}

// ValidateVirtualMachineStatusUpdate validates an update through the status
// subresource: the new status. As for ValidateVirtualMachineUpdate, the
// generic store validates the metadata and its change.
func ValidateVirtualMachineStatusUpdate(newVM, _ *kubevirt.VirtualMachine) field.ErrorList {
	return ValidateVirtualMachineStatus(&newVM.Status, statusPath)
}

// ValidateVirtualMachineSpec validates a VM spec: the run strategy rules of the
// lifecycle contract, the instance template and the DataVolume templates.
func ValidateVirtualMachineSpec(spec *virtv1.VirtualMachineSpec, fldPath *field.Path) field.ErrorList {
	allErrs := validateRunStrategy(spec, fldPath)

	allErrs = append(allErrs, validateMatchers(spec, fldPath)...)

	if spec.Template == nil {
		return append(allErrs, field.Required(fldPath.Child("template"), "the instance template is required"))
	}
	tmplPath := lazy(fldPath).child("template")
	allErrs = append(allErrs, validateTemplateMetadata(spec.Template, tmplPath.child("metadata"))...)
	// With an instancetype the memory and CPU come from it, so the rules that
	// need them are relaxed.
	opts := instanceOptions{hasInstancetype: spec.Instancetype != nil}
	allErrs = append(allErrs, validateInstanceSpec(&spec.Template.Spec, opts, tmplPath.child("spec"))...)
	allErrs = append(allErrs, validateDataVolumeTemplates(spec.DataVolumeTemplates, spec.Template.Spec.Volumes,
		lazy(fldPath).child("dataVolumeTemplates"))...)
	return allErrs
}

func validateRunStrategy(spec *virtv1.VirtualMachineSpec, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	switch {
	case spec.Running != nil && spec.RunStrategy != nil:
		allErrs = append(allErrs, field.Forbidden(fldPath.Child("running"), RunningAndRunStrategyMessage))
	case spec.Running == nil && spec.RunStrategy == nil:
		allErrs = append(allErrs, field.Required(fldPath.Child("runStrategy"), RunStrategyRequiredMessage))
	}
	if spec.RunStrategy != nil && !kubevirt.IsSupportedRunStrategy(*spec.RunStrategy) {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("runStrategy"), *spec.RunStrategy, kubevirt.SupportedRunStrategies))
	}
	return allErrs
}

// validateMatchers checks the instancetype and preference references as far
// as they can be checked without looking the objects up: each names its
// object or asks for it to be inferred from a volume, not both.
func validateMatchers(spec *virtv1.VirtualMachineSpec, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if it := spec.Instancetype; it != nil {
		allErrs = append(allErrs, validateMatcher(it, lazy(fldPath).child("instancetype"))...)
	}
	if pref := spec.Preference; pref != nil {
		allErrs = append(allErrs, validateMatcher(pref, lazy(fldPath).child("preference"))...)
	}
	return allErrs
}

func validateMatcher(m virtv1.Matcher, fldPath lazyPath) field.ErrorList {
	var allErrs field.ErrorList
	if m.GetName() == "" && m.GetInferFromVolume() == "" {
		allErrs = append(allErrs, field.Required(fldPath(), "must specify name or inferFromVolume"))
	}
	if m.GetInferFromVolume() != "" {
		if m.GetName() != "" {
			allErrs = append(allErrs, field.Forbidden(fldPath().Child("name"), "may not be set together with inferFromVolume"))
		}
		if m.GetKind() != "" {
			allErrs = append(allErrs, field.Forbidden(fldPath().Child("kind"), "may not be set together with inferFromVolume"))
		}
	}
	if p := m.GetInferFromVolumeFailurePolicy(); p != nil {
		allErrs = append(allErrs, validateOneOf(*p, supportedInferFromVolumeFailurePolicies,
			fldPath.child("inferFromVolumeFailurePolicy"))...)
	}
	return allErrs
}

// validateMatcherUpdate keeps a pinned revision consistent: renaming the
// instancetype or preference must also change or clear its revision.
func validateMatcherUpdate(newM, oldM virtv1.Matcher, fldPath lazyPath) field.ErrorList {
	if newM == nil || oldM == nil || newM.GetRevisionName() == "" {
		return nil
	}
	if newM.GetName() != oldM.GetName() && newM.GetRevisionName() == oldM.GetRevisionName() {
		return field.ErrorList{field.Invalid(fldPath().Child("revisionName"), newM.GetRevisionName(),
			"must be changed or cleared when the name changes")}
	}
	return nil
}

// validateTemplateMetadata checks the labels and annotations of the instance
// template and rejects the labels KubeVirt reserves for itself.
func validateTemplateMetadata(tmpl *virtv1.VirtualMachineInstanceTemplateSpec, fldPath lazyPath) field.ErrorList {
	var allErrs field.ErrorList
	// The upstream checks need a built path, and have nothing to report
	// about an empty map.
	if len(tmpl.ObjectMeta.Labels) > 0 {
		allErrs = metav1validation.ValidateLabels(tmpl.ObjectMeta.Labels, fldPath().Child("labels"))
	}
	if len(tmpl.ObjectMeta.Annotations) > 0 {
		allErrs = append(allErrs, apimachineryvalidation.ValidateAnnotations(tmpl.ObjectMeta.Annotations, fldPath().Child("annotations"))...)
	}
	for _, key := range reservedTemplateLabels {
		if _, ok := tmpl.ObjectMeta.Labels[key]; ok {
			allErrs = append(allErrs, field.Forbidden(fldPath().Child("labels").Key(key),
				"this kubevirt.io/ label is reserved for KubeVirt's own components"))
		}
	}
	return allErrs
}

// validateUpdateDuringSnapshotOrRestore keeps a snapshot or a restore that
// is in progress consistent: while one runs, the run strategy may not change,
// and during a snapshot neither may the volumes.
func validateUpdateDuringSnapshotOrRestore(newVM, oldVM *kubevirt.VirtualMachine, fldPath *field.Path) field.ErrorList {
	// The comparisons below cost allocations; most updates happen outside
	// a snapshot or a restore.
	if newVM.Status.SnapshotInProgress == nil && newVM.Status.RestoreInProgress == nil {
		return nil
	}
	var allErrs field.ErrorList
	sameRunStrategy := apiequality.Semantic.DeepEqual(newVM.Spec.Running, oldVM.Spec.Running) &&
		apiequality.Semantic.DeepEqual(newVM.Spec.RunStrategy, oldVM.Spec.RunStrategy)
	if snap := newVM.Status.SnapshotInProgress; snap != nil {
		if !apiequality.Semantic.DeepEqual(templateVolumes(&newVM.Spec), templateVolumes(&oldVM.Spec)) {
			allErrs = append(allErrs, field.Forbidden(fldPath.Child("template", "spec", "volumes"),
				"the volumes may not change until snapshot "+*snap+" completes"))
		}
		if !sameRunStrategy {
			allErrs = append(allErrs, field.Forbidden(fldPath.Child("runStrategy"),
				"the run strategy may not change until snapshot "+*snap+" completes"))
		}
	}
	if restore := newVM.Status.RestoreInProgress; restore != nil && !sameRunStrategy {
		newStrategy, _ := kubevirt.EffectiveRunStrategy(&newVM.Spec)
		oldStrategy, _ := kubevirt.EffectiveRunStrategy(&oldVM.Spec)
		if newStrategy != oldStrategy {
			allErrs = append(allErrs, field.Forbidden(fldPath.Child("runStrategy"),
				"the run strategy may not change until restore "+*restore+" completes"))
		}
	}
	return allErrs
}

func templateVolumes(spec *virtv1.VirtualMachineSpec) []virtv1.Volume {
	if spec.Template == nil {
		return nil
	}
	return spec.Template.Spec.Volumes
}
