package console_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/dargah137/dargah/channels/asterisk/aritest"
	"github.com/dargah137/dargah/internal/app/apptest"
	"github.com/dargah137/dargah/routing/acd"
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

// TestAppWiresTelephony: the app's own console (internal/app) finds the
// asterisk portal and org.yaml's districts: the phone desk is there with
// its map.
func TestAppWiresTelephony(t *testing.T) {
	t.Parallel()
	srv := aritest.New(t, aritest.Config{})
	tokenEnv := fmt.Sprintf("DARGAH_TEST_CONSOLE_AGENT_TOKEN_W%d", time.Now().UnixNano())
	os.Setenv(tokenEnv, "console-test-token")
	t.Cleanup(func() { os.Unsetenv(tokenEnv) })
	h := apptest.Start(t, apptest.Options{Runtime: apptest.Embedded, Portals: fmt.Sprintf(phonePortalYAML, srv.URL(), tokenEnv)})
	addUser(t, h.App.Users, users.User{Username: "zahra", Roles: []users.Role{users.RoleAgent}}, "agent-password-1")
	a := newClient(t, h.URL)
	if code, _ := a.signIn("zahra", "agent-password-1"); code != http.StatusOK {
		t.Fatalf("sign-in on the app's console: %d", code)
	}
	code, body := a.get("/console/phone")
	if code != http.StatusOK {
		t.Fatalf("phone desk: %d", code)
	}
	mustContain(t, body, `id="phone-login"`, `id="map"`, `class="district"`)
	code, body = a.post("/console/phone/state", url.Values{"action": {"login"}, "endpoint": {"PJSIP/201"}, "skills": {"fa:5 asphalt:3"}})
	if code != http.StatusOK || !strings.Contains(body, `data-state="available"`) {
		t.Fatalf("queue login on the app's console: %d", code)
	}
	ag, err := h.App.Portals[0].Adapter.(interface{ Agents() acd.AgentPool }).Agents().Get(context.Background(), "zahra")
	if err != nil || ag.State != acd.Available || ag.Endpoint != "PJSIP/201" {
		t.Fatalf("agent in the ACD: %+v %v", ag, err)
	}
	code, body = a.post("/console/phone/state", url.Values{"action": {"pause"}, "reason": {""}})
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, `id="error"`) {
		t.Errorf("pause without a reason: %d", code)
	}
	code, _ = a.post("/console/phone/outcome", url.Values{"call": {"no-such-call"}, "outcome": {"resolved"}})
	if code != http.StatusConflict {
		t.Errorf("outcome of an unknown call: %d", code)
	}
	code, _ = a.post("/console/phone/outcome", url.Values{"call": {"x"}, "outcome": {"case"}, "lat": {"95"}, "long": {"59.6"}})
	if code != http.StatusUnprocessableEntity {
		t.Errorf("outcome with bad input: %d", code)
	}
}
