// Package console is the staff side of Dargah: the web consoles that 137
// agents, supervisors, department officials, the follow-up unit, inspection
// and administrators work in all day.
//
// Pages are server-rendered (html/template, Persian RTL first, en and ar
// available) with embedded assets and no external CDN. Accounts, sessions,
// throttling and the audit log live in a users.Store (web/console/users).
// Every request is authorized on the server by role and, for officials, by
// department; every action is audited.
//
// Pages: /console/sign-in, / (home by role), /inbox, /cases/{code} (with
// the actions the user's role allows), /desk (walk-in visitors and letters
// become messages of the "walk-in" and "letters" portals), /phone (the
// agent desktop on the telephony portal: queue login with skills and
// extension, pause with a reason, the ringing and answered call with its
// screen pop and the caller's past cases live over server-sent events,
// and the call's outcome — resolved, or a case with service, description
// and a point on an inline SVG map of the districts), /search (cases by
// tracking code, phone, service, status), /wallboard (live over
// server-sent events: cases, phone queues from the ACD, agents by state,
// today's cases per portal, cases near their deadline and escalated
// ones), /reports (inline SVG) with its CSV /reports.csv, /admin/users and /admin/audit.
//
// Wiring (internal/app), with the users store in the case store's database:
//
//	us, _ := userdb.Open(ctx, cfg.Storage.Driver, cfg.Storage.DSN, cfg.Storage.Path)
//	_ = us.Migrate(ctx)
//	c, _ := console.New(cfg.Console, console.Deps{Users: us, Cases: a.Store, Intake: a.Pipeline,
//		Actions: a.Process, // only when a.Process != nil (a nil pointer is not a nil interface)
//		Phones: []console.PhoneLine{{Name: "phone", Telephony: portal}}, // *asterisk.Portal, optional
//		Districts: o.Districts}) // org.yaml's districts, for the case map, optional
//	c.Mount(mux) // serves /console/
package console

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"time"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/cases/org"
	"github.com/dargah137/dargah/channels"
	"github.com/dargah137/dargah/routing/acd"
	"github.com/dargah137/dargah/web/console/users"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// Config tunes the consoles. Zero values give the defaults in comments.
type Config struct {
	// Prefix is where the consoles are mounted (default "/console").
	Prefix string `yaml:"prefix"`
	// SecureCookies forces the Secure attribute, for a server behind a
	// TLS-terminating proxy; cookies are Secure anyway on a TLS request.
	SecureCookies bool `yaml:"secure_cookies"`
	// Origins are extra origins ("https://137.mashhad.ir") accepted on
	// state-changing requests besides the request's own host.
	Origins []string `yaml:"origins"`
	// TrustProxy takes the client IP from X-Forwarded-For (only behind a
	// proxy that sets it), for lockout and audit.
	TrustProxy bool `yaml:"trust_proxy"`
	// IdleTimeout ends a session with no request for this long (default 30m).
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// MaxAge ends any session this long after sign-in (default 12h).
	MaxAge time.Duration `yaml:"max_age"`
	// MaxFailures per account (default 5) and MaxFailuresIP per client IP
	// (default 20) within Lockout lock sign-in for the rest of Lockout
	// (default 15m).
	MaxFailures   int           `yaml:"max_failures"`
	MaxFailuresIP int           `yaml:"max_failures_ip"`
	Lockout       time.Duration `yaml:"lockout"`
	// PasswordParams is the argon2id cost of new password hashes (zero:
	// users.DefaultParams). Only tests lower it: -race makes argon2 slow.
	PasswordParams users.Params `yaml:"-"`
	// WallboardEvery is how often the wallboard's live figures are sent
	// (default 5s).
	WallboardEvery time.Duration `yaml:"wallboard_every"`
}

// Validate checks c and fills defaults in place.
func (c *Config) Validate() error {
	if c.Prefix == "" {
		c.Prefix = "/console"
	}
	c.Prefix = "/" + strings.Trim(c.Prefix, "/")
	if c.Prefix == "/" {
		return errors.New("console: prefix must not be /")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.IdleTimeout, 30*time.Minute)
	def(&c.MaxAge, 12*time.Hour)
	def(&c.Lockout, 15*time.Minute)
	def(&c.WallboardEvery, 5*time.Second)
	if c.MaxFailures <= 0 {
		c.MaxFailures = 5
	}
	if c.MaxFailuresIP <= 0 {
		c.MaxFailuresIP = 20
	}
	for _, o := range c.Origins {
		u, err := url.Parse(o)
		if err != nil || u.Scheme == "" || u.Host == "" || u.Path != "" {
			return fmt.Errorf("console: origin %q must be scheme://host[:port]", o)
		}
	}
	return nil
}

