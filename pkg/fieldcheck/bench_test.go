package fieldcheck

import (
	"testing"

	virtv1 "kubevirt.io/api/core/v1"
	sigsjson "sigs.k8s.io/json"
)

func BenchmarkCheck(b *testing.B) {
	clean := sampleVMJSON(b)
	deep := inject(b, clean, `"disks":[{"name":"rootdisk"`, `,"foo":{"bar":[1,2,3]}`)
	dup := inject(b, clean, `"evictionStrategy":"LiveMigrate"`, `"evictionStrategy":"None",`)
	for _, bc := range []struct {
		name     string
		doc      []byte
		problems int
	}{{"clean", clean, 0}, {"unknown-deep", deep, 1}, {"duplicate", dup, 1}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.doc)))
			b.ReportAllocs()
			for b.Loop() {
				_, problems, err := vmChecker.Check(bc.doc, Object)
				if err != nil || len(problems) != bc.problems {
					b.Fatalf("problems %v, err %v", problems, err)
				}
			}
		})
	}
	// For scale: what the strict decode that follows the check costs.
	b.Run("reference-strict-decode", func(b *testing.B) {
		b.SetBytes(int64(len(clean)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := sigsjson.UnmarshalStrict(clean, new(virtv1.VirtualMachine)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkNewChecker(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = NewChecker(vmType, transparentVMTypes...)
	}
}
