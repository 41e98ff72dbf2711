package sms

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/dargah137/dargah/cases/casesqlite"
	"github.com/dargah137/dargah/channels/sms/paneltest"
)

type outcome struct {
	it  outItem
	ids []string
	err error
}

// The outbox retries what may pass later (503, 429), drops what will not
// (400), and what it holds survives a new outbox over the same KV.
func TestOutboxRetriesAndDrops(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	st, err := casesqlite.Open(ctx, filepath.Join(t.TempDir(), "kv.db"), casesqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	panel := paneltest.New(t, paneltest.Config{})
	cfg := &Settings{SendTimeout: 5 * time.Second, RetryMin: time.Millisecond, RetryMax: 5 * time.Millisecond, MaxAttempts: 5}
	snd := &httpSender{cfg: &Send{URL: panel.SendURL(), Method: "POST", Format: "form", To: "receptor", Text: "message", From: "sender",
		ToFormat: FormatNational, IDPath: "entries.0.messageid"}, from: "3000137", client: http.DefaultClient}
	log := slog.New(slog.DiscardHandler)

	// Queued before any sender runs, as after a crash.
	lock := func() *kvLock { return &kvLock{key: "p:lock", holder: "h"} }
	ob := newOutbox(st, "p", snd, cfg, lock(), log, time.Now)
	for _, id := range []string{"a", "b", "a"} { // "a" twice: queued once
		if err := ob.enqueue(ctx, outItem{ID: id, To: "+989121234567", Text: "پیام " + id}); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := ob.Len(ctx); n != 2 || err != nil {
		t.Fatalf("queued %d, want 2 (%v)", n, err)
	}

	ob = newOutbox(st, "p", snd, cfg, lock(), log, time.Now)
	done := make(chan outcome, 4)
	ob.done = func(it outItem, ids []string, err error) { done <- outcome{it, ids, err} }
	if n, err := ob.Len(ctx); n != 2 || err != nil {
		t.Fatalf("reloaded %d items, %v", n, err)
	}
	panel.Fail(http.StatusBadRequest, http.StatusServiceUnavailable, http.StatusTooManyRequests)
	rctx, stop := context.WithCancel(ctx)
	go ob.run(rctx, func() bool { return true })
	defer stop()
	var sent, dropped int
	for range 2 {
		select {
		case o := <-done:
			switch {
			case o.err == nil && len(o.ids) == 1:
				sent++
			case errors.Is(o.err, errPermanent):
				dropped++
			default:
				t.Fatalf("outcome %+v", o)
			}
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		}
	}
	if sent != 1 || dropped != 1 {
		t.Fatalf("sent %d dropped %d", sent, dropped)
	}
	if got := panel.Sent(); len(got) != 1 || got[0].To != "09121234567" || got[0].From != "3000137" {
		t.Fatalf("panel got %+v", got)
	}
	// Sent items are remembered: enqueueing one again sends nothing.
	for _, o := range panel.Sent() {
		id := "a"
		if o.Text == "پیام b" {
			id = "b"
		}
		if err := ob.enqueue(ctx, outItem{ID: id, To: "+989121234567", Text: o.Text}); err != nil {
			t.Fatal(err)
		}
	}
	if n, _ := ob.Len(ctx); n != 0 {
		t.Fatalf("a sent item was queued again")
	}
}