// Deps are what the consoles work on. Users and Cases are required.
type Deps struct {
	Users users.Store
	Cases cases.Store
	// Intake takes walk-in visitors and letters from the agent desk as
	// messages of the "walk-in" and "letters" portals; nil hides the desk.
	Intake channels.Intake
	// Actions moves cases through the 137 process (a *process.Engine, the
	// app's Process); nil shows cases read-only.
	Actions CaseActions
	// Agents is the ACD agent pool shown on the wallboard; optional
	// (the phone lines' pools when nil).
	Agents AgentLister
	// Phones are the phone portals (each an *asterisk.Portal), in config
	// order: with them agents take calls at /phone, choosing the line at
	// queue login when there are several, and the wallboard shows their
	// queues; optional.
	Phones []PhoneLine
	// Districts draw the map agents point at when opening a case from a
	// call (org.yaml's districts); optional.
	Districts []org.District
	// Services names the service codes (routing rules); optional.
	Services []channels.Service
	// Departments name the department codes on pages and reports
	// (org.yaml); optional: codes are shown as they are.
	Departments []org.Department
	Logger      *slog.Logger
	Now         func() time.Time
}

// AgentLister is the part of routing/acd.AgentPool the wallboard reads.
type AgentLister interface {
	List(ctx context.Context) ([]acd.Agent, error)
}

// Console serves the staff pages.
type Console struct {
	cfg      Config
	users    users.Store
	cases    cases.Store
	intake   channels.Intake
	agents   AgentLister
	phones   []PhoneLine
	dmaps    map[string]*districtMap // by language
	actions  CaseActions
	services map[string]map[string]string
	// Names of org.yaml's departments and districts by code.
	departments, districts map[string]org.Names
	log                    *slog.Logger
	now                    func() time.Time
	pages                  map[string]*template.Template
	mux                    *http.ServeMux
	// hashSlots bounds concurrent argon2id work (64 MiB each): a flood of
	// sign-in attempts queues instead of exhausting memory.
	hashSlots chan struct{}
	// dummyHash is verified against when a username does not exist, so
	// timing does not tell which usernames are real.
	dummyHash string
}

// New builds the consoles; it has no side effects.
func New(cfg Config, deps Deps) (*Console, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Users == nil || deps.Cases == nil {
		return nil, errors.New("console: Users and Cases are required")
	}
	c := &Console{cfg: cfg, users: deps.Users, cases: deps.Cases, intake: deps.Intake, agents: deps.Agents, actions: deps.Actions, log: deps.Logger, now: deps.Now,
		services: map[string]map[string]string{}, departments: map[string]org.Names{}, districts: map[string]org.Names{}}
	for _, d := range deps.Departments {
		c.departments[d.Code] = d.Name
	}
	for _, d := range deps.Districts {
		c.districts[d.Code] = d.Name
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	for _, l := range deps.Phones {
		if l.Telephony == nil {
			return nil, fmt.Errorf("console: phone line %q has no portal", l.Name)
		}
	}
	c.phones = deps.Phones
	if c.agents == nil && len(c.phones) > 0 {
		c.agents = lineAgents(c.phones)
	}
	c.dmaps = map[string]*districtMap{}
	for _, l := range langs {
		if m := newDistrictMap(deps.Districts, l); m != nil {
			c.dmaps[l] = m
		}
	}
	if c.now == nil {
		c.now = time.Now
	}
	c.hashSlots = make(chan struct{}, max(2, runtime.GOMAXPROCS(0)))
	for _, s := range deps.Services {
		c.services[s.Code] = s.Name
	}
	var err error
	if c.dummyHash, err = cfg.PasswordParams.Hash("not-a-real-password"); err != nil {
		return nil, err
	}
	if c.pages, err = parsePages(); err != nil {
		return nil, err
	}
	c.routes()
	return c, nil
}

// Mount registers the consoles under the prefix on mux.
func (c *Console) Mount(mux channels.Mux) {
	mux.Handle(c.cfg.Prefix+"/", c)
}

// ServeHTTP serves every console route, with the security headers all
// pages share.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "+
		"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	defer func() {
		if p := recover(); p != nil {
			c.log.Error("console: panic", "path", r.URL.Path, "panic", p)
			http.Error(w, "internal error", http.StatusInternalServerError)
		}
	}()
	c.mux.ServeHTTP(w, r)
}

