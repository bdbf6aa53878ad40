package validation

import (
	"net"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
	virtv1 "kubevirt.io/api/core/v1"
)

// The scheduling and DNS fields are handed to the virt-launcher pod as they
// are. The rules here are the subset of the pod rules that KubeVirt checks
// itself, so that a VM whose pod could never be created is refused early.

const (
	maxDNSNameservers     = 3
	maxDNSSearchPaths     = 6
	maxDNSSearchListChars = 256
)

var (
	supportedTolerationOps = []corev1.TolerationOperator{corev1.TolerationOpExists, corev1.TolerationOpEqual}
	supportedTaintEffects  = []corev1.TaintEffect{
		corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute,
	}
	supportedScheduleActions = []corev1.UnsatisfiableConstraintAction{corev1.DoNotSchedule, corev1.ScheduleAnyway}
)

// validateScheduling checks what places the virt-launcher pod: node selector,
// tolerations, affinity and topology spread.
func validateScheduling(spec *virtv1.VirtualMachineInstanceSpec, fldPath lazyPath) field.ErrorList {
	var allErrs field.ErrorList
	// ValidateLabels needs a built path, and has nothing to report about an
	// empty map.
	if len(spec.NodeSelector) > 0 {
		allErrs = metav1validation.ValidateLabels(spec.NodeSelector, fldPath().Child("nodeSelector"))
	}
	allErrs = append(allErrs, validateTolerations(spec.Tolerations, fldPath.child("tolerations"))...)
	if spec.Affinity != nil {
		allErrs = append(allErrs, validateAffinity(spec.Affinity, fldPath.child("affinity"))...)
	}
	allErrs = append(allErrs, validateTopologySpread(spec.TopologySpreadConstraints, fldPath.child("topologySpreadConstraints"))...)
	return allErrs
}

// validateTolerations is a light version of the core validation: it checks
// the key, operator and effect without the feature-gated operators.
func validateTolerations(tolerations []corev1.Toleration, fldPath lazyPath) field.ErrorList {
	var allErrs field.ErrorList
	for i, tol := range tolerations {
		idxPath := fldPath.index(i)
		if tol.Key != "" {
			allErrs = append(allErrs, metav1validation.ValidateLabelName(tol.Key, idxPath().Child("key"))...)
		}
		switch tol.Operator {
		case "", corev1.TolerationOpEqual:
			if tol.Key == "" {
				allErrs = append(allErrs, field.Invalid(idxPath().Child("operator"), tol.Operator, "must be Exists when key is empty"))
			}
		case corev1.TolerationOpExists:
			if tol.Value != "" {
				allErrs = append(allErrs, field.Invalid(idxPath().Child("value"), tol.Value, "must be empty when operator is Exists"))
			}
		default:
			allErrs = append(allErrs, field.NotSupported(idxPath().Child("operator"), tol.Operator, supportedTolerationOps))
		}
		if tol.Effect != "" {
			allErrs = append(allErrs, validateOneOf(tol.Effect, supportedTaintEffects, idxPath.child("effect"))...)
		}
		if tol.TolerationSeconds != nil && tol.Effect != corev1.TaintEffectNoExecute {
			allErrs = append(allErrs, field.Invalid(idxPath().Child("effect"), tol.Effect, "must be NoExecute when tolerationSeconds is set"))
		}
	}
	return allErrs
}

// validateAffinity applies the pod rules to node affinity, pod affinity and
// pod anti-affinity; requiredDuringSchedulingRequiredDuringExecution does not
// exist yet in the API, so there is nothing more to check.
func validateAffinity(affinity *corev1.Affinity, fldPath lazyPath) field.ErrorList {
	var allErrs field.ErrorList
	if na := affinity.NodeAffinity; na != nil {
		naPath := fldPath.child("nodeAffinity")
		if sel := na.RequiredDuringSchedulingIgnoredDuringExecution; sel != nil {
			termsPath := naPath.child("requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms")
			if len(sel.NodeSelectorTerms) == 0 {
				allErrs = append(allErrs, field.Required(termsPath(), "at least one node selector term is required"))
			}
			for i, term := range sel.NodeSelectorTerms {
				allErrs = append(allErrs, validateNodeSelectorTerm(term, termsPath.index(i))...)
			}
		}
		for i, term := range na.PreferredDuringSchedulingIgnoredDuringExecution {
			idxPath := naPath.child("preferredDuringSchedulingIgnoredDuringExecution").index(i)
			allErrs = append(allErrs, validateWeight(term.Weight, idxPath.child("weight"))...)
			allErrs = append(allErrs, validateNodeSelectorTerm(term.Preference, idxPath.child("preference"))...)
		}
	}
	if pa := affinity.PodAffinity; pa != nil {
		allErrs = append(allErrs, validatePodAffinityTerms(pa.RequiredDuringSchedulingIgnoredDuringExecution,
			pa.PreferredDuringSchedulingIgnoredDuringExecution, fldPath.child("podAffinity"))...)
	}
	if paa := affinity.PodAntiAffinity; paa != nil {
		allErrs = append(allErrs, validatePodAffinityTerms(paa.RequiredDuringSchedulingIgnoredDuringExecution,
			paa.PreferredDuringSchedulingIgnoredDuringExecution, fldPath.child("podAntiAffinity"))...)
	}
	return allErrs
}

