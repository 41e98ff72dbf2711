package console_test

import (
	"cmp"
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dargah137/dargah/internal/app/apptest"
	"github.com/dargah137/dargah/web/console/users"
)

// One headless Chromium per test binary; each browser test opens its own
// tab (and its own Dargah), so they share nothing but the process.
var browser struct {
	once   sync.Once
	ctx    context.Context
	cancel func()
	err    error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if browser.cancel != nil {
		browser.cancel()
	}
	os.Exit(code)
}

func chromiumPath() string {
	for _, p := range []string{os.Getenv("DARGAH_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p != "" {
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	p, _ := exec.LookPath("chromium")
	return p
}

// tab opens a new tab in the shared browser. A missing Chromium fails the
// test: scripts/chromium.sh installs it, and make test runs that.
func tab(t *testing.T) context.Context {
	t.Helper()
	browser.once.Do(func() {
		path := chromiumPath()
		if path == "" {
			browser.err = os.ErrNotExist
			return
		}
		dir, err := os.MkdirTemp("", "dargah-chromium-")
		if err != nil {
			browser.err = err
			return
		}
		actx, acancel := chromedp.NewExecAllocator(context.Background(),
			chromedp.ExecPath(path),
			chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
			chromedp.Flag("disable-quic", true),
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
			chromedp.UserDataDir(dir),
			chromedp.WindowSize(1280, 900),
		)
		bctx, bcancel := chromedp.NewContext(actx)
		browser.ctx = bctx
		browser.cancel = func() { bcancel(); acancel(); os.RemoveAll(dir) }
		browser.err = chromedp.Do(bctx) // starts the browser
	})
	if browser.err != nil {
		t.Fatalf("headless Chromium (run scripts/chromium.sh to install it): %v", browser.err)
	}
	// A browser context of its own: cookies are per host, not per port,
	// so two tests' Dargahs on 127.0.0.1 would otherwise share them.
	ctx, cancel := chromedp.NewContext(browser.ctx, chromedp.WithNewBrowserContext())
	ctx, cancelT := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelT(); cancel() })
	return ctx
}

// shot saves a PNG of the viewport (FullScreenshot mis-clips RTL pages) for a person to look at, in
// $DARGAH_SCREENSHOTS or testdata/screenshots (ignored by git).
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("DARGAH_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join("testdata", "screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func text(t *testing.T, ctx context.Context, id string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID(id)))
	must(t, err, "text of #"+id)
	return s
}

func eval(t *testing.T, ctx context.Context, js string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	must(t, err, js)
	return s
}

// signInAs fills and submits the sign-in form and returns the status of
// the page it lands on.
func signInAs(t *testing.T, ctx context.Context, base, user, pw string) int64 {
	t.Helper()
	must(t, chromedp.Do(ctx, chromedp.Navigate(base+"/console/sign-in")), "open sign-in")
	resp, err := chromedp.RunResponse(ctx,
		chromedp.SetValue(chromedp.ID("username"), user),
		chromedp.SetValue(chromedp.ID("password"), pw),
		chromedp.Click(chromedp.ID("submit")),
	)
	must(t, err, "submit sign-in")
	return resp.Status
}

func signOut(t *testing.T, ctx context.Context) {
	t.Helper()
	_, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(".signout button")))
	must(t, err, "sign out")
}

// TestBrowserSignIn: the sign-in page is Persian RTL, a wrong password
// says so in Persian, and repeated failures lock the account.
func TestBrowserSignIn(t *testing.T) {
	t.Parallel()
	e := start(t, apptest.Embedded)
	ctx := tab(t)
	must(t, chromedp.Do(ctx, chromedp.Navigate(e.URL+"/console/")), "open console")
	if got := eval(t, ctx, `document.documentElement.dir + " " + document.documentElement.lang + " " + getComputedStyle(document.body).direction`); got != "rtl fa rtl" {
		t.Errorf("sign-in page dir/lang/direction = %q", got)
	}
	shot(t, ctx, "01-sign-in")
	for i := range 5 {
		if st := signInAs(t, ctx, e.URL, "admin", "wrong-password-"+string(rune('a'+i))); st != http.StatusUnauthorized {
			t.Fatalf("wrong password %d: status %d", i+1, st)
		}
		if msg := text(t, ctx, "error"); !strings.Contains(msg, "نام کاربری یا گذرواژه درست نیست") {
			t.Fatalf("wrong password message %q", msg)
		}
		if i == 0 {
			shot(t, ctx, "02-wrong-password")
		}
	}
	if st := signInAs(t, ctx, e.URL, "admin", adminPassword); st != http.StatusTooManyRequests {
		t.Fatalf("locked account: status %d", st)
	}
	if msg := text(t, ctx, "error"); !strings.Contains(msg, "بسته است") {
		t.Errorf("lockout message %q", msg)
	}
	shot(t, ctx, "03-locked")
}

