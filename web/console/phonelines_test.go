package console_test

import (
	"context"
	"errors"
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

// TestTwoPhoneLines: with two phone portals (the 137 line and a pilgrims'
// line, each its own Asterisk), the app's desk lets an agent pick the line
// at queue login, keeps them on one line at a time, changes their state on
// the line they are on, and the wallboard shows both lines' queues.
func TestTwoPhoneLines(t *testing.T) {
	t.Parallel()
	main, pilgrims := aritest.New(t, aritest.Config{}), aritest.New(t, aritest.Config{})
	tokenEnv := fmt.Sprintf("DARGAH_TEST_CONSOLE_AGENT_TOKEN_L%d", time.Now().UnixNano())
	os.Setenv(tokenEnv, "console-test-token")
	t.Cleanup(func() { os.Unsetenv(tokenEnv) })
	second := strings.Replace(fmt.Sprintf(phonePortalYAML, pilgrims.URL(), tokenEnv), "- name: phone\n", "- name: pilgrims\n  api_path: /api/v1/lines/pilgrims\n", 1)
	h := apptest.Start(t, apptest.Options{Runtime: apptest.Embedded,
		Portals: fmt.Sprintf(phonePortalYAML, main.URL(), tokenEnv) + second})
	pool := func(name string) acd.AgentPool {
		for _, p := range h.App.Portals {
			if p.Name == name {
				return p.Adapter.(interface{ Agents() acd.AgentPool }).Agents()
			}
		}
		t.Fatalf("no portal %s", name)
		return nil
	}
	state := func(line string) acd.State {
		t.Helper()
		a, err := pool(line).Get(context.Background(), "zahra")
		if errors.Is(err, acd.ErrNotFound) {
			return acd.LoggedOut
		}
		if err != nil {
			t.Fatal(err)
		}
		return a.State
	}
	addUser(t, h.App.Users, users.User{Username: "zahra", Roles: []users.Role{users.RoleAgent}}, "agent-password-1")
	addUser(t, h.App.Users, users.User{Username: "boss", Roles: []users.Role{users.RoleSupervisor}}, "super-password-1")
	a := newClient(t, h.URL)
	if code, _ := a.signIn("zahra", "agent-password-1"); code != http.StatusOK {
		t.Fatalf("sign-in: %d", code)
	}
	code, body := a.get("/console/phone")
	if code != http.StatusOK {
		t.Fatalf("phone desk: %d", code)
	}
	mustContain(t, body, `id="line"`, `<option value="phone" selected>`, `<option value="pilgrims">`)

	login := url.Values{"action": {"login"}, "endpoint": {"PJSIP/201"}, "skills": {"fa:5 ar:4 asphalt:3"}}
	with := func(v url.Values, k, val string) url.Values {
		out := url.Values{}
		for key, vs := range v {
			out[key] = vs
		}
		out.Set(k, val)
		return out
	}
	if code, _ := a.post("/console/phone/state", with(login, "line", "no-such-line")); code != http.StatusUnprocessableEntity {
		t.Errorf("login on an unknown line: %d", code)
	}
	code, body = a.post("/console/phone/state", with(login, "line", "pilgrims"))
	if code != http.StatusOK || !strings.Contains(body, `data-state="available"`) || !strings.Contains(body, `id="agent-line">pilgrims<`) {
		t.Fatalf("login on the pilgrims' line: %d", code)
	}
	if got, other := state("pilgrims"), state("phone"); got != acd.Available || other != acd.LoggedOut {
		t.Fatalf("after login on pilgrims: pilgrims %s, phone %s", got, other)
	}
	// One line at a time.
	if code, _ := a.post("/console/phone/state", with(login, "line", "phone")); code != http.StatusConflict {
		t.Errorf("login on a second line: %d", code)
	}
	if state("phone") != acd.LoggedOut {
		t.Fatal("logged in on two lines")
	}
	// State changes go to the line the agent is on.
	if code, _ := a.post("/console/phone/state", url.Values{"action": {"pause"}, "reason": {"نماز"}}); code != http.StatusOK {
		t.Fatalf("pause: %d", code)
	}
	if state("pilgrims") != acd.Paused {
		t.Fatalf("pause on pilgrims: %s", state("pilgrims"))
	}
	// In place, as the desk's script asks.
	code, body = a.post("/console/phone/state", url.Values{"action": {"resume"}}, "Accept", "application/json")
	if code != http.StatusOK || !strings.Contains(body, `"state":"available"`) || state("pilgrims") != acd.Available {
		t.Fatalf("resume in place: %d %s", code, body)
	}
	code, body = a.post("/console/phone/state", url.Values{"action": {"wrap_up_done"}}, "Accept", "application/json")
	if code != http.StatusConflict || !strings.Contains(body, `"error":`) {
		t.Fatalf("refused in place: %d %s", code, body)
	}
	// Out of pilgrims, into the 137 line.
	if code, _ := a.post("/console/phone/state", url.Values{"action": {"logout"}}); code != http.StatusOK {
		t.Fatalf("logout: %d", code)
	}
	if code, _ := a.post("/console/phone/state", with(login, "line", "phone")); code != http.StatusOK {
		t.Fatalf("login on the 137 line: %d", code)
	}
	if got, other := state("phone"), state("pilgrims"); got != acd.Available || other != acd.LoggedOut {
		t.Fatalf("after moving: phone %s, pilgrims %s", got, other)
	}

	b := newClient(t, h.URL)
	if code, _ := b.signIn("boss", "super-password-1"); code != http.StatusOK {
		t.Fatalf("supervisor sign-in: %d", code)
	}
	code, body = b.get("/console/wallboard")
	if code != http.StatusOK {
		t.Fatalf("wallboard: %d", code)
	}
	mustContain(t, body, `data-queue="phone/asphalt"`, `data-queue="pilgrims/asphalt"`)
}