// validateWeight bounds the weight of a preferred term, as the scheduler does.
func validateWeight(weight int32, fldPath lazyPath) field.ErrorList {
	if weight < 1 || weight > 100 {
		return field.ErrorList{field.Invalid(fldPath(), weight, "must be in the range 1-100")}
	}
	return nil
}

// validateNodeSelectorTerm checks the requirements of a node selector term:
// the values each operator needs and valid label keys.
func validateNodeSelectorTerm(term corev1.NodeSelectorTerm, fldPath lazyPath) field.ErrorList {
	var allErrs field.ErrorList
	for i, req := range term.MatchExpressions {
		reqPath := fldPath.child("matchExpressions").index(i)
		valuesPath := reqPath.child("values")
		switch req.Operator {
		case corev1.NodeSelectorOpIn, corev1.NodeSelectorOpNotIn:
			if len(req.Values) == 0 {
				allErrs = append(allErrs, field.Required(valuesPath(), "required with the In and NotIn operators"))
			}
		case corev1.NodeSelectorOpExists, corev1.NodeSelectorOpDoesNotExist:
			if len(req.Values) > 0 {
				allErrs = append(allErrs, field.Forbidden(valuesPath(), "may not be set with the Exists and DoesNotExist operators"))
			}
		// Gt and Lt compare the label with a single integer.
		case corev1.NodeSelectorOpGt, corev1.NodeSelectorOpLt:
			if len(req.Values) != 1 {
				allErrs = append(allErrs, field.Required(valuesPath(), "exactly one value is required with the Gt and Lt operators"))
			}
		default:
			allErrs = append(allErrs, field.Invalid(reqPath().Child("operator"), req.Operator, "not a node selector operator"))
		}
		allErrs = append(allErrs, metav1validation.ValidateLabelName(req.Key, reqPath().Child("key"))...)
	}
	// A node can only be selected by field on its name.
	for i, req := range term.MatchFields {
		reqPath := fldPath.child("matchFields").index(i)
		switch req.Operator {
		case corev1.NodeSelectorOpIn, corev1.NodeSelectorOpNotIn:
			if len(req.Values) != 1 {
				allErrs = append(allErrs, field.Required(reqPath().Child("values"), "exactly one value is required for a field selector"))
			}
		default:
			allErrs = append(allErrs, field.Invalid(reqPath().Child("operator"), req.Operator, "must be In or NotIn for a field selector"))
		}
		if req.Key != "metadata.name" {
			allErrs = append(allErrs, field.NotSupported(reqPath().Child("key"), req.Key, []string{"metadata.name"}))
			continue
		}
		for j, v := range req.Values {
			for _, msg := range apimachineryvalidation.NameIsDNSSubdomain(v, false) {
				allErrs = append(allErrs, field.Invalid(reqPath().Child("values").Index(j), v, msg))
			}
		}
	}
	return allErrs
}

// validatePodAffinityTerms checks the required and the weighted preferred
// terms of a pod affinity or anti-affinity.
func validatePodAffinityTerms(required []corev1.PodAffinityTerm, preferred []corev1.WeightedPodAffinityTerm, fldPath lazyPath) field.ErrorList {
	var allErrs field.ErrorList
	for i, term := range required {
		allErrs = append(allErrs, validatePodAffinityTerm(term, fldPath.child("requiredDuringSchedulingIgnoredDuringExecution").index(i))...)
	}
	for i, term := range preferred {
		idxPath := fldPath.child("preferredDuringSchedulingIgnoredDuringExecution").index(i)
		allErrs = append(allErrs, validateWeight(term.Weight, idxPath.child("weight"))...)
		allErrs = append(allErrs, validatePodAffinityTerm(term.PodAffinityTerm, idxPath.child("podAffinityTerm"))...)
	}
	return allErrs
}

// validatePodAffinityTerm needs a topology key to group nodes by; the
// selectors and namespaces must be well-formed.
func validatePodAffinityTerm(term corev1.PodAffinityTerm, fldPath lazyPath) field.ErrorList {
	var allErrs field.ErrorList
	opts := metav1validation.LabelSelectorValidationOptions{}
	// ValidateLabelSelector needs a built path, and has nothing to report
	// about a nil selector.
	if term.LabelSelector != nil {
		allErrs = metav1validation.ValidateLabelSelector(term.LabelSelector, opts, fldPath().Child("labelSelector"))
	}
	if term.NamespaceSelector != nil {
		allErrs = append(allErrs, metav1validation.ValidateLabelSelector(term.NamespaceSelector, opts, fldPath().Child("namespaceSelector"))...)
	}
	for i, ns := range term.Namespaces {
		for _, msg := range apimachineryvalidation.ValidateNamespaceName(ns, false) {
			allErrs = append(allErrs, field.Invalid(fldPath().Child("namespaces").Index(i), ns, msg))
		}
	}
	if term.TopologyKey == "" {
		return append(allErrs, field.Required(fldPath().Child("topologyKey"), "a topology key is required"))
	}
	return append(allErrs, metav1validation.ValidateLabelName(term.TopologyKey, fldPath().Child("topologyKey"))...)
}

