package statsapi

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/cases/casesqlite"
	"github.com/dargah137/dargah/cases/workcal"
	"github.com/dargah137/dargah/gateway"
)

func TestParseRange(t *testing.T) {
	tehran := workcal.Tehran()
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, tehran) }
	tests := []struct {
		from, to, cal string
		wantFrom      time.Time
		wantTo        time.Time
		wantErr       bool
	}{
		{"1405-01-01", "1405-06-31", "", day(2026, 3, 21), day(2026, 9, 23), false},
		{"۱۴۰۵/۰۱/۰۱", "۱۴۰۵/۰۱/۰۱", "jalali", day(2026, 3, 21), day(2026, 3, 22), false},
		{"1404-12-29", "1405-01-01", "JALALI", day(2026, 3, 20), day(2026, 3, 22), false},
		{"2026-03-21", "2026-03-31", "gregorian", day(2026, 3, 21), day(2026, 4, 1), false},
		{"2026/3/21", "2026/03/21", "gregorian", time.Time{}, time.Time{}, true}, // Gregorian wants two digits
		{"2026-03-21", "2026-03-21", "gregorian", day(2026, 3, 21), day(2026, 3, 22), false},
		{"1405-06-31", "1405-01-01", "", time.Time{}, time.Time{}, true}, // reversed
		{"1405-07-31", "1405-08-01", "", time.Time{}, time.Time{}, true}, // no 31st in Mehr
		{"", "1405-01-01", "", time.Time{}, time.Time{}, true},
		{"1405-01-01", "1405-01-02", "hijri", time.Time{}, time.Time{}, true},
		{"1390-01-01", "1405-01-01", "", time.Time{}, time.Time{}, true}, // more than ten years
		{"2026-02-30", "2026-03-01", "gregorian", time.Time{}, time.Time{}, true},
		{"1800-01-01", "1800-01-02", "gregorian", time.Time{}, time.Time{}, true},
	}
	for _, tc := range tests {
		f, to, err := ParseRange(tc.from, tc.to, tc.cal)
		if tc.wantErr {
			if err == nil || !errors.Is(err, ErrRange) {
				t.Errorf("ParseRange(%q, %q, %q) = %v, %v, %v; want an ErrRange", tc.from, tc.to, tc.cal, f, to, err)
			}
			continue
		}
		if err != nil || !f.Equal(tc.wantFrom) || !to.Equal(tc.wantTo) {
			t.Errorf("ParseRange(%q, %q, %q) = %v, %v, %v; want %v, %v", tc.from, tc.to, tc.cal, f, to, err, tc.wantFrom, tc.wantTo)
		}
	}
}

func FuzzParseRange(f *testing.F) {
	for _, s := range [][3]string{
		{"1405-01-01", "1405-06-31", ""}, {"۱۴۰۵/۰۱/۰۱", "۱۴۰۵/۱۲/۲۹", "jalali"}, {"2026-03-21", "2026-12-31", "gregorian"},
		{"1405-13-01", "x", ""}, {"", "", ""}, {"-1-1-1", "99999-1-1", "gregorian"}, {"1403-12-30", "1403-12-30", ""},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, from, to, cal string) {
		a, b, err := ParseRange(from, to, cal)
		if err != nil {
			if !errors.Is(err, ErrRange) {
				t.Fatalf("error %v does not wrap ErrRange", err)
			}
			return
		}
		if !a.Before(b) || b.Sub(a) > MaxRange {
			t.Fatalf("ParseRange(%q, %q, %q) = %v – %v: empty or too long", from, to, cal, a, b)
		}
		j, g := RangeDays(a, b)
		if j.From == "" || g.To == "" {
			t.Fatalf("RangeDays(%v, %v) = %v, %v", a, b, j, g)
		}
	})
}

func TestRangeDays(t *testing.T) {
	from, to, err := ParseRange("1405-01-01", "1405-06-31", "")
	if err != nil {
		t.Fatal(err)
	}
	j, g := RangeDays(from, to)
	if j != (Days{"1405/01/01", "1405/06/31"}) || g != (Days{"2026-03-21", "2026-09-22"}) {
		t.Errorf("RangeDays = %+v, %+v", j, g)
	}
}

