package console_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/dargah137/dargah/internal/app/apptest"
	"github.com/dargah137/dargah/web/console/users"
)

// TestSearch: agents find cases by tracking code, phone, service and
// status; an official finds only their department's; bad input says so;
// without a telephony portal the phone desk is not there.
func TestSearch(t *testing.T) {
	t.Parallel()
	e := start(t, apptest.Embedded)
	road := openCase(t, e, "s-1", "خیابان سناباد چاله دارد و آسفالت خراب شده")
	lamp := openCase(t, e, "s-2", "لامپ‌های پارک ملت خاموش است و شب‌ها تاریک است")
	if road.Department == lamp.Department {
		t.Fatalf("test needs two departments, both cases are %s", road.Department)
	}
	addUser(t, e.Users, users.User{Username: "ali", Roles: []users.Role{users.RoleAgent}}, "agent-password-1")
	addUser(t, e.Users, users.User{Username: "chief", Roles: []users.Role{users.RoleDepartment}, Department: road.Department}, "chief-password-1")

	a := newClient(t, e.URL)
	if code, _ := a.signIn("ali", "agent-password-1"); code != http.StatusOK {
		t.Fatalf("agent sign-in: %d", code)
	}
	for _, tc := range []struct {
		query string
		want  []string
		not   []string
	}{
		{"?code=" + road.TrackingCode, []string{road.TrackingCode}, []string{lamp.TrackingCode}},
		{"?phone=۰۹۱۲۱۲۳۴۵۶۷", []string{road.TrackingCode, lamp.TrackingCode}, nil},
		{"?phone=09350000000", []string{`id="no-results"`}, []string{road.TrackingCode}},
		{"?service=" + lamp.ServiceCode, []string{lamp.TrackingCode}, []string{road.TrackingCode}},
		{"?status=closed", []string{`id="no-results"`}, []string{road.TrackingCode}},
	} {
		code, body := a.get("/console/search" + tc.query)
		if code != http.StatusOK {
			t.Errorf("search %s: %d", tc.query, code)
		}
		mustContain(t, body, tc.want...)
		for _, n := range tc.not {
			if strings.Contains(body, n) {
				t.Errorf("search %s shows %s", tc.query, n)
			}
		}
	}
	if _, body := a.get("/console/search?code=nope&status=bogus"); !strings.Contains(body, `id="error"`) {
		t.Error("bad search input is not explained")
	}
	if code, _ := a.get("/console/phone"); code != http.StatusNotFound {
		t.Errorf("phone desk without telephony: %d", code)
	}

	o := newClient(t, e.URL)
	if code, _ := o.signIn("chief", "chief-password-1"); code != http.StatusOK {
		t.Fatalf("official sign-in: %d", code)
	}
	_, body := o.get("/console/search?phone=09121234567")
	mustContain(t, body, road.TrackingCode)
	if strings.Contains(body, lamp.TrackingCode) {
		t.Error("an official finds another department's case")
	}
	if code, _ := o.get("/console/phone"); code != http.StatusForbidden {
		t.Errorf("official on the phone desk: %d", code)
	}
}
