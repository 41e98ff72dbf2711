package acd_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dargah137/dargah/routing/acd"
	"github.com/dargah137/dargah/routing/acd/acdtest"
	"github.com/dargah137/dargah/routing/acd/mempool"
)

// testConfig: asphalt needs asphalt:3 and the caller's language at 2;
// after 60 s only the language at 1, after 120 s anyone. green needs
// green_space:2 and the language at 1, and never widens.
func testConfig() acd.Config {
	return acd.Config{Queues: []acd.QueueConfig{
		{
			Name: "asphalt", Skills: map[string]int{"asphalt": 3}, LanguageLevel: 2,
			Widen: []acd.WidenStep{
				{After: 60 * time.Second, LanguageLevel: 1},
				{After: 120 * time.Second},
			},
			MaxMisses: 2, WrapUp: 30 * time.Second,
		},
		{Name: "green", Skills: map[string]int{"green_space": 2}, LanguageLevel: 1},
	}}
}

type env struct {
	t    *testing.T
	clk  *acdtest.Clock
	base time.Time
	pool acd.AgentPool
	d    *acd.Dispatcher
}

func newEnv(t *testing.T, cfg acd.Config) *env {
	t.Helper()
	clk := acdtest.NewClock()
	pool := mempool.New(clk.Now)
	return newEnvOn(t, cfg, clk, pool)
}

func newEnvOn(t *testing.T, cfg acd.Config, clk *acdtest.Clock, pool acd.AgentPool) *env {
	t.Helper()
	d, err := acd.New(acd.Options{Pool: pool, Config: cfg, Now: clk.Now})
	if err != nil {
		t.Fatalf("new dispatcher: %v", err)
	}
	return &env{t: t, clk: clk, base: clk.Now(), pool: pool, d: d}
}

func (e *env) at(sec float64) time.Time {
	return e.base.Add(time.Duration(sec * float64(time.Second)))
}

func (e *env) login(id string, skills map[string]int) acd.Agent {
	e.t.Helper()
	a, err := e.d.Login(context.Background(), id, skills, "PJSIP/"+id)
	if err != nil {
		e.t.Fatalf("login %s: %v", id, err)
	}
	return a
}

func (e *env) enqueue(c acd.Call) acd.Call {
	e.t.Helper()
	c, err := e.d.Enqueue(c)
	if err != nil {
		e.t.Fatalf("enqueue %s: %v", c.ID, err)
	}
	return c
}

func (e *env) dispatch() []string {
	e.t.Helper()
	as, err := e.d.Dispatch(context.Background())
	if err != nil {
		e.t.Fatalf("dispatch: %v", err)
	}
	var out []string
	for _, a := range as {
		out = append(out, a.Call.ID+"→"+a.Agent.ID)
		if a.Agent.State != acd.Ringing || a.Agent.CallID != a.Call.ID {
			e.t.Errorf("assigned agent %+v is not ringing for %s", a.Agent, a.Call.ID)
		}
	}
	return out
}

