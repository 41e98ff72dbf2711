// Package userstest is the conformance suite every users.Store passes. An
// implementation's test is one call: userstest.Run(t, open).
package userstest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dargah137/dargah/web/console/users"
)

// Open returns a fresh, empty, unmigrated store for one test; the suite
// migrates it and closes it.
type Open func(t *testing.T) users.Store

// Run runs the suite against stores from open.
func Run(t *testing.T, open Open) {
	t0 := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	fresh := func(t *testing.T) (users.Store, context.Context) {
		t.Parallel()
		s := open(t)
		t.Cleanup(func() { s.Close() })
		ctx := context.Background()
		if err := s.Migrate(ctx); err != nil {
			t.Fatalf("migrate: %v", err)
		}
		if err := s.Migrate(ctx); err != nil {
			t.Fatalf("second migrate: %v", err)
		}
		return s, ctx
	}

	t.Run("Users", func(t *testing.T) {
		s, ctx := fresh(t)
		u, err := s.UserCreate(ctx, users.User{Username: "zahra", Name: "زهرا رضایی", PasswordHash: "h1",
			Roles: []users.Role{users.RoleDepartment, users.RoleAgent}, Department: "roads", CreatedAt: t0})
		if err != nil || u.ID == 0 {
			t.Fatalf("create = %+v, %v", u, err)
		}
		if _, err := s.UserCreate(ctx, users.User{Username: "zahra", PasswordHash: "x", Roles: []users.Role{users.RoleAgent}}); !errors.Is(err, users.ErrConflict) {
			t.Errorf("duplicate username: %v, want ErrConflict", err)
		}
		got, err := s.UserGetByName(ctx, "zahra")
		if err != nil || got.ID != u.ID || got.Name != "زهرا رضایی" || got.Department != "roads" || got.RoleList() != "department,agent" ||
			!got.CreatedAt.Equal(t0) || got.Disabled {
			t.Errorf("get by name = %+v, %v", got, err)
		}
		if _, err := s.UserGet(ctx, u.ID+1000); !errors.Is(err, users.ErrNotFound) {
			t.Errorf("missing id: %v", err)
		}
		if _, err := s.UserGetByName(ctx, "nobody"); !errors.Is(err, users.ErrNotFound) {
			t.Errorf("missing name: %v", err)
		}
		got.Roles, got.Department, got.Disabled, got.PasswordHash = []users.Role{users.RoleSupervisor}, "", true, "h2"
		if err := s.UserUpdate(ctx, got); err != nil {
			t.Fatal(err)
		}
		again, _ := s.UserGet(ctx, u.ID)
		if again.RoleList() != "supervisor" || again.Department != "" || !again.Disabled || again.PasswordHash != "h2" {
			t.Errorf("after update = %+v", again)
		}
		if err := s.UserUpdate(ctx, users.User{ID: u.ID + 1000, Username: "x"}); !errors.Is(err, users.ErrNotFound) {
			t.Errorf("update missing: %v", err)
		}
		if _, err := s.UserCreate(ctx, users.User{Username: "ali", PasswordHash: "x", Roles: []users.Role{users.RoleAdmin}}); err != nil {
			t.Fatal(err)
		}
		list, err := s.UserList(ctx)
		if err != nil || len(list) != 2 || list[0].Username != "ali" || list[1].Username != "zahra" {
			t.Errorf("list = %+v, %v", list, err)
		}
	})

	t.Run("Sessions", func(t *testing.T) {
		s, ctx := fresh(t)
		u, err := s.UserCreate(ctx, users.User{Username: "reza", PasswordHash: "h", Roles: []users.Role{users.RoleAgent}})
		if err != nil {
			t.Fatal(err)
		}
		a := users.Session{IDHash: "a", UserID: u.ID, CSRF: "tok", IP: "10.0.0.1", UserAgent: "ua", CreatedAt: t0, SeenAt: t0}
		if err := s.SessionCreate(ctx, a); err != nil {
			t.Fatal(err)
		}
		if err := s.SessionCreate(ctx, a); !errors.Is(err, users.ErrConflict) {
			t.Errorf("duplicate session: %v", err)
		}
		got, err := s.SessionGet(ctx, "a")
		if err != nil || got.UserID != u.ID || got.CSRF != "tok" || got.IP != "10.0.0.1" || !got.CreatedAt.Equal(t0) {
			t.Errorf("get = %+v, %v", got, err)
		}
		if err := s.SessionTouch(ctx, "a", t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if got, _ = s.SessionGet(ctx, "a"); !got.SeenAt.Equal(t0.Add(time.Hour)) {
			t.Errorf("seen after touch = %v", got.SeenAt)
		}
		for _, id := range []string{"b", "c"} {
			if err := s.SessionCreate(ctx, users.Session{IDHash: id, UserID: u.ID, CSRF: "t", CreatedAt: t0, SeenAt: t0}); err != nil {
				t.Fatal(err)
			}
		}
		// b and c idle since t0; a seen at t0+1h.
		n, err := s.SessionSweep(ctx, t0.Add(30*time.Minute), t0.Add(-time.Hour))
		if err != nil || n != 2 {
			t.Errorf("sweep = %d, %v; want 2", n, err)
		}
		if _, err := s.SessionGet(ctx, "b"); !errors.Is(err, users.ErrNotFound) {
			t.Errorf("swept session: %v", err)
		}
		if err := s.SessionDelete(ctx, "a"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SessionGet(ctx, "a"); !errors.Is(err, users.ErrNotFound) {
			t.Errorf("deleted session: %v", err)
		}
		for _, id := range []string{"d", "e"} {
			if err := s.SessionCreate(ctx, users.Session{IDHash: id, UserID: u.ID, CSRF: "t", CreatedAt: t0, SeenAt: t0}); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.SessionDeleteUser(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SessionGet(ctx, "e"); !errors.Is(err, users.ErrNotFound) {
			t.Errorf("session after delete user: %v", err)
		}
	})

	t.Run("Throttle", func(t *testing.T) {
		s, ctx := fresh(t)
		w := 15 * time.Minute
		for i := 1; i <= 3; i++ {
			n, err := s.ThrottleHit(ctx, "u:reza", t0.Add(time.Duration(i)*time.Minute), w)
			if err != nil || n != i {
				t.Fatalf("hit %d = %d, %v", i, n, err)
			}
		}
		if n, _ := s.ThrottleCount(ctx, "u:reza", t0.Add(10*time.Minute), w); n != 3 {
			t.Errorf("count in window = %d", n)
		}
		if n, _ := s.ThrottleCount(ctx, "u:reza", t0.Add(20*time.Minute), w); n != 0 {
			t.Errorf("count after window = %d", n)
		}
		if n, _ := s.ThrottleHit(ctx, "u:reza", t0.Add(20*time.Minute), w); n != 1 {
			t.Errorf("hit after window = %d, want a fresh count", n)
		}
		if n, _ := s.ThrottleCount(ctx, "ip:1.2.3.4", t0, w); n != 0 {
			t.Errorf("unknown key count = %d", n)
		}
		if err := s.ThrottleClear(ctx, "u:reza"); err != nil {
			t.Fatal(err)
		}
		if n, _ := s.ThrottleCount(ctx, "u:reza", t0.Add(20*time.Minute), w); n != 0 {
			t.Errorf("count after clear = %d", n)
		}
		if _, err := s.ThrottleHit(ctx, "user:old", t0, w); err != nil {
			t.Fatal(err)
		}
		if n, err := s.ThrottleSweep(ctx, t0.Add(time.Minute)); err != nil || n != 1 {
			t.Errorf("sweep = %d, %v; want the one counter older than t0+1m", n, err)
		}
		if n, _ := s.ThrottleHit(ctx, "u:reza", t0.Add(21*time.Minute), w); n != 1 {
			t.Errorf("cleared key hit = %d", n)
		}
		// Concurrent failures are each counted: a guesser cannot race past the limit.
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				if _, err := s.ThrottleHit(ctx, "ip:race", t0, w); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if n, _ := s.ThrottleCount(ctx, "ip:race", t0, w); n != 8 {
			t.Errorf("concurrent hits counted %d, want 8", n)
		}
	})

	t.Run("Audit", func(t *testing.T) {
		s, ctx := fresh(t)
		for i, a := range []string{"sign_in", "case_view", "sign_in"} {
			if err := s.AuditAppend(ctx, users.Entry{At: t0.Add(time.Duration(i) * time.Second), Actor: "reza", Action: a,
				Target: fmt.Sprint("t", i), IP: "10.0.0.1", Detail: "<جزئیات>"}); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.AuditAppend(ctx, users.Entry{At: t0, Actor: "ali", Action: "sign_in"}); err != nil {
			t.Fatal(err)
		}
		all, err := s.AuditList(ctx, users.AuditFilter{})
		if err != nil || len(all) != 4 || all[0].Actor != "ali" {
			t.Fatalf("list = %+v, %v", all, err)
		}
		mine, _ := s.AuditList(ctx, users.AuditFilter{Actor: "reza", Action: "sign_in"})
		if len(mine) != 2 || mine[0].Target != "t2" || mine[1].Target != "t0" || mine[0].Detail != "<جزئیات>" || !mine[1].At.Equal(t0) {
			t.Errorf("filtered = %+v", mine)
		}
		if one, _ := s.AuditList(ctx, users.AuditFilter{Target: "t1", Limit: 1}); len(one) != 1 || one[0].Action != "case_view" {
			t.Errorf("by target = %+v", one)
		}
	})

	t.Run("Command", func(t *testing.T) {
		s, ctx := fresh(t)
		var out bytes.Buffer
		run := func(args ...string) error {
			out.Reset()
			return users.Command(ctx, s, args, &out)
		}
		if err := run("add", "-name", "مریم", "-roles", "department", "-department", "water", "Maryam"); err != nil {
			t.Fatal(err)
		}
		pw := strings.TrimPrefix(strings.TrimSpace(out.String()[strings.Index(out.String(), "password: "):]), "password: ")
		u, err := s.UserGetByName(ctx, "maryam")
		if err != nil || u.Department != "water" || !u.Has(users.RoleDepartment) {
			t.Fatalf("added = %+v, %v", u, err)
		}
		if ok, _ := users.VerifyPassword(u.PasswordHash, pw); !ok {
			t.Errorf("printed password %q does not verify", pw)
		}
		if err := run("add", "-roles", "department", "omid"); err == nil {
			t.Error("official without department accepted")
		}
		if err := run("add", "-roles", "agent", "maryam"); !errors.Is(err, users.ErrConflict) {
			t.Errorf("duplicate add: %v", err)
		}
		if err := run("roles", "maryam", "agent,supervisor"); err != nil {
			t.Fatal(err)
		}
		if u, _ = s.UserGetByName(ctx, "maryam"); u.RoleList() != "agent,supervisor" || u.Department != "" {
			t.Errorf("after roles = %+v", u)
		}
		// A name of its own, not t.Setenv: the suite runs in parallel.
		env := fmt.Sprintf("DARGAH_USERSTEST_PW_%p", t)
		os.Setenv(env, "a-long-enough-secret")
		defer os.Unsetenv(env)
		if err := run("passwd", "-password-env", env, "maryam"); err != nil {
			t.Fatal(err)
		}
		if u, _ = s.UserGetByName(ctx, "maryam"); !must(users.VerifyPassword(u.PasswordHash, "a-long-enough-secret")) {
			t.Error("passwd from env did not take")
		}
		if err := run("disable", "maryam"); err != nil {
			t.Fatal(err)
		}
		if err := run("list"); err != nil || !strings.Contains(out.String(), "maryam") || !strings.Contains(out.String(), "disabled") {
			t.Errorf("list = %q, %v", out.String(), err)
		}
		if err := run("passwd", "nobody"); !errors.Is(err, users.ErrNotFound) {
			t.Errorf("passwd of missing user: %v", err)
		}
		if err := run("frobnicate"); err == nil {
			t.Error("unknown command accepted")
		}
		if log, _ := s.AuditList(ctx, users.AuditFilter{Actor: "cli", Target: "maryam"}); len(log) != 4 {
			t.Errorf("cli audit = %+v, want 4 entries", log)
		}
	})
}

func must(ok bool, err error) bool { return ok && err == nil }
