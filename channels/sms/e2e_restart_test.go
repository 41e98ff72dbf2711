package sms_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/dargah137/dargah/channels"
	"github.com/dargah137/dargah/channels/sms/smpp"
	"github.com/dargah137/dargah/channels/sms/smpp/smsctest"
	"github.com/dargah137/dargah/internal/app/apptest"
)

// sendParts delivers some deliver_sm parts of a long message.
func sendParts(ctx context.Context, t *testing.T, srv *smsctest.Server, pdus []*smpp.PDU, which ...int) {
	t.Helper()
	for _, i := range which {
		r, err := srv.Send(ctx, pdus[i-1])
		if err != nil || r.Status != smpp.StatusOK {
			t.Fatalf("part %d: %v %v", i, r, err)
		}
	}
}

// A restart between the parts of a long message loses none of them, and
// an SMS queued while the link was down is sent by the next instance.
func TestSMPPRestartKeepsPartsAndOutbox(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	srv := smsctest.New(t, smsctest.Config{})
	o := apptest.Options{Portals: smppPortal(srv)}
	cfg := apptest.Prepare(t, o)
	h1 := apptest.StartConfig(t, cfg, o)

	pdus, err := smsctest.MOParts(citizen, "137", longPersian, smsctest.MOOptions{Ref: 77})
	if err != nil {
		t.Fatal(err)
	}
	sendParts(ctx, t, srv, pdus, 5, 1, 3)

	srv.RefuseBinds(true)
	srv.DropAll()
	if err := srv.WaitStats(ctx, "a refused bind", func(s smsctest.Stats) bool { return s.RefusedBinds >= 1 }); err != nil {
		t.Fatal(err)
	}
	if err := portal(t, h1, "sms").Notify(ctx, channels.Notice{Kind: "closed", TrackingCode: "1234567890",
		Contact: channelsContact("09121234567"), Language: "en"}); err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := h1.App.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	srv.RefuseBinds(false)

	h2 := apptest.StartConfig(t, cfg, o)
	msgs, err := srv.WaitMessagesTo(ctx, citizen, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := msgs[0].Text; !strings.Contains(got, "1234567890") || !strings.Contains(got, "closed") {
		t.Fatalf("notice after restart = %q", got)
	}
	sendParts(ctx, t, srv, pdus, 2, 4)
	msgs, err = srv.WaitMessagesTo(ctx, citizen, 2)
	if err != nil {
		t.Fatal(err)
	}
	code := codeRE.FindString(msgs[1].Text)
	c, err := h2.Store.CaseGetByTracking(ctx, code)
	if err != nil || c.Description != longPersian {
		t.Fatalf("case %q after restart: %q %v", code, c.Description, err)
	}
}

// Parts that stop coming are delivered as they are once the reassembly
// timeout passes, marked partial.
func TestSMPPIncompleteMessageDeliveredAfterTimeout(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	srv := smsctest.New(t, smsctest.Config{})
	portals := strings.Replace(smppPortal(srv), "reassembly_timeout: 1m", "reassembly_timeout: 1ms", 1)
	h := apptest.Start(t, apptest.Options{Portals: portals})
	pdus, err := smsctest.MOParts(citizen, "137", longPersian, smsctest.MOOptions{Ref: 9})
	if err != nil {
		t.Fatal(err)
	}
	sendParts(ctx, t, srv, pdus, 1, 2)
	msgs, err := srv.WaitMessagesTo(ctx, citizen, 1)
	if err != nil {
		t.Fatal(err)
	}
	code := codeRE.FindString(msgs[0].Text)
	c, err := h.Store.CaseGetByTracking(ctx, code)
	if err != nil || !strings.Contains(c.Description, "…") || !strings.HasPrefix(c.Description, string([]rune(longPersian)[:60])) {
		t.Fatalf("partial case %q: %q %v", code, c.Description, err)
	}
}
