package validation

import (
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
	virtv1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
)

const (
	iface0 = devices + "interfaces[0]"
	net0   = tmplSpec + "networks[0]"
)

// addMultus adds a multus network and its interface with the given binding.
func addMultus(vm *kubevirt.VirtualMachine, name string, binding virtv1.InterfaceBindingMethod) {
	devs(vm).Interfaces = append(devs(vm).Interfaces, virtv1.Interface{Name: name, InterfaceBindingMethod: binding})
	tmpl(vm).Networks = append(tmpl(vm).Networks, virtv1.Network{
		Name: name, NetworkSource: virtv1.NetworkSource{Multus: &virtv1.MultusNetwork{NetworkName: "ns/" + name}},
	})
}

// bridge is the binding of the secondary interfaces the cases add.
var bridge = virtv1.InterfaceBindingMethod{Bridge: &virtv1.InterfaceBridge{}}

// TestValidateNetworks covers spec.networks and how they pair with the
// interfaces.
func TestValidateNetworks(t *testing.T) {
	runCreateCases(t, []vmCase{
		{
			name: "interface names may use upper case and underscores",
			mutate: func(vm *kubevirt.VirtualMachine) {
				devs(vm).Interfaces[0].Name, tmpl(vm).Networks[0].Name = "Pod_Net", "Pod_Net"
			},
		},
		{
			name: "interface name with a dot",
			mutate: func(vm *kubevirt.VirtualMachine) {
				devs(vm).Interfaces[0].Name, tmpl(vm).Networks[0].Name = "pod.net", "pod.net"
			},
			want: []wantErr{{field.ErrorTypeInvalid, iface0 + ".name"}},
		},
		{
			name:   "interface names no network",
			mutate: func(vm *kubevirt.VirtualMachine) { devs(vm).Interfaces[0].Name = "other" },
			want: []wantErr{
				{field.ErrorTypeInvalid, iface0 + ".name"},
				{field.ErrorTypeInvalid, net0 + ".name"},
			},
		},
		{
			name:   "network without interface",
			mutate: func(vm *kubevirt.VirtualMachine) { devs(vm).Interfaces = nil },
			want:   []wantErr{{field.ErrorTypeInvalid, net0 + ".name"}},
		},
		{
			name: "no networks and no interfaces",
			mutate: func(vm *kubevirt.VirtualMachine) {
				devs(vm).Interfaces, tmpl(vm).Networks = nil, nil
			},
		},
		{
			name: "duplicate interface and network names",
			mutate: func(vm *kubevirt.VirtualMachine) {
				addMultus(vm, "default", bridge)
			},
			want: []wantErr{
				{field.ErrorTypeDuplicate, devices + "interfaces[1].name"},
				{field.ErrorTypeDuplicate, tmplSpec + "networks[1].name"},
			},
		},
		{
			name:   "network without name",
			mutate: func(vm *kubevirt.VirtualMachine) { tmpl(vm).Networks[0].Name = "" },
			want: []wantErr{
				{field.ErrorTypeRequired, net0 + ".name"},
				{field.ErrorTypeInvalid, iface0 + ".name"},
			},
		},
		{
			name:   "network without source",
			mutate: func(vm *kubevirt.VirtualMachine) { tmpl(vm).Networks[0].Pod = nil },
			// The masquerade interface loses its pod network too.
			want: []wantErr{{field.ErrorTypeRequired, net0}, {field.ErrorTypeForbidden, iface0 + ".masquerade"}},
		},
		{
			name: "network with pod and multus",
			mutate: func(vm *kubevirt.VirtualMachine) {
				tmpl(vm).Networks[0].Multus = &virtv1.MultusNetwork{NetworkName: "br"}
			},
			want: []wantErr{{field.ErrorTypeForbidden, net0 + ".multus"}},
		},
		{
			name: "multus without network name",
			mutate: func(vm *kubevirt.VirtualMachine) {
				addMultus(vm, "second", bridge)
				tmpl(vm).Networks[1].Multus.NetworkName = ""
			},
			want: []wantErr{{field.ErrorTypeRequired, tmplSpec + "networks[1].multus.networkName"}},
		},
		{
			name: "two pod networks",
			mutate: func(vm *kubevirt.VirtualMachine) {
				devs(vm).Interfaces = append(devs(vm).Interfaces, virtv1.Interface{Name: "second", InterfaceBindingMethod: bridge})
				tmpl(vm).Networks = append(tmpl(vm).Networks, virtv1.Network{
					Name: "second", NetworkSource: virtv1.NetworkSource{Pod: &virtv1.PodNetwork{}},
				})
			},
			want: []wantErr{{field.ErrorTypeForbidden, tmplSpec + "networks[1].pod"}},
		},
		{
			name: "default multus network next to the pod network",
			mutate: func(vm *kubevirt.VirtualMachine) {
				addMultus(vm, "second", bridge)
				tmpl(vm).Networks[1].Multus.Default = true
			},
			want: []wantErr{{field.ErrorTypeForbidden, tmplSpec + "networks[1].multus.default"}},
		},
		{
			name: "default multus network instead of the pod network",
			mutate: func(vm *kubevirt.VirtualMachine) {
				devs(vm).Interfaces, tmpl(vm).Networks = nil, nil
				addMultus(vm, "primary", bridge)
				tmpl(vm).Networks[0].Multus.Default = true
			},
		},
		{
			name: "resourceClaim network mixed with multus and not declared",
			mutate: func(vm *kubevirt.VirtualMachine) {
				addMultus(vm, "second", bridge)
				devs(vm).Interfaces = append(devs(vm).Interfaces, virtv1.Interface{Name: "vf",
					InterfaceBindingMethod: virtv1.InterfaceBindingMethod{SRIOV: &virtv1.InterfaceSRIOV{}}})
				tmpl(vm).Networks = append(tmpl(vm).Networks, virtv1.Network{Name: "vf", NetworkSource: virtv1.NetworkSource{
					ResourceClaim: &virtv1.ClaimRequest{ClaimName: "nic", RequestName: "vf"},
				}})
			},
			want: []wantErr{
				{field.ErrorTypeForbidden, tmplSpec + "networks[2].resourceClaim"},
				{field.ErrorTypeNotFound, tmplSpec + "networks[2].resourceClaim.claimName"},
			},
		},
		{
			name: "resourceClaim network without names and a bridge",
			mutate: func(vm *kubevirt.VirtualMachine) {
				devs(vm).Interfaces = append(devs(vm).Interfaces, virtv1.Interface{Name: "vf", InterfaceBindingMethod: bridge})
				tmpl(vm).Networks = append(tmpl(vm).Networks, virtv1.Network{Name: "vf", NetworkSource: virtv1.NetworkSource{
					ResourceClaim: &virtv1.ClaimRequest{},
				}})
			},
			want: []wantErr{
				{field.ErrorTypeRequired, tmplSpec + "networks[1].resourceClaim.claimName"},
				{field.ErrorTypeRequired, tmplSpec + "networks[1].resourceClaim.requestName"},
				{field.ErrorTypeInvalid, devices + "interfaces[1]"},
			},
		},
	})
}

