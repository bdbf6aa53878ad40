// Package validation holds the validation of the kubevirt.io types as pure
// functions. The registry strategy calls them and the store turns the errors
// they return into a 422 Invalid. Field paths use the JSON names of
// kubevirt.io/v1, so that a message points at what the user wrote.
package validation

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
)

// MaxPrintableStatusLength bounds status.printableStatus, which is free-form.
const MaxPrintableStatusLength = 128

// RunningAndRunStrategyMessage is the detail of the error for a spec that sets
// both spec.running and spec.runStrategy.
const RunningAndRunStrategyMessage = "spec.running and spec.runStrategy are mutually exclusive; " +
	"spec.running is deprecated, use spec.runStrategy"

// RunStrategyRequiredMessage is the detail of the error for a spec that sets
// neither spec.running nor spec.runStrategy.
const RunStrategyRequiredMessage = "a run strategy must be specified"

var (
	supportedEvictionStrategies = []string{"None", "LiveMigrate", "LiveMigrateIfPossible", "External"}
	supportedPullPolicies       = []corev1.PullPolicy{corev1.PullAlways, corev1.PullNever, corev1.PullIfNotPresent}
	supportedPortProtocols      = []string{"TCP", "UDP"}
	supportedTolerationOps      = []corev1.TolerationOperator{corev1.TolerationOpExists, corev1.TolerationOpEqual}
	supportedTaintEffects       = []corev1.TaintEffect{
		corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute,
	}
	supportedConditionStatuses = []corev1.ConditionStatus{corev1.ConditionTrue, corev1.ConditionFalse, corev1.ConditionUnknown}
	supportedRequestActions    = []kubevirt.StateChangeRequestAction{kubevirt.StartRequest, kubevirt.StopRequest}
)

// ValidateVirtualMachine validates a VirtualMachine on create: its metadata
// (namespaced, with a DNS-1123 subdomain name) and its spec.
func ValidateVirtualMachine(vm *kubevirt.VirtualMachine) field.ErrorList {
	allErrs := apimachineryvalidation.ValidateObjectMeta(&vm.ObjectMeta, true,
		apimachineryvalidation.NameIsDNSSubdomain, field.NewPath("metadata"))
	allErrs = append(allErrs, ValidateVirtualMachineSpec(&vm.Spec, field.NewPath("spec"))...)
	return allErrs
}

// ValidateVirtualMachineUpdate validates an update of a VirtualMachine: the
// metadata change and the whole new spec, so that an update can never store a
// VM that a create would have rejected.
func ValidateVirtualMachineUpdate(newVM, oldVM *kubevirt.VirtualMachine) field.ErrorList {
	allErrs := apimachineryvalidation.ValidateObjectMetaUpdate(&newVM.ObjectMeta, &oldVM.ObjectMeta, field.NewPath("metadata"))
	allErrs = append(allErrs, ValidateVirtualMachineSpec(&newVM.Spec, field.NewPath("spec"))...)
	return allErrs
}

// ValidateVirtualMachineStatusUpdate validates an update through the status
// subresource: the metadata change and the new status.
func ValidateVirtualMachineStatusUpdate(newVM, oldVM *kubevirt.VirtualMachine) field.ErrorList {
	allErrs := apimachineryvalidation.ValidateObjectMetaUpdate(&newVM.ObjectMeta, &oldVM.ObjectMeta, field.NewPath("metadata"))
	allErrs = append(allErrs, ValidateVirtualMachineStatus(&newVM.Status, field.NewPath("status"))...)
	return allErrs
}

// ValidateVirtualMachineSpec validates a VM spec: the run strategy rules of the
// lifecycle contract and the instance template.
func ValidateVirtualMachineSpec(spec *kubevirt.VirtualMachineSpec, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList

	switch {
	case spec.Running != nil && spec.RunStrategy != nil:
		allErrs = append(allErrs, field.Forbidden(fldPath.Child("running"), RunningAndRunStrategyMessage))
	case spec.Running == nil && spec.RunStrategy == nil:
		allErrs = append(allErrs, field.Required(fldPath.Child("runStrategy"), RunStrategyRequiredMessage))
	}
	if spec.RunStrategy != nil && !spec.RunStrategy.IsSupported() {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("runStrategy"), *spec.RunStrategy, kubevirt.SupportedRunStrategies))
	}

	if spec.Template == nil {
		allErrs = append(allErrs, field.Required(fldPath.Child("template"), "the instance template is required"))
	} else {
		allErrs = append(allErrs, validateTemplate(spec.Template, fldPath.Child("template"))...)
	}
	return allErrs
}