func TestRow(t *testing.T) {
	opened := time.Date(2026, 3, 21, 10, 0, 0, 0, time.UTC) // 13:30 in Tehran
	c := cases.Classification{
		TrackingCode: "1234567890", Status: cases.StatusClosed, ServiceCode: "lighting", Portal: "web", PortalKind: "webform",
		Department: "=HYPERLINK(\"http://x\")", District: "منطقه ۱", Outcome: "resolved", Rating: 4, MaxLevel: 1,
		OpenedAt: opened, DueAt: opened.Add(48 * time.Hour), ResultAt: opened.Add(30 * time.Hour), ClosedAt: opened.Add(31 * time.Hour),
	}
	row := make([]string, len(Columns))
	Row(row, c)
	want := []string{"1234567890", "closed", "lighting", "web", "webform", "'=HYPERLINK(\"http://x\")", "منطقه ۱", "resolved",
		"4", "1", "1405/01/01 13:30", "2026-03-21 13:30", "1405/01/03 13:30", "2026-03-23 13:30",
		"1405/01/02 19:30", "2026-03-22 19:30", "1405/01/02 20:30", "2026-03-22 20:30", "30.0", "true"}
	if strings.Join(row, "|") != strings.Join(want, "|") {
		t.Errorf("row =\n%q\nwant\n%q", row, want)
	}
	// No result: empty times, not within.
	Row(row, cases.Classification{TrackingCode: "1", OpenedAt: opened})
	if row[14] != "" || row[18] != "" || row[19] != "false" || row[8] != "" {
		t.Errorf("row without result = %q", row)
	}
}

