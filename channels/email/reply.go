package email

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/dargah137/dargah/channels"
	"github.com/dargah137/dargah/gateway"
)

// How long Dargah remembers a sent Message-ID (to thread the citizen's
// answer) and that a message was answered (so a redelivery does not mail
// the citizen twice).
const (
	sentTTL    = 400 * 24 * time.Hour
	repliedTTL = 30 * 24 * time.Hour
)

// Reply implements channels.Replier: it mails the decision's reply text to
// the citizen, threaded under their mail, with the tracking code in the
// subject. A message already answered is not answered again.
func (a *Adapter) Reply(ctx context.Context, to gateway.Message, r gateway.Receipt) error {
	if a.s.SMTP == "" || to.Contact.Email == "" || strings.TrimSpace(r.Decision.Reply) == "" {
		return nil
	}
	doneKey := a.key("replied", to.ID)
	if _, found, err := a.env.KV.KVGet(ctx, doneKey); err != nil {
		return fmt.Errorf("check reply of message %s: %w", to.ID, err)
	} else if found {
		return nil
	}
	code := r.Decision.TrackingCode
	if code == "" {
		code = r.Decision.LinkedTracking
	}
	lang := to.Language
	if lang == "" {
		lang = detectLanguage(r.Decision.Reply)
	}
	var refs []string
	if s := to.Metadata[MetaReferences]; s != "" {
		refs = strings.Fields(s)
	}
	inReplyTo := to.Metadata[MetaMessageID]
	if inReplyTo == "" || strings.HasPrefix(inReplyTo, "sha256:") {
		inReplyTo = ""
	} else {
		refs = append(refs, inReplyTo)
	}
	out := outgoing{
		to:        to.Contact,
		subject:   subject(lang, "", code),
		body:      body(lang, r.Decision.Reply, code),
		lang:      lang,
		inReplyTo: inReplyTo,
		refs:      dedupe(refs),
		code:      code,
		thread:    to.ThreadKey,
		auto:      "auto-replied",
	}
	if err := a.send(ctx, out); err != nil {
		return fmt.Errorf("reply to message %s: %w", to.ID, err)
	}
	if err := a.env.KV.KVPut(ctx, doneKey, []byte("1"), repliedTTL); err != nil {
		a.log.Warn("record reply sent", "message", to.ID, "err", err)
	}
	return nil
}

// Notify implements channels.Notifier: it mails a case event to the
// citizen, threaded under the conversation that opened the case.
func (a *Adapter) Notify(ctx context.Context, n channels.Notice) error {
	if a.s.SMTP == "" {
		return errors.New("email portal has no smtp configured")
	}
	if n.Contact.Email == "" {
		return fmt.Errorf("notice for case %s: contact has no email address", n.TrackingCode)
	}
	lang := n.Language
	if lang == "" {
		lang = n.Contact.Language
	}
	if lang == "" {
		lang = detectLanguage(n.Text)
	}
	out := outgoing{
		to:      n.Contact,
		subject: subject(lang, n.Kind, n.TrackingCode),
		body:    body(lang, n.Text, n.TrackingCode),
		lang:    lang,
		code:    n.TrackingCode,
		thread:  n.Thread,
		auto:    "auto-generated",
	}
	if root, _ := splitThreadKey(n.Thread); root != "" && !strings.HasPrefix(root, "sha256:") {
		out.inReplyTo, out.refs = root, []string{root}
	}
	if err := a.send(ctx, out); err != nil {
		return fmt.Errorf("notify case %s (%s): %w", n.TrackingCode, n.Kind, err)
	}
	return nil
}

type outgoing struct {
	to        gateway.Contact
	subject   string
	body      string
	lang      string
	inReplyTo string
	refs      []string
	code      string
	thread    string
	auto      string // Auto-Submitted value (RFC 3834)
}

