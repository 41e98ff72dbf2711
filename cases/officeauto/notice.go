package officeauto

import (
	"fmt"
	"strings"
	"time"

	"github.com/dargah137/dargah/cases/workcal"
)

// NoticeData is what an email (or SMS) notice about a case event says.
// Names are already in the notice's language (org.Names.Get(lang)).
type NoticeData struct {
	Kind         Kind
	TrackingCode string
	Department   string // the department's display name
	Recipient    string // greeting name; empty for none
	Level        int
	DueAt        time.Time // zero on close
	Summary      string    // the case description, shortened by the caller if needed
	Outcome      string    // on close
	Link         string    // staff link to the case; empty for none
}

// Notice is a rendered message.
type Notice struct {
	Subject string
	Body    string
}

type noticeText struct {
	subject          map[Kind]string // %s = tracking code
	lead             map[Kind]string // %s = department
	greeting         string          // %s = recipient
	code, due, level string
	summary, outcome string
	footer           string
	digit            func(string) string // digits of numbers shown in this language
}

var texts = map[string]noticeText{
	"fa": {
		subject: map[Kind]string{
			KindAssigned:  "سامانه ۱۳۷: ارجاع درخواست به شماره پیگیری %s",
			KindEscalated: "سامانه ۱۳۷: ارجاع درخواست پاسخ‌داده‌نشده %s به سطح بالاتر",
			KindReminder:  "سامانه ۱۳۷: یادآوری درخواست بی‌پاسخ %s",
			KindClosed:    "سامانه ۱۳۷: بسته شدن درخواست %s",
		},
		lead: map[Kind]string{
			KindAssigned:  "درخواست شهروندی زیر برای رسیدگی به %s ارجاع شده است.",
			KindEscalated: "درخواست زیر در مهلت مقرر پاسخ داده نشده و برای رسیدگی در %s به شما ارجاع شده است.",
			KindReminder:  "درخواست زیر در %s همچنان بی‌پاسخ است. لطفاً در اسرع وقت رسیدگی فرمایید.",
			KindClosed:    "درخواست زیر در %s بسته شد.",
		},
		greeting: "%s گرامی،",
		code:     "شماره پیگیری", due: "مهلت پاسخ", level: "سطح ارجاع",
		summary: "شرح درخواست", outcome: "نتیجه",
		footer: "مرکز ارتباطات مردمی ۱۳۷ شهرداری مشهد",
		digit:  workcal.PersianDigits,
	},
	"en": {
		subject: map[Kind]string{
			KindAssigned:  "137: case %s assigned",
			KindEscalated: "137: unanswered case %s escalated",
			KindReminder:  "137: reminder, case %s is still unanswered",
			KindClosed:    "137: case %s closed",
		},
		lead: map[Kind]string{
			KindAssigned:  "The citizen request below has been assigned to %s.",
			KindEscalated: "The request below was not answered in time and is escalated to you at %s.",
			KindReminder:  "The request below is still unanswered at %s. Please act on it as soon as possible.",
			KindClosed:    "The request below at %s has been closed.",
		},
		greeting: "Dear %s,",
		code:     "Tracking code", due: "Answer due", level: "Escalation level",
		summary: "Request", outcome: "Outcome",
		footer: "Mashhad Municipality 137 Citizen Contact Center",
		digit:  func(s string) string { return s },
	},
	"ar": {
		subject: map[Kind]string{
			KindAssigned:  "١٣٧: إحالة الطلب رقم المتابعة %s",
			KindEscalated: "١٣٧: تصعيد الطلب غير المجاب %s",
			KindReminder:  "١٣٧: تذكير، الطلب %s ما زال دون رد",
			KindClosed:    "١٣٧: إغلاق الطلب %s",
		},
		lead: map[Kind]string{
			KindAssigned:  "أُحيل طلب المواطن التالي إلى %s للمتابعة.",
			KindEscalated: "لم يُجَب على الطلب التالي في المهلة المحددة، وقد صُعِّد إليكم في %s.",
			KindReminder:  "الطلب التالي في %s ما زال دون رد. يرجى المتابعة في أقرب وقت.",
			KindClosed:    "أُغلق الطلب التالي في %s.",
		},
		greeting: "%s المحترم،",
		code:     "رقم المتابعة", due: "موعد الرد", level: "مستوى التصعيد",
		summary: "نص الطلب", outcome: "النتيجة",
		footer: "مركز ١٣٧ للتواصل مع المواطنين – بلدية مشهد",
		digit:  func(s string) string { return s },
	},
}

// textFor returns the texts of lang (Persian for an unknown language) and
// the kind they say (assigned for an unknown kind).
func textFor(lang string, kind Kind) (string, noticeText, Kind) {
	t, ok := texts[lang]
	if !ok {
		lang, t = "fa", texts["fa"]
	}
	if _, ok := t.subject[kind]; !ok {
		kind = KindAssigned
	}
	return lang, t, kind
}

// RenderNotice renders a plain-text notice in lang ("fa", "en", "ar";
// anything else gets Persian). The tracking code stays in ASCII digits in
// every language so it can be copied into any system; dates are Jalali,
// Tehran time (Persian digits in fa, the Gregorian date added in en/ar).
func RenderNotice(lang string, d NoticeData) Notice {
	lang, t, kind := textFor(lang, d.Kind)
	var b strings.Builder
	if d.Recipient != "" {
		fmt.Fprintf(&b, t.greeting+"\n\n", d.Recipient)
	}
	fmt.Fprintf(&b, t.lead[kind]+"\n\n", d.Department)
	fmt.Fprintf(&b, "%s: %s\n", t.code, d.TrackingCode)
	if kind != KindAssigned {
		fmt.Fprintf(&b, "%s: %s\n", t.level, t.digit(fmt.Sprint(d.Level)))
	}
	if !d.DueAt.IsZero() && kind != KindClosed {
		due := workcal.FormatJalali(d.DueAt, true)
		if lang == "fa" {
			due = t.digit(due)
		} else {
			due += " (" + d.DueAt.In(workcal.Tehran()).Format("2006-01-02 15:04") + ")"
		}
		fmt.Fprintf(&b, "%s: %s\n", t.due, due)
	}
	if d.Outcome != "" {
		fmt.Fprintf(&b, "%s: %s\n", t.outcome, d.Outcome)
	}
	if s := strings.TrimSpace(d.Summary); s != "" {
		fmt.Fprintf(&b, "\n%s:\n%s\n", t.summary, s)
	}
	if d.Link != "" {
		fmt.Fprintf(&b, "\n%s\n", d.Link)
	}
	fmt.Fprintf(&b, "\n--\n%s\n", t.footer)
	return Notice{Subject: fmt.Sprintf(t.subject[kind], d.TrackingCode), Body: b.String()}
}

// RenderSMS renders the notice short enough for a text message: the
// subject (which carries the tracking code), the department and, until
// the case is closed, the answer's due date.
func RenderSMS(lang string, d NoticeData) string {
	lang, t, kind := textFor(lang, d.Kind)
	var b strings.Builder
	fmt.Fprintf(&b, t.subject[kind], d.TrackingCode)
	if d.Department != "" {
		b.WriteString("\n" + d.Department)
	}
	if !d.DueAt.IsZero() && kind != KindClosed {
		due := workcal.FormatJalali(d.DueAt, true)
		if lang == "fa" {
			due = t.digit(due)
		}
		fmt.Fprintf(&b, "\n%s: %s", t.due, due)
	}
	return b.String()
}
