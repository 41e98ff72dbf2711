package telegram

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/channels"
	"github.com/dargah137/dargah/gateway"
)

// ratingThreadTTL is how long a rating request's buttons lead to its case.
const ratingThreadTTL = 30 * 24 * time.Hour

// errNotStarted is returned by Reply and Notify before Start.
var errNotStarted = errors.New("telegram portal not started")

// Reply implements channels.Replier: it sends the router's decision on a
// message this portal submitted — the on-the-spot answer, or the tracking
// code of the case it opened — with the main menu keyboard, and waits
// until Telegram accepted it. The bot replies only here, never inline
// after Submit: the pipeline calls Reply once the decision is recorded,
// which survives a slow router or a restart of this instance.
// Messages of other portals are ignored. Ratings were already thanked for
// when the button was pressed and get no reply.
func (b *Bot) Reply(ctx context.Context, to gateway.Message, r gateway.Receipt) error {
	if to.PortalKind != "telegram" {
		return nil
	}
	if !b.isStarted() {
		return errNotStarted
	}
	if to.Portal != b.env.Portal {
		return nil
	}
	if to.Metadata["kind"] == "rating" {
		return nil
	}
	chat, err := chatID(to.Metadata["chat_id"], to.Contact.TelegramID)
	if err != nil {
		return fmt.Errorf("reply to message %s: %w", to.ID, err)
	}
	// The stream delivers at least once, so a decision may be replied to
	// twice; the first reply is remembered.
	sentKey := b.key("replied", to.ID)
	if _, found, err := b.env.KV.KVGet(ctx, sentKey); err == nil && found {
		return nil
	}
	lang := botLang(to.Language)
	text := strings.TrimSpace(r.Decision.Reply)
	if text == "" {
		text = tr(lang, "received_default")
	}
	if code := r.Decision.TrackingCode; code != "" && !strings.Contains(text, code) {
		text += "\n" + fmt.Sprintf(tr(lang, "tracking"), code)
	}
	// The dialog is back at the main menu once a message is submitted.
	if err := b.sendWait(ctx, chat, text, b.markup(lang, kbMenu)); err != nil {
		return fmt.Errorf("reply to message %s: %w", to.ID, err)
	}
	if err := b.env.KV.KVPut(ctx, sentKey, []byte("1"), seenTTL); err != nil {
		b.log.Warn("telegram: remember reply", "message", to.ID, "err", err)
	}
	return nil
}

// Notify implements channels.Notifier: it sends a case notice to the
// citizen's Telegram chat. A "rating_request" notice carries 1–5 buttons;
// the press is answered, and submitted to intake as a message with
// Metadata kind=rating, tracking_code and rating.
func (b *Bot) Notify(ctx context.Context, n channels.Notice) error {
	if !b.isStarted() {
		return errNotStarted
	}
	chat, err := chatID(n.Contact.TelegramID, "")
	if err != nil {
		return fmt.Errorf("notify case %s: %w", n.TrackingCode, err)
	}
	lang := n.Language
	if lang == "" {
		lang = n.Contact.Language
	}
	lang = botLang(lang)
	text := strings.TrimSpace(n.Text)
	if text == "" && n.Kind != "rating_request" {
		text = fmt.Sprintf(tr(lang, "status"), n.TrackingCode, statusText(lang, n.Kind))
	}
	if n.TrackingCode != "" && text != "" && !strings.Contains(text, n.TrackingCode) {
		text += "\n" + fmt.Sprintf(tr(lang, "tracking"), n.TrackingCode)
	}
	var markup any
	if n.Kind == "rating_request" {
		if !cases.ValidTrackingCode(n.TrackingCode) {
			return fmt.Errorf("notify rating request: invalid tracking code %q", n.TrackingCode)
		}
		ask := fmt.Sprintf(tr(lang, "rate_ask"), n.TrackingCode)
		text = strings.TrimSpace(text + "\n\n" + ask)
		row := make([]tgbotapi.InlineKeyboardButton, 0, 5)
		for i := 1; i <= 5; i++ {
			row = append(row, tgbotapi.NewInlineKeyboardButtonData(strconv.Itoa(i), rateData(n.TrackingCode, i)))
		}
		markup = tgbotapi.NewInlineKeyboardMarkup(row)
		if n.Thread != "" {
			// The rating is submitted in the case's thread, so the router
			// adds it to the case instead of reading it as a new request.
			if err := b.env.KV.KVPut(ctx, b.key("thread", n.TrackingCode), []byte(n.Thread), ratingThreadTTL); err != nil {
				return fmt.Errorf("notify case %s: remember thread: %w", n.TrackingCode, err)
			}
		}
	}
	if err := b.sendWait(ctx, chat, text, markup); err != nil {
		return fmt.Errorf("notify case %s: %w", n.TrackingCode, err)
	}
	return nil
}

func (b *Bot) isStarted() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.started
}

