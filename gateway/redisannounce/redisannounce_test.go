package redisannounce_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/dargah137/dargah/cases/casesqlite"
	"github.com/dargah137/dargah/gateway"
	"github.com/dargah137/dargah/gateway/redisannounce"
	"github.com/dargah137/dargah/gateway/redisstream"
	"github.com/dargah137/dargah/internal/testenv"
)

func client(t *testing.T) (*redis.Client, string) {
	t.Helper()
	url, prefix := testenv.RedisURL(t)
	ro, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(ro)
	t.Cleanup(func() { c.Close() })
	return c, prefix
}

// listen subscribes instance and sends what it hears to the returned channel.
func listen(t *testing.T, a *redisannounce.Announcer, instance string) <-chan gateway.Receipt {
	t.Helper()
	got := make(chan gateway.Receipt, 16)
	l, err := a.Subscribe(t.Context(), instance, func(r gateway.Receipt) { got <- r })
	if err != nil {
		t.Fatal(err)
	}
	go l.Run(t.Context())
	return got
}

// An announcement reaches the instance it names, and only that one.
func TestAnnounceReachesItsOrigin(t *testing.T) {
	c, prefix := client(t)
	a := redisannounce.New(c, prefix+"decided:", nil)
	defer a.Close()
	toB, toC := listen(t, a, "b"), listen(t, a, "c")
	want := gateway.Receipt{MessageID: "m-1", Status: gateway.StatusDecided,
		Decision: gateway.Decision{Outcome: gateway.OutcomeCaseOpened, TrackingCode: "1234567890"}}
	if err := a.Announce(t.Context(), "b", want); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-toB:
		if r.MessageID != want.MessageID || r.Decision.TrackingCode != want.Decision.TrackingCode {
			t.Errorf("b heard %+v, want %+v", r, want)
		}
	case <-time.After(10 * time.Second): // a failure guard, not a speed assertion
		t.Fatal("b never heard the announcement")
	}
	select {
	case r := <-toC:
		t.Errorf("c heard %+v, announced to b", r)
	case <-time.After(200 * time.Millisecond):
	}
}

// faq resolves every message on the spot.
type faq struct{}

func (faq) Decide(ctx context.Context, m gateway.Message) (gateway.Decision, error) {
	return gateway.Decision{Outcome: gateway.OutcomeResolved, Rule: "faq", Reply: "پاسخ"}, nil
}

// Two instances share a ledger and a stream. Instance a accepts messages
// but routes none; b decides them all. A caller awaiting on a hears each
// decision through the announcement: a's ledger polling is set to an hour,
// so without it the caller would wait until its context ends.
func TestAwaitHearsDecisionMadeElsewhere(t *testing.T) {
	c, prefix := client(t)
	ledger, err := casesqlite.Open(t.Context(), filepath.Join(t.TempDir(), "cases.db"), casesqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ledger.Close()
	if err := ledger.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	stream, err := redisstream.New(c, redisstream.Config{Name: prefix + "messages"})
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	ann := redisannounce.New(c, prefix+"decided:", nil)
	defer ann.Close()
	pipeline := func(instance string) *gateway.Pipeline {
		p, err := gateway.NewPipeline(gateway.PipelineConfig{Ledger: ledger, Stream: stream, Router: faq{},
			Instance: instance, Announcer: ann, AwaitPoll: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	a, b := pipeline("a"), pipeline("b")
	l, err := ann.Subscribe(t.Context(), "a", a.Deliver)
	if err != nil {
		t.Fatal(err)
	}
	go l.Run(t.Context())
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() { _ = b.Run(ctx, "b", 2) }()

	for i := range 10 {
		rc, err := a.Submit(t.Context(), gateway.Message{Portal: "web", PortalKind: "webform",
			PortalMessageID: fmt.Sprintf("pm-%d", i), Text: "ساعت کاری", Contact: gateway.Contact{Phone: "+989121234567"}})
		if err != nil {
			t.Fatal(err)
		}
		wctx, wcancel := context.WithTimeout(t.Context(), 5*time.Second) // a failure guard, not a speed assertion
		r, err := a.Await(wctx, rc.MessageID)
		waitedOut := wctx.Err() != nil // Await's last look at the ledger, not the announcement
		wcancel()
		if err != nil || r.Status != gateway.StatusDecided {
			t.Fatalf("message %d on a: %+v, %v; want the decision b made", i, r, err)
		}
		if waitedOut {
			t.Fatalf("message %d: a heard of b's decision only when its wait ended", i)
		}
	}
}
