// Package reliability is the reliability and security suite of vm-apiserver:
// linearizability of the lifecycle actions across replicas (checked with
// porcupine), etcd and server faults (one etcd process, or three members
// with partitions made through fault proxies), a frozen replica, a rolling
// upgrade from the pinned previous build, hostile input, and the security
// boundary. It runs real processes (etcd, vm-apiserver, kube-apiserver) on
// 127.0.0.1 and is driven by hack/test-reliability.sh; without
// VM_APISERVER_SUITE=reliability its tests skip, so `go test ./...` stays
// fast.
package reliability
