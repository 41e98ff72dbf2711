package webform

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/jalaali/go-jalaali"
	"golang.org/x/text/language"
)

// uiLangs are the languages of the pages, Persian first (the default).
var uiLangs = []language.Tag{language.Persian, language.English, language.Arabic}

var uiMatcher = language.NewMatcher(uiLangs)

// pickUILang chooses the page language: ?lang= (or a form's lang field),
// then Accept-Language, then Persian. It reads r.PostForm only if the
// handler already parsed it, so it never reads a body itself.
func pickUILang(r *http.Request) string {
	for _, l := range []string{r.URL.Query().Get("lang"), r.PostForm.Get("lang")} {
		if _, ok := uiText[strings.ToLower(l)]; ok {
			return strings.ToLower(l)
		}
	}
	if al := r.Header.Get("Accept-Language"); al != "" {
		tags, _, err := language.ParseAcceptLanguage(al)
		if err == nil && len(tags) > 0 {
			_, i, conf := uiMatcher.Match(tags...)
			if conf != language.No {
				base, _ := uiLangs[i].Base()
				return base.String()
			}
		}
	}
	return "fa"
}

// dirOf is the text direction of a UI language.
func dirOf(lang string) string {
	if lang == "fa" || lang == "ar" {
		return "rtl"
	}
	return "ltr"
}