// validateTopologySpread checks each constraint and that no two share the
// same topology key and unsatisfiable action.
func validateTopologySpread(constraints []corev1.TopologySpreadConstraint, fldPath lazyPath) field.ErrorList {
	var allErrs field.ErrorList
	type pair struct {
		key    string
		action corev1.UnsatisfiableConstraintAction
	}
	seen := sets.New[pair]()
	for i, c := range constraints {
		idxPath := fldPath.index(i)
		// A skew of zero would forbid any imbalance, which cannot be scheduled.
		if c.MaxSkew <= 0 {
			allErrs = append(allErrs, field.Invalid(idxPath().Child("maxSkew"), c.MaxSkew, "must be greater than zero"))
		}
		if c.TopologyKey == "" {
			allErrs = append(allErrs, field.Required(idxPath().Child("topologyKey"), "a topology key is required"))
		} else {
			allErrs = append(allErrs, metav1validation.ValidateLabelName(c.TopologyKey, idxPath().Child("topologyKey"))...)
		}
		allErrs = append(allErrs, validateOneOf(c.WhenUnsatisfiable, supportedScheduleActions, idxPath.child("whenUnsatisfiable"))...)
		if c.LabelSelector != nil {
			allErrs = append(allErrs, metav1validation.ValidateLabelSelector(c.LabelSelector,
				metav1validation.LabelSelectorValidationOptions{}, idxPath().Child("labelSelector"))...)
		}
		// A repeated pair would be two constraints on the same spread.
		p := pair{c.TopologyKey, c.WhenUnsatisfiable}
		if seen.Has(p) {
			allErrs = append(allErrs, field.Duplicate(idxPath().Child("topologyKey"), c.TopologyKey))
		}
		seen.Insert(p)
	}
	return allErrs
}

// validateDNS follows the pod rules KubeVirt applies to dnsPolicy and
// dnsConfig: with the None policy the config must bring nameservers.
func validateDNS(spec *virtv1.VirtualMachineInstanceSpec, fldPath lazyPath) field.ErrorList {
	var allErrs field.ErrorList
	cfgPath := fldPath.child("dnsConfig")
	if spec.DNSPolicy != "" {
		allErrs = append(allErrs, validateOneOf(spec.DNSPolicy, dnsPolicies, fldPath.child("dnsPolicy"))...)
	}
	cfg := spec.DNSConfig
	// With None, the pod gets no resolver from the cluster, so the config is the
	// only source of nameservers.
	if spec.DNSPolicy == corev1.DNSNone {
		switch {
		case cfg == nil:
			return append(allErrs, field.Required(cfgPath(), "required when dnsPolicy is None"))
		case len(cfg.Nameservers) == 0:
			allErrs = append(allErrs, field.Required(cfgPath().Child("nameservers"), "at least one nameserver is required when dnsPolicy is None"))
		}
	}
	if cfg == nil {
		return allErrs
	}
	nsPath := cfgPath.child("nameservers")
	if len(cfg.Nameservers) > maxDNSNameservers {
		allErrs = append(allErrs, field.TooMany(nsPath(), len(cfg.Nameservers), maxDNSNameservers))
	}
	// KubeVirt's decoding already canonicalizes addresses it can parse; what is
	// left here is a name or garbage.
	for i, ns := range cfg.Nameservers {
		if net.ParseIP(ns) == nil {
			allErrs = append(allErrs, field.Invalid(nsPath().Index(i), ns, "must be an IP address"))
		}
	}
	searchPath := cfgPath.child("searches")
	if len(cfg.Searches) > maxDNSSearchPaths {
		allErrs = append(allErrs, field.TooMany(searchPath(), len(cfg.Searches), maxDNSSearchPaths))
	}
	// The limit counts the separating spaces too.
	if n := len(strings.Join(cfg.Searches, " ")); n > maxDNSSearchListChars {
		allErrs = append(allErrs, field.Invalid(searchPath(), n, "the search list may not exceed 256 characters"))
	}
	// Each search entry is a domain, never a label with an underscore.
	for i, search := range cfg.Searches {
		allErrs = append(allErrs, validateDNSSubdomain(search, searchPath.index(i))...)
	}
	// Options such as ndots are name/value pairs of resolv.conf.
	for i, opt := range cfg.Options {
		if opt.Name == "" {
			allErrs = append(allErrs, field.Required(cfgPath().Child("options").Index(i).Child("name"), "an option name is required"))
		}
	}
	return allErrs
}
