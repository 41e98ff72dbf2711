package sms_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dargah137/dargah/channels"
	"github.com/dargah137/dargah/channels/sms"
	"github.com/dargah137/dargah/channels/sms/smpp"
	"github.com/dargah137/dargah/channels/sms/smpp/smsctest"
	"github.com/dargah137/dargah/gateway"
	"github.com/dargah137/dargah/internal/app/apptest"
)

// These tests run a whole Dargah (intake → stream → router → store →
// reply) with the sms portal bound to the SMSC double over TCP.

const citizen = "989121234567" // as the operator delivers it (TON 1)

var codeRE = regexp.MustCompile(`\b[1-9][0-9]{9}\b`)

func smppPortal(srv *smsctest.Server) string {
	return fmt.Sprintf(`
- name: sms
  type: sms
  provider: smpp
  addr: %q
  system_id: dargah
  password: secret
  source_addr: "137"
  reassembly_timeout: 1m
  reconnect_min: 20ms
  reconnect_max: 100ms
  retry_min: 20ms
  retry_max: 200ms
  send_timeout: 20s
`, srv.Addr())
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func portal(t *testing.T, h *apptest.Harness, name string) *sms.Portal {
	t.Helper()
	for _, p := range h.App.Portals {
		if p.Name == name {
			return p.Adapter.(*sms.Portal)
		}
	}
	t.Fatalf("no portal %s", name)
	return nil
}

// longPersian is a 300-character complaint: five UCS-2 parts.
var longPersian = func() string {
	s := strings.Repeat("چراغ‌های خیابان امام رضا نبش کوچه ۱۲ چند شب است خاموش است و عبور عابران در تاریکی خطرناک شده. ", 4)
	return string([]rune(s)[:300])
}()

func TestSMPPLongMessageStatusAndReceipt(t *testing.T) {
	t.Parallel()
	for _, rt := range []apptest.Runtime{apptest.Embedded, apptest.Production} {
		t.Run(string(rt), func(t *testing.T) {
			t.Parallel()
			testSMPPLongMessage(t, rt)
		})
	}
}

func testSMPPLongMessage(t *testing.T, rt apptest.Runtime) {
	ctx := ctxT(t)
	srv := smsctest.New(t, smsctest.Config{})
	h := apptest.Start(t, apptest.Options{Runtime: rt, Portals: smppPortal(srv)})

	// Parts arrive out of order, with a 16-bit reference.
	if err := srv.SendMO(ctx, citizen, "137", longPersian, smsctest.MOOptions{Order: []int{3, 5, 1, 4, 2}, Ref: 4242, Ref16: true}); err != nil {
		t.Fatal(err)
	}
	msgs, err := srv.WaitMessagesTo(ctx, citizen, 1)
	if err != nil {
		t.Fatal(err)
	}
	reply := msgs[0]
	if reply.To != citizen || reply.From != "137" || reply.Coding != smpp.CodingUCS2 || len(reply.Parts) < 2 {
		t.Fatalf("reply = to %s from %s coding %v in %d parts; want a split Persian SMS to %s", reply.To, reply.From, reply.Coding, len(reply.Parts), citizen)
	}
	code := codeRE.FindString(reply.Text)
	if code == "" || !strings.Contains(reply.Text, "کد رهگیری") {
		t.Fatalf("reply has no tracking code: %q", reply.Text)
	}
	c, err := h.Store.CaseGetByTracking(ctx, code)
	if err != nil {
		t.Fatal(err)
	}
	if c.Contact.Phone != "+"+citizen || c.Description != longPersian || c.Portal != "sms" || c.ThreadKey != "" {
		t.Fatalf("case = phone %q portal %q thread %q description %q", c.Contact.Phone, c.Portal, c.ThreadKey, c.Description)
	}

	// The same parts again (the SMSC redelivering) change nothing: the
	// next reply is the status answer, not a second case's.
	if err := srv.SendMO(ctx, citizen, "137", longPersian, smsctest.MOOptions{Ref: 4242, Ref16: true}); err != nil {
		t.Fatal(err)
	}
	// A status question by code, in Persian digits.
	if err := srv.SendMO(ctx, citizen, "137", toPersianDigits(code), smsctest.MOOptions{}); err != nil {
		t.Fatal(err)
	}
	msgs, err = srv.WaitMessagesTo(ctx, citizen, 2)
	if err != nil {
		t.Fatal(err)
	}
	if got := msgs[1].Text; !strings.Contains(got, code) || !strings.Contains(got, "وضعیت") {
		t.Fatalf("status reply = %q", got)
	}
	if n := len(msgs); n != 2 {
		t.Fatalf("%d replies; the redelivered message was answered again", n)
	}

	// A delivery receipt for the first part of the first reply.
	if err := srv.SendReceipt(ctx, reply.IDs[0], "DELIVRD", smpp.StateDelivered); err != nil {
		t.Fatal(err)
	}
	st, ok, err := portal(t, h, "sms").DeliveryStatus(ctx, reply.IDs[0])
	if err != nil || !ok || st != "DELIVRD" {
		t.Fatalf("delivery status = %q %v %v", st, ok, err)
	}
	if v, ok, _ := h.Store.KVGet(ctx, "sms:sms:dlr:"+reply.IDs[0]); !ok || string(v) != "DELIVRD" {
		t.Fatalf("KV dlr = %q %v", v, ok)
	}
	// …and it is on the case's staff timeline, not the citizen's.
	events, err := h.Store.CaseEvents(ctx, c.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	noted := false
	for _, e := range events {
		if e.Kind == "sms_delivery" && strings.Contains(e.Note, "DELIVRD") && !e.Public {
			noted = true
		}
	}
	if !noted {
		t.Errorf("no sms_delivery event on the case timeline: %+v", events)
	}
}

func TestSMPPRatingDigit(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	srv := smsctest.New(t, smsctest.Config{})
	h := apptest.Start(t, apptest.Options{Portals: smppPortal(srv)})
	p := portal(t, h, "sms")

	if err := srv.SendMO(ctx, citizen, "137", "آسفالت کوچه ۸ خیابان سناباد خراب شده است", smsctest.MOOptions{}); err != nil {
		t.Fatal(err)
	}
	msgs, err := srv.WaitMessagesTo(ctx, citizen, 1)
	if err != nil {
		t.Fatal(err)
	}
	code := codeRE.FindString(msgs[0].Text)
	if code == "" {
		t.Fatalf("no tracking code in %q", msgs[0].Text)
	}
	if err := p.Notify(ctx, channels.Notice{TrackingCode: code, Kind: "rating_request", Language: "fa",
		Contact: channelsContact("09121234567")}); err != nil {
		t.Fatal(err)
	}
	msgs, err = srv.WaitMessagesTo(ctx, citizen, 2)
	if err != nil {
		t.Fatal(err)
	}
	if ask := msgs[1].Text; !strings.Contains(ask, code) || !strings.Contains(ask, "۱") {
		t.Fatalf("rating request = %q", ask)
	}
	if v, ok, _ := h.Store.KVGet(ctx, "sms:sms:rating:+"+citizen); !ok || string(v) != code {
		t.Fatalf("rating key = %q %v", v, ok)
	}
	if err := srv.SendMO(ctx, citizen, "137", "۴", smsctest.MOOptions{}); err != nil {
		t.Fatal(err)
	}
	msgs, err = srv.WaitMessagesTo(ctx, citizen, 3)
	if err != nil {
		t.Fatal(err)
	}
	// The thanks is built from the submitted message's metadata as it came
	// back through the stream (kind, rating, tracking_code).
	if thanks := msgs[2].Text; !strings.Contains(thanks, "سپاس") || !strings.Contains(thanks, "۴") || !strings.Contains(thanks, code) {
		t.Fatalf("thanks = %q", thanks)
	}
	if _, ok, _ := h.Store.KVGet(ctx, "sms:sms:rating:+"+citizen); ok {
		t.Fatal("rating request still pending after the digit")
	}
	if _, err := h.Store.CaseGetByTracking(ctx, code); err != nil {
		t.Fatal(err)
	}
}

func TestSMPPReconnectKeepsQueuedReplies(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	srv := smsctest.New(t, smsctest.Config{})
	h := apptest.Start(t, apptest.Options{Portals: smppPortal(srv)})
	p := portal(t, h, "sms")

	// The reply's submit_sm reaches the SMSC but its answer never comes
	// back: the link drops, and binds fail for a while.
	srv.Hold()
	if err := srv.SendMO(ctx, citizen, "137", "سطل زباله کوچه ۵ خیابان احمدآباد پر شده است", smsctest.MOOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := srv.WaitStats(ctx, "a held submit", func(s smsctest.Stats) bool { return s.Outstanding >= 1 }); err != nil {
		t.Fatal(err)
	}
	srv.RefuseBinds(true)
	srv.DropAll()
	srv.Release()
	if err := srv.WaitStats(ctx, "a refused bind", func(s smsctest.Stats) bool { return s.RefusedBinds >= 1 }); err != nil {
		t.Fatal(err)
	}
	// A notice queued while the link is down.
	if err := p.Notify(ctx, channels.Notice{TrackingCode: "", Kind: "answered", Text: "درخواست شما بررسی شد.",
		Contact: channelsContact("+989121234567")}); err != nil {
		t.Fatal(err)
	}
	srv.RefuseBinds(false)
	msgs, err := srv.WaitMessagesTo(ctx, citizen, 2)
	if err != nil {
		t.Fatal(err)
	}
	var reply, notice bool
	for _, m := range msgs {
		reply = reply || codeRE.MatchString(m.Text)
		notice = notice || strings.Contains(m.Text, "بررسی شد")
	}
	if !reply || !notice {
		t.Fatalf("after reconnect got %q", []string{msgs[0].Text, msgs[1].Text})
	}
}

func channelsContact(phone string) (c gateway.Contact) { c.Phone = phone; return c }

func toPersianDigits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return '۰' + (r - '0')
		}
		return r
	}, s)
}

