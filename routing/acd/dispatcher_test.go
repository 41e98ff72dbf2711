package acd_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"gopkg.in/yaml.v3"

	"github.com/dargah137/dargah/internal/testenv"
	"github.com/dargah137/dargah/routing/acd"
	"github.com/dargah137/dargah/routing/acd/acdtest"
	"github.com/dargah137/dargah/routing/acd/mempool"
	"github.com/dargah137/dargah/routing/acd/redispool"
)

var roads = map[string]int{"fa": 3, "asphalt": 3}

// TestHangupWhileRinging: the caller hangs up while the agent's phone
// rings: the agent is free again with its idle time, and the abandon is
// recorded with the wait.
func TestHangupWhileRinging(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testConfig())
	ctx := context.Background()
	idle := e.login("a", roads).IdleSince
	e.enqueue(acd.Call{ID: "c1", Queue: "asphalt"})
	e.clk.Advance(25 * time.Second)
	if got := e.dispatch(); !slices.Equal(got, []string{"c1→a"}) {
		t.Fatalf("dispatch: %v", got)
	}
	e.clk.Advance(5 * time.Second)
	wait, err := e.d.Abandon(ctx, "c1")
	if err != nil || wait != 30*time.Second {
		t.Fatalf("abandon: wait %v, err %v", wait, err)
	}
	a, err := e.pool.Get(ctx, "a")
	if err != nil || a.State != acd.Available || !a.IdleSince.Equal(idle) {
		t.Fatalf("agent after hangup: %+v %v (want available since %v)", a, err, idle)
	}
	if _, err := e.d.Answered(ctx, "c1"); err == nil {
		t.Fatal("answering an abandoned call succeeded")
	}
	if _, err := e.d.Abandon(ctx, "c1"); err == nil {
		t.Fatal("second abandon succeeded")
	}
	// The freed agent takes the next caller at once.
	e.enqueue(acd.Call{ID: "c2", Queue: "asphalt"})
	if got := e.dispatch(); !slices.Equal(got, []string{"c2→a"}) {
		t.Fatalf("after hangup: %v", got)
	}
	s := e.d.Stats().Queues["asphalt"]
	if s.Abandoned != 1 || s.AbandonedAfterSL != 1 || s.Ringing != 1 || s.Waiting != 0 {
		t.Fatalf("stats: %+v", s)
	}
}

// TestMissedRings: an agent who lets MaxMisses calls ring out is paused
// "missed calls", and the call keeps its place each time.
func TestMissedRings(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testConfig()) // asphalt: max 2 misses
	ctx := context.Background()
	e.login("sleepy", roads)
	e.enqueue(acd.Call{ID: "c1", Queue: "asphalt"})
	e.clk.Advance(time.Second)
	e.enqueue(acd.Call{ID: "c2", Queue: "asphalt"})
	for miss := 1; miss <= 2; miss++ {
		if got := e.dispatch(); !slices.Equal(got, []string{"c1→sleepy"}) {
			t.Fatalf("miss %d: dispatch %v", miss, got)
		}
		if pos, err := e.d.Position("c2"); err != nil || pos != 1 {
			t.Fatalf("c2 while c1 rings: position %d %v", pos, err)
		}
		e.clk.Advance(20 * time.Second)
		a, err := e.d.Missed(ctx, "c1")
		if err != nil {
			t.Fatal(err)
		}
		if pos, err := e.d.Position("c1"); err != nil || pos != 1 {
			t.Fatalf("after miss %d: c1 position %d %v, want 1", miss, pos, err)
		}
		if c, _ := e.d.Waiting("c1"); !c.EnqueuedAt.Equal(e.base) {
			t.Fatalf("requeued call lost its entry time: %v", c.EnqueuedAt)
		}
		if miss == 2 && (a.State != acd.Paused || a.PauseReason != acd.ReasonMissedCalls) {
			t.Fatalf("after %d misses: %+v", miss, a)
		}
	}
	if got := e.dispatch(); got != nil {
		t.Fatalf("paused agent got %v", got)
	}
	if _, err := e.d.Resume(ctx, "sleepy"); err != nil {
		t.Fatal(err)
	}
	if got := e.dispatch(); !slices.Equal(got, []string{"c1→sleepy"}) {
		t.Fatalf("after resume: %v", got)
	}
	if _, err := e.d.Missed(ctx, "c2"); err == nil {
		t.Fatal("missed ring on a waiting call accepted")
	}
}

