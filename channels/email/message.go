package email

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"unicode/utf8"

	"github.com/dargah137/dargah/gateway"
)

// Metadata keys an email message carries, read back by Reply.
const (
	MetaMessageID  = "email_message_id"
	MetaSubject    = "email_subject"
	MetaReferences = "email_references"
	MetaDropped    = "email_dropped_attachments"
)

// ThreadKey is the thread key of a conversation rooted at root (a
// Message-ID without brackets) with sender; see the package doc.
func ThreadKey(root, sender string) string {
	return root + " " + strings.ToLower(sender)
}

// splitThreadKey undoes ThreadKey; ids never contain spaces.
func splitThreadKey(k string) (root, sender string) {
	root, sender, _ = strings.Cut(k, " ")
	return root, sender
}

// toMessage parses raw and builds the message to submit. skip is non-empty
// (and m zero) when the mail must not be submitted: automated, our own,
// or over the sender's rate. err wraps ErrMalformed for unparsable mail;
// any other error is worth retrying.
func (a *Adapter) toMessage(ctx context.Context, raw []byte, log *slog.Logger) (m gateway.Message, skip string, err error) {
	p, err := safeParse(raw, a.limits())
	if err != nil {
		return m, "", err
	}
	if p.Automated != "" {
		return m, "automated mail: " + p.Automated, nil
	}
	if p.FromEmail == "" {
		return m, "", fmt.Errorf("%w: no sender address", ErrMalformed)
	}
	if a.own(p.FromEmail) {
		return m, "mail from our own address " + p.FromEmail, nil
	}
	if !a.limiter.allow(p.FromEmail, a.now()) {
		return m, fmt.Sprintf("sender %s over %d mails per hour", p.FromEmail, a.s.RatePerSender), nil
	}

	thread, err := a.threadOf(ctx, &p)
	if err != nil {
		return m, "", err
	}
	text := p.Text
	if s := p.Subject; s != "" && !isReplySubject(s) && !strings.Contains(text, s) {
		// A fresh mail's subject is often the complaint's headline.
		text = s + "\n\n" + text
	}
	m = gateway.Message{
		Portal:          a.env.Portal,
		PortalKind:      a.env.Kind,
		PortalMessageID: p.MessageID,
		Contact:         gateway.Contact{Email: p.FromEmail, Name: p.FromName, Language: p.Language},
		ThreadKey:       thread,
		Language:        p.Language,
		ReceivedAt:      a.now(),
		Metadata: map[string]string{
			MetaMessageID: p.MessageID,
			MetaSubject:   p.Subject,
		},
	}
	if m.PortalKind == "" {
		m.PortalKind = "email"
	}
	if refs := append(append([]string{}, p.References...), p.InReplyTo...); len(refs) > 0 {
		m.Metadata[MetaReferences] = strings.Join(dedupe(refs), " ")
	}
	if len(p.Dropped) > 0 {
		m.Metadata[MetaDropped] = strings.Join(p.Dropped, "; ")
		log.Warn("attachments dropped by limits", "dropped", p.Dropped)
	}
	parts := p.Attachments
	if len(text) > gateway.MaxTextBytes {
		// Long mail (often quoted history) is cut for the text field; the
		// whole body is kept as an attachment so nothing is lost.
		parts = append(parts, Part{Filename: "message.txt", ContentType: "text/plain; charset=utf-8", Data: []byte(text)})
		text = cut(text, gateway.MaxTextBytes-len("\n…")) + "\n…"
	}
	m.Text = text
	for _, part := range parts {
		att, err := a.env.Attachments.AttachmentSave(ctx, gateway.Attachment{
			ContentType: part.ContentType, Filename: part.Filename, Size: int64(len(part.Data)),
		}, part.Data)
		if err != nil {
			return gateway.Message{}, "", fmt.Errorf("save attachment %q: %w", part.Filename, err)
		}
		m.Attachments = append(m.Attachments, att)
	}
	if strings.TrimSpace(m.Text) == "" && len(m.Attachments) == 0 {
		return gateway.Message{}, "", fmt.Errorf("%w: no text and no attachment", ErrMalformed)
	}
	return m, "", nil
}

// threadOf finds the mail's thread key: the key Dargah answered when the
// mail refers to a Message-ID Dargah sent, else the References root with
// the sender.
func (a *Adapter) threadOf(ctx context.Context, p *Parsed) (string, error) {
	// Newest reference first: In-Reply-To, then References from the end.
	refs := append([]string{}, p.InReplyTo...)
	for i := len(p.References) - 1; i >= 0; i-- {
		refs = append(refs, p.References[i])
	}
	for _, id := range dedupe(refs) {
		if !isOurMessageID(id) {
			continue
		}
		v, found, err := a.env.KV.KVGet(ctx, a.key("sent", id))
		if err != nil {
			return "", fmt.Errorf("look up sent message %s: %w", id, err)
		}
		if found {
			root, sender := splitThreadKey(string(v))
			if sender == p.FromEmail {
				return string(v), nil
			}
			_ = root // another address answering: a new conversation of its own
		}
	}
	return ThreadKey(p.ThreadRoot(), p.FromEmail), nil
}

// own reports whether addr is this mailbox's own address (from, or the
// login name when it is an address): mail from ourselves is a loop.
func (a *Adapter) own(addr string) bool {
	if a.from != nil && strings.EqualFold(a.from.Address, addr) {
		return true
	}
	return strings.EqualFold(a.s.Username, addr)
}

func isReplySubject(s string) bool {
	l := strings.ToLower(strings.TrimSpace(s))
	for _, p := range []string{"re:", "aw:", "sv:", "fw:", "fwd:", "رد:", "پاسخ:"} {
		if strings.HasPrefix(l, p) {
			return true
		}
	}
	return false
}

func dedupe(ids []string) []string {
	seen := map[string]bool{}
	out := ids[:0:0]
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// cut shortens s to at most n bytes on a rune boundary.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// safeParse is Parse with a parser panic (a bug in a MIME library on some
// odd mail) turned into ErrMalformed, so one mail cannot stop the portal;
// the mail goes to the dead-letter folder like any unreadable one.
func safeParse(raw []byte, lim Limits) (p Parsed, err error) {
	defer func() {
		if r := recover(); r != nil {
			p, err = Parsed{}, fmt.Errorf("%w: parser panic: %v", ErrMalformed, r)
		}
	}()
	return Parse(raw, lim)
}
