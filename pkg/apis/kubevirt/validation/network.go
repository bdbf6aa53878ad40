package validation

import (
	"net"
	"slices"

	"k8s.io/apimachinery/pkg/util/sets"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	virtv1 "kubevirt.io/api/core/v1"
)

// reservedMasqueradeMAC is the address of the bridge inside the pod that
// masquerade binding uses; the guest may not take it.
const reservedMasqueradeMAC = "02:00:00:00:00:00"

var (
	supportedInterfaceModels  = []string{"e1000", "e1000e", "igb", "ne2k_pci", "pcnet", "rtl8139", virtv1.VirtIO}
	supportedPortProtocols    = []string{"TCP", "UDP"}
	supportedInterfaceStates  = []virtv1.InterfaceState{virtv1.InterfaceStateAbsent, virtv1.InterfaceStateLinkUp, virtv1.InterfaceStateLinkDown}
	interfaceBindingNames     = []string{"bridge", "masquerade", "sriov", "passtBinding", "binding"}
	networkSourceNames        = []string{"pod", "multus", "resourceClaim"}
	maxPortRangesPerInterface = 10
)

// validateNetworking validates spec.networks and
// spec.domain.devices.interfaces, which pair up one to one by name.
func validateNetworking(spec *virtv1.VirtualMachineInstanceSpec, fldPath lazyPath) field.ErrorList {
	networks := map[string]*virtv1.Network{}
	for i := range spec.Networks {
		if _, dup := networks[spec.Networks[i].Name]; !dup {
			networks[spec.Networks[i].Name] = &spec.Networks[i]
		}
	}
	ifaceNames := sets.New[string]()
	for _, iface := range spec.Domain.Devices.Interfaces {
		ifaceNames.Insert(iface.Name)
	}

	allErrs := validateNetworks(spec, ifaceNames, fldPath.child("networks"))
	ifacesPath := fldPath.child("domain", "devices", "interfaces")
	seen := sets.New[string]()
	for i := range spec.Domain.Devices.Interfaces {
		iface := &spec.Domain.Devices.Interfaces[i]
		idxPath := ifacesPath.index(i)
		namePath := idxPath.child("name")
		switch {
		case !interfaceNamePattern.MatchString(iface.Name):
			allErrs = append(allErrs, field.Invalid(namePath(), iface.Name, "may only contain letters, digits, '-' and '_'"))
		case seen.Has(iface.Name):
			allErrs = append(allErrs, field.Duplicate(namePath(), iface.Name))
		case networks[iface.Name] == nil:
			allErrs = append(allErrs, field.Invalid(namePath(), iface.Name, "must match the name of a network"))
		}
		seen.Insert(iface.Name)
		// Without its network, only the interface's own fields are checked.
		allErrs = append(allErrs, validateInterface(iface, networks[iface.Name], isDefaultNetwork(spec, iface.Name), idxPath)...)
	}
	return allErrs
}

