package telegram

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

// TestPacerLimits books many slots on a frozen clock and checks the rule
// itself: one per chat per second, thirty per second overall.
func TestPacerLimits(t *testing.T) {
	t.Parallel()
	p := newPacer(time.Second, 30)
	t0 := time.Unix(1_700_000_000, 0)
	var all []time.Time
	byChat := map[int64][]time.Time{}
	for i := range 300 {
		chat := int64(i % 50)
		at := p.reserve(chat, t0)
		all = append(all, at)
		byChat[chat] = append(byChat[chat], at)
	}
	for chat, list := range byChat {
		for i := 1; i < len(list); i++ {
			if gap := list[i].Sub(list[i-1]); gap < time.Second {
				t.Fatalf("chat %d: slots %v apart", chat, gap)
			}
		}
	}
	for i := 30; i < len(all); i++ {
		if span := all[i].Sub(all[i-30]); span < time.Second {
			t.Fatalf("31 slots within %v", span)
		}
	}
	// 300 messages at 30/s need about ten seconds, not more.
	if last := all[len(all)-1].Sub(t0); last > 11*time.Second {
		t.Fatalf("pacer too slow: last slot after %v", last)
	}
	// A 429's retry_after pushes only that chat back.
	p.delay(7, t0.Add(time.Hour))
	if at := p.chatReady(7); at.Before(t0.Add(time.Hour)) {
		t.Fatalf("retry_after ignored: %v", at)
	}
	if at := p.reserve(8, t0); at.After(t0.Add(time.Minute)) {
		t.Fatalf("other chat held up by chat 7: %v", at.Sub(t0))
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