func TestMatch(t *testing.T) {
	t.Parallel()
	type agent struct {
		id     string
		at     float64 // login time, seconds after base
		skills map[string]int
	}
	type call struct {
		id, queue, lang string
		prio            int
		at              float64 // entry time
	}
	cases := []struct {
		name   string
		agents []agent
		calls  []call
		now    float64
		want   []string
	}{
		{
			name: "levels: only the agent with every skill high enough",
			agents: []agent{
				{"low-domain", 0, map[string]int{"fa": 5, "asphalt": 2}},
				{"low-lang", 1, map[string]int{"fa": 1, "asphalt": 5}},
				{"other-lang", 2, map[string]int{"ar": 5, "asphalt": 5}},
				{"fits", 3, map[string]int{"fa": 2, "asphalt": 3}},
			},
			calls: []call{{"c1", "asphalt", "fa", 0, 10}},
			now:   10,
			want:  []string{"c1→fits"},
		},
		{
			name: "longest idle wins over higher skill",
			agents: []agent{
				{"old", 0, map[string]int{"fa": 2, "asphalt": 3}},
				{"expert", 1, map[string]int{"fa": 5, "asphalt": 5}},
			},
			calls: []call{{"c1", "asphalt", "fa", 0, 10}},
			now:   10,
			want:  []string{"c1→old"},
		},
		{
			name: "equal idle: higher total on the required skills",
			agents: []agent{
				{"a", 0, map[string]int{"fa": 2, "asphalt": 3, "green_space": 5}},
				{"b", 0, map[string]int{"fa": 3, "asphalt": 4}},
			},
			calls: []call{{"c1", "asphalt", "fa", 0, 10}},
			now:   10,
			want:  []string{"c1→b"},
		},
		{
			name: "equal idle and total: lower ID",
			agents: []agent{
				{"b", 0, map[string]int{"fa": 3, "asphalt": 3}},
				{"a", 0, map[string]int{"fa": 3, "asphalt": 3}},
			},
			calls: []call{{"c1", "asphalt", "fa", 0, 10}},
			now:   10,
			want:  []string{"c1→a"},
		},
		{
			name:   "priority before entry time",
			agents: []agent{{"a", 0, map[string]int{"fa": 3, "asphalt": 3}}},
			calls: []call{
				{"early", "asphalt", "fa", 0, 5},
				{"vip", "asphalt", "fa", 5, 9},
			},
			now:  10,
			want: []string{"vip→a"},
		},
		{
			name:   "entry time within a priority",
			agents: []agent{{"a", 0, map[string]int{"fa": 3, "asphalt": 3}}},
			calls: []call{
				{"second", "asphalt", "fa", 0, 6},
				{"first", "asphalt", "fa", 0, 5},
			},
			now:  10,
			want: []string{"first→a"},
		},
		{
			name: "two agents, three calls: first call gets the longest idle",
			agents: []agent{
				{"a", 0, map[string]int{"fa": 3, "asphalt": 3}},
				{"b", 1, map[string]int{"fa": 3, "asphalt": 3}},
			},
			calls: []call{
				{"c1", "asphalt", "fa", 0, 5},
				{"c2", "asphalt", "fa", 0, 6},
				{"c3", "asphalt", "fa", 0, 7},
			},
			now:  10,
			want: []string{"c1→a", "c2→b"},
		},
		{
			name: "an unservable head does not block another queue",
			agents: []agent{
				{"gardener", 0, map[string]int{"fa": 3, "green_space": 3}},
			},
			calls: []call{
				{"road", "asphalt", "fa", 0, 1},
				{"park", "green", "fa", 0, 5},
			},
			now:  10,
			want: []string{"park→gardener"},
		},
		{
			name:   "language: an Arabic caller needs Arabic",
			agents: []agent{{"fa-only", 0, map[string]int{"fa": 5, "green_space": 5}}},
			calls:  []call{{"c1", "green", "ar", 0, 5}},
			now:    10,
			want:   nil,
		},
		{
			name:   "widening: before 60 s the domain is still required",
			agents: []agent{{"generalist", 0, map[string]int{"fa": 2}}},
			calls:  []call{{"c1", "asphalt", "fa", 0, 0}},
			now:    59,
			want:   nil,
		},
		{
			name:   "widening: after 60 s the language alone",
			agents: []agent{{"generalist", 0, map[string]int{"fa": 1}}},
			calls:  []call{{"c1", "asphalt", "fa", 0, 0}},
			now:    60,
			want:   []string{"c1→generalist"},
		},
		{
			name:   "widening: after 60 s another language still does not do",
			agents: []agent{{"arab", 0, map[string]int{"ar": 5}}},
			calls:  []call{{"c1", "asphalt", "fa", 0, 0}},
			now:    119,
			want:   nil,
		},
		{
			name:   "widening: after 120 s any agent",
			agents: []agent{{"arab", 0, map[string]int{"ar": 5}}},
			calls:  []call{{"c1", "asphalt", "fa", 0, 0}},
			now:    120,
			want:   []string{"c1→arab"},
		},
		{
			name: "widening lets an older call of lower priority go first when the VIP still needs an expert",
			agents: []agent{
				{"generalist", 0, map[string]int{"fa": 1}},
			},
			calls: []call{
				{"old", "asphalt", "fa", 0, 0},
				{"vip", "asphalt", "fa", 9, 100},
			},
			now:  130,
			want: []string{"old→generalist"},
		},
		{
			name: "widened call still takes the longest idle among all now eligible",
			agents: []agent{
				{"arab", 0, map[string]int{"ar": 5}},
				{"expert", 5, map[string]int{"fa": 5, "asphalt": 5}},
			},
			calls: []call{{"c1", "asphalt", "fa", 0, 0}},
			now:   121,
			want:  []string{"c1→arab"},
		},
		{
			name:  "no agents",
			calls: []call{{"c1", "asphalt", "fa", 0, 0}},
			now:   500,
			want:  nil,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, testConfig())
			agents := slices.Clone(tc.agents)
			slices.SortStableFunc(agents, func(a, b agent) int { return int(a.at - b.at) })
			for _, a := range agents {
				e.clk.Set(e.at(a.at))
				e.login(a.id, a.skills)
			}
			for _, c := range tc.calls {
				e.enqueue(acd.Call{ID: c.id, Queue: c.queue, Language: c.lang, Priority: c.prio, EnqueuedAt: e.at(c.at)})
			}
			e.clk.Set(e.at(tc.now))
			if got := e.dispatch(); !slices.Equal(got, tc.want) {
				t.Fatalf("assignments %v, want %v", got, tc.want)
			}
		})
	}
}

