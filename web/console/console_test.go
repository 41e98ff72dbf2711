package console_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/internal/app/apptest"
	"github.com/dargah137/dargah/internal/digits"
	"github.com/dargah137/dargah/web/console/users"
)

// client is a browser without JavaScript: cookies, and the CSRF token of
// the last page it read.
type client struct {
	t    *testing.T
	base string
	hc   *http.Client
	csrf string
}

func newClient(t *testing.T, base string) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: base, hc: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (c *client) do(req *http.Request) (int, string) {
	c.t.Helper()
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	body := string(b)
	if m := csrfRE.FindStringSubmatch(body); m != nil {
		c.csrf = m[1]
	}
	return resp.StatusCode, body
}

func (c *client) get(path string) (int, string) {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.base+path, nil)
	return c.do(req)
}

// post sends a form with the page's token and this site's Origin, as a
// browser would; the caller may override either.
func (c *client) post(path string, form url.Values, hdr ...string) (int, string) {
	c.t.Helper()
	if form.Get("csrf") == "" {
		form.Set("csrf", c.csrf)
	}
	req, _ := http.NewRequest(http.MethodPost, c.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", c.base)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return c.do(req)
}

func (c *client) signIn(user, pw string) (int, string) {
	c.t.Helper()
	c.get("/console/sign-in")
	return c.post("/console/sign-in", url.Values{"username": {user}, "password": {pw}})
}

func mustContain(t *testing.T, body string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("page lacks %q", w)
		}
	}
}