// validateNetworks checks each network: a unique name used by an interface,
// exactly one source, and the limits on default networks and DRA networks.
func validateNetworks(spec *virtv1.VirtualMachineInstanceSpec, ifaceNames sets.Set[string], fldPath lazyPath) field.ErrorList {
	var allErrs field.ErrorList
	seen := sets.New[string]()
	podNetworks, multusDefaults := 0, 0
	hasMultus := slices.ContainsFunc(spec.Networks, func(n virtv1.Network) bool { return n.Multus != nil })
	for i, nw := range spec.Networks {
		idxPath := fldPath.index(i)
		namePath := idxPath.child("name")
		switch {
		case nw.Name == "":
			allErrs = append(allErrs, field.Required(namePath(), "a name is required"))
		case seen.Has(nw.Name):
			allErrs = append(allErrs, field.Duplicate(namePath(), nw.Name))
		case !ifaceNames.Has(nw.Name):
			allErrs = append(allErrs, field.Invalid(namePath(), nw.Name, "must be used by an interface of the same name"))
		}
		seen.Insert(nw.Name)

		set := setNames(networkSourceNames, nw.Pod != nil, nw.Multus != nil, nw.ResourceClaim != nil)
		switch {
		case len(set) == 0:
			allErrs = append(allErrs, field.Required(idxPath(), "must specify exactly one of pod, multus and resourceClaim"))
		case len(set) > 1:
			allErrs = append(allErrs, field.Forbidden(idxPath().Child(set[1]), "may not be set together with "+set[0]))
		}
		if nw.Pod != nil {
			podNetworks++
			if podNetworks > 1 {
				allErrs = append(allErrs, field.Forbidden(idxPath().Child("pod"), "only one pod network is allowed"))
			}
		}
		if m := nw.Multus; m != nil {
			if m.NetworkName == "" {
				allErrs = append(allErrs, field.Required(idxPath().Child("multus", "networkName"), "a network name is required"))
			}
			if m.Default {
				multusDefaults++
				// The default network replaces the pod network, so there is
				// room for one of them only.
				if multusDefaults > 1 || podNetworks > 0 || slices.ContainsFunc(spec.Networks, func(n virtv1.Network) bool { return n.Pod != nil }) {
					allErrs = append(allErrs, field.Forbidden(idxPath().Child("multus", "default"),
						"only one default network is allowed, either the pod network or one multus network"))
				}
			}
		}
		// A DRA network names a request of a claim declared in resourceClaims.
		if rc := nw.ResourceClaim; rc != nil {
			rcPath := idxPath.child("resourceClaim")
			if hasMultus {
				allErrs = append(allErrs, field.Forbidden(rcPath(), "may not be mixed with multus networks"))
			}
			allErrs = append(allErrs, validateClaimRequest(rc, rcPath)...)
			if rc.ClaimName != "" && !slices.ContainsFunc(spec.ResourceClaims, func(c virtv1.VirtualMachineInstanceResourceClaim) bool {
				return c.Name == rc.ClaimName
			}) {
				allErrs = append(allErrs, field.NotFound(rcPath().Child("claimName"), rc.ClaimName))
			}
		}
	}
	return allErrs
}

// isDefaultNetwork reports whether name is the pod network or the default
// multus network, the first one of them as KubeVirt looks it up.
func isDefaultNetwork(spec *virtv1.VirtualMachineInstanceSpec, name string) bool {
	for _, nw := range spec.Networks {
		if nw.Pod != nil || (nw.Multus != nil && nw.Multus.Default) {
			return nw.Name == name
		}
	}
	return false
}

