package email

import (
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dargah137/dargah/channels"
	"github.com/dargah137/dargah/gateway"
	"github.com/dargah137/dargah/internal/app/apptest"
)

// tcpProxy sits between the adapter and Dovecot so a test can drop every
// connection at once, which is what the adapter sees when the server
// restarts mid-IDLE, without disturbing the shared server.
type tcpProxy struct {
	addr     string
	mu       sync.Mutex
	conns    []net.Conn
	accepted int
}

func startProxy(t testing.TB, target string) *tcpProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{addr: l.Addr().String()}
	t.Cleanup(func() { l.Close(); p.cut() })
	go func() {
		for {
			in, err := l.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, in, out)
			p.accepted++
			p.mu.Unlock()
			go func() { io.Copy(out, in); out.Close() }()
			go func() { io.Copy(in, out); in.Close() }()
		}
	}()
	return p
}

func (p *tcpProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *tcpProxy) connections() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepted
}

func TestReconnectWhenServerDropsIdle(t *testing.T) {
	t.Parallel()
	acc := testAccount(t)
	admin := adminClient(t, acc)
	folder := testFolder(t, admin)
	h := apptest.Start(t, apptest.Options{})
	in := newRecordingIntake(h.App.Pipeline)
	proxy := startProxy(t, acc.addr)
	startAdapter(t, h, acc, folder, folder, in, func(a *Adapter) { a.s.IMAP = proxy.addr })

	deliver(t, admin, folder, simpleMail("g@example.com", "d1-"+folder+"@example.com", "one"))
	in.next(t)
	proxy.cut() // the server "restarts" while the adapter idles
	deliver(t, admin, folder, simpleMail("g@example.com", "d2-"+folder+"@example.com", "two"))
	if m := in.next(t); m.PortalMessageID != "d2-"+folder+"@example.com" {
		t.Fatalf("submitted %s", m.PortalMessageID)
	}
	if n := proxy.connections(); n < 2 {
		t.Errorf("adapter connected %d times, want a reconnect", n)
	}
	if in.submits("d1-"+folder+"@example.com") != 1 {
		t.Error("first mail submitted again after reconnect")
	}
}

func TestPollingWithoutIdleAndImplicitTLS(t *testing.T) {
	t.Parallel()
	acc := testAccount(t)
	tlsAddr := envOr("TEST_IMAPS_ADDR", "127.0.0.1:10993")
	admin := adminClient(t, acc)
	folder := testFolder(t, admin)
	h := apptest.Start(t, apptest.Options{})
	in := newRecordingIntake(h.App.Pipeline)
	startAdapter(t, h, acc, folder, folder, in, func(a *Adapter) {
		a.s.IMAP, a.s.TLS = tlsAddr, TLSImplicit
		a.noIdle, a.s.PollInterval = true, 50*time.Millisecond
	})
	deliver(t, admin, folder, simpleMail("h@example.com", "p1-"+folder+"@example.com", "polled"))
	if m := in.next(t); m.PortalMessageID != "p1-"+folder+"@example.com" {
		t.Fatalf("submitted %s", m.PortalMessageID)
	}
	deliver(t, admin, folder, simpleMail("h@example.com", "p2-"+folder+"@example.com", "polled again"))
	if m := in.next(t); m.PortalMessageID != "p2-"+folder+"@example.com" {
		t.Fatalf("submitted %s", m.PortalMessageID)
	}
}

func TestRatePerSenderAndAttachments(t *testing.T) {
	t.Parallel()
	acc := testAccount(t)
	admin := adminClient(t, acc)
	folder := testFolder(t, admin)
	h := apptest.Start(t, apptest.Options{})
	in := newRecordingIntake(h.App.Pipeline)
	startAdapter(t, h, acc, folder, folder, in, func(a *Adapter) { a.s.RatePerSender = 1 })

	deliver(t, admin, folder, mimeMail("multipart/mixed", "",
		part("text/plain; charset=utf-8", "", "عکس چاله"),
		part("image/jpeg", "attachment; filename=hole.jpg", b64("JPEG BYTES"), "base64")))
	m := in.next(t)
	if len(m.Attachments) != 1 || m.Attachments[0].Filename != "hole.jpg" || m.Attachments[0].Size != int64(len("JPEG BYTES")) {
		t.Fatalf("attachments = %+v", m.Attachments)
	}
	if _, data, err := h.Store.AttachmentGet(context.Background(), m.Attachments[0].ID); err != nil || string(data) != "JPEG BYTES" {
		t.Errorf("stored attachment = %q, %v", data, err)
	}
	// The same sender again within the hour: over the limit, flagged and
	// not submitted; another sender still gets through.
	deliver(t, admin, folder, strings.Replace(simpleMail("c@example.com", "over-"+folder+"@example.com", "again"), "From: c@example.com", "From: Citizen <c@example.com>", 1))
	deliver(t, admin, folder, simpleMail("other@example.com", "other-"+folder+"@example.com", "hello"))
	if m := in.next(t); m.PortalMessageID != "other-"+folder+"@example.com" {
		t.Fatalf("submitted %s, want the other sender's mail", m.PortalMessageID)
	}
	if !hasFlag(fetchFlags(t, acc, folder)["over-"+folder+"@example.com"], Keyword) {
		t.Error("rate-limited mail not flagged processed")
	}
}