// TestConsole walks the consoles over HTTP on both runtimes: sign-in,
// CSRF, admin pages, authorization by role and department, escaping,
// desk intake, wallboard events, reports and audit.
func TestConsole(t *testing.T) {
	for _, rt := range []apptest.Runtime{apptest.Embedded, apptest.Production} {
		t.Run(string(rt), func(t *testing.T) {
			t.Parallel()
			e := start(t, rt)
			ctx := context.Background()
			xss := openCase(t, e, "x-1", "خیابان سناباد چاله دارد و آسفالت خراب شده <script>alert(1)</script>")

			anon := newClient(t, e.URL)
			code, body := anon.get("/console/")
			if code != http.StatusOK || !strings.Contains(body, `dir="rtl"`) || !strings.Contains(body, `lang="fa"`) || !strings.Contains(body, `id="signin"`) {
				t.Fatalf("anonymous home: %d, want the RTL sign-in page", code)
			}
			if code, _ := anon.get("/console/cases/" + xss.TrackingCode); code != http.StatusOK {
				t.Errorf("case without session gave %d, want the sign-in page", code)
			}

			admin := newClient(t, e.URL)
			if code, body := admin.signIn("admin", "wrong-password-1"); code != http.StatusUnauthorized {
				t.Errorf("wrong password: %d", code)
			} else {
				mustContain(t, body, "نام کاربری یا گذرواژه درست نیست")
			}
			// Sign-in without the form's token (login CSRF) is refused.
			if code, _ := admin.post("/console/sign-in", url.Values{"username": {"admin"}, "password": {adminPassword}, "csrf": {"forged"}}); code != http.StatusForbidden {
				t.Errorf("sign-in with a forged token: %d", code)
			}
			if code, body := admin.signIn("admin", adminPassword); code != http.StatusOK || !strings.Contains(body, "مدیر سامانه") {
				t.Fatalf("admin sign-in: %d", code)
			}

			// Bad input: every problem in Persian, nothing stored.
			code, body = admin.post("/console/admin/users", url.Values{"username": {"A B"}, "roles": {"department"}, "password": {"short"}})
			if code != http.StatusUnprocessableEntity {
				t.Errorf("bad user form: %d", code)
			}
			mustContain(t, body, "نام کاربری باید", "کد واحد", "گذرواژه باید ۱۰ تا ۱۲۸")
			if code, _ := admin.post("/console/admin/users", url.Values{"username": {"x1"}, "roles": {"boss"}, "password": {"long-enough-pw"}}); code != http.StatusUnprocessableEntity {
				t.Errorf("unknown role: %d", code)
			}
			// CSRF: a wrong token, or the right token from another origin.
			if code, _ := admin.post("/console/admin/users", url.Values{"csrf": {"nope"}, "username": {"evil"}, "roles": {"admin"}, "password": {"long-enough-pw"}}); code != http.StatusForbidden {
				t.Errorf("wrong CSRF token: %d", code)
			}
			if code, _ := admin.post("/console/admin/users", url.Values{"username": {"evil"}, "roles": {"admin"}, "password": {"long-enough-pw"}}, "Origin", "https://evil.example"); code != http.StatusForbidden {
				t.Errorf("foreign origin: %d", code)
			}
			if _, err := e.Users.UserGetByName(ctx, "evil"); err == nil {
				t.Error("a forged request created a user")
			}
			code, body = admin.post("/console/admin/users", url.Values{"username": {"Roads-Chief"}, "name": {"<b>رئیس</b>"}, "roles": {"department"},
				"department": {"roads"}, "password": {"official-password"}})
			if code != http.StatusOK {
				t.Fatalf("create official: %d", code)
			}
			mustContain(t, body, "کاربر ساخته شد", "&lt;b&gt;رئیس&lt;/b&gt;")
			if code, _ := admin.post("/console/admin/users", url.Values{"username": {"roads-chief"}, "roles": {"agent"}, "password": {"official-password"}}); code != http.StatusUnprocessableEntity {
				t.Errorf("duplicate username: %d", code)
			}
			// The admin may not lock themselves out.
			if code, body := admin.post("/console/admin/users/admin", url.Values{"roles": {"agent"}}); code != http.StatusUnprocessableEntity {
				t.Errorf("admin dropping own admin role: %d", code)
			} else {
				mustContain(t, body, "نمی‌توانید")
			}
			// Admins manage users; they do not read citizens' cases.
			if code, _ := admin.get("/console/cases/" + xss.TrackingCode); code != http.StatusForbidden {
				t.Errorf("admin opening a case: %d", code)
			}

			official := newClient(t, e.URL)
			if code, _ := official.signIn("roads-chief", "official-password"); code != http.StatusOK {
				t.Fatalf("official sign-in: %d", code)
			}
			if code, body := official.get("/console/cases/" + xss.TrackingCode); code != http.StatusForbidden {
				t.Errorf("official opening another department's case: %d", code)
			} else {
				mustContain(t, body, "دسترسی به این صفحه برای شما مجاز نیست")
			}
			if code, body := official.get("/console/inbox"); code != http.StatusOK || strings.Contains(body, xss.TrackingCode) {
				t.Errorf("official inbox: %d, shows the other case: %v", code, strings.Contains(body, xss.TrackingCode))
			}
			for _, p := range []string{"/console/admin/users", "/console/wallboard", "/console/desk"} {
				if code, _ := official.get(p); code != http.StatusForbidden {
					t.Errorf("official GET %s: %d", p, code)
				}
			}

			// The official of the case's own department may open it; the
			// router's rules assign it (routing.yaml department per service).
			if xss.Department == "" {
				t.Fatalf("case %s has no department; the process should have assigned one", xss.TrackingCode)
			}
			addUser(t, e.Users, users.User{Username: "owner", Roles: []users.Role{users.RoleDepartment}, Department: xss.Department}, "owner-password-1")
			owner := newClient(t, e.URL)
			owner.signIn("owner", "owner-password-1")
			if code, body := owner.get("/console/cases/" + xss.TrackingCode); code != http.StatusOK || !strings.Contains(body, `id="timeline"`) {
				t.Errorf("official of %s opening its case: %d", xss.Department, code)
			}
			if code, body := owner.get("/console/inbox"); code != http.StatusOK || !strings.Contains(body, xss.TrackingCode) {
				t.Errorf("own department inbox: %d", code)
			}
			// The official acts through the 137 process: the answer needs
			// text; accept, then answer; another department cannot act.
			casePath := "/console/cases/" + xss.TrackingCode
			owner.get(casePath)
			if code, body := owner.post(casePath+"/actions", url.Values{"action": {"answer"}, "text": {"  "}}); code != http.StatusUnprocessableEntity {
				t.Errorf("answer without text: %d", code)
			} else {
				mustContain(t, body, "متن پاسخ را بنویسید")
			}
			if code, body := owner.post(casePath+"/actions", url.Values{"action": {"accept"}}); code != http.StatusOK || !strings.Contains(body, "ذخیره شد") {
				t.Errorf("accept: %d", code)
			}
			if code, _ := owner.post(casePath+"/actions", url.Values{"action": {"answer"}, "text": {"چاله تا پایان هفته <b>ترمیم</b> می‌شود."}}); code != http.StatusOK {
				t.Errorf("answer: %d", code)
			}
			if code, _ := owner.post(casePath+"/actions", url.Values{"action": {"answer"}, "text": {"دوباره"}}); code != http.StatusForbidden {
				t.Errorf("answering an answered case: %d", code)
			}
			if code, _ := official.post(casePath+"/actions", url.Values{"action": {"accept"}, "csrf": {official.csrf}}); code != http.StatusForbidden {
				t.Errorf("other department acting: %d", code)
			}
			if k, _ := e.H.Store.CaseGetByTracking(ctx, xss.TrackingCode); k.Status != "answered" || k.Answer != "چاله تا پایان هفته <b>ترمیم</b> می‌شود." {
				t.Errorf("after the answer the case is %s with answer %q", k.Status, k.Answer)
			}

			// Inspection reads escalated cases only; this one is not.
			addUser(t, e.Users, users.User{Username: "inspector", Roles: []users.Role{users.RoleInspection}}, "inspector-password")
			insp := newClient(t, e.URL)
			insp.signIn("inspector", "inspector-password")
			if code, _ := insp.get("/console/cases/" + xss.TrackingCode); code != http.StatusForbidden {
				t.Errorf("inspection opening a case that is not escalated: %d", code)
			}
			if code, body := insp.get("/console/inbox"); code != http.StatusOK || strings.Contains(body, xss.TrackingCode) {
				t.Errorf("inspection inbox: %d", code)
			}
			for _, p := range []string{"/console/desk", "/console/admin/audit", "/console/wallboard"} {
				if code, _ := insp.get(p); code != http.StatusForbidden {
					t.Errorf("inspection GET %s: %d", p, code)
				}
			}

			addUser(t, e.Users, users.User{Username: "sara", Name: "سارا", Roles: []users.Role{users.RoleAgent, users.RoleSupervisor}}, "agent-password-1")
			agent := newClient(t, e.URL)
			if code, _ := agent.signIn("sara", "agent-password-1"); code != http.StatusOK {
				t.Fatalf("agent sign-in: %d", code)
			}
			code, body = agent.get("/console/cases/" + xss.TrackingCode)
			if code != http.StatusOK {
				t.Fatalf("agent case view: %d", code)
			}
			mustContain(t, body, "&lt;script&gt;alert(1)&lt;/script&gt;", xss.TrackingCode, "&lt;b&gt;ترمیم&lt;/b&gt;", `id="act-verify"`)
			if strings.Contains(body, "<script>alert(1)") {
				t.Error("a citizen's <script> reached the page unescaped")
			}
			if code, _ := agent.post("/console/cases/"+xss.TrackingCode+"/actions", url.Values{"action": {"verify"}}); code != http.StatusOK {
				t.Errorf("verify: %d", code)
			}
			if k, _ := e.H.Store.CaseGetByTracking(ctx, xss.TrackingCode); k.Status != "verified" {
				t.Errorf("after verify the case is %s", k.Status)
			}
			if code, body := agent.get("/console/inbox"); code != http.StatusOK || !strings.Contains(body, xss.TrackingCode) {
				t.Errorf("agent inbox: %d", code)
			}
			if code, body := agent.get("/console/inbox?status=closed"); code != http.StatusOK || strings.Contains(body, xss.TrackingCode) {
				t.Errorf("closed inbox: %d, lists an open case: %v", code, strings.Contains(body, xss.TrackingCode))
			}
			if code, body := agent.get("/console/inbox?status=all&department=" + xss.Department); code != http.StatusOK || !strings.Contains(body, xss.TrackingCode) {
				t.Errorf("all-status inbox of %s: %d", xss.Department, code)
			}
			if _, body := agent.get("/console/inbox?status=closed"); !strings.Contains(body, `href="/console/inbox?lang=en&amp;status=closed"`) {
				t.Error("the English link does not keep the inbox filter")
			}
			if code, _ := agent.get("/console/inbox?department=%3Cx%3E"); code != http.StatusOK {
				t.Errorf("inbox with a bad department filter: %d", code)
			}

			// Desk: a walk-in opens a case like any portal; a letter is
			// idempotent by its number; bad input is explained.
			agent.get("/console/desk")
			code, body = agent.post("/console/desk", url.Values{"channel": {"walk-in"}, "name": {"رضا"}, "phone": {"۰۹۱۲ ۱۲۳ ۴۵۶۷"},
				"text": {"جلوی خانهٔ ما چاله بزرگی در آسفالت خیابان هست"}, "address": {"خیابان امام رضا ۱۲"}})
			if code != http.StatusOK || !strings.Contains(body, `id="tracking"`) {
				t.Fatalf("walk-in: %d %s", code, grab(body, "result"))
			}
			letter := url.Values{"channel": {"letter"}, "letter_no": {"۱۴۰۵/۱۲۳"}, "text": {"درخواست آسفالت کوچه ۱۲ بلوار سجاد، آسفالت خراب است"}}
			_, first := agent.post("/console/desk", letter)
			agent.get("/console/desk")
			_, again := agent.post("/console/desk", letter)
			if a, b := grab(first, "tracking"), grab(again, "tracking"); a == "" || a != b {
				t.Errorf("letter twice gave %q and %q, want one case", a, b)
			}
			code, body = agent.post("/console/desk", url.Values{"channel": {"letter"}, "phone": {"12345"}, "text": {" "}})
			if code != http.StatusUnprocessableEntity {
				t.Errorf("bad desk form: %d", code)
			}
			mustContain(t, body, "شمارهٔ نامه", "متن درخواست را بنویسید", "شمارهٔ تلفن همراه درست نیست")
			ks, _ := e.H.Store.CaseSearch(ctx, casesFilterPortal())
			var walkIns int
			for _, k := range ks {
				if k.PortalKind == "desk" {
					walkIns++
				}
			}
			if walkIns != 2 {
				t.Errorf("%d desk cases, want 2 (a walk-in and one letter)", walkIns)
			}

			// Wallboard: the first server-sent event carries the figures.
			req, _ := http.NewRequest(http.MethodGet, e.URL+"/console/wallboard/events", nil)
			req.Header.Set("Accept", "text/event-stream")
			sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			resp, err := agent.hc.Do(req.WithContext(sctx))
			if err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(resp.Body)
			var event, data string
			for sc.Scan() && data == "" {
				line := sc.Text()
				if v, ok := strings.CutPrefix(line, "event: "); ok {
					event = v
				}
				if v, ok := strings.CutPrefix(line, "data: "); ok {
					data = v
				}
			}
			cancel()
			resp.Body.Close()
			if event != "stats" || !strings.Contains(data, `"open":3`) || !strings.Contains(data, `"agents":{"available":1,"paused":1}`) {
				t.Errorf("wallboard event %q %q, want stats with 3 open cases", event, data)
			}
			if code, body := agent.get("/console/reports"); code != http.StatusOK || !strings.Contains(body, "<svg") || !strings.Contains(body, "<rect") {
				t.Errorf("reports: %d", code)
			}

			// Sign out ends the session on the server, not only the cookie.
			agent.get("/console/")
			if code, _ := agent.post("/console/sign-out", url.Values{}); code != http.StatusOK {
				t.Errorf("sign out: %d", code)
			}
			if code, body := agent.get("/console/inbox"); code != http.StatusOK || !strings.Contains(body, `id="signin"`) {
				t.Errorf("after sign-out the inbox gave %d", code)
			}

			log, err := e.Users.AuditList(ctx, users.AuditFilter{Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			for _, a := range log {
				seen[a.Action+":"+a.Actor] = true
				if a.IP == "" && a.Actor != "cli" {
					t.Errorf("audit entry without IP: %+v", a)
				}
			}
			for _, want := range []string{"sign_in_failed:admin", "sign_in:admin", "user_create:admin", "csrf_rejected:admin",
				"case_denied:roads-chief", "case_view:sara", "desk_submit:sara", "sign_out:sara", "forbidden:roads-chief",
				"case_accept:owner", "case_answer:owner", "case_verify:sara", "case_action_denied:owner"} {
				if !seen[want] {
					t.Errorf("audit log lacks %s", want)
				}
			}
		})
	}
}

// grab returns the text of the element with that id, roughly.
func grab(body, id string) string {
	_, rest, ok := strings.Cut(body, `id="`+id+`"`)
	if !ok {
		return ""
	}
	_, rest, _ = strings.Cut(rest, ">")
	v, _, _ := strings.Cut(rest, "<")
	return strings.TrimSpace(v)
}

// TestLockoutAndExpiry: repeated failures lock the account even for the
// right password until the cool-down passes; the IP limit locks every
// account from that address; idle and absolute expiry end sessions.
func TestLockoutAndExpiry(t *testing.T) {
	t.Parallel()
	e := start(t, apptest.Embedded)
	addUser(t, e.Users, users.User{Username: "nima", Roles: []users.Role{users.RoleSupervisor}}, "nima-password-1")
	c := newClient(t, e.URL)
	for i := range 5 {
		if code, _ := c.signIn("nima", "bad-guess-"+string(rune('a'+i))); code != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i+1, code)
		}
	}
	code, body := c.signIn("nima", "nima-password-1")
	if code != http.StatusTooManyRequests {
		t.Fatalf("right password while locked: %d", code)
	}
	mustContain(t, body, "ورود تا ۱۵ دقیقهٔ دیگر بسته است")
	// Another account from the same address is not locked by nima's failures.
	if code, _ := c.signIn("admin", adminPassword); code != http.StatusOK {
		t.Errorf("admin during nima's lockout: %d", code)
	}
	e.Clock.Add(16 * time.Minute)
	if code, _ := c.signIn("nima", "nima-password-1"); code != http.StatusOK {
		t.Fatalf("after the cool-down: %d", code)
	}
	if code, body := c.get("/console/wallboard"); code != http.StatusOK || !strings.Contains(body, `id="wallboard"`) {
		t.Fatalf("wallboard: %d", code)
	}
	// Idle: 31 minutes without a request ends the session.
	e.Clock.Add(31 * time.Minute)
	if code, body := c.get("/console/wallboard"); code != http.StatusOK || !strings.Contains(body, "نشست شما پایان یافته است") {
		t.Errorf("after idle timeout: %d", code)
	}
	// Absolute: activity every 20 minutes still ends at 12 hours.
	if code, _ := c.signIn("nima", "nima-password-1"); code != http.StatusOK {
		t.Fatal(code)
	}
	for range 36 {
		e.Clock.Add(20 * time.Minute)
		c.get("/console/")
	}
	e.Clock.Add(20 * time.Minute)
	if code, body := c.get("/console/wallboard"); code != http.StatusOK || !strings.Contains(body, `id="signin"`) {
		t.Errorf("after 12h20m of activity: %d, want the sign-in page", code)
	}
	// Per-IP limit (20): many accounts guessed from one address.
	for i := range 20 {
		c.signIn("nobody"+string(rune('a'+i)), "whatever-guess")
	}
	if code, _ := c.signIn("admin", adminPassword); code != http.StatusTooManyRequests {
		t.Errorf("admin from a locked-out address: %d", code)
	}
	// Language: ?lang=en switches and is remembered.
	if _, body := c.get("/console/sign-in?lang=en"); !strings.Contains(body, `dir="ltr"`) || !strings.Contains(body, "Sign in") {
		t.Error("English sign-in page is not LTR English")
	}
	if _, body := c.get("/console/sign-in"); !strings.Contains(body, `lang="en"`) {
		t.Error("language choice not remembered")
	}
	if _, body := c.get("/console/sign-in?lang=ar"); !strings.Contains(body, `dir="rtl"`) || !strings.Contains(body, "تسجيل الدخول") {
		t.Error("Arabic sign-in page is not RTL Arabic")
	}
}

