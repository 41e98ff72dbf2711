package telegram

import (
	"strings"
	"testing"

	"github.com/dargah137/dargah/gateway"
)

func txt(s string) event         { return event{Kind: evText, Text: s, ID: "1:1"} }
func cmd(s string) event         { return event{Kind: evCommand, Text: s, ID: "1:1"} }
func btn(lang, key string) event { return txt(tr(lang, key)) }

func keys(rs []reply) string {
	var out []string
	for _, r := range rs {
		k := r.Key
		if k == "" {
			k = "text"
		}
		out = append(out, k)
	}
	return strings.Join(out, ",")
}

const validCode = "1234567890" // a valid Verhoeff check digit

func TestDialogSteps(t *testing.T) {
	t.Parallel()
	att := &gateway.Attachment{ID: "a1", ContentType: "image/jpeg"}
	menuFa := dialog{Step: stepMenu, Lang: "fa"}
	collectFa := dialog{Step: stepCollect, Lang: "fa", Draft: draft{StartID: "1:1"}}
	withText := dialog{Step: stepCollect, Lang: "fa", Draft: draft{Texts: []string{"چاله"}}}
	tests := []struct {
		name     string
		from     dialog
		ev       event
		wantStep stepName
		wantKeys string
		wantAct  actionKind
	}{
		{"start asks language", dialog{}, cmd("start"), stepLang, "choose_lang", actNone},
		{"start from the middle of a draft resets", withText, cmd("start"), stepLang, "choose_lang", actNone},
		{"first text without language asks it", dialog{}, txt("سلام"), stepLang, "choose_lang", actNone},
		{"language chosen", dialog{Step: stepLang}, txt("English"), stepMenu, "menu", actNone},
		{"unknown language label asks again", dialog{Step: stepLang}, txt("Deutsch"), stepLang, "choose_lang", actNone},
		{"unknown command", menuFa, cmd("foo"), stepMenu, "unknown_command", actNone},
		{"new request", menuFa, btn("fa", "btn_new"), stepCollect, "describe", actNone},
		{"button of another language still works", menuFa, btn("en", "btn_new"), stepCollect, "describe", actNone},
		{"track", menuFa, btn("fa", "btn_track"), stepTrack, "ask_code", actNone},
		{"faq", menuFa, btn("fa", "btn_faq"), stepAsk, "faq_pick", actNone},
		{"call 137", menuFa, btn("fa", "btn_call"), stepMenu, "call", actNone},
		{"change language", menuFa, btn("fa", "btn_lang"), stepLang, "choose_lang", actNone},
		{"code typed in menu", menuFa, txt("کد من " + toFa(validCode)), stepMenu, "", actTrack},
		{"free text in menu goes to the router", menuFa, txt("ساعت کاری شهرداری؟"), stepMenu, "", actSubmitText},
		{"photo in menu begins a request", menuFa, event{Kind: evMedia, Attachment: att}, stepCollect, "got_item", actNone},
		{"sticker in menu", menuFa, event{Kind: evSticker}, stepMenu, "sticker", actNone},
		{"expired dialog with language acts as menu", dialog{Lang: "fa"}, btn("fa", "btn_new"), stepCollect, "describe", actNone},
		{"text collected", collectFa, txt("چاله"), stepCollect, "got_item", actNone},
		{"location collected", collectFa, event{Kind: evLocation, Location: &gateway.Location{Lat: 36.3, Long: 59.6}}, stepCollect, "got_item", actNone},
		{"oversized file", collectFa, event{Kind: evMediaTooBig}, stepCollect, "too_big", actNone},
		{"media without attachment", collectFa, event{Kind: evMedia}, stepCollect, "file_failed", actNone},
		{"sticker while collecting", collectFa, event{Kind: evSticker}, stepCollect, "sticker", actNone},
		{"submit empty draft", collectFa, btn("fa", "btn_done"), stepCollect, "empty_draft", actNone},
		{"submit asks phone", withText, btn("fa", "btn_done"), stepPhone, "ask_phone", actNone},
		{"submit with known phone", func() dialog { d := withText; d.Phone = "+989121234567"; return d }(), btn("fa", "btn_done"), stepMenu, "", actSubmitRequest},
		{"cancel draft", withText, btn("fa", "btn_back"), stepMenu, "cancelled", actNone},
		{"foreign contact refused", dialog{Step: stepPhone, Lang: "fa", Draft: withText.Draft}, event{Kind: evContact, Phone: "+989121111111"}, stepPhone, "not_own_contact", actNone},
		{"own contact submits", dialog{Step: stepPhone, Lang: "fa", Draft: withText.Draft}, event{Kind: evContact, Phone: "+989121111111", OwnContact: true}, stepMenu, "", actSubmitRequest},
		{"typed phone is not a contact", dialog{Step: stepPhone, Lang: "fa", Draft: withText.Draft}, txt("09121111111"), stepPhone, "ask_phone", actNone},
		{"valid code", dialog{Step: stepTrack, Lang: "fa"}, txt(validCode), stepMenu, "", actTrack},
		{"invalid code", dialog{Step: stepTrack, Lang: "fa"}, txt("1234567891"), stepTrack, "bad_code", actNone},
		{"question", dialog{Step: stepAsk, Lang: "fa"}, txt("عوارض نوسازی چطور پرداخت می‌شود؟"), stepMenu, "", actSubmitText},
		{"high rating", menuFa, event{Kind: evRate, Code: validCode, Rating: 5}, stepMenu, "rate_thanks", actSubmitRating},
		{"low rating asks a comment", menuFa, event{Kind: evRate, Code: validCode, Rating: 2}, stepComment, "rate_comment", actSubmitRating},
		{"comment recorded", dialog{Step: stepComment, Lang: "fa", Rating: &pendingRating{Code: validCode, Rating: 1}}, txt("دیر"), stepMenu, "comment_thanks", actSubmitRating},
		{"comment skipped with a menu button", dialog{Step: stepComment, Lang: "fa", Rating: &pendingRating{Code: validCode, Rating: 1}}, btn("fa", "btn_track"), stepTrack, "ask_code", actNone},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, rs, a := step(tc.from, tc.ev)
			if d.Step != tc.wantStep || keys(rs) != tc.wantKeys || a.Kind != tc.wantAct {
				t.Fatalf("step → %q, replies %q, action %d; want %q, %q, %d", d.Step, keys(rs), a.Kind, tc.wantStep, tc.wantKeys, tc.wantAct)
			}
		})
	}
}

