package smpp

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestBucket(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	b := newBucket(10, 2, func() time.Time { return now })
	ctx := context.Background()
	for i := range 2 {
		if err := b.Wait(ctx); err != nil {
			t.Fatalf("token %d: %v", i, err)
		}
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	if err := b.Wait(done); !errors.Is(err, context.Canceled) {
		t.Fatalf("empty bucket: %v", err)
	}
	now = now.Add(100 * time.Millisecond) // one token at 10/s
	if err := b.Wait(done); err != nil {
		t.Fatalf("after refill: %v", err)
	}
	now = now.Add(time.Hour) // refill is capped at the burst
	for range 2 {
		if err := b.Wait(done); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Wait(done); err == nil {
		t.Fatal("burst exceeded")
	}
	if err := newBucket(0, 1, time.Now).Wait(ctx); err != nil {
		t.Fatalf("unlimited: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	ok := Config{Addr: "127.0.0.1:2775", SystemID: "dargah"}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := []Config{
		{SystemID: "dargah"},
		{Addr: "x:1"},
		{Addr: "x:1", SystemID: "a-system-id-too-long"},
		{Addr: "x:1", SystemID: "d", Password: "123456789"},
		{Addr: "x:1", SystemID: "d", BindMode: "receiver"},
		{Addr: "x:1", SystemID: "d", WindowSize: -1},
		{Addr: "x:1", SystemID: "d", ReconnectMin: time.Minute, ReconnectMax: time.Second},
	}
	for i, c := range bad {
		if err := c.Validate(); err == nil {
			t.Errorf("%d: %+v accepted", i, c)
		}
	}
}
