package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/gateway"
)

const (
	processAttempts = 3
	processTimeout  = time.Minute
)

// profile is what the bot remembers about a citizen beyond one dialog.
type profile struct {
	Lang  string `json:"lang,omitempty"`
	Phone string `json:"phone,omitempty"`
}

// handleUpdate processes one update at most once (by update id). A
// transient failure (intake or KV unavailable) is retried a few times with
// the dialog state untouched; if it persists the citizen is asked to try
// later and the unfinished dialog stays in KV.
func (b *Bot) handleUpdate(ctx context.Context, u tgbotapi.Update) {
	seen := b.key("update", strconv.Itoa(u.UpdateID))
	if _, found, err := b.env.KV.KVGet(ctx, seen); err == nil && found {
		return
	}
	backoff := b.retryBase
	var err error
	for attempt := 1; attempt <= processAttempts; attempt++ {
		// A hung store or intake must not hold the chat (and, when
		// polling, the whole batch) forever.
		actx, cancel := context.WithTimeout(ctx, processTimeout)
		err = b.process(actx, u)
		cancel()
		if err == nil {
			break
		}
		b.log.Warn("telegram update failed", "update", u.UpdateID, "attempt", attempt, "err", err)
		if attempt < processAttempts {
			_ = sleep(ctx, backoff)
			backoff *= 2
		}
	}
	if err != nil {
		b.log.Error("telegram update given up", "update", u.UpdateID, "err", err)
		if chat := chatOf(u); chat > 0 {
			lang := "fa"
			if p, perr := b.loadProfile(ctx, chat); perr == nil {
				lang = botLang(p.Lang)
			}
			b.sendReplies(chat, lang, []reply{say("try_later", kbKeep)})
		}
	}
	if perr := b.env.KV.KVPut(ctx, seen, []byte("1"), seenTTL); perr != nil {
		b.log.Warn("telegram: remember update id", "update", u.UpdateID, "err", perr)
	}
}

func (b *Bot) process(ctx context.Context, u tgbotapi.Update) (err error) {
	defer func() {
		// One malformed update must not take the portal down.
		if r := recover(); r != nil {
			b.log.Error("telegram update handler panicked", "update", u.UpdateID, "panic", r)
			err = nil
		}
	}()
	switch {
	case u.CallbackQuery != nil:
		return b.onCallback(ctx, u.CallbackQuery)
	case u.Message != nil:
		m := u.Message
		if m.Chat == nil || m.From == nil || m.Chat.Type != "private" {
			// Groups and channels are not a place for citizens' requests,
			// and answering there would spam the group: ignore cleanly.
			return nil
		}
		return b.onMessage(ctx, m)
	case u.EditedMessage != nil:
		m := u.EditedMessage
		if m.Chat == nil || m.From == nil || m.Chat.Type != "private" {
			return nil
		}
		p, err := b.loadProfile(ctx, m.From.ID)
		if err != nil {
			return err
		}
		b.sendReplies(m.Chat.ID, botLang(p.Lang), []reply{say("edited", kbKeep)})
	}
	return nil
}

func (b *Bot) onMessage(ctx context.Context, m *tgbotapi.Message) error {
	chat := m.Chat.ID
	d, p, err := b.loadDialog(ctx, chat, m.From.ID)
	if err != nil {
		return err
	}
	ev, err := b.eventOf(ctx, d, m)
	if err != nil {
		return err
	}
	nd, replies, act := step(d, ev)
	extra, err := b.perform(ctx, chat, m.From, nd, act, ev)
	if err != nil {
		return err
	}
	if err := b.saveDialog(ctx, chat, m.From.ID, nd, p); err != nil {
		return err
	}
	b.sendReplies(chat, botLang(nd.Lang), append(replies, extra...))
	return nil
}

