package app

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCompleteClientCAFlags checks which CA flags standalone mode takes:
// --client-ca-file replaces the data dir's CA, and the front-proxy CA,
// which needs a front proxy, is refused rather than ignored.
func TestCompleteClientCAFlags(t *testing.T) {
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	parse := func(o *Options, args ...string) error {
		fss := o.Flags()
		return fss.FlagSet("authentication").Parse(args)
	}
	o := NewOptions()
	require.NoError(t, parse(o, "--client-ca-file=/etc/vm/ca.crt"))
	require.NoError(t, o.Complete())
	assert.True(t, o.Standalone())
	assert.Equal(t, "/etc/vm/ca.crt", o.clientCAFile)

	o = NewOptions()
	require.NoError(t, parse(o, "--requestheader-client-ca-file=/etc/vm/fp.crt"))
	err := o.Complete()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "--requestheader-client-ca-file needs cluster mode")

	o = NewOptions()
	require.NoError(t, o.Complete())
	assert.Empty(t, o.clientCAFile, "without the flag, the data dir's CA")
}
