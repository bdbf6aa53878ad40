package validation

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
	virtv1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
)

// TestValidateScheduling covers node selector, tolerations, affinity,
// topology spread and eviction.
func TestValidateScheduling(t *testing.T) {
	affinity := tmplSpec + "affinity."
	nodeTerm := func(reqs ...corev1.NodeSelectorRequirement) func(vm *kubevirt.VirtualMachine) {
		return func(vm *kubevirt.VirtualMachine) {
			tmpl(vm).Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
				RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: reqs}}},
			}}
		}
	}
	termPath := affinity + "nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms"
	runCreateCases(t, []vmCase{
		{
			name:   "invalid node selector",
			mutate: func(vm *kubevirt.VirtualMachine) { tmpl(vm).NodeSelector = map[string]string{"zone": "a b"} },
			want:   []wantErr{{field.ErrorTypeInvalid, tmplSpec + "nodeSelector"}},
		},
		{
			name:   "toleration with unknown operator",
			mutate: func(vm *kubevirt.VirtualMachine) { tmpl(vm).Tolerations[0].Operator = "Lt" },
			want:   []wantErr{{field.ErrorTypeNotSupported, tmplSpec + "tolerations[0].operator"}},
		},
		{
			name:   "toleration with unknown effect",
			mutate: func(vm *kubevirt.VirtualMachine) { tmpl(vm).Tolerations[0].Effect = "NoAdmit" },
			want:   []wantErr{{field.ErrorTypeNotSupported, tmplSpec + "tolerations[0].effect"}},
		},
		{
			name:   "toleration Exists with a value",
			mutate: func(vm *kubevirt.VirtualMachine) { tmpl(vm).Tolerations[0].Operator = corev1.TolerationOpExists },
			want:   []wantErr{{field.ErrorTypeInvalid, tmplSpec + "tolerations[0].value"}},
		},
		{
			name: "toleration Equal without key",
			mutate: func(vm *kubevirt.VirtualMachine) {
				tmpl(vm).Tolerations[0] = corev1.Toleration{Operator: corev1.TolerationOpEqual}
			},
			want: []wantErr{{field.ErrorTypeInvalid, tmplSpec + "tolerations[0].operator"}},
		},
		{
			name: "toleration Exists without key tolerates everything",
			mutate: func(vm *kubevirt.VirtualMachine) {
				tmpl(vm).Tolerations[0] = corev1.Toleration{Operator: corev1.TolerationOpExists}
			},
		},
		{
			name:   "toleration seconds without NoExecute",
			mutate: func(vm *kubevirt.VirtualMachine) { tmpl(vm).Tolerations[0].TolerationSeconds = ptr.To[int64](30) },
			want:   []wantErr{{field.ErrorTypeInvalid, tmplSpec + "tolerations[0].effect"}},
		},
		{
			name:   "toleration with invalid key",
			mutate: func(vm *kubevirt.VirtualMachine) { tmpl(vm).Tolerations[0].Key = "bad key" },
			want:   []wantErr{{field.ErrorTypeInvalid, tmplSpec + "tolerations[0].key"}},
		},
		{
			name: "node affinity requirements",
			mutate: nodeTerm(
				corev1.NodeSelectorRequirement{Key: "zone", Operator: corev1.NodeSelectorOpIn, Values: []string{"a"}},
				corev1.NodeSelectorRequirement{Key: "gpu", Operator: corev1.NodeSelectorOpExists},
				corev1.NodeSelectorRequirement{Key: "cores", Operator: corev1.NodeSelectorOpGt, Values: []string{"8"}},
			),
		},
		{
			name: "node affinity requirements of the wrong shape",
			mutate: nodeTerm(
				corev1.NodeSelectorRequirement{Key: "zone", Operator: corev1.NodeSelectorOpIn},
				corev1.NodeSelectorRequirement{Key: "gpu", Operator: corev1.NodeSelectorOpDoesNotExist, Values: []string{"x"}},
				corev1.NodeSelectorRequirement{Key: "cores", Operator: corev1.NodeSelectorOpLt, Values: []string{"1", "2"}},
				corev1.NodeSelectorRequirement{Key: "bad key", Operator: "Like"},
			),
			want: []wantErr{
				{field.ErrorTypeRequired, termPath + "[0].matchExpressions[0].values"},
				{field.ErrorTypeForbidden, termPath + "[0].matchExpressions[1].values"},
				{field.ErrorTypeRequired, termPath + "[0].matchExpressions[2].values"},
				{field.ErrorTypeInvalid, termPath + "[0].matchExpressions[3].operator"},
				{field.ErrorTypeInvalid, termPath + "[0].matchExpressions[3].key"},
			},
		},
		{
			name: "node affinity without terms, bad weight and field selector",
			mutate: func(vm *kubevirt.VirtualMachine) {
				tmpl(vm).Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
					RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{},
					PreferredDuringSchedulingIgnoredDuringExecution: []corev1.PreferredSchedulingTerm{{Weight: 0, Preference: corev1.NodeSelectorTerm{
						MatchFields: []corev1.NodeSelectorRequirement{
							{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{"node01", "node02"}},
							{Key: "spec.unschedulable", Operator: corev1.NodeSelectorOpExists},
						},
					}}},
				}}
			},
			want: []wantErr{
				{field.ErrorTypeRequired, termPath},
				{field.ErrorTypeInvalid, affinity + "nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight"},
				{field.ErrorTypeRequired, affinity + "nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].preference.matchFields[0].values"},
				{field.ErrorTypeInvalid, affinity + "nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].preference.matchFields[1].operator"},
				{field.ErrorTypeNotSupported, affinity + "nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].preference.matchFields[1].key"},
			},
		},
		{
			name: "pod affinity and anti-affinity terms",
			mutate: func(vm *kubevirt.VirtualMachine) {
				tmpl(vm).Affinity = &corev1.Affinity{
					PodAffinity: &corev1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
						LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}, TopologyKey: "kubernetes.io/hostname",
					}, {
						LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "x y"}}, Namespaces: []string{"Bad"},
					}}},
					PodAntiAffinity: &corev1.PodAntiAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{
						Weight: 101, PodAffinityTerm: corev1.PodAffinityTerm{TopologyKey: "zone"},
					}}},
				}
			},
			want: []wantErr{
				{field.ErrorTypeInvalid, affinity + "podAffinity.requiredDuringSchedulingIgnoredDuringExecution[1].labelSelector.matchLabels"},
				{field.ErrorTypeInvalid, affinity + "podAffinity.requiredDuringSchedulingIgnoredDuringExecution[1].namespaces[0]"},
				{field.ErrorTypeRequired, affinity + "podAffinity.requiredDuringSchedulingIgnoredDuringExecution[1].topologyKey"},
				{field.ErrorTypeInvalid, affinity + "podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight"},
			},
		},
		{
			name: "topology spread constraints",
			mutate: func(vm *kubevirt.VirtualMachine) {
				tmpl(vm).TopologySpreadConstraints = []corev1.TopologySpreadConstraint{
					{MaxSkew: 1, TopologyKey: "zone", WhenUnsatisfiable: corev1.DoNotSchedule},
					{MaxSkew: 0, TopologyKey: "zone", WhenUnsatisfiable: corev1.DoNotSchedule},
					{MaxSkew: 1, WhenUnsatisfiable: "Maybe"},
				}
			},
			want: []wantErr{
				{field.ErrorTypeInvalid, tmplSpec + "topologySpreadConstraints[1].maxSkew"},
				{field.ErrorTypeDuplicate, tmplSpec + "topologySpreadConstraints[1].topologyKey"},
				{field.ErrorTypeRequired, tmplSpec + "topologySpreadConstraints[2].topologyKey"},
				{field.ErrorTypeNotSupported, tmplSpec + "topologySpreadConstraints[2].whenUnsatisfiable"},
			},
		},
		{
			name: "unknown eviction strategy",
			mutate: func(vm *kubevirt.VirtualMachine) {
				tmpl(vm).EvictionStrategy = ptr.To(virtv1.EvictionStrategy("Never"))
			},
			want: []wantErr{{field.ErrorTypeNotSupported, tmplSpec + "evictionStrategy"}},
		},
	})
}

