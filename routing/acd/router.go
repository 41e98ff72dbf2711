package acd

import (
	"fmt"
	"time"
)

// Call is one queue entry: a waiting caller, or a callback task that keeps
// the caller's place.
type Call struct {
	ID    string
	Queue string
	// Language is the caller's language skill, e.g. "fa" (default
	// Config.DefaultLanguage).
	Language string
	// Priority: higher is served first (VIP, repeat callers); default 0.
	Priority int
	// EnqueuedAt orders calls of equal priority; a requeued call or a
	// callback task keeps it. Zero means now.
	EnqueuedAt time.Time
	// Caller is the caller's number, for the agent's screen.
	Caller string
	// Callback marks a callback task: the caller hung up keeping their
	// place, and the adapter dials CallbackNumber once an agent answers.
	Callback       bool
	CallbackNumber string
}

// Assignment pairs a call with the agent claimed for it: the adapter rings
// Agent.Endpoint for up to RingTimeout, then reports Answered or Missed.
type Assignment struct {
	Call        Call
	Agent       Agent
	RingTimeout time.Duration
	// Requirement is what the call needed at the moment it was matched
	// (after widening).
	Requirement Requirement
}

// router is the in-memory matching index. It is not safe for concurrent
// use; Dispatcher locks around it.
//
// Agents: one bucket per distinct requirement in use (queue × language ×
// widening step, a few dozen at most) holds the available agents meeting
// it, in a heap ordered by idle time, then total level, then ID. An agent
// becoming available joins every bucket it qualifies for; claimed, it
// leaves them all.
//
// Calls: one class per queue × language × priority holds its waiting calls
// in a heap ordered by entry time. Within a class the oldest call has
// waited longest, so its requirement is the widest (Validate enforces that
// steps only loosen): if it finds no agent, no other call of that class
// would. A decision therefore looks only at class heads and bucket tops.
type router struct {
	cfg        Config
	queues     map[string]*QueueConfig
	agents     map[string]*agentRec
	buckets    map[string]*bucket
	bucketList []*bucket
	classes    map[classKey]*class
	classList  []*class
	calls      map[string]*callRec
	wrapping   iheap[*agentRec] // agents in wrap-up, by end time
	seq        uint64
}

type agentRec struct {
	a       Agent
	members []*member
	wrapIdx int
}

type member struct {
	ag    *agentRec
	b     *bucket
	total int
	idx   int
}

type bucket struct {
	req Requirement
	h   iheap[*member]
}

type classKey struct {
	queue, lang string
	prio        int
}

type class struct {
	key     classKey
	q       *QueueConfig
	afters  []time.Duration // afters[0] = 0: the base requirement
	buckets []*bucket
	h       iheap[*callRec]
	offered int // calls of this class ringing an agent
}

type callRec struct {
	c           Call
	seq         uint64
	idx         int
	cl          *class
	offered     bool // an agent is ringing (or being claimed) for it
	agentID     string
	overdueSent bool
}

func newRouter(cfg Config) *router {
	r := &router{
		cfg:     cfg,
		queues:  map[string]*QueueConfig{},
		agents:  map[string]*agentRec{},
		buckets: map[string]*bucket{},
		classes: map[classKey]*class{},
		calls:   map[string]*callRec{},
	}
	for i := range cfg.Queues {
		r.queues[cfg.Queues[i].Name] = &cfg.Queues[i]
	}
	r.wrapping = iheap[*agentRec]{
		less:   func(a, b *agentRec) bool { return a.a.WrapUpUntil.Before(b.a.WrapUpUntil) },
		setIdx: func(a *agentRec, i int) { a.wrapIdx = i },
	}
	return r
}

func memberLess(x, y *member) bool {
	if !x.ag.a.IdleSince.Equal(y.ag.a.IdleSince) {
		return x.ag.a.IdleSince.Before(y.ag.a.IdleSince)
	}
	if x.total != y.total {
		return x.total > y.total
	}
	return x.ag.a.ID < y.ag.a.ID
}

// callBefore is queue order: higher priority, then earlier entry, then
// earlier arrival here.
func callBefore(x, y *callRec) bool {
	if x.c.Priority != y.c.Priority {
		return x.c.Priority > y.c.Priority
	}
	if !x.c.EnqueuedAt.Equal(y.c.EnqueuedAt) {
		return x.c.EnqueuedAt.Before(y.c.EnqueuedAt)
	}
	return x.seq < y.seq
}

func (r *router) bucketFor(req Requirement) *bucket {
	sig := req.String()
	if b, ok := r.buckets[sig]; ok {
		return b
	}
	b := &bucket{req: req, h: iheap[*member]{
		less:   memberLess,
		setIdx: func(m *member, i int) { m.idx = i },
	}}
	r.buckets[sig] = b
	r.bucketList = append(r.bucketList, b)
	for _, rec := range r.agents {
		if rec.a.State == Available {
			r.join(rec, b)
		}
	}
	return b
}

func (r *router) join(rec *agentRec, b *bucket) {
	if b.req.Met(rec.a.Skills) {
		m := &member{ag: rec, b: b, total: b.req.Total(rec.a.Skills)}
		b.h.Push(m)
		rec.members = append(rec.members, m)
	}
}

func (r *router) attach(rec *agentRec) {
	for _, b := range r.bucketList {
		r.join(rec, b)
	}
}

func (r *router) detach(rec *agentRec) {
	for _, m := range rec.members {
		m.b.h.Remove(m.idx)
	}
	clear(rec.members)
	rec.members = rec.members[:0]
	if rec.wrapIdx >= 0 {
		r.wrapping.Remove(rec.wrapIdx)
	}
}