// TestValidateInterfaces covers the fields of an interface: binding, model,
// addresses, ports, DHCP options, link state and boot order.
func TestValidateInterfaces(t *testing.T) {
	runCreateCases(t, []vmCase{
		{
			name:   "interface without binding",
			mutate: func(vm *kubevirt.VirtualMachine) { devs(vm).Interfaces[0].Masquerade = nil },
			want:   []wantErr{{field.ErrorTypeRequired, iface0}},
		},
		{
			name:   "interface with bridge and masquerade",
			mutate: func(vm *kubevirt.VirtualMachine) { devs(vm).Interfaces[0].Bridge = &virtv1.InterfaceBridge{} },
			want:   []wantErr{{field.ErrorTypeForbidden, iface0 + ".masquerade"}},
		},
		{
			name: "interface with masquerade and a binding plugin",
			mutate: func(vm *kubevirt.VirtualMachine) {
				devs(vm).Interfaces[0].Binding = &virtv1.PluginBinding{Name: "passt"}
			},
			want: []wantErr{{field.ErrorTypeForbidden, iface0 + ".binding"}},
		},
		{
			name: "passt binding on the pod network",
			mutate: func(vm *kubevirt.VirtualMachine) {
				devs(vm).Interfaces[0].InterfaceBindingMethod = virtv1.InterfaceBindingMethod{PasstBinding: &virtv1.InterfacePasstBinding{}}
			},
		},
		{
			name: "discontinued bindings",
			mutate: func(vm *kubevirt.VirtualMachine) {
				m := &devs(vm).Interfaces[0].InterfaceBindingMethod
				m.DeprecatedSlirp, m.DeprecatedMacvtap, m.DeprecatedPasst =
					&virtv1.DeprecatedInterfaceSlirp{}, &virtv1.DeprecatedInterfaceMacvtap{}, &virtv1.DeprecatedInterfacePasst{}
			},
			want: []wantErr{
				{field.ErrorTypeForbidden, iface0 + ".slirp"},
				{field.ErrorTypeForbidden, iface0 + ".macvtap"},
				{field.ErrorTypeForbidden, iface0 + ".passt"},
			},
		},
		{
			name: "masquerade and passt binding off the pod network",
			mutate: func(vm *kubevirt.VirtualMachine) {
				addMultus(vm, "m1", virtv1.InterfaceBindingMethod{Masquerade: &virtv1.InterfaceMasquerade{}})
				addMultus(vm, "m2", virtv1.InterfaceBindingMethod{PasstBinding: &virtv1.InterfacePasstBinding{}})
			},
			want: []wantErr{
				{field.ErrorTypeForbidden, devices + "interfaces[1].masquerade"},
				{field.ErrorTypeForbidden, devices + "interfaces[2].passtBinding"},
			},
		},
		{
			name:   "unknown model",
			mutate: func(vm *kubevirt.VirtualMachine) { devs(vm).Interfaces[0].Model = "virtio-net" },
			want:   []wantErr{{field.ErrorTypeNotSupported, iface0 + ".model"}},
		},
		{
			name:   "malformed MAC address",
			mutate: func(vm *kubevirt.VirtualMachine) { devs(vm).Interfaces[0].MacAddress = "de:ad:be:ef" },
			want:   []wantErr{{field.ErrorTypeInvalid, iface0 + ".macAddress"}},
		},
		{
			name:   "64-bit MAC address",
			mutate: func(vm *kubevirt.VirtualMachine) { devs(vm).Interfaces[0].MacAddress = "02:00:00:00:00:00:00:01" },
			want:   []wantErr{{field.ErrorTypeInvalid, iface0 + ".macAddress"}},
		},
		{
			name:   "MAC address of the masquerade bridge",
			mutate: func(vm *kubevirt.VirtualMachine) { devs(vm).Interfaces[0].MacAddress = "02:00:00:00:00:00" },
			want:   []wantErr{{field.ErrorTypeInvalid, iface0 + ".macAddress"}},
		},
		{
			name:   "malformed PCI address",
			mutate: func(vm *kubevirt.VirtualMachine) { devs(vm).Interfaces[0].PciAddress = "0000:81:11.8" },
			want:   []wantErr{{field.ErrorTypeInvalid, iface0 + ".pciAddress"}},
		},
		{
			name:   "port 0",
			mutate: func(vm *kubevirt.VirtualMachine) { devs(vm).Interfaces[0].Ports[0].Port = 0 },
			want:   []wantErr{{field.ErrorTypeRequired, iface0 + ".ports[0].port"}},
		},
		{
			name:   "port above 65535",
			mutate: func(vm *kubevirt.VirtualMachine) { devs(vm).Interfaces[0].Ports[1].Port = 65536 },
			want:   []wantErr{{field.ErrorTypeInvalid, iface0 + ".ports[1].port"}},
		},
		{
			name:   "unknown port protocol",
			mutate: func(vm *kubevirt.VirtualMachine) { devs(vm).Interfaces[0].Ports[0].Protocol = "SCTP" },
			want:   []wantErr{{field.ErrorTypeNotSupported, iface0 + ".ports[0].protocol"}},
		},
		{
			name:   "empty port protocol means TCP",
			mutate: func(vm *kubevirt.VirtualMachine) { devs(vm).Interfaces[0].Ports[0].Protocol = "" },
		},
		{
			name:   "invalid port name",
			mutate: func(vm *kubevirt.VirtualMachine) { devs(vm).Interfaces[0].Ports[0].Name = "not a port name" },
			want:   []wantErr{{field.ErrorTypeInvalid, iface0 + ".ports[0].name"}},
		},
		{
			name:   "duplicate port name",
			mutate: func(vm *kubevirt.VirtualMachine) { devs(vm).Interfaces[0].Ports[1].Name = "ssh" },
			want:   []wantErr{{field.ErrorTypeDuplicate, iface0 + ".ports[1].name"}},
		},
		{
			name: "ports off the pod network are not read",
			mutate: func(vm *kubevirt.VirtualMachine) {
				addMultus(vm, "second", bridge)
				devs(vm).Interfaces[1].Ports = []virtv1.Port{{Port: 0, Protocol: "SCTP"}}
			},
		},
		{
			name: "port ranges",
			mutate: func(vm *kubevirt.VirtualMachine) {
				devs(vm).Interfaces[0].Ports = nil
				devs(vm).Interfaces[0].PortRanges = []virtv1.PortRange{
					{Protocol: "TCP", Start: 1000, End: 2000}, {Protocol: "UDP", Start: 1500, End: 1600}, {Protocol: "TCP", Start: 2001, End: 2001},
				}
			},
		},
		{
			name: "port ranges with ports, bad values and overlaps",
			mutate: func(vm *kubevirt.VirtualMachine) {
				devs(vm).Interfaces[0].PortRanges = []virtv1.PortRange{
					{Protocol: "TCP", Start: 1000, End: 2000}, {Protocol: "TCP", Start: 1999, End: 3000},
					{Protocol: "SCTP", Start: 1, End: 2}, {Protocol: "UDP", Start: 0, End: 70000}, {Protocol: "UDP", Start: 9, End: 8},
				}
			},
			want: []wantErr{
				{field.ErrorTypeForbidden, iface0 + ".portRanges"},
				{field.ErrorTypeInvalid, iface0 + ".portRanges[1]"},
				{field.ErrorTypeNotSupported, iface0 + ".portRanges[2].protocol"},
				{field.ErrorTypeInvalid, iface0 + ".portRanges[3].start"},
				{field.ErrorTypeInvalid, iface0 + ".portRanges[3].end"},
				{field.ErrorTypeInvalid, iface0 + ".portRanges[4].start"},
			},
		},
		{
			name: "port ranges need masquerade",
			mutate: func(vm *kubevirt.VirtualMachine) {
				devs(vm).Interfaces[0].InterfaceBindingMethod = bridge
				devs(vm).Interfaces[0].Ports = nil
				devs(vm).Interfaces[0].PortRanges = make([]virtv1.PortRange, 11)
			},
			want: []wantErr{
				{field.ErrorTypeForbidden, iface0 + ".portRanges"},
				{field.ErrorTypeTooMany, iface0 + ".portRanges"},
			},
		},
		{
			name: "DHCP options",
			mutate: func(vm *kubevirt.VirtualMachine) {
				devs(vm).Interfaces[0].DHCPOptions = &virtv1.DHCPOptions{
					NTPServers:     []string{"192.0.2.1", "2001:db8::1", "ntp.example.com"},
					PrivateOptions: []virtv1.DHCPPrivateOptions{{Option: 240, Value: "a"}, {Option: 240, Value: "b"}, {Option: 200}},
				}
			},
			want: []wantErr{
				{field.ErrorTypeInvalid, iface0 + ".dhcpOptions.ntpServers[1]"},
				{field.ErrorTypeInvalid, iface0 + ".dhcpOptions.ntpServers[2]"},
				{field.ErrorTypeDuplicate, iface0 + ".dhcpOptions.privateOptions[1].option"},
				{field.ErrorTypeInvalid, iface0 + ".dhcpOptions.privateOptions[2].option"},
			},
		},
		{
			name:   "unknown interface state",
			mutate: func(vm *kubevirt.VirtualMachine) { devs(vm).Interfaces[0].State = "gone" },
			want:   []wantErr{{field.ErrorTypeNotSupported, iface0 + ".state"}},
		},
		{
			name:   "absent masquerade interface on the default network",
			mutate: func(vm *kubevirt.VirtualMachine) { devs(vm).Interfaces[0].State = virtv1.InterfaceStateAbsent },
			want: []wantErr{
				{field.ErrorTypeForbidden, iface0 + ".state"},
				{field.ErrorTypeForbidden, iface0 + ".state"},
			},
		},
		{
			name: "absent bridge on a secondary network, link down on SR-IOV",
			mutate: func(vm *kubevirt.VirtualMachine) {
				addMultus(vm, "second", bridge)
				devs(vm).Interfaces[1].State = virtv1.InterfaceStateAbsent
				addMultus(vm, "vf", virtv1.InterfaceBindingMethod{SRIOV: &virtv1.InterfaceSRIOV{}})
				devs(vm).Interfaces[2].State = virtv1.InterfaceStateLinkDown
			},
			want: []wantErr{{field.ErrorTypeForbidden, devices + "interfaces[2].state"}},
		},
		{
			name:   "interface boot order 0",
			mutate: func(vm *kubevirt.VirtualMachine) { devs(vm).Interfaces[0].BootOrder = ptr.To[uint](0) },
			want:   []wantErr{{field.ErrorTypeInvalid, iface0 + ".bootOrder"}},
		},
		{
			name:   "interface boot order taken by a disk",
			mutate: func(vm *kubevirt.VirtualMachine) { devs(vm).Interfaces[0].BootOrder = ptr.To[uint](1) },
			want:   []wantErr{{field.ErrorTypeDuplicate, iface0 + ".bootOrder"}},
		},
	})
}