// validateInterface checks one interface against its network, nil when the
// interface names none, and whether that network is the default one.
func validateInterface(iface *virtv1.Interface, nw *virtv1.Network, onDefaultNetwork bool, fldPath lazyPath) field.ErrorList {
	var allErrs field.ErrorList
	// These bindings were removed from KubeVirt; the fields stay in the API
	// only so that old objects still decode.
	for _, dep := range []struct {
		set  bool
		name string
	}{{iface.DeprecatedSlirp != nil, "slirp"}, {iface.DeprecatedMacvtap != nil, "macvtap"}, {iface.DeprecatedPasst != nil, "passt"}} {
		if dep.set {
			allErrs = append(allErrs, field.Forbidden(fldPath().Child(dep.name), "this binding is no longer supported"))
		}
	}
	m := iface.InterfaceBindingMethod
	set := setNames(interfaceBindingNames, m.Bridge != nil, m.Masquerade != nil, m.SRIOV != nil, m.PasstBinding != nil, iface.Binding != nil)
	// KubeVirt adds a default interface only when there are no interfaces and
	// no networks at all; an interface it is given must say how it is bound.
	switch {
	case len(set) == 0:
		allErrs = append(allErrs, field.Required(fldPath(), "must specify exactly one binding: bridge, masquerade, sriov, passtBinding or a binding plugin"))
	case len(set) > 1:
		allErrs = append(allErrs, field.Forbidden(fldPath().Child(set[1]), "may not be set together with "+set[0]))
	}
	// Masquerade and passt translate addresses of the pod's own interface.
	if m.Masquerade != nil && nw != nil && nw.Pod == nil {
		allErrs = append(allErrs, field.Forbidden(fldPath().Child("masquerade"), "is only supported on the pod network"))
	}
	if m.PasstBinding != nil && nw != nil && nw.Pod == nil {
		allErrs = append(allErrs, field.Forbidden(fldPath().Child("passtBinding"), "is only supported on the pod network"))
	}
	// A DRA network hands a device to the VM, which only these bindings use.
	if nw != nil && nw.ResourceClaim != nil && m.SRIOV == nil && iface.Binding == nil {
		allErrs = append(allErrs, field.Invalid(fldPath(), iface.Name, "an interface on a resourceClaim network must use sriov or a binding plugin"))
	}

	if iface.Model != "" {
		allErrs = append(allErrs, validateOneOf(iface.Model, supportedInterfaceModels, fldPath.child("model"))...)
	}
	if mac := iface.MacAddress; mac != "" {
		hw, err := net.ParseMAC(mac)
		switch {
		case err != nil || len(hw) != 6:
			allErrs = append(allErrs, field.Invalid(fldPath().Child("macAddress"), mac, "must be a 48-bit MAC address"))
		case m.Masquerade != nil && mac == reservedMasqueradeMAC:
			allErrs = append(allErrs, field.Invalid(fldPath().Child("macAddress"), mac, "is reserved for the bridge of masquerade binding"))
		}
	}
	allErrs = append(allErrs, validatePCIAddress(iface.PciAddress, fldPath.child("pciAddress"))...)
	allErrs = append(allErrs, validateInterfaceState(iface, onDefaultNetwork, fldPath.child("state"))...)
	// Ports are forwarded from the pod, so KubeVirt only reads them on the
	// pod network.
	if nw != nil && nw.Pod != nil {
		allErrs = append(allErrs, validatePorts(iface.Ports, fldPath.child("ports"))...)
		allErrs = append(allErrs, validatePortRanges(iface, fldPath.child("portRanges"))...)
	}
	if opts := iface.DHCPOptions; opts != nil {
		allErrs = append(allErrs, validateDHCPOptions(opts, fldPath.child("dhcpOptions"))...)
	}
	return allErrs
}

// validateInterfaceState checks the link state: SR-IOV has no link to set,
// and only a secondary bridge interface can be declared absent (unplugged).
func validateInterfaceState(iface *virtv1.Interface, onDefaultNetwork bool, fldPath lazyPath) field.ErrorList {
	if iface.State == "" {
		return nil
	}
	if errs := validateOneOf(iface.State, supportedInterfaceStates, fldPath); len(errs) > 0 {
		return errs
	}
	var allErrs field.ErrorList
	if iface.SRIOV != nil && iface.State != virtv1.InterfaceStateAbsent {
		allErrs = append(allErrs, field.Forbidden(fldPath(), "an SR-IOV interface has no link state to set"))
	}
	if iface.State == virtv1.InterfaceStateAbsent {
		if iface.Bridge == nil {
			allErrs = append(allErrs, field.Forbidden(fldPath(), "only a bridge interface can be absent"))
		}
		if onDefaultNetwork {
			allErrs = append(allErrs, field.Forbidden(fldPath(), "the interface of the default network cannot be absent"))
		}
	}
	return allErrs
}

