package routing

import (
	"context"
	"errors"
	"strconv"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/gateway"
)

// ratingThanks is the reply to a rating, by language.
var ratingThanks = map[string]string{
	"fa": "از امتیاز شما سپاسگزاریم. نظر شما ثبت شد.",
	"en": "Thank you for your rating. Your feedback has been recorded.",
	"ar": "شكراً لتقييمكم. تم تسجيل رأيكم.",
}

var ratingUnknown = map[string]string{
	"fa": "درخواستی با این کد رهگیری برای امتیازدهی پیدا نشد.",
	"en": "No request with this tracking code was found to rate.",
	"ar": "لم يتم العثور على طلب بهذا الرمز للتقييم.",
}

func inLang(m map[string]string, lang string) string {
	if s, ok := m[lang]; ok {
		return s
	}
	return m["fa"]
}

// rating is the rule for a rating the portal recognised (a Telegram
// button, an SMS digit after a rating request): Metadata kind=rating,
// tracking_code and rating. The message is linked to the case, where the
// case store's process hook records the rating in the deciding
// transaction (so a redelivered message never rates twice). ok is false
// for every other message.
func (r *Router) rating(ctx context.Context, m gateway.Message, lang string) (gateway.Decision, bool, error) {
	if m.Metadata["kind"] != "rating" {
		return gateway.Decision{}, false, nil
	}
	code := m.Metadata["tracking_code"]
	d := gateway.Decision{Outcome: gateway.OutcomeResolved, Rule: "rating"}
	if n, err := strconv.Atoi(m.Metadata["rating"]); err != nil || n < 1 || n > 5 || !cases.ValidTrackingCode(code) {
		d.Reply = inLang(ratingUnknown, lang)
		return d, true, nil
	}
	if _, err := r.lookup.CaseGetByTracking(ctx, code); err != nil {
		if errors.Is(err, cases.ErrNotFound) {
			d.Reply = inLang(ratingUnknown, lang)
			return d, true, nil
		}
		return gateway.Decision{}, true, err
	}
	d.LinkedTracking, d.Reply = code, inLang(ratingThanks, lang)
	return d, true, nil
}