func TestNotifyAndReplyOnce(t *testing.T) {
	t.Parallel()
	acc := testAccount(t)
	admin := adminClient(t, acc)
	folder := testFolder(t, admin)
	sink := startSMTP(t, acc.user, acc.password)
	h := apptest.Start(t, apptest.Options{})
	in := newRecordingIntake(h.App.Pipeline)
	a := startAdapter(t, h, acc, folder, folder, in, func(a *Adapter) {
		a.s.SMTP, a.s.SMTPTLS, a.s.From = sink.addr, TLSNone, "Dargah <dargah@localhost>"
	})
	ctx := context.Background()

	msg := gateway.Message{ID: "m-" + folder, Portal: folder, Contact: gateway.Contact{Email: "n@example.com"},
		ThreadKey: ThreadKey("orig-"+folder+"@example.com", "n@example.com"), Language: "en",
		Metadata: map[string]string{MetaMessageID: "orig-" + folder + "@example.com"}}
	rec := gateway.Receipt{Decision: gateway.Decision{Reply: "Your request was registered.", TrackingCode: "1234567890"}}
	for range 2 { // a redelivered decision must not mail the citizen twice
		if err := a.Reply(ctx, msg, rec); err != nil {
			t.Fatalf("reply: %v", err)
		}
	}
	hdr, _ := readSent(t, sink.next(t).raw)
	if s, _ := hdr.Subject(); s != "137 reply — tracking code 1234567890" {
		t.Errorf("reply subject = %q", s)
	}

	err := a.Notify(ctx, channels.Notice{TrackingCode: "1234567890", Kind: "answered", Text: "پاسخ کارشناس: لامپ تعویض شد.",
		Contact: gateway.Contact{Email: "n@example.com"}, Thread: msg.ThreadKey, Language: "fa"})
	if err != nil {
		t.Fatalf("notify: %v", err)
	}
	hdr, text := readSent(t, sink.next(t).raw) // not a second copy of the reply
	if s, _ := hdr.Subject(); s != "درخواست شما پاسخ داده شد — کد رهگیری 1234567890" {
		t.Errorf("notice subject = %q", s)
	}
	if irt, _ := hdr.MsgIDList("In-Reply-To"); len(irt) != 1 || irt[0] != "orig-"+folder+"@example.com" {
		t.Errorf("notice In-Reply-To = %v", irt)
	}
	if !strings.Contains(text, "لامپ تعویض شد") {
		t.Errorf("notice text = %q", text)
	}
	// The citizen answers the notice: it threads onto the case's key.
	noticeID, _ := hdr.MessageID()
	deliver(t, admin, folder, "From: n@example.com\r\nSubject: Re: x\r\nMessage-ID: <n2-"+folder+"@example.com>\r\nIn-Reply-To: <"+noticeID+">\r\n\r\nممنون\r\n")
	if m := in.next(t); m.ThreadKey != msg.ThreadKey {
		t.Errorf("answer to notice thread = %q, want %q", m.ThreadKey, msg.ThreadKey)
	}
}

func envOr(k, def string) string {
	if v := strings.TrimSpace(getenv(k)); v != "" {
		return v
	}
	return def
}

// BenchmarkMailboxIntake measures the whole intake path per mail: IMAP
// fetch from Dovecot, parse, submit into an embedded Dargah, flag.
func BenchmarkMailboxIntake(b *testing.B) {
	acc := testAccount(b)
	admin := adminClient(b, acc)
	folder := testFolder(b, admin)
	h := apptest.Start(b, apptest.Options{})
	in := newRecordingIntake(h.App.Pipeline)
	in.ch = make(chan gateway.Message, b.N+10)
	for i := range b.N {
		deliver(b, admin, folder, simpleMail("bench@example.com", "b"+itoa(i)+"-"+folder+"@example.com", "چراغ‌های کوچه خاموشه"))
	}
	b.ResetTimer()
	startAdapter(b, h, acc, folder, folder, in, func(a *Adapter) { a.s.RatePerSender = 1 << 30 })
	for range b.N {
		in.next(b)
	}
}