// TestValidateNamesAndDNS covers hostname, subdomain, DNS policy and config,
// and the service account name.
func TestValidateNamesAndDNS(t *testing.T) {
	dnsPath := tmplSpec + "dnsConfig"
	runCreateCases(t, []vmCase{
		{
			name:   "hostname not a DNS label",
			mutate: func(vm *kubevirt.VirtualMachine) { tmpl(vm).Hostname = "host.example" },
			want:   []wantErr{{field.ErrorTypeInvalid, tmplSpec + "hostname"}},
		},
		{
			name:   "subdomain may have dots",
			mutate: func(vm *kubevirt.VirtualMachine) { tmpl(vm).Subdomain = "vms.example" },
		},
		{
			name:   "subdomain not a DNS subdomain",
			mutate: func(vm *kubevirt.VirtualMachine) { tmpl(vm).Subdomain = "-vms" },
			want:   []wantErr{{field.ErrorTypeInvalid, tmplSpec + "subdomain"}},
		},
		{
			name:   "unknown DNS policy",
			mutate: func(vm *kubevirt.VirtualMachine) { tmpl(vm).DNSPolicy = "Custom" },
			want:   []wantErr{{field.ErrorTypeNotSupported, tmplSpec + "dnsPolicy"}},
		},
		{
			name:   "DNS policy None without config",
			mutate: func(vm *kubevirt.VirtualMachine) { tmpl(vm).DNSPolicy = corev1.DNSNone },
			want:   []wantErr{{field.ErrorTypeRequired, dnsPath}},
		},
		{
			name: "DNS policy None without nameservers",
			mutate: func(vm *kubevirt.VirtualMachine) {
				tmpl(vm).DNSPolicy = corev1.DNSNone
				tmpl(vm).DNSConfig = &corev1.PodDNSConfig{Searches: []string{"example.com"}}
			},
			want: []wantErr{{field.ErrorTypeRequired, dnsPath + ".nameservers"}},
		},
		{
			name: "DNS policy None with config",
			mutate: func(vm *kubevirt.VirtualMachine) {
				tmpl(vm).DNSPolicy = corev1.DNSNone
				tmpl(vm).DNSConfig = &corev1.PodDNSConfig{Nameservers: []string{"10.0.0.10", "2001:db8::53"},
					Options: []corev1.PodDNSConfigOption{{Name: "ndots", Value: ptr.To("2")}}}
			},
		},
		{
			name: "DNS config with bad nameservers, searches and options",
			mutate: func(vm *kubevirt.VirtualMachine) {
				tmpl(vm).DNSConfig = &corev1.PodDNSConfig{
					Nameservers: []string{"1.1.1.1", "dns.example.com", "8.8.8.8", "9.9.9.9"},
					Searches:    []string{"a", "b", "c", "d", "e", "f", "Bad_Domain"},
					Options:     []corev1.PodDNSConfigOption{{Value: ptr.To("1")}},
				}
			},
			want: []wantErr{
				{field.ErrorTypeTooMany, dnsPath + ".nameservers"},
				{field.ErrorTypeInvalid, dnsPath + ".nameservers[1]"},
				{field.ErrorTypeTooMany, dnsPath + ".searches"},
				{field.ErrorTypeInvalid, dnsPath + ".searches[6]"},
				{field.ErrorTypeRequired, dnsPath + ".options[0].name"},
			},
		},
		{
			name: "search list over 256 characters",
			mutate: func(vm *kubevirt.VirtualMachine) {
				long := strings.Repeat("a", 60) + "." + strings.Repeat("b", 60)
				tmpl(vm).DNSConfig = &corev1.PodDNSConfig{Searches: []string{long, long, long}}
			},
			want: []wantErr{{field.ErrorTypeInvalid, dnsPath + ".searches"}},
		},
		{
			name: "service account name and volume disagree",
			mutate: func(vm *kubevirt.VirtualMachine) {
				tmpl(vm).ServiceAccountName = "builder"
				tmpl(vm).Volumes[2].VolumeSource = virtv1.VolumeSource{ServiceAccount: &virtv1.ServiceAccountVolumeSource{ServiceAccountName: "default"}}
			},
			want: []wantErr{{field.ErrorTypeInvalid, tmplSpec + "serviceAccountName"}},
		},
		{
			name:   "service account name not a DNS subdomain",
			mutate: func(vm *kubevirt.VirtualMachine) { tmpl(vm).ServiceAccountName = "Builder" },
			want:   []wantErr{{field.ErrorTypeInvalid, tmplSpec + "serviceAccountName"}},
		},
	})
}

