package validation

import (
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
	virtv1 "kubevirt.io/api/core/v1"
)

// Devices allocated through Dynamic Resource Allocation name a claim of
// spec.resourceClaims and a request in it; a claim/request pair backs one
// device only, whether GPU, host device or network.

// claimDevice is what a GPU and a host device share for allocation: either a
// device plugin resource name or a DRA claim request.
type claimDevice struct {
	deviceName string
	claim      *virtv1.ClaimRequest
}

func (d claimDevice) isDRA() bool { return d.deviceName == "" && d.claim != nil }

// validateResourceClaims validates spec.resourceClaims and the GPUs, host
// devices and networks that use them.
func validateResourceClaims(spec *virtv1.VirtualMachineInstanceSpec, fldPath lazyPath) field.ErrorList {
	claimsPath := fldPath.child("resourceClaims")
	var allErrs field.ErrorList
	claimNames := sets.New[string]()
	// A claim names an existing ResourceClaim or a template to create one from.
	for i, claim := range spec.ResourceClaims {
		idxPath := claimsPath.index(i)
		allErrs = append(allErrs, validateUniqueLabelName(claim.Name, claimNames, idxPath.child("name"))...)
		switch {
		case claim.ResourceClaimName == nil && claim.ResourceClaimTemplateName == nil:
			allErrs = append(allErrs, field.Required(idxPath(), "must specify resourceClaimName or resourceClaimTemplateName"))
		case claim.ResourceClaimName != nil && claim.ResourceClaimTemplateName != nil:
			allErrs = append(allErrs, field.Forbidden(idxPath().Child("resourceClaimTemplateName"), "may not be set together with resourceClaimName"))
		}
		if claim.ResourceClaimName != nil {
			allErrs = append(allErrs, validateDNSSubdomain(*claim.ResourceClaimName, idxPath.child("resourceClaimName"))...)
		}
		if claim.ResourceClaimTemplateName != nil {
			allErrs = append(allErrs, validateDNSSubdomain(*claim.ResourceClaimTemplateName, idxPath.child("resourceClaimTemplateName"))...)
		}
	}

	devPath := fldPath.child("domain", "devices")
	gpus := make([]claimDevice, len(spec.Domain.Devices.GPUs))
	for i, gpu := range spec.Domain.Devices.GPUs {
		gpus[i] = claimDevice{gpu.DeviceName, gpu.ClaimRequest}
	}
	hostDevices := make([]claimDevice, len(spec.Domain.Devices.HostDevices))
	for i, hd := range spec.Domain.Devices.HostDevices {
		hostDevices[i] = claimDevice{hd.DeviceName, hd.ClaimRequest}
	}
	pairs := sets.New[string]()
	// GPUs are allocated all one way; host devices may mix both.
	allErrs = append(allErrs, validateClaimDevices(gpus, true, claimNames, pairs, devPath.child("gpus"))...)
	allErrs = append(allErrs, validateClaimDevices(hostDevices, false, claimNames, pairs, devPath.child("hostDevices"))...)
	for i, nw := range spec.Networks {
		if rc := nw.ResourceClaim; rc != nil && rc.ClaimName != "" && rc.RequestName != "" {
			key := rc.ClaimName + "/" + rc.RequestName
			if pairs.Has(key) {
				allErrs = append(allErrs, field.Duplicate(fldPath().Child("networks").Index(i).Child("resourceClaim"), key))
			}
			pairs.Insert(key)
		}
	}
	return allErrs
}

// validateClaimDevices checks GPUs or host devices: each is a device plugin
// resource or a DRA request of a declared claim, and a claim/request pair
// backs one device. sameKind forbids mixing both ways in one list.
func validateClaimDevices(devices []claimDevice, sameKind bool, claimNames, pairs sets.Set[string], fldPath lazyPath) field.ErrorList {
	var allErrs field.ErrorList
	draCount := 0
	for _, d := range devices {
		if d.isDRA() {
			draCount++
		}
	}
	if sameKind && draCount > 0 && draCount < len(devices) {
		return field.ErrorList{field.Invalid(fldPath(), draCount, "must be allocated all through resource claims or all by deviceName")}
	}
	for i, d := range devices {
		idxPath := fldPath.index(i)
		if !d.isDRA() {
			switch {
			case d.deviceName == "":
				allErrs = append(allErrs, field.Required(idxPath().Child("deviceName"), "must specify deviceName or claimName and requestName"))
			case d.claim != nil:
				allErrs = append(allErrs, field.Forbidden(idxPath().Child("claimName"), "may not be set together with deviceName"))
			}
			continue
		}
		errs := validateClaimRequest(d.claim, idxPath)
		allErrs = append(allErrs, errs...)
		if len(errs) > 0 {
			continue
		}
		// The claim must be one the pod declares, or it would never be allocated.
		if !claimNames.Has(d.claim.ClaimName) {
			allErrs = append(allErrs, field.NotFound(idxPath().Child("claimName"), d.claim.ClaimName))
		}
		key := d.claim.ClaimName + "/" + d.claim.RequestName
		if pairs.Has(key) {
			allErrs = append(allErrs, field.Duplicate(idxPath(), key))
		}
		pairs.Insert(key)
	}
	return allErrs
}

// validateClaimRequest requires both halves of a claim request.
func validateClaimRequest(cr *virtv1.ClaimRequest, fldPath lazyPath) field.ErrorList {
	var allErrs field.ErrorList
	if cr.ClaimName == "" {
		allErrs = append(allErrs, field.Required(fldPath().Child("claimName"), "a claim name is required"))
	}
	if cr.RequestName == "" {
		allErrs = append(allErrs, field.Required(fldPath().Child("requestName"), "a request name is required"))
	}
	return allErrs
}