// TestLastAgentRace: two instances, each with its own caller, race for
// the last agent through one shared pool: exactly one call rings it, the
// other keeps its place. Run on both pools.
func TestLastAgentRace(t *testing.T) {
	t.Parallel()
	pools := map[string]func(t *testing.T, clk *acdtest.Clock) (acd.AgentPool, acd.AgentPool){
		"mempool": func(t *testing.T, clk *acdtest.Clock) (acd.AgentPool, acd.AgentPool) {
			p := mempool.New(clk.Now)
			return p, p
		},
		"redispool": func(t *testing.T, clk *acdtest.Clock) (acd.AgentPool, acd.AgentPool) {
			url, prefix := testenv.RedisURL(t)
			ro, err := redis.ParseURL(url)
			if err != nil {
				t.Fatal(err)
			}
			open := func() acd.AgentPool {
				c := redis.NewClient(ro)
				t.Cleanup(func() { c.Close() })
				p, err := redispool.New(c, redispool.Config{Prefix: prefix, Now: clk.Now})
				if err != nil {
					t.Fatal(err)
				}
				return p
			}
			return open(), open()
		},
	}
	for name, open := range pools {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			clk := acdtest.NewClock()
			p1, p2 := open(t, clk)
			e1 := newEnvOn(t, testConfig(), clk, p1)
			e2 := newEnvOn(t, testConfig(), clk, p2)
			e1.login("last", roads)
			for round := range 50 {
				// Both instances believe the agent is free.
				for _, e := range []*env{e1, e2} {
					if err := e.d.Sync(ctx); err != nil {
						t.Fatal(err)
					}
				}
				c1, c2 := fmt.Sprintf("r%d-a", round), fmt.Sprintf("r%d-b", round)
				e1.enqueue(acd.Call{ID: c1, Queue: "asphalt"})
				e2.enqueue(acd.Call{ID: c2, Queue: "asphalt"})
				start := make(chan struct{})
				got := make([][]acd.Assignment, 2)
				var wg sync.WaitGroup
				for i, e := range []*env{e1, e2} {
					wg.Go(func() {
						<-start
						as, err := e.d.Dispatch(ctx)
						if err != nil {
							t.Errorf("dispatch: %v", err)
						}
						got[i] = as
					})
				}
				close(start)
				wg.Wait()
				if n := len(got[0]) + len(got[1]); n != 1 {
					t.Fatalf("round %d: %d assignments, want exactly 1: %v", round, n, got)
				}
				winner, loser, lost := e1, e2, c2
				if len(got[1]) == 1 {
					winner, loser, lost = e2, e1, c1
				}
				if pos, err := loser.d.Position(lost); err != nil || pos != 1 {
					t.Fatalf("round %d: losing call position %d %v", round, pos, err)
				}
				won := winner.dispatchedCall(got)
				if _, err := winner.d.Abandon(ctx, won); err != nil {
					t.Fatal(err)
				}
				if _, err := loser.d.Abandon(ctx, lost); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func (e *env) dispatchedCall(got [][]acd.Assignment) string {
	for _, as := range got {
		for _, a := range as {
			return a.Call.ID
		}
	}
	e.t.Fatal("no assignment")
	return ""
}

// TestConcurrentDispatch hammers one dispatcher from several goroutines
// (enqueue, dispatch, answer, complete, abandon racing with dispatch) under
// -race: every call ends answered or abandoned exactly once.
func TestConcurrentDispatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t, acd.Config{Queues: []acd.QueueConfig{{Name: "q", WrapUp: -1}}})
	ctx := context.Background()
	for i := range 10 {
		e.login(fmt.Sprintf("a%d", i), map[string]int{"fa": 1})
	}
	const calls = 400
	var (
		mu       sync.Mutex
		answered = map[string]int{}
		gone     = map[string]int{}
	)
	serve := func(as []acd.Assignment) {
		for _, a := range as {
			if _, err := e.d.Answered(ctx, a.Call.ID); err != nil {
				// The caller hung up between the claim and the answer.
				continue
			}
			mu.Lock()
			answered[a.Call.ID]++
			mu.Unlock()
			if _, err := e.d.Completed(ctx, a.Call.ID); err != nil {
				t.Error(err)
			}
		}
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range calls / 4 {
				id := fmt.Sprintf("w%d-%d", w, i)
				if _, err := e.d.Enqueue(acd.Call{ID: id, Queue: "q"}); err != nil {
					t.Error(err)
					return
				}
				if i%7 == 3 {
					if _, err := e.d.Abandon(ctx, id); err == nil {
						mu.Lock()
						gone[id]++
						mu.Unlock()
					}
				}
				as, err := e.d.Dispatch(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				serve(as)
			}
		})
	}
	wg.Wait()
	for {
		as, err := e.d.Dispatch(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(as) == 0 {
			break
		}
		serve(as)
	}
	for id, n := range answered {
		if n != 1 || gone[id] != 0 {
			t.Errorf("call %s answered %d times, abandoned %d times", id, n, gone[id])
		}
	}
	if len(answered)+len(gone) != calls {
		t.Fatalf("%d answered + %d abandoned, want %d calls", len(answered), len(gone), calls)
	}
	s := e.d.Stats().Queues["q"]
	if int(s.Answered) != len(answered) || int(s.Abandoned) != len(gone) || s.Waiting != 0 || s.Ringing != 0 {
		t.Fatalf("stats: %+v", s)
	}
	agents, err := e.pool.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range agents {
		if a.State != acd.Available {
			t.Errorf("agent left %s: %+v", a.State, a)
		}
	}
}

func TestPositionAndCallback(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testConfig())
	ctx := context.Background()
	e.enqueue(acd.Call{ID: "c1", Queue: "asphalt", Language: "fa"})
	e.clk.Advance(time.Second)
	e.enqueue(acd.Call{ID: "c2", Queue: "asphalt", Language: "ar"})
	e.clk.Advance(time.Second)
	e.enqueue(acd.Call{ID: "c3", Queue: "asphalt", Language: "fa"})
	e.enqueue(acd.Call{ID: "g1", Queue: "green", Language: "fa"})
	e.enqueue(acd.Call{ID: "vip", Queue: "asphalt", Language: "fa", Priority: 1})
	want := map[string]int{"vip": 1, "c1": 2, "c2": 3, "c3": 4, "g1": 1}
	for id, p := range want {
		if got, err := e.d.Position(id); err != nil || got != p {
			t.Errorf("position of %s: %d %v, want %d", id, got, err, p)
		}
	}
	if _, err := e.d.Position("nope"); err == nil {
		t.Error("position of an unknown call")
	}
	// c1 asks to be called back: it keeps its place and entry time.
	cb, err := e.d.RequestCallback("c1", "09151234567")
	if err != nil || !cb.Callback || cb.CallbackNumber != "09151234567" || !cb.EnqueuedAt.Equal(e.base) {
		t.Fatalf("callback: %+v %v", cb, err)
	}
	if got, _ := e.d.Position("c1"); got != 2 {
		t.Fatalf("callback task position %d, want 2", got)
	}
	if _, err := e.d.RequestCallback("c2", ""); err == nil {
		t.Error("callback without a number accepted")
	}
	if _, err := e.d.Enqueue(acd.Call{ID: "c1", Queue: "asphalt"}); err == nil {
		t.Error("duplicate call id accepted")
	}
	if _, err := e.d.Enqueue(acd.Call{ID: "x", Queue: "nope"}); err == nil {
		t.Error("unknown queue accepted")
	}
	if s := e.d.Stats().Queues["asphalt"]; s.Callbacks != 1 || s.Waiting != 4 {
		t.Fatalf("stats: %+v", s)
	}
	e.login("a", roads)
	as, err := e.d.Dispatch(ctx)
	if err != nil || len(as) != 1 || as[0].Call.ID != "vip" {
		t.Fatalf("dispatch: %+v %v", as, err)
	}
	if _, err := e.d.Answered(ctx, "vip"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.d.Completed(ctx, "vip"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.d.WrapUpDone(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	as, err = e.d.Dispatch(ctx)
	if err != nil || len(as) != 1 || as[0].Call.ID != "c1" || !as[0].Call.Callback || as[0].Call.CallbackNumber != "09151234567" {
		t.Fatalf("callback dispatch: %+v %v", as, err)
	}
	if as[0].RingTimeout != acd.DefaultRingTimeout || as[0].Requirement.String() != "asphalt:3,fa:2" {
		t.Fatalf("assignment details: %+v", as[0])
	}
	if _, err := e.d.RequestCallback("c1", "0915"); err == nil {
		t.Error("callback for a ringing call accepted")
	}
}

func TestStatsAndMetrics(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testConfig()) // service level 20 s
	ctx := context.Background()
	e.login("a", map[string]int{"fa": 3, "asphalt": 3})
	e.login("b", map[string]int{"ar": 3, "green_space": 3})
	e.login("c", map[string]int{"fa": 3, "asphalt": 3})
	if _, err := e.d.Pause(ctx, "c", "lunch"); err != nil {
		t.Fatal(err)
	}
	answer := func(id string) {
		t.Helper()
		if _, err := e.d.Answered(ctx, id); err != nil {
			t.Fatal(err)
		}
		if _, err := e.d.Completed(ctx, id); err != nil {
			t.Fatal(err)
		}
		if _, err := e.d.WrapUpDone(ctx, "a"); err != nil {
			t.Fatal(err)
		}
	}
	// Answered in 10 s (within), answered in 30 s (late), abandoned at 5 s
	// (does not count against the service level), abandoned at 40 s.
	e.enqueue(acd.Call{ID: "fast", Queue: "asphalt"})
	e.clk.Advance(10 * time.Second)
	e.dispatch()
	answer("fast")
	e.enqueue(acd.Call{ID: "slow", Queue: "asphalt", EnqueuedAt: e.clk.Now().Add(-30 * time.Second)})
	e.dispatch()
	answer("slow")
	e.enqueue(acd.Call{ID: "impatient", Queue: "green", Language: "fa"})
	e.enqueue(acd.Call{ID: "gone", Queue: "green", Language: "fa", EnqueuedAt: e.clk.Now().Add(-40 * time.Second)})
	e.enqueue(acd.Call{ID: "waiting", Queue: "green", Language: "fa", EnqueuedAt: e.clk.Now().Add(-50 * time.Second)})
	e.clk.Advance(5 * time.Second)
	for _, id := range []string{"impatient", "gone"} {
		if _, err := e.d.Abandon(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	s := e.d.Stats()
	asphalt, green, fa := s.Queues["asphalt"], s.Queues["green"], s.Languages["fa"]
	if asphalt.Answered != 2 || asphalt.AnsweredInSL != 1 || asphalt.ServiceLevel != 0.5 || asphalt.AbandonRate != 0 || asphalt.AverageAnswer != 20*time.Second {
		t.Errorf("asphalt: %+v", asphalt)
	}
	if green.Abandoned != 2 || green.AbandonedAfterSL != 1 || green.ServiceLevel != 0 || green.AbandonRate != 1 || green.Waiting != 1 || green.LongestWait != 55*time.Second {
		t.Errorf("green: %+v", green)
	}
	if fa.Answered != 2 || fa.Abandoned != 2 || fa.AbandonRate != 0.5 || fa.ServiceLevel != 1.0/3 || fa.Waiting != 1 {
		t.Errorf("fa: %+v", fa)
	}
	if asphalt.Agents[acd.Available] != 1 || asphalt.Agents[acd.Paused] != 1 || green.Agents[acd.Available] != 1 {
		t.Errorf("agents: asphalt %v green %v", asphalt.Agents, green.Agents)
	}
	if fa.Agents[acd.Available] != 1 || fa.Agents[acd.Paused] != 1 || s.Languages["ar"].Agents[acd.Available] != 1 || s.Languages["ur"].ServiceLevel != 1 {
		t.Errorf("languages: %+v", s.Languages)
	}

	reg := prometheus.NewRegistry()
	if err := e.d.Register(reg); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.Metric {
			var lbl []string
			for _, l := range m.Label {
				lbl = append(lbl, l.GetValue())
			}
			v := m.GetGauge().GetValue() + m.GetCounter().GetValue()
			found[mf.GetName()+"{"+strings.Join(lbl, ",")+"}"] = v
		}
	}
	for k, want := range map[string]float64{
		"dargah_acd_calls_waiting{queue,green}":         1,
		"dargah_acd_service_level_ratio{queue,asphalt}": 0.5,
		"dargah_acd_calls_abandoned_total{language,fa}": 2,
		"dargah_acd_agents{queue,asphalt,paused}":       1,
		"dargah_acd_longest_wait_seconds{queue,green}":  55,
	} {
		if got, ok := found[k]; !ok || got != want {
			t.Errorf("metric %s = %v (present %v), want %v", k, got, ok, want)
		}
	}
}

func TestOverdue(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.Queues[1].MaxWait = time.Minute
	e := newEnv(t, cfg)
	e.enqueue(acd.Call{ID: "g1", Queue: "green"})
	e.enqueue(acd.Call{ID: "g2", Queue: "green"})
	if _, err := e.d.RequestCallback("g2", "0915"); err != nil {
		t.Fatal(err)
	}
	e.enqueue(acd.Call{ID: "a1", Queue: "asphalt"}) // default max wait 5 min
	e.clk.Advance(59 * time.Second)
	if got := e.d.Overdue(); len(got) != 0 {
		t.Fatalf("early: %v", got)
	}
	e.clk.Advance(time.Second)
	if got := e.d.Overdue(); len(got) != 1 || got[0].ID != "g1" {
		t.Fatalf("at max wait: %v", got)
	}
	if got := e.d.Overdue(); len(got) != 0 {
		t.Fatalf("reported twice: %v", got)
	}
	if q, _ := e.d.Queue("green"); q.OnMaxWait != "callback" {
		t.Fatalf("on max wait default: %q", q.OnMaxWait)
	}
}

// TestSync: a dispatcher learns about agents changed through another
// handle (another instance, a web console) on Sync.
func TestSync(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testConfig())
	ctx := context.Background()
	if _, err := e.pool.Login(ctx, "console", roads, "PJSIP/console"); err != nil {
		t.Fatal(err)
	}
	e.enqueue(acd.Call{ID: "c1", Queue: "asphalt"})
	if got := e.dispatch(); got != nil {
		t.Fatalf("before sync: %v", got)
	}
	if err := e.d.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := e.dispatch(); !slices.Equal(got, []string{"c1→console"}) {
		t.Fatalf("after sync: %v", got)
	}
	// A stale view: the dispatcher thinks b is free, but it was paused
	// elsewhere. The claim fails, the call stays queued, b is learnt.
	e.login("b", roads)
	if _, err := e.pool.Pause(ctx, "b", "meeting"); err != nil {
		t.Fatal(err)
	}
	e.enqueue(acd.Call{ID: "c2", Queue: "asphalt"})
	if got := e.dispatch(); got != nil {
		t.Fatalf("stale agent: %v", got)
	}
	if pos, err := e.d.Position("c2"); err != nil || pos != 1 {
		t.Fatalf("c2 position %d %v", pos, err)
	}
	if s := e.d.Stats().Queues["asphalt"]; s.Agents[acd.Paused] != 1 || s.Agents[acd.Ringing] != 1 {
		t.Fatalf("agents %v", s.Agents)
	}
}

func TestConfigYAMLAndValidate(t *testing.T) {
	t.Parallel()
	src := `
queues:
  - name: asphalt
    skills: {asphalt: 2}
    language_level: 2
    widen:
      - after: 60s
        language_level: 1
      - after: 2m
    ring_timeout: 15s
    max_misses: 2
    wrap_up: 20s
    max_wait: 4m
    on_max_wait: voicemail
    service_level: 30s
`
	var cfg acd.Config
	dec := yaml.NewDecoder(strings.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	q := cfg.WithDefaults().Queues[0]
	if q.Widen[1].After != 2*time.Minute || q.RingTimeout != 15*time.Second || q.ServiceLevel != 30*time.Second || q.OnMaxWait != "voicemail" || q.Skills["asphalt"] != 2 {
		t.Fatalf("decoded %+v", q)
	}
	if d := (acd.Config{Queues: []acd.QueueConfig{{Name: "q"}}}).WithDefaults(); d.Queues[0].ServiceLevel != 20*time.Second || d.DefaultLanguage != "fa" || len(d.Languages) != 4 {
		t.Fatalf("defaults %+v", d)
	}

	for _, tc := range []struct {
		name string
		cfg  acd.Config
		want string
	}{
		{"no queues", acd.Config{}, "at least one queue"},
		{"no name", acd.Config{Queues: []acd.QueueConfig{{}}}, "name is required"},
		{"duplicate", acd.Config{Queues: []acd.QueueConfig{{Name: "q"}, {Name: "q"}}}, "duplicate"},
		{"level", acd.Config{Queues: []acd.QueueConfig{{Name: "q", Skills: map[string]int{"a": 6}}}}, "outside"},
		{"narrowing skill", acd.Config{Queues: []acd.QueueConfig{{Name: "q", Skills: map[string]int{"a": 2},
			Widen: []acd.WidenStep{{After: time.Second, Skills: map[string]int{"a": 3}}}}}}, "asks for more"},
		{"new skill", acd.Config{Queues: []acd.QueueConfig{{Name: "q",
			Widen: []acd.WidenStep{{After: time.Second, Skills: map[string]int{"b": 1}}}}}}, "asks for more"},
		{"language up", acd.Config{Queues: []acd.QueueConfig{{Name: "q", LanguageLevel: 1,
			Widen: []acd.WidenStep{{After: time.Second, LanguageLevel: 2}}}}}, "higher than"},
		{"order", acd.Config{Queues: []acd.QueueConfig{{Name: "q",
			Widen: []acd.WidenStep{{After: 2 * time.Second}, {After: time.Second}}}}}, "later than"},
		{"on max wait", acd.Config{Queues: []acd.QueueConfig{{Name: "q", OnMaxWait: "hangup"}}}, "callback or voicemail"},
	} {
		err := tc.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want it to mention %q", tc.name, err, tc.want)
		}
	}
	if _, err := acd.New(acd.Options{Config: testConfig()}); err == nil {
		t.Error("dispatcher without a pool")
	}
	if _, err := acd.New(acd.Options{Pool: mempool.New(nil)}); err == nil {
		t.Error("dispatcher without queues")
	}
	if !errors.Is(acd.ErrNotAvailable, acd.ErrInvalidState) {
		t.Error("ErrNotAvailable does not wrap ErrInvalidState")
	}
}

// TestRun: the loop dispatches as soon as a call or an agent arrives, and
// reports overdue calls once.
func TestRun(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.Queues[1].MaxWait = time.Minute
	e := newEnv(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	assigned := make(chan acd.Assignment, 4)
	overdue := make(chan acd.Call, 4)
	done := make(chan error, 1)
	go func() {
		done <- e.d.Run(ctx, acd.RunOptions{
			Every:   time.Hour, // only kicks and wake-ups drive this test
			Assign:  func(_ context.Context, a acd.Assignment) { assigned <- a },
			Overdue: func(_ context.Context, c acd.Call) { overdue <- c },
		})
	}()
	e.enqueue(acd.Call{ID: "c1", Queue: "asphalt"})
	e.login("a", roads)
	if a := <-assigned; a.Call.ID != "c1" || a.Agent.ID != "a" {
		t.Fatalf("assigned %+v", a)
	}
	e.enqueue(acd.Call{ID: "g1", Queue: "green"})
	e.clk.Advance(time.Minute)
	e.d.Kick()
	if c := <-overdue; c.ID != "g1" {
		t.Fatalf("overdue %+v", c)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("run returned %v", err)
	}
	if err := e.d.Run(context.Background(), acd.RunOptions{}); err == nil {
		t.Fatal("run without Assign accepted")
	}
}

// TestRemove: a caller who takes voicemail leaves without counting as
// abandoned; a ringing agent is freed.
func TestRemove(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testConfig())
	ctx := context.Background()
	e.login("a", roads)
	e.enqueue(acd.Call{ID: "c1", Queue: "asphalt"})
	e.enqueue(acd.Call{ID: "c2", Queue: "asphalt"})
	e.dispatch()
	for _, id := range []string{"c1", "c2"} {
		if _, err := e.d.Remove(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if a, _ := e.pool.Get(ctx, "a"); a.State != acd.Available {
		t.Fatalf("agent %+v", a)
	}
	if s := e.d.Stats().Queues["asphalt"]; s.Abandoned != 0 || s.Waiting != 0 || s.Ringing != 0 {
		t.Fatalf("stats %+v", s)
	}
	if _, err := e.d.Enqueue(acd.Call{ID: "cb", Queue: "asphalt", Callback: true}); err == nil {
		t.Fatal("callback task without a number accepted")
	}
}

// TestMissedGoesToAnother: after a miss the call, back in its place, rings
// the next agent instead of the same phone again.
func TestMissedGoesToAnother(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testConfig())
	ctx := context.Background()
	e.login("first", roads)
	e.clk.Advance(time.Second)
	e.login("second", roads)
	e.enqueue(acd.Call{ID: "c1", Queue: "asphalt"})
	if got := e.dispatch(); !slices.Equal(got, []string{"c1→first"}) {
		t.Fatalf("dispatch: %v", got)
	}
	e.clk.Advance(20 * time.Second)
	if _, err := e.d.Missed(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	if got := e.dispatch(); !slices.Equal(got, []string{"c1→second"}) {
		t.Fatalf("after the miss: %v", got)
	}
}

// TestTakeOver: a call answered through one dispatcher is ended through
// another that shares its pool (the Dargah that took a conversation over
// after a stop); before TakeOver that one does not know the call.
func TestTakeOver(t *testing.T) {
	t.Parallel()
	cfg := acd.Config{Queues: []acd.QueueConfig{{Name: "q", WrapUp: -1}}}
	first := newEnv(t, cfg)
	next := newEnvOn(t, cfg, first.clk, first.pool)
	ctx := context.Background()
	first.login("a", map[string]int{"fa": 1})
	first.enqueue(acd.Call{ID: "c", Queue: "q"})
	as, err := first.d.Dispatch(ctx)
	if err != nil || len(as) != 1 {
		t.Fatalf("dispatch: %+v %v", as, err)
	}
	if _, err := first.d.Answered(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	if _, err := next.d.Completed(ctx, "c"); err == nil {
		t.Fatal("completed a call this dispatcher never knew")
	}
	next.d.TakeOver("c", "a", "q")
	agent, err := next.d.Completed(ctx, "c")
	if err != nil || agent.State != acd.Available {
		t.Fatalf("completed after take-over: %+v %v", agent, err)
	}
}
