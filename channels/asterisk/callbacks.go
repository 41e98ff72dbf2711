package asterisk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/dargah137/dargah/channels"
	"github.com/dargah137/dargah/channels/asterisk/ari"
)

// A callback task is a promise to a citizen who hung up keeping their
// place in the queue. It lives in the queue of the Dargah that made it, so
// a graceful stop parks it in the deployment's KV, and every running
// Dargah (this one restarted, or another instance) takes parked tasks back
// into its own queue, in their place (adoptCallbacks).

// parkedCallback is a callback task between two Dargahs.
type parkedCallback struct {
	ID     string    `json:"id"` // the citizen's original call
	Queue  string    `json:"queue"`
	Lang   string    `json:"lang"`
	Caller string    `json:"caller"`
	Number string    `json:"number"` // to dial back
	Path   []string  `json:"path,omitempty"`
	Since  time.Time `json:"since"` // entry into the queue: the task's place
}

// parkedTTL bounds how long a parked promise waits for a Dargah: a day-old
// callback is better given up than made.
const parkedTTL = 24 * time.Hour

// adoptEvery is how often a running Dargah looks for parked tasks.
const adoptEvery = 30 * time.Second

func (p *Portal) parkedKey() string { return "asterisk/" + p.env.Portal + "/callbacks" }

// park keeps a stopping session's callback task for Stop to save.
func (p *Portal) park(s *session) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.parked = append(p.parked, parkedCallback{ID: s.id, Queue: s.queue, Lang: s.lang, Caller: s.caller,
		Number: s.cbNumber, Path: s.path, Since: s.since})
}

// withParked runs f on the parked tasks under the deployment-wide lease and
// writes back what f returns. With wait it waits for the lease (Stop);
// without, it gives up at once when another Dargah holds it.
func (p *Portal) withParked(ctx context.Context, wait bool, f func([]parkedCallback) []parkedCallback) error {
	if p.env.KV == nil {
		return fmt.Errorf("no KV to keep callback tasks in")
	}
	leases := p.env.Leases
	if leases == nil {
		leases = channels.KVLeaser{KV: p.env.KV} // the embedded runtime: one process
	}
	key, lock := p.parkedKey(), p.parkedKey()+"/lock"
	for {
		held, err := leases.Acquire(ctx, lock, p.env.Instance, 30*time.Second)
		if err != nil {
			return fmt.Errorf("lock parked callbacks: %w", err)
		}
		if held {
			break
		}
		if !wait {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("lock parked callbacks: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	defer func() { _ = leases.Release(context.WithoutCancel(ctx), lock, p.env.Instance) }()
	var list []parkedCallback
	b, found, err := p.env.KV.KVGet(ctx, key)
	if err != nil {
		return fmt.Errorf("read parked callbacks: %w", err)
	}
	if found {
		if err := json.Unmarshal(b, &list); err != nil {
			p.log.Error("parked callbacks unreadable; dropped", "err", err)
			list = nil
		}
	}
	out := f(list)
	if len(out) == 0 {
		if found {
			return p.env.KV.KVDelete(ctx, key)
		}
		return nil
	}
	if b, err = json.Marshal(out); err != nil {
		return err
	}
	return p.env.KV.KVPut(ctx, key, b, parkedTTL)
}

// saveParked adds the tasks this Dargah parked while stopping to the KV.
func (p *Portal) saveParked(ctx context.Context) error {
	p.mu.Lock()
	mine := p.parked
	p.parked = nil
	p.mu.Unlock()
	if len(mine) == 0 {
		return nil
	}
	err := p.withParked(ctx, true, func(list []parkedCallback) []parkedCallback { return append(list, mine...) })
	if err != nil {
		return fmt.Errorf("asterisk: %d callback tasks lost: %w", len(mine), err)
	}
	p.log.Info("callback tasks parked for the next Dargah", "tasks", len(mine))
	return nil
}

// adoptLoop adopts parked callback tasks at start and every adoptEvery,
// beside the dispatch loop: the KV and its lease are not the ACD's to wait
// for.
func (p *Portal) adoptLoop() {
	defer p.wg.Done()
	for {
		p.adoptCallbacks(p.ctx)
		select {
		case <-p.ctx.Done():
			return
		case <-time.After(adoptEvery):
		}
	}
}

// adoptCallbacks takes parked tasks into this Dargah's queue, each in its
// place, and dials them back like its own.
func (p *Portal) adoptCallbacks(ctx context.Context) {
	cli := p.pool.Pick()
	if cli == nil {
		return // no Asterisk to dial back through yet
	}
	var taken []parkedCallback
	if err := p.withParked(ctx, false, func(list []parkedCallback) []parkedCallback { taken = list; return nil }); err != nil {
		if ctx.Err() == nil {
			p.log.Warn("adopt parked callbacks", "err", err)
		}
		return
	}
	for _, cb := range taken {
		if _, ok := p.disp.Queue(cb.Queue); !ok {
			p.log.Warn("parked callback for a queue this Dargah lacks; dropped", "call", cb.ID, "queue", cb.Queue)
			continue
		}
		s := newSession(p, cli, ari.Channel{ID: cb.ID, Caller: ari.CallerID{Number: cb.Caller}})
		s.lang, s.path, s.cbTask, s.cbNumber, s.gone = cb.Lang, cb.Path, true, cb.Number, true
		p.mu.Lock()
		if p.stopping {
			p.parked = append(p.parked, cb) // Stop puts it back
			p.mu.Unlock()
			continue
		}
		if p.calls[cb.ID] != nil {
			p.mu.Unlock()
			continue
		}
		s.born = p.gen.Add(1)
		p.calls[cb.ID] = s
		p.mu.Unlock()
		s.log.Info("callback task taken over", "queue", cb.Queue, "waiting since", cb.Since)
		p.spawn(func() {
			defer p.endSession(s)
			if err := s.queueCall(p.ctx, cb.Queue, cb.Since); err != nil && !errors.Is(err, errHandedOff) && p.ctx.Err() == nil {
				s.log.Warn("callback task failed", "err", err)
			}
		})
	}
}
