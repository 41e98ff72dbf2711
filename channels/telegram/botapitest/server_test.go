package botapitest_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/dargah137/dargah/channels/telegram/botapitest"
)

// The double is checked through the client library Dargah uses, so the
// two agree on the wire, and with raw HTTP where the protocol matters.

func newAPI(t *testing.T, srv *botapitest.Server) *tgbotapi.BotAPI {
	t.Helper()
	api, err := tgbotapi.NewBotAPIWithAPIEndpoint(srv.Token, srv.Endpoint())
	if err != nil {
		t.Fatalf("new bot api: %v", err)
	}
	return api
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestGetMeAndAuth(t *testing.T) {
	t.Parallel()
	srv := botapitest.New(t)
	api := newAPI(t, srv)
	if api.Self.UserName != srv.Bot.Username {
		t.Fatalf("getMe username %q, want %q", api.Self.UserName, srv.Bot.Username)
	}
	_, err := tgbotapi.NewBotAPIWithAPIEndpoint("1:wrong", srv.Endpoint())
	var apiErr *tgbotapi.Error
	if !errors.As(err, &apiErr) || apiErr.Code != 401 || apiErr.Message != "Unauthorized" {
		t.Fatalf("wrong token: err %v, want 401 Unauthorized", err)
	}
	_, err = api.MakeRequest("noSuchMethod", nil)
	if !errors.As(err, &apiErr) || apiErr.Code != 404 || apiErr.Message != "Not Found" {
		t.Fatalf("unknown method: err %v, want 404 Not Found", err)
	}
}

func TestGetUpdatesOffsetAndLongPoll(t *testing.T) {
	t.Parallel()
	srv := botapitest.New(t)
	api := newAPI(t, srv)
	srv.SendText(42, 42, "سلام")
	srv.SendLocation(42, 42, 36.2972, 59.6067)
	ups, err := api.GetUpdates(tgbotapi.UpdateConfig{})
	if err != nil || len(ups) != 2 {
		t.Fatalf("getUpdates: %d updates, err %v", len(ups), err)
	}
	if ups[0].Message.Text != "سلام" || ups[1].Message.Location.Latitude != 36.2972 {
		t.Fatalf("unexpected updates %+v %+v", ups[0].Message, ups[1].Message)
	}
	// Unconfirmed updates come again; limit is honoured.
	again, _ := api.GetUpdates(tgbotapi.UpdateConfig{Limit: 1})
	if len(again) != 1 || again[0].UpdateID != ups[0].UpdateID {
		t.Fatalf("unconfirmed update not redelivered: %+v", again)
	}
	// A long poll returns as soon as an update arrives, not at its timeout.
	done := make(chan []tgbotapi.Update)
	go func() {
		u, _ := api.GetUpdates(tgbotapi.UpdateConfig{Offset: ups[1].UpdateID + 1, Timeout: 50})
		done <- u
	}()
	if _, err := srv.WaitCalls(ctxT(t), "getUpdates", 3); err != nil {
		t.Fatal(err)
	}
	srv.SendText(42, 42, "later")
	select {
	case u := <-done:
		if len(u) != 1 || u[0].Message.Text != "later" {
			t.Fatalf("long poll returned %+v", u)
		}
	case <-ctxT(t).Done():
		t.Fatal("long poll did not return when an update was queued")
	}
}

func TestSendMessageKeyboardsAndPress(t *testing.T) {
	t.Parallel()
	srv := botapitest.New(t)
	api := newAPI(t, srv)
	msg := tgbotapi.NewMessage(42, "شماره تلفن خود را بفرستید")
	msg.ReplyMarkup = tgbotapi.NewReplyKeyboard(tgbotapi.NewKeyboardButtonRow(tgbotapi.NewKeyboardButtonContact("ارسال شماره")))
	if _, err := api.Send(msg); err != nil {
		t.Fatal(err)
	}
	rate := tgbotapi.NewMessage(42, "امتیاز دهید")
	rate.ReplyMarkup = tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(
		tgbotapi.NewInlineKeyboardButtonData("1", "rate:1"), tgbotapi.NewInlineKeyboardButtonData("5", "rate:5")))
	sentRate, err := api.Send(rate)
	if err != nil {
		t.Fatal(err)
	}
	sent, err := srv.WaitSent(ctxT(t), 42, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !sent[0].RequestsContact() || sent[0].Buttons()[0] != "ارسال شماره" {
		t.Fatalf("contact keyboard not recorded: %+v", sent[0].Markup)
	}
	if got := strings.Join(sent[1].InlineData(), ","); got != "rate:1,rate:5" {
		t.Fatalf("inline data %q", got)
	}
	id := srv.PressButton("rate:5")
	ups, _ := api.GetUpdates(tgbotapi.UpdateConfig{})
	if len(ups) != 1 || ups[0].CallbackQuery == nil || ups[0].CallbackQuery.Data != "rate:5" || ups[0].CallbackQuery.ID != id {
		t.Fatalf("callback update %+v", ups)
	}
	if _, err := api.Request(tgbotapi.NewCallback(id, "ممنون")); err != nil {
		t.Fatal(err)
	}
	if _, err := api.Request(tgbotapi.NewCallback(id, "again")); err == nil {
		t.Fatal("answering a query twice succeeded")
	}
	edit := tgbotapi.NewEditMessageReplyMarkup(42, sentRate.MessageID, tgbotapi.InlineKeyboardMarkup{InlineKeyboard: [][]tgbotapi.InlineKeyboardButton{}})
	if _, err := api.Request(edit); err != nil {
		t.Fatal(err)
	}
	if len(srv.Edits(42)) != 1 || len(srv.Sent(42)[1].InlineData()) != 0 {
		t.Fatal("edit not applied")
	}
}

func TestUploadsAndDownloads(t *testing.T) {
	t.Parallel()
	srv := botapitest.New(t)
	api := newAPI(t, srv)
	photo := tgbotapi.NewPhoto(42, tgbotapi.FileBytes{Name: "map.jpg", Bytes: []byte("JPEGDATA")})
	photo.Caption = "نقشه"
	if _, err := api.Send(photo); err != nil {
		t.Fatal(err)
	}
	if _, err := api.Send(tgbotapi.NewDocument(42, tgbotapi.FileBytes{Name: "a.pdf", Bytes: []byte("%PDF")})); err != nil {
		t.Fatal(err)
	}
	if _, err := api.Send(tgbotapi.NewVoice(42, tgbotapi.FileBytes{Name: "v.ogg", Bytes: []byte("OggS")})); err != nil {
		t.Fatal(err)
	}
	sent := srv.Sent(42)
	if len(sent) != 3 || string(sent[0].FileData) != "JPEGDATA" || sent[0].Text != "نقشه" || sent[1].Method != "sendDocument" || sent[2].FileField != "voice" {
		t.Fatalf("uploads recorded wrong: %+v", sent)
	}

	srv.SendPhoto(42, 42, []byte("citizen photo bytes"), "چاله")
	ups, _ := api.GetUpdates(tgbotapi.UpdateConfig{})
	sizes := ups[0].Message.Photo
	f, err := api.GetFile(tgbotapi.FileConfig{FileID: sizes[len(sizes)-1].FileID})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(srv.URL + "/file/bot" + srv.Token + "/" + f.FilePath)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "citizen photo bytes" || f.FileSize != len(body) {
		t.Fatalf("download %q size %d", body, f.FileSize)
	}
	if _, err := api.GetFile(tgbotapi.FileConfig{FileID: "nope"}); err == nil {
		t.Fatal("getFile of an unknown id succeeded")
	}
}

func TestJSONRequestsAndErrorShape(t *testing.T) {
	t.Parallel()
	srv := botapitest.New(t)
	body := `{"chat_id":42,"text":"hi","reply_markup":{"inline_keyboard":[[{"text":"a","callback_data":"x"}]]}}`
	resp, err := http.Post(srv.URL+"/bot"+srv.Token+"/sendMessage", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := srv.Sent(42); len(got) != 1 || got[0].InlineData()[0] != "x" {
		t.Fatalf("JSON request not understood: %+v", got)
	}
	srv.FailNext("sendMessage", 429, 3)
	resp, err = http.PostForm(srv.URL+"/bot"+srv.Token+"/sendMessage", url.Values{"chat_id": {"42"}, "text": {"x"}})
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		OK          bool   `json:"ok"`
		ErrorCode   int    `json:"error_code"`
		Description string `json:"description"`
		Parameters  struct {
			RetryAfter int `json:"retry_after"`
		} `json:"parameters"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if resp.StatusCode != 429 || out.OK || out.ErrorCode != 429 || out.Parameters.RetryAfter != 3 || !strings.HasPrefix(out.Description, "Too Many Requests") {
		t.Fatalf("429 shape: status %d %+v", resp.StatusCode, out)
	}
}

func TestWebhookDeliveryWithSecretAndRetry(t *testing.T) {
	t.Parallel()
	srv := botapitest.New(t)
	api := newAPI(t, srv)
	got := make(chan tgbotapi.Update, 4)
	fails := 1
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Telegram-Bot-Api-Secret-Token") != "s3cret" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if fails > 0 { // only the delivery goroutine calls us, one at a time
			fails--
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		var u tgbotapi.Update
		_ = json.NewDecoder(r.Body).Decode(&u)
		got <- u
	}))
	t.Cleanup(hook.Close)
	if _, err := api.MakeRequest("setWebhook", tgbotapi.Params{"url": hook.URL + "/tg", "secret_token": "s3cret"}); err != nil {
		t.Fatal(err)
	}
	if _, err := api.GetUpdates(tgbotapi.UpdateConfig{}); err == nil {
		t.Fatal("getUpdates worked while a webhook is set")
	}
	srv.SendText(42, 42, "via webhook")
	select {
	case u := <-got:
		if u.Message.Text != "via webhook" {
			t.Fatalf("webhook update %+v", u.Message)
		}
	case <-ctxT(t).Done():
		t.Fatal("webhook not delivered")
	}
	if err := srv.WaitQueueEmpty(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if srv.Calls("webhook-failed") != 1 {
		t.Fatalf("failed deliveries %d, want 1 retried", srv.Calls("webhook-failed"))
	}
	if _, err := api.Request(tgbotapi.DeleteWebhookConfig{}); err != nil {
		t.Fatal(err)
	}
	if _, err := api.GetUpdates(tgbotapi.UpdateConfig{}); err != nil {
		t.Fatalf("getUpdates after deleteWebhook: %v", err)
	}
}

func TestDuplicateAndRateAccounting(t *testing.T) {
	t.Parallel()
	srv := botapitest.New(t)
	api := newAPI(t, srv)
	srv.SendText(42, 42, "once")
	ups, _ := api.GetUpdates(tgbotapi.UpdateConfig{})
	srv.DuplicateLastUpdate()
	dup, _ := api.GetUpdates(tgbotapi.UpdateConfig{Offset: ups[0].UpdateID + 1})
	if len(dup) != 1 || dup[0].UpdateID != ups[0].UpdateID {
		t.Fatalf("duplicate not redelivered: %+v", dup)
	}
	none, _ := api.GetUpdates(tgbotapi.UpdateConfig{Offset: ups[0].UpdateID + 1})
	if len(none) != 0 {
		t.Fatalf("duplicate delivered twice: %+v", none)
	}
	for range 2 {
		_, _ = api.Send(tgbotapi.NewMessage(42, "burst"))
	}
	if v := srv.RateViolations(); len(v) != 1 {
		t.Fatalf("two instant messages to one chat: violations %v, want 1", v)
	}
}