// uiText holds every string the pages show, by language then key.
var uiText = map[string]map[string]string{
	"fa": {
		"lang_name":       "فارسی",
		"languages":       "زبان",
		"site":            "سامانهٔ ۱۳۷ شهرداری مشهد",
		"title_form":      "ثبت درخواست، پیشنهاد یا شکایت",
		"intro":           "درخواست خود را بنویسید. اگر پاسخ آن آماده باشد همین‌جا می‌بینید؛ وگرنه یک کد رهگیری می‌گیرید تا پیگیری کنید.",
		"label_text":      "متن درخواست",
		"hint_text":       "مثلاً: چراغ کوچهٔ ما سه شب است خاموش است.",
		"label_category":  "موضوع",
		"category_none":   "نمی‌دانم / موضوع دیگر",
		"label_phone":     "شمارهٔ تلفن همراه",
		"hint_phone":      "مثلاً ۰۹۱۲۱۲۳۴۵۶۷ — برای اطلاع‌رسانی پیامک می‌شود.",
		"label_name":      "نام (اختیاری)",
		"label_photo":     "عکس (اختیاری)",
		"hint_photo":      "JPEG، PNG یا WebP، حداکثر %s.",
		"label_location":  "محل (اختیاری)",
		"use_location":    "استفاده از موقعیت فعلی من",
		"locating":        "در حال یافتن موقعیت…",
		"location_failed": "موقعیت پیدا نشد؛ لطفاً نشانی را بنویسید.",
		"label_lat":       "عرض جغرافیایی",
		"label_long":      "طول جغرافیایی",
		"label_address":   "نشانی",
		"hint_address":    "مثلاً: بلوار وکیل‌آباد، وکیل‌آباد ۱۲، پلاک ۵",
		"submit":          "ارسال",
		"track_link":      "پیگیری درخواست با کد رهگیری",
		"new_request":     "ثبت درخواست تازه",
		"err_summary":     "لطفاً موارد مشخص‌شده را اصلاح کنید.",
		"err_text":        "لطفاً متن درخواست را بنویسید.",
		"err_text_long":   "متن درخواست بیش از حد بلند است.",
		"err_phone":       "شمارهٔ تلفن درست نیست. نمونه: ۰۹۱۲۱۲۳۴۵۶۷",
		"err_category":    "این موضوع در فهرست نیست.",
		"err_photo_type":  "عکس باید JPEG، PNG یا WebP باشد.",
		"err_photo_size":  "حجم عکس بیش از حد مجاز است.",
		"err_photo_again": "اگر عکس داشتید، لطفاً دوباره انتخابش کنید.",
		"err_location":    "مختصات درست نیست.",
		"err_too_large":   "حجم ارسال بیش از حد مجاز است.",
		"err_unavailable": "الان نتوانستیم درخواست را ثبت کنیم. لطفاً چند لحظه بعد دوباره بفرستید؛ متن شما در فرم مانده است.",
		"err_not_found":   "چنین درخواستی پیدا نشد.",
		"title_result":    "نتیجهٔ درخواست",
		"case_opened":     "درخواست شما ثبت شد.",
		"tracking_code":   "کد رهگیری",
		"keep_code":       "این کد را نگه دارید؛ با آن می‌توانید درخواست را پیگیری کنید.",
		"copy":            "کپی کد",
		"copied":          "کپی شد",
		"track_this":      "پیگیری این درخواست",
		"resolved":        "پاسخ درخواست شما",
		"pending":         "درخواست شما دریافت شد و در حال بررسی است.",
		"pending_more":    "این صفحه چند ثانیه دیگر به‌روز می‌شود.",
		"refresh":         "به‌روزرسانی",
		"failed":          "درخواست شما دریافت شد اما پردازش آن با مشکل روبه‌رو شد. همکاران ما آن را بررسی می‌کنند؛ لازم نیست دوباره بفرستید.",
		"title_track":     "پیگیری درخواست",
		"label_code":      "کد رهگیری ۱۰ رقمی",
		"track_submit":    "پیگیری",
		"err_code":        "کد رهگیری باید ۱۰ رقم باشد؛ لطفاً دوباره بررسی کنید.",
		"err_no_case":     "درخواستی با این کد رهگیری پیدا نشد.",
		"err_rate":        "تعداد دفعات پیگیری زیاد بود. لطفاً کمی بعد دوباره تلاش کنید.",
		"status":          "وضعیت",
		"service":         "موضوع",
		"department":      "واحد رسیدگی",
		"opened_at":       "زمان ثبت",
		"updated_at":      "آخرین تغییر",
		"answer":          "پاسخ",
		"timeline":        "روند رسیدگی",
		"st_open":         "ثبت شده",
		"st_assigned":     "در دست رسیدگی",
		"st_answered":     "پاسخ داده شده",
		"st_verified":     "پاسخ تأیید شده",
		"st_waiting":      "در انتظار اطلاعات شما",
		"st_follow_up":    "در حال پیگیری مجدد",
		"st_closed":       "بسته شده",
		"ev_opened":       "درخواست ثبت شد",
		"ev_message":      "پیام تازه",
		"ev_assigned":     "به واحد مربوط ارجاع شد",
		"ev_escalated":    "به سطح بالاتر ارجاع شد",
		"ev_answered":     "پاسخ داده شد",
		"ev_verified":     "پاسخ تأیید شد",
		"ev_closed":       "بسته شد",
		"ev_reopened":     "دوباره باز شد",
		"ev_rated":        "نظر شما ثبت شد",

		"ev_duplicate":     "به گزارش پیشینی از همین مشکل پیوست",
		"ev_not_duplicate": "جداگانه رسیدگی می‌شود",
	},
	"en": {
		"lang_name":       "English",
		"languages":       "Language",
		"site":            "Mashhad Municipality 137",
		"title_form":      "Send a request, suggestion or complaint",
		"intro":           "Write your request. If an answer is ready you will see it here; otherwise you get a tracking code to follow it up.",
		"label_text":      "Your request",
		"hint_text":       "For example: the street light in our alley has been off for three nights.",
		"label_category":  "Topic",
		"category_none":   "Not sure / other",
		"label_phone":     "Mobile number",
		"hint_phone":      "For example 09121234567 — we text you about progress.",
		"label_name":      "Name (optional)",
		"label_photo":     "Photo (optional)",
		"hint_photo":      "JPEG, PNG or WebP, at most %s.",
		"label_location":  "Location (optional)",
		"use_location":    "Use my current location",
		"locating":        "Finding your location…",
		"location_failed": "Could not find your location; please type the address.",
		"label_lat":       "Latitude",
		"label_long":      "Longitude",
		"label_address":   "Address",
		"hint_address":    "For example: Vakilabad Blvd, Vakilabad 12, No. 5",
		"submit":          "Send",
		"track_link":      "Track a request with its tracking code",
		"new_request":     "Send another request",
		"err_summary":     "Please correct the marked fields.",
		"err_text":        "Please write your request.",
		"err_text_long":   "Your request is too long.",
		"err_phone":       "This phone number is not valid. Example: 09121234567",
		"err_category":    "This topic is not on the list.",
		"err_photo_type":  "The photo must be JPEG, PNG or WebP.",
		"err_photo_size":  "The photo is too large.",
		"err_photo_again": "If you had chosen a photo, please choose it again.",
		"err_location":    "The coordinates are not valid.",
		"err_too_large":   "What you sent is too large.",
		"err_unavailable": "We could not register your request right now. Please send it again in a moment; your text is still in the form.",
		"err_not_found":   "No such request was found.",
		"title_result":    "Your request",
		"case_opened":     "Your request has been registered.",
		"tracking_code":   "Tracking code",
		"keep_code":       "Keep this code; you can follow up your request with it.",
		"copy":            "Copy code",
		"copied":          "Copied",
		"track_this":      "Track this request",
		"resolved":        "Answer to your request",
		"pending":         "Your request was received and is being reviewed.",
		"pending_more":    "This page refreshes in a few seconds.",
		"refresh":         "Refresh",
		"failed":          "Your request was received but processing it ran into a problem. Our staff will look at it; there is no need to send it again.",
		"title_track":     "Track a request",
		"label_code":      "10-digit tracking code",
		"track_submit":    "Track",
		"err_code":        "A tracking code is 10 digits; please check it.",
		"err_no_case":     "No request has this tracking code.",
		"err_rate":        "Too many lookups. Please try again a little later.",
		"status":          "Status",
		"service":         "Topic",
		"department":      "Handled by",
		"opened_at":       "Registered",
		"updated_at":      "Last change",
		"answer":          "Answer",
		"timeline":        "Progress",
		"st_open":         "Registered",
		"st_assigned":     "Being handled",
		"st_answered":     "Answered",
		"st_verified":     "Answer verified",
		"st_waiting":      "Waiting for your information",
		"st_follow_up":    "Being followed up",
		"st_closed":       "Closed",
		"ev_opened":       "Request registered",
		"ev_message":      "New message",
		"ev_assigned":     "Referred to the responsible department",
		"ev_escalated":    "Escalated",
		"ev_answered":     "Answered",
		"ev_verified":     "Answer verified",
		"ev_closed":       "Closed",
		"ev_reopened":     "Reopened",
		"ev_rated":        "Your rating was recorded",

		"ev_duplicate":     "Joined to an earlier report of the same problem",
		"ev_not_duplicate": "Handled on its own",
	},
	"ar": {
		"lang_name":       "العربية",
		"languages":       "اللغة",
		"site":            "منظومة ١٣٧ لبلدية مشهد",
		"title_form":      "تقديم طلب أو اقتراح أو شكوى",
		"intro":           "اكتب طلبك. إن كان الجواب جاهزًا تراه هنا، وإلا تحصل على رمز تتبّع لمتابعته.",
		"label_text":      "نص الطلب",
		"hint_text":       "مثلًا: مصباح الشارع في زقاقنا مطفأ منذ ثلاث ليالٍ.",
		"label_category":  "الموضوع",
		"category_none":   "لا أعرف / موضوع آخر",
		"label_phone":     "رقم الهاتف المحمول",
		"hint_phone":      "مثلًا 09121234567 أو رقمك الدولي مع + — نرسل لك رسالة بالتقدّم.",
		"label_name":      "الاسم (اختياري)",
		"label_photo":     "صورة (اختياري)",
		"hint_photo":      "JPEG أو PNG أو WebP، بحد أقصى %s.",
		"label_location":  "المكان (اختياري)",
		"use_location":    "استخدم موقعي الحالي",
		"locating":        "جارٍ تحديد الموقع…",
		"location_failed": "تعذّر تحديد الموقع؛ يرجى كتابة العنوان.",
		"label_lat":       "خط العرض",
		"label_long":      "خط الطول",
		"label_address":   "العنوان",
		"hint_address":    "مثلًا: شارع الإمام الرضا، قرب الحرم",
		"submit":          "إرسال",
		"track_link":      "متابعة طلب برمز التتبّع",
		"new_request":     "تقديم طلب جديد",
		"err_summary":     "يرجى تصحيح الحقول المشار إليها.",
		"err_text":        "يرجى كتابة نص الطلب.",
		"err_text_long":   "نص الطلب طويل جدًا.",
		"err_phone":       "رقم الهاتف غير صحيح. مثال: 09121234567",
		"err_category":    "هذا الموضوع ليس في القائمة.",
		"err_photo_type":  "يجب أن تكون الصورة JPEG أو PNG أو WebP.",
		"err_photo_size":  "حجم الصورة أكبر من المسموح.",
		"err_photo_again": "إن كنت اخترت صورة فيرجى اختيارها مرة أخرى.",
		"err_location":    "الإحداثيات غير صحيحة.",
		"err_too_large":   "حجم ما أرسلته أكبر من المسموح.",
		"err_unavailable": "تعذّر تسجيل طلبك الآن. يرجى الإرسال مجددًا بعد لحظات؛ نصّك ما زال في النموذج.",
		"err_not_found":   "لم يُعثر على هذا الطلب.",
		"title_result":    "نتيجة الطلب",
		"case_opened":     "تم تسجيل طلبك.",
		"tracking_code":   "رمز التتبّع",
		"keep_code":       "احتفظ بهذا الرمز؛ يمكنك متابعة طلبك به.",
		"copy":            "نسخ الرمز",
		"copied":          "تم النسخ",
		"track_this":      "متابعة هذا الطلب",
		"resolved":        "جواب طلبك",
		"pending":         "وصل طلبك وهو قيد المراجعة.",
		"pending_more":    "ستتحدّث هذه الصفحة خلال ثوانٍ.",
		"refresh":         "تحديث",
		"failed":          "وصل طلبك لكن حدثت مشكلة في معالجته. سيتولاه زملاؤنا؛ لا حاجة لإعادة الإرسال.",
		"title_track":     "متابعة طلب",
		"label_code":      "رمز التتبّع المكوّن من ١٠ أرقام",
		"track_submit":    "متابعة",
		"err_code":        "رمز التتبّع ١٠ أرقام؛ يرجى التحقق منه.",
		"err_no_case":     "لا يوجد طلب بهذا الرمز.",
		"err_rate":        "عدد محاولات المتابعة كبير. يرجى المحاولة بعد قليل.",
		"status":          "الحالة",
		"service":         "الموضوع",
		"department":      "الجهة المسؤولة",
		"opened_at":       "وقت التسجيل",
		"updated_at":      "آخر تغيير",
		"answer":          "الجواب",
		"timeline":        "مراحل المعالجة",
		"st_open":         "مسجّل",
		"st_assigned":     "قيد المعالجة",
		"st_answered":     "تمت الإجابة",
		"st_verified":     "تم تأكيد الجواب",
		"st_waiting":      "بانتظار معلوماتك",
		"st_follow_up":    "قيد المتابعة",
		"st_closed":       "مغلق",
		"ev_opened":       "تم تسجيل الطلب",
		"ev_message":      "رسالة جديدة",
		"ev_assigned":     "أُحيل إلى الجهة المسؤولة",
		"ev_escalated":    "رُفع إلى مستوى أعلى",
		"ev_answered":     "تمت الإجابة",
		"ev_verified":     "تم تأكيد الجواب",
		"ev_closed":       "أُغلق",
		"ev_reopened":     "أُعيد فتحه",
		"ev_rated":        "سُجّل تقييمك",

		"ev_duplicate":     "ضُمّ إلى بلاغ سابق عن المشكلة نفسها",
		"ev_not_duplicate": "يُعالج على حدة",
	},
}

