package telegram_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/channels/telegram/botapitest"
	"github.com/dargah137/dargah/internal/app/apptest"
)

// TestRestartMidDialog: a citizen is half-way through a request when the
// instance restarts; the new adapter (same KV) continues the dialog and
// neither repeats nor loses an update.
func TestRestartMidDialog(t *testing.T) {
	for _, rt := range runtimes {
		t.Run(string(rt), func(t *testing.T) {
			t.Parallel()
			restartMidDialog(t, rt)
		})
	}
}

func restartMidDialog(t *testing.T, rt apptest.Runtime) {
	srv := botapitest.New(t)
	o := apptest.Options{Runtime: rt, Portals: portalYAML(srv, "")}
	cfg := apptest.Prepare(t, o)
	h1 := apptest.StartConfig(t, cfg, o)
	c := &chat{t: t, srv: srv, id: 9101}
	c.say("/start")
	c.expectContains("زبان")
	c.say("فارسی")
	c.expect()
	c.say("📝 درخواست جدید")
	c.expect()
	c.say("درخت افتاده روی کوچه، بلوار وکیل‌آباد")
	c.expectContains("دریافت شد")

	sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := h1.App.Shutdown(sctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	// Updates sent while no instance runs wait at Telegram.
	srv.SendLocation(c.id, c.id, 36.33, 59.52)
	h2 := apptest.StartConfig(t, cfg, o)
	c.expectContains("دریافت شد")
	c.say("✅ ثبت درخواست")
	if s := c.expect(); !s.RequestsContact() {
		t.Fatalf("after restart the draft was lost: %q", s.Text)
	}
	srv.SendContact(c.id, c.id, "989151112233", c.id)
	code := codeRe.FindString(c.expect().Text)
	cs, err := h2.Store.CaseGetByTracking(timeout(t), code)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(cs.Description, "درخت افتاده") || cs.Location == nil || cs.Contact.Phone != "+989151112233" {
		t.Fatalf("case after restart: %+v", cs)
	}
	if extra := srv.Sent(c.id)[c.n:]; len(extra) != 0 {
		t.Fatalf("repeated messages after restart: %s", texts(extra))
	}
}

// TestFloodControlAndTransientErrors: a 429 with retry_after, a 502 on
// sendMessage and a 502 on getUpdates lose nothing and break no limit.
func TestFloodControlAndTransientErrors(t *testing.T) {
	t.Parallel()
	srv := botapitest.New(t)
	start(t, srv, "")
	c := &chat{t: t, srv: srv, id: 9201}
	if _, err := srv.WaitCalls(timeout(t), "getUpdates", 1); err != nil {
		t.Fatal(err)
	}
	srv.FailNext("getUpdates", 502, 0)
	srv.FailNext("sendMessage", 429, 1)
	srv.FailNext("sendMessage", 502, 0)
	c.say("/start")
	c.expectContains("زبان")
	if n := srv.Calls("sendMessage"); n != 3 {
		t.Fatalf("sendMessage called %d times, want 3 (429, 502, success)", n)
	}
	c.say("English")
	c.expectContains("Choose an option")
	if v := srv.RateViolations(); len(v) > 0 {
		t.Fatalf("rate limits exceeded: %v", v)
	}
}

// TestManyChatsRespectRateLimits: a burst to many chats stays within 30
// messages a second and one a second per chat.
func TestManyChatsRespectRateLimits(t *testing.T) {
	t.Parallel()
	srv := botapitest.New(t)
	start(t, srv, "")
	const chats = 40
	for i := range chats {
		srv.SendText(int64(9300+i), int64(9300+i), "/start")
		srv.SendText(int64(9300+i), int64(9300+i), "/help")
	}
	for i := range chats {
		if _, err := srv.WaitSent(timeout(t), int64(9300+i), 2); err != nil {
			t.Fatalf("chat %d: %v", 9300+i, err)
		}
	}
	if v := srv.RateViolations(); len(v) > 0 {
		t.Fatalf("rate limits exceeded: %v", v)
	}
}

// TestDuplicateUpdatesPolling: an update delivered again is not handled again.
func TestDuplicateUpdatesPolling(t *testing.T) {
	t.Parallel()
	srv := botapitest.New(t)
	start(t, srv, "")
	c := &chat{t: t, srv: srv, id: 9401}
	c.say("/start")
	c.expectContains("زبان")
	srv.DuplicateLastUpdate()
	c.say("فارسی")
	c.expectContains("یکی از گزینه‌ها")
	c.say("☎️ تماس با ۱۳۷")
	c.expectContains("137")
	if extra := srv.Sent(c.id)[c.n:]; len(extra) != 0 {
		t.Fatalf("duplicate handled twice: %s", texts(extra))
	}
}

// TestOddInputs: groups, channels, edits, stickers, unknown commands,
// oversized files and other media get a polite reply or a clean ignore.
func TestOddInputs(t *testing.T) {
	t.Parallel()
	srv := botapitest.New(t)
	start(t, srv, "  max_file_bytes: 1024\n")
	c := &chat{t: t, srv: srv, id: 9501}
	srv.SendGroupMessage(-100200, 9501, "/start")
	srv.SendChannelPost(-100300, "news")
	c.say("/start")
	c.expect()
	c.say("فارسی")
	c.expect()
	c.say("/weather")
	c.expectContains("فرمان شناخته نشد")
	srv.SendSticker(c.id, c.id)
	c.expectContains("استیکر")
	id := srv.SendText(c.id, c.id, "سلام")
	c.expect() // the router's answer to a greeting
	srv.SendEditedMessage(c.id, c.id, id, "سلام دوباره")
	c.expectContains("ویرایش")
	c.say("📝 درخواست جدید")
	c.expect()
	srv.SendDocument(c.id, c.id, "big.pdf", "application/pdf", make([]byte, 2048))
	c.expectContains("1 کیلوبایت")
	srv.SendDocument(c.id, c.id, "small.pdf", "application/pdf", []byte("%PDF-1.4 small"))
	c.expectContains("دریافت شد")
	srv.SendVoice(c.id, c.id, []byte("OggS voice"), 3)
	c.expectContains("دریافت شد")
	srv.FailNext("getFile", 502, 0)
	srv.SendPhoto(c.id, c.id, []byte("photo"), "")
	c.expectContains("دریافت فایل ممکن نشد")
	if err := srv.WaitQueueEmpty(timeout(t)); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Sent(-100200)) + len(srv.Sent(-100300)); n != 0 {
		t.Fatalf("bot spoke in a group or channel: %d messages", n)
	}
}

