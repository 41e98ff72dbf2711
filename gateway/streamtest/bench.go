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

// Bench measures end-to-end throughput: one goroutine publishes b.N messages
// while 1 or 4 consumers of one group acknowledge them; it reports msg/s
// from the first Publish until the last message was handled.
func Bench(b *testing.B, open BenchOpener) {
	for _, consumers := range []int{1, 4} {
		b.Run("consumers="+strconv.Itoa(consumers), func(b *testing.B) {
			// Long claim timeout: a benchmark measures the happy path.
			s := open(b, gateway.StreamOptions{ClaimTimeout: time.Minute})()
			defer s.Close()
			n := int64(b.N)
			var handled atomic.Int64
			done := make(chan struct{})
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
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
			b.ResetTimer()
			start := time.Now()
			for i := range b.N {
				m.ID = "bench-" + strconv.Itoa(i)
				if err := s.Publish(context.Background(), m); err != nil {
					b.Fatalf("publish: %v", err)
				}
			}
			select {
			case <-done:
			case <-time.After(5 * time.Minute):
				b.Fatalf("only %d of %d messages handled", handled.Load(), n)
			}
			elapsed := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msg/s")
			cancel()
			wg.Wait()
		})
	}
}