// TestValidateLifecycle covers grace period, start strategy and probes.
func TestValidateLifecycle(t *testing.T) {
	probe := func(h virtv1.Handler) *virtv1.Probe { return &virtv1.Probe{Handler: h} }
	httpGet := virtv1.Handler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromInt32(80)}}
	runCreateCases(t, []vmCase{
		{
			name:   "negative termination grace period",
			mutate: func(vm *kubevirt.VirtualMachine) { tmpl(vm).TerminationGracePeriodSeconds = ptr.To[int64](-1) },
			want:   []wantErr{{field.ErrorTypeInvalid, tmplSpec + "terminationGracePeriodSeconds"}},
		},
		{
			name:   "unknown start strategy",
			mutate: func(vm *kubevirt.VirtualMachine) { tmpl(vm).StartStrategy = ptr.To(virtv1.StartStrategy("Running")) },
			want:   []wantErr{{field.ErrorTypeNotSupported, tmplSpec + "startStrategy"}},
		},
		{
			name: "paused start with a liveness probe",
			mutate: func(vm *kubevirt.VirtualMachine) {
				tmpl(vm).StartStrategy = ptr.To(virtv1.StartStrategyPaused)
				tmpl(vm).LivenessProbe = probe(virtv1.Handler{GuestAgentPing: &virtv1.GuestAgentPing{}})
			},
			want: []wantErr{{field.ErrorTypeForbidden, tmplSpec + "startStrategy"}},
		},
		{
			name:   "probe without handler",
			mutate: func(vm *kubevirt.VirtualMachine) { tmpl(vm).ReadinessProbe = &virtv1.Probe{PeriodSeconds: 5} },
			want:   []wantErr{{field.ErrorTypeRequired, tmplSpec + "readinessProbe"}},
		},
		{
			name: "probe with two handlers",
			mutate: func(vm *kubevirt.VirtualMachine) {
				tmpl(vm).LivenessProbe = probe(virtv1.Handler{Exec: &corev1.ExecAction{Command: []string{"true"}}, HTTPGet: httpGet.HTTPGet})
			},
			want: []wantErr{{field.ErrorTypeForbidden, tmplSpec + "livenessProbe.httpGet"}},
		},
		{
			name:   "HTTP probe on the pod network",
			mutate: func(vm *kubevirt.VirtualMachine) { tmpl(vm).ReadinessProbe = probe(httpGet) },
		},
		{
			name: "network probes without a pod network",
			mutate: func(vm *kubevirt.VirtualMachine) {
				devs(vm).Interfaces, tmpl(vm).Networks = nil, nil
				tmpl(vm).ReadinessProbe = probe(httpGet)
				tmpl(vm).LivenessProbe = probe(virtv1.Handler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(22)}})
			},
			want: []wantErr{
				{field.ErrorTypeForbidden, tmplSpec + "readinessProbe.httpGet"},
				{field.ErrorTypeForbidden, tmplSpec + "livenessProbe.tcpSocket"},
			},
		},
	})
}

