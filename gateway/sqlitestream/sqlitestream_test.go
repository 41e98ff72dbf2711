package sqlitestream_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dargah137/dargah/gateway"
	"github.com/dargah137/dargah/gateway/sqlitestream"
	"github.com/dargah137/dargah/gateway/streamtest"
)

// opener gives each (sub)test its own file; every call opens a new handle on it.
func opener(tb testing.TB, opts gateway.StreamOptions) func() gateway.Stream {
	path := filepath.Join(tb.TempDir(), "stream.db")
	return func() gateway.Stream {
		s, err := sqlitestream.Open(context.Background(), path, sqlitestream.Config{Options: opts})
		if err != nil {
			tb.Fatalf("open %s: %v", path, err)
		}
		return s
	}
}

func TestStream(t *testing.T) {
	streamtest.Run(t, func(t *testing.T, o gateway.StreamOptions) func() gateway.Stream { return opener(t, o) })
}

func BenchmarkStream(b *testing.B) {
	streamtest.Bench(b, func(b *testing.B, o gateway.StreamOptions) func() gateway.Stream { return opener(b, o) })
}

// TestStreamConcurrent holds a stream whose consumers handle several
// entries at once to the same conformance suite.
func TestStreamConcurrent(t *testing.T) {
	streamtest.Run(t, func(t *testing.T, o gateway.StreamOptions) func() gateway.Stream {
		path := filepath.Join(t.TempDir(), "stream.db")
		return func() gateway.Stream {
			s, err := sqlitestream.Open(context.Background(), path, sqlitestream.Config{Options: o, Concurrency: 8})
			if err != nil {
				t.Fatalf("open %s: %v", path, err)
			}
			return s
		}
	})
}

func openConcurrent(t *testing.T, n int) *sqlitestream.Stream {
	t.Helper()
	s, err := sqlitestream.Open(context.Background(), filepath.Join(t.TempDir(), "stream.db"),
		sqlitestream.Config{Concurrency: n, Options: gateway.StreamOptions{ClaimTimeout: time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func threadMessage(i int, thread string) gateway.Message {
	return gateway.Message{ID: fmt.Sprintf("m-%03d", i), Portal: "telegram", PortalKind: "telegram",
		PortalMessageID: fmt.Sprint(i), ThreadKey: thread, Text: "سلام", ReceivedAt: time.Now().UTC()}
}

// consumeUntil runs one consumer with h until n deliveries were handled.
func consumeUntil(t *testing.T, s gateway.Stream, n int, h gateway.Handler) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var handled atomic.Int64
	done := make(chan error, 1)
	go func() {
		done <- s.Consume(ctx, "routing", "c1", func(ctx context.Context, d gateway.Delivery) error {
			err := h(ctx, d)
			if handled.Add(1) == int64(n) {
				cancel()
			}
			return err
		})
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second): // a failure guard, not a speed assertion
		cancel()
		<-done
		t.Fatalf("handled %d of %d deliveries", handled.Load(), n)
	}
}

// Entries of different conversations are handled side by side by one
// consumer: each handler waits until all have started, which never
// happens one at a time.
func TestConcurrencyRunsConversationsSideBySide(t *testing.T) {
	const n = 8
	s := openConcurrent(t, n)
	for i := range n {
		if err := s.Publish(context.Background(), threadMessage(i, fmt.Sprint("chat:", i))); err != nil {
			t.Fatal(err)
		}
	}
	var started sync.WaitGroup
	started.Add(n)
	allIn := make(chan struct{})
	go func() { started.Wait(); close(allIn) }()
	var timedOut atomic.Bool
	consumeUntil(t, s, n, func(ctx context.Context, d gateway.Delivery) error {
		started.Done()
		select {
		case <-allIn:
		case <-time.After(time.Second): // one at a time, the first would wait here in vain
			timedOut.Store(true)
		}
		return nil
	})
	if timedOut.Load() {
		t.Fatalf("the %d handlers never ran at the same time", n)
	}
}

// Entries of one conversation are handled one after another, in stream
// order, while other conversations go on beside them.
func TestConcurrencyKeepsConversationOrder(t *testing.T) {
	const n = 30
	s := openConcurrent(t, 8)
	for i := range n {
		thread := []string{"chat:a", "chat:b", ""}[i%3]
		if err := s.Publish(context.Background(), threadMessage(i, thread)); err != nil {
			t.Fatal(err)
		}
	}
	var (
		mu       sync.Mutex
		inFlight = map[string]bool{}
		order    = map[string][]string{}
		overlap  []string
	)
	consumeUntil(t, s, n, func(ctx context.Context, d gateway.Delivery) error {
		key := d.Message.ThreadKey
		mu.Lock()
		if key != "" && inFlight[key] {
			overlap = append(overlap, d.Message.ID)
		}
		inFlight[key] = true
		order[key] = append(order[key], d.Message.ID)
		mu.Unlock()
		time.Sleep(2 * time.Millisecond)
		mu.Lock()
		inFlight[key] = false
		mu.Unlock()
		return nil
	})
	if len(overlap) > 0 {
		t.Errorf("messages %v ran while another of their conversation was running", overlap)
	}
	for _, key := range []string{"chat:a", "chat:b"} {
		if !slices.IsSorted(order[key]) || len(order[key]) != n/3 {
			t.Errorf("conversation %s handled as %v, want its %d messages in stream order", key, order[key], n/3)
		}
	}
}
