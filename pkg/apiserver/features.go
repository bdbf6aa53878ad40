package apiserver

import (
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apiserver/pkg/features"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
)

// The generic server's feature gates whose defaults this server changes.
// --feature-gates still sets them either way.
func init() {
	// The watch cache keeps no snapshots of past states for LISTs. With
	// 100,000 VMs those snapshots held about 170 MB of the heap after a burst
	// of creates, and with them the server could not stay under a 1 GiB
	// memory limit; without them, a LIST that continues a paged one or asks
	// for an exact resourceVersion is served by etcd instead of the cache,
	// at the same consistency (docs/performance.md has the figures).
	utilruntime.Must(utilfeature.DefaultMutableFeatureGate.OverrideDefault(features.ListFromCacheSnapshot, false))
}
