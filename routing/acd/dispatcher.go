package acd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Options build a Dispatcher.
type Options struct {
	// Pool holds agent presence; required.
	Pool   AgentPool
	Config Config
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Logger; discarded when nil.
	Logger *slog.Logger
}

// Dispatcher is the call queue of one Dargah instance: it keeps waiting
// calls in memory and matches them to agents of the shared AgentPool,
// claiming each agent atomically there. It is safe for concurrent use.
//
// In production the Asterisk adapter instance that owns a call (its
// channel lives there) owns its queue entry, while agent state is shared
// through redispool: two instances may pick the same agent, but only one
// Claim succeeds and the other call stays in its place.
//
// A call's life: Enqueue → (Dispatch/Next offers it to an agent) →
// Answered → Completed; or Missed (back in its place), Abandon (the caller
// hung up), RequestCallback (the caller hung up keeping their place).
type Dispatcher struct {
	pool AgentPool
	cfg  Config
	now  func() time.Time
	log  *slog.Logger

	next sync.Mutex    // one routing decision at a time per instance
	kick chan struct{} // wakes Run

	mu     sync.Mutex
	r      *router
	active map[string]activeCall // answered, not yet completed
	counts map[groupKey]*counters
	domain []Requirement // per queue: its base skills without the language, for Stats
}

type activeCall struct {
	agentID string
	queue   string
}

type groupKey struct {
	queue bool // true: by queue name, false: by language
	name  string
}

type counters struct {
	answered, answeredInSL, abandoned, abandonedAfterSL int64
	answerWait                                          time.Duration
}

// New returns a Dispatcher; it has no agents until Sync or an agent method
// (Login...) tells it about them.
func New(opts Options) (*Dispatcher, error) {
	if opts.Pool == nil {
		return nil, errors.New("acd: pool is required")
	}
	if err := opts.Config.Validate(); err != nil {
		return nil, fmt.Errorf("acd config: %w", err)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	cfg := opts.Config.WithDefaults()
	domain := make([]Requirement, len(cfg.Queues))
	for i, q := range cfg.Queues {
		domain[i] = NewRequirement(q.Skills, "", 0)
	}
	return &Dispatcher{
		domain: domain,
		pool:   opts.Pool, cfg: cfg, now: opts.Now, log: opts.Logger,
		kick:   make(chan struct{}, 1),
		r:      newRouter(cfg),
		active: map[string]activeCall{},
		counts: map[groupKey]*counters{},
	}, nil
}

// Queue returns a queue's configuration with defaults filled in.
func (d *Dispatcher) Queue(name string) (QueueConfig, bool) {
	q, ok := d.r.queues[name]
	if !ok {
		return QueueConfig{}, false
	}
	return *q, true
}

// Enqueue adds a call and returns it with defaults filled in (language,
// entry time). The queue must exist and the ID must be new.
func (d *Dispatcher) Enqueue(c Call) (Call, error) {
	if c.ID == "" {
		return c, errors.New("acd: enqueue: call id is required")
	}
	if _, ok := d.r.queues[c.Queue]; !ok {
		return c, fmt.Errorf("acd: enqueue call %s: unknown queue %q", c.ID, c.Queue)
	}
	if c.Callback && c.CallbackNumber == "" {
		return c, fmt.Errorf("acd: enqueue callback %s: number is required", c.ID)
	}
	if c.Language == "" {
		c.Language = d.cfg.DefaultLanguage
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if c.EnqueuedAt.IsZero() {
		c.EnqueuedAt = d.now()
	}
	if err := d.r.add(c); err != nil {
		return c, err
	}
	d.Kick()
	return c, nil
}

// Position is the call's place in its queue, 1 for the next to be served,
// counting waiting calls and callback tasks.
func (d *Dispatcher) Position(callID string) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.r.position(callID)
}

// Waiting returns a queued call (waiting, or ringing an agent).
func (d *Dispatcher) Waiting(callID string) (Call, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	rec, ok := d.r.calls[callID]
	if !ok {
		return Call{}, false
	}
	return rec.c, true
}

// maxClaimTries bounds one decision's retries when other instances win
// the agents it picks.
const maxClaimTries = 16

// Next makes one routing decision: it picks the first call, in priority
// then entry-time order, that has an eligible available agent, gives it the
// longest idle such agent (ties: higher total level on the required
// skills), and claims that agent in the pool. ok is false when no call can
// be served now. If another instance claimed the agent first, the call
// keeps its place and the next candidate is tried.
func (d *Dispatcher) Next(ctx context.Context) (a Assignment, ok bool, err error) {
	d.next.Lock()
	defer d.next.Unlock()
	for range maxClaimTries {
		d.mu.Lock()
		a, ok = d.r.next(d.now())
		d.mu.Unlock()
		if !ok {
			return Assignment{}, false, nil
		}
		agent, err := d.pool.Claim(ctx, a.Agent.ID, a.Call.ID)
		if err != nil {
			d.mu.Lock()
			d.r.requeue(a.Call.ID)
			d.mu.Unlock()
			if errors.Is(err, ErrInvalidState) || errors.Is(err, ErrNotFound) {
				// Our view was stale: learn the agent's real state.
				d.refresh(ctx, a.Agent.ID)
				continue
			}
			d.refresh(ctx, a.Agent.ID)
			return Assignment{}, false, fmt.Errorf("acd: claim agent %s for call %s: %w", a.Agent.ID, a.Call.ID, err)
		}
		d.mu.Lock()
		rec, still := d.r.calls[a.Call.ID]
		if still && rec.offered && rec.agentID == agent.ID {
			d.r.setAgent(agent, d.now())
			d.mu.Unlock()
			a.Agent = agent.Clone()
			return a, true, nil
		}
		d.mu.Unlock()
		// The caller hung up while we were claiming: free the agent.
		if agent, err := d.pool.Release(ctx, agent.ID, a.Call.ID, 0); err == nil {
			d.observe(agent)
		} else {
			d.refresh(ctx, a.Agent.ID)
		}
	}
	return Assignment{}, false, nil
}

// Dispatch makes routing decisions until no call can be served and
// returns them.
func (d *Dispatcher) Dispatch(ctx context.Context) ([]Assignment, error) {
	var out []Assignment
	for {
		a, ok, err := d.Next(ctx)
		if err != nil || !ok {
			return out, err
		}
		out = append(out, a)
	}
}

func (d *Dispatcher) refresh(ctx context.Context, agentID string) {
	agent, err := d.pool.Get(ctx, agentID)
	switch {
	case errors.Is(err, ErrNotFound):
		d.mu.Lock()
		d.r.removeAgent(agentID)
		d.mu.Unlock()
	case err != nil:
		d.log.Warn("refresh agent", "agent", agentID, "err", err)
		// Keep it out of matching until the next Sync rather than
		// offering it again at once.
		d.mu.Lock()
		if rec, ok := d.r.agents[agentID]; ok {
			d.r.detach(rec)
		}
		d.mu.Unlock()
	default:
		d.observe(agent)
	}
}

// Observe tells the dispatcher an agent's state as the pool returned it
// (for changes made through the pool directly, e.g. by a web console).
func (d *Dispatcher) Observe(a Agent) { d.observe(a) }

func (d *Dispatcher) observe(a Agent) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.r.setAgent(a.Clone(), d.now())
}