func chatID(primary, fallback string) (int64, error) {
	s := primary
	if s == "" {
		s = fallback
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id == 0 {
		return 0, fmt.Errorf("no telegram chat id in %q", s)
	}
	return id, nil
}

// sendWait queues a message and waits until it is sent or given up.
func (b *Bot) sendWait(ctx context.Context, chat int64, text string, markup any) error {
	select {
	case err := <-b.out.enqueue(chat, b.sendFunc(chat, text, markup)):
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (b *Bot) sendFunc(chat int64, text string, markup any) func(ctx context.Context) error {
	text = clip(text)
	return func(ctx context.Context) error {
		msg := tgbotapi.NewMessage(chat, text)
		if markup != nil {
			msg.ReplyMarkup = markup
		}
		_, err := b.apiWith(ctx).Send(msg)
		return err
	}
}

// maxMessageRunes is Telegram's limit on a message's text.
const maxMessageRunes = 4096

// clip shortens text that Telegram would reject as too long; a long
// answer from a department is better cut than not delivered.
func clip(text string) string {
	r := []rune(text)
	if len(r) <= maxMessageRunes {
		return text
	}
	return string(r[:maxMessageRunes-1]) + "…"
}

// sendReplies queues dialog replies without waiting: the chat's queue
// keeps their order and the update loop moves on to other chats.
func (b *Bot) sendReplies(chat int64, lang string, rs []reply) {
	for _, r := range rs {
		text := b.render(lang, r)
		if text == "" {
			continue
		}
		done := b.out.enqueue(chat, b.sendFunc(chat, text, b.markup(lang, r.KB)))
		go func() {
			if err := <-done; err != nil {
				b.log.Warn("telegram reply not delivered", "chat", chat, "err", err)
			}
		}()
	}
}

func (b *Bot) render(lang string, r reply) string {
	if r.Text != "" {
		return r.Text
	}
	switch r.Key {
	case "call":
		hours := b.cfg.Hours
		if hours == "" {
			hours = tr(lang, "always")
		}
		return fmt.Sprintf(tr(lang, "call"), b.cfg.PhoneNumber, hours)
	case "too_big":
		return fmt.Sprintf(tr(lang, "too_big"), sizeText(lang, b.cfg.MaxFileBytes))
	}
	if len(r.Args) > 0 {
		return fmt.Sprintf(tr(lang, r.Key), r.Args...)
	}
	return tr(lang, r.Key)
}

// sizeText says a byte count in MB (or KB below one MB), one decimal at most.
func sizeText(lang string, n int64) string {
	unit, v := "mb", float64(n)/(1<<20)
	if n < 1<<20 {
		unit, v = "kb", float64(n)/(1<<10)
	}
	return fmt.Sprintf(tr(lang, unit), strconv.FormatFloat(float64(int64(v*10+0.5))/10, 'f', -1, 64))
}

func (b *Bot) markup(lang string, kb keyboard) any {
	btn := func(key string) tgbotapi.KeyboardButton { return tgbotapi.NewKeyboardButton(tr(lang, key)) }
	switch kb {
	case kbLang:
		row := make([]tgbotapi.KeyboardButton, 0, len(langButtons))
		for _, l := range langButtons {
			row = append(row, tgbotapi.NewKeyboardButton(l.label))
		}
		return tgbotapi.NewReplyKeyboard(row)
	case kbMenu:
		return tgbotapi.NewReplyKeyboard(
			tgbotapi.NewKeyboardButtonRow(btn("btn_new"), btn("btn_track")),
			tgbotapi.NewKeyboardButtonRow(btn("btn_faq"), btn("btn_call")),
			tgbotapi.NewKeyboardButtonRow(btn("btn_lang")),
		)
	case kbCollect:
		return tgbotapi.NewReplyKeyboard(
			tgbotapi.NewKeyboardButtonRow(btn("btn_done")),
			tgbotapi.NewKeyboardButtonRow(btn("btn_back")),
		)
	case kbPhone:
		return tgbotapi.NewReplyKeyboard(
			tgbotapi.NewKeyboardButtonRow(tgbotapi.NewKeyboardButtonContact(tr(lang, "btn_phone"))),
			tgbotapi.NewKeyboardButtonRow(btn("btn_back")),
		)
	case kbBack:
		return tgbotapi.NewReplyKeyboard(tgbotapi.NewKeyboardButtonRow(btn("btn_back")))
	case kbFAQ:
		rows := make([][]tgbotapi.KeyboardButton, 0, len(b.env.FAQs)+1)
		for _, f := range b.env.FAQs {
			rows = append(rows, tgbotapi.NewKeyboardButtonRow(tgbotapi.NewKeyboardButton(f.In(lang))))
		}
		return tgbotapi.NewReplyKeyboard(append(rows, tgbotapi.NewKeyboardButtonRow(btn("btn_back")))...)
	}
	return nil
}
