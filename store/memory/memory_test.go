package memory_test

import (
	"testing"

	"github.com/hrissync/hrissync/store"
	"github.com/hrissync/hrissync/store/memory"
	"github.com/hrissync/hrissync/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(*testing.T) store.Store { return memory.New() })
}
