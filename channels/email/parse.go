package email

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/charset"
	"github.com/emersion/go-message/mail"
	"golang.org/x/text/encoding/charmap"
)

func init() {
	// Names Arabic-script mail arrives with that the IANA index does not
	// know: the -I/-E variants of ISO-8859-6 (implicit/explicit
	// directionality, same bytes) and Microsoft's aliases of windows-1256.
	// Importing go-message/charset installs its charset reader, which this
	// table extends; that reader decodes bodies and RFC 2047 headers.
	charset.RegisterEncoding("iso-8859-6-i", charmap.ISO8859_6)
	charset.RegisterEncoding("iso-8859-6-e", charmap.ISO8859_6)
	charset.RegisterEncoding("iso_8859-6-i", charmap.ISO8859_6)
	charset.RegisterEncoding("iso_8859-6-e", charmap.ISO8859_6)
	charset.RegisterEncoding("cp1256", charmap.Windows1256)
	charset.RegisterEncoding("x-cp1256", charmap.Windows1256)
	charset.RegisterEncoding("ms-arab", charmap.Windows1256)
}

// Limits bound what Parse accepts. Zero fields take the defaults.
type Limits struct {
	// MaxMessageBytes is the largest raw message parsed (default 25 MiB).
	MaxMessageBytes int64
	// MaxAttachmentBytes is the largest single attachment kept (default
	// 10 MiB); larger ones are listed in Parsed.Dropped, not stored.
	MaxAttachmentBytes int64
	// MaxAttachments kept per message (default 20).
	MaxAttachments int
	// MaxDepth of nested multiparts (default 10): deeper nesting is an
	// error, since no mail client produces it and it costs stack.
	MaxDepth int
	// MaxParts is the most MIME parts walked (default 200).
	MaxParts int
}

func (l Limits) withDefaults() Limits {
	if l.MaxMessageBytes <= 0 {
		l.MaxMessageBytes = 25 << 20
	}
	if l.MaxAttachmentBytes <= 0 {
		l.MaxAttachmentBytes = 10 << 20
	}
	if l.MaxAttachments <= 0 {
		l.MaxAttachments = 20
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = 10
	}
	if l.MaxParts <= 0 {
		l.MaxParts = 200
	}
	return l
}

// Parsed is one mail, decoded. Text and header strings are valid UTF-8.
type Parsed struct {
	// MessageID is the Message-ID without angle brackets, or "sha256:<hex>"
	// of the raw bytes when the mail has none, so a refetch gives the same id.
	MessageID string
	// FromEmail is the sender's address, lowercased; FromName its display name.
	FromEmail, FromName string
	// ReturnPath is the Return-Path address; NullReturnPath is set when it
	// is "<>", the mark of a bounce or other automatic mail.
	ReturnPath     string
	NullReturnPath bool
	Subject        string
	Date           time.Time
	// InReplyTo and References are message ids without angle brackets.
	InReplyTo  []string
	References []string
	// Text is the body as plain text: text/plain when there is one, else
	// the HTML part converted to text.
	Text string
	// FromHTML is set when Text was converted from HTML.
	FromHTML bool
	// Language is the Content-Language when it is one Dargah speaks.
	Language    string
	Attachments []Part
	// Dropped lists attachments left out by the limits, as "name (reason)".
	Dropped []string
	// Automated is why the mail looks machine-sent (auto-reply, bounce,
	// bulk or list mail); empty for a person's mail. Such mail is never
	// submitted nor answered.
	Automated string
}

// Part is an attachment's decoded bytes.
type Part struct {
	Filename    string
	ContentType string
	Data        []byte
}

// ThreadRoot is the conversation root a mail belongs to: the first id of
// References, else the first of In-Reply-To, else its own Message-ID.
func (p *Parsed) ThreadRoot() string {
	if len(p.References) > 0 {
		return p.References[0]
	}
	if len(p.InReplyTo) > 0 {
		return p.InReplyTo[0]
	}
	return p.MessageID
}

// ErrMalformed is wrapped by Parse for mail that cannot be read as MIME.
var ErrMalformed = errors.New("malformed mail")

