package app

import (
	"strings"
	"testing"
	"time"

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

// TestEventTTLFlag checks --event-ttl: an hour by default, as in
// kube-apiserver, and never under a second, which would store Events
// without a lease, never to expire.
func TestEventTTLFlag(t *testing.T) {
	tests := []struct {
		args    []string
		want    time.Duration
		invalid bool
	}{
		{nil, time.Hour, false},
		{[]string{"--event-ttl=10m"}, 10 * time.Minute, false},
		{[]string{"--event-ttl=1s"}, time.Second, false},
		{[]string{"--event-ttl=999ms"}, 999 * time.Millisecond, true},
		{[]string{"--event-ttl=0"}, 0, true},
		{[]string{"--event-ttl=-1h"}, -time.Hour, true},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			o := NewOptions()
			fss := o.Flags()
			require.NoError(t, fss.FlagSet("vm-apiserver").Parse(tt.args))
			assert.Equal(t, tt.want, o.EventTTL)
			err := o.Validate()
			if tt.invalid {
				assert.ErrorContains(t, err, "--event-ttl must be at least 1s")
			} else if err != nil {
				assert.NotContains(t, err.Error(), "--event-ttl")
			}
		})
	}
}