// ValidateVirtualMachineStatus validates a VM status as a runtime writes it.
func ValidateVirtualMachineStatus(status *kubevirt.VirtualMachineStatus, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList

	if len(status.PrintableStatus) > MaxPrintableStatusLength {
		allErrs = append(allErrs, field.TooLong(fldPath.Child("printableStatus"), status.PrintableStatus, MaxPrintableStatusLength))
	}
	if status.RunStrategy != "" && !status.RunStrategy.IsSupported() {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("runStrategy"), status.RunStrategy, kubevirt.SupportedRunStrategies))
	}
	allErrs = append(allErrs, apimachineryvalidation.ValidateNonnegativeField(status.ObservedGeneration, fldPath.Child("observedGeneration"))...)

	seenTypes := sets.New[kubevirt.VirtualMachineConditionType]()
	for i, cond := range status.Conditions {
		idxPath := fldPath.Child("conditions").Index(i)
		switch {
		case cond.Type == "":
			allErrs = append(allErrs, field.Required(idxPath.Child("type"), "a condition type is required"))
		case seenTypes.Has(cond.Type):
			allErrs = append(allErrs, field.Duplicate(idxPath.Child("type"), cond.Type))
		default:
			seenTypes.Insert(cond.Type)
		}
		if !isOneOf(cond.Status, supportedConditionStatuses) {
			allErrs = append(allErrs, field.NotSupported(idxPath.Child("status"), cond.Status, supportedConditionStatuses))
		}
	}

	for i, req := range status.StateChangeRequests {
		if !isOneOf(req.Action, supportedRequestActions) {
			allErrs = append(allErrs, field.NotSupported(
				fldPath.Child("stateChangeRequests").Index(i).Child("action"), req.Action, supportedRequestActions))
		}
	}
	return allErrs
}

func validateTemplate(tmpl *kubevirt.VirtualMachineInstanceTemplateSpec, fldPath *field.Path) field.ErrorList {
	metaPath := fldPath.Child("metadata")
	allErrs := metav1validation.ValidateLabels(tmpl.ObjectMeta.Labels, metaPath.Child("labels"))
	allErrs = append(allErrs, apimachineryvalidation.ValidateAnnotations(tmpl.ObjectMeta.Annotations, metaPath.Child("annotations"))...)
	allErrs = append(allErrs, validateInstanceSpec(&tmpl.Spec, fldPath.Child("spec"))...)
	return allErrs
}

func validateInstanceSpec(spec *kubevirt.VirtualMachineInstanceSpec, fldPath *field.Path) field.ErrorList {
	volumeErrs, volumeNames := validateVolumes(spec.Volumes, fldPath.Child("volumes"))
	networkErrs, networkNames := validateNetworks(spec.Networks, fldPath.Child("networks"))

	allErrs := append(volumeErrs, networkErrs...)
	allErrs = append(allErrs, validateDomain(&spec.Domain, volumeNames, networkNames, fldPath.Child("domain"))...)

	if spec.TerminationGracePeriodSeconds != nil {
		allErrs = append(allErrs, apimachineryvalidation.ValidateNonnegativeField(
			*spec.TerminationGracePeriodSeconds, fldPath.Child("terminationGracePeriodSeconds"))...)
	}
	if spec.Hostname != "" {
		allErrs = append(allErrs, validateDNSLabel(spec.Hostname, fldPath.Child("hostname"))...)
	}
	if spec.Subdomain != "" {
		allErrs = append(allErrs, validateDNSLabel(spec.Subdomain, fldPath.Child("subdomain"))...)
	}
	allErrs = append(allErrs, metav1validation.ValidateLabels(spec.NodeSelector, fldPath.Child("nodeSelector"))...)
	allErrs = append(allErrs, validateTolerations(spec.Tolerations, fldPath.Child("tolerations"))...)
	if spec.EvictionStrategy != nil && !isOneOf(string(*spec.EvictionStrategy), supportedEvictionStrategies) {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("evictionStrategy"), *spec.EvictionStrategy, supportedEvictionStrategies))
	}
	return allErrs
}

