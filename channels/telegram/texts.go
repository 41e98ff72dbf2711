package telegram

import "strings"

// What the bot says, Persian first. Every key has fa, ar and en; tr falls
// back to Persian for anything missing.
var texts = map[string]map[string]string{
	"choose_lang": {
		"fa": "به ربات ۱۳۷ خوش آمدید. لطفاً زبان را انتخاب کنید.\nPlease choose a language. · الرجاء اختيار اللغة.",
		"ar": "الرجاء اختيار اللغة.",
		"en": "Please choose a language.",
	},
	"menu": {
		"fa": "یکی از گزینه‌های زیر را انتخاب کنید، یا پرسش خود را بنویسید.",
		"ar": "اختر أحد الخيارات أدناه، أو اكتب سؤالك.",
		"en": "Choose an option below, or type your question.",
	},
	"btn_new":   {"fa": "📝 درخواست جدید", "ar": "📝 طلب جديد", "en": "📝 New request"},
	"btn_track": {"fa": "🔎 پیگیری درخواست", "ar": "🔎 متابعة طلب", "en": "🔎 Track a request"},
	"btn_faq":   {"fa": "❓ پرسش‌های پرتکرار", "ar": "❓ الأسئلة الشائعة", "en": "❓ Frequent questions"},
	"btn_call":  {"fa": "☎️ تماس با ۱۳۷", "ar": "☎️ الاتصال بـ 137", "en": "☎️ Talk to 137"},
	"btn_lang":  {"fa": "🌐 تغییر زبان", "ar": "🌐 تغيير اللغة", "en": "🌐 Language"},
	"btn_done":  {"fa": "✅ ثبت درخواست", "ar": "✅ إرسال الطلب", "en": "✅ Submit"},
	"btn_back":  {"fa": "↩️ بازگشت", "ar": "↩️ رجوع", "en": "↩️ Back"},
	"btn_phone": {"fa": "📱 ارسال شمارهٔ من", "ar": "📱 إرسال رقمي", "en": "📱 Share my number"},
	"describe": {
		"fa": "مشکل را شرح دهید. می‌توانید متن، عکس، پیام صوتی، فایل یا موقعیت مکانی بفرستید. در پایان «ثبت درخواست» را بزنید.",
		"ar": "صف المشكلة. يمكنك إرسال نص أو صورة أو رسالة صوتية أو ملف أو موقع. في النهاية اضغط «إرسال الطلب».",
		"en": "Describe the problem. You can send text, photos, voice notes, files or a location. When done, press “Submit”.",
	},
	"got_item": {
		"fa": "دریافت شد. اگر چیز دیگری هست بفرستید، وگرنه «ثبت درخواست» را بزنید.",
		"ar": "تم الاستلام. أرسل المزيد أو اضغط «إرسال الطلب».",
		"en": "Received. Send more, or press “Submit”.",
	},
	"empty_draft": {
		"fa": "هنوز چیزی دریافت نکرده‌ام. لطفاً مشکل را شرح دهید.",
		"ar": "لم أستلم شيئاً بعد. الرجاء وصف المشكلة.",
		"en": "Nothing received yet. Please describe the problem.",
	},
	"too_long": {
		"fa": "متن درخواست بیش از اندازه بلند است؛ لطفاً خلاصه‌تر بنویسید.",
		"ar": "النص طويل جداً؛ الرجاء الاختصار.",
		"en": "The description is too long; please shorten it.",
	},
	"too_many_files": {
		"fa": "حداکثر ۱۰ پیوست پذیرفته می‌شود.",
		"ar": "يُقبل 10 مرفقات كحد أقصى.",
		"en": "At most 10 attachments are accepted.",
	},
	"ask_phone": {
		"fa": "برای پیگیری، شمارهٔ تلفن خود را با دکمهٔ «ارسال شمارهٔ من» بفرستید.",
		"ar": "للمتابعة، أرسل رقم هاتفك بزر «إرسال رقمي».",
		"en": "To follow up, share your phone number with the “Share my number” button.",
	},
	"not_own_contact": {
		"fa": "فقط شمارهٔ خودتان پذیرفته می‌شود؛ لطفاً دکمهٔ «ارسال شمارهٔ من» را بزنید.",
		"ar": "يُقبل رقمك أنت فقط؛ الرجاء الضغط على «إرسال رقمي».",
		"en": "Only your own number is accepted; please press “Share my number”.",
	},
	"cancelled": {"fa": "درخواست لغو شد.", "ar": "تم إلغاء الطلب.", "en": "Request cancelled."},
	"ask_code": {
		"fa": "کد پیگیری ۱۰ رقمی را بفرستید.",
		"ar": "أرسل رمز المتابعة المكوّن من 10 أرقام.",
		"en": "Send the 10-digit tracking code.",
	},
	"bad_code": {
		"fa": "این کد پیگیری معتبر نیست. کد ۱۰ رقم دارد؛ لطفاً دوباره بررسی کنید.",
		"ar": "رمز المتابعة غير صالح. الرمز من 10 أرقام؛ الرجاء التحقق.",
		"en": "That tracking code is not valid. It has 10 digits; please check it.",
	},
	"not_found": {
		"fa": "درخواستی با این کد پیگیری پیدا نشد.",
		"ar": "لم يُعثر على طلب بهذا الرمز.",
		"en": "No request was found with that tracking code.",
	},
	"status": {
		"fa": "وضعیت درخواست %s: %s",
		"ar": "حالة الطلب %s: %s",
		"en": "Request %s: %s",
	},
	"answer":   {"fa": "پاسخ: %s", "ar": "الرد: %s", "en": "Answer: %s"},
	"tracking": {"fa": "کد پیگیری: %s", "ar": "رمز المتابعة: %s", "en": "Tracking code: %s"},
	"faq_pick": {
		"fa": "یکی از پرسش‌های زیر را انتخاب کنید، یا پرسش خود را بنویسید.",
		"ar": "اختر أحد الأسئلة أدناه، أو اكتب سؤالك.",
		"en": "Pick one of the questions below, or type your own.",
	},
	"ask_question": {
		"fa": "پرسش خود را بنویسید تا پاسخ دهیم.",
		"ar": "اكتب سؤالك وسنجيبك.",
		"en": "Type your question and we will answer.",
	},
	"call": {
		"fa": "مرکز ارتباطات مردمی ۱۳۷\nتلفن: %s\nساعات پاسخگویی: %s",
		"ar": "مركز 137 للتواصل مع المواطنين\nالهاتف: %s\nساعات العمل: %s",
		"en": "137 citizen contact center\nPhone: %s\nHours: %s",
	},
	"always": {"fa": "شبانه‌روزی", "ar": "على مدار الساعة", "en": "24 hours a day"},
	"edited": {
		"fa": "ویرایش پیام‌ها دریافت نمی‌شود؛ لطفاً متن درست را در پیامی تازه بفرستید.",
		"ar": "لا نستقبل تعديل الرسائل؛ الرجاء إرسال النص الصحيح في رسالة جديدة.",
		"en": "Edits are not received; please send the corrected text as a new message.",
	},
	"sticker": {
		"fa": "استیکر دریافت نمی‌شود؛ لطفاً متن، عکس یا پیام صوتی بفرستید.",
		"ar": "لا نستقبل الملصقات؛ الرجاء إرسال نص أو صورة أو رسالة صوتية.",
		"en": "Stickers are not received; please send text, a photo or a voice note.",
	},
	"unsupported": {
		"fa": "این نوع پیام پشتیبانی نمی‌شود؛ لطفاً متن، عکس، صوت، فایل یا موقعیت بفرستید.",
		"ar": "هذا النوع من الرسائل غير مدعوم؛ أرسل نصاً أو صورة أو صوتاً أو ملفاً أو موقعاً.",
		"en": "This kind of message is not supported; send text, a photo, voice, a file or a location.",
	},
	"unknown_command": {
		"fa": "این فرمان شناخته نشد. از منوی زیر استفاده کنید.",
		"ar": "هذا الأمر غير معروف. استخدم القائمة أدناه.",
		"en": "Unknown command. Please use the menu below.",
	},
	"too_big": {
		"fa": "حجم فایل بیش از %s است و دریافت نشد.",
		"ar": "حجم الملف أكبر من %s ولم يُستلم.",
		"en": "The file is larger than %s and was not received.",
	},
	"mb": {"fa": "%s مگابایت", "ar": "%s ميغابايت", "en": "%s MB"},
	"kb": {"fa": "%s کیلوبایت", "ar": "%s كيلوبايت", "en": "%s KB"},
	"file_failed": {
		"fa": "دریافت فایل ممکن نشد؛ لطفاً دوباره بفرستید.",
		"ar": "تعذّر استلام الملف؛ الرجاء إعادة الإرسال.",
		"en": "The file could not be received; please send it again.",
	},
	"try_later": {
		"fa": "سامانه موقتاً در دسترس نیست؛ چند دقیقهٔ دیگر دوباره تلاش کنید. اطلاعات شما نگه داشته شده است.",
		"ar": "النظام غير متاح مؤقتاً؛ حاول بعد دقائق. تم حفظ معلوماتك.",
		"en": "The service is briefly unavailable; please try again in a few minutes. Your information is kept.",
	},
	"invalid": {
		"fa": "پیام شما پذیرفته نشد؛ لطفاً دوباره و کامل‌تر بفرستید.",
		"ar": "لم تُقبل رسالتك؛ الرجاء إعادة الإرسال بشكل أوضح.",
		"en": "Your message was not accepted; please send it again in full.",
	},
	"rate_ask": {
		"fa": "لطفاً به رسیدگی به درخواست %s از ۱ (بد) تا ۵ (عالی) امتیاز دهید.",
		"ar": "الرجاء تقييم معالجة الطلب %s من 1 (سيئ) إلى 5 (ممتاز).",
		"en": "Please rate how request %s was handled, from 1 (poor) to 5 (excellent).",
	},
	"rate_thanks": {"fa": "از امتیاز شما سپاسگزاریم.", "ar": "شكراً لتقييمك.", "en": "Thank you for your rating."},
	"rate_comment": {
		"fa": "متأسفیم که راضی نبودید. لطفاً بنویسید چه چیزی باید بهتر می‌شد.",
		"ar": "نأسف لعدم رضاك. الرجاء كتابة ما كان يجب تحسينه.",
		"en": "We are sorry you were not satisfied. Please write what should have been better.",
	},
	"comment_thanks": {"fa": "نظر شما ثبت شد. سپاس.", "ar": "تم تسجيل ملاحظتك. شكراً.", "en": "Your comment was recorded. Thank you."},
	"received_default": {
		"fa": "پیام شما ثبت شد.",
		"ar": "تم تسجيل رسالتك.",
		"en": "Your message was recorded.",
	},
	"st_open":      {"fa": "ثبت شده", "ar": "مسجّل", "en": "registered"},
	"st_assigned":  {"fa": "در دست رسیدگی", "ar": "قيد المعالجة", "en": "being handled"},
	"st_answered":  {"fa": "پاسخ داده شده", "ar": "تم الرد", "en": "answered"},
	"st_verified":  {"fa": "پاسخ تأیید شده", "ar": "تم التحقق من الرد", "en": "answer verified"},
	"st_waiting":   {"fa": "در انتظار اطلاعات بیشتر از شما", "ar": "بانتظار معلومات إضافية منك", "en": "waiting for more information from you"},
	"st_follow_up": {"fa": "در حال پیگیری", "ar": "قيد المتابعة", "en": "being followed up"},
	"st_closed":    {"fa": "بسته شده", "ar": "مغلق", "en": "closed"},
}

