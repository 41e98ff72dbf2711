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

// pacer hands out send slots: at most one per interval to a chat and at
// most perSecond overall, spaced evenly. It is pure bookkeeping over an
// injected "now", so its rule is tested without waiting.
type pacer struct {
	mu        sync.Mutex
	perChat   time.Duration
	spacing   time.Duration
	nextAny   time.Time
	nextChat  map[int64]time.Time
	reserved  int
	sweepEach int
}

func newPacer(perChat time.Duration, perSecond int) *pacer {
	// Round the spacing up: 30 × 33.33ms must not fit in one second.
	spacing := (time.Second + time.Duration(perSecond) - 1) / time.Duration(perSecond)
	return &pacer{perChat: perChat, spacing: spacing, nextChat: map[int64]time.Time{}, sweepEach: 1024}
}

// chatReady is the earliest time chat may be sent to. Waiting for it
// before reserve keeps one throttled chat from pushing the shared
// schedule into the future.
func (p *pacer) chatReady(chat int64) time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.nextChat[chat]
}

// reserve books the earliest slot at or after now for chat and returns it.
func (p *pacer) reserve(chat int64, now time.Time) time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	at := now
	if c := p.nextChat[chat]; c.After(at) {
		at = c
	}
	if p.nextAny.After(at) {
		at = p.nextAny
	}
	// A slot later than nextAny leaves a gap, which only lowers the rate.
	p.nextAny = at.Add(p.spacing)
	p.nextChat[chat] = at.Add(p.perChat)
	p.reserved++
	if p.reserved%p.sweepEach == 0 {
		for id, t := range p.nextChat {
			if t.Before(now) {
				delete(p.nextChat, id)
			}
		}
	}
	return at
}

// delay pushes chat's next slot to at least until, after a 429.
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
		if err := sleepUntil(o.ctx, o.now, o.pace.chatReady(j.chat)); err != nil {
			return err
		}
		at := o.pace.reserve(j.chat, o.now())
		if err := sleepUntil(o.ctx, o.now, at); err != nil {
			return err
		}
		err = j.send(o.ctx)
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

// sleepUntil waits until at on the given clock or ctx ends.
func sleepUntil(ctx context.Context, now func() time.Time, at time.Time) error {
	return sleep(ctx, at.Sub(now()))
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