// TestWebhookMode: updates pushed to the mounted path with the secret are
// handled once; a wrong secret is refused; registration sends the secret.
func TestWebhookMode(t *testing.T) {
	t.Parallel()
	srv := botapitest.New(t)
	h := start(t, srv, "  mode: webhook\n  webhook_path: /telegram/hook\n  webhook_secret: s3cret-Token_1\n")

	resp, err := http.Post(h.URL+"/telegram/hook", "application/json", strings.NewReader(`{"update_id":1}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("webhook without secret: %d, want 401", resp.StatusCode)
	}

	// Point the double at Dargah, as setWebhook with webhook_url would.
	form := url.Values{"url": {h.URL + "/telegram/hook"}, "secret_token": {"s3cret-Token_1"}}
	if resp, err := http.PostForm(srv.URL+"/bot"+srv.Token+"/setWebhook", form); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	c := &chat{t: t, srv: srv, id: 9601}
	c.say("/start")
	c.expectContains("زبان")
	srv.DuplicateLastUpdate()
	c.say("English")
	c.expectContains("Choose an option")
	c.say("🔎 Track a request")
	c.expectContains("10-digit")
	c.say("1234567890")
	c.expectContains("No request was found")
	if err := srv.WaitQueueEmpty(timeout(t)); err != nil {
		t.Fatal(err)
	}
	if extra := srv.Sent(c.id)[c.n:]; len(extra) != 0 {
		t.Fatalf("duplicate webhook update handled twice: %s", texts(extra))
	}
	if srv.Calls("getUpdates") != 0 {
		t.Fatal("webhook mode polled")
	}
}

func TestWebhookRegistration(t *testing.T) {
	t.Parallel()
	srv := botapitest.New(t)
	start(t, srv, "  mode: webhook\n  webhook_path: /tg\n  webhook_url: https://dargah.example/tg\n  webhook_secret: abc\n")
	if _, err := srv.WaitCalls(timeout(t), "setWebhook", 1); err != nil {
		t.Fatal(err)
	}
	if u, secret := srv.Webhook(); u != "https://dargah.example/tg" || secret != "abc" {
		t.Fatalf("registered %q with secret %q", u, secret)
	}
}

// TestOnePollerAtATime: two instances share the backends; only the lease
// holder polls (Telegram would answer overlapping polls with 409), and
// when it stops the other takes over without losing the dialog.
func TestOnePollerAtATime(t *testing.T) {
	t.Parallel()
	srv := botapitest.New(t)
	o := apptest.Options{Runtime: runtime, Portals: portalYAML(srv, "")}
	cfg := apptest.Prepare(t, o)
	h1 := apptest.StartConfig(t, cfg, o)
	if _, err := srv.WaitCalls(timeout(t), "getUpdates", 1); err != nil {
		t.Fatal(err)
	}
	h2 := apptest.StartConfig(t, cfg, o)
	c := &chat{t: t, srv: srv, id: 9701}
	c.say("/start")
	c.expect()
	c.say("فارسی")
	c.expect()
	sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := h1.App.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	c.say("🔎 پیگیری درخواست")
	c.expectContains("کد پیگیری")
	if n := srv.Calls("getUpdates-conflict"); n != 0 {
		t.Fatalf("%d overlapping long polls", n)
	}
	_ = h2
	_ = cases.ValidTrackingCode
}

// TestFrequentQuestions: "frequent questions" lists the questions of
// routing.yaml in the citizen's language; picking one answers it, and the
// ledger records the FAQ rule. A typed question still goes to the router.
func TestFrequentQuestions(t *testing.T) {
	t.Parallel()
	srv := botapitest.New(t)
	h := start(t, srv, "")
	ctx := timeout(t)

	c := &chat{t: t, srv: srv, id: 9301}
	c.say("/start")
	c.expect()
	c.say("فارسی")
	c.expect()
	c.say("❓ پرسش‌های پرتکرار")
	menu := c.expectContains("انتخاب کنید")
	for _, q := range []string{"ساعت کاری سامانه ۱۳۷", "چطور به حرم بروم؟", "↩️ بازگشت"} {
		if !hasButton(menu, q) {
			t.Fatalf("question menu %q lacks %q", menu.Buttons(), q)
		}
	}
	picked := srv.SendText(c.id, c.id, "ساعت کاری سامانه ۱۳۷")
	c.expectContains("شبانه‌روزی")
	r, err := h.Store.MessageGetByPortalID(ctx, "tg", fmt.Sprintf("%d:%d", c.id, picked))
	if err != nil || r.Decision.Rule != "faq:hours_137" {
		t.Fatalf("picked question recorded as %+v (%v), want rule faq:hours_137", r.Decision, err)
	}

	en := &chat{t: t, srv: srv, id: 9302}
	en.say("/start")
	en.expect()
	en.say("English")
	en.expect()
	en.say("❓ Frequent questions")
	if s := en.expect(); !hasButton(s, "When is 137 open?") {
		t.Fatalf("English question menu %q", s.Buttons())
	}
	en.say("When is 137 open?")
	en.expectContains("around the clock")
}
