package console_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	_ "github.com/dargah137/dargah/channels/asterisk" // the phone portal
	"github.com/dargah137/dargah/channels/asterisk/aritest"
	"github.com/dargah137/dargah/internal/app/apptest"
	"github.com/dargah137/dargah/web/console/users"
)

const phonePortalYAML = `
- name: phone
  type: asterisk
  url: %s
  username: dargah
  password: secret
  app: dargah
  agent_token_env: %s
  input_timeout: 2s
  max_retries: 1
  languages: {"1": fa, "2": ar, "3": ur, "4": en}
  menu:
    prompt: main-menu
    options:
      "1": {queue: asphalt}
  queues:
    - name: asphalt
      skills: {asphalt: 1}
      language_level: 1
      ring_timeout: 30s
      wrap_up: -1ns
      max_wait: 5m
`

// poll waits until the page's expression is true: the page changes by
// itself (server-sent events), so there is no navigation to wait for.
func poll(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		got := eval(t, ctx, `document.querySelector("main") ? document.querySelector("main").innerText.slice(0, 600) : ""`)
		t.Fatalf("%s: %v\npage: %s", what, err, got)
	}
}

// TestBrowserPhone: an agent logs in to the phone queue from the console,
// a citizen calls (ARI double), the supervisor's wallboard shows the
// waiting call without reloading, the agent's desktop rings with the
// screen pop (and the caller's earlier case), the agent answers and opens
// a case with a point on the district map; the case's department answers
// it and cannot open another department's case.
func TestBrowserPhone(t *testing.T) {
	t.Parallel()
	srv := aritest.New(t, aritest.Config{})
	tokenEnv := fmt.Sprintf("DARGAH_TEST_CONSOLE_AGENT_TOKEN_%d", time.Now().UnixNano())
	os.Setenv(tokenEnv, "console-test-token")
	t.Cleanup(func() { os.Unsetenv(tokenEnv) })
	e := startWith(t, apptest.Options{Runtime: apptest.Embedded, Portals: fmt.Sprintf(phonePortalYAML, srv.URL(), tokenEnv)})
	srv.Wait("app registered", func() bool { return srv.Registered("dargah") })
	// The caller's earlier case (openCase's citizen is +989121234567).
	earlier := openCase(t, e, "p-1", "لامپ‌های پارک ملت خاموش است و شب‌ها تاریک است")
	addUser(t, e.Users, users.User{Username: "zahra", Name: "زهرا رضایی", Roles: []users.Role{users.RoleAgent}}, "agent-password-1")
	addUser(t, e.Users, users.User{Username: "boss", Name: "ناظر شیفت", Roles: []users.Role{users.RoleSupervisor}}, "super-password-1")

	agent, boss := tab(t), tab(t)
	if st := signInAs(t, boss, e.URL, "boss", "super-password-1"); st != http.StatusOK {
		t.Fatalf("supervisor sign-in: %d", st)
	}
	must(t, chromedp.Do(boss, chromedp.Navigate(e.URL+"/console/wallboard")), "wallboard")
	waiting := `document.querySelector("tr[data-queue=asphalt] .q-waiting").textContent`
	poll(t, boss, "wallboard live", `document.querySelector("#wallboard[data-updated]") && `+waiting+` === "۰"`)

	if st := signInAs(t, agent, e.URL, "zahra", "agent-password-1"); st != http.StatusOK {
		t.Fatalf("agent sign-in: %d", st)
	}
	must(t, chromedp.Do(agent, chromedp.Navigate(e.URL+"/console/phone")), "phone desk")
	shot(t, agent, "20-phone-logged-out")
	resp, err := chromedp.RunResponse(agent, chromedp.SetValue(chromedp.ID("endpoint"), "PJSIP/201"),
		chromedp.SetValue(chromedp.ID("skills"), "fa:5 asphalt:3"), chromedp.Click(chromedp.ID("phone-login")))
	must(t, err, "queue login")
	if resp.Status != http.StatusOK || text(t, agent, "agent-state") != "آماده" {
		t.Fatalf("after queue login: %d %q", resp.Status, text(t, agent, "agent-state"))
	}
	// Paused, so the call waits where the supervisor can see it. State
	// changes happen in place: the page is not loaded again (the mark set
	// on this page's window survives) and its feed stays connected.
	eval(t, agent, `window.samePage = true, "marked"`)
	must(t, chromedp.Do(agent, chromedp.SetValue(chromedp.ID("reason"), "جلسه"), chromedp.Click(chromedp.ID("pause"))), "pause")
	poll(t, agent, "paused in place", `document.getElementById("agent-state").textContent === "توقف" && window.samePage === true`)
	if got := text(t, agent, "pause-reason"); got != "(جلسه)" {
		t.Fatalf("pause reason %q", got)
	}
	// A state change the ACD refuses is told on the page, still in place.
	must(t, chromedp.Do(agent, chromedp.Click(chromedp.ID("wrap-up-done"))), "wrap-up done while paused")
	poll(t, agent, "refusal shown", `!document.getElementById("state-error").hidden && window.samePage === true`)
	poll(t, agent, "desk live", `document.querySelector("#phone[data-last]") !== null`)

	call := srv.NewCall("09121234567")
	srv.WaitRequest("channels.answer", 1)
	call.SendDTMF("1") // Persian
	call.SendDTMF("1") // asphalt queue
	poll(t, boss, "waiting call on the wallboard", waiting+` === "۱"`)
	shot(t, boss, "21-wallboard-waiting")

	must(t, chromedp.Do(agent, chromedp.Click(chromedp.ID("resume"))), "resume")
	poll(t, agent, "available in place", `document.getElementById("agent-state").getAttribute("data-state") === "available" && window.samePage === true && document.getElementById("state-error").hidden`)
	leg := srv.WaitOriginated("PJSIP/201")
	poll(t, agent, "ring on the desk", `document.getElementById("call-status").textContent === "در حال زنگ"`)
	poll(t, agent, "past cases", `document.getElementById("pop-cases").textContent.includes("`+earlier.TrackingCode+`")`)
	if got := text(t, agent, "pop-caller"); got != "09121234567" {
		t.Errorf("screen pop caller %q", got)
	}
	if got := text(t, agent, "pop-path"); !strings.Contains(got, "queue=asphalt") {
		t.Errorf("screen pop IVR path %q", got)
	}
	poll(t, boss, "waiting call leaves the wallboard", waiting+` === "۰"`)
	shot(t, agent, "22-phone-ringing")

	leg.Answer()
	poll(t, agent, "answered on the desk", `document.getElementById("call-status").textContent === "در مکالمه"`)
	must(t, chromedp.Do(agent, chromedp.Click(chromedp.CSS("#map polygon"))), "click the map")
	poll(t, agent, "map sets lat/long", `document.getElementById("lat").value !== "" && document.getElementById("long").value !== ""`)
	must(t, chromedp.Do(agent, chromedp.SetValue(chromedp.ID("service_code"), "asphalt"),
		chromedp.SetValue(chromedp.ID("description"), "چاله بزرگ در بلوار وکیل‌آباد"),
		chromedp.SetValue(chromedp.ID("address"), "بلوار وکیل‌آباد ۱۲")), "fill outcome")
	shot(t, agent, "23-phone-answered")
	resp, err = chromedp.RunResponse(agent, chromedp.Click(chromedp.ID("record")))
	must(t, err, "record outcome")
	code := text(t, agent, "tracking")
	if resp.Status != http.StatusOK || len(code) != 10 {
		t.Fatalf("outcome: %d tracking %q", resp.Status, code)
	}
	shot(t, agent, "24-phone-case-opened")
	k, err := e.H.Store.CaseGetByTracking(context.Background(), code)
	if err != nil {
		t.Fatal(err)
	}
	if k.ServiceCode != "asphalt" || k.Contact.Phone != "+989121234567" || k.Location == nil || k.Location.Lat == 0 || k.Department == "" {
		t.Fatalf("case from the call: %+v %+v", k, k.Location)
	}
	if k.Department == earlier.Department {
		t.Fatalf("test needs two departments, both cases are %s", k.Department)
	}

	// Search by the caller's phone finds both cases.
	must(t, chromedp.Do(agent, chromedp.Navigate(e.URL+"/console/search?phone=09121234567")), "search")
	if n := eval(t, agent, `String(document.querySelectorAll("#cases tbody tr").length)`); n != "2" {
		t.Errorf("search by phone: %s rows, want 2", n)
	}
	shot(t, agent, "25-search")
	signOut(t, agent)

	// The case's department answers it, and may not open the other case.
	addUser(t, e.Users, users.User{Username: "civil", Name: "مهندس کریمی", Roles: []users.Role{users.RoleDepartment}, Department: k.Department}, "official-password")
	if st := signInAs(t, agent, e.URL, "civil", "official-password"); st != http.StatusOK {
		t.Fatalf("official sign-in: %d", st)
	}
	must(t, chromedp.Do(agent, chromedp.Navigate(e.URL+"/console/cases/"+code)), "official case")
	_, err = chromedp.RunResponse(agent, chromedp.Click(chromedp.ID("act-accept")))
	must(t, err, "accept")
	resp, err = chromedp.RunResponse(agent, chromedp.SetValue(chromedp.ID("text"), "اکیپ آسفالت فردا اعزام می‌شود."), chromedp.Click(chromedp.ID("act-answer")))
	must(t, err, "answer")
	if resp.Status != http.StatusOK || !strings.Contains(text(t, agent, "timeline"), "پاسخ واحد") {
		t.Errorf("answer: %d", resp.Status)
	}
	shot(t, agent, "26-official-answered")
	resp, err = chromedp.RunResponse(agent, chromedp.Navigate(e.URL+"/console/cases/"+earlier.TrackingCode))
	must(t, err, "official opens another department's case")
	if resp.Status != http.StatusForbidden {
		t.Errorf("official opening another department's case: %d", resp.Status)
	}
	shot(t, agent, "27-official-forbidden")
	// Still without reloading: the call's request appears under its portal.
	poll(t, boss, "phone portal's volume on the wallboard", `[...document.querySelectorAll("#per-portal tbody tr")].some(tr => tr.cells[0].textContent === "phone" && tr.cells[1].textContent === "۱")`)
	shot(t, boss, "28-wallboard")
}
