package telegram

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

// Telegram's flood limits for bots: about one message per second to one
// chat and thirty per second overall. Exceeding them earns a 429 with
// retry_after.
const (
	defaultPerChatInterval = time.Second
	defaultGlobalPerSecond = 30
	maxSendAttempts        = 6
)

// pacer decides when a send may start. Telegram counts messages when they
// reach it, and a request's travel time varies, so spacing the starts is
// not enough: a slow request followed by a fast one arrives too close
// together. The pacer therefore counts from completions. A chat's next
// send starts at least perChat after its previous send completed, and a
// send starts only while fewer than perSecond sends are in flight or
// completed within the last second. Since a request reaches Telegram
// between its start and its completion, no second at Telegram's side can
// see more than perSecond of them, nor one chat two within perChat.
//
// The pacer is bookkeeping over an injected "now", so its rule is tested
// without waiting.
type pacer struct {
	mu        sync.Mutex
	perChat   time.Duration
	perSecond int
	window    time.Duration
	inflight  int
	done      []time.Time         // completions within the window, oldest first
	nextChat  map[int64]time.Time // earliest next start per chat
	freed     chan struct{}       // closed when an in-flight send completes
	released  int
}

func newPacer(perChat time.Duration, perSecond int) *pacer {
	return &pacer{perChat: perChat, perSecond: perSecond, window: time.Second, nextChat: map[int64]time.Time{}, freed: make(chan struct{})}
}

// acquire tries to start a send to chat at now. When it may not, it
// returns how long to wait, or a channel that is closed when an in-flight
// send completes (wait is then 0).
func (p *pacer) acquire(chat int64, now time.Time) (ok bool, wait time.Duration, freed <-chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if at := p.nextChat[chat]; at.After(now) {
		return false, at.Sub(now), nil
	}
	cut := 0
	for cut < len(p.done) && !p.done[cut].After(now.Add(-p.window)) {
		cut++
	}
	p.done = p.done[cut:]
	if p.inflight+len(p.done) < p.perSecond {
		p.inflight++
		return true, 0, nil
	}
	if len(p.done) > 0 {
		return false, p.done[0].Add(p.window).Sub(now), nil
	}
	return false, 0, p.freed
}

// release records that a send to chat started by acquire completed at now.
func (p *pacer) release(chat int64, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inflight--
	if n := len(p.done); n > 0 && now.Before(p.done[n-1]) {
		now = p.done[n-1] // keep the list ordered whatever the clock did
	}
	p.done = append(p.done, now)
	if next := now.Add(p.perChat); next.After(p.nextChat[chat]) {
		p.nextChat[chat] = next
	}
	close(p.freed)
	p.freed = make(chan struct{})
	if p.released++; p.released%1024 == 0 {
		for id, t := range p.nextChat {
			if t.Before(now) {
				delete(p.nextChat, id)
			}
		}
	}
}

// delay pushes chat's next start to at least until, after a 429 or a
// transient failure.
func (p *pacer) delay(chat int64, until time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.nextChat[chat].Before(until) {
		p.nextChat[chat] = until
	}
}

// outbox sends messages through per-chat FIFO queues, so one slow or
// throttled chat never holds up the others, within the pacer's limits.
// Transient failures are retried with backoff and a 429's retry_after is
// honoured; a permanent failure (400, 403) is given up at once.
type outbox struct {
	pace    *pacer
	now     func() time.Time
	log     *slog.Logger
	backoff time.Duration // first retry delay for transient errors

	mu     sync.Mutex
	queues map[int64][]*job
	wg     sync.WaitGroup
	ctx    context.Context // ends retries and waits on shutdown
}

type job struct {
	chat int64
	send func(ctx context.Context) error
	done chan error // buffered; nil result on success
}

func newOutbox(ctx context.Context, now func() time.Time, log *slog.Logger) *outbox {
	return &outbox{
		pace:    newPacer(defaultPerChatInterval, defaultGlobalPerSecond),
		now:     now,
		log:     log,
		backoff: time.Second,
		queues:  map[int64][]*job{},
		ctx:     ctx,
	}
}

// enqueue adds send to chat's queue and returns a channel that receives
// its outcome once.
func (o *outbox) enqueue(chat int64, send func(ctx context.Context) error) <-chan error {
	j := &job{chat: chat, send: send, done: make(chan error, 1)}
	o.mu.Lock()
	q, running := o.queues[chat]
	o.queues[chat] = append(q, j)
	if !running {
		o.wg.Add(1)
		go o.drain(chat)
	}
	o.mu.Unlock()
	return j.done
}

// drain is the one worker of a chat; it ends when the chat's queue is empty.
func (o *outbox) drain(chat int64) {
	defer o.wg.Done()
	for {
		o.mu.Lock()
		q := o.queues[chat]
		if len(q) == 0 {
			delete(o.queues, chat)
			o.mu.Unlock()
			return
		}
		j := q[0]
		o.mu.Unlock()

		j.done <- o.deliver(j)

		o.mu.Lock()
		o.queues[chat] = o.queues[chat][1:]
		o.mu.Unlock()
	}
}

func (o *outbox) deliver(j *job) error {
	backoff := o.backoff
	var err error
	for attempt := 1; attempt <= maxSendAttempts; attempt++ {
		if err := o.waitTurn(j.chat); err != nil {
			return err
		}
		err = j.send(o.ctx)
		o.pace.release(j.chat, o.now())
		if err == nil {
			return nil
		}
		retryAfter, transient := classify(err)
		switch {
		case retryAfter > 0:
			o.log.Warn("telegram flood control", "chat", j.chat, "retry_after", retryAfter)
			o.pace.delay(j.chat, o.now().Add(retryAfter))
		case transient:
			o.log.Warn("telegram send failed, will retry", "chat", j.chat, "attempt", attempt, "err", err)
			o.pace.delay(j.chat, o.now().Add(backoff))
			backoff *= 2
		default:
			return err
		}
	}
	return err
}

// waitTurn blocks until the pacer lets a send to chat start.
func (o *outbox) waitTurn(chat int64) error {
	for {
		ok, wait, freed := o.pace.acquire(chat, o.now())
		if ok {
			return nil
		}
		if freed != nil {
			select {
			case <-freed:
				continue
			case <-o.ctx.Done():
				return o.ctx.Err()
			}
		}
		if err := sleep(o.ctx, wait); err != nil {
			return err
		}
	}
}

// wait blocks until every queued message is sent or given up, or ctx ends.
func (o *outbox) wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() { o.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// classify tells how to retry a Bot API error: after retry_after (429),
// soon (5xx, network, timeouts), or not at all (other 4xx).
func classify(err error) (retryAfter time.Duration, transient bool) {
	var apiErr *tgbotapi.Error
	if errors.As(err, &apiErr) {
		if apiErr.RetryAfter > 0 {
			// UploadFiles drops the error code, but retry_after survives.
			return time.Duration(apiErr.RetryAfter) * time.Second, true
		}
		return 0, apiErr.Code >= 500 || apiErr.Code == 429 || apiErr.Code == 0
	}
	if errors.Is(err, context.Canceled) {
		return 0, false
	}
	var netErr net.Error
	if errors.As(err, &netErr) || errors.Is(err, context.DeadlineExceeded) {
		return 0, true
	}
	// Undecodable answers (an HTML error page from a proxy) are transient too.
	return 0, true
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
