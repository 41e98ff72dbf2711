package process

import (
	"fmt"

	"github.com/dargah137/dargah/cases"
)

// Notices to the citizen, Persian first. Each takes the tracking code and
// one more value (the answer, the question, a note).
type msg map[string]string

var (
	msgAnswered = msg{
		"fa": "پاسخ درخواست شما با کد رهگیری %s:\n%s",
		"en": "The answer to your request %s:\n%s",
		"ar": "الرد على طلبكم برقم التتبع %s:\n%s",
	}
	msgInfoRequest = msg{
		"fa": "برای رسیدگی به درخواست %s اطلاعات بیشتری لازم است:\n%s\nلطفاً در همین گفتگو پاسخ دهید.",
		"en": "We need more information to handle request %s:\n%s\nPlease reply in this conversation.",
		"ar": "نحتاج إلى مزيد من المعلومات لمعالجة الطلب %s:\n%s\nيرجى الرد في هذه المحادثة.",
	}
	msgDuplicateResolved = msg{
		"fa": "گزارش شما مشابه درخواست %s بود که رسیدگی شد:\n%s",
		"en": "Your report matched request %s, which has been resolved:\n%s",
		"ar": "كان بلاغكم مطابقاً للطلب %s الذي تمت معالجته:\n%s",
	}
	msgClosed = msg{
		"fa": "درخواست %s بسته شد.\n%s",
		"en": "Request %s has been closed.\n%s",
		"ar": "تم إغلاق الطلب %s.\n%s",
	}
)

// text renders m in the case's language.
func text(c *cases.Case, m msg, code, s string) string {
	lang := c.Language
	if lang == "" {
		lang = c.Contact.Language
	}
	f, ok := m[lang]
	if !ok {
		f = m["fa"]
	}
	return fmt.Sprintf(f, code, s)
}