// TestSMPPReceiptBeforeResponse: the SMSC's delivery report for a notice
// arrives before its answer to the submit (another bind, a fast network).
// The report is still noted on the case's staff timeline once the answer
// comes.
func TestSMPPReceiptBeforeResponse(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	srv := smsctest.New(t, smsctest.Config{})
	h := apptest.Start(t, apptest.Options{Portals: smppPortal(srv)})
	r, err := h.App.Pipeline.Submit(ctx, gateway.Message{Portal: "sms", PortalKind: "sms", PortalMessageID: "dlr-first",
		Text: "چراغ‌های خیابان امام رضا خاموش است", Contact: gateway.Contact{Phone: "+" + citizen}})
	if err != nil {
		t.Fatal(err)
	}
	if r, err = h.App.Pipeline.Await(ctx, r.MessageID); err != nil || r.Decision.TrackingCode == "" {
		t.Fatalf("receipt %+v %v", r, err)
	}
	c, err := h.Store.CaseGetByTracking(ctx, r.Decision.TrackingCode)
	if err != nil {
		t.Fatal(err)
	}
	srv.Hold()
	if err := portal(t, h, "sms").Notify(ctx, channels.Notice{TrackingCode: c.TrackingCode, Kind: "answered",
		Text: "لامپ‌ها تعویض شد.", Contact: gateway.Contact{Phone: "+" + citizen}}); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for ids = srv.HeldIDs(); len(ids) == 0; ids = srv.HeldIDs() {
		if ctx.Err() != nil {
			t.Fatal("the notice never reached the SMSC")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := srv.SendReceipt(ctx, ids[0], "DELIVRD", smpp.StateDelivered); err != nil {
		t.Fatal(err)
	}
	for st, ok, _ := portal(t, h, "sms").DeliveryStatus(ctx, ids[0]); !ok || st != "DELIVRD"; st, ok, _ = portal(t, h, "sms").DeliveryStatus(ctx, ids[0]) {
		if ctx.Err() != nil {
			t.Fatal("the early delivery report was not stored")
		}
		time.Sleep(10 * time.Millisecond)
	}
	srv.Release()
	for {
		events, err := h.Store.CaseEvents(ctx, c.ID, false)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range events {
			if e.Kind == "sms_delivery" && strings.Contains(e.Note, ids[0]) && strings.Contains(e.Note, "DELIVRD") {
				return
			}
		}
		if ctx.Err() != nil {
			t.Fatalf("the early delivery report is not on the case's timeline: %+v", events)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
