// Package users holds the staff of the consoles: accounts with roles,
// server-side sessions, sign-in throttling and the append-only audit log.
// Storage is behind Store, implemented by users/userpg (PostgreSQL) and
// users/usersqlite (SQLite); both pass users/userstest. Both keep their own
// migrations table (console_schema_migrations) and console_ table prefix,
// so they can share the case store's database without colliding.
package users

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Role is what a staff member may do.
type Role string

const (
	RoleAgent      Role = "agent"      // 137 call/desk agent: opens cases for walk-ins, letters, calls
	RoleSupervisor Role = "supervisor" // watches queues and agents, sees every case
	RoleDepartment Role = "department" // department official: only cases of their department
	RoleFollowUp   Role = "followup"   // follow-up unit: every case, works overdue ones
	RoleInspection Role = "inspection" // inspection: read-only on escalated cases
	RoleAdmin      Role = "admin"      // manages users and roles
)

// Roles lists every role in display order.
var Roles = []Role{RoleAgent, RoleSupervisor, RoleDepartment, RoleFollowUp, RoleInspection, RoleAdmin}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// ParseRoles reads a comma-separated role list ("agent,supervisor").
func ParseRoles(s string) ([]Role, error) {
	var out []Role
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		r := Role(f)
		if !r.Valid() {
			return nil, fmt.Errorf("unknown role %q (known: %s)", f, joinRoles(Roles))
		}
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out, nil
}

func joinRoles(rs []Role) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = string(r)
	}
	return strings.Join(s, ",")
}

// User is one staff account.
type User struct {
	ID       int64
	Username string // lower-case, unique
	Name     string // display name
	// PasswordHash is an argon2id PHC string (see HashPassword).
	PasswordHash string
	Roles        []Role
	// Department is the department code an official is bound to; required
	// with RoleDepartment, empty otherwise.
	Department string
	Disabled   bool
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Has reports whether u holds role r.
func (u User) Has(r Role) bool { return slices.Contains(u.Roles, r) }

// RoleList is the roles as "a,b".
func (u User) RoleList() string { return joinRoles(u.Roles) }

var (
	usernameRE   = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{1,31}$`)
	departmentRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)
)

// Field errors, readable enough to show in a form (the console translates).
var (
	ErrUsername   = errors.New("username must be 2–32 of a-z 0-9 . _ - and start with a letter or digit")
	ErrRoles      = errors.New("at least one role is required")
	ErrDepartment = errors.New("a department official needs a department code (a-z 0-9 _ -), and only officials have one")
	ErrName       = errors.New("name must be at most 100 characters")
)

// Validate checks u's fields (not the password hash).
func (u User) Validate() error {
	var errs []error
	if !usernameRE.MatchString(u.Username) {
		errs = append(errs, ErrUsername)
	}
	if len(u.Roles) == 0 {
		errs = append(errs, ErrRoles)
	}
	for _, r := range u.Roles {
		if !r.Valid() {
			errs = append(errs, fmt.Errorf("unknown role %q", r))
		}
	}
	if u.Has(RoleDepartment) != (u.Department != "") || (u.Department != "" && !departmentRE.MatchString(u.Department)) {
		errs = append(errs, ErrDepartment)
	}
	if len([]rune(u.Name)) > 100 {
		errs = append(errs, ErrName)
	}
	return errors.Join(errs...)
}

// Session is one signed-in browser. The cookie carries a random 256-bit
// id; stores keep only its SHA-256 (IDHash), so a copy of the table cannot
// be replayed as cookies.
type Session struct {
	IDHash    string
	UserID    int64
	CSRF      string // synchronizer token for state-changing requests
	IP        string
	UserAgent string
	CreatedAt time.Time
	SeenAt    time.Time
}

// Entry is one audit record. The log is append-only: stores have no update
// or delete for it.
type Entry struct {
	ID     int64
	At     time.Time
	Actor  string // username, or "" for an anonymous attempt
	Action string // sign_in, sign_in_failed, user_create, case_view, …
	Target string // what was acted on: a username, a tracking code
	IP     string
	Detail string
}

// AuditFilter selects audit entries, newest first.
type AuditFilter struct {
	Actor  string
	Action string
	Target string
	Limit  int // default 100, at most 1000
}

// Errors the console sees; stores translate driver errors into these.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
)

// Store keeps users, sessions, throttling counters and the audit log.
type Store interface {
	// UserCreate stores u (ID and times are set) and returns it; a taken
	// username gives ErrConflict.
	UserCreate(ctx context.Context, u User) (User, error)
	UserGet(ctx context.Context, id int64) (User, error)
	UserGetByName(ctx context.Context, username string) (User, error)
	// UserList lists every user ordered by username.
	UserList(ctx context.Context) ([]User, error)
	// UserUpdate replaces name, password hash, roles, department and
	// disabled of user u.ID.
	UserUpdate(ctx context.Context, u User) error

	SessionCreate(ctx context.Context, s Session) error
	SessionGet(ctx context.Context, idHash string) (Session, error)
	// SessionTouch records activity, which extends the idle expiry.
	SessionTouch(ctx context.Context, idHash string, at time.Time) error
	SessionDelete(ctx context.Context, idHash string) error
	// SessionDeleteUser signs a user out everywhere (password change, disable).
	SessionDeleteUser(ctx context.Context, userID int64) error
	// SessionSweep deletes sessions last seen before idle or created
	// before absolute; it returns how many.
	SessionSweep(ctx context.Context, idleBefore, createdBefore time.Time) (int, error)

	// ThrottleHit counts one failure for key. A count whose first failure
	// is older than window starts again at 1. It returns the count.
	ThrottleHit(ctx context.Context, key string, at time.Time, window time.Duration) (int, error)
	// ThrottleCount returns key's failures within window of at.
	ThrottleCount(ctx context.Context, key string, at time.Time, window time.Duration) (int, error)
	ThrottleClear(ctx context.Context, key string) error
	// ThrottleSweep deletes counters whose first failure is before t, so
	// guesses at made-up usernames do not pile up; it returns how many.
	ThrottleSweep(ctx context.Context, before time.Time) (int, error)

	AuditAppend(ctx context.Context, e Entry) error
	AuditList(ctx context.Context, f AuditFilter) ([]Entry, error)

	// Migrate runs the embedded migrations not yet applied, recorded in
	// console_schema_migrations.
	Migrate(ctx context.Context) error
	Close() error
}

// NormalizeUsername lower-cases and trims a username as typed.
func NormalizeUsername(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
