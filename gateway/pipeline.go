package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// Router decides what happens to a message. Implemented by routing.Router.
type Router interface {
	Decide(ctx context.Context, m Message) (Decision, error)
}

// ReplyFunc answers the citizen on the portal a message came from, once it
// is decided. The app wires it to the portal adapters that can reply.
type ReplyFunc func(ctx context.Context, m Message, r Receipt) error

// Announcer tells the instance that accepted a message about a decision
// another instance made, so a caller waiting there (Await) hears at once
// instead of at its next read of the ledger. Delivery may fail or be
// lost: the ledger stays the truth, and Await still reads it.
type Announcer interface {
	Announce(ctx context.Context, origin string, r Receipt) error
}

// PipelineConfig wires a Pipeline.
type PipelineConfig struct {
	Ledger Ledger
	Stream Stream
	Router Router
	// Normalize fills Message.NormalizedText at intake (routing.Normalize).
	Normalize func(string) string
	// Reply is optional.
	Reply ReplyFunc
	// Group is the stream consumer group (default "router").
	Group string
	// MaxAttempts must match the stream's, so the ledger can mark a message
	// dead when the stream gives up on it (default 5).
	MaxAttempts int
	// AwaitPoll is how often Await re-reads the ledger for decisions made by
	// other instances and not announced (default 50ms).
	AwaitPoll time.Duration
	// Instance names this instance; messages accepted here carry it as
	// their Origin. Announcer, when set with Instance, tells a message's
	// origin about a decision made here; the app then feeds what it hears
	// to Deliver. Both are for several instances sharing a stream.
	Instance  string
	Announcer Announcer
	Now       func() time.Time
	Logger    *slog.Logger
	Metrics   *Metrics
}

// Pipeline is the path of a message inside Dargah: Submit stores it in the
// ledger and publishes it; Run consumes the stream, asks the router, records
// the decision (opening a case in the same transaction) and replies.
type Pipeline struct {
	cfg PipelineConfig
	log *slog.Logger

	mu      sync.Mutex
	waiters map[string][]chan Receipt
	// recent holds decisions this instance made that nobody was waiting
	// for yet: a request that calls Await just after its message was
	// decided finds it here instead of in the ledger. Two generations,
	// rotated every recentAge, bound it to what a few seconds decide.
	recent, older map[string]Receipt
	rotated       time.Time
}

// recentAge is how long a decision nobody waited for is kept for a late
// Await: far longer than the gap between Submit and Await.
const recentAge = 2 * time.Second

