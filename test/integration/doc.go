// Package integration holds the conformance suite that runs vm-apiserver
// behind a real kube-apiserver, with a real etcd and a real kubectl. It runs
// only with VM_APISERVER_SUITE=integration, which hack/test-integration.sh
// sets.
package integration
