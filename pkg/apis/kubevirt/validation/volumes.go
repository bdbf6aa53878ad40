package validation

import (
	"encoding/base64"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
	virtv1 "kubevirt.io/api/core/v1"
)

// maxCloudInitDataLength bounds inline cloud-init user and network data, in
// bytes after base64 decoding; larger data belongs in a Secret.
const maxCloudInitDataLength = 2048

var (
	supportedPullPolicies  = []corev1.PullPolicy{corev1.PullAlways, corev1.PullNever, corev1.PullIfNotPresent}
	supportedHostDiskTypes = []virtv1.HostDiskType{virtv1.HostDiskExists, virtv1.HostDiskExistsOrCreate}
	// volumeSourceNames are the JSON names of every source of a volume, in
	// the order of virtv1.VolumeSource.
	volumeSourceNames = []string{
		"hostDisk", "persistentVolumeClaim", "cloudInitNoCloud", "cloudInitConfigDrive", "sysprep",
		"containerDisk", "ephemeral", "emptyDisk", "dataVolume", "configMap", "secret", "downwardAPI",
		"serviceAccount", "downwardMetrics", "memoryDump", "containerPath",
	}
	// singletonVolumeSources may back at most one volume of an instance.
	singletonVolumeSources = []string{"serviceAccount", "downwardMetrics", "memoryDump"}
)

// volumeSources returns the JSON names of the sources src sets.
func volumeSources(src *virtv1.VolumeSource) []string {
	return setNames(volumeSourceNames,
		src.HostDisk != nil, src.PersistentVolumeClaim != nil, src.CloudInitNoCloud != nil, src.CloudInitConfigDrive != nil,
		src.Sysprep != nil, src.ContainerDisk != nil, src.Ephemeral != nil, src.EmptyDisk != nil, src.DataVolume != nil,
		src.ConfigMap != nil, src.Secret != nil, src.DownwardAPI != nil, src.ServiceAccount != nil,
		src.DownwardMetrics != nil, src.MemoryDump != nil, src.ContainerPath != nil)
}

// validateVolumes validates spec.volumes: unique DNS-label names, exactly
// one source each, and the required fields of that source.
func validateVolumes(spec *virtv1.VirtualMachineInstanceSpec, fldPath lazyPath) field.ErrorList {
	var allErrs field.ErrorList
	names := sets.New[string]()
	singletons := sets.New[string]()
	for i := range spec.Volumes {
		vol := &spec.Volumes[i]
		idxPath := fldPath.index(i)
		allErrs = append(allErrs, validateUniqueLabelName(vol.Name, names, idxPath.child("name"))...)

		sources := volumeSources(&vol.VolumeSource)
		switch {
		case len(sources) == 0:
			allErrs = append(allErrs, field.Required(idxPath(), "must specify exactly one volume source"))
		case len(sources) > 1:
			allErrs = append(allErrs, field.Forbidden(idxPath().Child(sources[1]), "may not be set together with "+sources[0]))
		}
		for _, src := range sources {
			for _, single := range singletonVolumeSources {
				if src != single {
					continue
				}
				if singletons.Has(src) {
					allErrs = append(allErrs, field.Forbidden(idxPath().Child(src), "only one volume of this kind is allowed"))
				}
				singletons.Insert(src)
			}
		}
		allErrs = append(allErrs, validateVolumeSource(&vol.VolumeSource, idxPath)...)
	}
	return allErrs
}

