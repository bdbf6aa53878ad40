package validation

import (
	"slices"

	"k8s.io/apimachinery/pkg/util/validation/field"
	virtv1 "kubevirt.io/api/core/v1"
	cdiv1 "kubevirt.io/containerized-data-importer-api/pkg/apis/core/v1beta1"
)

// dataVolumeSourceNames are the JSON names of the import sources of a
// DataVolume, in the order of cdiv1.DataVolumeSource.
var dataVolumeSourceNames = []string{"http", "s3", "gcs", "registry", "pvc", "upload", "blank", "imageio", "vddk", "snapshot"}

// validateDataVolumeTemplates checks spec.dataVolumeTemplates: each template
// has a name, describes its target either as pvc or as storage, has exactly
// one way to be populated, and is used by a volume of the instance.
func validateDataVolumeTemplates(templates []virtv1.DataVolumeTemplateSpec, volumes []virtv1.Volume, fldPath lazyPath) field.ErrorList {
	var allErrs field.ErrorList
	for i := range templates {
		dvt := &templates[i]
		idxPath := fldPath.index(i)
		namePath := idxPath.child("metadata", "name")
		if dvt.Name == "" {
			allErrs = append(allErrs, field.Required(namePath(), "a DataVolume name is required"))
		} else if !slices.ContainsFunc(volumes, func(v virtv1.Volume) bool { return usesDataVolume(&v, dvt.Name) }) {
			allErrs = append(allErrs, field.Invalid(namePath(), dvt.Name,
				"must be used by a dataVolume or persistentVolumeClaim volume of the template"))
		}
		allErrs = append(allErrs, validateDataVolumeSpec(&dvt.Spec, idxPath.child("spec"))...)
	}
	return allErrs
}

// usesDataVolume reports whether vol mounts the DataVolume name, directly or
// through the claim CDI creates for it under the same name.
func usesDataVolume(vol *virtv1.Volume, name string) bool {
	return (vol.DataVolume != nil && vol.DataVolume.Name == name) ||
		(vol.PersistentVolumeClaim != nil && vol.PersistentVolumeClaim.ClaimName == name)
}

func validateDataVolumeSpec(spec *cdiv1.DataVolumeSpec, fldPath lazyPath) field.ErrorList {
	var allErrs field.ErrorList
	switch {
	case spec.PVC == nil && spec.Storage == nil:
		allErrs = append(allErrs, field.Required(fldPath(), "must specify exactly one of pvc and storage"))
	case spec.PVC != nil && spec.Storage != nil:
		allErrs = append(allErrs, field.Forbidden(fldPath().Child("storage"), "may not be set together with pvc"))
	}

	// A data source on the claim means an external populator fills it.
	external := false
	if spec.PVC != nil {
		external = spec.PVC.DataSource != nil || spec.PVC.DataSourceRef != nil
	} else if spec.Storage != nil {
		external = spec.Storage.DataSource != nil || spec.Storage.DataSourceRef != nil
	}
	switch {
	case external && spec.Source != nil:
		allErrs = append(allErrs, field.Forbidden(fldPath().Child("source"), "may not be combined with an externally populated claim"))
	case external && spec.SourceRef != nil:
		allErrs = append(allErrs, field.Forbidden(fldPath().Child("sourceRef"), "may not be combined with an externally populated claim"))
	case !external && spec.Source == nil && spec.SourceRef == nil:
		allErrs = append(allErrs, field.Required(fldPath().Child("source"),
			"must specify source or sourceRef, or a data source on the claim"))
	}

	if src := spec.Source; src != nil {
		set := setNames(dataVolumeSourceNames, src.HTTP != nil, src.S3 != nil, src.GCS != nil, src.Registry != nil,
			src.PVC != nil, src.Upload != nil, src.Blank != nil, src.Imageio != nil, src.VDDK != nil, src.Snapshot != nil)
		switch {
		case len(set) == 0:
			allErrs = append(allErrs, field.Required(fldPath().Child("source"), "must specify exactly one import source"))
		case len(set) > 1:
			allErrs = append(allErrs, field.Forbidden(fldPath().Child("source", set[1]), "may not be set together with "+set[0]))
		}
	}
	return allErrs
}

// validateDataVolumeTemplateNamespaces requires the DataVolumes to live in
// the VM's namespace, which is where the VM controller creates them.
func validateDataVolumeTemplateNamespaces(namespace string, templates []virtv1.DataVolumeTemplateSpec, fldPath lazyPath) field.ErrorList {
	var allErrs field.ErrorList
	for i, dvt := range templates {
		if dvt.Namespace != "" && dvt.Namespace != namespace {
			allErrs = append(allErrs, field.Invalid(fldPath().Index(i).Child("metadata", "namespace"), dvt.Namespace,
				"must be empty or the namespace of the VirtualMachine"))
		}
	}
	return allErrs
}
