package telegram_test

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/channels"
	"github.com/dargah137/dargah/channels/telegram"
	"github.com/dargah137/dargah/channels/telegram/botapitest"
	"github.com/dargah137/dargah/gateway"
	"github.com/dargah137/dargah/internal/app"
	"github.com/dargah137/dargah/internal/app/apptest"
)

// These tests run a whole Dargah (intake → stream → router → store) with
// the telegram portal talking to the Bot API double.

func portalYAML(srv *botapitest.Server, extra string) string {
	return fmt.Sprintf(`
- name: tg
  type: telegram
  token: %q
  api_endpoint: %q
  poll_timeout: 1s
  retry_delay: 20ms
%s`, srv.Token, srv.Endpoint(), extra)
}

// runtime is the backend most end-to-end tests use; the whole dialog and
// the restart run on both.
const runtime = apptest.Embedded

var runtimes = []apptest.Runtime{apptest.Embedded, apptest.Production}

func start(t *testing.T, srv *botapitest.Server, extra string) *apptest.Harness {
	t.Helper()
	return startOn(t, runtime, srv, extra)
}

func startOn(t *testing.T, rt apptest.Runtime, srv *botapitest.Server, extra string) *apptest.Harness {
	t.Helper()
	return apptest.Start(t, apptest.Options{Runtime: rt, Portals: portalYAML(srv, extra)})
}

func bot(t *testing.T, a *app.App) *telegram.Bot {
	t.Helper()
	for _, p := range a.Portals {
		if b, ok := p.Adapter.(*telegram.Bot); ok {
			return b
		}
	}
	t.Fatal("no telegram portal")
	return nil
}

func timeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// chat drives one citizen's conversation and checks each answer.
type chat struct {
	t   *testing.T
	srv *botapitest.Server
	id  int64
	n   int // messages the bot sent so far
}

// expect waits for the bot's next message and returns it.
func (c *chat) expect() botapitest.Sent {
	c.t.Helper()
	sent, err := c.srv.WaitSent(timeout(c.t), c.id, c.n+1)
	if err != nil {
		c.t.Fatalf("chat %d: waiting for message %d: %v (got %s)", c.id, c.n+1, err, texts(sent))
	}
	c.n++
	return sent[c.n-1]
}

func (c *chat) expectContains(want string) botapitest.Sent {
	c.t.Helper()
	s := c.expect()
	if !strings.Contains(s.Text, want) {
		c.t.Fatalf("chat %d: message %d is %q, want it to contain %q; all: %s", c.id, c.n, s.Text, want, texts(c.srv.Sent(c.id)))
	}
	return s
}

func (c *chat) say(text string) { c.srv.SendText(c.id, c.id, text) }

func texts(list []botapitest.Sent) string {
	var out []string
	for _, s := range list {
		out = append(out, strconv.Quote(s.Text))
	}
	return strings.Join(out, ", ")
}

var codeRe = regexp.MustCompile(`\b\d{10}\b`)

func hasButton(s botapitest.Sent, label string) bool {
	for _, b := range s.Buttons() {
		if b == label {
			return true
		}
	}
	return false
}

// TestWholeDialog: /start → language → new request with text, photo,
// location and the citizen's own contact → tracking code → status by code
// → rating buttons → low rating → comment.
func TestWholeDialog(t *testing.T) {
	for _, rt := range runtimes {
		t.Run(string(rt), func(t *testing.T) {
			t.Parallel()
			wholeDialog(t, rt)
		})
	}
}