// tehran is Iran Standard Time. A fixed zone is exact since Iran dropped
// daylight saving in 2022, and spares the binary the tz database.
var tehran = time.FixedZone("IRST", 3*3600+1800)

var arabicMonths = [...]string{"يناير", "فبراير", "مارس", "أبريل", "مايو", "يونيو",
	"يوليو", "أغسطس", "سبتمبر", "أكتوبر", "نوفمبر", "ديسمبر"}

// FormatDate shows t in Tehran time: Jalali with Persian digits for fa
// ("۶ آذر ۱۴۰۵، ۱۳:۲۰"), Gregorian for en and ar.
func FormatDate(t time.Time, lang string) string {
	if t.IsZero() {
		return ""
	}
	t = t.In(tehran)
	switch lang {
	case "fa":
		y, m, d, err := jalaali.ToJalaali(t.Year(), t.Month(), t.Day())
		if err != nil {
			return persianDigits(t.Format("2006-01-02 15:04"))
		}
		return persianDigits(fmt.Sprintf("%d %s %d، %02d:%02d", d, m.String(), y, t.Hour(), t.Minute()))
	case "ar":
		return arabicDigits(fmt.Sprintf("%d %s %d، %02d:%02d", t.Day(), arabicMonths[t.Month()-1], t.Year(), t.Hour(), t.Minute()))
	default:
		return t.Format("2 Jan 2006, 15:04") + " (Tehran)"
	}
}

func persianDigits(s string) string { return shiftDigits(s, '۰') }
func arabicDigits(s string) string  { return shiftDigits(s, '٠') }

func shiftDigits(s string, zero rune) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return zero + (r - '0')
		}
		return r
	}, s)
}

// localDigits writes ASCII digits in the page language's script.
func localDigits(s, lang string) string {
	switch lang {
	case "fa":
		return persianDigits(s)
	case "ar":
		return arabicDigits(s)
	}
	return s
}

// humanBytes is a size for hints ("5 MB").
func humanBytes(n int64, lang string) string {
	units := map[string][2]string{"fa": {"مگابایت", "کیلوبایت"}, "ar": {"ميغابايت", "كيلوبايت"}}[lang]
	if units[0] == "" {
		units = [2]string{"MB", "KB"}
	}
	var s string
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		s = fmt.Sprintf("%d %s", n>>20, units[0])
	case n >= 1<<20:
		s = fmt.Sprintf("%.1f %s", float64(n)/(1<<20), units[0])
	default:
		s = fmt.Sprintf("%d %s", (n+1023)>>10, units[1])
	}
	return localDigits(s, lang)
}