// validatePorts checks the ports forwarded to the guest: unique valid names,
// port numbers in range and a TCP or UDP protocol.
func validatePorts(ports []virtv1.Port, fldPath lazyPath) field.ErrorList {
	var allErrs field.ErrorList
	names := sets.New[string]()
	for i, port := range ports {
		idxPath := fldPath.index(i)
		if port.Name != "" {
			if names.Has(port.Name) {
				allErrs = append(allErrs, field.Duplicate(idxPath().Child("name"), port.Name))
			}
			names.Insert(port.Name)
			for _, msg := range utilvalidation.IsValidPortName(port.Name) {
				allErrs = append(allErrs, field.Invalid(idxPath().Child("name"), port.Name, msg))
			}
		}
		if port.Port == 0 {
			allErrs = append(allErrs, field.Required(idxPath().Child("port"), "a port number is required"))
		} else {
			for _, msg := range utilvalidation.IsValidPortNum(int(port.Port)) {
				allErrs = append(allErrs, field.Invalid(idxPath().Child("port"), port.Port, msg))
			}
		}
		// An empty protocol means TCP.
		if port.Protocol != "" {
			allErrs = append(allErrs, validateOneOf(port.Protocol, supportedPortProtocols, idxPath.child("protocol"))...)
		}
	}
	return allErrs
}

// validatePortRanges checks the forwarded port ranges of a masquerade
// interface: few, well-formed and not overlapping within a protocol.
func validatePortRanges(iface *virtv1.Interface, fldPath lazyPath) field.ErrorList {
	ranges := iface.PortRanges
	if ranges == nil {
		return nil
	}
	var allErrs field.ErrorList
	if iface.Ports != nil {
		allErrs = append(allErrs, field.Forbidden(fldPath(), "may not be set together with ports"))
	}
	if iface.Masquerade == nil {
		allErrs = append(allErrs, field.Forbidden(fldPath(), "is only supported with masquerade binding"))
	}
	if len(ranges) > maxPortRangesPerInterface {
		return append(allErrs, field.TooMany(fldPath(), len(ranges), maxPortRangesPerInterface))
	}
	var accepted []virtv1.PortRange
	for i, r := range ranges {
		idxPath := fldPath.index(i)
		errs := validateOneOf(r.Protocol, supportedPortProtocols, idxPath.child("protocol"))
		for _, bound := range []struct {
			value int32
			name  string
		}{{r.Start, "start"}, {r.End, "end"}} {
			for _, msg := range utilvalidation.IsValidPortNum(int(bound.value)) {
				errs = append(errs, field.Invalid(idxPath().Child(bound.name), bound.value, msg))
			}
		}
		if len(errs) == 0 && r.Start > r.End {
			errs = append(errs, field.Invalid(idxPath().Child("start"), r.Start, "must not be greater than end"))
		}
		if len(errs) > 0 {
			allErrs = append(allErrs, errs...)
			continue
		}
		// Only well-formed ranges take part in the overlap check.
		if slices.ContainsFunc(accepted, func(o virtv1.PortRange) bool {
			return o.Protocol == r.Protocol && r.Start <= o.End && o.Start <= r.End
		}) {
			allErrs = append(allErrs, field.Invalid(idxPath(), r.Start, "overlaps with another range of the same protocol"))
		}
		accepted = append(accepted, r)
	}
	return allErrs
}

// validateDHCPOptions checks the extra DHCP options the pod hands the guest.
func validateDHCPOptions(opts *virtv1.DHCPOptions, fldPath lazyPath) field.ErrorList {
	var allErrs field.ErrorList
	seen := sets.New[int]()
	for i, opt := range opts.PrivateOptions {
		optPath := fldPath.child("privateOptions").index(i).child("option")
		// Options 224-254 are the ones DHCP leaves for private use.
		if opt.Option < 224 || opt.Option > 254 {
			allErrs = append(allErrs, field.Invalid(optPath(), opt.Option, "must be in the private range 224-254"))
		}
		if seen.Has(opt.Option) {
			allErrs = append(allErrs, field.Duplicate(optPath(), opt.Option))
		}
		seen.Insert(opt.Option)
	}
	// The DHCP server only announces IPv4 NTP servers.
	for i, server := range opts.NTPServers {
		if ip := net.ParseIP(server); ip == nil || ip.To4() == nil {
			allErrs = append(allErrs, field.Invalid(fldPath().Child("ntpServers").Index(i), server, "must be an IPv4 address"))
		}
	}
	return allErrs
}
