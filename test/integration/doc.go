// Package integration holds the conformance suite that runs vm-apiserver
// behind a real kube-apiserver, with a real etcd and a real kubectl.
package integration
