// Package acdtest is the conformance suite every acd.AgentPool runs
// against its real backend, and a settable clock for tests.
//
// An implementation's test file is one call:
//
//	func TestPool(t *testing.T) { acdtest.RunPool(t, open) }
//
// where open prepares fresh, isolated storage for one subtest, using now as
// the pool's clock, and returns a function that opens a new handle on that
// same storage each time it is called (for Redis: a new client, like
// another Dargah instance; in memory: the same pool).
package acdtest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/dargah137/dargah/routing/acd"
)

// Opener prepares storage for one test; see the package doc.
type Opener func(t *testing.T, now func() time.Time) func() acd.AgentPool

// Clock is a settable clock, safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock starts a clock at a fixed instant.
func NewClock() *Clock {
	return &Clock{t: time.Date(2026, 3, 21, 8, 0, 0, 0, time.UTC)}
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var skills = map[string]int{"fa": 5, "asphalt": 3}

func login(t *testing.T, p acd.AgentPool, id string) acd.Agent {
	t.Helper()
	a, err := p.Login(context.Background(), id, skills, "PJSIP/"+id)
	if err != nil {
		t.Fatalf("login %s: %v", id, err)
	}
	return a
}

func must(t *testing.T, what string) func(acd.Agent, error) acd.Agent {
	return func(a acd.Agent, err error) acd.Agent {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return a
	}
}

func wantState(t *testing.T, p acd.AgentPool, id string, want acd.State) acd.Agent {
	t.Helper()
	a, err := p.Get(context.Background(), id)
	if err != nil {
		t.Fatalf("get %s: %v", id, err)
	}
	if a.State != want {
		t.Fatalf("agent %s is %s, want %s", id, a.State, want)
	}
	return a
}

// RunPool runs the suite.
func RunPool(t *testing.T, open Opener) {
	ctx := context.Background()

	t.Run("LoginLogout", func(t *testing.T) {
		t.Parallel()
		clk := NewClock()
		p := open(t, clk.Now)()
		if _, err := p.Get(ctx, "a1"); !errors.Is(err, acd.ErrNotFound) {
			t.Fatalf("get unknown: err %v, want ErrNotFound", err)
		}
		if _, err := p.Logout(ctx, "a1"); !errors.Is(err, acd.ErrNotFound) {
			t.Fatalf("logout unknown: err %v, want ErrNotFound", err)
		}
		for _, bad := range []struct {
			id       string
			skills   map[string]int
			endpoint string
		}{
			{"", skills, "PJSIP/x"},
			{"a1", skills, ""},
			{"a1", map[string]int{"fa": 6}, "PJSIP/x"},
			{"a1", map[string]int{"fa": 0}, "PJSIP/x"},
		} {
			if _, err := p.Login(ctx, bad.id, bad.skills, bad.endpoint); err == nil {
				t.Errorf("login %+v accepted", bad)
			}
		}
		if _, err := p.Get(ctx, "a1"); !errors.Is(err, acd.ErrNotFound) {
			t.Fatalf("a refused login stored the agent: %v", err)
		}
		a := login(t, p, "a1")
		if a.State != acd.Available || a.Endpoint != "PJSIP/a1" || a.Skills["asphalt"] != 3 || !a.Since.Equal(clk.Now()) || !a.IdleSince.Equal(clk.Now()) {
			t.Fatalf("after login: %+v", a)
		}
		clk.Advance(time.Minute)
		must(t, "pause")(p.Pause(ctx, "a1", "prayer"))
		// Logging in again updates skills and endpoint, keeps the state.
		a = must(t, "relogin")(p.Login(ctx, "a1", map[string]int{"ar": 4}, "PJSIP/a1b"))
		if a.State != acd.Paused || a.PauseReason != "prayer" || a.Endpoint != "PJSIP/a1b" || a.Skills["ar"] != 4 || a.Skills["fa"] != 0 {
			t.Fatalf("after relogin: %+v", a)
		}
		a = must(t, "logout")(p.Logout(ctx, "a1"))
		if a.State != acd.LoggedOut || !a.Since.Equal(clk.Now()) {
			t.Fatalf("after logout: %+v", a)
		}
		if _, err := p.Logout(ctx, "a1"); !errors.Is(err, acd.ErrInvalidState) {
			t.Fatalf("second logout: err %v, want ErrInvalidState", err)
		}
		if _, err := p.Claim(ctx, "a1", "c1"); !errors.Is(err, acd.ErrNotAvailable) {
			t.Fatalf("claim logged out: err %v, want ErrNotAvailable", err)
		}
		login(t, p, "a2")
		list, err := p.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || list[0].ID != "a1" || list[0].State != acd.LoggedOut || list[1].ID != "a2" || list[1].State != acd.Available {
			t.Fatalf("list: %+v", list)
		}
		// Back in: available again, idle from now.
		clk.Advance(time.Minute)
		a = login(t, p, "a1")
		if a.State != acd.Available || !a.IdleSince.Equal(clk.Now()) {
			t.Fatalf("login after logout: %+v", a)
		}
	})

	t.Run("Transitions", func(t *testing.T) {
		t.Parallel()
		clk := NewClock()
		p := open(t, clk.Now)()
		login(t, p, "a")
		must(t, "claim")(p.Claim(ctx, "a", "c1"))
		a := wantState(t, p, "a", acd.Ringing)
		if a.CallID != "c1" {
			t.Fatalf("ringing for %q, want c1", a.CallID)
		}
		clk.Advance(5 * time.Second)
		must(t, "answer")(p.SetState(ctx, "a", acd.OnCall))
		a = wantState(t, p, "a", acd.OnCall)
		if !a.Since.Equal(clk.Now()) || a.CallID != "c1" {
			t.Fatalf("on call: %+v", a)
		}
		clk.Advance(time.Minute)
		a = must(t, "release")(p.Release(ctx, "a", "c1", 30*time.Second))
		if a.State != acd.WrapUp || !a.WrapUpUntil.Equal(clk.Now().Add(30*time.Second)) {
			t.Fatalf("after release: %+v", a)
		}
		clk.Advance(time.Second)
		a = must(t, "wrap-up done")(p.WrapUpDone(ctx, "a"))
		if a.State != acd.Available || !a.IdleSince.Equal(clk.Now()) || a.CallID != "" {
			t.Fatalf("after wrap-up: %+v", a)
		}
		// on_call → available directly when there is no wrap-up time.
		must(t, "claim")(p.Claim(ctx, "a", "c2"))
		must(t, "answer")(p.SetState(ctx, "a", acd.OnCall))
		wantState(t, p, "a", acd.OnCall)
		if _, err := p.Release(ctx, "a", "c1", 0); !errors.Is(err, acd.ErrInvalidState) {
			t.Fatalf("release of another call: err %v, want ErrInvalidState", err)
		}
		must(t, "release")(p.Release(ctx, "a", "c2", 0))
		wantState(t, p, "a", acd.Available)
		must(t, "pause")(p.Pause(ctx, "a", "training"))
		must(t, "resume")(p.SetState(ctx, "a", acd.Available))

		type step struct {
			name string
			do   func() (acd.Agent, error)
		}
		illegal := func(setup acd.State, steps ...step) {
			t.Helper()
			for _, s := range steps {
				if _, err := s.do(); !errors.Is(err, acd.ErrInvalidState) {
					t.Errorf("%s while %s: err %v, want ErrInvalidState", s.name, setup, err)
				}
				wantState(t, p, "a", setup)
			}
		}
		claim := step{"claim", func() (acd.Agent, error) { return p.Claim(ctx, "a", "cx") }}
		answer := step{"answer", func() (acd.Agent, error) { return p.SetState(ctx, "a", acd.OnCall) }}
		release := step{"release", func() (acd.Agent, error) { return p.Release(ctx, "a", "", 0) }}
		missed := step{"missed ring", func() (acd.Agent, error) { return p.MissedRing(ctx, "a", "", 3) }}
		wrapDone := step{"wrap-up done", func() (acd.Agent, error) { return p.WrapUpDone(ctx, "a") }}
		logout := step{"logout", func() (acd.Agent, error) { return p.Logout(ctx, "a") }}
		pause := step{"pause", func() (acd.Agent, error) { return p.Pause(ctx, "a", "tea") }}
		resume := step{"resume", func() (acd.Agent, error) { return p.SetState(ctx, "a", acd.Available) }}
		setRinging := step{"set ringing", func() (acd.Agent, error) { return p.SetState(ctx, "a", acd.Ringing) }}
		setWrap := step{"set wrap_up", func() (acd.Agent, error) { return p.SetState(ctx, "a", acd.WrapUp) }}
		emptyReason := step{"pause without reason", func() (acd.Agent, error) { return p.Pause(ctx, "a", "") }}

		illegal(acd.Available, answer, release, missed, wrapDone, resume, setRinging, setWrap, emptyReason)
		must(t, "claim")(p.Claim(ctx, "a", "c3"))
		illegal(acd.Ringing, claim, wrapDone, logout, pause, resume, setWrap)
		must(t, "answer")(p.SetState(ctx, "a", acd.OnCall))
		illegal(acd.OnCall, claim, answer, missed, wrapDone, logout, pause, resume)
		must(t, "release")(p.Release(ctx, "a", "c3", time.Minute))
		illegal(acd.WrapUp, claim, answer, release, missed)
		must(t, "pause")(p.Pause(ctx, "a", "tea"))
		illegal(acd.Paused, claim, answer, release, missed, wrapDone)
		must(t, "logout")(p.Logout(ctx, "a"))
		illegal(acd.LoggedOut, claim, answer, release, missed, wrapDone, logout, pause, resume)
	})

	t.Run("ClaimRace", func(t *testing.T) {
		t.Parallel()
		clk := NewClock()
		handle := open(t, clk.Now)
		p1, p2 := handle(), handle()
		login(t, p1, "last")
		for round := range 100 {
			start := make(chan struct{})
			errs := make([]error, 2)
			var wg sync.WaitGroup
			for i, p := range []acd.AgentPool{p1, p2} {
				wg.Go(func() {
					<-start
					_, errs[i] = p.Claim(ctx, "last", fmt.Sprintf("call-%d-%d", round, i))
				})
			}
			close(start)
			wg.Wait()
			won := -1
			for i, err := range errs {
				switch {
				case err == nil:
					if won >= 0 {
						t.Fatalf("round %d: both claims won", round)
					}
					won = i
				case !errors.Is(err, acd.ErrNotAvailable):
					t.Fatalf("round %d: losing claim: %v, want ErrNotAvailable", round, err)
				}
			}
			if won < 0 {
				t.Fatalf("round %d: no claim won: %v", round, errs)
			}
			a := wantState(t, p2, "last", acd.Ringing)
			if want := fmt.Sprintf("call-%d-%d", round, won); a.CallID != want {
				t.Fatalf("round %d: ringing for %s, want the winner's %s", round, a.CallID, want)
			}
			must(t, "release")(p1.Release(ctx, "last", a.CallID, 0))
		}
	})

	t.Run("ClaimRaceManyAgents", func(t *testing.T) {
		// 8 claimers on 2 handles chase 20 agents; every agent ends with
		// exactly one call and no call gets two agents.
		t.Parallel()
		clk := NewClock()
		handle := open(t, clk.Now)
		pools := []acd.AgentPool{handle(), handle()}
		const agents = 20
		for i := range agents {
			login(t, pools[0], fmt.Sprintf("a%02d", i))
		}
		var mu sync.Mutex
		byAgent := map[string]string{}
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Go(func() {
				p := pools[w%2]
				for i := range agents {
					id := fmt.Sprintf("a%02d", (i+w)%agents)
					call := fmt.Sprintf("w%d-%d", w, i)
					if _, err := p.Claim(ctx, id, call); err == nil {
						mu.Lock()
						if prev, dup := byAgent[id]; dup {
							t.Errorf("agent %s claimed for %s and %s", id, prev, call)
						}
						byAgent[id] = call
						mu.Unlock()
					} else if !errors.Is(err, acd.ErrNotAvailable) {
						t.Errorf("claim: %v", err)
					}
				}
			})
		}
		wg.Wait()
		if len(byAgent) != agents {
			t.Fatalf("%d agents claimed, want %d", len(byAgent), agents)
		}
		for id, call := range byAgent {
			if a := wantState(t, pools[1], id, acd.Ringing); a.CallID != call {
				t.Fatalf("agent %s rings for %s, claimer recorded %s", id, a.CallID, call)
			}
		}
	})

	t.Run("WrapUpExpiry", func(t *testing.T) {
		t.Parallel()
		clk := NewClock()
		handle := open(t, clk.Now)
		p, other := handle(), handle()
		login(t, p, "a")
		must(t, "claim")(p.Claim(ctx, "a", "c1"))
		must(t, "answer")(p.SetState(ctx, "a", acd.OnCall))
		must(t, "release")(p.Release(ctx, "a", "c1", 30*time.Second))
		end := clk.Now().Add(30 * time.Second)
		clk.Advance(29 * time.Second)
		wantState(t, other, "a", acd.WrapUp)
		if _, err := other.Claim(ctx, "a", "c2"); !errors.Is(err, acd.ErrNotAvailable) {
			t.Fatalf("claim during wrap-up: err %v, want ErrNotAvailable", err)
		}
		clk.Advance(2 * time.Second)
		a := wantState(t, other, "a", acd.Available)
		if !a.IdleSince.Equal(end) || !a.Since.Equal(end) || a.CallID != "" {
			t.Fatalf("after wrap-up expiry: %+v, want idle since %v", a, end)
		}
		list, err := other.List(ctx)
		if err != nil || len(list) != 1 || list[0].State != acd.Available {
			t.Fatalf("list after expiry: %+v %v", list, err)
		}
		if _, err := other.WrapUpDone(ctx, "a"); !errors.Is(err, acd.ErrInvalidState) {
			t.Fatalf("wrap-up done after expiry: err %v, want ErrInvalidState", err)
		}
		a = must(t, "claim after expiry")(other.Claim(ctx, "a", "c2"))
		if !a.IdleSince.Equal(end) {
			t.Fatalf("claim changed idle since: %+v", a)
		}
		// A pause during wrap-up stops the expiry.
		must(t, "answer")(p.SetState(ctx, "a", acd.OnCall))
		must(t, "release")(p.Release(ctx, "a", "c2", 10*time.Second))
		must(t, "pause")(p.Pause(ctx, "a", "paperwork"))
		clk.Advance(time.Hour)
		wantState(t, other, "a", acd.Paused)
	})

	t.Run("MissesPause", func(t *testing.T) {
		t.Parallel()
		clk := NewClock()
		p := open(t, clk.Now)()
		login(t, p, "a")
		for i := 1; i <= 2; i++ {
			must(t, "claim")(p.Claim(ctx, "a", fmt.Sprintf("c%d", i)))
			clk.Advance(20 * time.Second)
			a := must(t, "missed")(p.MissedRing(ctx, "a", fmt.Sprintf("c%d", i), 3))
			// Idle from the miss: behind agents who were waiting.
			if a.State != acd.Available || a.Misses != i || !a.IdleSince.Equal(clk.Now()) {
				t.Fatalf("after miss %d: %+v (want available, idle since %v)", i, a, clk.Now())
			}
		}
		must(t, "claim")(p.Claim(ctx, "a", "c3"))
		if _, err := p.MissedRing(ctx, "a", "other", 3); !errors.Is(err, acd.ErrInvalidState) {
			t.Fatalf("missed ring for another call: err %v", err)
		}
		a := must(t, "missed")(p.MissedRing(ctx, "a", "c3", 3))
		if a.State != acd.Paused || a.PauseReason != acd.ReasonMissedCalls || a.Misses != 3 {
			t.Fatalf("after third miss: %+v", a)
		}
		if _, err := p.Claim(ctx, "a", "c4"); !errors.Is(err, acd.ErrNotAvailable) {
			t.Fatalf("claim paused agent: err %v", err)
		}
		a = must(t, "resume")(p.SetState(ctx, "a", acd.Available))
		if a.Misses != 0 || a.PauseReason != "" {
			t.Fatalf("resume keeps misses or reason: %+v", a)
		}
		// An answer resets the count: misses must be in a row.
		for i := range 2 {
			must(t, "claim")(p.Claim(ctx, "a", fmt.Sprintf("d%d", i)))
			must(t, "missed")(p.MissedRing(ctx, "a", "", 3))
		}
		must(t, "claim")(p.Claim(ctx, "a", "d2"))
		if a = must(t, "answer")(p.SetState(ctx, "a", acd.OnCall)); a.Misses != 0 {
			t.Fatalf("answer kept misses: %+v", a)
		}
		must(t, "release")(p.Release(ctx, "a", "d2", 0))
		must(t, "claim")(p.Claim(ctx, "a", "d3"))
		if a = must(t, "missed")(p.MissedRing(ctx, "a", "d3", 3)); a.State != acd.Available || a.Misses != 1 {
			t.Fatalf("miss after answer: %+v", a)
		}
		// maxMisses 0: never paused.
		for i := range 5 {
			must(t, "claim")(p.Claim(ctx, "a", fmt.Sprintf("e%d", i)))
			must(t, "missed")(p.MissedRing(ctx, "a", "", 0))
		}
		wantState(t, p, "a", acd.Available)
	})

	t.Run("IdleSince", func(t *testing.T) {
		t.Parallel()
		clk := NewClock()
		p := open(t, clk.Now)()
		at := map[string]time.Time{}
		for _, id := range []string{"a", "b", "c"} {
			clk.Advance(time.Second)
			at[id] = login(t, p, id).IdleSince
		}
		// a talks and comes back last; b's ring is cut by the caller and
		// keeps its place; c pauses and comes back.
		clk.Advance(time.Second)
		must(t, "claim a")(p.Claim(ctx, "a", "c1"))
		must(t, "answer a")(p.SetState(ctx, "a", acd.OnCall))
		must(t, "claim b")(p.Claim(ctx, "b", "c2"))
		clk.Advance(time.Second)
		must(t, "release b")(p.Release(ctx, "b", "c2", 0))
		must(t, "pause c")(p.Pause(ctx, "c", "tea"))
		clk.Advance(time.Second)
		must(t, "resume c")(p.SetState(ctx, "c", acd.Available))
		at["c"] = clk.Now()
		clk.Advance(time.Second)
		must(t, "release a")(p.Release(ctx, "a", "c1", 0))
		at["a"] = clk.Now()
		list, err := p.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range list {
			if a.State != acd.Available || !a.IdleSince.Equal(at[a.ID]) {
				t.Errorf("agent %s: %s idle since %v, want available since %v", a.ID, a.State, a.IdleSince, at[a.ID])
			}
		}
		if !(at["b"].Before(at["c"]) && at["c"].Before(at["a"])) {
			t.Fatalf("idle order b, c, a expected: %v", at)
		}
	})

	t.Run("Isolation", func(t *testing.T) {
		// A returned Agent is a copy.
		t.Parallel()
		clk := NewClock()
		p := open(t, clk.Now)()
		a := login(t, p, "a")
		a.Skills["fa"] = 1
		if got := wantState(t, p, "a", acd.Available); got.Skills["fa"] != 5 {
			t.Fatalf("changing a returned agent changed the pool: %+v", got)
		}
	})
}
