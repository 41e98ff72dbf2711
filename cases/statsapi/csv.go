package statsapi

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/cases/workcal"
)

// BOM starts the CSV so Excel reads it as UTF-8 and shows Persian.
const BOM = "\uFEFF"

// Columns of the export, in order (the keys of the English header).
var Columns = []string{
	"tracking_code", "status", "service_code", "portal", "portal_kind", "department", "district", "outcome",
	"rating", "max_escalation_level",
	"opened_jalali", "opened_gregorian", "due_jalali", "due_gregorian",
	"result_jalali", "result_gregorian", "closed_jalali", "closed_gregorian",
	"hours_to_result", "result_within_3_days",
}

// headers are the header rows by language; "" is Persian.
var headers = map[string][]string{
	"fa": {"کد پیگیری", "وضعیت", "کد خدمت", "درگاه", "نوع درگاه", "واحد", "منطقه", "نتیجه",
		"رضایت", "بالاترین سطح ارجاع",
		"ثبت (شمسی)", "ثبت (میلادی)", "مهلت (شمسی)", "مهلت (میلادی)",
		"پاسخ (شمسی)", "پاسخ (میلادی)", "بسته شدن (شمسی)", "بسته شدن (میلادی)",
		"ساعت تا پاسخ", "پاسخ در ۳ روز"},
	"en": Columns,
	"ar": {"رمز المتابعة", "الحالة", "رمز الخدمة", "البوابة", "نوع البوابة", "الإدارة", "المنطقة", "النتيجة",
		"الرضا", "أعلى مستوى تصعيد",
		"التسجيل (هجري شمسي)", "التسجيل (ميلادي)", "المهلة (هجري شمسي)", "المهلة (ميلادي)",
		"الرد (هجري شمسي)", "الرد (ميلادي)", "الإغلاق (هجري شمسي)", "الإغلاق (ميلادي)",
		"ساعات حتى الرد", "الرد خلال 3 أيام"},
}

// WriteCSV writes the classification of every case opened in [from, to)
// to w as CSV: the BOM, a header row in lang (fa when empty; en gives the
// Columns keys) and one row per case, oldest first. Dates are in Asia/Tehran,
// Jalali "1405/01/01 14:30" and Gregorian "2026-03-21 14:30". It returns
// the number of cases written.
func WriteCSV(ctx context.Context, w io.Writer, store cases.StatsStore, from, to time.Time, lang string) (int, error) {
	if lang == "" {
		lang = "fa"
	}
	header, ok := headers[lang]
	if !ok {
		return 0, fmt.Errorf("export: language %q is not fa, en or ar", lang)
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	if _, err := bw.WriteString(BOM); err != nil {
		return 0, fmt.Errorf("export: %w", err)
	}
	cw := csv.NewWriter(bw)
	cw.UseCRLF = true // what Excel writes and expects
	if err := cw.Write(header); err != nil {
		return 0, fmt.Errorf("export: %w", err)
	}
	n := 0
	row := make([]string, len(Columns))
	err := store.CaseClassifications(ctx, from, to, func(c cases.Classification) error {
		Row(row, c)
		n++
		return cw.Write(row)
	})
	if err != nil {
		return n, fmt.Errorf("export: %w", err)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return n, fmt.Errorf("export: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return n, fmt.Errorf("export: %w", err)
	}
	return n, nil
}

// Row fills row (len(Columns)) with c's fields.
func Row(row []string, c cases.Classification) {
	jal := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return workcal.FormatJalali(t, true)
	}
	greg := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.In(workcal.Tehran()).Format("2006-01-02 15:04")
	}
	hours, within := "", ""
	if d, ok := c.TimeToResult(); ok {
		hours = strconv.FormatFloat(d.Hours(), 'f', 1, 64)
		within = strconv.FormatBool(d <= cases.ResultWithin)
	} else {
		within = "false"
	}
	rating := ""
	if c.Rating > 0 {
		rating = strconv.Itoa(c.Rating)
	}
	copy(row, []string{
		cell(c.TrackingCode), cell(string(c.Status)), cell(c.ServiceCode), cell(c.Portal), cell(c.PortalKind),
		cell(c.Department), cell(c.District), cell(c.Outcome), rating, strconv.Itoa(c.MaxLevel),
		jal(c.OpenedAt), greg(c.OpenedAt), jal(c.DueAt), greg(c.DueAt),
		jal(c.ResultAt), greg(c.ResultAt), jal(c.ClosedAt), greg(c.ClosedAt),
		hours, within,
	})
}

// cell defuses spreadsheet formulas: a text cell that starts with = + - @
// (or a tab or CR) gets a leading apostrophe, so Excel shows it as text
// instead of running it (CSV injection).
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
