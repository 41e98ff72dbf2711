package streamtest

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dargah137/dargah/gateway"
)

// BenchOpener is Opener for benchmarks.
type BenchOpener func(b *testing.B, opts gateway.StreamOptions) func() gateway.Stream

// Bench measures end-to-end throughput: 1 or 16 goroutines publish b.N
// messages while 1 or 4 consumers of one group acknowledge them; it reports
// msg/s from the first Publish until the last message was handled. Many
// publishers are what a busy gateway has: one per request in flight.
func Bench(b *testing.B, open BenchOpener) {
	for _, c := range []struct{ publishers, consumers int }{{1, 1}, {1, 4}, {16, 4}} {
		publishers, consumers := c.publishers, c.consumers
		name := "consumers=" + strconv.Itoa(consumers)
		if publishers > 1 {
			name = "publishers=" + strconv.Itoa(publishers) + "/" + name
		}
		b.Run(name, func(b *testing.B) {
			// Long claim timeout: a benchmark measures the happy path.
			s := open(b, gateway.StreamOptions{ClaimTimeout: time.Minute})()
			defer s.Close()
			n := int64(b.N)
			var handled atomic.Int64
			done := make(chan struct{})
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			defer wg.Wait()
			defer cancel()
			for i := range consumers {
				wg.Go(func() {
					_ = s.Consume(ctx, "bench", fmt.Sprintf("c%d", i), func(ctx context.Context, d gateway.Delivery) error {
						if handled.Add(1) == n {
							close(done)
						}
						return nil
					})
				})
			}
			m := message("bench")
			var next atomic.Int64
			b.ResetTimer()
			start := time.Now()
			var pubs sync.WaitGroup
			for range publishers {
				pubs.Go(func() {
					m := m
					for i := next.Add(1); i <= n; i = next.Add(1) {
						m.ID = "bench-" + strconv.FormatInt(i, 10)
						if err := s.Publish(context.Background(), m); err != nil {
							b.Errorf("publish: %v", err)
							return
						}
					}
				})
			}
			pubs.Wait()
			if b.Failed() {
				return
			}
			select {
			case <-done:
			case <-time.After(5 * time.Minute):
				b.Fatalf("only %d of %d messages handled", handled.Load(), n)
			}
			elapsed := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msg/s")
		})
	}
}
