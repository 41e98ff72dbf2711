package app_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/gateway"
	"github.com/dargah137/dargah/internal/app"
	"github.com/dargah137/dargah/internal/app/apptest"
)

var runtimes = []apptest.Runtime{apptest.Embedded, apptest.Production}

func message(portalID, text string) gateway.Message {
	return gateway.Message{
		Portal: "web", PortalKind: "webform", PortalMessageID: portalID,
		Contact: gateway.Contact{Phone: "+989121234567"}, Text: text,
	}
}

func submitAndAwait(t *testing.T, a *app.App, m gateway.Message) gateway.Receipt {
	t.Helper()
	// Generous: this checks outcomes, not speed, and CI runs packages in parallel under -race.
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	r, err := a.Pipeline.Submit(ctx, m)
	if err != nil {
		t.Fatalf("submit: %v", err)
	}
	r, err = a.Pipeline.Await(ctx, r.MessageID)
	if err != nil {
		t.Fatalf("await: %v", err)
	}
	if r.Status != gateway.StatusDecided {
		t.Fatalf("message %s not decided: %+v", r.MessageID, r)
	}
	return r
}

// TestMessageToCase walks one message through both runtimes: intake,
// stream, router, case store, and back as a receipt.
func TestMessageToCase(t *testing.T) {
	for _, rt := range runtimes {
		t.Run(string(rt), func(t *testing.T) {
			t.Parallel()
			h := apptest.Start(t, apptest.Options{Runtime: rt})
			r := submitAndAwait(t, h.App, message("m-1", "خیابان سناباد چاله دارد و آسفالت خراب شده"))
			d := r.Decision
			if d.Outcome != gateway.OutcomeCaseOpened || d.ServiceCode != "asphalt" || !cases.ValidTrackingCode(d.TrackingCode) {
				t.Fatalf("decision = %+v, want a case for asphalt with a valid tracking code", d)
			}
			if d.Rule == "" {
				t.Error("decision has no rule")
			}
			c, err := h.Store.CaseGetByTracking(context.Background(), d.TrackingCode)
			if err != nil {
				t.Fatal(err)
			}
			if c.SourceMessageID != r.MessageID || c.Contact.Phone != "+989121234567" || c.Status != cases.StatusAssigned {
				t.Errorf("case = %+v", c)
			}

			// The same portal message id again: the same receipt, no second case.
			again := submitAndAwait(t, h.App, message("m-1", "خیابان سناباد چاله دارد و آسفالت خراب شده"))
			if again.MessageID != r.MessageID || again.Decision.TrackingCode != d.TrackingCode {
				t.Errorf("repeat gave %+v, want the first receipt %+v", again, r)
			}

			// A status question about that case is answered on the spot.
			st := submitAndAwait(t, h.App, message("m-2", "پیگیری "+d.TrackingCode))
			if st.Decision.Outcome != gateway.OutcomeResolved || st.Decision.TrackingCode != d.TrackingCode {
				t.Errorf("status question decided %+v", st.Decision)
			}
			list, err := h.Store.CaseSearch(context.Background(), cases.Filter{})
			if err != nil {
				t.Fatal(err)
			}
			if len(list) != 1 {
				t.Errorf("%d cases, want 1", len(list))
			}
		})
	}
}

// TestInvalidMessageStoresNothing: bad input is refused at intake.
func TestInvalidMessageStoresNothing(t *testing.T) {
	h := apptest.Start(t, apptest.Options{})
	_, err := h.App.Pipeline.Submit(context.Background(), message("bad", "  "))
	if !errors.Is(err, gateway.ErrInvalid) {
		t.Fatalf("err = %v, want ErrInvalid", err)
	}
	if _, err := h.App.Pipeline.LookupByPortalID(context.Background(), "web", "bad"); !errors.Is(err, gateway.ErrUnknownMessage) {
		t.Errorf("invalid message was stored: %v", err)
	}
}

// TestManyConcurrentMessages: concurrent intake on both runtimes gives one
// decision per message and one case per case-worthy message.
func TestManyConcurrentMessages(t *testing.T) {
	for _, rt := range runtimes {
		t.Run(string(rt), func(t *testing.T) {
			t.Parallel()
			h := apptest.Start(t, apptest.Options{Runtime: rt})
			const n = 200
			var wg sync.WaitGroup
			codes := make(chan string, n)
			for i := 0; i < n; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					// Each message is submitted twice, concurrently.
					m := message(fmt.Sprintf("c-%d", i), fmt.Sprintf("درخت خشک شده در پارک شماره %d", i))
					r1 := submitAndAwait(t, h.App, m)
					r2 := submitAndAwait(t, h.App, m)
					if r1.Decision.TrackingCode != r2.Decision.TrackingCode {
						t.Errorf("message %d: two tracking codes", i)
					}
					codes <- r1.Decision.TrackingCode
				}()
			}
			wg.Wait()
			close(codes)
			seen := map[string]bool{}
			for c := range codes {
				if seen[c] {
					t.Errorf("tracking code %s given twice", c)
				}
				seen[c] = true
			}
			list, err := h.Store.CaseSearch(context.Background(), cases.Filter{Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			if len(list) != n {
				t.Errorf("%d cases, want %d", len(list), n)
			}
		})
	}
}

