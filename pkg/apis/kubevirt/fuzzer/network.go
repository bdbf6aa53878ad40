package fuzzer

import (
	"fmt"
	"net"

	virtv1 "kubevirt.io/api/core/v1"
)

// networking builds the networks and their interfaces, paired by name: at
// most one pod network, some multus networks (one of which may replace the
// pod network as default) or DRA networks, which do not mix with multus.
func (g *generator) networking(in *instance) {
	spec := in.spec
	spec.Networks = nil
	spec.Domain.Devices.Interfaces = nil
	add := func(nw virtv1.Network, bindings ...string) {
		spec.Networks = append(spec.Networks, nw)
		spec.Domain.Devices.Interfaces = append(spec.Domain.Devices.Interfaces, g.iface(nw, pick(g, bindings...)))
	}

	in.hasPodNetwork = g.chance(.8)
	if in.hasPodNetwork {
		pod := &virtv1.PodNetwork{}
		if g.chance(.5) {
			pod.VMNetworkCIDR = fmt.Sprintf("10.%d.%d.0/24", g.intn(256), g.intn(256))
		}
		if g.chance(.5) {
			pod.VMIPv6NetworkCIDR = "fd10:0:2::/120"
		}
		add(virtv1.Network{Name: pick(g, "default", g.name("pod")), NetworkSource: virtv1.NetworkSource{Pod: pod}},
			"masquerade", "masquerade", "bridge", "passtBinding", "binding")
	}
	if len(in.claims) > 0 && g.chance(.3) {
		for range g.between(1, 2) {
			add(virtv1.Network{Name: g.name("dra"), NetworkSource: virtv1.NetworkSource{ResourceClaim: g.claimRequest(in)}},
				"sriov", "binding")
		}
		return
	}
	for i := range g.intn(3) {
		multus := &virtv1.MultusNetwork{NetworkName: pick(g, g.label(), g.label()+"/"+g.label())}
		// Without a pod network, the first multus network may be the default.
		multus.Default = !in.hasPodNetwork && i == 0 && g.chance(.5)
		add(virtv1.Network{Name: g.name("net"), NetworkSource: virtv1.NetworkSource{Multus: multus}}, "bridge", "sriov", "binding")
	}
}

// iface builds the interface of nw with the given binding.
func (g *generator) iface(nw virtv1.Network, binding string) virtv1.Interface {
	iface := *fillNew[virtv1.Interface](g)
	iface.Name = nw.Name
	iface.InterfaceBindingMethod = virtv1.InterfaceBindingMethod{}
	iface.Binding = nil
	switch binding {
	case "masquerade":
		iface.Masquerade = &virtv1.InterfaceMasquerade{}
	case "bridge":
		iface.Bridge = &virtv1.InterfaceBridge{}
	case "passtBinding":
		iface.PasstBinding = &virtv1.InterfacePasstBinding{}
	case "sriov":
		iface.SRIOV = &virtv1.InterfaceSRIOV{}
	default:
		iface.Binding = &virtv1.PluginBinding{Name: g.label()}
	}
	// The NIC models KubeVirt emulates.
	iface.Model = pick(g, "", "virtio", "e1000", "e1000e", "igb", "ne2k_pci", "pcnet", "rtl8139")
	iface.MacAddress = ""
	if g.chance(.5) {
		// A locally administered unicast address, never the reserved one.
		iface.MacAddress = fmt.Sprintf("02:%02x:%02x:%02x:%02x:%02x", g.intn(256), g.intn(256), g.intn(256), g.intn(256), 1+g.intn(255))
	}
	iface.PciAddress = pick(g, "", fmt.Sprintf("0000:%02x:%02x.0", g.intn(256), g.intn(32)))
	iface.DHCPOptions = g.dhcpOptions()

	// SR-IOV has no link state; only a secondary bridge can be absent.
	isDefault := nw.Pod != nil || (nw.Multus != nil && nw.Multus.Default)
	states := []virtv1.InterfaceState{"", virtv1.InterfaceStateLinkUp, virtv1.InterfaceStateLinkDown}
	switch {
	case iface.SRIOV != nil:
		states = []virtv1.InterfaceState{""}
	case iface.Bridge != nil && !isDefault:
		states = append(states, virtv1.InterfaceStateAbsent)
	}
	iface.State = pick(g, states...)

	// Ports and port ranges are forwarded from the pod, and exclude each other.
	iface.Ports, iface.PortRanges = nil, nil
	if nw.Pod != nil {
		if iface.Masquerade != nil && g.chance(.3) {
			iface.PortRanges = g.portRanges()
		} else if g.chance(.6) {
			iface.Ports = g.ports()
		}
	}
	return iface
}

// ports returns forwarded ports with distinct names.
func (g *generator) ports() []virtv1.Port {
	var ports []virtv1.Port
	for i := range g.between(1, 3) {
		p := virtv1.Port{Port: int32(g.between(1, 65535)), Protocol: pick(g, "", "TCP", "UDP")}
		if g.chance(.6) {
			// Port names are IANA service names: short, with a letter.
			p.Name = fmt.Sprintf("p%d-%s", i, pick(g, "ssh", "http", "dns"))
		}
		ports = append(ports, p)
	}
	return ports
}

// portRanges returns up to three ranges that do not overlap.
func (g *generator) portRanges() []virtv1.PortRange {
	var ranges []virtv1.PortRange
	start := g.between(1, 1000)
	for range g.between(1, 3) {
		end := start + g.intn(500)
		ranges = append(ranges, virtv1.PortRange{Protocol: pick(g, "TCP", "UDP"), Start: int32(start), End: int32(end)})
		start = end + 1 + g.intn(1000)
	}
	return ranges
}

// dhcpOptions returns nil or options with canonical IPv4 NTP servers, which
// decoding would otherwise rewrite, and distinct private options.
func (g *generator) dhcpOptions() *virtv1.DHCPOptions {
	if g.chance(.4) {
		return nil
	}
	opts := &virtv1.DHCPOptions{BootFileName: pick(g, "", "pxelinux.0"), TFTPServerName: pick(g, "", "tftp."+g.subdomain())}
	for range g.intn(3) {
		opts.NTPServers = append(opts.NTPServers, g.ipv4())
	}
	// Consecutive options from the private range are distinct.
	first := g.between(224, 250)
	for i := range g.intn(3) {
		opts.PrivateOptions = append(opts.PrivateOptions, virtv1.DHCPPrivateOptions{Option: first + i, Value: g.label()})
	}
	return opts
}

// ipv4 returns a unicast IPv4 address in canonical form.
func (g *generator) ipv4() string {
	return net.IPv4(byte(1+g.intn(223)), byte(g.intn(256)), byte(g.intn(256)), byte(1+g.intn(254))).String()
}

// ipv6 returns an IPv6 address in its canonical text form.
func (g *generator) ipv6() string {
	ip := make(net.IP, net.IPv6len)
	ip[0], ip[1] = 0xfd, byte(g.intn(256))
	for i := 2; i < net.IPv6len; i++ {
		ip[i] = byte(g.intn(256))
	}
	return ip.String()
}
