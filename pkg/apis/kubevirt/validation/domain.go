package validation

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation/field"
	virtv1 "kubevirt.io/api/core/v1"
)

const (
	// minMemoryRequest is the smallest memory request a guest can boot with.
	minMemoryRequest = 1000 * 1000
	// Memory hotplug adds memory in blocks of this size, or of 1Gi with 1Gi
	// huge pages, and needs at least 1Gi of guest memory to start from.
	hotplugBlockSize         = 2 * 1024 * 1024
	hotplugHugeBlockSize     = 1024 * 1024 * 1024
	minHotplugGuestMemory    = 1024 * 1024 * 1024
	maxDedicatedCPUThreads   = 2
	hugePageSize1Gi          = "1Gi"
	architectureAMD64        = "amd64"
	architectureARM64        = "arm64"
	architectureS390X        = "s390x"
	dedicatedCPUPlacementTag = "dedicatedCpuPlacement"
)

var (
	supportedCPUFeaturePolicies = []string{"force", "require", "optional", "disable", "forbid"}
	supportedIOThreadsPolicies  = []virtv1.IOThreadsPolicy{
		virtv1.IOThreadsPolicyShared, virtv1.IOThreadsPolicyAuto, virtv1.IOThreadsPolicySupplementalPool,
	}
)

// validateDomain validates the resources, memory, CPU, firmware and
// launch security of spec.domain.
func validateDomain(spec *virtv1.VirtualMachineInstanceSpec, opts instanceOptions, fldPath lazyPath) field.ErrorList {
	domain := &spec.Domain
	allErrs := validateResources(&domain.Resources, fldPath.child("resources"))
	allErrs = append(allErrs, validateMemory(spec, fldPath)...)
	allErrs = append(allErrs, validateCPU(spec, opts, fldPath)...)
	allErrs = append(allErrs, validateFirmware(spec, fldPath)...)
	if p := domain.IOThreadsPolicy; p != nil {
		allErrs = append(allErrs, validateOneOf(*p, supportedIOThreadsPolicies, fldPath.child("ioThreadsPolicy"))...)
		// The supplemental pool has no default size.
		if *p == virtv1.IOThreadsPolicySupplementalPool &&
			(domain.IOThreads == nil || domain.IOThreads.SupplementalPoolThreadCount == nil || *domain.IOThreads.SupplementalPoolThreadCount < 1) {
			allErrs = append(allErrs, field.Required(fldPath().Child("ioThreads", "supplementalPoolThreadCount"),
				"a positive thread count is required with the supplementalPool policy"))
		}
	}
	return allErrs
}

// validateResources checks that no quantity is negative, that no request
// exceeds its limit, and that a memory request is large enough to boot.
func validateResources(res *virtv1.ResourceRequirements, fldPath lazyPath) field.ErrorList {
	var allErrs field.ErrorList
	for _, list := range []struct {
		values corev1.ResourceList
		name   string
	}{{res.Requests, "requests"}, {res.Limits, "limits"}} {
		for name, q := range list.values {
			if q.Sign() < 0 {
				allErrs = append(allErrs, field.Invalid(fldPath().Child(list.name).Key(string(name)), q.String(), "must be greater than or equal to 0"))
			}
		}
	}
	for name, req := range res.Requests {
		// A zero limit is read as no limit, as KubeVirt does.
		if lim, ok := res.Limits[name]; ok && lim.Sign() > 0 && req.Cmp(lim) > 0 {
			allErrs = append(allErrs, field.Invalid(fldPath().Child("requests").Key(string(name)), req.String(),
				"must be less than or equal to the limit "+lim.String()))
		}
	}
	if mem, ok := res.Requests[corev1.ResourceMemory]; ok && mem.Sign() > 0 && mem.Value() < minMemoryRequest {
		allErrs = append(allErrs, field.Invalid(fldPath().Child("requests").Key(string(corev1.ResourceMemory)), mem.String(),
			"must be at least 1M"))
	}
	return allErrs
}