// NewPipeline checks cfg and fills defaults.
func NewPipeline(cfg PipelineConfig) (*Pipeline, error) {
	if cfg.Ledger == nil || cfg.Stream == nil || cfg.Router == nil {
		return nil, errors.New("pipeline: ledger, stream and router are required")
	}
	if cfg.Normalize == nil {
		cfg.Normalize = strings.TrimSpace
	}
	if cfg.Group == "" {
		cfg.Group = "router"
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 5
	}
	if cfg.AwaitPoll <= 0 {
		cfg.AwaitPoll = 50 * time.Millisecond
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Pipeline{cfg: cfg, log: cfg.Logger, waiters: map[string][]chan Receipt{},
		recent: map[string]Receipt{}, older: map[string]Receipt{}, rotated: cfg.Now()}, nil
}

// Submit validates m, stores it in the ledger and publishes it. It is
// idempotent by (Portal, PortalMessageID): a repeat returns the first
// receipt and publishes nothing. Invalid input wraps ErrInvalid.
func (p *Pipeline) Submit(ctx context.Context, m Message) (Receipt, error) {
	if m.ReceivedAt.IsZero() {
		m.ReceivedAt = p.cfg.Now().UTC()
	}
	if err := m.Validate(); err != nil {
		return Receipt{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if m.ID == "" {
		m.ID = NewID(m.ReceivedAt)
	}
	if m.NormalizedText == "" {
		m.NormalizedText = p.cfg.Normalize(m.Text)
	}
	m.Origin = p.cfg.Instance
	r, created, err := p.cfg.Ledger.MessageAccept(ctx, m)
	if err != nil {
		return Receipt{}, fmt.Errorf("accept message from %s: %w", m.Portal, err)
	}
	if !created {
		p.cfg.Metrics.duplicate(m.Portal)
		return r, nil
	}
	if err := p.cfg.Stream.Publish(ctx, m); err != nil {
		// The ledger holds the message; the sweeper republishes it.
		return r, fmt.Errorf("publish message %s: %w", m.ID, err)
	}
	p.cfg.Metrics.accepted(m.Portal, m.PortalKind)
	return r, nil
}

// Lookup returns the receipt of message id as it stands.
func (p *Pipeline) Lookup(ctx context.Context, id string) (Receipt, error) {
	return p.cfg.Ledger.MessageGet(ctx, id)
}

// LookupByPortalID finds a receipt by the portal's own message id.
func (p *Pipeline) LookupByPortalID(ctx context.Context, portal, portalMessageID string) (Receipt, error) {
	return p.cfg.Ledger.MessageGetByPortalID(ctx, portal, portalMessageID)
}

// Await waits until message id is decided (or dead) or ctx is done, and
// returns the receipt as it then stands; ctx ending is not an error.
func (p *Pipeline) Await(ctx context.Context, id string) (Receipt, error) {
	ch := make(chan Receipt, 1)
	p.mu.Lock()
	if r, ok := p.recentLocked(id); ok {
		p.mu.Unlock()
		return r, nil
	}
	p.waiters[id] = append(p.waiters[id], ch)
	p.mu.Unlock()
	defer p.dropWaiter(id, ch)

	// This instance's workers wake the waiter directly (or left the
	// decision in recent); the ledger is read only for decisions made by
	// other instances, first after one poll interval, since no message is
	// decided the instant it is accepted, then backing off so that many
	// waiting requests do not turn into a read storm.
	poll := p.cfg.AwaitPoll
	timer := time.NewTimer(poll)
	defer timer.Stop()
	for {
		select {
		case r := <-ch:
			return r, nil
		case <-timer.C:
			r, err := p.cfg.Ledger.MessageGet(context.WithoutCancel(ctx), id)
			if err != nil {
				return Receipt{}, err
			}
			if r.Status != StatusAccepted {
				return r, nil
			}
			poll = min(2*poll, 8*p.cfg.AwaitPoll)
			timer.Reset(poll)
		case <-ctx.Done():
			// One last look: the answer may be there, decided elsewhere.
			return p.cfg.Ledger.MessageGet(context.WithoutCancel(ctx), id)
		}
	}
}

// recentLocked finds a decision in recent; p.mu is held.
func (p *Pipeline) recentLocked(id string) (Receipt, bool) {
	if r, ok := p.recent[id]; ok {
		return r, true
	}
	r, ok := p.older[id]
	return r, ok
}

func (p *Pipeline) dropWaiter(id string, ch chan Receipt) {
	p.mu.Lock()
	defer p.mu.Unlock()
	list := p.waiters[id]
	for i, c := range list {
		if c == ch {
			list = append(list[:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(p.waiters, id)
	} else {
		p.waiters[id] = list
	}
}

// Deliver hands the pipeline a decision another instance announced for a
// message accepted here.
func (p *Pipeline) Deliver(r Receipt) {
	p.cfg.Metrics.heard()
	p.wake(r)
}

// settled wakes whoever waits for m's decision, here or, through the
// Announcer, on the instance that accepted m.
func (p *Pipeline) settled(ctx context.Context, m Message, r Receipt) {
	p.wake(r)
	if p.cfg.Announcer == nil || m.Origin == "" || m.Origin == p.cfg.Instance {
		return
	}
	err := p.cfg.Announcer.Announce(ctx, m.Origin, r)
	p.cfg.Metrics.announced(err)
	if err != nil {
		// Its Await reads the ledger instead, a little later.
		p.log.Warn("announce decision", "message", m.ID, "origin", m.Origin, "err", err)
	}
}

func (p *Pipeline) wake(r Receipt) {
	p.mu.Lock()
	list := p.waiters[r.MessageID]
	delete(p.waiters, r.MessageID)
	if len(list) == 0 {
		if now := p.cfg.Now(); now.Sub(p.rotated) >= recentAge || now.Before(p.rotated) {
			p.older, p.recent, p.rotated = p.recent, map[string]Receipt{}, now
		}
		p.recent[r.MessageID] = r
	}
	p.mu.Unlock()
	for _, ch := range list {
		ch <- r
	}
}

// Run consumes the stream with n concurrent consumers named after
// instance until ctx is done. In-flight messages finish after ctx ends.
func (p *Pipeline) Run(ctx context.Context, instance string, n int) error {
	if n <= 0 {
		n = 1
	}
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		consumer := fmt.Sprintf("%s-%d", instance, i)
		go func() { errs <- p.cfg.Stream.Consume(ctx, p.cfg.Group, consumer, p.handle) }()
	}
	var first error
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil && !errors.Is(err, context.Canceled) && first == nil {
			first = err
		}
	}
	return first
}

// handle routes one delivery. Its errors go back to the stream, which
// retries or dead-letters; the ledger learns about a dead letter here.
func (p *Pipeline) handle(ctx context.Context, d Delivery) error {
	// A shutdown must not abandon a half-routed message.
	ctx = context.WithoutCancel(ctx)
	m := d.Message
	r, err := p.route(ctx, m)
	if err != nil {
		if IsPermanent(err) || d.Attempt >= p.cfg.MaxAttempts {
			p.cfg.Metrics.dead(m.Portal)
			p.log.Error("message dead-lettered", "message", m.ID, "portal", m.Portal, "attempt", d.Attempt, "err", err)
			if merr := p.cfg.Ledger.MessageMarkDead(ctx, m.ID, err.Error()); merr != nil {
				p.log.Error("mark message dead", "message", m.ID, "err", merr)
			}
			if r, gerr := p.cfg.Ledger.MessageGet(ctx, m.ID); gerr == nil {
				p.settled(ctx, m, r)
			}
		} else {
			p.log.Warn("routing failed, will retry", "message", m.ID, "attempt", d.Attempt, "err", err)
		}
		return err
	}
	p.cfg.Metrics.decided(m, r, p.cfg.Now())
	p.settled(ctx, m, r)
	if p.cfg.Reply != nil {
		if err := p.cfg.Reply(ctx, m, r); err != nil {
			// The decision stands; the adapter owns its own delivery retries.
			p.log.Error("reply to citizen failed", "message", m.ID, "portal", m.Portal, "err", err)
		}
	}
	return nil
}

// route decides m. A redelivered message that was decided already is
// routed again, but MessageDecide keeps and returns the first decision, so
// no read is spent on the common case of a first delivery.
func (p *Pipeline) route(ctx context.Context, m Message) (Receipt, error) {
	d, err := p.cfg.Router.Decide(ctx, m)
	if err != nil {
		return Receipt{}, fmt.Errorf("route message %s: %w", m.ID, err)
	}
	r, err := p.cfg.Ledger.MessageDecide(ctx, m.ID, d)
	if err != nil {
		return Receipt{}, fmt.Errorf("record decision for message %s: %w", m.ID, err)
	}
	return r, nil
}

// Sweep republishes messages the ledger accepted more than age ago but
// that were never decided: a crash between accept and publish, or a
// stream that lost an entry. Decisions are idempotent, so a message that
// was only slow is harmless to republish.
func (p *Pipeline) Sweep(ctx context.Context, age time.Duration) (int, error) {
	msgs, err := p.cfg.Ledger.MessagesUndecided(ctx, p.cfg.Now().Add(-age), 500)
	if err != nil {
		return 0, fmt.Errorf("sweep undecided messages: %w", err)
	}
	for i, m := range msgs {
		if err := p.cfg.Stream.Publish(ctx, m); err != nil {
			return i, fmt.Errorf("republish message %s: %w", m.ID, err)
		}
	}
	if len(msgs) > 0 {
		p.log.Warn("republished undecided messages", "count", len(msgs))
	}
	return len(msgs), nil
}