func (b *Bot) onCallback(ctx context.Context, q *tgbotapi.CallbackQuery) error {
	api := b.apiWith(ctx)
	code, rating, ok := parseRateData(q.Data)
	if !ok || q.From == nil {
		// Stale or foreign buttons: stop the client's spinner and do nothing.
		_, _ = api.Request(tgbotapi.NewCallback(q.ID, ""))
		return nil
	}
	chat := q.From.ID
	msgID := 0
	if q.Message != nil && q.Message.Chat != nil {
		chat, msgID = q.Message.Chat.ID, q.Message.MessageID
	}
	d, p, err := b.loadDialog(ctx, chat, q.From.ID)
	if err != nil {
		return err
	}
	// One rating per rating request: the first press wins, repeats are
	// idempotent at intake.
	ev := event{Kind: evRate, ID: fmt.Sprintf("rate:%s:%d:%d", code, chat, msgID), Code: code, Rating: rating, At: b.now()}
	nd, replies, act := step(d, ev)
	extra, err := b.perform(ctx, chat, q.From, nd, act, ev)
	if err != nil {
		return err
	}
	if err := b.saveDialog(ctx, chat, q.From.ID, nd, p); err != nil {
		return err
	}
	lang := botLang(nd.Lang)
	if _, err := api.Request(tgbotapi.NewCallback(q.ID, tr(lang, "rate_thanks"))); err != nil {
		b.log.Warn("telegram answerCallbackQuery", "err", err)
	}
	if msgID != 0 {
		// Replace the buttons with the chosen rating, so it is not pressed twice.
		done := tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(
			tgbotapi.NewInlineKeyboardButtonData(strings.Repeat("⭐", rating), "rated")))
		if _, err := api.Request(tgbotapi.NewEditMessageReplyMarkup(chat, msgID, done)); err != nil {
			b.log.Warn("telegram editMessageReplyMarkup", "err", err)
		}
	}
	b.sendReplies(chat, lang, append(replies, extra...))
	return nil
}

// eventOf turns a message into a dialog event, downloading a file only
// when the dialog would use it.
func (b *Bot) eventOf(ctx context.Context, d dialog, m *tgbotapi.Message) (event, error) {
	ev := event{ID: fmt.Sprintf("%d:%d", m.Chat.ID, m.MessageID), Text: m.Text, At: time.Unix(int64(m.Date), 0).UTC()}
	if m.Date == 0 {
		ev.At = b.now().UTC()
	}
	var fileID, name, ctype string
	var size int
	switch {
	case strings.HasPrefix(m.Text, "/"):
		cmd, _, _ := strings.Cut(strings.TrimPrefix(m.Text, "/"), " ")
		cmd, _, _ = strings.Cut(cmd, "@")
		ev.Kind, ev.Text = evCommand, strings.ToLower(cmd)
		return ev, nil
	case m.Text != "":
		ev.Kind = evText
		return ev, nil
	case m.Location != nil:
		ev.Kind, ev.Location = evLocation, &gateway.Location{Lat: m.Location.Latitude, Long: m.Location.Longitude}
		return ev, nil
	case m.Contact != nil:
		ev.Kind = evContact
		ev.Phone, _ = normalizePhone(m.Contact.PhoneNumber)
		// Only a contact that is the sender's own Telegram account proves
		// the number is theirs; request_contact buttons send exactly that.
		ev.OwnContact = m.Contact.UserID != 0 && m.Contact.UserID == m.From.ID
		return ev, nil
	case m.Sticker != nil:
		ev.Kind = evSticker
		return ev, nil
	case len(m.Photo) > 0:
		ps := pickPhoto(m.Photo, b.cfg.MaxFileBytes)
		fileID, size, name, ctype = ps.FileID, ps.FileSize, "photo.jpg", "image/jpeg"
	case m.Voice != nil:
		fileID, size, name, ctype = m.Voice.FileID, m.Voice.FileSize, "voice.ogg", m.Voice.MimeType
	case m.Audio != nil:
		fileID, size, name, ctype = m.Audio.FileID, m.Audio.FileSize, m.Audio.FileName, m.Audio.MimeType
	case m.Document != nil:
		fileID, size, name, ctype = m.Document.FileID, m.Document.FileSize, m.Document.FileName, m.Document.MimeType
	default:
		ev.Kind = evUnsupported
		return ev, nil
	}
	ev.Text = m.Caption
	if !d.wantsMedia() {
		ev.Kind = evMediaFailed // not downloaded; the step ignores it anyway
		return ev, nil
	}
	if int64(size) > b.cfg.MaxFileBytes {
		ev.Kind = evMediaTooBig
		return ev, nil
	}
	a, tooBig, err := b.fetch(ctx, fileID, name, ctype)
	switch {
	case tooBig:
		ev.Kind = evMediaTooBig
	case errors.Is(err, errSave):
		return ev, err
	case err != nil:
		b.log.Warn("telegram file download failed", "file", fileID, "err", err)
		ev.Kind = evMediaFailed
	default:
		ev.Kind, ev.Attachment = evMedia, &a
	}
	return ev, nil
}

