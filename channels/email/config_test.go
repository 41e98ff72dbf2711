package email

import (
	"context"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/dargah137/dargah/channels"
	"github.com/dargah137/dargah/internal/app/apptest"
)

func decode(t *testing.T, src string) ([]channels.Portal, error) {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	return channels.DecodePortals("test.yaml", doc.Content[0])
}

func TestConfig(t *testing.T) {
	t.Parallel()
	ps, err := decode(t, `
- name: mail
  type: email
  imap: imap.example.ir:993
  smtp: smtp.example.ir:587
  smtp_tls: starttls
  username: 137@example.ir
  password_env: DARGAH_EMAIL_PASSWORD
  from: "سامانه ۱۳۷ <137@example.ir>"
  rate_per_sender: 5
  poll_interval: 30s
`)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	s := ps[0].Adapter.(*Adapter).s
	if s.TLS != TLSImplicit || s.SMTPTLS != TLSStartTLS || s.Folder != "INBOX" || s.DeadFolder != DefaultDeadFolder ||
		s.RatePerSender != 5 || s.PollInterval != 30*time.Second {
		t.Errorf("settings = %+v", s)
	}

	for name, tc := range map[string]struct{ yaml, want string }{
		"unknown key":         {"imap: a:1\nusername: u\npassword: p\nimpa: x", `unknown key "impa"`},
		"tls none remote":     {"imap: imap.example.ir:143\ntls: none\nusername: u\npassword: p", "tls none is allowed only for a loopback host"},
		"skip verify remote":  {"imap: imap.example.ir:993\ninsecure_skip_verify: true\nusername: u\npassword: p", "insecure_skip_verify is allowed only for a loopback host"},
		"bad tls":             {"imap: a:1\ntls: ssl\nusername: u\npassword: p", "tls must be implicit, starttls or none"},
		"no port":             {"imap: imap.example.ir\nusername: u\npassword: p", "imap must be host:port"},
		"two passwords":       {"imap: a:1\nusername: u\npassword: p\npassword_env: X", "exactly one of password and password_env"},
		"smtp without from":   {"imap: a:1\nsmtp: b:2\nusername: u\npassword: p", "from is required when smtp is set"},
		"processed is folder": {"imap: a:1\nusername: u\npassword: p\nprocessed_folder: INBOX", "processed_folder must differ"},
	} {
		_, err := decode(t, "- name: m\n  type: email\n  "+strings.ReplaceAll(tc.yaml, "\n", "\n  "))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", name, err, tc.want)
		}
	}
	if _, err := decode(t, "- name: m\n  type: email\n  imap: 127.0.0.1:143\n  tls: none\n  insecure_skip_verify: true\n  username: u\n  password: p"); err != nil {
		t.Errorf("loopback with tls none: %v", err)
	}
}

func TestRateLimiter(t *testing.T) {
	t.Parallel()
	r := newRateLimiter(2, time.Hour)
	t0 := time.Date(2026, 3, 21, 8, 0, 0, 0, time.UTC)
	if !r.allow("a@x", t0) || !r.allow("a@x", t0.Add(time.Minute)) {
		t.Fatal("first two mails refused")
	}
	if r.allow("a@x", t0.Add(2*time.Minute)) {
		t.Error("third mail within the hour allowed")
	}
	if !r.allow("b@x", t0.Add(2*time.Minute)) {
		t.Error("another sender refused")
	}
	if !r.allow("a@x", t0.Add(time.Hour+time.Second)) {
		t.Error("mail after the window refused")
	}
}

func TestThreadKeyAndMessageID(t *testing.T) {
	t.Parallel()
	k := ThreadKey("root@x", "A@B.c")
	if root, sender := splitThreadKey(k); root != "root@x" || sender != "a@b.c" {
		t.Errorf("split(%q) = %q, %q", k, root, sender)
	}
	id := NewMessageID("1234567890", "example.ir")
	if !strings.HasPrefix(id, "case-1234567890.") || !strings.HasSuffix(id, "@example.ir") || !isOurMessageID(id) {
		t.Errorf("NewMessageID = %q", id)
	}
	if isOurMessageID("abc@gmail.com") {
		t.Error("a foreign id taken for ours")
	}
}

func TestSubjectAndLanguage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ lang, kind, code, want string }{
		{"fa", "", "1234567890", "پاسخ ۱۳۷ — کد رهگیری 1234567890"},
		{"en", "", "1234567890", "137 reply — tracking code 1234567890"},
		{"ar", "", "", "رد ۱۳۷"},
		{"fa", "closed", "1234567890", "درخواست شما بسته شد — کد رهگیری 1234567890"},
	} {
		if got := subject(tc.lang, tc.kind, tc.code); got != tc.want {
			t.Errorf("subject(%s,%s) = %q, want %q", tc.lang, tc.kind, got, tc.want)
		}
	}
	for text, want := range map[string]string{
		"درخواست شما ثبت شد": "fa",
		"تم تسجيل طلبك":      "ar",
		"Your request":       "en",
		"آپ کی درخواست ٹھیک": "ur",
	} {
		if got := detectLanguage(text); got != want {
			t.Errorf("detectLanguage(%q) = %s, want %s", text, got, want)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	raw := []byte(mimeMail("multipart/mixed", "",
		part("text/plain; charset=utf-8", "", strings.Repeat("چراغ‌های کوچه خاموش است. ", 40)),
		part("text/html; charset=utf-8", "", "<p>"+strings.Repeat("چراغ <b>کوچه</b> ", 40)+"</p>"),
		part("image/jpeg", "attachment; filename=a.jpg", strings.Repeat("QUFBQUFB", 4000), "base64")))
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(raw, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHTMLToText(b *testing.B) {
	doc := "<html><head><style>p{}</style></head><body>" + strings.Repeat("<div><p>سلام <a href=\"https://x.ir/a\">لینک</a> &amp; متن</p><br></div>", 200) + "</body></html>"
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		htmlToText(doc)
	}
}

func TestKVLeaser(t *testing.T) {
	t.Parallel()
	h := apptest.Start(t, apptest.Options{})
	ctx := context.Background()
	l := KVLeaser{KV: h.Store}
	if ok, err := l.Acquire(ctx, "email:x:lease", "one", time.Minute); err != nil || !ok {
		t.Fatalf("first acquire = %v, %v", ok, err)
	}
	if ok, _ := l.Acquire(ctx, "email:x:lease", "two", time.Minute); ok {
		t.Fatal("second holder got a held lease")
	}
	if ok, _ := l.Acquire(ctx, "email:x:lease", "one", time.Minute); !ok {
		t.Fatal("holder could not renew")
	}
	if err := l.Release(ctx, "email:x:lease", "two"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := l.Acquire(ctx, "email:x:lease", "two", time.Minute); ok {
		t.Fatal("a stranger's release freed the lease")
	}
	if err := l.Release(ctx, "email:x:lease", "one"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := l.Acquire(ctx, "email:x:lease", "two", time.Minute); !ok {
		t.Fatal("lease not free after release")
	}
}
