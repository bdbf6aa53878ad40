package apiserver

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/vm-apiserver/vm-apiserver/pkg/registry/virtualmachine"
)

var fuzzActions = []virtualmachine.Action{virtualmachine.ActionStart, virtualmachine.ActionStop, virtualmachine.ActionRestart}

// FuzzDecodeOptions feeds arbitrary bodies, as JSON and as YAML, and dryRun
// query values to the decoder of each action, under each fieldValidation: they never panic, fail
// only with a 400 or 413, and what they accept is within the contract. The
// directives agree: Strict accepts exactly the bodies that Warn accepts
// without a warning, with the same options; Ignore accepts what Warn
// accepts, silently and with the same options.
func FuzzDecodeOptions(f *testing.F) {
	seeds := []string{
		"", " ", "{}", "null", "---", `{"paused":true}`, `{"dryRun":["All"]}`, `{"gracePeriod":0}`,
		`{"gracePeriodSeconds":0}`, `{"gracePeriodSeconds":5}`, `{"gracePeriod":-1}`, "paused: true\n",
		`{"kind":"StopOptions","apiVersion":"kubevirt.io/v1"}`, `{"kind":"X"}`, `{"foo":1}`, `{"paused":`, `{"Paused":true}`, `{"paused":true,"paused":false}`, "paused: true\nnewOption: x\n",
		"[", "a: [", "&a [*a]", `{"dryRun":"All"}`, "gracePeriod: 1e400", "\xff\xfe",
	}
	for i, s := range seeds {
		f.Add([]byte(s), "", uint8(i))
	}
	f.Add([]byte(""), "All", uint8(0))
	f.Add([]byte(`{"dryRun":["All"]}`), "None", uint8(1))

	// which picks the action and, by its fourth bit, JSON or YAML.
	f.Fuzz(func(t *testing.T, body []byte, query string, which uint8) {
		mediaType := runtime.ContentTypeJSON
		if which&8 != 0 {
			mediaType = runtime.ContentTypeYAML
		}
		var dryRunQuery []string
		if query != "" {
			dryRunQuery = []string{query}
		}
		action := fuzzActions[int(which)%len(fuzzActions)]
		o, warnings, err := decodeOptions(action, mediaType, body, dryRunQuery, metav1.FieldValidationWarn)
		strict, strictWarnings, strictErr := decodeOptions(action, mediaType, body, dryRunQuery, metav1.FieldValidationStrict)
		ignored, ignoredWarnings, ignoredErr := decodeOptions(action, mediaType, body, dryRunQuery, metav1.FieldValidationIgnore)
		assert.Empty(t, strictWarnings)
		assert.Empty(t, ignoredWarnings)
		assert.Equal(t, err == nil && len(warnings) == 0, strictErr == nil, "Strict accepts what Warn accepts without warnings")
		if strictErr == nil {
			assert.Equal(t, o, strict)
		}
		assert.Equal(t, err == nil, ignoredErr == nil, "Ignore accepts what Warn accepts")
		if err == nil {
			assert.Equal(t, o, ignored)
		}
		if err == nil {
			switch action {
			case virtualmachine.ActionStart:
				assert.Nil(t, o.GracePeriodSeconds)
			case virtualmachine.ActionStop:
				assert.False(t, o.Paused)
				if o.GracePeriodSeconds != nil {
					assert.GreaterOrEqual(t, *o.GracePeriodSeconds, int64(0))
				}
			case virtualmachine.ActionRestart:
				assert.False(t, o.Paused)
				if o.GracePeriodSeconds != nil {
					assert.Equal(t, int64(0), *o.GracePeriodSeconds)
				}
			}
		}
		if err != nil {
			status, ok := err.(apierrors.APIStatus)
			require.True(t, ok, "errors are API status errors, got %T: %v", err, err)
			assert.Contains(t, []int32{http.StatusBadRequest, http.StatusRequestEntityTooLarge}, status.Status().Code, err.Error())
			return
		}
		if o.DryRun != nil {
			assert.Equal(t, []string{"All"}, o.DryRun)
		}
	})
}