// setAgent replaces the router's view of one agent.
func (r *router) setAgent(a Agent, now time.Time) {
	rec, ok := r.agents[a.ID]
	if !ok {
		rec = &agentRec{wrapIdx: -1}
		r.agents[a.ID] = rec
	} else {
		r.detach(rec)
	}
	rec.a = a.Effective(now)
	switch rec.a.State {
	case Available:
		r.attach(rec)
	case WrapUp:
		r.wrapping.Push(rec)
	}
}

func (r *router) removeAgent(id string) {
	if rec, ok := r.agents[id]; ok {
		r.detach(rec)
		delete(r.agents, id)
	}
}

// promote makes agents whose wrap-up ended available.
func (r *router) promote(now time.Time) {
	for r.wrapping.Len() > 0 && !now.Before(r.wrapping.Top().a.WrapUpUntil) {
		rec := r.wrapping.Remove(0)
		rec.a = rec.a.Effective(now)
		r.attach(rec)
	}
}

func (r *router) class(c Call) *class {
	k := classKey{c.Queue, c.Language, c.Priority}
	if cl, ok := r.classes[k]; ok {
		return cl
	}
	q := r.queues[c.Queue]
	cl := &class{key: k, q: q, h: iheap[*callRec]{
		less:   callBefore,
		setIdx: func(x *callRec, i int) { x.idx = i },
	}}
	cl.afters = append(cl.afters, 0)
	cl.buckets = append(cl.buckets, r.bucketFor(NewRequirement(q.Skills, c.Language, q.LanguageLevel)))
	for _, w := range q.Widen {
		cl.afters = append(cl.afters, w.After)
		cl.buckets = append(cl.buckets, r.bucketFor(NewRequirement(w.Skills, c.Language, w.LanguageLevel)))
	}
	r.classes[k] = cl
	r.classList = append(r.classList, cl)
	return cl
}

// step is the index of the requirement in force after waiting wait.
func (cl *class) step(wait time.Duration) int {
	i := 0
	for i+1 < len(cl.afters) && wait >= cl.afters[i+1] {
		i++
	}
	return i
}

// add queues a call whose Queue, Language and EnqueuedAt are filled in.
func (r *router) add(c Call) error {
	if _, dup := r.calls[c.ID]; dup {
		return fmt.Errorf("acd: call %s is already queued", c.ID)
	}
	r.seq++
	rec := &callRec{c: c, seq: r.seq, cl: r.class(c)}
	r.calls[c.ID] = rec
	rec.cl.h.Push(rec)
	return nil
}

// remove forgets a call, waiting or offered.
func (r *router) remove(id string) (*callRec, bool) {
	rec, ok := r.calls[id]
	if !ok {
		return nil, false
	}
	if rec.offered {
		rec.cl.offered--
	} else {
		rec.cl.h.Remove(rec.idx)
	}
	delete(r.calls, id)
	return rec, true
}

// requeue puts an offered call back in its place: entry time and arrival
// order are unchanged, so it is ahead of everyone who came after it.
func (r *router) requeue(id string) bool {
	rec, ok := r.calls[id]
	if !ok || !rec.offered {
		return false
	}
	rec.offered, rec.agentID = false, ""
	rec.cl.offered--
	rec.cl.h.Push(rec)
	return true
}

// next makes one routing decision: the first call in queue order (among
// class heads) that has an eligible available agent gets its longest-idle
// one. The agent is marked ringing and the call offered.
func (r *router) next(now time.Time) (Assignment, bool) {
	r.promote(now)
	var best *callRec
	var bm *member
	for _, cl := range r.classList {
		if cl.h.Len() == 0 {
			continue
		}
		c := cl.h.Top()
		if best != nil && !callBefore(c, best) {
			continue
		}
		b := cl.buckets[cl.step(now.Sub(c.c.EnqueuedAt))]
		if b.h.Len() == 0 {
			continue
		}
		best, bm = c, b.h.Top()
	}
	if best == nil {
		return Assignment{}, false
	}
	best.cl.h.Remove(best.idx)
	best.cl.offered++
	best.offered, best.agentID = true, bm.ag.a.ID
	rec, req := bm.ag, bm.b.req
	r.detach(rec)
	rec.a.State, rec.a.Since, rec.a.CallID = Ringing, now, best.c.ID
	return Assignment{Call: best.c, Agent: rec.a, RingTimeout: best.cl.q.RingTimeout, Requirement: req}, true
}

// position is the call's 1-based place among waiting calls of its queue.
func (r *router) position(id string) (int, error) {
	rec, ok := r.calls[id]
	if !ok {
		return 0, fmt.Errorf("acd: call %s is not queued", id)
	}
	if rec.offered {
		return 0, fmt.Errorf("acd: call %s is ringing agent %s", id, rec.agentID)
	}
	pos := 1
	for _, cl := range r.classList {
		if cl.key.queue != rec.c.Queue {
			continue
		}
		for _, x := range cl.h.items {
			if callBefore(x, rec) {
				pos++
			}
		}
	}
	return pos, nil
}

// wakeAt is the next moment after now a decision could change without any
// event: a wrap-up ending or a class head reaching its next widening step.
// Zero when nothing is pending.
func (r *router) wakeAt(now time.Time) time.Time {
	var at time.Time
	earlier := func(t time.Time) {
		if at.IsZero() || t.Before(at) {
			at = t
		}
	}
	if r.wrapping.Len() > 0 {
		earlier(r.wrapping.Top().a.WrapUpUntil)
	}
	for _, cl := range r.classList {
		if cl.h.Len() == 0 {
			continue
		}
		entered := cl.h.Top().c.EnqueuedAt
		for _, after := range cl.afters[1:] {
			if t := entered.Add(after); t.After(now) {
				earlier(t)
				break
			}
		}
	}
	return at
}