// Parse decodes one raw RFC 5322 message. It is pure: no I/O, no clock.
// Malformed structure (bad header block, broken multipart, nesting deeper
// than the limit, a message over the size limit) gives an error wrapping
// ErrMalformed. Unknown charsets and transfer encodings are not errors:
// the bytes are kept with invalid UTF-8 replaced, since losing a
// citizen's words to a mislabeled charset is worse than a few odd letters.
func Parse(raw []byte, lim Limits) (Parsed, error) {
	lim = lim.withDefaults()
	if int64(len(raw)) > lim.MaxMessageBytes {
		return Parsed{}, fmt.Errorf("%w: %d bytes, more than %d", ErrMalformed, len(raw), lim.MaxMessageBytes)
	}
	ent, err := message.Read(bytes.NewReader(raw))
	if err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err) {
		return Parsed{}, fmt.Errorf("%w: header: %v", ErrMalformed, err)
	}
	h := mail.Header{Header: ent.Header}
	var p Parsed

	if id, err := h.MessageID(); err == nil && id != "" {
		p.MessageID = clean(id)
	} else {
		sum := sha256.Sum256(raw)
		p.MessageID = "sha256:" + hex.EncodeToString(sum[:])
	}
	if addrs, err := h.AddressList("From"); err == nil && len(addrs) > 0 {
		p.FromEmail = strings.ToLower(strings.TrimSpace(addrs[0].Address))
		p.FromName = clean(addrs[0].Name)
	} else if from := h.Get("From"); from != "" {
		// An address mail.ParseAddress rejects may still be usable:
		// "user@host" without brackets but with odd characters.
		if a := looseAddress(from); a != "" {
			p.FromEmail = a
		}
	}
	if rp := strings.TrimSpace(h.Get("Return-Path")); rp != "" {
		addr := strings.Trim(rp, "<> \t")
		p.NullReturnPath = addr == ""
		p.ReturnPath = strings.ToLower(addr)
	}
	if s, err := h.Subject(); err == nil {
		p.Subject = clean(s)
	} else {
		p.Subject = clean(h.Get("Subject"))
	}
	if d, err := h.Date(); err == nil {
		p.Date = d
	}
	p.InReplyTo = msgIDs(h, "In-Reply-To")
	p.References = msgIDs(h, "References")
	if lang := strings.ToLower(strings.TrimSpace(h.Get("Content-Language"))); lang != "" {
		base, _, _ := strings.Cut(strings.Split(lang, ",")[0], "-")
		switch base = strings.TrimSpace(base); base {
		case "fa", "ar", "ur", "en":
			p.Language = base
		}
	}
	p.Automated = automated(&h, &p)

	w := walker{lim: lim, p: &p}
	if err := w.walk(ent, 0, false); err != nil {
		return Parsed{}, err
	}
	switch {
	case len(w.plain) > 0:
		p.Text = tidyText(strings.Join(w.plain, "\n\n"))
	case len(w.html) > 0:
		p.Text = htmlToText(strings.Join(w.html, "\n"))
		p.FromHTML = true
	}
	return p, nil
}

type walker struct {
	lim   Limits
	p     *Parsed
	parts int
	plain []string
	html  []string
}

// walk visits an entity. inAlt is set below multipart/alternative, where
// only the text parts matter.
func (w *walker) walk(e *message.Entity, depth int, inAlt bool) error {
	w.parts++
	if w.parts > w.lim.MaxParts {
		return fmt.Errorf("%w: more than %d MIME parts", ErrMalformed, w.lim.MaxParts)
	}
	if depth > w.lim.MaxDepth {
		return fmt.Errorf("%w: multipart nesting deeper than %d", ErrMalformed, w.lim.MaxDepth)
	}
	mediaType, params, err := e.Header.ContentType()
	if err != nil || mediaType == "" {
		// RFC 2045: no (or an unreadable) Content-Type means text/plain.
		mediaType, params = "text/plain", nil
	}
	if mr := e.MultipartReader(); mr != nil {
		if params["boundary"] == "" {
			return fmt.Errorf("%w: %s without boundary", ErrMalformed, mediaType)
		}
		alt := mediaType == "multipart/alternative"
		n := 0
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err) {
				return fmt.Errorf("%w: %s part %d: %v", ErrMalformed, mediaType, n+1, err)
			}
			n++
			if err := w.walk(part, depth+1, alt || inAlt); err != nil {
				return err
			}
		}
		if n == 0 {
			return fmt.Errorf("%w: %s with no parts", ErrMalformed, mediaType)
		}
		return nil
	}

	disp, dparams, _ := e.Header.ContentDisposition()
	filename := decodeWord(dparams["filename"])
	if filename == "" {
		filename = decodeWord(params["name"])
	}
	attachment := strings.EqualFold(disp, "attachment") || (filename != "" && !strings.HasPrefix(mediaType, "text/"))
	if !attachment && (mediaType == "text/plain" || mediaType == "text/html") {
		body, err := io.ReadAll(io.LimitReader(e.Body, w.lim.MaxMessageBytes+1))
		if err != nil {
			return fmt.Errorf("%w: read %s body: %v", ErrMalformed, mediaType, err)
		}
		s := toUTF8(body)
		if mediaType == "text/plain" {
			w.plain = append(w.plain, s)
		} else {
			w.html = append(w.html, s)
		}
		return nil
	}
	if inAlt && !attachment {
		// Other alternatives (text/enriched, calendar) add nothing.
		return nil
	}
	if filename == "" {
		filename = "part" + fmt.Sprint(w.parts) + extensionFor(mediaType)
	}
	filename = clean(filename)
	if len(w.p.Attachments) >= w.lim.MaxAttachments {
		w.p.Dropped = append(w.p.Dropped, filename+" (too many attachments)")
		return nil
	}
	data, err := io.ReadAll(io.LimitReader(e.Body, w.lim.MaxAttachmentBytes+1))
	if err != nil {
		return fmt.Errorf("%w: read attachment %q: %v", ErrMalformed, filename, err)
	}
	if int64(len(data)) > w.lim.MaxAttachmentBytes {
		w.p.Dropped = append(w.p.Dropped, fmt.Sprintf("%s (larger than %d bytes)", filename, w.lim.MaxAttachmentBytes))
		return nil
	}
	w.p.Attachments = append(w.p.Attachments, Part{Filename: filename, ContentType: mediaType, Data: data})
	return nil
}

