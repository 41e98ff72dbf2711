package console_test

import (
	"context"
	"encoding/csv"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/cases/org"
	"github.com/dargah137/dargah/cases/process"
	"github.com/dargah137/dargah/cases/workcal"
	"github.com/dargah137/dargah/configs"
	"github.com/dargah137/dargah/gateway"
	"github.com/dargah137/dargah/internal/app/apptest"
	"github.com/dargah137/dargah/web/console/users"
)

// TestReports seeds two cases and one status inquiry through the pipeline,
// settles one case (answered, verified, rated 4), then reads the reports
// page and its CSV over HTTP on both runtimes: every section with the
// seeded figures, the Jalali range filter, bad ranges refused, the CSV.
func TestReports(t *testing.T) {
	for _, rt := range []apptest.Runtime{apptest.Embedded, apptest.Production} {
		t.Run(string(rt), func(t *testing.T) {
			t.Parallel()
			e := start(t, rt)
			ctx := context.Background()
			a := openCase(t, e, "r-1", "خیابان سناباد چاله دارد و آسفالت خراب شده")
			b := openCase(t, e, "r-2", "لامپ‌های پارک ملت خاموش است و شب‌ها تاریک است")
			// A status inquiry is resolved on the spot: 1 of 3 messages.
			inquire(t, e, "r-3", a.TrackingCode)
			settle(t, e, a, 4)

			addUser(t, e.Users, users.User{Username: "insp", Roles: []users.Role{users.RoleInspection}}, "inspector-password")
			c := newClient(t, e.URL)
			if code, _ := c.signIn("insp", "inspector-password"); code != http.StatusOK {
				t.Fatalf("sign-in: %d", code)
			}
			code, body := c.get("/console/reports")
			if code != http.StatusOK {
				t.Fatalf("reports: %d", code)
			}
			// Each section's heading; escalations are empty (none seeded).
			for _, id := range []string{"g-resolved", "g-result", "g-satisfaction", "c-compliance", "c-escalations", "c-msg-portal", "c-portal", "chart", "c-district"} {
				mustContain(t, body, `id="`+id+`-t"`)
			}
			mustContain(t, body, `id="report-csv"`, `id="c-compliance"`, `id="c-portal"`, "در این بازه داده‌ای نیست")
			mustContain(t, body,
				"۳۳٫۳٪", "۱ از ۳ پیام", // resolved on the spot
				"۵۰٪", "۱ از ۲ پرونده", // result within 3 days
				"۴ از ۵", "از ۱ نظر", // satisfaction
				"۱۰۰٪ (۱/۱)",                             // the answered case's department met its deadline
				deptName(t, a.Department), "web", "<svg", // by name, not code; portal volume
				"value=\""+workcal.FormatJalaliFa(time.Now(), false)+"\"", // default range ends today
			)
			if strings.Contains(body, "<script") {
				t.Error("reports page has a script")
			}

			// The range in Persian digits, including today, and one in the past.
			today := workcal.FormatJalaliFa(time.Now(), false)
			q := url.Values{"from": {workcal.FormatJalaliFa(time.Now().AddDate(0, 0, -2), false)}, "to": {today}}
			code, body = c.get("/console/reports?" + q.Encode())
			if code != http.StatusOK || !strings.Contains(body, "۱ از ۳ پیام") {
				t.Errorf("range with today: %d", code)
			}
			code, body = c.get("/console/reports?from=1400/01/01&to=1400-01-10")
			if code != http.StatusOK || !strings.Contains(body, "۰ از ۰ پیام") || !strings.Contains(body, "در این بازه داده‌ای نیست") || strings.Contains(body, a.TrackingCode) {
				t.Errorf("past range: %d", code)
			}
			for _, bad := range []string{"from=1405/13/01", "to=abc", "from=1405/08/10&to=1405/08/01", "from=" + strings.Repeat("۱", 100)} {
				code, body := c.get("/console/reports?" + strings.ReplaceAll(bad, "/", "%2F"))
				if code != http.StatusUnprocessableEntity || !strings.Contains(body, `id="error"`) {
					t.Errorf("%s: %d, want 422 with an error", bad, code)
				}
				if !strings.Contains(body, "درست نیست") && !strings.Contains(body, "پیش از تاریخ آغاز") {
					t.Errorf("%s: no Persian explanation", bad)
				}
			}

			// CSV of the same (default) range: BOM, header, one row per case.
			resp, err := c.hc.Get(e.URL + "/console/reports.csv")
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment;") ||
				!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
				t.Fatalf("csv: %d %v", resp.StatusCode, resp.Header)
			}
			text, ok := strings.CutPrefix(string(raw), "\uFEFF")
			if !ok {
				t.Error("csv without BOM")
			}
			rows, err := csv.NewReader(strings.NewReader(text)).ReadAll()
			if err != nil || len(rows) != 3 || rows[0][0] != "کد پیگیری" {
				t.Fatalf("csv rows %q, %v; want a header and 2 cases", rows, err)
			}
			if got := rows[1][0] + " " + rows[2][0]; !strings.Contains(got, a.TrackingCode) || !strings.Contains(got, b.TrackingCode) {
				t.Errorf("csv cases %q", got)
			}
			if code, body := c.get("/console/reports.csv?from=1400/01/01&to=1400/01/10"); code != http.StatusOK || strings.Count(body, "\n") != 1 {
				t.Errorf("past csv: %d %q", code, body)
			}
			if code, body := c.get("/console/reports.csv?from=1405/08/10&to=1405/08/01"); code != http.StatusBadRequest || !strings.Contains(body, "پیش از تاریخ آغاز") {
				t.Errorf("bad csv range: %d %q", code, body)
			}
			list, err := e.Users.AuditList(ctx, users.AuditFilter{Action: "report_export"})
			if err != nil || len(list) != 2 || list[0].Actor != "insp" {
				t.Errorf("audit of exports: %+v %v", list, err)
			}

			// English: left-to-right, ASCII digits, English CSV header.
			if code, body := c.get("/console/reports?lang=en"); code != http.StatusOK || !strings.Contains(body, `dir="ltr"`) || !strings.Contains(body, "33.3%") || !strings.Contains(body, "4 / 5") {
				t.Errorf("English report: %d", code)
			}
			if code, body := c.get("/console/reports.csv"); code != http.StatusOK || !strings.HasPrefix(body, "\uFEFFtracking_code,") {
				t.Errorf("English csv: %d %.40q", code, body)
			}

			// Roles: an agent alone sees neither the page nor the file.
			addUser(t, e.Users, users.User{Username: "ag", Roles: []users.Role{users.RoleAgent}}, "agent-password-9")
			ag := newClient(t, e.URL)
			ag.signIn("ag", "agent-password-9")
			if code, _ := ag.get("/console/reports.csv"); code != http.StatusForbidden {
				t.Errorf("agent csv: %d", code)
			}
		})
	}
}

