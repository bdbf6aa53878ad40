package apiserver

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"k8s.io/apiserver/pkg/features"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
)

func TestFeatureDefaults(t *testing.T) {
	assert.False(t, utilfeature.DefaultFeatureGate.Enabled(features.ListFromCacheSnapshot),
		"the watch cache keeps no LIST snapshots unless --feature-gates turns them on")
}
