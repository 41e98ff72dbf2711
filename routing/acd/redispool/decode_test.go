package redispool

import (
	"testing"
	"time"

	"github.com/dargah137/dargah/routing/acd"
)

// FuzzDecode: whatever bytes sit under an agent key (an operator's SET, a
// newer version's record), decoding and every state change either work or
// fail with an error; none panics.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"id":"a1","endpoint":"PJSIP/a1","skills":{"fa":3},"state":"available","since":"2026-03-21T08:00:00Z","idle_since":"2026-03-21T08:00:00Z","misses":0}`))
	f.Add([]byte(`{"id":"a1","state":"wrap_up","wrap_up_until":"2026-03-21T08:00:30Z","call_id":"c1"}`))
	f.Add([]byte(`{"state":"ringing","misses":-3,"skills":null}`))
	f.Add([]byte(`{"state":"bogus"}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{`))
	now := time.Date(2026, 3, 21, 8, 0, 10, 0, time.UTC)
	ops := []acd.Op{
		acd.LoginOp(map[string]int{"fa": 2}, "PJSIP/x"), acd.LogoutOp(), acd.PauseOp("tea"),
		acd.SetStateOp(acd.Available), acd.SetStateOp(acd.OnCall), acd.ClaimOp("c9"),
		acd.ReleaseOp("", time.Second), acd.MissedRingOp("", 2), acd.WrapUpDoneOp(),
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		a, err := decode("a1", raw)
		if err != nil {
			return
		}
		a = a.Effective(now)
		for _, op := range ops {
			b := a.Clone()
			if err := op(&b, now); err == nil && b.State == "" {
				t.Fatalf("op left no state: %+v", b)
			}
		}
	})
}
