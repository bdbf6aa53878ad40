package validation

import (
	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	virtv1 "kubevirt.io/api/core/v1"
)

// instanceOptions carries what the VM around a template tells its rules.
type instanceOptions struct {
	// hasInstancetype is set when spec.instancetype supplies CPU and memory.
	hasInstancetype bool
}

var supportedEvictionStrategies = []virtv1.EvictionStrategy{
	virtv1.EvictionStrategyNone, virtv1.EvictionStrategyLiveMigrate,
	virtv1.EvictionStrategyLiveMigrateIfPossible, virtv1.EvictionStrategyExternal,
}

// probeHandlerNames are the JSON names of the handlers of a probe.
var probeHandlerNames = []string{"exec", "guestAgentPing", "httpGet", "tcpSocket"}

// validateInstanceSpec validates the instance template's spec, topic by
// topic. Each topic file owns the fields it names.
func validateInstanceSpec(spec *virtv1.VirtualMachineInstanceSpec, opts instanceOptions, fldPath lazyPath) field.ErrorList {
	allErrs := validateVolumes(spec, fldPath.child("volumes"))
	allErrs = append(allErrs, validateNetworking(spec, fldPath)...)
	allErrs = append(allErrs, validateDomain(spec, opts, fldPath.child("domain"))...)
	allErrs = append(allErrs, validateLaunchSecurity(spec, fldPath)...)
	allErrs = append(allErrs, validateDisks(spec, fldPath)...)
	allErrs = append(allErrs, validateDevices(spec, fldPath)...)
	allErrs = append(allErrs, validateResourceClaims(spec, fldPath)...)
	allErrs = append(allErrs, validateScheduling(spec, fldPath)...)
	allErrs = append(allErrs, validateDNS(spec, fldPath)...)
	allErrs = append(allErrs, validateLifecycle(spec, fldPath)...)
	allErrs = append(allErrs, validateAccessCredentials(spec, fldPath.child("accessCredentials"))...)

	if spec.Hostname != "" {
		allErrs = append(allErrs, validateDNSLabel(spec.Hostname, fldPath.child("hostname"))...)
	}
	// KubeVirt takes the subdomain as a DNS-1123 subdomain, not only a label.
	if spec.Subdomain != "" {
		allErrs = append(allErrs, validateDNSSubdomain(spec.Subdomain, fldPath.child("subdomain"))...)
	}
	allErrs = append(allErrs, validateServiceAccount(spec, fldPath)...)
	// Utility volumes are only ever hotplugged into a running instance; a
	// template may not declare them.
	if spec.UtilityVolumes != nil {
		allErrs = append(allErrs, field.Forbidden(fldPath().Child("utilityVolumes"),
			"utility volumes can only be added by hotplug, not in a template"))
	}
	return allErrs
}

// validateLifecycle covers how the instance starts, stops and is probed.
func validateLifecycle(spec *virtv1.VirtualMachineInstanceSpec, fldPath lazyPath) field.ErrorList {
	var allErrs field.ErrorList
	// ValidateNonnegativeField reports a negative value only; its path is
	// built for that case alone.
	if spec.TerminationGracePeriodSeconds != nil && *spec.TerminationGracePeriodSeconds < 0 {
		allErrs = append(allErrs, apimachineryvalidation.ValidateNonnegativeField(
			*spec.TerminationGracePeriodSeconds, fldPath().Child("terminationGracePeriodSeconds"))...)
	}
	if spec.EvictionStrategy != nil {
		allErrs = append(allErrs, validateOneOf(*spec.EvictionStrategy, supportedEvictionStrategies,
			fldPath.child("evictionStrategy"))...)
	}
	if spec.StartStrategy != nil {
		startPath := fldPath.child("startStrategy")
		allErrs = append(allErrs, validateOneOf(*spec.StartStrategy, []virtv1.StartStrategy{virtv1.StartStrategyPaused}, startPath)...)
		// A paused guest cannot answer a liveness probe.
		if *spec.StartStrategy == virtv1.StartStrategyPaused && spec.LivenessProbe != nil {
			allErrs = append(allErrs, field.Forbidden(startPath(), "a paused start may not be combined with a liveness probe"))
		}
	}

	hasPodNetwork := false
	for _, net := range spec.Networks {
		hasPodNetwork = hasPodNetwork || net.Pod != nil
	}
	allErrs = append(allErrs, validateProbe(spec.ReadinessProbe, hasPodNetwork, fldPath.child("readinessProbe"))...)
	allErrs = append(allErrs, validateProbe(spec.LivenessProbe, hasPodNetwork, fldPath.child("livenessProbe"))...)
	return allErrs
}