// TestSessionCookieAndRevocation: the session cookie's attributes, and
// an admin disabling a user or resetting a password signs that user out
// everywhere at once.
func TestSessionCookieAndRevocation(t *testing.T) {
	t.Parallel()
	e := start(t, apptest.Embedded)
	addUser(t, e.Users, users.User{Username: "mina", Roles: []users.Role{users.RoleAgent}}, "mina-password-1")

	c := newClient(t, e.URL)
	c.hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.get("/console/sign-in")
	form := url.Values{"username": {"mina"}, "password": {"mina-password-1"}, "csrf": {c.csrf}}
	req, _ := http.NewRequest(http.MethodPost, e.URL+"/console/sign-in", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var session *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "dargah_console" {
			session = ck
		}
	}
	if resp.StatusCode != http.StatusSeeOther || session == nil {
		t.Fatalf("sign-in: %d, cookies %v", resp.StatusCode, resp.Cookies())
	}
	if !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Path != "/console" || session.Secure || len(session.Value) != 43 {
		t.Errorf("session cookie %+v: want HttpOnly, SameSite=Lax, Path=/console, 256-bit value, not Secure on plain HTTP", session)
	}
	if h := resp.Header.Get("Location"); h != "/console/" {
		t.Errorf("redirect to %q", h)
	}
	// The store keeps only the id's hash: the cookie value is not a key.
	if _, err := e.Users.SessionGet(context.Background(), session.Value); err == nil {
		t.Error("session found by the raw cookie value")
	}
	c.hc.CheckRedirect = nil
	if code, body := c.get("/console/inbox"); code != http.StatusOK || strings.Contains(body, `id="signin"`) {
		t.Fatalf("mina's inbox: %d", code)
	}

	admin := newClient(t, e.URL)
	admin.signIn("admin", adminPassword)
	admin.get("/console/admin/users/mina")
	if code, _ := admin.post("/console/admin/users/mina", url.Values{"roles": {"agent"}, "password": {"a-new-password-2"}}); code != http.StatusOK {
		t.Fatalf("reset password: %d", code)
	}
	if _, body := c.get("/console/inbox"); !strings.Contains(body, `id="signin"`) {
		t.Error("mina's session outlived a password reset")
	}
	if code, _ := c.signIn("mina", "mina-password-1"); code != http.StatusUnauthorized {
		t.Errorf("old password after reset: %d", code)
	}
	if code, _ := c.signIn("mina", "a-new-password-2"); code != http.StatusOK {
		t.Fatalf("new password: %d", code)
	}
	admin.get("/console/admin/users/mina")
	if code, _ := admin.post("/console/admin/users/mina", url.Values{"roles": {"agent"}, "disabled": {"on"}}); code != http.StatusOK {
		t.Fatalf("disable: %d", code)
	}
	if _, body := c.get("/console/inbox"); !strings.Contains(body, `id="signin"`) {
		t.Error("a disabled user's session still works")
	}
	if code, _ := c.signIn("mina", "a-new-password-2"); code != http.StatusUnauthorized {
		t.Errorf("disabled user signing in: %d", code)
	}
}

