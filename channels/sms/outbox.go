package sms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/dargah137/dargah/channels"
)

// sender delivers one text to one number through the provider and returns
// the provider's ids (one per SMS part for SMPP). An error wrapping
// errPermanent will not succeed on retry.
type sender interface {
	send(ctx context.Context, to, text string) ([]string, error)
}

// errPermanent marks send failures retrying cannot fix (a rejected number,
// a 4xx from the panel).
var errPermanent = errors.New("permanent")

// outItem is one queued outgoing SMS.
type outItem struct {
	// ID makes enqueueing idempotent ("reply:<message id>", "notice:…").
	ID           string    `json:"id"`
	To           string    `json:"to"` // E.164
	Text         string    `json:"text"`
	MessageID    string    `json:"message_id,omitempty"`
	TrackingCode string    `json:"tracking_code,omitempty"`
	Attempts     int       `json:"attempts"`
	NextAt       time.Time `json:"next_at"`
	CreatedAt    time.Time `json:"created_at"`
	LastError    string    `json:"last_error,omitempty"`
}

// sentRecord is what a provider id leads back to, for delivery reports.
type sentRecord struct {
	ItemID       string `json:"item_id"`
	MessageID    string `json:"message_id,omitempty"`
	TrackingCode string `json:"tracking_code,omitempty"`
	To           string `json:"to"`
}

const (
	sentTTL = 30 * 24 * time.Hour
	// outboxWorkers bounds concurrent sends; the SMPP client has its own
	// window and rate limit behind it.
	outboxWorkers = 4
)

// outboxPoll is how often the sending instance looks for SMS queued by
// other instances (its own enqueues wake it at once).
const outboxPoll = time.Second

// outbox is a small durable queue of outgoing SMS: the whole queue is one
// KV value, changed under a lock shared by every instance (any instance's
// Reply may queue), and sent by the one instance that holds the portal's
// sender lease. What was queued survives a dropped link and a restart.
// Sends are retried with exponential backoff until MaxAttempts; a
// permanent failure is logged and dropped.
type outbox struct {
	kv     channels.KV
	prefix string
	send   sender
	log    *slog.Logger
	now    func() time.Time
	cfg    *Settings
	lock   *kvLock

	mu       sync.Mutex
	inflight map[string]bool
	kick     chan struct{}
	// done, when set, is called as an item leaves the queue: sent (err
	// nil) or given up. Tests wait on it.
	done func(it outItem, ids []string, err error)
	// remembered, when set, is called once a provider id's record is
	// stored: a delivery report that came before it can be noted now.
	remembered func(ctx context.Context, providerID string, rec sentRecord)
	wg         sync.WaitGroup
}

func newOutbox(kv channels.KV, portal string, s sender, cfg *Settings, lock *kvLock, log *slog.Logger, now func() time.Time) *outbox {
	return &outbox{kv: kv, prefix: "sms:" + portal + ":", send: s, cfg: cfg, lock: lock, log: log, now: now,
		inflight: map[string]bool{}, kick: make(chan struct{}, 1)}
}

func (o *outbox) key() string { return o.prefix + "outbox" }

// load reads the queue.
func (o *outbox) load(ctx context.Context) ([]outItem, error) {
	v, found, err := o.kv.KVGet(ctx, o.key())
	if err != nil {
		return nil, fmt.Errorf("load sms outbox: %w", err)
	}
	var items []outItem
	if found && len(v) > 0 {
		if err := json.Unmarshal(v, &items); err != nil {
			// A corrupt queue must not stop the portal; say what was lost.
			o.log.Error("sms outbox unreadable; starting empty", "err", err, "value", string(v))
			return nil, nil
		}
	}
	return items, nil
}

func (o *outbox) save(ctx context.Context, items []outItem) error {
	if len(items) == 0 {
		return o.kv.KVDelete(ctx, o.key())
	}
	b, err := json.Marshal(items)
	if err != nil {
		return err
	}
	return o.kv.KVPut(ctx, o.key(), b, 0)
}

// enqueue queues it unless an item with its ID is queued or was sent.
// It returns once the queue is persisted.
func (o *outbox) enqueue(ctx context.Context, it outItem) error {
	if _, found, err := o.kv.KVGet(ctx, o.prefix+"sent:"+it.ID); err != nil {
		return fmt.Errorf("queue sms %s: %w", it.ID, err)
	} else if found {
		return nil
	}
	err := o.lock.do(ctx, func() error {
		items, err := o.load(ctx)
		if err != nil {
			return err
		}
		if slices.ContainsFunc(items, func(q outItem) bool { return q.ID == it.ID }) {
			return nil
		}
		now := o.now()
		it.CreatedAt, it.NextAt = now, now
		return o.save(ctx, append(items, it))
	})
	if err != nil {
		return fmt.Errorf("queue sms %s: %w", it.ID, err)
	}
	o.wake()
	return nil
}