// validateMemory checks spec.domain.memory against the resources.
func validateMemory(spec *virtv1.VirtualMachineInstanceSpec, fldPath lazyPath) field.ErrorList {
	mem := spec.Domain.Memory
	if mem == nil {
		return nil
	}
	var allErrs field.ErrorList
	res := &spec.Domain.Resources
	memPath := fldPath.child("memory")
	if mem.Guest != nil {
		guestPath := memPath.child("guest")
		if mem.Guest.Sign() <= 0 {
			allErrs = append(allErrs, field.Invalid(guestPath(), mem.Guest.String(), "must be greater than 0"))
		}
		// A guest larger than the container's limit would be killed by the OOM
		// killer once it touched its memory.
		if lim := res.Limits.Memory(); lim.Sign() > 0 && mem.Guest.Cmp(*lim) > 0 {
			allErrs = append(allErrs, field.Invalid(guestPath(), mem.Guest.String(),
				"must be less than or equal to the memory limit "+lim.String()))
		}
	}
	if hp := mem.Hugepages; hp != nil {
		allErrs = append(allErrs, validateHugepages(spec, memPath.child("hugepages", "pageSize"))...)
	}
	if mem.MaxGuest != nil {
		allErrs = append(allErrs, validateMemoryHotplug(spec, memPath.child("maxGuest"))...)
	}
	return allErrs
}

// guestMemory is the memory the guest boots with: memory.guest, else the
// memory request, else the memory limit, as KubeVirt derives it.
func guestMemory(spec *virtv1.VirtualMachineInstanceSpec) int64 {
	if mem := spec.Domain.Memory; mem != nil && mem.Guest != nil {
		return mem.Guest.Value()
	}
	if req := spec.Domain.Resources.Requests.Memory(); !req.IsZero() {
		return req.Value()
	}
	return spec.Domain.Resources.Limits.Memory().Value()
}

// validateHugepages checks that the page size is a quantity and that the
// guest memory is a whole number of pages.
func validateHugepages(spec *virtv1.VirtualMachineInstanceSpec, fldPath lazyPath) field.ErrorList {
	pageSize := spec.Domain.Memory.Hugepages.PageSize
	size, err := resource.ParseQuantity(pageSize)
	if err != nil || size.Value() <= 0 {
		return field.ErrorList{field.Invalid(fldPath(), pageSize, "must be a positive quantity such as 2Mi or 1Gi")}
	}
	// Unlike guestMemory, KubeVirt looks at the request first here.
	memory := spec.Domain.Resources.Requests.Memory().Value()
	if memory == 0 && spec.Domain.Memory.Guest != nil {
		memory = spec.Domain.Memory.Guest.Value()
	}
	if memory == 0 {
		memory = spec.Domain.Resources.Limits.Memory().Value()
	}
	switch {
	case memory != 0 && memory < size.Value():
		return field.ErrorList{field.Invalid(fldPath(), pageSize, "must not be larger than the guest memory")}
	case memory%size.Value() != 0:
		return field.ErrorList{field.Invalid(fldPath(), pageSize, "must divide the guest memory")}
	}
	return nil
}

