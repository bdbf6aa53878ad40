package validation

import (
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/sets"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Small helpers shared by the topic files: name formats, uniqueness, paths.

// interfaceNamePattern is the character set KubeVirt allows in interface
// names; it is wider than a DNS label (upper case and underscores).
var interfaceNamePattern = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// diskSerialPattern is the character set of a disk serial number.
var diskSerialPattern = regexp.MustCompile(`^[A-Za-z0-9_.+-]+$`)

// pciAddressPattern is a PCI address in domain:bus:slot.function form.
var pciAddressPattern = regexp.MustCompile(`^[\da-fA-F]{4}:[\da-fA-F]{2}:[\da-fA-F]{2}\.[0-7]$`)

func validateDNSLabel(value string, fldPath lazyPath) field.ErrorList {
	var allErrs field.ErrorList
	for _, msg := range utilvalidation.IsDNS1123Label(value) {
		allErrs = append(allErrs, field.Invalid(fldPath(), value, msg))
	}
	return allErrs
}

func validateDNSSubdomain(value string, fldPath lazyPath) field.ErrorList {
	var allErrs field.ErrorList
	for _, msg := range utilvalidation.IsDNS1123Subdomain(value) {
		allErrs = append(allErrs, field.Invalid(fldPath(), value, msg))
	}
	return allErrs
}

// validateUniqueLabelName checks that name is a non-empty DNS-1123 label not
// yet in seen, and records it. Only a well-formed name is recorded, so one
// bad name yields one error.
func validateUniqueLabelName(name string, seen sets.Set[string], fldPath lazyPath) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(fldPath(), "a name is required")}
	}
	if errs := validateDNSLabel(name, fldPath); len(errs) > 0 {
		return errs
	}
	if seen.Has(name) {
		return field.ErrorList{field.Duplicate(fldPath(), name)}
	}
	seen.Insert(name)
	return nil
}

// validateGuestPath checks a path inside an image: absolute, not the root,
// and without relative components such as "..".
func validateGuestPath(path string, fldPath lazyPath) field.ErrorList {
	if path == "/" {
		return field.ErrorList{field.Invalid(fldPath(), path, "must not be the root directory")}
	}
	// filepath.Join cleans the path; a clean absolute path is unchanged by it,
	// apart from a trailing slash.
	if filepath.Join("/", path) != strings.TrimSuffix(path, "/") {
		return field.ErrorList{field.Invalid(fldPath(), path, "must be an absolute path without relative components")}
	}
	return nil
}

func validatePCIAddress(addr string, fldPath lazyPath) field.ErrorList {
	if addr != "" && !pciAddressPattern.MatchString(addr) {
		return field.ErrorList{field.Invalid(fldPath(), addr, "must be a PCI address such as 0000:81:01.0")}
	}
	return nil
}

func validateOneOf[T ~string](value T, allowed []T, fldPath lazyPath) field.ErrorList {
	if slices.Contains(allowed, value) {
		return nil
	}
	return field.ErrorList{field.NotSupported(fldPath(), value, allowed)}
}

func countSet(flags ...bool) int {
	n := 0
	for _, f := range flags {
		if f {
			n++
		}
	}
	return n
}

// setNames returns the JSON names whose flag is set, in the given order.
// Most objects set one flag only; its name is then returned as a window on
// names, without an allocation, and capped so that an append copies it.
func setNames(names []string, flags ...bool) []string {
	if n := countSet(flags...); n > 1 {
		set := make([]string, 0, n)
		for i, f := range flags {
			if f {
				set = append(set, names[i])
			}
		}
		return set
	}
	if i := slices.Index(flags, true); i >= 0 {
		return names[i : i+1 : i+1]
	}
	return nil
}

func isTrue(b *bool) bool { return b != nil && *b }

// enabledUnlessFalse reads a KubeVirt feature toggle whose nil means on.
func enabledUnlessFalse(b *bool) bool { return b == nil || *b }