// NewMessageID returns a Message-ID (without brackets) Dargah recognizes
// as its own: case-<tracking code>.<random>@<domain>, or dargah.<random>@…
// when there is no case.
func NewMessageID(trackingCode, domain string) string {
	var b [9]byte
	_, _ = rand.Read(b[:])
	r := hex.EncodeToString(b[:])
	if domain == "" {
		domain = "dargah"
	}
	if trackingCode != "" {
		return "case-" + trackingCode + "." + r + "@" + domain
	}
	return "dargah." + r + "@" + domain
}

// isOurMessageID reports whether id has the shape NewMessageID makes.
func isOurMessageID(id string) bool {
	return strings.HasPrefix(id, "case-") || strings.HasPrefix(id, "dargah.")
}

// send composes and submits one mail, retrying transient failures a few
// times; the Message-ID is remembered with its thread first, so a quick
// answer from the citizen already threads.
func (a *Adapter) send(ctx context.Context, o outgoing) error {
	domain := "dargah"
	if a.from != nil {
		if _, d, ok := strings.Cut(a.from.Address, "@"); ok {
			domain = d
		}
	}
	id := NewMessageID(o.code, domain)
	raw, err := compose(a.from, o, id, a.now())
	if err != nil {
		return err
	}
	if o.thread != "" {
		if err := a.env.KV.KVPut(ctx, a.key("sent", id), []byte(o.thread), sentTTL); err != nil {
			return fmt.Errorf("remember sent message: %w", err)
		}
	}
	delay := a.backoffMin
	for attempt := 1; ; attempt++ {
		err = a.submit(o.to.Email, raw)
		var se *smtp.SMTPError
		permanent := errors.As(err, &se) && se.Code >= 500
		if err == nil || permanent || attempt == 3 {
			break
		}
		a.log.Warn("smtp submission failed; retrying", "attempt", attempt, "err", err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("smtp: %w (then %w)", err, ctx.Err())
		case <-time.After(delay):
		}
		delay *= 2
	}
	if err != nil {
		return err
	}
	a.log.Info("mail sent", "to", o.to.Email, "message_id", id, "tracking_code", o.code)
	return nil
}

func (a *Adapter) submit(to string, raw []byte) error {
	var (
		c   *smtp.Client
		err error
	)
	switch a.s.SMTPTLS {
	case TLSImplicit:
		c, err = smtp.DialTLS(a.s.SMTP, a.tlsConfig(a.s.SMTP))
	case TLSStartTLS:
		c, err = smtp.DialStartTLS(a.s.SMTP, a.tlsConfig(a.s.SMTP))
	default:
		c, err = smtp.Dial(a.s.SMTP)
	}
	if err != nil {
		return fmt.Errorf("connect to SMTP %s: %w", a.s.SMTP, err)
	}
	defer c.Close()
	c.CommandTimeout = 30 * time.Second
	c.SubmissionTimeout = time.Minute
	if ok, _ := c.Extension("AUTH"); ok {
		if err := c.Auth(sasl.NewPlainClient("", a.s.Username, a.password)); err != nil {
			return fmt.Errorf("smtp auth as %s: %w", a.s.Username, err)
		}
	}
	if err := c.SendMail(a.from.Address, []string{to}, bytes.NewReader(raw)); err != nil {
		return fmt.Errorf("smtp send to %s: %w", to, err)
	}
	return c.Quit()
}