// TestDuplicateMark: an agent marks a case the duplicate of another from
// the case page (the master's code typed with Persian digits), sees which
// case it duplicates, and undoes the mark.
func TestDuplicateMark(t *testing.T) {
	t.Parallel()
	e := start(t, apptest.Embedded)
	ctx := context.Background()
	master := openCase(t, e, "d-1", "خیابان سناباد چاله دارد و آسفالت خراب شده")
	dup := openCase(t, e, "d-2", "آسفالت سناباد نزدیک چهارراه خراب است")
	addUser(t, e.Users, users.User{Username: "sara", Roles: []users.Role{users.RoleAgent}}, "agent-password-1")
	agent := newClient(t, e.URL)
	if code, _ := agent.signIn("sara", "agent-password-1"); code != http.StatusOK {
		t.Fatalf("agent sign-in: %d", code)
	}
	page := "/console/cases/" + dup.TrackingCode
	if _, body := agent.get(page); !strings.Contains(body, `id="act-duplicate"`) || !strings.Contains(body, `id="of"`) {
		t.Fatal("the case page offers no duplicate mark")
	}
	if code, body := agent.post(page+"/actions", url.Values{"action": {"duplicate"}, "of": {"۱۲۳"}}); code != http.StatusUnprocessableEntity {
		t.Errorf("a bad master code: %d", code)
	} else {
		mustContain(t, body, "کد پیگیری یک پروندهٔ دیگر")
	}
	code, body := agent.post(page+"/actions", url.Values{"action": {"duplicate"}, "of": {digits.ToPersian(master.TrackingCode)}, "text": {"همان چاله"}})
	if code != http.StatusOK {
		t.Fatalf("mark duplicate: %d", code)
	}
	mustContain(t, body, `id="duplicate-of"`, master.TrackingCode, `id="act-not_duplicate"`, "همان چاله")
	if k, _ := e.H.Store.CaseGetByTracking(ctx, dup.TrackingCode); k.Status != cases.StatusOpen || k.Department != "" {
		t.Errorf("after the mark the case is %s in %q", k.Status, k.Department)
	}
	if code, body := agent.post(page+"/actions", url.Values{"action": {"not_duplicate"}}); code != http.StatusOK || strings.Contains(body, `id="duplicate-of"`) {
		t.Errorf("undo the mark: %d", code)
	}
	if k, _ := e.H.Store.CaseGetByTracking(ctx, dup.TrackingCode); k.Status != cases.StatusAssigned || k.Department == "" {
		t.Errorf("after undoing the mark the case is %s in %q", k.Status, k.Department)
	}
}
