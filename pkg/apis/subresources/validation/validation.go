// Package validation checks the options of the lifecycle actions. The
// functions are pure: they look at the decoded options only.
package validation

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/subresources"
)

// Field paths as the wire forms name them.
var (
	dryRunPath             = field.NewPath("dryRun")
	gracePeriodPath        = field.NewPath("gracePeriod")
	gracePeriodSecondsPath = field.NewPath("gracePeriodSeconds")
)

// ValidateStartOptions checks a start's options: dryRun only.
func ValidateStartOptions(o *subresources.StartOptions) field.ErrorList {
	return validateDryRun(o.DryRun)
}

// ValidateStopOptions checks a stop's options: a grace period, if given, is
// not negative; 0 stops the instance at once.
func ValidateStopOptions(o *subresources.StopOptions) field.ErrorList {
	allErrs := validateDryRun(o.DryRun)
	if g := o.GracePeriodSeconds; g != nil && *g < 0 {
		allErrs = append(allErrs, field.Invalid(gracePeriodPath, *g, fmt.Sprintf("must not be negative, got %d", *g)))
	}
	return allErrs
}

// ValidateRestartOptions checks a restart's options: the only grace period
// a restart accepts is 0, which forces it.
func ValidateRestartOptions(o *subresources.RestartOptions) field.ErrorList {
	allErrs := validateDryRun(o.DryRun)
	if g := o.GracePeriodSeconds; g != nil && *g != 0 {
		allErrs = append(allErrs, field.Invalid(gracePeriodSecondsPath, *g, fmt.Sprintf("of a restart may only be 0 (a forced restart), got %d", *g)))
	}
	return allErrs
}

// validateDryRun accepts "All" only, as Kubernetes does for every write.
func validateDryRun(values []string) field.ErrorList {
	var allErrs field.ErrorList
	for _, v := range values {
		if v != metav1.DryRunAll {
			allErrs = append(allErrs, field.Invalid(dryRunPath, v, fmt.Sprintf("may only be %q, got %q", metav1.DryRunAll, v)))
		}
	}
	return allErrs
}
