package fuzzer

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	virtv1 "kubevirt.io/api/core/v1"
)

// lifecycle sets how the instance starts, stops, is probed, named and
// resolves names.
func (g *generator) lifecycle(in *instance) {
	spec := in.spec
	spec.TerminationGracePeriodSeconds = optional(g, int64(g.intn(600)))
	spec.Hostname = pick(g, "", g.label())
	spec.Subdomain = pick(g, "", g.label(), g.subdomain())

	spec.StartStrategy = nil
	if in.startPaused || g.chance(.2) {
		spec.StartStrategy = ptrTo(virtv1.StartStrategyPaused)
	}
	spec.ReadinessProbe = g.probe(in)
	spec.LivenessProbe = nil
	// A paused guest cannot answer a liveness probe.
	if spec.StartStrategy == nil {
		spec.LivenessProbe = g.probe(in)
	}

	// With a serviceAccount volume, the name must be the volume's account.
	spec.ServiceAccountName = ""
	switch {
	case in.serviceAccountVolume != "":
		spec.ServiceAccountName = pick(g, "", in.serviceAccountVolume)
	case g.chance(.3):
		spec.ServiceAccountName = g.subdomain()
	}
	g.dns(spec)
}

// probe returns nil or a probe with one handler; the network handlers need
// the pod network.
func (g *generator) probe(in *instance) *virtv1.Probe {
	if g.chance(.4) {
		return nil
	}
	p := fillNew[virtv1.Probe](g)
	handlers := []string{"exec", "guestAgentPing"}
	if in.hasPodNetwork {
		handlers = append(handlers, "httpGet", "tcpSocket", "httpGet")
	}
	// Keep one handler of the filled ones.
	full := p.Handler
	p.Handler = virtv1.Handler{}
	switch pick(g, handlers...) {
	case "exec":
		p.Exec = orNew(full.Exec)
	case "guestAgentPing":
		p.GuestAgentPing = &virtv1.GuestAgentPing{}
	case "httpGet":
		p.HTTPGet = orNew(full.HTTPGet)
		p.HTTPGet.Scheme = pick(g, "", corev1.URISchemeHTTP, corev1.URISchemeHTTPS)
	default:
		p.TCPSocket = orNew(full.TCPSocket)
	}
	return p
}

// dns picks a DNS policy and, with None always, a configuration whose
// nameservers are in canonical form, since decoding rewrites them.
func (g *generator) dns(spec *virtv1.VirtualMachineInstanceSpec) {
	spec.DNSPolicy = pick(g, "", corev1.DNSClusterFirst, corev1.DNSClusterFirstWithHostNet, corev1.DNSDefault, corev1.DNSNone)
	spec.DNSConfig = nil
	if spec.DNSPolicy != corev1.DNSNone && g.chance(.5) {
		return
	}
	cfg := &corev1.PodDNSConfig{}
	for range g.between(1, 3) {
		cfg.Nameservers = append(cfg.Nameservers, pick(g, g.ipv4(), g.ipv6()))
	}
	// Searches stay within the 256-character limit of the list.
	length := 0
	for range g.intn(4) {
		search := g.subdomain()
		if length+len(search) < 200 {
			cfg.Searches = append(cfg.Searches, search)
			length += len(search) + 1
		}
	}
	for range g.intn(3) {
		opt := corev1.PodDNSConfigOption{Name: pick(g, "ndots", "timeout", "edns0")}
		if opt.Name != "edns0" {
			opt.Value = ptrTo(strings.Repeat("2", g.between(1, 2)))
		}
		cfg.Options = append(cfg.Options, opt)
	}
	spec.DNSConfig = cfg
}

// accessCredentials adds SSH keys and passwords with one source and one
// propagation method each, using only the cloud-init methods that have a
// volume to travel in.
func (g *generator) accessCredentials(in *instance) {
	spec := in.spec
	spec.AccessCredentials = nil
	for range g.intn(3) {
		secret := &virtv1.AccessCredentialSecretSource{SecretName: g.label()}
		if g.chance(.3) {
			spec.AccessCredentials = append(spec.AccessCredentials, virtv1.AccessCredential{UserPassword: &virtv1.UserPasswordAccessCredential{
				Source:            virtv1.UserPasswordAccessCredentialSource{Secret: secret},
				PropagationMethod: virtv1.UserPasswordAccessCredentialPropagationMethod{QemuGuestAgent: &virtv1.QemuGuestAgentUserPasswordAccessCredentialPropagation{}},
			}})
			continue
		}
		// The cloud-init methods need a volume of their kind.
		methods := []string{"qemuGuestAgent"}
		if in.noCloud {
			methods = append(methods, "noCloud")
		}
		if in.configDrive {
			methods = append(methods, "configDrive")
		}
		var method virtv1.SSHPublicKeyAccessCredentialPropagationMethod
		switch pick(g, methods...) {
		case "noCloud":
			method.NoCloud = &virtv1.NoCloudSSHPublicKeyAccessCredentialPropagation{}
		case "configDrive":
			method.ConfigDrive = &virtv1.ConfigDriveSSHPublicKeyAccessCredentialPropagation{}
		default:
			method.QemuGuestAgent = &virtv1.QemuGuestAgentSSHPublicKeyAccessCredentialPropagation{Users: []string{g.label()}}
		}
		spec.AccessCredentials = append(spec.AccessCredentials, virtv1.AccessCredential{SSHPublicKey: &virtv1.SSHPublicKeyAccessCredential{
			Source: virtv1.SSHPublicKeyAccessCredentialSource{Secret: secret}, PropagationMethod: method,
		}})
	}
}
