package sms

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/dargah137/dargah/channels/sms/paneltest"
)

func TestHTTPSenderShapes(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	panel := paneltest.New(t, paneltest.Config{BasicUser: "city", BasicPassword: "pw"})
	snd := &httpSender{cfg: &Send{URL: panel.SendURL() + "?lang=fa", Method: http.MethodGet, Format: "form", To: "receptor", Text: "message",
		From: "sender", ToFormat: FormatE164, BasicUser: "city", basicPassword: "pw", IDPath: "entries.0.messageid"},
		from: "3000137", client: http.DefaultClient}
	ids, err := snd.send(ctx, "+989121234567", "سلام؛ ۱۳۷ & = ?")
	if err != nil || len(ids) != 1 || ids[0] != "1001" {
		t.Fatalf("GET send = %v, %v", ids, err)
	}
	if got := panel.Sent()[0]; got.To != "+989121234567" || got.Text != "سلام؛ ۱۳۷ & = ?" || got.From != "3000137" {
		t.Fatalf("panel got %+v", got)
	}
	snd.cfg.basicPassword = "wrong"
	if _, err := snd.send(ctx, "+989121234567", "x"); !errors.Is(err, errPermanent) {
		t.Fatalf("401 = %v, want permanent", err)
	}
	snd.cfg.basicPassword, snd.cfg.URL = "pw", panel.URL+"/nowhere"
	if _, err := snd.send(ctx, "+989121234567", "x"); !errors.Is(err, errPermanent) {
		t.Fatalf("404 = %v, want permanent", err)
	}
	snd.cfg.URL = "http://127.0.0.1:1/send"
	if _, err := snd.send(ctx, "+989121234567", "x"); err == nil || errors.Is(err, errPermanent) {
		t.Fatalf("connection refused = %v, want retryable", err)
	}
}