// validateVolumes validates the volumes and returns the names they declare,
// which the disks must refer to.
func validateVolumes(volumes []kubevirt.Volume, fldPath *field.Path) (field.ErrorList, sets.Set[string]) {
	var allErrs field.ErrorList
	names := sets.New[string]()
	for i := range volumes {
		vol := &volumes[i]
		idxPath := fldPath.Index(i)
		allErrs = append(allErrs, validateListName(vol.Name, names, idxPath.Child("name"))...)
		allErrs = append(allErrs, validateVolumeSource(&vol.VolumeSource, idxPath)...)
	}
	return allErrs, names
}

func validateVolumeSource(src *kubevirt.VolumeSource, fldPath *field.Path) field.ErrorList {
	// The JSON names of the sources that are set, in declaration order.
	var set []string
	var allErrs field.ErrorList

	if cd := src.ContainerDisk; cd != nil {
		set = append(set, "containerDisk")
		cdPath := fldPath.Child("containerDisk")
		if cd.Image == "" {
			allErrs = append(allErrs, field.Required(cdPath.Child("image"), "a container image is required"))
		}
		if cd.ImagePullPolicy != "" && !isOneOf(cd.ImagePullPolicy, supportedPullPolicies) {
			allErrs = append(allErrs, field.NotSupported(cdPath.Child("imagePullPolicy"), cd.ImagePullPolicy, supportedPullPolicies))
		}
	}
	if ci := src.CloudInitNoCloud; ci != nil {
		set = append(set, "cloudInitNoCloud")
		allErrs = append(allErrs, validateCloudInit(
			ci.UserDataSecretRef, ci.UserDataBase64, ci.UserData,
			ci.NetworkDataSecretRef, ci.NetworkDataBase64, ci.NetworkData,
			fldPath.Child("cloudInitNoCloud"))...)
	}
	if ci := src.CloudInitConfigDrive; ci != nil {
		set = append(set, "cloudInitConfigDrive")
		allErrs = append(allErrs, validateCloudInit(
			ci.UserDataSecretRef, ci.UserDataBase64, ci.UserData,
			ci.NetworkDataSecretRef, ci.NetworkDataBase64, ci.NetworkData,
			fldPath.Child("cloudInitConfigDrive"))...)
	}
	if pvc := src.PersistentVolumeClaim; pvc != nil {
		set = append(set, "persistentVolumeClaim")
		if pvc.ClaimName == "" {
			allErrs = append(allErrs, field.Required(fldPath.Child("persistentVolumeClaim", "claimName"), "a claim name is required"))
		}
	}
	if dv := src.DataVolume; dv != nil {
		set = append(set, "dataVolume")
		if dv.Name == "" {
			allErrs = append(allErrs, field.Required(fldPath.Child("dataVolume", "name"), "a DataVolume name is required"))
		}
	}
	if ed := src.EmptyDisk; ed != nil {
		set = append(set, "emptyDisk")
		if ed.Capacity.Sign() <= 0 {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("emptyDisk", "capacity"), ed.Capacity.String(), "must be greater than 0"))
		}
	}
	if s := src.Secret; s != nil {
		set = append(set, "secret")
		if s.SecretName == "" {
			allErrs = append(allErrs, field.Required(fldPath.Child("secret", "secretName"), "a Secret name is required"))
		}
	}
	if cm := src.ConfigMap; cm != nil {
		set = append(set, "configMap")
		if cm.Name == "" {
			allErrs = append(allErrs, field.Required(fldPath.Child("configMap", "name"), "a ConfigMap name is required"))
		}
	}

	switch {
	case len(set) == 0:
		allErrs = append(allErrs, field.Required(fldPath, "must specify exactly one volume source"))
	case len(set) > 1:
		allErrs = append(allErrs, field.Forbidden(fldPath.Child(set[1]),
			fmt.Sprintf("may not specify more than one volume source (%s is already set)", set[0])))
	}
	return allErrs
}

// validateCloudInit checks that cloud-init data comes from at most one place
// each for user and network data, and that there is some data at all.
func validateCloudInit(userRef *corev1.LocalObjectReference, userB64, user string,
	netRef *corev1.LocalObjectReference, netB64, net string, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	userSources := countSet(userRef != nil, userB64 != "", user != "")
	netSources := countSet(netRef != nil, netB64 != "", net != "")
	if userSources > 1 {
		allErrs = append(allErrs, field.Forbidden(fldPath,
			"only one of secretRef, userDataBase64 and userData may be set"))
	}
	if netSources > 1 {
		allErrs = append(allErrs, field.Forbidden(fldPath,
			"only one of networkDataSecretRef, networkDataBase64 and networkData may be set"))
	}
	if userSources == 0 && netSources == 0 {
		allErrs = append(allErrs, field.Required(fldPath, "must specify user data or network data"))
	}
	return allErrs
}

