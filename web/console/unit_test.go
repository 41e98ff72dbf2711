package console

import (
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/routing/acd"
	"github.com/dargah137/dargah/web/console/users"
)

func TestCanSeeCase(t *testing.T) {
	t.Parallel()
	roads := cases.Case{Department: "roads"}
	water := cases.Case{Department: "water"}
	none := cases.Case{}
	escalated := cases.Case{Department: "water", EscalationLevel: 1}
	u := func(d string, rs ...users.Role) users.User { return users.User{Roles: rs, Department: d} }
	for _, tc := range []struct {
		name string
		u    users.User
		k    cases.Case
		want bool
	}{
		{"official own department", u("roads", users.RoleDepartment), roads, true},
		{"official other department", u("roads", users.RoleDepartment), water, false},
		{"official unassigned case", u("roads", users.RoleDepartment), none, false},
		{"official escalated elsewhere", u("roads", users.RoleDepartment), escalated, false},
		{"inspection escalated", u("", users.RoleInspection), escalated, true},
		{"inspection not escalated", u("", users.RoleInspection), water, false},
		{"agent any", u("", users.RoleAgent), water, true},
		{"supervisor any", u("", users.RoleSupervisor), none, true},
		{"followup any", u("", users.RoleFollowUp), roads, true},
		{"admin none", u("", users.RoleAdmin), roads, false},
		{"no roles", u(""), roads, false},
	} {
		if got := canSeeCase(tc.u, tc.k); got != tc.want {
			t.Errorf("%s: canSeeCase = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestNormalizePhone(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"09121234567": "+989121234567", "۰۹۱۲ ۱۲۳ ۴۵۶۷": "+989121234567", "+98 912-123-4567": "+989121234567",
		"00989121234567": "+989121234567", "9121234567": "+989121234567", "٠٩١٢١٢٣٤٥٦٧": "+989121234567",
		"12345": "", "0512345678": "", "+44 20 7946 0958": "", "": "",
	} {
		got, ok := normalizePhone(in)
		if (want == "") == ok || (ok && got != want) {
			t.Errorf("normalizePhone(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

func TestSafeNext(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"/console/inbox": "/console/inbox", "": "/console/", "//evil.example/console/": "/console/",
		"/\\evil.example": "/console/", "https://evil.example/console/": "/console/", "/metrics": "/console/",
		"/console": "/console/", "/console/../metrics": "/console/", "/console/cases/../inbox": "/console/inbox",
	} {
		if got := safeNext("/console", in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFormatDate(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 20, 20, 30, 0, 0, time.UTC) // Nowruz 1405 in Tehran (00:00 +03:30)
	if got := formatDate("fa", at); got != "۱۴۰۵/۰۱/۰۱ ۰۰:۰۰" {
		t.Errorf("fa date = %q", got)
	}
	if got := formatDate("en", at); got != "1405/01/01 00:00 (21 Mar 2026)" {
		t.Errorf("en date = %q", got)
	}
	if got := formatDate("fa", time.Time{}); got != "—" {
		t.Errorf("zero date = %q", got)
	}
}

func TestTranslations(t *testing.T) {
	t.Parallel()
	for k, m := range messages {
		for i, s := range m {
			if s == "" {
				t.Errorf("message %q has no %s text", k, langs[i])
			}
		}
	}
	for _, r := range users.Roles {
		if _, ok := messages["role_"+string(r)]; !ok {
			t.Errorf("role %s has no name", r)
		}
	}
	for _, s := range acd.States {
		if _, ok := messages["agent_"+string(s)]; !ok {
			t.Errorf("agent state %s has no name", s)
		}
	}
	for _, s := range append(openStatuses, cases.StatusClosed) {
		if _, ok := messages["status_"+string(s)]; !ok {
			t.Errorf("status %s has no name", s)
		}
	}
}

// FuzzSafeNext: whatever a sign-in link carries, the redirect stays
// inside the consoles.
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/console/inbox", "//x", "/\\x", "http://x/console/", "/console/../metrics", "/console/%2f%2fx"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := safeNext("/console", s)
		if len(got) < 9 || got[:9] != "/console/" || (len(got) > 1 && got[1] == '/') || slices.Contains(strings.Split(got, "/"), "..") || strings.Contains(got, "\\") {
			t.Fatalf("safeNext(%q) = %q leaves the consoles", s, got)
		}
	})
}

// FuzzNormalizePhone: any accepted input is a valid Iranian mobile.
func FuzzNormalizePhone(f *testing.F) {
	for _, s := range []string{"09121234567", "۰۹۱۲۱۲۳۴۵۶۷", "+98 912", "0098", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if p, ok := normalizePhone(s); ok && !mobileRE.MatchString(p) {
			t.Fatalf("normalizePhone(%q) accepted %q", s, p)
		}
	})
}

func TestActionsFor(t *testing.T) {
	t.Parallel()
	names := func(as []action) string {
		var s []string
		for _, a := range as {
			s = append(s, a.Name)
		}
		return strings.Join(s, ",")
	}
	off := users.User{Roles: []users.Role{users.RoleDepartment}, Department: "roads"}
	staff := users.User{Roles: []users.Role{users.RoleAgent}}
	fu := users.User{Roles: []users.Role{users.RoleFollowUp}}
	insp := users.User{Roles: []users.Role{users.RoleInspection}}
	for _, tc := range []struct {
		u     users.User
		k     cases.Case
		dupOf string
		want  string
	}{
		{off, cases.Case{Department: "roads", Status: cases.StatusAssigned}, "", "accept,answer"},
		{off, cases.Case{Department: "water", Status: cases.StatusAssigned}, "", ""},
		{off, cases.Case{Department: "roads", Status: cases.StatusAnswered}, "", ""},
		{staff, cases.Case{Status: cases.StatusAnswered}, "", "verify"},
		{staff, cases.Case{Status: cases.StatusAssigned}, "", "duplicate"},
		{staff, cases.Case{Status: cases.StatusOpen}, "1234567890", "not_duplicate"},
		{staff, cases.Case{Status: cases.StatusClosed}, "1234567890", ""},
		{fu, cases.Case{Status: cases.StatusFollowUp}, "", "followup_return,followup_escalate,followup_close"},
		{insp, cases.Case{Status: cases.StatusFollowUp, EscalationLevel: 2}, "", ""},
	} {
		if got := names(actionsFor(tc.u, tc.k, tc.dupOf)); got != tc.want {
			t.Errorf("actionsFor(%v, %s/%s) = %q, want %q", tc.u.Roles, tc.k.Department, tc.k.Status, got, tc.want)
		}
	}
}

func TestCookieSecure(t *testing.T) {
	t.Parallel()
	plain := &Console{cfg: Config{Prefix: "/console"}}
	forced := &Console{cfg: Config{Prefix: "/console", SecureCookies: true}}
	http := httptest.NewRequest("GET", "http://dargah.example/console/", nil)
	https := httptest.NewRequest("GET", "https://dargah.example/console/", nil)
	if plain.cookie(http, "a", "v", 0).Secure || !plain.cookie(https, "a", "v", 0).Secure || !forced.cookie(http, "a", "v", 0).Secure {
		t.Error("Secure must be set on TLS requests and when configured, and only then")
	}
}

func TestSameOrigin(t *testing.T) {
	t.Parallel()
	c := &Console{cfg: Config{Prefix: "/console", Origins: []string{"https://137.mashhad.ir"}}}
	for _, tc := range []struct {
		origin, referer string
		want            bool
	}{
		{"http://dargah.example", "", true},
		{"https://137.mashhad.ir", "", true},
		{"https://evil.example", "", false},
		{"null", "", false},
		{"", "http://dargah.example/console/desk", true},
		{"", "https://evil.example/x", false},
		{"", "", true}, // not a browser form; the token still decides
	} {
		r := httptest.NewRequest("POST", "http://dargah.example/console/desk", nil)
		if tc.origin != "" {
			r.Header.Set("Origin", tc.origin)
		}
		if tc.referer != "" {
			r.Header.Set("Referer", tc.referer)
		}
		if got := c.sameOrigin(r); got != tc.want {
			t.Errorf("Origin %q Referer %q: sameOrigin = %v", tc.origin, tc.referer, got)
		}
	}
}
