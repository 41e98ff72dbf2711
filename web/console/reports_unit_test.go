package console

import (
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/dargah137/dargah/cases/workcal"
)

func TestParseRange(t *testing.T) {
	t.Parallel()
	// 1405/09/06 10:00 Tehran.
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, workcal.Tehran())
	c := &Console{now: func() time.Time { return now }}
	day := func(s string) time.Time {
		d, err := workcal.ParseJalaliDate(s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	for _, tc := range []struct {
		from, to, err string
		start, end    time.Time
	}{
		{"", "", "", day("1405/08/07"), day("1405/09/07")},
		{"1405/08/01", "1405/08/01", "", day("1405/08/01"), day("1405/08/02")},
		{"۱۴۰۵/۰۸/۰۱", "١٤٠٥-٠٨-١٠", "", day("1405/08/01"), day("1405/08/11")},
		{"", "1405/07/30", "", day("1405/07/01"), day("1405/08/01")},
		{"1405/13/01", "", "report_bad_date", time.Time{}, time.Time{}},
		{"", "x", "report_bad_date", time.Time{}, time.Time{}},
		{"1405/08/10", "1405/08/01", "report_to_before_from", time.Time{}, time.Time{}},
	} {
		r := httptest.NewRequest("GET", "/console/reports?"+url.Values{"from": {tc.from}, "to": {tc.to}}.Encode(), nil)
		rg := c.parseRange(r, "fa")
		if rg.ErrorKey != tc.err || !rg.from.Equal(tc.start) || !rg.to.Equal(tc.end) {
			t.Errorf("%q–%q: %+v, want [%v, %v) %q", tc.from, tc.to, rg, tc.start, tc.end, tc.err)
		}
	}
	if rg := c.parseRange(httptest.NewRequest("GET", "/console/reports", nil), "fa"); rg.From != "۱۴۰۵/۰۸/۰۷" || rg.To != "۱۴۰۵/۰۹/۰۶" {
		t.Errorf("default shown as %q–%q", rg.From, rg.To)
	}
}

func TestPercent(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		lang string
		f    float64
		want string
	}{
		{"fa", 0.6, "۶۰٪"}, {"fa", 2.0 / 3, "۶۶٫۷٪"}, {"en", 0.875, "87.5%"}, {"ar", 0, "۰٪"},
	} {
		if got := percent(tc.lang, tc.f); got != tc.want {
			t.Errorf("percent(%s, %v) = %q, want %q", tc.lang, tc.f, got, tc.want)
		}
	}
}

// FuzzParseRange: any query gives a range or an error key, never a panic,
// and an accepted range is never empty or backwards.
func FuzzParseRange(f *testing.F) {
	for _, s := range [][2]string{{"", ""}, {"1405/08/01", "1405/08/30"}, {"۱۴۰۵/۰۸/۰۱", ""}, {"1405/12/30", "1500/1/1"}, {"%", "1405//01"}, {"1300-01-01", "9999/99/99"}} {
		f.Add(s[0], s[1])
	}
	c := &Console{now: time.Now}
	f.Fuzz(func(t *testing.T, from, to string) {
		r := httptest.NewRequest("GET", "/console/reports?"+url.Values{"from": {from}, "to": {to}}.Encode(), nil)
		rg := c.parseRange(r, "fa")
		if rg.ErrorKey == "" && !rg.to.After(rg.from) {
			t.Fatalf("%q–%q accepted as empty range %v–%v", from, to, rg.from, rg.to)
		}
	})
}