// validateNetworks validates the networks and returns the names they
// declare, which the interfaces must refer to.
func validateNetworks(networks []kubevirt.Network, fldPath *field.Path) (field.ErrorList, sets.Set[string]) {
	var allErrs field.ErrorList
	names := sets.New[string]()
	podNetworks := 0
	for i := range networks {
		nw := &networks[i]
		idxPath := fldPath.Index(i)
		allErrs = append(allErrs, validateListName(nw.Name, names, idxPath.Child("name"))...)

		switch {
		case nw.Pod == nil && nw.Multus == nil:
			allErrs = append(allErrs, field.Required(idxPath, "must specify exactly one of pod or multus"))
		case nw.Pod != nil && nw.Multus != nil:
			allErrs = append(allErrs, field.Forbidden(idxPath.Child("multus"), "may not be set together with pod"))
		}
		if nw.Pod != nil {
			podNetworks++
			if podNetworks > 1 {
				allErrs = append(allErrs, field.Forbidden(idxPath.Child("pod"), "only one pod network is allowed"))
			}
		}
		if nw.Multus != nil && nw.Multus.NetworkName == "" {
			allErrs = append(allErrs, field.Required(idxPath.Child("multus", "networkName"), "a network name is required"))
		}
	}
	return allErrs, names
}

func validateDomain(domain *kubevirt.DomainSpec, volumeNames, networkNames sets.Set[string], fldPath *field.Path) field.ErrorList {
	resPath := fldPath.Child("resources")
	allErrs := validateResourceList(domain.Resources.Requests, resPath.Child("requests"))
	allErrs = append(allErrs, validateResourceList(domain.Resources.Limits, resPath.Child("limits"))...)

	if domain.Memory != nil && domain.Memory.Guest != nil && domain.Memory.Guest.Sign() <= 0 {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("memory", "guest"), domain.Memory.Guest.String(), "must be greater than 0"))
	}
	if fw := domain.Firmware; fw != nil && fw.Bootloader != nil && fw.Bootloader.BIOS != nil && fw.Bootloader.EFI != nil {
		allErrs = append(allErrs, field.Forbidden(fldPath.Child("firmware", "bootloader", "efi"), "may not be set together with bios"))
	}

	devPath := fldPath.Child("devices")
	allErrs = append(allErrs, validateDisks(domain.Devices.Disks, volumeNames, devPath.Child("disks"))...)
	allErrs = append(allErrs, validateInterfaces(domain.Devices.Interfaces, networkNames, devPath.Child("interfaces"))...)
	return allErrs
}

func validateResourceList(list corev1.ResourceList, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	for name, q := range list {
		if q.Sign() < 0 {
			allErrs = append(allErrs, field.Invalid(fldPath.Key(string(name)), q.String(), "must be greater than or equal to 0"))
		}
	}
	return allErrs
}

func validateDisks(disks []kubevirt.Disk, volumeNames sets.Set[string], fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	names := sets.New[string]()
	bootOrders := sets.New[uint]()
	for i := range disks {
		disk := &disks[i]
		idxPath := fldPath.Index(i)
		nameErrs := validateListName(disk.Name, names, idxPath.Child("name"))
		allErrs = append(allErrs, nameErrs...)
		// Only a well-formed, unique name is worth looking up among the volumes.
		if len(nameErrs) == 0 && !volumeNames.Has(disk.Name) {
			allErrs = append(allErrs, field.Invalid(idxPath.Child("name"), disk.Name, "must match the name of a volume"))
		}

		var devices []string
		if disk.Disk != nil {
			devices = append(devices, "disk")
		}
		if disk.LUN != nil {
			devices = append(devices, "lun")
		}
		if disk.CDRom != nil {
			devices = append(devices, "cdrom")
		}
		if len(devices) > 1 {
			allErrs = append(allErrs, field.Forbidden(idxPath.Child(devices[1]),
				fmt.Sprintf("may not specify more than one of disk, lun and cdrom (%s is already set)", devices[0])))
		}

		if disk.BootOrder != nil {
			order := *disk.BootOrder
			switch {
			case order < 1:
				allErrs = append(allErrs, field.Invalid(idxPath.Child("bootOrder"), order, "must be 1 or greater"))
			case bootOrders.Has(order):
				allErrs = append(allErrs, field.Duplicate(idxPath.Child("bootOrder"), order))
			default:
				bootOrders.Insert(order)
			}
		}
	}
	return allErrs
}