// TestConsumerCrashYieldsOneCase: a consumer that dies after publish and
// before acknowledging — with or without having recorded the decision —
// leaves the message to be redelivered, and it produces exactly one case.
func TestConsumerCrashYieldsOneCase(t *testing.T) {
	for _, rt := range runtimes {
		for _, decidedBeforeCrash := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/decided=%v", rt, decidedBeforeCrash), func(t *testing.T) {
				t.Parallel()
				opts := apptest.Options{Runtime: rt, Config: "stream:\n  claim_timeout: 300ms\n  retry_delay: 50ms\n"}
				cfg := apptest.Prepare(t, opts)
				ctx := context.Background()

				// Instance 1: accepts and publishes, then its consumer takes
				// the message and dies without acknowledging it.
				a1, err := app.Build(ctx, cfg, app.Options{})
				if err != nil {
					t.Fatal(err)
				}
				if err := a1.Migrate(ctx); err != nil {
					t.Fatal(err)
				}
				r, err := a1.Pipeline.Submit(ctx, message("crash-1", "جدول خیابان شکسته است"))
				if err != nil {
					t.Fatal(err)
				}
				cctx, crash := context.WithCancel(ctx)
				taken := make(chan struct{})
				done := make(chan error, 1)
				go func() {
					done <- a1.Stream.Consume(cctx, "router", "doomed", func(hctx context.Context, d gateway.Delivery) error {
						if decidedBeforeCrash {
							dec, err := a1.Router.Decide(hctx, d.Message)
							if err != nil {
								return err
							}
							if _, err := a1.Store.MessageDecide(hctx, d.Message.ID, dec); err != nil {
								return err
							}
						}
						close(taken)
						<-cctx.Done() // killed mid-handling: never acknowledged
						return cctx.Err()
					})
				}()
				select {
				case <-taken:
				case <-time.After(20 * time.Second):
					t.Fatal("consumer never received the message")
				}
				crash()
				<-done
				a1.Close()

				// Instance 2 on the same storage takes over.
				h := apptest.StartConfig(t, cfg, opts)
				wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
				defer cancel()
				got, err := h.App.Pipeline.Await(wctx, r.MessageID)
				if err != nil {
					t.Fatal(err)
				}
				if got.Status != gateway.StatusDecided || got.Decision.Outcome != gateway.OutcomeCaseOpened {
					t.Fatalf("after takeover: %+v", got)
				}
				// Give a duplicate delivery a chance to do harm, then count.
				time.Sleep(500 * time.Millisecond)
				list, err := h.Store.CaseSearch(ctx, cases.Filter{})
				if err != nil {
					t.Fatal(err)
				}
				if len(list) != 1 || list[0].TrackingCode != got.Decision.TrackingCode {
					t.Fatalf("%d cases after redelivery, want exactly 1 (%s)", len(list), got.Decision.TrackingCode)
				}
			})
		}
	}
}

// Two instances share PostgreSQL and Redis. Messages accepted by one are
// routed by whichever instance reads them; the other's decisions are
// announced back, so the accepting instance hears every one of them.
func TestTwoInstancesAnnounceDecisions(t *testing.T) {
	t.Parallel()
	o := apptest.Options{Runtime: apptest.Production}
	cfg := apptest.Prepare(t, o)
	cfg1, cfg2 := cfg, cfg
	cfg1.Instance, cfg2.Instance = "one", "two"
	one := apptest.StartConfig(t, cfg1, o)
	two := apptest.StartConfig(t, cfg2, o)
	for i := range 30 {
		submitAndAwait(t, one.App, message(fmt.Sprintf("two-instances-%d", i), "ساعت کاری ۱۳۷ چیست"))
	}
	deadline := time.Now().Add(20 * time.Second) // a failure guard, not a speed assertion
	for {
		heard := counter(t, one.App, "dargah_decisions_heard_total", "")
		told := counter(t, two.App, "dargah_decisions_announced_total", "ok")
		if heard > 0 && heard == told && counter(t, two.App, "dargah_decisions_announced_total", "failed") == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("instance two announced %v decisions, instance one heard %v; want the same, more than none", told, heard)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// counter sums a's counter name (with label result=result, when given).
func counter(t *testing.T, a *app.App, name, result string) float64 {
	t.Helper()
	mfs, err := a.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			match := result == ""
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" && l.GetValue() == result {
					match = true
				}
			}
			if match {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}
