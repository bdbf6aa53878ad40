package validation

import (
	"k8s.io/apimachinery/pkg/util/validation/field"
	virtv1 "kubevirt.io/api/core/v1"
)

// launchSecurityNames are the JSON names of the launch security kinds.
var launchSecurityNames = []string{"sev", "snp", "tdx"}

// secureBootEnabled reports whether the firmware boots EFI with secure boot,
// which is on unless secureBoot is false.
func secureBootEnabled(fw *virtv1.Firmware) bool {
	return fw != nil && fw.Bootloader != nil && fw.Bootloader.EFI != nil && enabledUnlessFalse(fw.Bootloader.EFI.SecureBoot)
}

// smmEnabled reports whether features.smm is present and not disabled.
func smmEnabled(features *virtv1.Features) bool {
	return features != nil && features.SMM != nil && enabledUnlessFalse(features.SMM.Enabled)
}

func validateFirmware(spec *virtv1.VirtualMachineInstanceSpec, fldPath lazyPath) field.ErrorList {
	domain := &spec.Domain
	var allErrs field.ErrorList
	// Secure boot keeps its variables safe with SMM. TDX firmware carries
	// its keys in ROM and needs no SMM.
	tdx := domain.LaunchSecurity != nil && domain.LaunchSecurity.TDX != nil
	if secureBootEnabled(domain.Firmware) && !smmEnabled(domain.Features) && !tdx {
		allErrs = append(allErrs, field.Required(fldPath().Child("features", "smm"),
			"EFI secure boot (the default with efi unless secureBoot is false) requires the SMM feature"))
	}

	fw := domain.Firmware
	if fw == nil {
		return allErrs
	}
	fwPath := fldPath.child("firmware")
	if bl := fw.Bootloader; bl != nil && bl.BIOS != nil && bl.EFI != nil {
		allErrs = append(allErrs, field.Forbidden(fwPath().Child("bootloader", "efi"), "may not be set together with bios"))
	}
	if kb := fw.KernelBoot; kb != nil {
		allErrs = append(allErrs, validateKernelBoot(kb, fwPath.child("kernelBoot"))...)
	}
	if acpi := fw.ACPI; acpi != nil {
		allErrs = append(allErrs, validateACPI(acpi, spec.Volumes, fwPath.child("acpi"))...)
	}
	return allErrs
}

// validateKernelBoot requires an external kernel to come from a container
// image that holds a kernel or an initrd at an absolute path.
func validateKernelBoot(kb *virtv1.KernelBoot, fldPath lazyPath) field.ErrorList {
	var allErrs field.ErrorList
	c := kb.Container
	if c == nil {
		if kb.KernelArgs != "" {
			allErrs = append(allErrs, field.Forbidden(fldPath().Child("kernelArgs"), "kernel arguments need an external kernel in container"))
		}
		return allErrs
	}
	cPath := fldPath.child("container")
	if c.Image == "" {
		allErrs = append(allErrs, field.Required(cPath().Child("image"), "a container image is required"))
	}
	if c.KernelPath == "" && c.InitrdPath == "" {
		allErrs = append(allErrs, field.Required(cPath(), "must specify kernelPath or initrdPath"))
	}
	if c.KernelPath != "" {
		allErrs = append(allErrs, validateGuestPath(c.KernelPath, cPath.child("kernelPath"))...)
	}
	if c.InitrdPath != "" {
		allErrs = append(allErrs, validateGuestPath(c.InitrdPath, cPath.child("initrdPath"))...)
	}
	if c.ImagePullPolicy != "" {
		allErrs = append(allErrs, validateOneOf(c.ImagePullPolicy, supportedPullPolicies, cPath.child("imagePullPolicy"))...)
	}
	return allErrs
}

