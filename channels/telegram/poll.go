package telegram

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

// allowedUpdates are the update kinds the bot asks for; the rest (inline
// queries, polls, channel posts…) are never delivered.
var allowedUpdates = []string{"message", "edited_message", "callback_query"}

const maxBackoff = 30 * time.Second

// pollLoop holds the lease and long-polls until ctx ends. A failed poll
// backs off and tries again with the same offset, so nothing is lost; the
// offset advances in KV only after a batch is processed.
func (b *Bot) pollLoop(ctx context.Context) {
	backoff := b.retryBase
	wait := func(what string, err error) {
		b.log.Warn("telegram polling: "+what, "err", err, "retry_in", backoff)
		// Jitter keeps instances that failed together from retrying together.
		_ = sleep(ctx, backoff/2+rand.N(backoff/2+1))
		backoff = min(backoff*2, maxBackoff)
	}
	leaseTTL := b.cfg.PollTimeout + 30*time.Second
	ready := false
	for ctx.Err() == nil {
		held, err := b.Leaser.Acquire(ctx, b.key("lease"), b.instance, leaseTTL)
		if err != nil {
			wait("lease", err)
			continue
		}
		if !held {
			// Another instance polls; stand by and try again.
			_ = sleep(ctx, b.retryBase*2)
			continue
		}
		api := b.apiWith(ctx)
		if !ready {
			me, err := api.GetMe()
			if err != nil {
				wait("getMe", err)
				continue
			}
			// getUpdates fails with 409 while a webhook is set. Pending
			// updates are kept.
			if _, err := api.Request(tgbotapi.DeleteWebhookConfig{}); err != nil {
				wait("deleteWebhook", err)
				continue
			}
			b.log.Info("telegram polling started", "bot", me.UserName)
			ready = true
		}
		offset, err := b.loadOffset(ctx)
		if err != nil {
			wait("read offset", err)
			continue
		}
		ups, err := api.GetUpdates(tgbotapi.UpdateConfig{
			Offset:         offset,
			Limit:          100,
			Timeout:        int(b.cfg.PollTimeout / time.Second),
			AllowedUpdates: allowedUpdates,
		})
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			wait("getUpdates", err)
			continue
		}
		backoff = b.retryBase
		if len(ups) == 0 {
			continue
		}
		// Finish the batch even if Stop comes meanwhile: Stop waits for it.
		b.processBatch(context.WithoutCancel(ctx), ups, offset)
		next := offset
		for _, u := range ups {
			next = max(next, u.UpdateID+1)
		}
		if err := b.env.KV.KVPut(context.WithoutCancel(ctx), b.key("offset"), []byte(strconv.Itoa(next)), 0); err != nil {
			// The batch comes again and is skipped by update id.
			b.log.Error("telegram polling: store offset", "offset", next, "err", err)
		}
	}
}

func (b *Bot) loadOffset(ctx context.Context) (int, error) {
	v, found, err := b.env.KV.KVGet(ctx, b.key("offset"))
	if err != nil || !found {
		return 0, err
	}
	n, err := strconv.Atoi(string(v))
	if err != nil || n < 0 {
		b.log.Error("telegram polling: ignoring corrupt offset", "value", string(v))
		return 0, nil
	}
	return n, nil
}

// processBatch handles a batch with one goroutine per chat, so chats
// proceed in parallel while each chat's updates keep their order. Updates
// below the stored offset were already processed (a redelivery).
func (b *Bot) processBatch(ctx context.Context, ups []tgbotapi.Update, offset int) {
	byChat := map[int64][]tgbotapi.Update{}
	var order []int64
	for _, u := range ups {
		if u.UpdateID < offset {
			continue
		}
		c := chatOf(u)
		if _, ok := byChat[c]; !ok {
			order = append(order, c)
		}
		byChat[c] = append(byChat[c], u)
	}
	var wg sync.WaitGroup
	for _, c := range order {
		wg.Add(1)
		go func(list []tgbotapi.Update) {
			defer wg.Done()
			unlock := b.locks.lock(c)
			defer unlock()
			for _, u := range list {
				b.handleUpdate(ctx, u)
			}
		}(byChat[c])
	}
	wg.Wait()
}

// chatOf returns the chat an update belongs to (0 when none).
func chatOf(u tgbotapi.Update) int64 {
	switch {
	case u.Message != nil && u.Message.Chat != nil:
		return u.Message.Chat.ID
	case u.EditedMessage != nil && u.EditedMessage.Chat != nil:
		return u.EditedMessage.Chat.ID
	case u.ChannelPost != nil && u.ChannelPost.Chat != nil:
		return u.ChannelPost.Chat.ID
	case u.CallbackQuery != nil && u.CallbackQuery.Message != nil && u.CallbackQuery.Message.Chat != nil:
		return u.CallbackQuery.Message.Chat.ID
	case u.CallbackQuery != nil && u.CallbackQuery.From != nil:
		return u.CallbackQuery.From.ID
	}
	return 0
}

// registerWebhook tells Telegram where to deliver updates, retrying until
// it succeeds or ctx ends. The library's WebhookConfig predates
// secret_token, hence the raw request.
func (b *Bot) registerWebhook(ctx context.Context) {
	allowed, _ := json.Marshal(allowedUpdates)
	params := tgbotapi.Params{
		"url":             b.cfg.WebhookURL,
		"secret_token":    b.secret,
		"allowed_updates": string(allowed),
	}
	backoff := b.retryBase
	for ctx.Err() == nil {
		if _, err := b.apiWith(ctx).MakeRequest("setWebhook", params); err == nil {
			b.log.Info("telegram webhook registered", "url", b.cfg.WebhookURL)
			return
		} else if ctx.Err() == nil {
			b.log.Warn("telegram setWebhook failed, will retry", "err", err, "retry_in", backoff)
		}
		_ = sleep(ctx, backoff)
		backoff = min(backoff*2, maxBackoff)
	}
}

// serveWebhook receives one update from Telegram. It answers 200 once the
// update is handled (Telegram retries anything else), 401 for a wrong
// secret and 503 while stopping, so the update comes again later.
func (b *Bot) serveWebhook(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	got := r.Header.Get("X-Telegram-Bot-Api-Secret-Token")
	if subtle.ConstantTimeCompare([]byte(got), []byte(b.secret)) != 1 {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	u, err := decodeUpdate(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	b.mu.Lock()
	if b.stopping {
		b.mu.Unlock()
		http.Error(w, "stopping", http.StatusServiceUnavailable)
		return
	}
	b.inflight.Add(1)
	b.mu.Unlock()
	defer b.inflight.Done()
	unlock := b.locks.lock(chatOf(u))
	b.handleUpdate(context.WithoutCancel(r.Context()), u)
	unlock()
	w.WriteHeader(http.StatusOK)
}
