package routing

import "github.com/dargah137/dargah/cases"

// statusNames are what citizens are told about a case, by status and language.
var statusNames = map[cases.Status]map[string]string{
	cases.StatusOpen: {
		"fa": "ثبت شده و در انتظار ارجاع",
		"en": "registered, waiting to be assigned",
		"ar": "مسجّل وبانتظار الإحالة",
		"ur": "درج ہو گئی، منتقلی کی منتظر",
	},
	cases.StatusAssigned: {
		"fa": "ارجاع شده به واحد مربوط و در دست بررسی",
		"en": "assigned to the responsible department, in progress",
		"ar": "أُحيل إلى الجهة المختصة وقيد المتابعة",
		"ur": "متعلقہ شعبے کو بھیج دی گئی، کارروائی جاری ہے",
	},
	cases.StatusAnswered: {
		"fa": "پاسخ داده شده، در انتظار تأیید ۱۳۷",
		"en": "answered by the department, being verified by 137",
		"ar": "تمت الإجابة، بانتظار تحقق 137",
		"ur": "جواب دے دیا گیا، 137 کی تصدیق باقی ہے",
	},
	cases.StatusVerified: {
		"fa": "انجام شده و تأیید شده",
		"en": "done and verified",
		"ar": "أُنجز وتم التحقق منه",
		"ur": "مکمل اور تصدیق شدہ",
	},
	cases.StatusWaiting: {
		"fa": "در انتظار اطلاعات بیشتر از شما",
		"en": "waiting for more information from you",
		"ar": "بانتظار معلومات إضافية منكم",
		"ur": "آپ سے مزید معلومات کا انتظار ہے",
	},
	cases.StatusFollowUp: {
		"fa": "در حال پیگیری مجدد",
		"en": "being followed up again",
		"ar": "قيد المتابعة مجددًا",
		"ur": "دوبارہ پیروی جاری ہے",
	},
	cases.StatusClosed: {
		"fa": "بسته شده",
		"en": "closed",
		"ar": "مغلق",
		"ur": "بند کر دی گئی",
	},
}

// StatusName is the citizen-facing name of status in lang (fa, en, ar, ur),
// falling back to Persian for another language and to the raw status for
// one this package does not know.
func StatusName(status cases.Status, lang string) string {
	names, ok := statusNames[status]
	if !ok {
		return string(status)
	}
	if n, ok := names[lang]; ok {
		return n
	}
	return names["fa"]
}