// validateMemoryHotplug checks the rules of memory hotplug, which setting
// memory.maxGuest enables.
func validateMemoryHotplug(spec *virtv1.VirtualMachineInstanceSpec, fldPath lazyPath) field.ErrorList {
	domain := &spec.Domain
	maxGuest := domain.Memory.MaxGuest
	invalid := func(msg string) field.ErrorList {
		return field.ErrorList{field.Invalid(fldPath(), maxGuest.String(), msg)}
	}
	// These configurations pin or encrypt memory, which hotplug cannot grow.
	switch {
	case domain.CPU != nil && domain.CPU.Realtime != nil:
		return invalid("memory hotplug is not supported with a realtime CPU")
	case domain.CPU != nil && domain.CPU.NUMA != nil && domain.CPU.NUMA.GuestMappingPassthrough != nil:
		return invalid("memory hotplug is not supported with NUMA guest mapping passthrough")
	case domain.LaunchSecurity != nil:
		return invalid("memory hotplug is not supported with launch security")
	case spec.Architecture != "" && spec.Architecture != architectureAMD64:
		return invalid("memory hotplug is only supported on amd64")
	}
	block := int64(hotplugBlockSize)
	if domain.Memory.Hugepages != nil && domain.Memory.Hugepages.PageSize == hugePageSize1Gi {
		block = hotplugHugeBlockSize
	}
	guest := guestMemory(spec)
	switch {
	case guest == 0:
		return invalid("memory hotplug needs the guest memory to be set")
	case guest > maxGuest.Value():
		return invalid("must not be less than the guest memory")
	case guest%block != 0 || maxGuest.Value()%block != 0:
		return invalid("the guest memory and maxGuest must be multiples of " + resource.NewQuantity(block, resource.BinarySI).String())
	case guest < minHotplugGuestMemory:
		return invalid("memory hotplug needs at least 1Gi of guest memory")
	}
	return nil
}

// validateCPU checks the CPU topology and features, and what isolation,
// NUMA passthrough and realtime depend on.
func validateCPU(spec *virtv1.VirtualMachineInstanceSpec, opts instanceOptions, fldPath lazyPath) field.ErrorList {
	cpu := spec.Domain.CPU
	if cpu == nil {
		return nil
	}
	var allErrs field.ErrorList
	cpuPath := fldPath.child("cpu")
	for i, feature := range cpu.Features {
		if feature.Policy != "" {
			allErrs = append(allErrs, validateOneOf(feature.Policy, supportedCPUFeaturePolicies, cpuPath.child("features").index(i).child("policy"))...)
		}
	}
	// maxSockets is the ceiling for CPU hotplug.
	if cpu.MaxSockets != 0 && cpu.Sockets > cpu.MaxSockets {
		allErrs = append(allErrs, field.Invalid(cpuPath().Child("sockets"), cpu.Sockets, "must not exceed maxSockets"))
	}
	// The emulator thread gets a pinned CPU of its own only next to pinned vCPUs.
	if cpu.IsolateEmulatorThread && !cpu.DedicatedCPUPlacement {
		allErrs = append(allErrs, field.Invalid(cpuPath().Child("isolateEmulatorThread"), true, "requires dedicatedCpuPlacement"))
	}
	// Mirroring the host's NUMA nodes needs pinned vCPUs and memory that stays
	// on its node, which huge pages provide.
	if cpu.NUMA != nil && cpu.NUMA.GuestMappingPassthrough != nil {
		if !cpu.DedicatedCPUPlacement {
			allErrs = append(allErrs, field.Required(cpuPath().Child(dedicatedCPUPlacementTag), "NUMA guest mapping passthrough requires dedicated CPUs"))
		}
		if spec.Domain.Memory == nil || spec.Domain.Memory.Hugepages == nil {
			allErrs = append(allErrs, field.Required(fldPath().Child("memory", "hugepages"), "NUMA guest mapping passthrough requires huge pages"))
		}
	}
	// Realtime vCPUs must neither move nor share their memory nodes.
	if cpu.Realtime != nil {
		if !cpu.DedicatedCPUPlacement {
			allErrs = append(allErrs, field.Required(cpuPath().Child(dedicatedCPUPlacementTag), "a realtime CPU requires dedicated CPUs"))
		}
		if cpu.NUMA == nil || cpu.NUMA.GuestMappingPassthrough == nil {
			allErrs = append(allErrs, field.Required(cpuPath().Child("numa", "guestMappingPassthrough"), "a realtime CPU requires NUMA guest mapping passthrough"))
		}
	}
	if cpu.DedicatedCPUPlacement {
		allErrs = append(allErrs, validateDedicatedCPUs(spec, opts, fldPath)...)
	}
	return allErrs
}