// pickPhoto chooses the largest size within the limit (Telegram sends
// several sizes of every photo, smallest first); the smallest otherwise.
func pickPhoto(sizes []tgbotapi.PhotoSize, limit int64) tgbotapi.PhotoSize {
	best := sizes[0]
	for _, ps := range sizes[1:] {
		if int64(ps.FileSize) <= limit && ps.Width*ps.Height >= best.Width*best.Height {
			best = ps
		}
	}
	return best
}

var errSave = errors.New("save attachment")

// fetch downloads a file (getFile, then the file endpoint) within
// max_file_bytes and stores it as an attachment.
func (b *Bot) fetch(ctx context.Context, fileID, name, ctype string) (gateway.Attachment, bool, error) {
	if b.env.Attachments == nil {
		return gateway.Attachment{}, false, errors.New("no attachment store")
	}
	f, err := b.apiWith(ctx).GetFile(tgbotapi.FileConfig{FileID: fileID})
	if err != nil {
		return gateway.Attachment{}, false, fmt.Errorf("getFile: %w", err)
	}
	if int64(f.FileSize) > b.cfg.MaxFileBytes {
		return gateway.Attachment{}, true, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf(b.cfg.FileEndpoint, b.token, f.FilePath), nil)
	if err != nil {
		return gateway.Attachment{}, false, err
	}
	resp, err := b.HTTPClient.Do(req)
	if err != nil {
		return gateway.Attachment{}, false, fmt.Errorf("download: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return gateway.Attachment{}, false, fmt.Errorf("download: HTTP %d", resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, b.cfg.MaxFileBytes+1))
	if err != nil {
		return gateway.Attachment{}, false, fmt.Errorf("download: %w", err)
	}
	if int64(len(data)) > b.cfg.MaxFileBytes {
		return gateway.Attachment{}, true, nil
	}
	if ctype == "" || ctype == "application/octet-stream" {
		ctype = http.DetectContentType(data)
	}
	a, err := b.env.Attachments.AttachmentSave(ctx, gateway.Attachment{ContentType: ctype, Filename: name, Size: int64(len(data))}, data)
	if err != nil {
		return gateway.Attachment{}, false, fmt.Errorf("%w: %w", errSave, err)
	}
	return a, false, nil
}

// perform carries out a dialog action and returns any replies it adds.
// An error means nothing was done and the update may be retried.
func (b *Bot) perform(ctx context.Context, chat int64, from *tgbotapi.User, d dialog, act action, ev event) ([]reply, error) {
	msg := gateway.Message{
		Portal:          b.env.Portal,
		PortalKind:      "telegram",
		PortalMessageID: ev.ID,
		Contact: gateway.Contact{
			TelegramID: strconv.FormatInt(from.ID, 10),
			Phone:      d.Phone,
			Name:       strings.TrimSpace(from.FirstName + " " + from.LastName),
			Language:   botLang(d.Lang),
		},
		Language:   botLang(d.Lang),
		ReceivedAt: ev.At,
		Metadata:   map[string]string{"chat_id": strconv.FormatInt(chat, 10)},
	}
	if msg.ReceivedAt.IsZero() {
		msg.ReceivedAt = b.now().UTC()
	}
	lang := botLang(d.Lang)
	switch act.Kind {
	case actNone:
		return nil, nil
	case actSubmitRequest:
		msg.Text = act.Draft.text()
		msg.Attachments = act.Draft.Attachments
		msg.Location = act.Draft.Location
		// Each request is its own thread, so two reports from one chat
		// never merge into one case.
		msg.ThreadKey = act.Draft.StartID
		if msg.ThreadKey == "" {
			msg.ThreadKey = ev.ID
		}
		msg.Metadata["kind"] = "request"
	case actSubmitText:
		msg.Text, msg.ThreadKey = act.Text, ev.ID
		msg.Metadata["kind"] = act.Kind2
		if id, ok := b.faqPicked(act.Text); ok && act.Kind2 == "question" {
			msg.Metadata["faq"] = id // the router answers that entry
		}
	case actTrack:
		if b.env.Cases != nil {
			return b.caseStatus(ctx, lang, act.Code)
		}
		// Without a case lookup the router answers the status question.
		msg.Text, msg.ThreadKey = act.Code, ev.ID
		msg.Metadata["kind"] = "status"
		msg.Metadata["tracking_code"] = act.Code
	case actSubmitRating:
		msg.Text = act.Text
		if strings.TrimSpace(msg.Text) == "" {
			msg.Text = fmt.Sprintf("rating %d", act.Rating)
		}
		msg.ThreadKey = act.Code
		if v, found, err := b.env.KV.KVGet(ctx, b.key("thread", act.Code)); err != nil {
			return nil, fmt.Errorf("rating thread of %s: %w", act.Code, err)
		} else if found {
			msg.ThreadKey = string(v)
		}
		msg.Metadata["kind"] = "rating"
		msg.Metadata["tracking_code"] = act.Code
		msg.Metadata["rating"] = strconv.Itoa(act.Rating)
		if act.Text != "" {
			msg.Metadata["comment"] = act.Text
			msg.PortalMessageID = "comment:" + ev.ID
		}
	}
	if _, err := b.env.Intake.Submit(ctx, msg); err != nil {
		if errors.Is(err, gateway.ErrInvalid) {
			b.log.Info("telegram message rejected by intake", "id", msg.PortalMessageID, "err", err)
			return []reply{say("invalid", kbMenu)}, nil
		}
		return nil, fmt.Errorf("submit %s: %w", msg.PortalMessageID, err)
	}
	return nil, nil
}

// caseStatus answers a tracking question directly from the case lookup:
// it is read-only, needs no router, and does not add a ledger entry per
// question.
func (b *Bot) caseStatus(ctx context.Context, lang, code string) ([]reply, error) {
	st, err := b.env.Cases.CaseStatus(ctx, code)
	if errors.Is(err, cases.ErrNotFound) {
		return []reply{say("not_found", kbMenu)}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("case status %s: %w", code, err)
	}
	text := fmt.Sprintf(tr(lang, "status"), st.TrackingCode, statusText(lang, st.Status))
	if st.Answer != "" {
		text += "\n" + fmt.Sprintf(tr(lang, "answer"), st.Answer)
	}
	return []reply{{Text: text, KB: kbMenu}}, nil
}

func (b *Bot) loadProfile(ctx context.Context, user int64) (profile, error) {
	var p profile
	v, found, err := b.env.KV.KVGet(ctx, b.key("user", strconv.FormatInt(user, 10)))
	if err != nil {
		return p, fmt.Errorf("load profile: %w", err)
	}
	if found {
		if err := json.Unmarshal(v, &p); err != nil {
			b.log.Warn("telegram: corrupt profile, starting fresh", "user", user, "err", err)
		}
	}
	return p, nil
}

// loadDialog returns the chat's dialog (empty when none or expired) with
// the citizen's remembered language and phone, and the profile as stored.
func (b *Bot) loadDialog(ctx context.Context, chat, user int64) (dialog, profile, error) {
	p, err := b.loadProfile(ctx, user)
	if err != nil {
		return dialog{}, p, err
	}
	var d dialog
	v, found, err := b.env.KV.KVGet(ctx, b.key("dialog", strconv.FormatInt(chat, 10)))
	if err != nil {
		return dialog{}, p, fmt.Errorf("load dialog: %w", err)
	}
	if found {
		if err := json.Unmarshal(v, &d); err != nil {
			b.log.Warn("telegram: corrupt dialog, starting fresh", "chat", chat, "err", err)
			d = dialog{}
		}
	}
	d.Lang, d.Phone = p.Lang, p.Phone
	return d, p, nil
}

func (b *Bot) saveDialog(ctx context.Context, chat, user int64, d dialog, old profile) error {
	if p := (profile{Lang: d.Lang, Phone: d.Phone}); p != old {
		v, _ := json.Marshal(p)
		if err := b.env.KV.KVPut(ctx, b.key("user", strconv.FormatInt(user, 10)), v, 0); err != nil {
			return fmt.Errorf("save profile: %w", err)
		}
	}
	v, _ := json.Marshal(d)
	if err := b.env.KV.KVPut(ctx, b.key("dialog", strconv.FormatInt(chat, 10)), v, b.cfg.DialogTimeout); err != nil {
		return fmt.Errorf("save dialog: %w", err)
	}
	return nil
}

// faqPicked reports which frequent question text is, in any language:
// what a button of the kbFAQ keyboard sends.
func (b *Bot) faqPicked(text string) (string, bool) {
	text = strings.TrimSpace(text)
	for _, f := range b.env.FAQs {
		for _, q := range f.Question {
			if q == text {
				return f.ID, true
			}
		}
	}
	return "", false
}