func wholeDialog(t *testing.T, rt apptest.Runtime) {
	srv := botapitest.New(t)
	h := startOn(t, rt, srv, "")
	ctx := timeout(t)
	c := &chat{t: t, srv: srv, id: 9001}

	c.say("/start")
	if s := c.expect(); !hasButton(s, "فارسی") || !hasButton(s, "English") {
		t.Fatalf("no language keyboard: %+v", s.Buttons())
	}
	c.say("فارسی")
	if s := c.expect(); !hasButton(s, "📝 درخواست جدید") || !hasButton(s, "☎️ تماس با ۱۳۷") {
		t.Fatalf("no main menu: %+v", s.Buttons())
	}
	c.say("☎️ تماس با ۱۳۷")
	c.expectContains("137")
	c.say("📝 درخواست جدید")
	c.expectContains("شرح دهید")
	c.say("خیابان سناباد چاله دارد و آسفالت خراب شده")
	c.expectContains("دریافت شد")
	srv.SendPhoto(c.id, c.id, []byte("\xff\xd8\xff\xe0 a pothole photo"), "عکس چاله")
	c.expectContains("دریافت شد")
	srv.SendLocation(c.id, c.id, 36.2972, 59.6067)
	c.expectContains("دریافت شد")
	c.say("✅ ثبت درخواست")
	if s := c.expect(); !s.RequestsContact() {
		t.Fatalf("phone not asked with a contact button: %q %+v", s.Text, s.Markup)
	}
	srv.SendContact(c.id, c.id, "989121234567", 5555) // someone else's number
	c.expectContains("فقط شمارهٔ خودتان")
	srv.SendContact(c.id, c.id, "+98 912 123 4567", c.id)
	reply := c.expect()
	code := codeRe.FindString(reply.Text)
	if !cases.ValidTrackingCode(code) {
		t.Fatalf("reply without a tracking code: %q", reply.Text)
	}

	cs, err := h.Store.CaseGetByTracking(ctx, code)
	if err != nil {
		t.Fatal(err)
	}
	if cs.Contact.Phone != "+989121234567" || cs.Contact.TelegramID != "9001" || cs.Portal != "tg" || cs.PortalKind != "telegram" {
		t.Fatalf("case contact/portal wrong: %+v", cs)
	}
	if len(cs.Attachments) != 1 || cs.Location == nil || cs.Location.Lat != 36.2972 {
		t.Fatalf("case lost the photo or location: %+v", cs)
	}
	att, data, err := h.Store.AttachmentGet(ctx, cs.Attachments[0])
	if err != nil || string(data) != "\xff\xd8\xff\xe0 a pothole photo" || att.ContentType != "image/jpeg" {
		t.Fatalf("attachment %+v %q %v", att, data, err)
	}

	// Status by code, typed with Persian digits.
	c.say("🔎 پیگیری درخواست")
	c.expectContains("کد پیگیری")
	c.say(toPersian(code))
	c.expectContains(code)

	// The case is answered: a rating request comes as a notice.
	b := bot(t, h.App)
	if err := b.Notify(ctx, channels.Notice{TrackingCode: code, Kind: "rating_request", Text: "پاسخ درخواست شما داده شد.",
		Thread: cs.ThreadKey, Contact: gateway.Contact{TelegramID: "9001"}}); err != nil {
		t.Fatal(err)
	}
	if err := b.Notify(ctx, channels.Notice{TrackingCode: code, Kind: "answered", Text: "x"}); err == nil {
		t.Fatal("notice without a telegram id accepted")
	}
	notice := c.expectContains("امتیاز")
	if got := strings.Join(notice.InlineData(), ","); !strings.Contains(got, "rate:"+code+":5") {
		t.Fatalf("rating buttons %q", got)
	}
	srv.PressButton("rate:" + code + ":2")
	if _, err := srv.WaitAnswers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	c.expectContains("راضی نبودید")
	c.say("سه هفته طول کشید")
	c.expectContains("نظر شما ثبت شد")
	if e := srv.Edits(c.id); len(e) != 1 || len(e[0].InlineData()) != 1 {
		t.Fatalf("rating buttons not replaced after the press: %+v", e)
	}

	// The rating and the comment reach the case through its thread.
	r, err := h.Store.MessageGetByPortalID(ctx, "tg", fmt.Sprintf("rate:%s:%d:%d", code, c.id, notice.MessageID))
	if err != nil {
		t.Fatalf("rating not submitted to intake: %v", err)
	}
	if r, err = h.App.Pipeline.Await(ctx, r.MessageID); err != nil || r.Decision.LinkedTracking != code {
		t.Fatalf("rating decision %+v (%v), want it linked to case %s", r.Decision, err, code)
	}
	if v := srv.RateViolations(); len(v) > 0 {
		t.Fatalf("rate limits exceeded: %v", v)
	}
}

func toPersian(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return '۰' + (r - '0')
		}
		return r
	}, s)
}
