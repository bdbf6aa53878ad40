// Package bench is the harness behind `make bench`: it drives a running
// vm-apiserver and the etcd under it, over HTTPS with the standalone admin
// client certificate, and prints one line per figure.
//
// The action figures compare five ways of flipping a VM between Halted and
// Always, on the same VMs and one after the other for each concurrency:
//
//	A  our action: PUT .../virtualmachines/{name}/start or /stop
//	B  a plain update: GET the VM, flip spec.runStrategy, PUT it (again on 409)
//	C  the KubeVirt way: GET, then a JSON patch with a test op on spec.runStrategy
//	D  the etcd floor: clientv3 Get, then a Txn comparing the mod revision
//	   that puts the same bytes back
//	P  the peer: C's requests sent to kube-apiserver, which serves the VMs
//	   from a CRD generated from the same types (package crd), as in a
//	   KubeVirt cluster
//
// cmd/vm-bench is the command `make bench` runs (hack/bench.sh builds it and
// runs `vm-bench run`): it starts the processes and drives them with this
// package.
package bench