// TestWideningOverTime follows one call as the clock moves.
func TestWideningOverTime(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testConfig())
	e.login("arab", map[string]int{"ar": 4})
	e.enqueue(acd.Call{ID: "c1", Queue: "asphalt", Language: "fa"})
	for _, sec := range []float64{0, 30, 60, 90, 119.9} {
		e.clk.Set(e.at(sec))
		if got := e.dispatch(); got != nil {
			t.Fatalf("at %vs: %v, want nothing yet", sec, got)
		}
	}
	e.clk.Set(e.at(120))
	if got := e.dispatch(); !slices.Equal(got, []string{"c1→arab"}) {
		t.Fatalf("at 120s: %v", got)
	}
}

// TestWrapUpEndsInRouting: an agent in wrap-up is routed to as soon as the
// wrap-up time ends, without anyone telling the dispatcher.
func TestWrapUpEndsInRouting(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testConfig())
	ctx := context.Background()
	e.login("a", map[string]int{"fa": 3, "asphalt": 3})
	e.enqueue(acd.Call{ID: "c1", Queue: "asphalt"})
	if got := e.dispatch(); !slices.Equal(got, []string{"c1→a"}) {
		t.Fatalf("first: %v", got)
	}
	if _, err := e.d.Answered(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(time.Minute)
	a, err := e.d.Completed(ctx, "c1")
	if err != nil || a.State != acd.WrapUp {
		t.Fatalf("completed: %+v %v", a, err)
	}
	e.enqueue(acd.Call{ID: "c2", Queue: "asphalt"})
	e.clk.Advance(29 * time.Second)
	if got := e.dispatch(); got != nil {
		t.Fatalf("during wrap-up: %v", got)
	}
	e.clk.Advance(time.Second)
	if got := e.dispatch(); !slices.Equal(got, []string{"c2→a"}) {
		t.Fatalf("after wrap-up: %v", got)
	}
}

func TestRequirementString(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		r    acd.Requirement
		want string
	}{
		{acd.NewRequirement(nil, "fa", 0), "*"},
		{acd.NewRequirement(map[string]int{"asphalt": 2}, "fa", 3), "asphalt:2,fa:3"},
		{acd.NewRequirement(map[string]int{"fa": 4}, "fa", 2), "fa:4"},
	} {
		if got := tc.r.String(); got != tc.want {
			t.Errorf("%v: %q, want %q", tc.r, got, tc.want)
		}
	}
	if !strings.Contains(acd.NewRequirement(map[string]int{"b": 1, "a": 1}, "", 0).String(), "a:1,b:1") {
		t.Error("requirement not sorted")
	}
}