func (c *Console) routes() {
	p := c.cfg.Prefix
	m := http.NewServeMux()
	c.mux = m
	assets, _ := fs.Sub(assetFS, "assets")
	m.Handle("GET "+p+"/assets/", http.StripPrefix(p+"/assets/", cacheAssets(http.FileServerFS(assets))))
	m.HandleFunc("GET "+p+"/sign-in", c.signInPage)
	m.HandleFunc("POST "+p+"/sign-in", c.signIn)
	m.HandleFunc("POST "+p+"/sign-out", c.auth(nil, c.signOut))
	m.HandleFunc("GET "+p+"/{$}", c.auth(nil, c.home))

	admin := []users.Role{users.RoleAdmin}
	m.HandleFunc("GET "+p+"/admin/users", c.auth(admin, c.userList))
	m.HandleFunc("POST "+p+"/admin/users", c.auth(admin, c.userCreate))
	m.HandleFunc("GET "+p+"/admin/users/{username}", c.auth(admin, c.userEdit))
	m.HandleFunc("POST "+p+"/admin/users/{username}", c.auth(admin, c.userUpdate))
	m.HandleFunc("GET "+p+"/admin/audit", c.auth(admin, c.auditList))

	caseRoles := []users.Role{users.RoleAgent, users.RoleSupervisor, users.RoleDepartment, users.RoleFollowUp, users.RoleInspection}
	m.HandleFunc("GET "+p+"/inbox", c.auth(caseRoles, c.inbox))
	m.HandleFunc("GET "+p+"/cases/{code}", c.auth(caseRoles, c.caseView))
	m.HandleFunc("POST "+p+"/cases/{code}/actions", c.auth(caseRoles, c.caseAction))

	desk := []users.Role{users.RoleAgent, users.RoleSupervisor}
	m.HandleFunc("GET "+p+"/desk", c.auth(desk, c.deskPage))
	m.HandleFunc("POST "+p+"/desk", c.auth(desk, c.deskSubmit))

	m.HandleFunc("GET "+p+"/phone", c.auth(desk, c.phonePage))
	m.HandleFunc("POST "+p+"/phone/state", c.auth(desk, c.phoneState))
	m.HandleFunc("POST "+p+"/phone/outcome", c.auth(desk, c.phoneOutcome))
	m.HandleFunc("GET "+p+"/phone/events", c.auth(desk, c.phoneEvents))
	m.HandleFunc("GET "+p+"/search", c.auth(caseRoles, c.search))

	watch := []users.Role{users.RoleSupervisor}
	m.HandleFunc("GET "+p+"/wallboard", c.auth(watch, c.wallboard))
	m.HandleFunc("GET "+p+"/wallboard/events", c.auth(watch, c.wallboardEvents))
	reportRoles := []users.Role{users.RoleSupervisor, users.RoleFollowUp, users.RoleInspection}
	m.HandleFunc("GET "+p+"/reports", c.auth(reportRoles, c.reports))
	m.HandleFunc("GET "+p+"/reports.csv", c.auth(reportRoles, c.reportsCSV))

	m.HandleFunc(p+"/", func(w http.ResponseWriter, r *http.Request) {
		c.fail(w, r, nil, http.StatusNotFound, "not_found")
	})
}

func cacheAssets(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		h.ServeHTTP(w, r)
	})
}

// secure reports whether cookies must carry the Secure attribute.
func (c *Console) secure(r *http.Request) bool { return c.cfg.SecureCookies || r.TLS != nil }

// clientIP is the peer address, or the first X-Forwarded-For hop when the
// proxy is trusted.
func (c *Console) clientIP(r *http.Request) string {
	if c.cfg.TrustProxy {
		if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
			first, _, _ := strings.Cut(xff, ",")
			if ip := net.ParseIP(strings.TrimSpace(first)); ip != nil {
				return ip.String()
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// audit appends one entry; a failure is logged, never shown as the
// action's failure, because the action already happened.
func (c *Console) audit(ctx context.Context, r *http.Request, actor, action, target, detail string) {
	e := users.Entry{At: c.now(), Actor: actor, Action: action, Target: target, IP: c.clientIP(r), Detail: detail}
	if err := c.users.AuditAppend(context.WithoutCancel(ctx), e); err != nil {
		c.log.Error("console: audit", "action", action, "actor", actor, "err", err)
	}
}