// seeded opens a real SQLite store in t.TempDir() with two cases (one in
// "برق، روشنایی", one in district "ثامن") and one message answered on the
// spot, all at now.
func seeded(t *testing.T, now time.Time) (*casesqlite.Store, []cases.Case) {
	t.Helper()
	ctx := t.Context()
	s, err := casesqlite.Open(ctx, filepath.Join(t.TempDir(), "cases.db"), casesqlite.Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	var out []cases.Case
	for i, svc := range []string{"asphalt", "lighting", ""} {
		m := gateway.Message{ID: gateway.NewID(now), Portal: "web", PortalKind: "webform", PortalMessageID: fmt.Sprint("pm-", i),
			Text: "متن " + svc, ServiceCode: svc, ReceivedAt: now}
		if _, _, err := s.MessageAccept(ctx, m); err != nil {
			t.Fatal(err)
		}
		d := gateway.Decision{Outcome: gateway.OutcomeCaseOpened, Rule: "r", ServiceCode: svc}
		if svc == "" {
			d = gateway.Decision{Outcome: gateway.OutcomeResolved, Rule: "faq"}
		}
		r, err := s.MessageDecide(ctx, m.ID, d)
		if err != nil {
			t.Fatal(err)
		}
		if svc == "" {
			continue
		}
		c, err := s.CaseGetByTracking(ctx, r.Decision.TrackingCode)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	// What cases/process does on assignment and rating, through its step.
	classify := func(c cases.Case, dept, district string, rating int) {
		_, _, err := s.CaseStep(ctx, c.TrackingCode, func(c *cases.Case, st *cases.State) (cases.Effects, error) {
			c.Status, c.Department, c.District, c.Rating = cases.StatusAssigned, dept, district, rating
			c.DueAt, st.TimerKind = now.Add(48*time.Hour), cases.TimerEscalate
			return cases.Effects{}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	classify(out[0], "roads", "ثامن", 0)
	classify(out[1], "برق، روشنایی", "1", 4)
	if _, err := s.CaseAddEvent(ctx, out[1].ID, cases.Event{Kind: "answered", At: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	return s, out
}

func TestWriteCSV(t *testing.T) {
	opened := time.Date(2026, 3, 21, 10, 0, 0, 0, time.UTC)
	s, cs := seeded(t, opened)
	for _, lang := range []string{"", "fa", "en", "ar"} {
		var buf bytes.Buffer
		n, err := WriteCSV(t.Context(), &buf, s, opened, opened.Add(time.Hour), lang)
		if err != nil || n != 2 {
			t.Fatalf("WriteCSV(%q) = %d, %v", lang, n, err)
		}
		body, ok := strings.CutPrefix(buf.String(), BOM)
		if !ok {
			t.Fatalf("no BOM: %q", buf.String()[:10])
		}
		recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
		if err != nil || len(recs) != 3 || len(recs[0]) != len(Columns) {
			t.Fatalf("CSV(%q) = %q, %v", lang, recs, err)
		}
		if lang == "en" && recs[0][0] != "tracking_code" || (lang == "" || lang == "fa") && recs[0][0] != "کد پیگیری" {
			t.Errorf("header(%q) = %q", lang, recs[0])
		}
		if recs[1][0] != cs[0].TrackingCode || recs[1][6] != "ثامن" || recs[2][5] != "برق، روشنایی" ||
			recs[2][8] != "4" || recs[2][18] != "1.0" || recs[2][19] != "true" {
			t.Errorf("rows = %q", recs[1:])
		}
	}
	if _, err := WriteCSV(t.Context(), &bytes.Buffer{}, s, opened, opened, "de"); err == nil {
		t.Error("WriteCSV with lang de succeeded")
	}
	s.Close()
	if _, err := WriteCSV(t.Context(), &bytes.Buffer{}, s, opened, opened.Add(time.Hour), "en"); err == nil {
		t.Error("WriteCSV on a closed store succeeded")
	}
}

// gauges gathers reg into "name{label=value,…}" → value.
func gauges(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, l.GetName()+"="+l.GetValue())
			}
			out[mf.GetName()+"{"+strings.Join(ls, ",")+"}"] = m.GetGauge().GetValue()
		}
	}
	return out
}

func TestCollector(t *testing.T) {
	now := time.Date(2026, 4, 1, 12, 0, 0, 0, time.UTC)
	s, _ := seeded(t, now)
	c := NewCollector(s, CollectorOptions{Now: func() time.Time { return now.Add(2 * time.Hour) }})
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	if g := gauges(t, reg); len(g) != 0 {
		t.Errorf("before the first refresh: %v, want nothing", g)
	}
	if err := c.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	g := gauges(t, reg)
	want := map[string]float64{
		"dargah_stats_messages_decided{}":                                 3,
		"dargah_stats_messages_resolved_ratio{}":                          1.0 / 3,
		"dargah_stats_messages_by_portal{portal=web}":                     3,
		"dargah_stats_cases_opened{}":                                     2,
		"dargah_stats_cases_result_within_3d_ratio{}":                     0.5,
		"dargah_stats_cases_result_hours_mean{}":                          1,
		"dargah_stats_satisfaction_mean{}":                                4,
		"dargah_stats_cases_rated{}":                                      1,
		"dargah_stats_deadline_compliance_ratio{department=برق، روشنایی}": 1,
		"dargah_stats_deadline_due_cases{department=برق، روشنایی}":        1,
		"dargah_stats_cases_by_service{service_code=asphalt}":             1,
		"dargah_stats_cases_by_district{district=ثامن}":                   1,
		"dargah_stats_cases_by_portal{portal=web}":                        2,
	}
	for k, v := range want {
		if got, ok := g[k]; !ok || math.Abs(got-v) > 1e-9 {
			t.Errorf("%s = %v (present %v), want %v", k, got, ok, v)
		}
	}
	if _, ok := g["dargah_stats_deadline_due_cases{department=roads}"]; ok {
		t.Error("roads has a settled deadline before it passed")
	}
	// A failed refresh keeps the last figures.
	s.Close()
	if err := c.Refresh(t.Context()); err == nil {
		t.Error("refresh on a closed store succeeded")
	}
	if g := gauges(t, reg); g["dargah_stats_cases_opened{}"] != 2 {
		t.Errorf("after a failed refresh: %v", g)
	}
}
