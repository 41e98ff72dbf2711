package storetest

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/gateway"
)

// BenchAcceptDecide measures what one message costs the store end to
// end: MessageAccept then MessageDecide, from many goroutines at once as
// the stream's consumers call them. Sub-benchmarks split the two
// outcomes and a mix of one case per four messages; each reports msgs/s.
// parallelism multiplies GOMAXPROCS into the number of goroutines.
func BenchAcceptDecide(b *testing.B, s cases.Store, parallelism int) {
	for _, bc := range []struct {
		name      string
		caseEvery int64 // every caseEvery-th message opens a case; 0 never
	}{{"resolved", 0}, {"case_opened", 1}, {"mixed", 4}} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			var seq atomic.Int64
			prefix := randomHex(4)
			b.SetParallelism(parallelism)
			b.ReportAllocs()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					n := seq.Add(1)
					m := NewMessage(time.Now())
					m.PortalMessageID = prefix + "-" + m.ID
					if _, _, err := s.MessageAccept(ctx, m); err != nil {
						b.Fatalf("accept: %v", err)
					}
					d := gateway.Decision{Outcome: gateway.OutcomeResolved, Rule: "faq", Reply: "پاسخ"}
					if bc.caseEvery > 0 && n%bc.caseEvery == 0 {
						d = gateway.Decision{Outcome: gateway.OutcomeCaseOpened, Rule: "lighting", ServiceCode: "lighting",
							Reply: "کد پیگیری: {tracking_code}"}
					}
					if _, err := s.MessageDecide(ctx, m.ID, d); err != nil {
						b.Fatalf("decide: %v", err)
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
		})
	}
}
