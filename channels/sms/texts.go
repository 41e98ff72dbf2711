package sms

import "fmt"

// texts are what the portal itself says; the router's replies come
// localized already. Persian first.
var texts = map[string]map[string]string{
	"fa": {
		"received":    "پیام شما به سامانه ۱۳۷ رسید.",
		"tracking":    "کد پیگیری: %s",
		"rate_ask":    "لطفاً میزان رضایت خود از رسیدگی به درخواست %s را با ارسال عددی از ۱ (کم) تا ۵ (زیاد) اعلام کنید.",
		"rate_thanks": "از نظر شما سپاسگزاریم. امتیاز %s برای درخواست %s ثبت شد.",
		"status":      "درخواست %s: %s",
		"answered":    "پاسخ داده شد",
		"escalated":   "به مرجع بالاتر ارجاع شد",
		"closed":      "بسته شد",
		"assigned":    "به واحد مسئول ارجاع شد",
		"updated":     "به‌روز شد",
	},
	"en": {
		"received":    "Your message reached the 137 center.",
		"tracking":    "Tracking code: %s",
		"rate_ask":    "Please rate how request %s was handled: reply with a number from 1 (poor) to 5 (excellent).",
		"rate_thanks": "Thank you for your feedback. Rating %s was recorded for request %s.",
		"status":      "Request %s: %s",
		"answered":    "answered",
		"escalated":   "escalated",
		"closed":      "closed",
		"assigned":    "sent to the responsible department",
		"updated":     "updated",
	},
	"ar": {
		"received":    "وصلت رسالتك إلى مركز ۱۳۷.",
		"tracking":    "رمز المتابعة: %s",
		"rate_ask":    "يرجى تقييم معالجة الطلب %s بإرسال رقم من ۱ (ضعيف) إلى ۵ (ممتاز).",
		"rate_thanks": "شكراً لرأيك. تم تسجيل التقييم %s للطلب %s.",
		"status":      "الطلب %s: %s",
		"answered":    "تمت الإجابة",
		"escalated":   "أُحيل إلى جهة أعلى",
		"closed":      "أُغلق",
		"assigned":    "أُحيل إلى الوحدة المسؤولة",
		"updated":     "تم التحديث",
	},
}

// tr returns the text key in lang, falling back to Persian.
func tr(lang, key string, a ...any) string {
	t, ok := texts[lang][key]
	if !ok {
		t = texts["fa"][key]
	}
	if len(a) > 0 {
		return fmt.Sprintf(t, a...)
	}
	return t
}

// language picks the first supported of the candidates, else fallback.
func language(fallback string, candidates ...string) string {
	for _, c := range candidates {
		if _, ok := texts[c]; ok {
			return c
		}
	}
	return fallback
}
