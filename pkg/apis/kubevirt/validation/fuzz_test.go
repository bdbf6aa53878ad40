package validation

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/runtime"
	virtv1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt/install"
)

// fuzzSeeds are VMs as a client may send them, valid and not.
var fuzzSeeds = []string{
	`{}`,
	`{"metadata":{"name":"vm","namespace":"ns"},"spec":{"runStrategy":"Always","template":{"spec":{"domain":{"devices":{}}}}}}`,
	`{"metadata":{"name":"vm","namespace":"ns"},"spec":{"running":true,"runStrategy":"Halted","template":null}}`,
	`{"spec":{"runStrategy":"Nope","template":{"spec":{"domain":{"devices":{"disks":[{"name":"a","disk":{},"cdrom":{},"bootOrder":0},{"name":"a"}],
	  "interfaces":[{"name":"x","bridge":{},"masquerade":{},"ports":[{"port":0,"protocol":"SCTP"},{"port":70000}]}]},
	  "resources":{"requests":{"memory":"-1"}},"memory":{"guest":"0"},"firmware":{"bootloader":{"bios":{},"efi":{}}}},
	  "volumes":[{"name":"a","containerDisk":{},"emptyDisk":{"capacity":"-5"}},{"name":"b"},{"name":"c","cloudInitNoCloud":{}}],
	  "networks":[{"name":"n","pod":{},"multus":{}},{"name":"m"}],
	  "tolerations":[{"operator":"Lt","effect":"Never","tolerationSeconds":5}],
	  "nodeSelector":{"bad key":"bad value"},"hostname":"Bad.Host","terminationGracePeriodSeconds":-3}}}}`,
	`{"spec":{"instancetype":{"inferFromVolume":"a","name":"b"},"dataVolumeTemplates":[{"spec":{"pvc":{},"storage":{},"source":{"http":{},"blank":{}}}}],
	  "template":{"spec":{"domain":{"cpu":{"dedicatedCpuPlacement":true,"threads":9,"realtime":{}},"memory":{"hugepages":{"pageSize":"0"},"maxGuest":"1Gi"},
	  "devices":{"gpus":[{"name":"g","claimName":"c"},{"name":"h","deviceName":"d"}],"disks":[{"name":"d","blockSize":{"custom":{"logical":0,"physical":0}}}]},
	  "launchSecurity":{"sev":{},"tdx":{}}},"architecture":"amd64","resourceClaims":[{"name":"c"}],
	  "networks":[{"name":"n","resourceClaim":{}}],"dnsPolicy":"None","affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{}}}}}}}`,
	`{"status":{"printableStatus":"Running","conditions":[{"type":"","status":"Maybe"},{"type":""}],
	  "stateChangeRequests":[{"action":"Restart","data":{"k":"v"}}],"observedGeneration":-1,
	  "volumeRequests":[{},{"addVolumeOptions":{"name":"x"},"removeVolumeOptions":{"name":"x"}}]}}`,
}

// FuzzValidateVirtualMachine decodes arbitrary JSON as a kubevirt.io/v1
// VirtualMachine, converts it to the internal type and checks that no
// validation function panics on it. Run with
// `go test -fuzz=FuzzValidateVirtualMachine ./pkg/apis/kubevirt/validation`.
func FuzzValidateVirtualMachine(f *testing.F) {
	scheme := runtime.NewScheme()
	install.Install(scheme)
	for _, seed := range fuzzSeeds {
		f.Add([]byte(seed))
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		external := &virtv1.VirtualMachine{}
		if err := json.Unmarshal(data, external); err != nil {
			t.Skip("not a VirtualMachine")
		}
		scheme.Default(external)
		vm := &kubevirt.VirtualMachine{}
		require.NoError(t, scheme.Convert(external, vm, nil))

		old := vm.DeepCopy()
		require.NotPanics(t, func() {
			_ = ValidateVirtualMachine(vm)
			_ = ValidateVirtualMachineUpdate(vm, old)
			_ = ValidateVirtualMachineStatusUpdate(vm, old)
		})
	})
}