// Language button labels, each in its own language.
var langButtons = []struct{ lang, label string }{
	{"fa", "فارسی"},
	{"ar", "العربية"},
	{"en", "English"},
}

// tr returns the text for key in lang, Persian when lang is unknown.
func tr(lang, key string) string {
	m := texts[key]
	if s, ok := m[lang]; ok {
		return s
	}
	return m["fa"]
}

// botLang maps any language to one the bot speaks (fa, ar, en).
func botLang(lang string) string {
	switch lang {
	case "ar", "en":
		return lang
	}
	return "fa"
}

// isButton reports whether text is the label of button key in any
// language: a keyboard sent before a language change still works.
func isButton(text, key string) bool {
	text = strings.TrimSpace(text)
	for _, s := range texts[key] {
		if text == s {
			return true
		}
	}
	return false
}

// isAnyButton reports whether text is the label of any keyboard button.
func isAnyButton(text string) bool {
	for key := range texts {
		if strings.HasPrefix(key, "btn_") && isButton(text, key) {
			return true
		}
	}
	_, isLang := langOfButton(text)
	return isLang
}

// langOfButton returns the language whose button label text is.
func langOfButton(text string) (string, bool) {
	text = strings.TrimSpace(text)
	for _, b := range langButtons {
		if text == b.label {
			return b.lang, true
		}
	}
	return "", false
}

// statusText names a case status for the citizen.
func statusText(lang, status string) string {
	if _, ok := texts["st_"+status]; ok {
		return tr(lang, "st_"+status)
	}
	return status
}