// inquire asks the status of a case through the pipeline: a message
// resolved on the spot.
func inquire(t *testing.T, e *env, id, code string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := e.H.App.Pipeline.Submit(ctx, gateway.Message{Portal: "web", PortalKind: "webform", PortalMessageID: id,
		Contact: gateway.Contact{Phone: "+989121234567"}, Text: "پیگیری " + code, ReceivedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if res, err = e.H.App.Pipeline.Await(ctx, res.MessageID); err != nil || res.Decision.Outcome != gateway.OutcomeResolved {
		t.Fatalf("status inquiry: %+v %v", res.Decision, err)
	}
}

// settle has k's department answer it, 137 verify the answer and the
// citizen rate it.
func settle(t *testing.T, e *env, k cases.Case, rating int) {
	t.Helper()
	ctx := context.Background()
	p := e.H.App.Process
	if _, err := p.Answer(ctx, k.TrackingCode, process.Actor{Role: process.RoleDepartment, Department: k.Department}, "رسیدگی شد", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Verify(ctx, k.TrackingCode, process.Actor{Role: process.RoleStaff}, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Rate(ctx, k.TrackingCode, process.Actor{Role: process.RoleStaff}, rating, ""); err != nil {
		t.Fatal(err)
	}
}

// deptName is the Persian name org.yaml gives department code.
func deptName(t *testing.T, code string) string {
	t.Helper()
	o, err := org.Parse("org.yaml", configs.Org)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range o.Departments {
		if d.Code == code {
			return d.Name.FA
		}
	}
	t.Fatalf("no department %q in org.yaml", code)
	return ""
}
