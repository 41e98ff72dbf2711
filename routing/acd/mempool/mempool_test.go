package mempool_test

import (
	"testing"
	"time"

	"github.com/dargah137/dargah/routing/acd"
	"github.com/dargah137/dargah/routing/acd/acdtest"
	"github.com/dargah137/dargah/routing/acd/mempool"
)

func TestPool(t *testing.T) {
	acdtest.RunPool(t, func(t *testing.T, now func() time.Time) func() acd.AgentPool {
		p := mempool.New(now) // one process: every handle is the same pool
		return func() acd.AgentPool { return p }
	})
}