func (o *outbox) wake() {
	select {
	case o.kick <- struct{}{}:
	default:
	}
}

// Len reports queued items (sending included).
func (o *outbox) Len(ctx context.Context) (int, error) {
	items, err := o.load(ctx)
	return len(items), err
}

// run sends due items while active reports that this instance is the
// sender, until ctx is done; it waits for its sends.
func (o *outbox) run(ctx context.Context, active func() bool) {
	defer o.wg.Wait()
	sem := make(chan struct{}, outboxWorkers)
	timer := time.NewTimer(outboxPoll)
	defer timer.Stop()
	for {
		next := outboxPoll
		if active() {
			next = min(next, o.dispatch(ctx, sem))
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(next)
		select {
		case <-ctx.Done():
			return
		case <-o.kick:
		case <-timer.C:
		}
	}
}

// dispatch starts every due item it has a worker for and returns how long
// until the next one is due.
func (o *outbox) dispatch(ctx context.Context, sem chan struct{}) time.Duration {
	o.mu.Lock()
	defer o.mu.Unlock()
	items, err := o.load(ctx)
	if err != nil {
		if ctx.Err() == nil {
			o.log.Warn("sms outbox", "err", err)
		}
		return outboxPoll
	}
	now := o.now()
	next := outboxPoll
	for _, it := range items {
		if o.inflight[it.ID] {
			continue
		}
		if d := it.NextAt.Sub(now); d > 0 {
			next = min(next, d)
			continue
		}
		select {
		case sem <- struct{}{}:
		default:
			return next // every worker busy; a finishing one kicks
		}
		o.inflight[it.ID] = true
		o.wg.Add(1)
		go func(it outItem) {
			defer o.wg.Done()
			defer func() { <-sem; o.wake() }()
			o.attempt(ctx, it)
		}(it)
	}
	return next
}

func (o *outbox) attempt(ctx context.Context, it outItem) {
	sctx, cancel := context.WithTimeout(ctx, o.cfg.SendTimeout)
	ids, err := o.send.send(sctx, it.To, it.Text)
	cancel()
	// The queue is saved and the item leaves inflight under o.mu, which
	// dispatch holds from loading the queue to marking items inflight:
	// it must never see the item gone from inflight but still queued.
	o.mu.Lock()
	defer o.mu.Unlock()
	defer delete(o.inflight, it.ID)
	if err != nil && ctx.Err() != nil {
		return // shutting down: the item stays queued as it was
	}
	// Bookkeeping must finish even when shutdown cancelled the send.
	bctx, bcancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer bcancel()
	log := o.log.With("item", it.ID, "message", it.MessageID, "tracking_code", it.TrackingCode)
	if err == nil {
		if perr := o.kv.KVPut(bctx, o.prefix+"sent:"+it.ID, []byte("1"), sentTTL); perr != nil {
			log.Warn("sms remember sent item", "err", perr)
		}
		sent := sentRecord{ItemID: it.ID, MessageID: it.MessageID, TrackingCode: it.TrackingCode, To: it.To}
		rec, _ := json.Marshal(sent)
		for _, id := range ids {
			if id == "" {
				continue
			}
			if perr := o.kv.KVPut(bctx, o.prefix+"out:"+id, rec, sentTTL); perr != nil {
				log.Warn("sms remember provider id", "provider_id", id, "err", perr)
			} else if o.remembered != nil {
				o.remembered(bctx, id, sent)
			}
		}
		log.Info("sms sent", "provider_ids", ids, "attempt", it.Attempts+1)
	}
	var gaveUp bool
	lerr := o.lock.do(bctx, func() error {
		items, lerr := o.load(bctx)
		if lerr != nil {
			return lerr
		}
		i := slices.IndexFunc(items, func(q outItem) bool { return q.ID == it.ID })
		if i < 0 {
			return nil
		}
		cur := items[i]
		switch {
		case err == nil:
			items = slices.Delete(items, i, i+1)
		default:
			cur.Attempts++
			cur.LastError = err.Error()
			if errors.Is(err, errPermanent) || cur.Attempts >= o.cfg.MaxAttempts {
				log.Error("sms send failed for good; dropped", "err", err, "attempts", cur.Attempts, "to", cur.To)
				items = slices.Delete(items, i, i+1)
				gaveUp = true
				break
			}
			d := o.cfg.RetryMin << min(cur.Attempts-1, 20)
			d = min(d, o.cfg.RetryMax)
			d = d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
			cur.NextAt = o.now().Add(d)
			items[i] = cur
			log.Warn("sms send failed; will retry", "err", err, "attempts", cur.Attempts, "in", d)
		}
		return o.save(bctx, items)
	})
	if lerr != nil {
		// The item stays as it was: sent again (a duplicate) or retried.
		log.Error("sms save outbox", "err", lerr)
	}
	if o.done != nil && (err == nil || gaveUp) {
		o.done(it, ids, err)
	}
}
