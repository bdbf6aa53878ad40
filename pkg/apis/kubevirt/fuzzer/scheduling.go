package fuzzer

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	virtv1 "kubevirt.io/api/core/v1"
)

// scheduling sets the fields handed to the virt-launcher pod's scheduling:
// node selector, affinity, tolerations, spread constraints and priority.
func (g *generator) scheduling(in *instance) {
	spec := in.spec
	spec.NodeSelector = g.labels()
	spec.PriorityClassName = pick(g, "", g.label())
	spec.SchedulerName = pick(g, "", g.label())
	spec.EvictionStrategy = optional(g, pick(g, virtv1.EvictionStrategyNone, virtv1.EvictionStrategyLiveMigrate,
		virtv1.EvictionStrategyLiveMigrateIfPossible, virtv1.EvictionStrategyExternal))
	spec.Affinity = nil
	if g.chance(.6) {
		spec.Affinity = g.affinity()
	}
	spec.Tolerations = nil
	for range g.intn(4) {
		spec.Tolerations = append(spec.Tolerations, g.toleration())
	}
	spec.TopologySpreadConstraints = nil
	for i := range g.intn(3) {
		spec.TopologySpreadConstraints = append(spec.TopologySpreadConstraints, g.spreadConstraint(i))
	}
}

// affinity builds node, pod and pod anti-affinity with valid terms.
func (g *generator) affinity() *corev1.Affinity {
	a := &corev1.Affinity{}
	if g.chance(.7) {
		a.NodeAffinity = &corev1.NodeAffinity{}
		if g.chance(.7) {
			sel := &corev1.NodeSelector{}
			for range g.between(1, 2) {
				sel.NodeSelectorTerms = append(sel.NodeSelectorTerms, g.nodeSelectorTerm())
			}
			a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution = sel
		}
		for range g.intn(3) {
			a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution = append(a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution,
				corev1.PreferredSchedulingTerm{Weight: int32(g.between(1, 100)), Preference: g.nodeSelectorTerm()})
		}
	}
	if g.chance(.6) {
		a.PodAffinity = &corev1.PodAffinity{}
		a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution, a.PodAffinity.PreferredDuringSchedulingIgnoredDuringExecution = g.podAffinityTerms()
	}
	if g.chance(.6) {
		a.PodAntiAffinity = &corev1.PodAntiAffinity{}
		a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution, a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution = g.podAffinityTerms()
	}
	return a
}

// nodeSelectorTerm uses each operator with the values it needs.
func (g *generator) nodeSelectorTerm() corev1.NodeSelectorTerm {
	var term corev1.NodeSelectorTerm
	for range g.intn(3) {
		req := corev1.NodeSelectorRequirement{Key: g.labelKey()}
		switch g.intn(3) {
		case 0:
			req.Operator = pick(g, corev1.NodeSelectorOpIn, corev1.NodeSelectorOpNotIn)
			req.Values = []string{g.label(), g.label()}
		case 1:
			req.Operator = pick(g, corev1.NodeSelectorOpExists, corev1.NodeSelectorOpDoesNotExist)
		default:
			req.Operator = pick(g, corev1.NodeSelectorOpGt, corev1.NodeSelectorOpLt)
			req.Values = []string{fmt.Sprint(g.intn(100))}
		}
		term.MatchExpressions = append(term.MatchExpressions, req)
	}
	// Nodes can only be matched by field on their name.
	if g.chance(.5) {
		term.MatchFields = []corev1.NodeSelectorRequirement{{
			Key: "metadata.name", Operator: pick(g, corev1.NodeSelectorOpIn, corev1.NodeSelectorOpNotIn), Values: []string{g.subdomain()},
		}}
	}
	return term
}

// podAffinityTerms returns required and weighted preferred terms.
func (g *generator) podAffinityTerms() ([]corev1.PodAffinityTerm, []corev1.WeightedPodAffinityTerm) {
	var required []corev1.PodAffinityTerm
	var preferred []corev1.WeightedPodAffinityTerm
	for range g.intn(3) {
		required = append(required, g.podAffinityTerm())
	}
	for range g.intn(3) {
		preferred = append(preferred, corev1.WeightedPodAffinityTerm{Weight: int32(g.between(1, 100)), PodAffinityTerm: g.podAffinityTerm()})
	}
	return required, preferred
}

// podAffinityTerm uses the meta fuzzer's selectors, which are valid, and
// label keys for the match keys that the selector does not use.
func (g *generator) podAffinityTerm() corev1.PodAffinityTerm {
	term := corev1.PodAffinityTerm{TopologyKey: pick(g, "kubernetes.io/hostname", "topology.kubernetes.io/zone", g.labelKey())}
	if g.chance(.8) {
		term.LabelSelector = &metav1.LabelSelector{}
		g.fill(term.LabelSelector)
	}
	if g.chance(.5) {
		term.NamespaceSelector = &metav1.LabelSelector{}
		g.fill(term.NamespaceSelector)
	}
	for range g.intn(3) {
		term.Namespaces = append(term.Namespaces, g.label())
	}
	// Match keys refine the label selector, so they need one.
	if term.LabelSelector != nil && g.chance(.5) {
		term.MatchLabelKeys = []string{"app.example.com/match-" + g.label()}
		term.MismatchLabelKeys = []string{"app.example.com/mismatch-" + g.label()}
	}
	return term
}

// toleration returns a toleration of a keyed taint, or of every taint, with
// seconds only where the effect is NoExecute.
func (g *generator) toleration() corev1.Toleration {
	t := corev1.Toleration{Effect: pick(g, "", corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute)}
	if g.chance(.7) {
		t.Key = g.labelKey()
		t.Operator = pick(g, "", corev1.TolerationOpEqual, corev1.TolerationOpExists)
		// Exists matches any value, so it takes none.
		if t.Operator != corev1.TolerationOpExists {
			t.Value = pick(g, "", g.label())
		}
	} else {
		t.Operator = corev1.TolerationOpExists
	}
	if t.Effect == corev1.TaintEffectNoExecute && g.chance(.5) {
		t.TolerationSeconds = ptrTo(int64(g.intn(3600)))
	}
	return t
}

// spreadConstraint i uses a topology key of its own, so that no two
// constraints repeat a key and action.
func (g *generator) spreadConstraint(i int) corev1.TopologySpreadConstraint {
	c := corev1.TopologySpreadConstraint{
		MaxSkew:           int32(g.between(1, 5)),
		TopologyKey:       fmt.Sprintf("topology.example.com/level-%d", i),
		WhenUnsatisfiable: pick(g, corev1.DoNotSchedule, corev1.ScheduleAnyway),
	}
	if g.chance(.8) {
		c.LabelSelector = &metav1.LabelSelector{}
		g.fill(c.LabelSelector)
		if g.chance(.5) {
			c.MatchLabelKeys = []string{"app.example.com/" + g.label()}
		}
	}
	// The pod API only takes a domain minimum with DoNotSchedule.
	if c.WhenUnsatisfiable == corev1.DoNotSchedule && g.chance(.5) {
		c.MinDomains = ptrTo(int32(g.between(1, 3)))
	}
	c.NodeAffinityPolicy = optional(g, pick(g, corev1.NodeInclusionPolicyHonor, corev1.NodeInclusionPolicyIgnore))
	c.NodeTaintsPolicy = optional(g, pick(g, corev1.NodeInclusionPolicyHonor, corev1.NodeInclusionPolicyIgnore))
	return c
}