// validateACPI requires the ACPI tables to come from Secret volumes.
func validateACPI(acpi *virtv1.ACPI, volumes []virtv1.Volume, fldPath lazyPath) field.ErrorList {
	if acpi.SlicNameRef == "" && acpi.MsdmNameRef == "" {
		return field.ErrorList{field.Required(fldPath(), "must specify slicNameRef or msdmNameRef")}
	}
	var allErrs field.ErrorList
	for _, ref := range []struct{ name, field string }{{acpi.SlicNameRef, "slicNameRef"}, {acpi.MsdmNameRef, "msdmNameRef"}} {
		if ref.name == "" {
			continue
		}
		var vol *virtv1.Volume
		for i := range volumes {
			if volumes[i].Name == ref.name {
				vol = &volumes[i]
				break
			}
		}
		switch {
		case vol == nil:
			allErrs = append(allErrs, field.NotFound(fldPath().Child(ref.field), ref.name))
		case vol.Secret == nil:
			allErrs = append(allErrs, field.Invalid(fldPath().Child(ref.field), ref.name, "must name a secret volume"))
		}
	}
	return allErrs
}

// validateLaunchSecurity applies the confidential computing rules. Which
// apply depends on the architecture; an empty one is filled in by the
// cluster's default, which this server cannot know, so only an explicit
// amd64 gets the amd64 rules. fldPath is the instance spec's path.
func validateLaunchSecurity(spec *virtv1.VirtualMachineInstanceSpec, fldPath lazyPath) field.ErrorList {
	ls := spec.Domain.LaunchSecurity
	if ls == nil {
		return nil
	}
	switch spec.Architecture {
	case "", architectureS390X:
		// s390x Secure Execution has no settings to check.
		return nil
	case architectureAMD64:
	default:
		return field.ErrorList{field.Invalid(fldPath().Child("architecture"), spec.Architecture,
			"launch security is only supported on amd64 and s390x")}
	}

	domPath := fldPath.child("domain")
	lsPath := domPath.child("launchSecurity")
	set := setNames(launchSecurityNames, ls.SEV != nil, ls.SNP != nil, ls.TDX != nil)
	switch {
	case len(set) == 0:
		return field.ErrorList{field.Required(lsPath(), "must specify exactly one of sev, snp and tdx")}
	case len(set) > 1:
		return field.ErrorList{field.Forbidden(lsPath().Child(set[1]), "may not be set together with "+set[0])}
	}
	var allErrs field.ErrorList
	if ls.TDX != nil && smmEnabled(spec.Domain.Features) {
		allErrs = append(allErrs, field.Forbidden(domPath().Child("features", "smm"), "TDX does not work with SMM"))
	}
	fw := spec.Domain.Firmware
	efiPath := domPath.child("firmware", "bootloader", "efi")
	if fw == nil || fw.Bootloader == nil || fw.Bootloader.EFI == nil {
		allErrs = append(allErrs, field.Required(efiPath(), set[0]+" requires EFI firmware"))
	} else {
		efi := fw.Bootloader.EFI
		if (ls.SEV != nil || ls.SNP != nil) && enabledUnlessFalse(efi.SecureBoot) {
			allErrs = append(allErrs, field.Invalid(efiPath().Child("secureBoot"), true, set[0]+" does not work with secure boot"))
		}
		if (ls.SNP != nil || ls.TDX != nil) && isTrue(efi.Persistent) {
			allErrs = append(allErrs, field.Invalid(efiPath().Child("persistent"), true, set[0]+" does not work with persistent EFI variables"))
		}
	}
	// Attestation happens before the guest runs, so the VM must start paused.
	if ls.SEV != nil && ls.SEV.Attestation != nil &&
		(spec.StartStrategy == nil || *spec.StartStrategy != virtv1.StartStrategyPaused) {
		allErrs = append(allErrs, field.Invalid(lsPath().Child("sev", "attestation"), "", "SEV attestation requires startStrategy Paused"))
	}
	for i, iface := range spec.Domain.Devices.Interfaces {
		if iface.BootOrder != nil {
			allErrs = append(allErrs, field.Forbidden(domPath().Child("devices", "interfaces").Index(i).Child("bootOrder"),
				set[0]+" does not support booting from a network interface"))
		}
	}
	return allErrs
}
