package app_test

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dargah137/dargah/cases/process"
	"github.com/dargah137/dargah/cases/statsapi"
	"github.com/dargah137/dargah/cases/workcal"
	"github.com/dargah137/dargah/gateway"
	"github.com/dargah137/dargah/internal/app/apptest"
)

// statsRange is yesterday to tomorrow in Tehran, in calendar cal, so a
// test near midnight still covers what it just did.
func statsRange(cal string) url.Values {
	now := time.Now()
	q := url.Values{}
	if cal == statsapi.Gregorian {
		loc := workcal.Tehran()
		q.Set("from", now.Add(-24*time.Hour).In(loc).Format(time.DateOnly))
		q.Set("to", now.Add(24*time.Hour).In(loc).Format(time.DateOnly))
		q.Set("calendar", cal)
		return q
	}
	q.Set("from", workcal.FormatJalali(now.Add(-24*time.Hour), false))
	q.Set("to", workcal.FormatJalaliFa(now.Add(24*time.Hour), false)) // Persian digits work too
	return q
}

func getStats(t *testing.T, base, path string, q url.Values, token string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, base+path+"?"+q.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// TestStatsEndToEnd: messages through a running Dargah, a case answered
// and rated through the process, then the figures over HTTP (JSON in both
// calendars, CSV) and as Prometheus gauges.
func TestStatsEndToEnd(t *testing.T) {
	for _, rt := range runtimes {
		t.Run(string(rt), func(t *testing.T) {
			t.Parallel()
			h := apptest.Start(t, apptest.Options{Runtime: rt})
			ctx := context.Background()
			asphalt := submitAndAwait(t, h.App, message("s-1", "خیابان سناباد چاله دارد و آسفالت خراب شده"))
			other := submitAndAwait(t, h.App, message("s-2", "چراغ برق کوچه ۱۲ خیابان امام رضا خاموش است"))
			status := submitAndAwait(t, h.App, message("s-3", "پیگیری "+asphalt.Decision.TrackingCode))
			if asphalt.Decision.Outcome != gateway.OutcomeCaseOpened || other.Decision.Outcome != gateway.OutcomeCaseOpened ||
				status.Decision.Outcome != gateway.OutcomeResolved {
				t.Fatalf("decisions: %+v, %+v, %+v", asphalt.Decision, other.Decision, status.Decision)
			}
			c, err := h.Store.CaseGetByTracking(ctx, asphalt.Decision.TrackingCode)
			if err != nil {
				t.Fatal(err)
			}
			dept := process.Actor{Role: process.RoleDepartment, Department: c.Department}
			staff := process.Actor{Role: process.RoleStaff}
			code := c.TrackingCode
			if _, err := h.App.Process.Answer(ctx, code, dept, "آسفالت ترمیم شد", nil); err != nil {
				t.Fatal(err)
			}
			if _, err := h.App.Process.Verify(ctx, code, staff, ""); err != nil {
				t.Fatal(err)
			}
			if _, err := h.App.Process.Rate(ctx, code, staff, 4, ""); err != nil {
				t.Fatal(err)
			}

			for _, cal := range []string{statsapi.Jalali, statsapi.Gregorian} {
				resp, body := getStats(t, h.URL, "/api/v1/stats", statsRange(cal), "")
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("%s: %d %s", cal, resp.StatusCode, body)
				}
				var st statsapi.Response
				if err := json.Unmarshal(body, &st); err != nil {
					t.Fatal(err)
				}
				if st.Calendar != cal || st.MessagesDecided != 3 || st.MessagesResolved != 1 || st.CasesOpened != 2 ||
					st.CasesWithResult != 1 || st.ResultWithinCount != 1 || st.ResultShare != 0.5 ||
					st.Rated != 1 || st.MeanSatisfaction != 4 {
					t.Errorf("%s: stats = %s", cal, body)
				}
				if len(st.Compliance) != 1 || st.Compliance[0].Department != c.Department || st.Compliance[0].OnTime != 1 {
					t.Errorf("%s: compliance = %+v, want %s on time", cal, st.Compliance, c.Department)
				}
				if !strings.HasPrefix(st.Jalali.From, "14") || !strings.HasPrefix(st.Greg.From, "20") {
					t.Errorf("%s: range names = %+v %+v", cal, st.Jalali, st.Greg)
				}
			}

			// The CSV: BOM, header, both cases, the answered one with its result.
			q := statsRange(statsapi.Jalali)
			q.Set("lang", "en")
			resp, body := getStats(t, h.URL, "/api/v1/stats/export", q, "")
			if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
				t.Fatalf("export: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
			recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(body), statsapi.BOM))).ReadAll()
			if !strings.HasPrefix(string(body), statsapi.BOM) || err != nil || len(recs) != 3 {
				t.Fatalf("export = %q, %v", body, err)
			}
			found := false
			for _, r := range recs[1:] {
				if r[0] == code {
					found = true
					if r[2] != "asphalt" || r[8] != "4" || r[19] != "true" || r[14] == "" || r[10] == "" {
						t.Errorf("answered case row = %q", r)
					}
				}
			}
			if !found {
				t.Errorf("export lacks case %s: %q", code, recs)
			}

			// Bad input: 400 with a Persian message first.
			bad := url.Values{"from": {"1405-13-01"}, "to": {"1405-01-01"}}
			resp, body = getStats(t, h.URL, "/api/v1/stats", bad, "")
			var e struct {
				Error   string            `json:"error"`
				Message map[string]string `json:"message"`
			}
			if resp.StatusCode != http.StatusBadRequest || json.Unmarshal(body, &e) != nil || e.Message["fa"] == "" || e.Error == "" {
				t.Errorf("bad range: %d %s", resp.StatusCode, body)
			}

			// The gauges: computed at start, so present (with whatever they
			// counted then) once the first refresh is done.
			deadline := time.Now().Add(15 * time.Second)
			for {
				_, body := getStats(t, h.URL, "/metrics", nil, "")
				if hasMetric(string(body), "dargah_stats_cases_opened") && hasMetric(string(body), "dargah_stats_messages_resolved_ratio") {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("no stats gauges in /metrics:\n%s", body)
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
}

func hasMetric(body, name string) bool {
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), name+" ") || strings.HasPrefix(sc.Text(), name+"{") {
			return true
		}
	}
	return false
}

// TestStatsToken: with DARGAH_TOKEN_STATS set, the API wants it.
func TestStatsToken(t *testing.T) {
	t.Setenv("DARGAH_TOKEN_STATS", "stats-token-for-tests")
	h := apptest.Start(t, apptest.Options{})
	for _, path := range []string{"/api/v1/stats", "/api/v1/stats/export"} {
		for _, tok := range []string{"", "wrong"} {
			if resp, body := getStats(t, h.URL, path, statsRange(statsapi.Jalali), tok); resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s with token %q: %d %s", path, tok, resp.StatusCode, body)
			}
		}
		if resp, body := getStats(t, h.URL, path, statsRange(statsapi.Jalali), "stats-token-for-tests"); resp.StatusCode != http.StatusOK {
			t.Errorf("%s with the token: %d %s", path, resp.StatusCode, body)
		}
	}
}
