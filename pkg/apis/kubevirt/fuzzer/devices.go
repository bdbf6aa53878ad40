package fuzzer

import (
	virtv1 "kubevirt.io/api/core/v1"
)

// devices fixes the devices other than disks and interfaces, whose other
// fields the random fill already set.
func (g *generator) devices(in *instance) {
	devs := &in.spec.Domain.Devices
	for i := range devs.Inputs {
		// Only a tablet is emulated.
		devs.Inputs[i].Type = virtv1.InputTypeTablet
		devs.Inputs[i].Bus = pick(g, "", virtv1.InputBusUSB, virtv1.InputBusVirtio)
		devs.Inputs[i].Name = g.name("input")
	}
	// A sound device needs a name and an emulated model.
	if devs.Sound != nil {
		devs.Sound.Name = g.label()
		devs.Sound.Model = pick(g, "", "ich9", "ac97")
	}
	if devs.Video != nil {
		devs.Video.Type = pick(g, "", "virtio", "vga", "bochs", "ramfb")
		// Video settings need the graphics device.
		if devs.AutoattachGraphicsDevice != nil {
			devs.AutoattachGraphicsDevice = ptrTo(true)
		}
	}
	// s390x has no panic devices.
	if in.spec.Architecture == "s390x" {
		devs.PanicDevices = nil
	}
	for i := range devs.PanicDevices {
		devs.PanicDevices[i].Model = optional(g, pick(g, virtv1.Hyperv, virtv1.Isa, virtv1.Pvpanic))
	}
	// A watchdog is one of the two emulated devices.
	if w := devs.Watchdog; w != nil {
		w.Name = g.label()
		if g.chance(.5) {
			w.Diag288 = nil
			w.I6300ESB = &virtv1.I6300ESBWatchdog{Action: pick(g, virtv1.WatchdogActionPoweroff, virtv1.WatchdogActionReset, virtv1.WatchdogActionShutdown)}
		} else {
			w.I6300ESB = nil
			w.Diag288 = &virtv1.Diag288Watchdog{Action: pick(g, "", virtv1.WatchdogActionReset)}
		}
	}
	g.gpus(in)
	g.hostDevices(in)
}

// gpus are either all device plugin resources or all DRA claim requests,
// and at most one display uses ramfb.
func (g *generator) gpus(in *instance) {
	gpus := in.spec.Domain.Devices.GPUs
	dra := len(in.claims) > 0 && g.chance(.4)
	ramFB := false
	for i := range gpus {
		gpu := &gpus[i]
		gpu.Name = g.name("gpu")
		if dra {
			gpu.DeviceName, gpu.ClaimRequest = "", g.claimRequest(in)
		} else {
			gpu.DeviceName, gpu.ClaimRequest = "nvidia.com/"+g.label(), nil
		}
		// Turn ramfb off on any further display that would use it.
		if opts := gpu.VirtualGPUOptions; opts != nil && opts.Display != nil {
			display := opts.Display
			counts := display.Enabled == nil || *display.Enabled
			usesRAMFB := display.RamFB == nil || (display.RamFB.Enabled != nil && *display.RamFB.Enabled)
			if counts && usesRAMFB {
				if ramFB {
					display.RamFB = &virtv1.FeatureState{Enabled: ptrTo(false)}
				}
				ramFB = true
			}
		}
	}
}

// hostDevices may mix device plugin resources and DRA claim requests.
func (g *generator) hostDevices(in *instance) {
	for i := range in.spec.Domain.Devices.HostDevices {
		hd := &in.spec.Domain.Devices.HostDevices[i]
		hd.Name = g.name("hostdev")
		if len(in.claims) > 0 && g.chance(.4) {
			hd.DeviceName, hd.ClaimRequest = "", g.claimRequest(in)
		} else {
			hd.DeviceName, hd.ClaimRequest = "example.com/"+g.label(), nil
		}
	}
}
