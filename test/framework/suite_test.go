package framework

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSuiteEnabled(t *testing.T) {
	t.Setenv(SuiteEnv, "integration, bench")
	assert.True(t, SuiteEnabled("integration"))
	assert.True(t, SuiteEnabled("bench"))
	assert.False(t, SuiteEnabled("reliability"))
	assert.Contains(t, SuiteOff("reliability"), "VM_APISERVER_SUITE=reliability")
	t.Setenv(SuiteEnv, "")
	assert.False(t, SuiteEnabled("integration"))
}
