package acd_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/dargah137/dargah/routing/acd"
	"github.com/dargah137/dargah/routing/acd/acdtest"
	"github.com/dargah137/dargah/routing/acd/mempool"
)

// The dispatcher looks only at class heads and bucket tops. These tests
// check it against the definition, written as a plain scan: the first
// waiting call in priority, entry, arrival order that has any eligible
// available agent gets the longest idle one (then higher total level, then
// lower ID). Operations come from bytes, so the fuzzer can explore orders.

type modelCall struct {
	c     acd.Call
	seq   int
	state string // waiting, ringing, talking
	agent string
}

type model struct {
	t     *testing.T
	cfg   acd.Config
	clk   *acdtest.Clock
	pool  acd.AgentPool
	d     *acd.Dispatcher
	calls map[string]*modelCall
	seq   int
}

func requirementAt(q acd.QueueConfig, c acd.Call, now time.Time) acd.Requirement {
	skills, lang := q.Skills, q.LanguageLevel
	for _, w := range q.Widen {
		if now.Sub(c.EnqueuedAt) >= w.After {
			skills, lang = w.Skills, w.LanguageLevel
		}
	}
	return acd.NewRequirement(skills, c.Language, lang)
}

func (m *model) ordered(state string) []*modelCall {
	var out []*modelCall
	for _, c := range m.calls {
		if c.state == state {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		x, y := out[i], out[j]
		if x.c.Priority != y.c.Priority {
			return x.c.Priority > y.c.Priority
		}
		if !x.c.EnqueuedAt.Equal(y.c.EnqueuedAt) {
			return x.c.EnqueuedAt.Before(y.c.EnqueuedAt)
		}
		return x.seq < y.seq
	})
	return out
}

// expect is the reference decision.
func (m *model) expect() (call, agent string) {
	agents, err := m.pool.List(context.Background())
	if err != nil {
		m.t.Fatal(err)
	}
	now := m.clk.Now()
	for _, c := range m.ordered("waiting") {
		q, _ := m.d.Queue(c.c.Queue)
		req := requirementAt(q, c.c, now)
		var best *acd.Agent
		for i := range agents {
			a := &agents[i]
			if a.State != acd.Available || !req.Met(a.Skills) {
				continue
			}
			if best == nil || a.IdleSince.Before(best.IdleSince) ||
				(a.IdleSince.Equal(best.IdleSince) && (req.Total(a.Skills) > req.Total(best.Skills) ||
					(req.Total(a.Skills) == req.Total(best.Skills) && a.ID < best.ID))) {
				best = a
			}
		}
		if best != nil {
			return c.c.ID, best.ID
		}
	}
	return "", ""
}

func (m *model) pick(state string, arg byte) *modelCall {
	cs := m.ordered(state)
	if len(cs) == 0 {
		return nil
	}
	return cs[int(arg)%len(cs)]
}

