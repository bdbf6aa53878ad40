// Package framework is what the test suites of vm-apiserver share:
//
//   - StartServer: a vm-apiserver inside the test process, on an embedded
//     etcd and with standalone TLS, for end-to-end tests over HTTPS;
//   - Process: a program run as its own process, with its output in a log
//     file, which can be stopped, killed, paused and started again; Etcd
//     runs etcd that way, and EtcdCluster runs several members with their
//     peer traffic through fault proxies;
//   - StartVMAPIServer and StartKubeAPIServer: vm-apiserver and
//     kube-apiserver as processes on loopback ports, for every suite that
//     runs them (the options say what differs);
//   - KitServerSettings: the environment and flags of vm-apiserver as the
//     deployment kit ships it;
//   - FaultProxy: a TCP proxy on loopback that blackholes or resets
//     connections on command, to make partitions;
//   - CA and KeyPair: certificate authorities, serving and client
//     certificates, written as PEM files;
//   - FindBinaries: etcd, kube-apiserver and kubectl as
//     hack/build-test-binaries.sh builds them, and bin/vm-apiserver;
//   - Poll: waiting for a condition, with the reason it did not hold;
//   - Suite: the switch of a heavy suite (VM_APISERVER_SUITE), which skips
//     its tests when off, fails them under CI=true, and fails a suite that
//     is on and ran no test.
//
// Nothing under pkg/ or cmd/ may import it.
package framework