// validateDedicatedCPUs checks what pinning vCPUs to host CPUs needs: whole
// CPUs, requests equal to limits, a vCPU count that matches them, and memory.
func validateDedicatedCPUs(spec *virtv1.VirtualMachineInstanceSpec, opts instanceOptions, fldPath lazyPath) field.ErrorList {
	var allErrs field.ErrorList
	cpu := spec.Domain.CPU
	res := &spec.Domain.Resources
	reqPath := fldPath.child("resources", "requests")

	cpuReq, cpuLim := res.Requests.Cpu(), res.Limits.Cpu()
	// KubeVirt makes a missing CPU request equal to the limit.
	if cpuReq.IsZero() {
		cpuReq = cpuLim
	}
	for _, q := range []struct {
		value *resource.Quantity
		list  string
	}{{res.Requests.Cpu(), "requests"}, {cpuLim, "limits"}} {
		if q.value.Sign() > 0 && q.value.MilliValue()%1000 != 0 {
			allErrs = append(allErrs, field.Invalid(fldPath().Child("resources", q.list).Key("cpu"), q.value.String(), "must be a whole number of CPUs with dedicatedCpuPlacement"))
		}
	}
	if cpuReq.Value() > 0 && cpuLim.Value() > 0 && cpuReq.Value() != cpuLim.Value() {
		allErrs = append(allErrs, field.Invalid(reqPath().Key("cpu"), cpuReq.String(), "must equal the CPU limit with dedicatedCpuPlacement"))
	}
	// An explicit topology fixes the vCPU count, which the request or the
	// limit must then match; without one, KubeVirt derives it from them.
	if vcpus := vCPUCount(cpu); vcpus > 0 && (cpuReq.Value() > 0 || cpuLim.Value() > 0) &&
		cpuReq.Value() != vcpus && cpuLim.Value() != vcpus {
		allErrs = append(allErrs, field.Invalid(fldPath().Child("cpu", dedicatedCPUPlacementTag), true,
			"the CPU request or limit must equal the vCPU count of sockets, cores and threads"))
	}
	if cpu.Threads > maxDedicatedCPUThreads {
		allErrs = append(allErrs, field.Invalid(fldPath().Child("cpu", "threads"), cpu.Threads, "must not exceed 2 with dedicatedCpuPlacement"))
	}
	if spec.Architecture == architectureARM64 && cpu.Threads > 1 {
		allErrs = append(allErrs, field.Invalid(fldPath().Child("cpu", "threads"), cpu.Threads, "must be 1 on arm64 with dedicatedCpuPlacement"))
	}

	memReq, memLim := res.Requests.Memory(), res.Limits.Memory()
	if memReq.Value() > 0 && memLim.Value() > 0 && memReq.Value() != memLim.Value() {
		allErrs = append(allErrs, field.Invalid(reqPath().Key("memory"), memReq.String(), "must equal the memory limit with dedicatedCpuPlacement"))
	}
	// An instancetype always brings the guest memory.
	mem := spec.Domain.Memory
	hasMemory := !memReq.IsZero() || !memLim.IsZero() ||
		(mem != nil && (mem.Hugepages != nil || (mem.Guest != nil && !mem.Guest.IsZero())))
	if !opts.hasInstancetype && !hasMemory {
		allErrs = append(allErrs, field.Required(reqPath().Key("memory"),
			"dedicatedCpuPlacement requires a memory request or limit, huge pages or memory.guest"))
	}
	return allErrs
}

// vCPUCount multiplies the topology fields that are set, as KubeVirt counts
// vCPUs; it is 0 when none is set.
func vCPUCount(cpu *virtv1.CPU) int64 {
	count := int64(0)
	for _, n := range []uint32{cpu.Cores, cpu.Sockets, cpu.Threads} {
		switch {
		case n == 0:
		case count == 0:
			count = int64(n)
		default:
			count *= int64(n)
		}
	}
	return count
}
