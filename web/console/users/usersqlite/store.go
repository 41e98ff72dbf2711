// Package usersqlite is the embedded users.Store on SQLite (modernc). It may
// share the case store's file: its tables start with console_ and its
// migrations are recorded in console_schema_migrations.
package usersqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	_ "modernc.org/sqlite"

	"github.com/dargah137/dargah/web/console/users"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Store is a users.Store on one SQLite file.
type Store struct {
	db *sql.DB
}

// Open opens (creating if needed) the SQLite file at path. It does not
// migrate; call Migrate.
func Open(ctx context.Context, path string) (*Store, error) {
	q := url.Values{}
	// The case store may hold the write lock for a group commit; wait.
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("usersqlite: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(4)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("usersqlite: open %s: %w", path, err)
	}
	return &Store{db: db}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Migrate runs the embedded migrations not yet recorded.
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := users.ReadMigrations(migrationFS, "migrations")
	if err != nil {
		return fmt.Errorf("usersqlite: read migrations: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+users.MigrationsTable+` (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("usersqlite: create %s: %w", users.MigrationsTable, err)
	}
	for _, m := range ms {
		if err := s.migrateOne(ctx, m); err != nil {
			return fmt.Errorf("usersqlite: migration %s: %w", m.Name, err)
		}
	}
	return nil
}

func (s *Store) migrateOne(ctx context.Context, m users.Migration) error {
	tx, err := s.db.BeginTx(ctx, nil) // immediate: two migrating processes serialize here
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM `+users.MigrationsTable+` WHERE version = ?`, m.Version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO `+users.MigrationsTable+` (version, name, applied_at) VALUES (?, ?, ?)`,
		m.Version, m.Name, time.Now().UnixMicro()); err != nil {
		return err
	}
	return tx.Commit()
}

func us(t time.Time) int64 { return t.UnixMicro() }

func fromUS(v int64) time.Time { return time.UnixMicro(v).UTC() }

func isUnique(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

func roles(u users.User) string { return u.RoleList() }

func parseRoles(s string) []users.Role {
	var out []users.Role
	for f := range strings.SplitSeq(s, ",") {
		if f != "" {
			out = append(out, users.Role(f))
		}
	}
	return out
}

// UserCreate stores u.
func (s *Store) UserCreate(ctx context.Context, u users.User) (users.User, error) {
	if u.CreatedAt.IsZero() {
		u.CreatedAt = time.Now()
	}
	u.UpdatedAt = u.CreatedAt
	err := s.db.QueryRowContext(ctx, `INSERT INTO console_users
		(username, name, password_hash, roles, department, disabled, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		u.Username, u.Name, u.PasswordHash, roles(u), u.Department, u.Disabled, us(u.CreatedAt), us(u.UpdatedAt)).Scan(&u.ID)
	if isUnique(err) {
		return u, fmt.Errorf("username %s is taken: %w", u.Username, users.ErrConflict)
	}
	if err != nil {
		return u, fmt.Errorf("usersqlite: create user %s: %w", u.Username, err)
	}
	u.CreatedAt, u.UpdatedAt = fromUS(us(u.CreatedAt)), fromUS(us(u.UpdatedAt))
	return u, nil
}

const userCols = `id, username, name, password_hash, roles, department, disabled, created_at, updated_at`

func scanUser(row interface{ Scan(...any) error }) (users.User, error) {
	var u users.User
	var r string
	var c, up int64
	err := row.Scan(&u.ID, &u.Username, &u.Name, &u.PasswordHash, &r, &u.Department, &u.Disabled, &c, &up)
	u.Roles, u.CreatedAt, u.UpdatedAt = parseRoles(r), fromUS(c), fromUS(up)
	return u, err
}

func (s *Store) userWhere(ctx context.Context, where string, arg any) (users.User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx, `SELECT `+userCols+` FROM console_users WHERE `+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return u, fmt.Errorf("user %v: %w", arg, users.ErrNotFound)
	}
	if err != nil {
		return u, fmt.Errorf("usersqlite: get user %v: %w", arg, err)
	}
	return u, nil
}

// UserGet returns the user with that id.
func (s *Store) UserGet(ctx context.Context, id int64) (users.User, error) {
	return s.userWhere(ctx, "id = ?", id)
}

// UserGetByName returns the user with that username.
func (s *Store) UserGetByName(ctx context.Context, username string) (users.User, error) {
	return s.userWhere(ctx, "username = ?", username)
}

// UserList lists users by username.
func (s *Store) UserList(ctx context.Context) ([]users.User, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+userCols+` FROM console_users ORDER BY username`)
	if err != nil {
		return nil, fmt.Errorf("usersqlite: list users: %w", err)
	}
	defer rows.Close()
	var out []users.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("usersqlite: list users: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// UserUpdate replaces the mutable fields of u.ID.
func (s *Store) UserUpdate(ctx context.Context, u users.User) error {
	if u.UpdatedAt.IsZero() {
		u.UpdatedAt = time.Now()
	}
	res, err := s.db.ExecContext(ctx, `UPDATE console_users SET name = ?, password_hash = ?, roles = ?, department = ?,
		disabled = ?, updated_at = ? WHERE id = ?`, u.Name, u.PasswordHash, roles(u), u.Department, u.Disabled, us(u.UpdatedAt), u.ID)
	if err != nil {
		return fmt.Errorf("usersqlite: update user %s: %w", u.Username, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("user %d: %w", u.ID, users.ErrNotFound)
	}
	return nil
}

// SessionCreate stores a new session.
func (s *Store) SessionCreate(ctx context.Context, ss users.Session) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO console_sessions (id_hash, user_id, csrf, ip, user_agent, created_at, seen_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, ss.IDHash, ss.UserID, ss.CSRF, ss.IP, ss.UserAgent, us(ss.CreatedAt), us(ss.SeenAt))
	if isUnique(err) {
		return fmt.Errorf("session exists: %w", users.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("usersqlite: create session: %w", err)
	}
	return nil
}

// SessionGet returns the session with that id hash.
func (s *Store) SessionGet(ctx context.Context, idHash string) (users.Session, error) {
	var ss users.Session
	var c, seen int64
	err := s.db.QueryRowContext(ctx, `SELECT id_hash, user_id, csrf, ip, user_agent, created_at, seen_at
		FROM console_sessions WHERE id_hash = ?`, idHash).Scan(&ss.IDHash, &ss.UserID, &ss.CSRF, &ss.IP, &ss.UserAgent, &c, &seen)
	if errors.Is(err, sql.ErrNoRows) {
		return ss, fmt.Errorf("session: %w", users.ErrNotFound)
	}
	if err != nil {
		return ss, fmt.Errorf("usersqlite: get session: %w", err)
	}
	ss.CreatedAt, ss.SeenAt = fromUS(c), fromUS(seen)
	return ss, nil
}

// SessionTouch records activity.
func (s *Store) SessionTouch(ctx context.Context, idHash string, at time.Time) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE console_sessions SET seen_at = ? WHERE id_hash = ?`, us(at), idHash); err != nil {
		return fmt.Errorf("usersqlite: touch session: %w", err)
	}
	return nil
}

// SessionDelete removes one session.
func (s *Store) SessionDelete(ctx context.Context, idHash string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM console_sessions WHERE id_hash = ?`, idHash); err != nil {
		return fmt.Errorf("usersqlite: delete session: %w", err)
	}
	return nil
}

// SessionDeleteUser removes every session of a user.
func (s *Store) SessionDeleteUser(ctx context.Context, userID int64) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM console_sessions WHERE user_id = ?`, userID); err != nil {
		return fmt.Errorf("usersqlite: delete sessions of user %d: %w", userID, err)
	}
	return nil
}