func runModel(t *testing.T, ops []byte) {
	cfg := testConfig()
	cfg.Queues = append(cfg.Queues, acd.QueueConfig{Name: "any", WrapUp: 15 * time.Second})
	clk := acdtest.NewClock()
	pool := mempool.New(clk.Now)
	d, err := acd.New(acd.Options{Pool: pool, Config: cfg, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	m := &model{t: t, cfg: cfg, clk: clk, pool: pool, d: d, calls: map[string]*modelCall{}}
	ctx := context.Background()
	langs := []string{"fa", "ar", "ur"}
	for i := 0; i+1 < len(ops); i += 2 {
		op, arg := ops[i]%11, ops[i+1]
		agentID := fmt.Sprintf("a%d", arg%6)
		switch op {
		case 0:
			skills := map[string]int{"fa": 1 + int(arg>>3)%5}
			if arg&0x20 != 0 {
				skills["ar"] = 1 + int(arg>>2)%5
			}
			if arg&0x40 != 0 {
				skills["asphalt"] = 1 + int(arg>>4)%5
			}
			if arg&0x80 != 0 {
				skills["green_space"] = 1 + int(arg>>1)%5
			}
			_, _ = d.Login(ctx, agentID, skills, "PJSIP/"+agentID)
		case 1:
			m.seq++
			c, err := d.Enqueue(acd.Call{
				ID:         fmt.Sprintf("c%d", m.seq),
				Queue:      cfg.Queues[int(arg)%3].Name,
				Language:   langs[int(arg>>2)%3],
				Priority:   int(arg>>4) % 2,
				EnqueuedAt: clk.Now().Add(-time.Duration(arg>>5) * 20 * time.Second),
			})
			if err != nil {
				t.Fatalf("enqueue: %v", err)
			}
			m.calls[c.ID] = &modelCall{c: c, seq: m.seq, state: "waiting"}
		case 2:
			clk.Advance(time.Duration(arg) * time.Second / 4)
		case 3, 4:
			wantCall, wantAgent := m.expect()
			a, ok, err := d.Next(ctx)
			if err != nil {
				t.Fatalf("next: %v", err)
			}
			if ok != (wantCall != "") || a.Call.ID != wantCall || a.Agent.ID != wantAgent {
				t.Fatalf("op %d at %v: next = %q→%q (ok %v), reference %q→%q", i/2, clk.Now().Sub(acdtest.NewClock().Now()), a.Call.ID, a.Agent.ID, ok, wantCall, wantAgent)
			}
			if ok {
				mc := m.calls[a.Call.ID]
				mc.state, mc.agent = "ringing", a.Agent.ID
			}
		case 5:
			if c := m.pick("ringing", arg); c != nil {
				if _, err := d.Answered(ctx, c.c.ID); err != nil {
					t.Fatalf("answer: %v", err)
				}
				c.state = "talking"
			}
		case 6:
			if c := m.pick("talking", arg); c != nil {
				if _, err := d.Completed(ctx, c.c.ID); err != nil {
					t.Fatalf("complete: %v", err)
				}
				delete(m.calls, c.c.ID)
			}
		case 7:
			if c := m.pick("ringing", arg); c != nil {
				if _, err := d.Missed(ctx, c.c.ID); err != nil {
					t.Fatalf("missed: %v", err)
				}
				c.state, c.agent = "waiting", ""
			}
		case 8:
			state := "waiting"
			if arg&1 == 1 {
				state = "ringing"
			}
			if c := m.pick(state, arg>>1); c != nil {
				if _, err := d.Abandon(ctx, c.c.ID); err != nil {
					t.Fatalf("abandon: %v", err)
				}
				delete(m.calls, c.c.ID)
			}
		case 9:
			if arg&0x80 != 0 {
				_, _ = d.Pause(ctx, agentID, "tea")
			} else {
				_, _ = d.Resume(ctx, agentID)
			}
		case 10:
			if arg&0x80 != 0 {
				_, _ = d.Logout(ctx, agentID)
			} else {
				_, _ = d.WrapUpDone(ctx, agentID)
			}
		}
		// Positions follow the same order, per queue.
		for _, q := range cfg.Queues {
			pos := 0
			for _, c := range m.ordered("waiting") {
				if c.c.Queue != q.Name {
					continue
				}
				pos++
				if got, err := d.Position(c.c.ID); err != nil || got != pos {
					t.Fatalf("op %d: position of %s = %d %v, want %d", i/2, c.c.ID, got, err, pos)
				}
			}
		}
	}
}

func TestDispatcherMatchesReference(t *testing.T) {
	t.Parallel()
	for seed := range 300 {
		rng := rand.New(rand.NewPCG(uint64(seed), 7))
		ops := make([]byte, 2*(20+rng.IntN(200)))
		for i := range ops {
			ops[i] = byte(rng.UintN(256))
		}
		t.Run(fmt.Sprint(seed), func(t *testing.T) { runModel(t, ops) })
	}
}

func FuzzDispatcher(f *testing.F) {
	f.Add([]byte{0, 0xff, 0, 0x7f, 1, 0, 1, 0xe0, 3, 0, 5, 0, 2, 200, 6, 0, 3, 0})
	f.Add([]byte{0, 0x48, 0, 0x49, 1, 1, 1, 2, 3, 0, 7, 0, 3, 0, 7, 0, 3, 0, 9, 0, 2, 255, 3, 0})
	f.Add(slices.Repeat([]byte{1, 0x21, 0, 0xc8, 2, 240, 3, 3, 5, 1, 6, 0, 8, 3, 10, 1}, 8))
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) > 4000 {
			return
		}
		runModel(t, ops)
	})
}
