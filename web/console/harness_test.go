package console_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/cases/org"
	"github.com/dargah137/dargah/configs"
	"github.com/dargah137/dargah/gateway"
	"github.com/dargah137/dargah/internal/app/apptest"
	"github.com/dargah137/dargah/routing/acd/mempool"
	"github.com/dargah137/dargah/web/console"
	"github.com/dargah137/dargah/web/console/users"
	"github.com/dargah137/dargah/web/console/users/userpg"
	"github.com/dargah137/dargah/web/console/users/usersqlite"
)

// clock is the console's injected time, moved by tests to pass idle
// timeouts and lockout cool-downs without waiting.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a running Dargah with the consoles mounted next to its portals,
// the users store sharing the case store's database.
type env struct {
	URL   string
	H     *apptest.Harness
	Users users.Store
	Clock *clock
}

// cheap keeps argon2id affordable under -race; production cost is
// measured by users.BenchmarkHashPassword.
var cheap = users.Params{Time: 1, MemoryKiB: 8 * 1024, Threads: 1}

const adminPassword = "admin-password-137"

func start(t *testing.T, rt apptest.Runtime) *env {
	t.Helper()
	return startWith(t, apptest.Options{Runtime: rt})
}

// startWith starts Dargah with o; when a portal is a console.Telephony
// (asterisk), the agent desktop drives it and the wallboard shows its
// agents instead of the fixed pool.
func startWith(t *testing.T, o apptest.Options) *env {
	t.Helper()
	rt := o.Runtime
	h := apptest.Start(t, o)
	ctx := context.Background()
	var us users.Store
	var err error
	if rt == apptest.Production {
		us, err = userpg.Open(ctx, h.Config.Storage.DSN)
	} else {
		us, err = usersqlite.Open(ctx, h.Config.Storage.Path)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { us.Close() })
	if err := us.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Now()}
	agents := mempool.New(clk.Now)
	for _, id := range []string{"agent-101", "agent-102"} {
		if _, err := agents.Login(ctx, id, map[string]int{"fa": 5}, "PJSIP/"+id); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := agents.Pause(ctx, "agent-102", "ناهار"); err != nil {
		t.Fatal(err)
	}
	shipped, err := org.Parse("org.yaml", configs.Org)
	if err != nil {
		t.Fatal(err)
	}
	deps := console.Deps{
		Users: us, Cases: h.Store, Intake: h.App.Pipeline, Agents: agents, Actions: h.App.Process, Services: h.App.Router.Services(), Now: clk.Now,
		Departments: shipped.Departments,
	}
	for _, p := range h.App.Portals {
		if tel, ok := p.Adapter.(console.Telephony); ok {
			deps.Phones, deps.Agents = append(deps.Phones, console.PhoneLine{Name: p.Name, Telephony: tel}), nil
			deps.Districts = shipped.Districts
		}
	}
	c, err := console.New(console.Config{WallboardEvery: 50 * time.Millisecond, PasswordParams: cheap}, deps)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	c.Mount(mux)
	mux.Handle("/", h.App.Handler())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	addUser(t, us, users.User{Username: "admin", Name: "مدیر سامانه", Roles: []users.Role{users.RoleAdmin}}, adminPassword)
	return &env{URL: srv.URL, H: h, Users: us, Clock: clk}
}

func addUser(t *testing.T, s users.Store, u users.User, pw string) users.User {
	t.Helper()
	h, err := cheap.Hash(pw)
	if err != nil {
		t.Fatal(err)
	}
	u.PasswordHash = h
	u, err = s.UserCreate(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// openCase submits a citizen message through the real pipeline and returns
// the case the router opened.
func openCase(t *testing.T, e *env, id, text string) cases.Case {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r, err := e.H.App.Pipeline.Submit(ctx, gateway.Message{Portal: "web", PortalKind: "webform", PortalMessageID: id,
		Contact: gateway.Contact{Phone: "+989121234567", Name: "شهروند"}, Text: text, ReceivedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if r, err = e.H.App.Pipeline.Await(ctx, r.MessageID); err != nil {
		t.Fatal(err)
	}
	if r.Decision.Outcome != gateway.OutcomeCaseOpened {
		t.Fatalf("message %q did not open a case: %+v", text, r.Decision)
	}
	k, err := e.H.Store.CaseGetByTracking(ctx, r.Decision.TrackingCode)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func casesFilterPortal() cases.Filter { return cases.Filter{Limit: 1000} }