func compose(from *mail.Address, o outgoing, id string, now time.Time) ([]byte, error) {
	var h mail.Header
	h.SetDate(now)
	h.SetAddressList("From", []*mail.Address{from})
	h.SetAddressList("To", []*mail.Address{{Name: o.to.Name, Address: o.to.Email}})
	h.SetSubject(o.subject)
	h.SetMessageID(id)
	if o.inReplyTo != "" {
		h.SetMsgIDList("In-Reply-To", []string{o.inReplyTo})
	}
	if len(o.refs) > 0 {
		h.SetMsgIDList("References", o.refs)
	}
	// RFC 3834: tell the citizen's auto-responder not to answer us.
	h.Set("Auto-Submitted", o.auto)
	h.Set("X-Auto-Response-Suppress", "All")
	h.Set("Content-Language", o.lang)
	h.SetContentType("text/plain", map[string]string{"charset": "utf-8"})
	var buf bytes.Buffer
	w, err := mail.CreateSingleInlineWriter(&buf, h)
	if err != nil {
		return nil, fmt.Errorf("compose mail: %w", err)
	}
	if _, err := w.Write([]byte(o.body)); err != nil {
		return nil, fmt.Errorf("compose mail: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("compose mail: %w", err)
	}
	return buf.Bytes(), nil
}

// subject is «پاسخ ۱۳۷ — کد رهگیری 1234567890» and its translations; a
// notice names its kind instead of «پاسخ».
func subject(lang, kind, code string) string {
	t := texts(lang)
	s := t.reply
	if kind != "" {
		if k, ok := t.kinds[kind]; ok {
			s = k
		} else {
			s = t.notice
		}
	}
	if code != "" {
		s += " — " + t.code + " " + code
	}
	return s
}

func body(lang, text, code string) string {
	text = strings.TrimSpace(text)
	if code != "" && !strings.Contains(text, code) {
		text += "\n\n" + texts(lang).code + ": " + code
	}
	return text + "\n"
}

type localized struct {
	reply, notice, code string
	kinds               map[string]string
}

func texts(lang string) localized {
	switch lang {
	case "en":
		return localized{reply: "137 reply", notice: "137 notice", code: "tracking code", kinds: map[string]string{
			"answered": "Your request was answered", "escalated": "Your request was escalated",
			"closed": "Your request was closed", "rating_request": "Please rate our answer",
		}}
	case "ar":
		return localized{reply: "رد ۱۳۷", notice: "إشعار ۱۳۷", code: "رمز التتبع", kinds: map[string]string{
			"answered": "تمت الإجابة على طلبك", "escalated": "تم تصعيد طلبك",
			"closed": "تم إغلاق طلبك", "rating_request": "يرجى تقييم الإجابة",
		}}
	case "ur":
		return localized{reply: "۱۳۷ کا جواب", notice: "۱۳۷ کی اطلاع", code: "ٹریکنگ کوڈ", kinds: map[string]string{
			"answered": "آپ کی درخواست کا جواب دیا گیا", "escalated": "آپ کی درخواست آگے بھیجی گئی",
			"closed": "آپ کی درخواست بند کر دی گئی", "rating_request": "براہ کرم جواب کی درجہ بندی کریں",
		}}
	default:
		return localized{reply: "پاسخ ۱۳۷", notice: "اطلاعیه ۱۳۷", code: "کد رهگیری", kinds: map[string]string{
			"answered": "درخواست شما پاسخ داده شد", "escalated": "درخواست شما پیگیری ویژه شد",
			"closed": "درخواست شما بسته شد", "rating_request": "لطفاً به پاسخ ما امتیاز دهید",
		}}
	}
}

// detectLanguage guesses the language of Dargah's own reply text (the
// router already wrote it in the citizen's language): letters only Urdu
// uses, then letters only Persian uses, then letters only Arabic uses;
// other Arabic script is taken as Persian, Latin script as English.
func detectLanguage(s string) string {
	var urdu, persian, arabic, arabicScript, latin bool
	for _, r := range s {
		switch {
		case strings.ContainsRune("ٹڈڑںےۓ", r):
			urdu = true
		case strings.ContainsRune("پچژگکی", r):
			persian = true
		case strings.ContainsRune("ةيكى", r):
			arabic = true
		case r >= 0x0600 && r <= 0x06FF:
			arabicScript = true
		case r < 0x80 && (r|0x20 >= 'a' && r|0x20 <= 'z'):
			latin = true
		}
	}
	switch {
	case urdu:
		return "ur"
	case persian:
		return "fa"
	case arabic:
		return "ar"
	case arabicScript || !latin:
		return "fa"
	}
	return "en"
}

var (
	_ channels.Replier  = (*Adapter)(nil)
	_ channels.Notifier = (*Adapter)(nil)
)
