package streamtest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dargah137/dargah/gateway"
)

// MinConcurrency is the consumer concurrency RunConcurrent needs.
const MinConcurrency = 8

// RunConcurrent is for streams whose consumers handle several entries at
// once: open must give consumers a concurrency of at least MinConcurrency.
// It runs the whole suite, then checks that one consumer handles
// conversations side by side and each conversation in stream order.
func RunConcurrent(t *testing.T, open Opener) {
	Run(t, open)
	t.Run("ConversationsSideBySide", func(t *testing.T) { t.Parallel(); testSideBySide(t, open) })
	t.Run("ConversationOrder", func(t *testing.T) { t.Parallel(); testConversationOrder(t, open) })
}

func threadMessage(i int, thread string) gateway.Message {
	m := message("conv")
	m.ID = fmt.Sprintf("%s-%03d", m.ID, i) // sorts as published
	m.ThreadKey = thread
	return m
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
	case <-time.After(waitLimit):
		cancel()
		<-done
		t.Fatalf("handled %d of %d deliveries", handled.Load(), n)
	}
}

// Entries of different conversations are handled side by side by one
// consumer: each handler waits until all have started, which never
// happens one at a time.
func testSideBySide(t *testing.T, open Opener) {
	s, _ := handle(t, open(t, baseOptions))
	const n = MinConcurrency
	for i := range n {
		publish(t, s, threadMessage(i, fmt.Sprint("chat:", i)))
	}
	var started sync.WaitGroup
	started.Add(n)
	allIn := make(chan struct{})
	go func() { started.Wait(); close(allIn) }()
	var apart atomic.Bool
	consumeUntil(t, s, n, func(ctx context.Context, d gateway.Delivery) error {
		started.Done()
		select {
		case <-allIn:
		case <-time.After(2 * time.Second): // one at a time, the first would wait here in vain
			apart.Store(true)
		}
		return nil
	})
	if apart.Load() {
		t.Fatalf("the %d handlers never ran at the same time", n)
	}
}

// Entries of one conversation are handled one after another, in stream
// order, while other conversations go on beside them.
func testConversationOrder(t *testing.T, open Opener) {
	o := baseOptions
	o.ClaimTimeout = time.Minute // a slow machine must not see a takeover here
	s, _ := handle(t, open(t, o))
	const n = 30
	for i := range n {
		publish(t, s, threadMessage(i, []string{"chat:a", "chat:b", ""}[i%3]))
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
