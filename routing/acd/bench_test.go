package acd_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/dargah137/dargah/internal/testenv"
	"github.com/dargah137/dargah/routing/acd"
	"github.com/dargah137/dargah/routing/acd/acdtest"
	"github.com/dargah137/dargah/routing/acd/mempool"
	"github.com/dargah137/dargah/routing/acd/redispool"
)

// benchConfig: the 137 line's queues, each widening to language only
// after 60 s and to anyone after 120 s.
func benchConfig() acd.Config {
	var cfg acd.Config
	for _, d := range []string{"asphalt", "green_space", "pilgrims", "lighting", "waste", "general"} {
		cfg.Queues = append(cfg.Queues, acd.QueueConfig{
			Name: d, Skills: map[string]int{d: 2}, LanguageLevel: 2, WrapUp: -1,
			Widen: []acd.WidenStep{{After: 60 * time.Second, LanguageLevel: 1}, {After: 120 * time.Second}},
		})
	}
	return cfg
}

var benchLangs = []string{"fa", "fa", "fa", "fa", "fa", "fa", "fa", "ar", "ar", "ur", "en"}

func benchCall(rng *rand.Rand, cfg acd.Config, id int, at time.Time) acd.Call {
	prio := 0
	if rng.IntN(10) == 0 {
		prio = 1 // repeat callers
	}
	return acd.Call{
		ID:         fmt.Sprintf("call-%d", id),
		Queue:      cfg.Queues[rng.IntN(len(cfg.Queues))].Name,
		Language:   benchLangs[rng.IntN(len(benchLangs))],
		Priority:   prio,
		EnqueuedAt: at,
	}
}

func benchSkills(rng *rand.Rand, cfg acd.Config) map[string]int {
	s := map[string]int{"fa": 1 + rng.IntN(5)}
	if rng.IntN(3) == 0 {
		s[[]string{"ar", "ur", "en"}[rng.IntN(3)]] = 1 + rng.IntN(5)
	}
	for range 1 + rng.IntN(3) {
		s[cfg.Queues[rng.IntN(len(cfg.Queues))].Name] = 1 + rng.IntN(5)
	}
	return s
}

// BenchmarkRouteDecision measures one routing decision (Dispatcher.Next:
// pick the call and agent, claim the agent in the pool) with 1,000 agents
// logged in and 10,000 calls waiting, as in a busy hour: every agent is
// talking or unmatched, and each iteration one agent hangs up (untimed)
// and a new caller arrives (untimed), then one decision is made (timed).
// p50 and p99 of the decisions are reported as p50-ns and p99-ns.
func BenchmarkRouteDecision(b *testing.B) {
	b.Run("mempool", func(b *testing.B) {
		clk := acdtest.NewClock()
		benchRoute(b, clk, mempool.New(clk.Now))
	})
	b.Run("redispool", func(b *testing.B) {
		clk := acdtest.NewClock()
		url, prefix := testenv.RedisURL(b)
		ro, err := redis.ParseURL(url)
		if err != nil {
			b.Fatal(err)
		}
		c := redis.NewClient(ro)
		b.Cleanup(func() { c.Close() })
		p, err := redispool.New(c, redispool.Config{Prefix: prefix, Now: clk.Now})
		if err != nil {
			b.Fatal(err)
		}
		benchRoute(b, clk, p)
	})
}

func benchRoute(b *testing.B, clk *acdtest.Clock, pool acd.AgentPool) {
	const agents, calls = 1000, 10000
	ctx := context.Background()
	cfg := benchConfig()
	d, err := acd.New(acd.Options{Pool: pool, Config: cfg, Now: clk.Now})
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range agents {
		id := fmt.Sprintf("agent%04d", i)
		if _, err := d.Login(ctx, id, benchSkills(rng, cfg), "PJSIP/"+id); err != nil {
			b.Fatal(err)
		}
	}
	start := clk.Now()
	seq := 0
	// Waiting callers entered over the last 100 s: some still need their
	// domain, some only their language.
	for range calls + agents {
		at := start.Add(-time.Duration(rng.IntN(100_000)) * time.Millisecond)
		if _, err := d.Enqueue(benchCall(rng, cfg, seq, at)); err != nil {
			b.Fatal(err)
		}
		seq++
	}
	// Busy hour: agents who can take a call are talking.
	var talking []acd.Assignment
	as, err := d.Dispatch(ctx)
	if err != nil {
		b.Fatal(err)
	}
	for _, a := range as {
		if _, err := d.Answered(ctx, a.Call.ID); err != nil {
			b.Fatal(err)
		}
		talking = append(talking, a)
	}
	if len(talking) == 0 {
		b.Fatal("nobody talking")
	}
	durs := make([]time.Duration, 0, b.N)
	matched := 0
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		clk.Advance(10 * time.Millisecond)
		if len(talking) > 0 {
			done := talking[0]
			talking = talking[1:]
			if _, err := d.Completed(ctx, done.Call.ID); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := d.Enqueue(benchCall(rng, cfg, seq, clk.Now())); err != nil {
			b.Fatal(err)
		}
		seq++
		b.StartTimer()
		t0 := time.Now()
		a, ok, err := d.Next(ctx)
		el := time.Since(t0)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		durs = append(durs, el)
		if ok {
			matched++
			if _, err := d.Answered(ctx, a.Call.ID); err != nil {
				b.Fatal(err)
			}
			talking = append(talking, a)
		}
		b.StartTimer()
	}
	b.StopTimer()
	slices.Sort(durs)
	pct := func(p float64) float64 { return float64(durs[int(p*float64(len(durs)-1))].Nanoseconds()) }
	b.ReportMetric(pct(0.50), "p50-ns")
	b.ReportMetric(pct(0.99), "p99-ns")
	b.ReportMetric(float64(matched)/float64(b.N), "matched/op")
	s := d.Stats()
	waiting := 0
	for _, q := range s.Queues {
		waiting += q.Waiting
	}
	b.ReportMetric(float64(waiting), "waiting")
}

// BenchmarkQueueReads measures the reads a console or announcement makes
// with 10,000 calls waiting: Position of a call (a scan of its queue) and
// a whole Stats snapshot (a scan of every call and agent).
func BenchmarkQueueReads(b *testing.B) {
	ctx := context.Background()
	clk := acdtest.NewClock()
	cfg := benchConfig()
	d, err := acd.New(acd.Options{Pool: mempool.New(clk.Now), Config: cfg, Now: clk.Now})
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 1000 {
		id := fmt.Sprintf("agent%04d", i)
		if _, err := d.Pause(ctx, id, "x"); err == nil {
			b.Fatal("pause before login")
		}
		if _, err := d.Login(ctx, id, benchSkills(rng, cfg), "PJSIP/"+id); err != nil {
			b.Fatal(err)
		}
		if _, err := d.Pause(ctx, id, "meeting"); err != nil {
			b.Fatal(err)
		}
	}
	var ids []string
	for i := range 10000 {
		c, err := d.Enqueue(benchCall(rng, cfg, i, clk.Now().Add(-time.Duration(rng.IntN(100_000))*time.Millisecond)))
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	b.Run("Position", func(b *testing.B) {
		for i := range b.N {
			if _, err := d.Position(ids[i%len(ids)]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Stats", func(b *testing.B) {
		for range b.N {
			if s := d.Stats(); len(s.Queues) != len(cfg.Queues) {
				b.Fatal("stats")
			}
		}
	})
}