func validateInterfaces(ifaces []kubevirt.Interface, networkNames sets.Set[string], fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	names := sets.New[string]()
	for i := range ifaces {
		iface := &ifaces[i]
		idxPath := fldPath.Index(i)
		nameErrs := validateListName(iface.Name, names, idxPath.Child("name"))
		allErrs = append(allErrs, nameErrs...)
		if len(nameErrs) == 0 && !networkNames.Has(iface.Name) {
			allErrs = append(allErrs, field.Invalid(idxPath.Child("name"), iface.Name, "must match the name of a network"))
		}

		if iface.Bridge != nil && iface.Masquerade != nil {
			allErrs = append(allErrs, field.Forbidden(idxPath.Child("masquerade"), "may not be set together with bridge"))
		}

		for j, port := range iface.Ports {
			portPath := idxPath.Child("ports").Index(j)
			for _, msg := range utilvalidation.IsValidPortNum(int(port.Port)) {
				allErrs = append(allErrs, field.Invalid(portPath.Child("port"), port.Port, msg))
			}
			// An empty protocol is what v1 defaults to TCP; accept it here too.
			if port.Protocol != "" && !isOneOf(port.Protocol, supportedPortProtocols) {
				allErrs = append(allErrs, field.NotSupported(portPath.Child("protocol"), port.Protocol, supportedPortProtocols))
			}
			if port.Name != "" {
				for _, msg := range utilvalidation.IsValidPortName(port.Name) {
					allErrs = append(allErrs, field.Invalid(portPath.Child("name"), port.Name, msg))
				}
			}
		}
	}
	return allErrs
}

// validateTolerations is a light version of the core validation: it checks
// the key, operator and effect without the feature-gated operators.
func validateTolerations(tolerations []corev1.Toleration, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	for i, tol := range tolerations {
		idxPath := fldPath.Index(i)
		if tol.Key != "" {
			allErrs = append(allErrs, metav1validation.ValidateLabelName(tol.Key, idxPath.Child("key"))...)
		}
		switch tol.Operator {
		case "", corev1.TolerationOpEqual:
			if tol.Key == "" {
				allErrs = append(allErrs, field.Invalid(idxPath.Child("operator"), tol.Operator,
					"must be Exists when key is empty"))
			}
		case corev1.TolerationOpExists:
			if tol.Value != "" {
				allErrs = append(allErrs, field.Invalid(idxPath.Child("value"), tol.Value,
					"must be empty when operator is Exists"))
			}
		default:
			allErrs = append(allErrs, field.NotSupported(idxPath.Child("operator"), tol.Operator, supportedTolerationOps))
		}
		if tol.Effect != "" && !isOneOf(tol.Effect, supportedTaintEffects) {
			allErrs = append(allErrs, field.NotSupported(idxPath.Child("effect"), tol.Effect, supportedTaintEffects))
		}
		if tol.TolerationSeconds != nil && tol.Effect != corev1.TaintEffectNoExecute {
			allErrs = append(allErrs, field.Invalid(idxPath.Child("effect"), tol.Effect,
				"must be NoExecute when tolerationSeconds is set"))
		}
	}
	return allErrs
}

// validateListName checks that name is a DNS-1123 label that is not yet in
// seen, and adds it to seen.
func validateListName(name string, seen sets.Set[string], fldPath *field.Path) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(fldPath, "a name is required")}
	}
	if errs := validateDNSLabel(name, fldPath); len(errs) > 0 {
		return errs
	}
	if seen.Has(name) {
		return field.ErrorList{field.Duplicate(fldPath, name)}
	}
	seen.Insert(name)
	return nil
}

func validateDNSLabel(value string, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	for _, msg := range utilvalidation.IsDNS1123Label(value) {
		allErrs = append(allErrs, field.Invalid(fldPath, value, msg))
	}
	return allErrs
}

func isOneOf[T comparable](value T, allowed []T) bool {
	for _, a := range allowed {
		if value == a {
			return true
		}
	}
	return false
}

func countSet(flags ...bool) int {
	n := 0
	for _, f := range flags {
		if f {
			n++
		}
	}
	return n
}