// TestBrowserConsoles: an admin creates a department official in the
// browser; the official cannot open a case outside their department (403);
// a supervisor-agent tours the case, desk, wallboard (live) and reports.
func TestBrowserConsoles(t *testing.T) {
	t.Parallel()
	e := start(t, apptest.Embedded)
	k := openCase(t, e, "b-1", "خیابان سناباد چاله دارد و آسفالت خراب شده <script>alert(1)</script>")
	lamp := openCase(t, e, "b-2", "لامپ‌های پارک ملت خاموش است و شب‌ها تاریک است")
	ctx := tab(t)

	if st := signInAs(t, ctx, e.URL, "admin", adminPassword); st != http.StatusOK {
		t.Fatalf("admin sign-in: %d", st)
	}
	shot(t, ctx, "04-admin-home")
	must(t, chromedp.Do(ctx, chromedp.Navigate(e.URL+"/console/admin/users")), "users page")
	// Bad input first: the form explains itself in Persian.
	resp, err := chromedp.RunResponse(ctx, chromedp.SetValue(chromedp.ID("username"), "بد نام"), chromedp.Click(chromedp.ID("role-department")),
		chromedp.Click(chromedp.ID("save")))
	must(t, err, "submit bad user")
	if resp.Status != http.StatusUnprocessableEntity || !strings.Contains(text(t, ctx, "form-errors"), "کد واحد") {
		t.Errorf("bad user form: %d %q", resp.Status, text(t, ctx, "form-errors"))
	}
	shot(t, ctx, "05-users-bad-input")
	must(t, chromedp.Do(ctx, chromedp.Navigate(e.URL+"/console/admin/users")), "users page")
	resp, err = chromedp.RunResponse(ctx,
		chromedp.SetValue(chromedp.ID("username"), "roads-chief"),
		chromedp.SetValue(chromedp.ID("name"), "مهندس کریمی"),
		chromedp.Click(chromedp.ID("role-department")),
		chromedp.SetValue(chromedp.ID("department"), "roads"),
		chromedp.SetValue(chromedp.ID("password"), "official-password"),
		chromedp.Click(chromedp.ID("save")),
	)
	must(t, err, "create official")
	if resp.Status != http.StatusOK || !strings.Contains(text(t, ctx, "flash"), "کاربر ساخته شد") {
		t.Fatalf("create official: %d", resp.Status)
	}
	shot(t, ctx, "06-users")
	u, err := e.Users.UserGetByName(context.Background(), "roads-chief")
	if err != nil || u.Department != "roads" || u.RoleList() != "department" {
		t.Fatalf("official stored as %+v, %v", u, err)
	}
	must(t, chromedp.Do(ctx, chromedp.Navigate(e.URL+"/console/admin/audit")), "audit page")
	shot(t, ctx, "07-audit")
	signOut(t, ctx)

	if st := signInAs(t, ctx, e.URL, "roads-chief", "official-password"); st != http.StatusOK {
		t.Fatalf("official sign-in: %d", st)
	}
	resp, err = chromedp.RunResponse(ctx, chromedp.Navigate(e.URL+"/console/cases/"+k.TrackingCode))
	must(t, err, "official opens case")
	if resp.Status != http.StatusForbidden || !strings.Contains(text(t, ctx, "error"), "مجاز نیست") {
		t.Errorf("official opening another department's case: %d", resp.Status)
	}
	shot(t, ctx, "08-official-forbidden")
	must(t, chromedp.Do(ctx, chromedp.Navigate(e.URL+"/console/inbox")), "official inbox")
	shot(t, ctx, "09-official-inbox")
	signOut(t, ctx)

	addUser(t, e.Users, users.User{Username: "sara", Name: "سارا احمدی", Roles: []users.Role{users.RoleAgent, users.RoleSupervisor}}, "agent-password-1")
	if st := signInAs(t, ctx, e.URL, "sara", "agent-password-1"); st != http.StatusOK {
		t.Fatalf("supervisor sign-in: %d", st)
	}
	must(t, chromedp.Do(ctx, chromedp.Navigate(e.URL+"/console/inbox")), "inbox")
	shot(t, ctx, "10-inbox")
	must(t, chromedp.Do(ctx, chromedp.Navigate(e.URL+"/console/cases/"+k.TrackingCode)), "case")
	if d := text(t, ctx, "description"); !strings.Contains(d, "<script>alert(1)</script>") {
		t.Errorf("citizen text not shown as text: %q", d)
	}
	if n := eval(t, ctx, `String(document.querySelectorAll("main script").length)`); n != "0" {
		t.Errorf("%s script elements in the case page", n)
	}
	shot(t, ctx, "11-case")

	must(t, chromedp.Do(ctx, chromedp.Navigate(e.URL+"/console/desk")), "desk")
	shot(t, ctx, "12-desk")
	resp, err = chromedp.RunResponse(ctx,
		chromedp.SetValue(chromedp.ID("name"), "رضا محمدی"),
		chromedp.SetValue(chromedp.ID("phone"), "۰۹۱۵ ۱۲۳ ۴۵۶۷"),
		chromedp.SetValue(chromedp.ID("text"), "جلوی خانهٔ ما چاله بزرگی در آسفالت خیابان هست"),
		chromedp.SetValue(chromedp.ID("address"), "بلوار وکیل‌آباد، نبش وکیل‌آباد ۱۲"),
		chromedp.Click(chromedp.ID("submit")),
	)
	must(t, err, "desk submit")
	if code := text(t, ctx, "tracking"); resp.Status != http.StatusOK || len(code) != 10 {
		t.Errorf("desk: %d, tracking %q", resp.Status, code)
	}
	shot(t, ctx, "13-desk-done")

	must(t, chromedp.Do(ctx, chromedp.Navigate(e.URL+"/console/wallboard"),
		chromedp.WaitVisible(chromedp.CSS("#wallboard[data-updated]"))), "wallboard live update")
	if n := text(t, ctx, "open"); n != "۳" {
		t.Errorf("wallboard open cases %q, want ۳", n)
	}
	if n := text(t, ctx, "agents-paused"); n != "۱" {
		t.Errorf("wallboard paused agents %q, want ۱", n)
	}
	shot(t, ctx, "14-wallboard")
	// Figures for the report: an inquiry resolved on the spot, a case settled and rated.
	inquire(t, e, "b-3", lamp.TrackingCode)
	settle(t, e, lamp, 5)
	must(t, chromedp.Do(ctx, chromedp.Navigate(e.URL+"/console/reports")), "reports")
	if n := eval(t, ctx, `String(document.querySelectorAll("#chart rect").length)`); n != "2" {
		t.Errorf("report chart has %s bars, want 2", n)
	}
	if n := eval(t, ctx, `String(document.querySelectorAll("#kpis svg, section.report h2").length)`); n != "9" {
		t.Errorf("report has %s gauges and charts, want 3 and 6", n)
	}
	// The whole report, not only the first screen.
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	must(t, err, "reports screenshot")
	full := filepath.Join(cmp.Or(os.Getenv("DARGAH_SCREENSHOTS"), filepath.Join("testdata", "screenshots")), "15-reports.png")
	must(t, os.WriteFile(full, png, 0o644), "write reports screenshot")
	must(t, chromedp.Do(ctx, chromedp.Navigate(e.URL+"/console/inbox?lang=en")), "inbox en")
	if d := eval(t, ctx, `document.documentElement.dir`); d != "ltr" {
		t.Errorf("English inbox dir %q", d)
	}
	shot(t, ctx, "16-inbox-en")
	must(t, chromedp.Do(ctx, chromedp.Navigate(e.URL+"/console/?lang=fa")), "back to Persian")
	signOut(t, ctx)

	// The case's own department accepts and answers it in the browser.
	addUser(t, e.Users, users.User{Username: "owner", Roles: []users.Role{users.RoleDepartment}, Department: k.Department}, "owner-password-1")
	if st := signInAs(t, ctx, e.URL, "owner", "owner-password-1"); st != http.StatusOK {
		t.Fatalf("owner sign-in: %d", st)
	}
	must(t, chromedp.Do(ctx, chromedp.Navigate(e.URL+"/console/cases/"+k.TrackingCode)), "owner case")
	shot(t, ctx, "17-case-actions")
	_, err = chromedp.RunResponse(ctx, chromedp.Click(chromedp.ID("act-accept")))
	must(t, err, "accept")
	resp, err = chromedp.RunResponse(ctx, chromedp.SetValue(chromedp.ID("text"), "اکیپ آسفالت فردا اعزام می‌شود."), chromedp.Click(chromedp.ID("act-answer")))
	must(t, err, "answer")
	if resp.Status != http.StatusOK || !strings.Contains(text(t, ctx, "timeline"), "پاسخ واحد") {
		t.Errorf("answer in the browser: %d", resp.Status)
	}
	shot(t, ctx, "18-case-answered")
}