// validateProbe requires exactly one handler; the network probes reach the
// guest through the pod network, so they need one.
func validateProbe(probe *virtv1.Probe, hasPodNetwork bool, fldPath lazyPath) field.ErrorList {
	if probe == nil {
		return nil
	}
	var allErrs field.ErrorList
	set := setNames(probeHandlerNames, probe.Exec != nil, probe.GuestAgentPing != nil, probe.HTTPGet != nil, probe.TCPSocket != nil)
	switch {
	case len(set) == 0:
		allErrs = append(allErrs, field.Required(fldPath(), "must specify exactly one of exec, guestAgentPing, httpGet and tcpSocket"))
	case len(set) > 1:
		allErrs = append(allErrs, field.Forbidden(fldPath().Child(set[1]), "may not be set together with "+set[0]))
	}
	if !hasPodNetwork {
		if probe.HTTPGet != nil {
			allErrs = append(allErrs, field.Forbidden(fldPath().Child("httpGet"), "requires a pod network"))
		}
		if probe.TCPSocket != nil {
			allErrs = append(allErrs, field.Forbidden(fldPath().Child("tcpSocket"), "requires a pod network"))
		}
	}
	return allErrs
}

// validateServiceAccount checks the instance's service account name and that
// a serviceAccount volume, if any, names the same account.
func validateServiceAccount(spec *virtv1.VirtualMachineInstanceSpec, fldPath lazyPath) field.ErrorList {
	if spec.ServiceAccountName == "" {
		return nil
	}
	namePath := fldPath.child("serviceAccountName")
	allErrs := validateDNSSubdomain(spec.ServiceAccountName, namePath)
	for _, vol := range spec.Volumes {
		if vol.ServiceAccount != nil && vol.ServiceAccount.ServiceAccountName != spec.ServiceAccountName {
			allErrs = append(allErrs, field.Invalid(namePath(), spec.ServiceAccountName,
				"must name the same service account as the serviceAccount volume "+vol.Name))
			break
		}
	}
	return allErrs
}

// validateAccessCredentials requires one credential type per entry, with one
// source and one propagation method; the cloud-init methods need a volume of
// the matching kind to carry the keys.
func validateAccessCredentials(spec *virtv1.VirtualMachineInstanceSpec, fldPath lazyPath) field.ErrorList {
	hasNoCloud, hasConfigDrive := false, false
	for _, vol := range spec.Volumes {
		hasNoCloud = hasNoCloud || vol.CloudInitNoCloud != nil
		hasConfigDrive = hasConfigDrive || vol.CloudInitConfigDrive != nil
	}

	var allErrs field.ErrorList
	for i, cred := range spec.AccessCredentials {
		idxPath := fldPath.index(i)
		switch countSet(cred.SSHPublicKey != nil, cred.UserPassword != nil) {
		case 0:
			allErrs = append(allErrs, field.Required(idxPath(), "must specify exactly one of sshPublicKey and userPassword"))
		case 2:
			allErrs = append(allErrs, field.Forbidden(idxPath().Child("userPassword"), "may not be set together with sshPublicKey"))
		}
		if key := cred.SSHPublicKey; key != nil {
			keyPath := idxPath.child("sshPublicKey")
			if key.Source.Secret == nil {
				allErrs = append(allErrs, field.Required(keyPath().Child("source", "secret"), "a secret source is required"))
			}
			method := key.PropagationMethod
			methodPath := keyPath.child("propagationMethod")
			if countSet(method.ConfigDrive != nil, method.NoCloud != nil, method.QemuGuestAgent != nil) != 1 {
				allErrs = append(allErrs, field.Invalid(methodPath(), "", "must specify exactly one of configDrive, noCloud and qemuGuestAgent"))
			}
			if method.NoCloud != nil && !hasNoCloud {
				allErrs = append(allErrs, field.Invalid(methodPath().Child("noCloud"), "", "requires a cloudInitNoCloud volume"))
			}
			if method.ConfigDrive != nil && !hasConfigDrive {
				allErrs = append(allErrs, field.Invalid(methodPath().Child("configDrive"), "", "requires a cloudInitConfigDrive volume"))
			}
			if qga := method.QemuGuestAgent; qga != nil && len(qga.Users) == 0 {
				allErrs = append(allErrs, field.Required(methodPath().Child("qemuGuestAgent", "users"), "at least one user is required"))
			}
		}
		if pw := cred.UserPassword; pw != nil {
			pwPath := idxPath.child("userPassword")
			if pw.Source.Secret == nil {
				allErrs = append(allErrs, field.Required(pwPath().Child("source", "secret"), "a secret source is required"))
			}
			if pw.PropagationMethod.QemuGuestAgent == nil {
				allErrs = append(allErrs, field.Required(pwPath().Child("propagationMethod", "qemuGuestAgent"),
					"the guest agent is the only propagation method"))
			}
		}
	}
	return allErrs
}

// dnsPolicies are the pod DNS policies.
var dnsPolicies = []corev1.DNSPolicy{corev1.DNSClusterFirstWithHostNet, corev1.DNSClusterFirst, corev1.DNSDefault, corev1.DNSNone}