// automated reports why a mail looks machine-sent, from its headers.
// RFC 3834 (Auto-Submitted), RFC 2076 (Precedence), RFC 2369/2919 (list
// headers) and the common X-Autoreply family; a null Return-Path is a
// bounce (RFC 5321 §4.5.5).
func automated(h *mail.Header, p *Parsed) string {
	if v := strings.ToLower(strings.TrimSpace(h.Get("Auto-Submitted"))); v != "" && v != "no" {
		return "auto-submitted: " + v
	}
	switch v := strings.ToLower(strings.TrimSpace(h.Get("Precedence"))); v {
	case "bulk", "junk", "list", "auto_reply":
		return "precedence: " + v
	}
	for _, k := range []string{"X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress", "X-Autogenerated"} {
		if v := strings.ToLower(strings.TrimSpace(h.Get(k))); v != "" {
			if k == "X-Auto-Response-Suppress" && v != "all" && !strings.Contains(v, "oof") && !strings.Contains(v, "autoreply") {
				continue
			}
			return strings.ToLower(k) + ": " + v
		}
	}
	if h.Get("List-Id") != "" || h.Get("List-Unsubscribe") != "" || h.Get("List-Post") != "" {
		return "mailing list"
	}
	if p.NullReturnPath {
		return "null return-path (bounce)"
	}
	local, _, _ := strings.Cut(p.FromEmail, "@")
	switch local {
	case "mailer-daemon", "postmaster", "noreply", "no-reply", "do-not-reply", "donotreply":
		return "sender " + local
	}
	if strings.HasPrefix(strings.ToLower(h.Get("Content-Type")), "multipart/report") {
		return "delivery report"
	}
	return ""
}

func msgIDs(h mail.Header, key string) []string {
	ids, err := h.MsgIDList(key)
	if err != nil || len(ids) == 0 {
		// Mail clients write broken id lists; take what looks like <…>.
		ids = nil
		v := h.Get(key)
		for {
			i := strings.IndexByte(v, '<')
			if i < 0 {
				break
			}
			j := strings.IndexByte(v[i:], '>')
			if j < 0 {
				break
			}
			if id := strings.TrimSpace(v[i+1 : i+j]); id != "" {
				ids = append(ids, id)
			}
			v = v[i+j+1:]
		}
	}
	out := ids[:0]
	for _, id := range ids {
		if id = clean(id); id != "" && len(id) <= 998 {
			out = append(out, id)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func looseAddress(s string) string {
	if i := strings.LastIndexByte(s, '<'); i >= 0 {
		if j := strings.IndexByte(s[i:], '>'); j > 0 {
			s = s[i+1 : i+j]
		}
	}
	s = strings.ToLower(strings.TrimSpace(s))
	if strings.Count(s, "@") != 1 || strings.ContainsAny(s, " \t\r\n<>") {
		return ""
	}
	return s
}

var wordDecoder = mime.WordDecoder{CharsetReader: charset.Reader}

func decodeWord(s string) string {
	if d, err := wordDecoder.DecodeHeader(s); err == nil {
		return d
	}
	return s
}

// toUTF8 returns body as text; bytes the charset layer could not map stay
// visible as U+FFFD rather than failing the mail.
func toUTF8(b []byte) string {
	s := string(b)
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return strings.ReplaceAll(s, "\x00", "")
}

// clean makes a header value safe to show and store: valid UTF-8, no
// control characters, trimmed.
func clean(s string) string {
	s = toUTF8([]byte(s))
	s = strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return ' '
		}
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

// extensionFor names an unnamed part; a fixed table keeps Parse pure
// (mime.ExtensionsByType reads the system's tables).
func extensionFor(mediaType string) string {
	switch mediaType {
	case "message/rfc822":
		return ".eml"
	case "image/jpeg":
		return ".jpg"
	case "image/png":
		return ".png"
	case "image/gif":
		return ".gif"
	case "application/pdf":
		return ".pdf"
	case "text/plain":
		return ".txt"
	case "text/html":
		return ".html"
	}
	return ".bin"
}
