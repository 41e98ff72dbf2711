package app_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dargah137/dargah/cases/process"
	"github.com/dargah137/dargah/channels/sms/smpp"
	"github.com/dargah137/dargah/channels/sms/smpp/smsctest"
	"github.com/dargah137/dargah/gateway"
	"github.com/dargah137/dargah/internal/app/apptest"

	_ "github.com/dargah137/dargah/channels/sms"
)

// TestWebCaseToldBySMS: a case opened on the web form, whose citizen left a
// phone number, is told its answer and asked for a rating by SMS — the web
// page cannot push, so the first SMS portal carries the notices. The same
// portal texts the department head the case was assigned to.
func TestWebCaseToldBySMS(t *testing.T) {
	t.Setenv("DARGAH_PROCESS_TICK", "1h") // the test drives the outbox
	srv := smsctest.New(t, smsctest.Config{})
	h := apptest.Start(t, apptest.Options{Portals: fmt.Sprintf(`
- name: web
  type: webform
- name: sms
  type: sms
  provider: smpp
  addr: %q
  system_id: dargah
  password: secret
  source_addr: "137"
  reconnect_min: 20ms
  retry_min: 20ms
  retry_max: 200ms
`, srv.Addr())})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	r, err := h.App.Pipeline.Submit(ctx, gateway.Message{
		Portal: "web", PortalKind: "webform", PortalMessageID: "w-1",
		Text: "چراغ‌های کوچه خاموش است", Contact: gateway.Contact{Phone: "+989121234567"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if r, err = h.App.Pipeline.Await(ctx, r.MessageID); err != nil || r.Decision.TrackingCode == "" {
		t.Fatalf("receipt %+v, %v", r, err)
	}
	code := r.Decision.TrackingCode
	c, err := h.Store.CaseGetByTracking(ctx, code)
	if err != nil {
		t.Fatal(err)
	}
	eng := h.App.Process
	dept := process.Actor{Role: process.RoleDepartment, Department: c.Department}
	if _, err := eng.Answer(ctx, code, dept, "لامپ‌ها تعویض شد.", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Verify(ctx, code, process.Actor{Role: process.RoleStaff}, ""); err != nil {
		t.Fatal(err)
	}
	// Outbox passes run until the notices are out (a pass that finds a row
	// leased by the previous one leaves it for the next): the citizen's
	// answer and rating request, and the department head's text at
	// assignment (escalation.yaml: level 0 notifies by sms too).
	citizen := func(to string) bool { return to == "989121234567" || to == "+989121234567" || to == "09121234567" }
	head := func(to string) bool { return strings.TrimPrefix(to, "+") == "985131150001" }
	var texts, official []string
	var headMsg smsctest.Submitted
	for {
		if _, err := eng.Deliver(ctx); err != nil && ctx.Err() == nil {
			t.Fatal(err)
		}
		texts, official = nil, nil
		for _, m := range srv.Messages() {
			switch {
			case citizen(m.To):
				texts = append(texts, m.Text)
			case head(m.To):
				official, headMsg = append(official, m.Text), m
			default:
				t.Fatalf("SMS to %q", m.To)
			}
		}
		if len(texts) >= 2 && len(official) >= 1 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the notices did not go out by SMS: citizen %q, head %q", texts, official)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(official) != 1 || !strings.Contains(official[0], code) {
		t.Errorf("the department head's text: %q", official)
	}
	// The head's phone reports delivery: staff see it on the case.
	if err := srv.SendReceipt(ctx, headMsg.IDs[0], "DELIVRD", smpp.StateDelivered); err != nil {
		t.Fatal(err)
	}
	for noted := false; !noted; time.Sleep(50 * time.Millisecond) {
		if ctx.Err() != nil {
			t.Fatal("no delivery note for the head's text on the case's timeline")
		}
		events, err := h.Store.CaseEvents(ctx, c.ID, false)
		if err != nil && ctx.Err() == nil {
			t.Fatal(err)
		}
		for _, e := range events {
			noted = noted || e.Kind == "sms_delivery" && strings.Contains(e.Note, "985131150001") && !e.Public
		}
	}
	all := strings.Join(texts, "\n")
	if !strings.Contains(all, "لامپ‌ها تعویض شد") || !strings.Contains(all, code) {
		t.Errorf("the answer and the tracking code should reach the citizen by SMS; got %q", all)
	}
}