// validateVolumeSource checks the required fields of each source that is set.
func validateVolumeSource(src *virtv1.VolumeSource, fldPath lazyPath) field.ErrorList {
	var allErrs field.ErrorList
	required := func(set bool, path lazyPath, what string) {
		if !set {
			allErrs = append(allErrs, field.Required(path(), what+" is required"))
		}
	}

	if cd := src.ContainerDisk; cd != nil {
		cdPath := fldPath.child("containerDisk")
		required(cd.Image != "", cdPath.child("image"), "a container image")
		if cd.ImagePullPolicy != "" {
			allErrs = append(allErrs, validateOneOf(cd.ImagePullPolicy, supportedPullPolicies, cdPath.child("imagePullPolicy"))...)
		}
		if cd.Path != "" {
			allErrs = append(allErrs, validateGuestPath(cd.Path, cdPath.child("path"))...)
		}
	}
	if ci := src.CloudInitNoCloud; ci != nil {
		allErrs = append(allErrs, validateCloudInit(ci.UserDataSecretRef, ci.UserDataBase64, ci.UserData,
			ci.NetworkDataSecretRef, ci.NetworkDataBase64, ci.NetworkData, fldPath.child("cloudInitNoCloud"))...)
	}
	if ci := src.CloudInitConfigDrive; ci != nil {
		allErrs = append(allErrs, validateCloudInit(ci.UserDataSecretRef, ci.UserDataBase64, ci.UserData,
			ci.NetworkDataSecretRef, ci.NetworkDataBase64, ci.NetworkData, fldPath.child("cloudInitConfigDrive"))...)
	}
	if hd := src.HostDisk; hd != nil {
		hdPath := fldPath.child("hostDisk")
		required(hd.Path != "", hdPath.child("path"), "a path")
		allErrs = append(allErrs, validateOneOf(hd.Type, supportedHostDiskTypes, hdPath.child("type"))...)
		// An existing image has its own size.
		if hd.Type == virtv1.HostDiskExists && !hd.Capacity.IsZero() {
			allErrs = append(allErrs, field.Forbidden(hdPath().Child("capacity"), "may only be set with type DiskOrCreate"))
		}
	}
	if pvc := src.PersistentVolumeClaim; pvc != nil {
		required(pvc.ClaimName != "", fldPath.child("persistentVolumeClaim", "claimName"), "a claim name")
	}
	if md := src.MemoryDump; md != nil {
		required(md.ClaimName != "", fldPath.child("memoryDump", "claimName"), "a claim name")
	}
	// An ephemeral volume is a copy-on-write overlay of a claim.
	if eph := src.Ephemeral; eph != nil {
		pvcPath := fldPath.child("ephemeral", "persistentVolumeClaim")
		required(eph.PersistentVolumeClaim != nil, pvcPath, "a claim")
		if eph.PersistentVolumeClaim != nil {
			required(eph.PersistentVolumeClaim.ClaimName != "", pvcPath.child("claimName"), "a claim name")
		}
	}
	if dv := src.DataVolume; dv != nil {
		required(dv.Name != "", fldPath.child("dataVolume", "name"), "a DataVolume name")
	}
	if ed := src.EmptyDisk; ed != nil && ed.Capacity.Sign() <= 0 {
		allErrs = append(allErrs, field.Invalid(fldPath().Child("emptyDisk", "capacity"), ed.Capacity.String(), "must be greater than 0"))
	}
	if s := src.Secret; s != nil {
		required(s.SecretName != "", fldPath.child("secret", "secretName"), "a Secret name")
	}
	if cm := src.ConfigMap; cm != nil {
		required(cm.Name != "", fldPath.child("configMap", "name"), "a ConfigMap name")
	}
	if sa := src.ServiceAccount; sa != nil {
		required(sa.ServiceAccountName != "", fldPath.child("serviceAccount", "serviceAccountName"), "a service account name")
	}
	// Sysprep answer files come from exactly one object.
	if sp := src.Sysprep; sp != nil {
		spPath := fldPath.child("sysprep")
		switch countSet(sp.Secret != nil, sp.ConfigMap != nil) {
		case 0:
			allErrs = append(allErrs, field.Required(spPath(), "must specify exactly one of secret and configMap"))
		case 2:
			allErrs = append(allErrs, field.Forbidden(spPath().Child("configMap"), "may not be set together with secret"))
		}
	}
	if cp := src.ContainerPath; cp != nil {
		cpPath := fldPath.child("containerPath", "path")
		required(cp.Path != "", cpPath, "a path")
		if cp.Path != "" {
			allErrs = append(allErrs, validateGuestPath(cp.Path, cpPath)...)
		}
	}
	return allErrs
}

// validateCloudInit checks that cloud-init data comes from at most one place
// each for user and network data, that there is some data at all, and that
// inline data is well-formed and small.
func validateCloudInit(userRef *corev1.LocalObjectReference, userB64, user string,
	netRef *corev1.LocalObjectReference, netB64, net string, fldPath lazyPath) field.ErrorList {
	var allErrs field.ErrorList
	// A reference without a name does not count as a source, as in KubeVirt.
	userSources := countSet(userRef != nil && userRef.Name != "", userB64 != "", user != "")
	netSources := countSet(netRef != nil && netRef.Name != "", netB64 != "", net != "")
	if userSources > 1 {
		allErrs = append(allErrs, field.Forbidden(fldPath(), "only one of secretRef, userDataBase64 and userData may be set"))
	}
	if netSources > 1 {
		allErrs = append(allErrs, field.Forbidden(fldPath(),
			"only one of networkDataSecretRef, networkDataBase64 and networkData may be set"))
	}
	if userSources == 0 && netSources == 0 {
		allErrs = append(allErrs, field.Required(fldPath(), "must specify user data or network data"))
	}
	allErrs = append(allErrs, validateInlineCloudInitData(userB64, user, fldPath.child("userDataBase64"), fldPath.child("userData"))...)
	allErrs = append(allErrs, validateInlineCloudInitData(netB64, net, fldPath.child("networkDataBase64"), fldPath.child("networkData"))...)
	return allErrs
}

// validateInlineCloudInitData checks inline data: base64 that decodes, and
// at most maxCloudInitDataLength bytes once decoded.
func validateInlineCloudInitData(b64, plain string, b64Path, plainPath lazyPath) field.ErrorList {
	var allErrs field.ErrorList
	if b64 != "" {
		decoded, err := base64.StdEncoding.DecodeString(b64)
		switch {
		case err != nil:
			allErrs = append(allErrs, field.Invalid(b64Path(), "", "must be valid base64"))
		case len(decoded) > maxCloudInitDataLength:
			allErrs = append(allErrs, field.TooLong(b64Path(), "", maxCloudInitDataLength))
		}
	}
	if len(plain) > maxCloudInitDataLength {
		allErrs = append(allErrs, field.TooLong(plainPath(), "", maxCloudInitDataLength))
	}
	return allErrs
}
