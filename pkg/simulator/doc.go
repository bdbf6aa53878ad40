// Package simulator is a reference VM runtime that simulates instances.
//
// It is a controller in the usual client-go shape: a VirtualMachine informer
// feeds a rate-limited workqueue, and its writes go through the
// virtualmachines/status subresource, with one exception: it folds pending
// status.volumeRequests into spec.template, as KubeVirt's VM controller
// does, and drops them from status once the template shows them. It never
// writes metadata. It reports status.volumeSnapshotStatuses for every
// volume of the template, hot plugged ones included.
//
// For every VM it keeps a simulated instance whose state lives entirely in
// status (created, printableStatus and the Ready condition), so the runtime can
// be restarted at any time. It carries out the VM's run strategy and its
// status.stateChangeRequests the way KubeVirt's VM controller does, removing
// the first request once it has been carried out.
//
// A person injects a guest crash or a guest-initiated shutdown with the
// annotation simulated.vm-apiserver.io/fault (see FaultAnnotation); the
// runtime acts once on every new value and records the last value handled in
// the SimulatedFault condition.
//
// docs/runtime.md describes the status contract that any runtime, simulated
// or real, follows.
package simulator
