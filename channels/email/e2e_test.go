package email

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/dargah137/dargah/gateway"
	"github.com/dargah137/dargah/internal/app/apptest"
)

// smtpSink is a loopback SMTP submission server (go-smtp's server) that
// hands every accepted mail to the test. It demands AUTH PLAIN with the
// test account, like a real submission server.
type smtpSink struct {
	addr string
	user string
	pass string
	ch   chan sentMail
}

type sentMail struct {
	from string
	to   []string
	raw  []byte
}

func startSMTP(t testing.TB, user, pass string) *smtpSink {
	t.Helper()
	sink := &smtpSink{user: user, pass: pass, ch: make(chan sentMail, 20)}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &smtpSession{sink: sink}, nil
	}))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true // loopback only
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sink.addr = l.Addr().String()
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return sink
}

func (s *smtpSink) next(t testing.TB) sentMail {
	t.Helper()
	select {
	case m := <-s.ch:
		return m
	case <-time.After(20 * time.Second):
		t.Fatal("no mail sent within 20s")
		return sentMail{}
	}
}

type smtpSession struct {
	sink   *smtpSink
	authed bool
	cur    sentMail
}

func (s *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *smtpSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.sink.user || pass != s.sink.pass {
			return errors.New("invalid credentials")
		}
		s.authed = true
		return nil
	}), nil
}

func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if !s.authed {
		return smtp.ErrAuthRequired
	}
	s.cur = sentMail{from: from}
	return nil
}

func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.to = append(s.cur.to, to)
	return nil
}

func (s *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.raw = b
	s.sink.ch <- s.cur
	return nil
}

func (s *smtpSession) Reset()        { s.cur = sentMail{} }
func (s *smtpSession) Logout() error { return nil }

// TestWholePathReplyThreading runs a whole Dargah (apptest) with an email
// portal: a citizen's mail opens a case, the reply goes out by SMTP with
// the tracking code and threading headers, and the citizen's answer to
// that reply lands on the same case.
func TestWholePathReplyThreading(t *testing.T) {
	t.Parallel()
	acc := testAccount(t)
	admin := adminClient(t, acc)
	folder := testFolder(t, admin)
	sink := startSMTP(t, acc.user, acc.password)
	h := apptest.Start(t, apptest.Options{Portals: fmt.Sprintf(`
- name: mail137
  type: email
  imap: %s
  tls: starttls
  insecure_skip_verify: true
  smtp: %s
  smtp_tls: none
  username: %s
  password: %s
  from: "سامانه ۱۳۷ <dargah@localhost>"
  folder: %s
  dead_folder: %s-dead
`, acc.addr, sink.addr, acc.user, acc.password, folder, folder)})
	ctx := context.Background()

	firstID := "c1-" + folder + "@example.com"
	deliver(t, admin, folder, "From: Citizen <citizen@example.com>\r\nTo: 137@localhost\r\nSubject: =?utf-8?B?"+
		b64("چراغ کوچه")+"?=\r\nMessage-ID: <"+firstID+">\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nچراغ‌های کوچه خاموشه\r\n")
	r := waitDecided(t, h, "mail137", firstID)
	if r.Decision.Outcome != gateway.OutcomeCaseOpened || r.Decision.TrackingCode == "" {
		t.Fatalf("first mail decision = %+v", r.Decision)
	}
	code := r.Decision.TrackingCode
	c, err := h.Store.CaseGetByTracking(ctx, code)
	if err != nil {
		t.Fatal(err)
	}
	if want := ThreadKey(firstID, "citizen@example.com"); c.ThreadKey != want {
		t.Errorf("case thread key = %q, want %q", c.ThreadKey, want)
	}

	sent := sink.next(t)
	if sent.from != "dargah@localhost" || len(sent.to) != 1 || sent.to[0] != "citizen@example.com" {
		t.Errorf("envelope = %s → %v", sent.from, sent.to)
	}
	hdr, text := readSent(t, sent.raw)
	subj, _ := hdr.Subject()
	if want := "پاسخ ۱۳۷ — کد رهگیری " + code; subj != want {
		t.Errorf("subject = %q, want %q", subj, want)
	}
	if irt, _ := hdr.MsgIDList("In-Reply-To"); len(irt) != 1 || irt[0] != firstID {
		t.Errorf("In-Reply-To = %v, want %s", irt, firstID)
	}
	replyID, _ := hdr.MessageID()
	if !strings.HasPrefix(replyID, "case-"+code+".") {
		t.Errorf("reply Message-ID = %q", replyID)
	}
	if hdr.Get("Auto-Submitted") != "auto-replied" {
		t.Errorf("Auto-Submitted = %q", hdr.Get("Auto-Submitted"))
	}
	if !strings.Contains(text, code) {
		t.Errorf("reply text lacks the tracking code: %q", text)
	}

	// The citizen answers Dargah's reply, the way mail clients do.
	secondID := "c2-" + folder + "@example.com"
	deliver(t, admin, folder, "From: citizen@example.com\r\nSubject: Re: "+subj+"\r\nMessage-ID: <"+secondID+">\r\n"+
		"In-Reply-To: <"+replyID+">\r\nReferences: <"+firstID+"> <"+replyID+">\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nهنوز خاموشه\r\n")
	r2 := waitDecided(t, h, "mail137", secondID)
	if r2.Decision.Rule != "thread" || r2.Decision.LinkedTracking != code {
		t.Fatalf("answer decision = %+v, want linked to %s", r2.Decision, code)
	}
	sink.next(t) // the "added to your case" reply

	// A client that keeps only In-Reply-To still threads, through the
	// Message-IDs Dargah remembers.
	thirdID := "c3-" + folder + "@example.com"
	deliver(t, admin, folder, "From: citizen@example.com\r\nSubject: again\r\nMessage-ID: <"+thirdID+">\r\n"+
		"In-Reply-To: <"+replyID+">\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nلطفا پیگیری کنید\r\n")
	if r3 := waitDecided(t, h, "mail137", thirdID); r3.Decision.LinkedTracking != code {
		t.Fatalf("In-Reply-To-only answer decision = %+v, want linked to %s", r3.Decision, code)
	}
	sink.next(t)

	// Someone else replying with the same headers opens nothing on the
	// citizen's case.
	strangerID := "s1-" + folder + "@example.com"
	deliver(t, admin, folder, "From: stranger@example.org\r\nSubject: x\r\nMessage-ID: <"+strangerID+">\r\n"+
		"In-Reply-To: <"+replyID+">\r\nReferences: <"+firstID+"> <"+replyID+">\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nچراغ‌های کوچه خاموشه\r\n")
	if rs := waitDecided(t, h, "mail137", strangerID); rs.Decision.LinkedTracking == code {
		t.Fatalf("a stranger's mail was linked to the citizen's case: %+v", rs.Decision)
	}
}

func waitDecided(t testing.TB, h *apptest.Harness, portal, id string) gateway.Receipt {
	t.Helper()
	var r gateway.Receipt
	waitFor(t, "decision on "+id, func() bool {
		var err error
		r, err = h.Store.MessageGetByPortalID(context.Background(), portal, id)
		return err == nil && r.Status == gateway.StatusDecided
	})
	return r
}

func readSent(t testing.TB, raw []byte) (mail.Header, string) {
	t.Helper()
	mr, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("read sent mail: %v", err)
	}
	p, err := mr.NextPart()
	if err != nil {
		t.Fatalf("read sent mail body: %v", err)
	}
	b, _ := io.ReadAll(p.Body)
	return mr.Header, string(b)
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