// Sync reloads every agent from the pool, picking up changes made by other
// instances; call it periodically (e.g. every second).
func (d *Dispatcher) Sync(ctx context.Context) error {
	agents, err := d.pool.List(ctx)
	if err != nil {
		return fmt.Errorf("acd: sync agents: %w", err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	seen := make(map[string]bool, len(agents))
	for _, a := range agents {
		seen[a.ID] = true
		d.r.setAgent(a, now)
	}
	for id := range d.r.agents {
		if !seen[id] {
			d.r.removeAgent(id)
		}
	}
	return nil
}

func (d *Dispatcher) takeOffered(callID string) (*callRec, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	rec, ok := d.r.calls[callID]
	if !ok || !rec.offered {
		return nil, fmt.Errorf("acd: call %s is not ringing an agent", callID)
	}
	return rec, nil
}

// Answered records that the agent picked up: the agent is on the call and
// the call leaves the queue (its wait counts toward the service level).
func (d *Dispatcher) Answered(ctx context.Context, callID string) (Agent, error) {
	rec, err := d.takeOffered(callID)
	if err != nil {
		return Agent{}, err
	}
	agent, err := d.pool.SetState(ctx, rec.agentID, OnCall)
	if err != nil {
		return Agent{}, fmt.Errorf("acd: answer call %s by agent %s: %w", callID, rec.agentID, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	d.r.setAgent(agent, now)
	d.r.remove(callID)
	d.active[callID] = activeCall{agentID: rec.agentID, queue: rec.c.Queue}
	wait := now.Sub(rec.c.EnqueuedAt)
	in := wait <= rec.cl.q.ServiceLevel
	for _, c := range d.groups(rec.c) {
		c.answered++
		c.answerWait += wait
		if in {
			c.answeredInSL++
		}
	}
	return agent.Clone(), nil
}

// TakeOver records a call that was answered elsewhere (by this Dargah
// before a restart, or by another instance that stopped) as in progress
// here, so that Completed ends it. The agent's state is the pool's; it is
// not changed.
func (d *Dispatcher) TakeOver(callID, agentID, queue string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.active[callID] = activeCall{agentID: agentID, queue: queue}
}

// Completed ends an answered call: the agent goes to wrap-up for the
// queue's wrap-up time.
func (d *Dispatcher) Completed(ctx context.Context, callID string) (Agent, error) {
	d.mu.Lock()
	ac, ok := d.active[callID]
	d.mu.Unlock()
	if !ok {
		return Agent{}, fmt.Errorf("acd: call %s is not in progress", callID)
	}
	agent, err := d.pool.Release(ctx, ac.agentID, callID, max(d.r.queues[ac.queue].WrapUp, 0))
	if err != nil {
		return Agent{}, fmt.Errorf("acd: complete call %s: %w", callID, err)
	}
	d.mu.Lock()
	delete(d.active, callID)
	d.mu.Unlock()
	d.observe(agent)
	d.Kick()
	return agent.Clone(), nil
}

// Missed records that the agent let the call ring out or declined it: the
// agent counts a miss (too many in a row pause it), and the call goes back
// to its place with its entry time.
func (d *Dispatcher) Missed(ctx context.Context, callID string) (Agent, error) {
	rec, err := d.takeOffered(callID)
	if err != nil {
		return Agent{}, err
	}
	misses := max(rec.cl.q.MaxMisses, 0)
	agent, err := d.pool.MissedRing(ctx, rec.agentID, callID, misses)
	d.mu.Lock()
	d.r.requeue(callID)
	d.mu.Unlock()
	if err != nil {
		d.refresh(ctx, rec.agentID)
		return Agent{}, fmt.Errorf("acd: missed ring of call %s on agent %s: %w", callID, rec.agentID, err)
	}
	d.observe(agent)
	d.Kick()
	return agent.Clone(), nil
}

// Abandon records that the caller hung up (or a callback task was given
// up) and returns how long they waited. If an agent was ringing for the
// call it is released, keeping its idle time.
func (d *Dispatcher) Abandon(ctx context.Context, callID string) (time.Duration, error) {
	return d.drop(ctx, callID, true)
}

// Remove takes a call out of the queue without counting it as answered or
// abandoned (the caller chose voicemail, or the call was sent elsewhere),
// and returns how long it waited. A ringing agent is released.
func (d *Dispatcher) Remove(ctx context.Context, callID string) (time.Duration, error) {
	return d.drop(ctx, callID, false)
}

func (d *Dispatcher) drop(ctx context.Context, callID string, abandoned bool) (time.Duration, error) {
	d.mu.Lock()
	rec, ok := d.r.remove(callID)
	if !ok {
		d.mu.Unlock()
		return 0, fmt.Errorf("acd: remove call %s: not queued", callID)
	}
	wait := d.now().Sub(rec.c.EnqueuedAt)
	after := wait > rec.cl.q.ServiceLevel
	if abandoned {
		for _, c := range d.groups(rec.c) {
			c.abandoned++
			if after {
				c.abandonedAfterSL++
			}
		}
	}
	d.mu.Unlock()
	if rec.offered {
		agent, err := d.pool.Release(ctx, rec.agentID, callID, 0)
		switch {
		case err == nil:
			d.observe(agent)
			d.Kick()
		case errors.Is(err, ErrInvalidState):
			// Next has not finished claiming; it frees the agent itself.
		default:
			d.refresh(ctx, rec.agentID)
			return wait, fmt.Errorf("acd: release agent %s from call %s: %w", rec.agentID, callID, err)
		}
	}
	return wait, nil
}

// RequestCallback turns a waiting call into a callback task: the caller
// may hang up, the task keeps the original entry time and place, and when
// it is dispatched the Assignment has Call.Callback set so the adapter
// dials number once the agent answers.
func (d *Dispatcher) RequestCallback(callID, number string) (Call, error) {
	if number == "" {
		return Call{}, fmt.Errorf("acd: callback for call %s: number is required", callID)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	rec, ok := d.r.calls[callID]
	if !ok {
		return Call{}, fmt.Errorf("acd: callback for call %s: not queued", callID)
	}
	if rec.offered {
		return Call{}, fmt.Errorf("acd: callback for call %s: an agent is already ringing", callID)
	}
	rec.c.Callback, rec.c.CallbackNumber = true, number
	return rec.c, nil
}

// Overdue returns the waiting calls (not callback tasks) that have just
// passed their queue's max wait, once each: the adapter offers them the
// queue's OnMaxWait (callback or voicemail).
func (d *Dispatcher) Overdue() []Call {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	var out []Call
	for _, rec := range d.r.calls {
		if rec.overdueSent || rec.offered || rec.c.Callback {
			continue
		}
		if now.Sub(rec.c.EnqueuedAt) >= rec.cl.q.MaxWait {
			rec.overdueSent = true
			out = append(out, rec.c)
		}
	}
	return out
}

// Login logs an agent in through the pool and starts routing to it.
func (d *Dispatcher) Login(ctx context.Context, agentID string, skills map[string]int, endpoint string) (Agent, error) {
	return d.agentOp(d.pool.Login(ctx, agentID, skills, endpoint))
}

// Logout logs an agent out.
func (d *Dispatcher) Logout(ctx context.Context, agentID string) (Agent, error) {
	return d.agentOp(d.pool.Logout(ctx, agentID))
}

// Pause pauses an agent with a reason.
func (d *Dispatcher) Pause(ctx context.Context, agentID, reason string) (Agent, error) {
	return d.agentOp(d.pool.Pause(ctx, agentID, reason))
}

// Resume makes a paused or wrapping-up agent available.
func (d *Dispatcher) Resume(ctx context.Context, agentID string) (Agent, error) {
	return d.agentOp(d.pool.SetState(ctx, agentID, Available))
}

// WrapUpDone ends an agent's wrap-up early.
func (d *Dispatcher) WrapUpDone(ctx context.Context, agentID string) (Agent, error) {
	return d.agentOp(d.pool.WrapUpDone(ctx, agentID))
}

func (d *Dispatcher) agentOp(a Agent, err error) (Agent, error) {
	if err != nil {
		return Agent{}, err
	}
	d.observe(a)
	d.Kick()
	return a.Clone(), nil
}

// Kick asks Run to dispatch now rather than at its next tick. Enqueue and
// the agent methods kick by themselves; call it after Observe.
func (d *Dispatcher) Kick() {
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// RunOptions are Run's hooks.
type RunOptions struct {
	// Every is how often agents are re-read from the pool (to see changes
	// made by other instances) and dispatching is retried; default 1s.
	Every time.Duration
	// Assign is called for each assignment (ring the agent); required.
	Assign func(context.Context, Assignment)
	// Overdue, if set, is called once for each call past its max wait.
	Overdue func(context.Context, Call)
}

// Run dispatches until ctx ends: at once when kicked, and every Every after
// a Sync with the pool. Errors are logged and retried at the next tick.
// The hooks run on Run's goroutine, so they should not block for long.
func (d *Dispatcher) Run(ctx context.Context, o RunOptions) error {
	if o.Assign == nil {
		return errors.New("acd: run: Assign is required")
	}
	if o.Every <= 0 {
		o.Every = time.Second
	}
	tick := time.NewTicker(o.Every)
	defer tick.Stop()
	for {
		as, err := d.Dispatch(ctx)
		for _, a := range as {
			o.Assign(ctx, a)
		}
		if err != nil && ctx.Err() == nil {
			d.log.Warn("dispatch", "err", err)
		}
		if o.Overdue != nil {
			for _, c := range d.Overdue() {
				o.Overdue(ctx, c)
			}
		}
		// Wake when a wrap-up ends or a waiting call widens, not only on
		// the tick.
		var soon <-chan time.Time
		d.mu.Lock()
		at := d.r.wakeAt(d.now())
		d.mu.Unlock()
		if !at.IsZero() {
			soon = time.After(max(at.Sub(d.now()), time.Millisecond))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-d.kick:
		case <-soon:
		case <-tick.C:
			if err := d.Sync(ctx); err != nil && ctx.Err() == nil {
				d.log.Warn("sync agents", "err", err)
			}
		}
	}
}

// groups are the counters a call's outcome adds to: its queue's and its
// language's. Callers hold d.mu.
func (d *Dispatcher) groups(c Call) [2]*counters {
	get := func(k groupKey) *counters {
		x, ok := d.counts[k]
		if !ok {
			x = &counters{}
			d.counts[k] = x
		}
		return x
	}
	return [2]*counters{get(groupKey{true, c.Queue}), get(groupKey{false, c.Language})}
}
