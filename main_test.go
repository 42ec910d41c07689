package hrissync_test

import (
	"testing"

	"go.uber.org/goleak"
)

// No goroutine the engine starts may outlive Run.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
