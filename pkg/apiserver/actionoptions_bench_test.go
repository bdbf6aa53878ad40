package apiserver

import (
	"encoding/json"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/vm-apiserver/vm-apiserver/pkg/registry/virtualmachine"

	"github.com/stretchr/testify/require"
)

// mediaType is YAML for a body that is not JSON, as its client would name it.
func mediaType(body []byte) string {
	if len(body) > 0 && !json.Valid(body) {
		return runtime.ContentTypeYAML
	}
	return ""
}

// BenchmarkDecodeOptions measures the body decoding of the actions: the
// empty body (curl, virtctl without options), the body the generated client
// sends, bodies with options, YAML, and dryRun from the query.
func BenchmarkDecodeOptions(b *testing.B) {
	start := func(body []byte, q []string) error {
		_, _, err := decodeOptions(virtualmachine.ActionStart, mediaType(body), body, q, "")
		return err
	}
	stop := func(body []byte, q []string) error {
		_, _, err := decodeOptions(virtualmachine.ActionStop, mediaType(body), body, q, "")
		return err
	}
	restart := func(body []byte, q []string) error {
		_, _, err := decodeOptions(virtualmachine.ActionRestart, mediaType(body), body, q, "")
		return err
	}
	cases := []struct {
		name   string
		decode func([]byte, []string) error
		body   string
		query  []string
	}{
		{name: "start-empty", decode: start},
		{name: "start-client-go", decode: start, body: `{"kind":"StartOptions","apiVersion":"subresources.kubevirt.io/v1"}`},
		{name: "start-paused-dryrun", decode: start, body: `{"kind":"StartOptions","apiVersion":"subresources.kubevirt.io/v1","paused":true,"dryRun":["All"]}`},
		{name: "start-query-dryrun", decode: start, query: []string{"All"}},
		{name: "stop-client-go", decode: stop, body: `{"kind":"StopOptions","apiVersion":"subresources.kubevirt.io/v1"}`},
		{name: "stop-grace", decode: stop, body: `{"kind":"StopOptions","apiVersion":"subresources.kubevirt.io/v1","gracePeriod":30}`},
		{name: "stop-grace-yaml", decode: stop, body: "kind: StopOptions\napiVersion: subresources.kubevirt.io/v1\ngracePeriod: 30\n"},
		{name: "restart-forced", decode: restart, body: `{"gracePeriodSeconds":0}`},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			body := []byte(tc.body)
			require.NoError(b, tc.decode(body, tc.query))
			b.ReportAllocs()
			for b.Loop() {
				benchSinkErr = tc.decode(body, tc.query)
			}
		})
	}
}

// benchSinkErr keeps benchmarked results alive.
var benchSinkErr error