// TestDialogGathersARequest walks a draft through several messages and
// checks what would be submitted.
func TestDialogGathersARequest(t *testing.T) {
	t.Parallel()
	d := dialog{Lang: "fa", Step: stepMenu}
	var a action
	for _, ev := range []event{
		btn("fa", "btn_new"),
		txt("چراغ کوچه خاموش است"),
		{Kind: evMedia, Attachment: &gateway.Attachment{ID: "p1"}, Text: "عکس"},
		{Kind: evLocation, Location: &gateway.Location{Lat: 36.3, Long: 59.6}},
		btn("fa", "btn_done"),
		{Kind: evContact, Phone: "+989121234567", OwnContact: true},
	} {
		d, _, a = step(d, ev)
	}
	if a.Kind != actSubmitRequest || a.Draft.text() != "چراغ کوچه خاموش است\nعکس" || len(a.Draft.Attachments) != 1 || a.Draft.Location.Lat != 36.3 {
		t.Fatalf("submitted %+v", a)
	}
	if d.Phone != "+989121234567" || d.Step != stepMenu || !d.Draft.empty() {
		t.Fatalf("dialog after submit %+v", d)
	}
	// The phone is remembered: the next request does not ask again.
	for _, ev := range []event{btn("fa", "btn_new"), txt("دوباره"), btn("fa", "btn_done")} {
		d, _, a = step(d, ev)
	}
	if a.Kind != actSubmitRequest {
		t.Fatalf("second request not submitted at once: %+v", a)
	}
}

func TestDialogBounds(t *testing.T) {
	t.Parallel()
	d := dialog{Lang: "fa", Step: stepCollect}
	for i := range maxDraftAttachments + 1 {
		var rs []reply
		d, rs, _ = step(d, event{Kind: evMedia, Attachment: &gateway.Attachment{ID: "x"}})
		if i == maxDraftAttachments && keys(rs) != "too_many_files" {
			t.Fatalf("attachment %d accepted: %s", i+1, keys(rs))
		}
	}
	long := strings.Repeat("ا", gateway.MaxTextBytes/2)
	d, rs, _ := step(d, txt(long))
	if keys(rs) != "too_long" || len(d.Draft.Texts) != 0 {
		t.Fatalf("oversized text accepted: %s", keys(rs))
	}
}

func TestTextsComplete(t *testing.T) {
	t.Parallel()
	for key, m := range texts {
		for _, lang := range []string{"fa", "ar", "en"} {
			if m[lang] == "" {
				t.Errorf("text %q has no %s", key, lang)
			}
		}
	}
}

func toFa(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return '۰' + (r - '0')
		}
		return r
	}, s)
}
