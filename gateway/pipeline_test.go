package gateway_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dargah137/dargah/cases/casesqlite"
	"github.com/dargah137/dargah/gateway"
	"github.com/dargah137/dargah/gateway/sqlitestream"
)

// countingLedger counts the ledger reads Await makes.
type countingLedger struct {
	gateway.Ledger
	gets atomic.Int64
}

func (c *countingLedger) MessageGet(ctx context.Context, id string) (gateway.Receipt, error) {
	c.gets.Add(1)
	return c.Ledger.MessageGet(ctx, id)
}

// faq resolves every message on the spot.
type faq struct{}

func (faq) Decide(ctx context.Context, m gateway.Message) (gateway.Decision, error) {
	return gateway.Decision{Outcome: gateway.OutcomeResolved, Rule: "faq", Reply: "پاسخ"}, nil
}

func newPipeline(t *testing.T, ledger gateway.Ledger, stream gateway.Stream) *gateway.Pipeline {
	t.Helper()
	p, err := gateway.NewPipeline(gateway.PipelineConfig{Ledger: ledger, Stream: stream, Router: faq{},
		AwaitPoll: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func stores(t *testing.T) (*countingLedger, gateway.Stream) {
	t.Helper()
	dir := t.TempDir()
	st, err := casesqlite.Open(t.Context(), filepath.Join(dir, "cases.db"), casesqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	stream, err := sqlitestream.Open(t.Context(), filepath.Join(dir, "stream.db"), sqlitestream.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stream.Close() })
	return &countingLedger{Ledger: st}, stream
}

func message(i int) gateway.Message {
	return gateway.Message{Portal: "web", PortalKind: "webform", PortalMessageID: fmt.Sprintf("pm-%d", i),
		Text: "ساعت کاری", Contact: gateway.Contact{Phone: "+989121234567"}}
}

// A request that awaits a decision this instance already made gets it
// without reading the ledger: under load that read was one query per
// request for nothing.
func TestAwaitAfterLocalDecisionReadsNothing(t *testing.T) {
	ledger, stream := stores(t)
	p := newPipeline(t, ledger, stream)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() { _ = p.Run(ctx, "a", 2) }()
	for i := range 20 {
		rc, err := p.Submit(t.Context(), message(i))
		if err != nil {
			t.Fatal(err)
		}
		// Let the decision happen before anyone waits for it.
		deadline := time.Now().Add(5 * time.Second)
		for {
			r, err := ledger.Ledger.MessageGet(t.Context(), rc.MessageID)
			if err != nil {
				t.Fatal(err)
			}
			if r.Status == gateway.StatusDecided {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("not decided in 5 s")
			}
			time.Sleep(2 * time.Millisecond)
		}
		r, err := p.Await(t.Context(), rc.MessageID)
		if err != nil || r.Status != gateway.StatusDecided || r.Decision.Rule != "faq" {
			t.Fatalf("await: %+v, %v", r, err)
		}
	}
	if n := ledger.gets.Load(); n != 0 {
		t.Fatalf("Await read the ledger %d times for decisions this instance made", n)
	}
}

// A decision made by another instance is found by polling the ledger.
func TestAwaitDecisionMadeElsewhere(t *testing.T) {
	ledger, stream := stores(t)
	intake, router := newPipeline(t, ledger, stream), newPipeline(t, ledger, stream)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() { _ = router.Run(ctx, "b", 1) }()
	rc, err := intake.Submit(t.Context(), message(1))
	if err != nil {
		t.Fatal(err)
	}
	actx, acancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer acancel()
	r, err := intake.Await(actx, rc.MessageID)
	if err != nil || r.Status != gateway.StatusDecided {
		t.Fatalf("await: %+v, %v", r, err)
	}
	if ledger.gets.Load() == 0 {
		t.Fatal("decided elsewhere, yet found without reading the ledger")
	}
}

// Await gives up when its context ends and returns the receipt as it stands.
func TestAwaitUndecidedUntilContextEnds(t *testing.T) {
	ledger, stream := stores(t)
	p := newPipeline(t, ledger, stream) // nobody routes
	rc, err := p.Submit(t.Context(), message(1))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	r, err := p.Await(ctx, rc.MessageID)
	if err != nil || r.Status != gateway.StatusAccepted || r.MessageID != rc.MessageID {
		t.Fatalf("await: %+v, %v", r, err)
	}
}