// SessionSweep deletes expired sessions.
func (s *Store) SessionSweep(ctx context.Context, idleBefore, createdBefore time.Time) (int, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM console_sessions WHERE seen_at < ? OR created_at < ?`, us(idleBefore), us(createdBefore))
	if err != nil {
		return 0, fmt.Errorf("usersqlite: sweep sessions: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// ThrottleHit counts one failure in one statement, so concurrent failures
// are all counted.
func (s *Store) ThrottleHit(ctx context.Context, key string, at time.Time, window time.Duration) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `INSERT INTO console_throttle (key, count, first_at) VALUES (?1, 1, ?2)
		ON CONFLICT (key) DO UPDATE SET
			count = CASE WHEN console_throttle.first_at < ?3 THEN 1 ELSE console_throttle.count + 1 END,
			first_at = CASE WHEN console_throttle.first_at < ?3 THEN ?2 ELSE console_throttle.first_at END
		RETURNING count`, key, us(at), us(at.Add(-window))).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("usersqlite: throttle %s: %w", key, err)
	}
	return n, nil
}

// ThrottleCount returns the failures of key within window.
func (s *Store) ThrottleCount(ctx context.Context, key string, at time.Time, window time.Duration) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT count FROM console_throttle WHERE key = ? AND first_at >= ?`, key, us(at.Add(-window))).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("usersqlite: throttle %s: %w", key, err)
	}
	return n, nil
}

// ThrottleClear forgets key's failures.
func (s *Store) ThrottleClear(ctx context.Context, key string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM console_throttle WHERE key = ?`, key); err != nil {
		return fmt.Errorf("usersqlite: clear throttle %s: %w", key, err)
	}
	return nil
}

// ThrottleSweep deletes counters older than before.
func (s *Store) ThrottleSweep(ctx context.Context, before time.Time) (int, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM console_throttle WHERE first_at < ?`, us(before))
	if err != nil {
		return 0, fmt.Errorf("usersqlite: sweep throttle: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// AuditAppend appends one entry.
func (s *Store) AuditAppend(ctx context.Context, e users.Entry) error {
	if _, err := s.db.ExecContext(ctx, `INSERT INTO console_audit (at, actor, action, target, ip, detail) VALUES (?, ?, ?, ?, ?, ?)`,
		us(e.At), e.Actor, e.Action, e.Target, e.IP, e.Detail); err != nil {
		return fmt.Errorf("usersqlite: audit %s: %w", e.Action, err)
	}
	return nil
}

// AuditList lists entries newest first.
func (s *Store) AuditList(ctx context.Context, f users.AuditFilter) ([]users.Entry, error) {
	q := `SELECT id, at, actor, action, target, ip, detail FROM console_audit WHERE 1=1`
	var args []any
	if f.Actor != "" {
		q += ` AND actor = ?`
		args = append(args, f.Actor)
	}
	if f.Action != "" {
		q += ` AND action = ?`
		args = append(args, f.Action)
	}
	if f.Target != "" {
		q += ` AND target = ?`
		args = append(args, f.Target)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, users.ClampLimit(f.Limit))
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("usersqlite: list audit: %w", err)
	}
	defer rows.Close()
	var out []users.Entry
	for rows.Next() {
		var e users.Entry
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Target, &e.IP, &e.Detail); err != nil {
			return nil, fmt.Errorf("usersqlite: list audit: %w", err)
		}
		e.At = fromUS(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

var _ users.Store = (*Store)(nil)
