package validation

import (
	"k8s.io/apimachinery/pkg/util/validation/field"
	virtv1 "kubevirt.io/api/core/v1"
)

var (
	supportedInputBuses  = []virtv1.InputBus{virtv1.InputBusVirtio, virtv1.InputBusUSB}
	supportedSoundModels = []string{"ich9", "ac97"}
	supportedPanicModels = []virtv1.PanicDeviceModel{virtv1.Hyperv, virtv1.Isa, virtv1.Pvpanic}
	supportedInputTypes  = []virtv1.InputType{virtv1.InputTypeTablet}
)

// validateDevices validates the devices other than disks and interfaces:
// input, sound, video, panic devices and passed-through GPUs.
func validateDevices(spec *virtv1.VirtualMachineInstanceSpec, fldPath lazyPath) field.ErrorList {
	devices := &spec.Domain.Devices
	devPath := fldPath.child("domain", "devices")
	var allErrs field.ErrorList

	for i, input := range devices.Inputs {
		idxPath := devPath.child("inputs").index(i)
		if input.Bus != "" {
			allErrs = append(allErrs, validateOneOf(input.Bus, supportedInputBuses, idxPath.child("bus"))...)
		}
		// KubeVirt only emulates a tablet, even though keyboard is declared.
		allErrs = append(allErrs, validateOneOf(input.Type, supportedInputTypes, idxPath.child("type"))...)
	}
	if sound := devices.Sound; sound != nil {
		soundPath := devPath.child("sound")
		if sound.Name == "" {
			allErrs = append(allErrs, field.Required(soundPath().Child("name"), "a name is required"))
		}
		if sound.Model != "" {
			allErrs = append(allErrs, validateOneOf(sound.Model, supportedSoundModels, soundPath.child("model"))...)
		}
	}
	// Without the graphics device there is no display to configure.
	if devices.Video != nil && devices.AutoattachGraphicsDevice != nil && !*devices.AutoattachGraphicsDevice {
		allErrs = append(allErrs, field.Forbidden(devPath().Child("video"), "may not be set when autoattachGraphicsDevice is false"))
	}
	// s390x guests report panics through their own channel.
	if len(devices.PanicDevices) > 0 && spec.Architecture == architectureS390X {
		allErrs = append(allErrs, field.Forbidden(devPath().Child("panicDevices"), "panic devices are not supported on s390x"))
	}
	for i, panicDev := range devices.PanicDevices {
		// A nil model lets KubeVirt pick the architecture's default.
		if panicDev.Model != nil {
			allErrs = append(allErrs, validateOneOf(*panicDev.Model, supportedPanicModels, devPath.child("panicDevices").index(i).child("model"))...)
		}
	}

	// A single display can be backed by ramfb.
	ramFBDisplays := 0
	for i, gpu := range devices.GPUs {
		if opts := gpu.VirtualGPUOptions; opts != nil && opts.Display != nil && enabledUnlessFalse(opts.Display.Enabled) &&
			(opts.Display.RamFB == nil || isTrue(opts.Display.RamFB.Enabled)) {
			ramFBDisplays++
			if ramFBDisplays > 1 {
				allErrs = append(allErrs, field.Forbidden(devPath().Child("gpus").Index(i).Child("virtualGPUOptions", "display"),
					"only one GPU display may use ramfb"))
			}
		}
	}
	return allErrs
}
