package fuzzer

import (
	"fmt"

	virtv1 "kubevirt.io/api/core/v1"
)

// instance holds the decisions about one instance spec that several parts
// of it depend on.
type instance struct {
	spec *virtv1.VirtualMachineInstanceSpec
	// claims are the names of spec.resourceClaims.
	claims []string
	// secretVolumes, noCloud and configDrive are what ACPI tables and
	// access credentials can refer to.
	secretVolumes         []string
	noCloud, configDrive  bool
	serviceAccountVolume  string
	hasPodNetwork         bool
	launchSecurityOnAMD64 bool
	startPaused           bool
}

// instanceSpec builds a valid template spec. It first fills every field at
// random, then rebuilds each constrained part from explicit choices, in an
// order where later parts can rely on earlier ones.
func (g *generator) instanceSpec(dvNames []string) virtv1.VirtualMachineInstanceSpec {
	var spec virtv1.VirtualMachineInstanceSpec
	g.fill(&spec)
	in := &instance{spec: &spec}

	spec.Architecture = pick(g, "", "", "amd64", "amd64", "arm64", "s390x")
	// Only ever hotplugged, never part of a template.
	spec.UtilityVolumes = nil
	g.resourceClaims(in)
	g.storage(in, dvNames)
	g.networking(in)
	g.domain(in)
	g.bootOrders(in)
	g.scheduling(in)
	g.lifecycle(in)
	g.accessCredentials(in)
	normalize(&spec)
	return spec
}

// resourceClaims declares the DRA claims that GPUs, host devices and
// networks may use.
func (g *generator) resourceClaims(in *instance) {
	in.spec.ResourceClaims = nil
	for i := range g.intn(3) {
		claim := virtv1.VirtualMachineInstanceResourceClaim{Name: fmt.Sprintf("claim-%d", i)}
		if g.chance(.5) {
			claim.ResourceClaimName = ptrTo(g.subdomain())
		} else {
			claim.ResourceClaimTemplateName = ptrTo(g.subdomain())
		}
		in.claims = append(in.claims, claim.Name)
		in.spec.ResourceClaims = append(in.spec.ResourceClaims, claim)
	}
}

// claimRequest returns a request of one of the declared claims that no
// other device uses.
func (g *generator) claimRequest(in *instance) *virtv1.ClaimRequest {
	return &virtv1.ClaimRequest{ClaimName: pick(g, in.claims...), RequestName: g.name("req")}
}

// bootOrders numbers some disks and interfaces from 1 without repeats.
// Confidential VMs do not boot from the network.
func (g *generator) bootOrders(in *instance) {
	next := uint(g.between(1, 3))
	devices := &in.spec.Domain.Devices
	for i := range devices.Disks {
		devices.Disks[i].BootOrder = nil
		if g.chance(.4) {
			devices.Disks[i].BootOrder = ptrTo(next)
			next += uint(g.between(1, 2))
		}
	}
	for i := range devices.Interfaces {
		devices.Interfaces[i].BootOrder = nil
		if !in.launchSecurityOnAMD64 && g.chance(.3) {
			devices.Interfaces[i].BootOrder = ptrTo(next)
			next++
		}
	}
}
