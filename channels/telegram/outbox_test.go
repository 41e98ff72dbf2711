package telegram

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

// TestPacerLimits checks the rule on a manual clock: thirty sends in
// flight or completed within a second, and one per chat per second
// counted from the previous completion.
func TestPacerLimits(t *testing.T) {
	t.Parallel()
	p := newPacer(time.Second, 30)
	t0 := time.Unix(1_700_000_000, 0)
	for i := range 30 {
		if ok, _, _ := p.acquire(int64(i), t0); !ok {
			t.Fatalf("send %d refused", i)
		}
	}
	ok, wait, freed := p.acquire(99, t0)
	if ok || wait != 0 || freed == nil {
		t.Fatalf("31st send in flight allowed: ok %v wait %v", ok, wait)
	}
	// Slow requests: they complete 300ms later.
	t1 := t0.Add(300 * time.Millisecond)
	for i := range 30 {
		p.release(int64(i), t1)
	}
	select {
	case <-freed:
	default:
		t.Fatal("waiters not woken by a completion")
	}
	if ok, wait, _ := p.acquire(99, t1); ok || wait != time.Second {
		t.Fatalf("31st send within a second of 30 completions: ok %v wait %v", ok, wait)
	}
	t2 := t1.Add(time.Second + time.Nanosecond)
	if ok, _, _ := p.acquire(99, t2); !ok {
		t.Fatal("send refused after the window passed")
	}
	// Chat 5 completed at t1: its next send waits a second from then.
	if ok, wait, _ := p.acquire(5, t1.Add(400*time.Millisecond)); ok || wait != 600*time.Millisecond {
		t.Fatalf("chat 5 again too soon: ok %v wait %v", ok, wait)
	}
	// A 429's retry_after pushes only that chat back.
	p.delay(7, t2.Add(time.Hour))
	if ok, wait, _ := p.acquire(7, t2); ok || wait != time.Hour {
		t.Fatalf("retry_after ignored: ok %v wait %v", ok, wait)
	}
	if ok, _, _ := p.acquire(8, t2); !ok {
		t.Fatal("chat 8 held up by chat 7")
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err        error
		retryAfter time.Duration
		transient  bool
	}{
		{&tgbotapi.Error{Code: 429, ResponseParameters: tgbotapi.ResponseParameters{RetryAfter: 3}}, 3 * time.Second, true},
		{&tgbotapi.Error{Code: 502}, 0, true},
		{&tgbotapi.Error{Code: 403, Message: "Forbidden: bot was blocked by the user"}, 0, false},
		{&tgbotapi.Error{Code: 400}, 0, false},
		{context.Canceled, 0, false},
		{context.DeadlineExceeded, 0, true},
	}
	for _, tc := range tests {
		ra, tr := classify(tc.err)
		if ra != tc.retryAfter || tr != tc.transient {
			t.Errorf("classify(%v) = %v, %v; want %v, %v", tc.err, ra, tr, tc.retryAfter, tc.transient)
		}
	}
}

// TestOutboxSlowChatDoesNotBlockOthers: a chat stuck in retries does not
// delay another chat's message.
func TestOutboxSlowChatDoesNotBlockOthers(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	o := newOutbox(ctx, time.Now, slog.New(slog.DiscardHandler))
	o.backoff = time.Hour // chat 1 would wait an hour before its retry
	release := make(chan struct{})
	var calls atomic.Int32
	slow := o.enqueue(1, func(ctx context.Context) error {
		calls.Add(1)
		return &tgbotapi.Error{Code: 502}
	})
	fast := o.enqueue(2, func(ctx context.Context) error { close(release); return nil })
	select {
	case err := <-fast:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("chat 2 blocked behind chat 1")
	}
	<-release
	cancel() // ends chat 1's wait
	if err := <-slow; err == nil {
		t.Fatal("failing send reported success")
	}
	if err := o.wait(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestOutboxPermanentErrorIsNotRetried(t *testing.T) {
	t.Parallel()
	o := newOutbox(context.Background(), time.Now, slog.New(slog.DiscardHandler))
	var calls atomic.Int32
	err := <-o.enqueue(1, func(ctx context.Context) error {
		calls.Add(1)
		return &tgbotapi.Error{Code: 403}
	})
	if err == nil || calls.Load() != 1 {
		t.Fatalf("403: err %v after %d calls, want one call", err, calls.Load())
	}
}
