package sms_test

import (
	"context"
	"testing"
	"time"

	"github.com/dargah137/dargah/channels/sms/smpp/smsctest"
	"github.com/dargah137/dargah/internal/app/apptest"
)

// Two instances on shared PostgreSQL and Redis: one binds to the SMSC and
// sends, whichever instance routed the message; when it stops, the other
// takes over the bind and what is queued.
func TestSMPPTwoInstancesOneSender(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	srv := smsctest.New(t, smsctest.Config{})
	o := apptest.Options{Runtime: apptest.Production, Portals: smppPortal(srv) + "  sender_lease: 600ms\n"}
	cfg := apptest.Prepare(t, o)
	cfg1, cfg2 := cfg, cfg
	cfg1.Instance, cfg2.Instance = "one", "two"
	h1 := apptest.StartConfig(t, cfg1, o)
	apptest.StartConfig(t, cfg2, o)
	if err := srv.WaitStats(ctx, "a bind", func(s smsctest.Stats) bool { return s.Binds >= 1 }); err != nil {
		t.Fatal(err)
	}
	for i, text := range []string{"جوی آب خیابان دانشگاه گرفته است", "درخت خشکیده در بلوار وکیل آباد", "صدای بلند کارگاه شبانه در کوچه ۷"} {
		if err := srv.SendMO(ctx, citizen, "137", text, smsctest.MOOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := srv.WaitMessagesTo(ctx, citizen, i+1); err != nil {
			t.Fatal(err)
		}
	}
	if b := srv.Stats().Binds; b != 1 {
		t.Fatalf("%d binds; want one instance bound", b)
	}

	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := h1.App.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	if err := srv.SendMO(ctx, citizen, "137", "چراغ راهنمایی میدان شهدا خراب است", smsctest.MOOptions{}); err != nil {
		t.Fatal(err)
	}
	msgs, err := srv.WaitMessagesTo(ctx, citizen, 4)
	if err != nil {
		t.Fatal(err)
	}
	if !codeRE.MatchString(msgs[3].Text) {
		t.Fatalf("reply from the second instance = %q", msgs[3].Text)
	}
}
