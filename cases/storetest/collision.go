package storetest

import (
	"errors"
	"sync"
	"testing"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/gateway"
)

// TrackingCollision checks that a store retries when a fresh tracking
// code is taken, and gives up with ErrConflict (deciding nothing) when
// every try collides. Codes collide too rarely to happen in a test, so
// setGen must replace the store's generator; a store calls it from its
// own test file, where it can reach that.
func TrackingCollision(t *testing.T, e *Env, setGen func(gen func() (string, error))) {
	t.Helper()
	var mu sync.Mutex
	var queue []string
	setGen(func() (string, error) {
		mu.Lock()
		defer mu.Unlock()
		if len(queue) == 0 {
			return cases.NewTrackingCode()
		}
		c := queue[0]
		if len(queue) > 1 { // the last code repeats forever
			queue = queue[1:]
		}
		return c, nil
	})
	codes := func(cs ...string) {
		mu.Lock()
		defer mu.Unlock()
		queue = cs
	}
	const taken, free = "1000000009", "2000000006"
	for _, c := range []string{taken, free} {
		if !cases.ValidTrackingCode(c) {
			t.Fatalf("test code %s is not valid", c)
		}
	}
	codes(taken)
	first, _ := e.OpenCase(t, NewMessage(e.Clock.Now()))
	if first.Decision.TrackingCode != taken {
		t.Fatalf("first code = %s, want %s", first.Decision.TrackingCode, taken)
	}

	codes(taken, taken, free)
	second, c := e.OpenCase(t, NewMessage(e.Clock.Now()))
	if second.Decision.TrackingCode != free || c.TrackingCode != free || second.Decision.Reply != "کد پیگیری: "+free {
		t.Errorf("after collisions: decision %+v, case %s; want %s", second.Decision, c.TrackingCode, free)
	}

	codes(taken)
	m := NewMessage(e.Clock.Now())
	e.Accept(t, m)
	_, err := e.Store.MessageDecide(e.Ctx, m.ID, gateway.Decision{Outcome: gateway.OutcomeCaseOpened, Rule: "r"})
	if !errors.Is(err, cases.ErrConflict) {
		t.Errorf("decide with every code taken = %v, want ErrConflict", err)
	}
	if r, err := e.Store.MessageGet(e.Ctx, m.ID); err != nil || r.Status != gateway.StatusAccepted {
		t.Errorf("after giving up: %+v, %v; want still accepted", r, err)
	}
	if cs, err := e.Store.CaseSearch(e.Ctx, cases.Filter{}); err != nil || len(cs) != 2 {
		t.Errorf("cases = %d, %v; want 2", len(cs), err)
	}
}