// TestValidateAccessCredentials covers SSH keys and passwords injected into
// the guest.
func TestValidateAccessCredentials(t *testing.T) {
	secret := &virtv1.AccessCredentialSecretSource{SecretName: "keys"}
	credPath := tmplSpec + "accessCredentials"
	runCreateCases(t, []vmCase{
		{
			name: "SSH keys through noCloud and the guest agent, a password",
			mutate: func(vm *kubevirt.VirtualMachine) {
				tmpl(vm).AccessCredentials = []virtv1.AccessCredential{
					{SSHPublicKey: &virtv1.SSHPublicKeyAccessCredential{Source: virtv1.SSHPublicKeyAccessCredentialSource{Secret: secret},
						PropagationMethod: virtv1.SSHPublicKeyAccessCredentialPropagationMethod{NoCloud: &virtv1.NoCloudSSHPublicKeyAccessCredentialPropagation{}}}},
					{SSHPublicKey: &virtv1.SSHPublicKeyAccessCredential{Source: virtv1.SSHPublicKeyAccessCredentialSource{Secret: secret},
						PropagationMethod: virtv1.SSHPublicKeyAccessCredentialPropagationMethod{
							QemuGuestAgent: &virtv1.QemuGuestAgentSSHPublicKeyAccessCredentialPropagation{Users: []string{"fedora"}}}}},
					{UserPassword: &virtv1.UserPasswordAccessCredential{Source: virtv1.UserPasswordAccessCredentialSource{Secret: secret},
						PropagationMethod: virtv1.UserPasswordAccessCredentialPropagationMethod{QemuGuestAgent: &virtv1.QemuGuestAgentUserPasswordAccessCredentialPropagation{}}}},
				}
			},
		},
		{
			name: "empty, doubled and incomplete credentials",
			mutate: func(vm *kubevirt.VirtualMachine) {
				tmpl(vm).AccessCredentials = []virtv1.AccessCredential{
					{},
					{SSHPublicKey: &virtv1.SSHPublicKeyAccessCredential{}, UserPassword: &virtv1.UserPasswordAccessCredential{}},
					{SSHPublicKey: &virtv1.SSHPublicKeyAccessCredential{Source: virtv1.SSHPublicKeyAccessCredentialSource{Secret: secret},
						PropagationMethod: virtv1.SSHPublicKeyAccessCredentialPropagationMethod{
							ConfigDrive:    &virtv1.ConfigDriveSSHPublicKeyAccessCredentialPropagation{},
							QemuGuestAgent: &virtv1.QemuGuestAgentSSHPublicKeyAccessCredentialPropagation{}}}},
				}
			},
			want: []wantErr{
				{field.ErrorTypeRequired, credPath + "[0]"},
				{field.ErrorTypeForbidden, credPath + "[1].userPassword"},
				{field.ErrorTypeRequired, credPath + "[1].sshPublicKey.source.secret"},
				{field.ErrorTypeInvalid, credPath + "[1].sshPublicKey.propagationMethod"},
				{field.ErrorTypeRequired, credPath + "[1].userPassword.source.secret"},
				{field.ErrorTypeRequired, credPath + "[1].userPassword.propagationMethod.qemuGuestAgent"},
				{field.ErrorTypeInvalid, credPath + "[2].sshPublicKey.propagationMethod"},
				{field.ErrorTypeInvalid, credPath + "[2].sshPublicKey.propagationMethod.configDrive"},
				{field.ErrorTypeRequired, credPath + "[2].sshPublicKey.propagationMethod.qemuGuestAgent.users"},
			},
		},
	})
}
