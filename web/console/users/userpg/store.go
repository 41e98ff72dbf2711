// Package userpg is the users.Store on PostgreSQL (pgx/v5). It may share the
// case store's database: its tables start with console_ and its migrations
// are recorded in console_schema_migrations.
package userpg

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dargah137/dargah/web/console/users"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Store is a users.Store on a pgx pool.
type Store struct {
	pool *pgxpool.Pool
}

// Open connects to dsn. It does not migrate; call Migrate.
func Open(ctx context.Context, dsn string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("userpg: parse dsn: %w", err)
	}
	cfg.MaxConns = min(cfg.MaxConns, 8) // sign-ins are few; leave connections to the case store
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("userpg: connect: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("userpg: connect: %w", err)
	}
	return &Store{pool: pool}, nil
}

// Close closes the pool.
func (s *Store) Close() error { s.pool.Close(); return nil }

// migrateLock is an arbitrary advisory lock key ("console" in ASCII) so
// instances starting together migrate one at a time.
const migrateLock = 0x636f6e736f6c65

// Migrate runs the embedded migrations not yet recorded.
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := users.ReadMigrations(migrationFS, "migrations")
	if err != nil {
		return fmt.Errorf("userpg: read migrations: %w", err)
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("userpg: migrate: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrateLock); err != nil {
		return fmt.Errorf("userpg: migrate lock: %w", err)
	}
	defer conn.Exec(context.Background(), `SELECT pg_advisory_unlock($1)`, migrateLock)
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+users.MigrationsTable+` (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("userpg: create %s: %w", users.MigrationsTable, err)
	}
	for _, m := range ms {
		if err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM `+users.MigrationsTable+` WHERE version = $1`, m.Version).Scan(&n); err != nil || n > 0 {
				return err
			}
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO `+users.MigrationsTable+` (version, name) VALUES ($1, $2)`, m.Version, m.Name)
			return err
		}); err != nil {
			return fmt.Errorf("userpg: migration %s: %w", m.Name, err)
		}
	}
	return nil
}

func isUnique(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

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
	u.CreatedAt = u.CreatedAt.UTC().Truncate(time.Microsecond)
	u.UpdatedAt = u.CreatedAt
	err := s.pool.QueryRow(ctx, `INSERT INTO console_users
		(username, name, password_hash, roles, department, disabled, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
		u.Username, u.Name, u.PasswordHash, u.RoleList(), u.Department, u.Disabled, u.CreatedAt, u.UpdatedAt).Scan(&u.ID)
	if isUnique(err) {
		return u, fmt.Errorf("username %s is taken: %w", u.Username, users.ErrConflict)
	}
	if err != nil {
		return u, fmt.Errorf("userpg: create user %s: %w", u.Username, err)
	}
	return u, nil
}

const userCols = `id, username, name, password_hash, roles, department, disabled, created_at, updated_at`

func scanUser(row pgx.Row) (users.User, error) {
	var u users.User
	var r string
	err := row.Scan(&u.ID, &u.Username, &u.Name, &u.PasswordHash, &r, &u.Department, &u.Disabled, &u.CreatedAt, &u.UpdatedAt)
	u.Roles, u.CreatedAt, u.UpdatedAt = parseRoles(r), u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	return u, err
}

func (s *Store) userWhere(ctx context.Context, where string, arg any) (users.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userCols+` FROM console_users WHERE `+where, arg))
	if errors.Is(err, pgx.ErrNoRows) {
		return u, fmt.Errorf("user %v: %w", arg, users.ErrNotFound)
	}
	if err != nil {
		return u, fmt.Errorf("userpg: get user %v: %w", arg, err)
	}
	return u, nil
}

// UserGet returns the user with that id.
func (s *Store) UserGet(ctx context.Context, id int64) (users.User, error) {
	return s.userWhere(ctx, "id = $1", id)
}

// UserGetByName returns the user with that username.
func (s *Store) UserGetByName(ctx context.Context, username string) (users.User, error) {
	return s.userWhere(ctx, "username = $1", username)
}

// UserList lists users by username.
func (s *Store) UserList(ctx context.Context) ([]users.User, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+userCols+` FROM console_users ORDER BY username`)
	if err != nil {
		return nil, fmt.Errorf("userpg: list users: %w", err)
	}
	defer rows.Close()
	var out []users.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("userpg: list users: %w", err)
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
	tag, err := s.pool.Exec(ctx, `UPDATE console_users SET name = $1, password_hash = $2, roles = $3, department = $4,
		disabled = $5, updated_at = $6 WHERE id = $7`, u.Name, u.PasswordHash, u.RoleList(), u.Department, u.Disabled, u.UpdatedAt, u.ID)
	if err != nil {
		return fmt.Errorf("userpg: update user %s: %w", u.Username, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("user %d: %w", u.ID, users.ErrNotFound)
	}
	return nil
}

// SessionCreate stores a new session.
func (s *Store) SessionCreate(ctx context.Context, ss users.Session) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO console_sessions (id_hash, user_id, csrf, ip, user_agent, created_at, seen_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, ss.IDHash, ss.UserID, ss.CSRF, ss.IP, ss.UserAgent, ss.CreatedAt, ss.SeenAt)
	if isUnique(err) {
		return fmt.Errorf("session exists: %w", users.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("userpg: create session: %w", err)
	}
	return nil
}

// SessionGet returns the session with that id hash.
func (s *Store) SessionGet(ctx context.Context, idHash string) (users.Session, error) {
	var ss users.Session
	err := s.pool.QueryRow(ctx, `SELECT id_hash, user_id, csrf, ip, user_agent, created_at, seen_at
		FROM console_sessions WHERE id_hash = $1`, idHash).Scan(&ss.IDHash, &ss.UserID, &ss.CSRF, &ss.IP, &ss.UserAgent, &ss.CreatedAt, &ss.SeenAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return ss, fmt.Errorf("session: %w", users.ErrNotFound)
	}
	if err != nil {
		return ss, fmt.Errorf("userpg: get session: %w", err)
	}
	ss.CreatedAt, ss.SeenAt = ss.CreatedAt.UTC(), ss.SeenAt.UTC()
	return ss, nil
}

// SessionTouch records activity.
func (s *Store) SessionTouch(ctx context.Context, idHash string, at time.Time) error {
	if _, err := s.pool.Exec(ctx, `UPDATE console_sessions SET seen_at = $1 WHERE id_hash = $2`, at, idHash); err != nil {
		return fmt.Errorf("userpg: touch session: %w", err)
	}
	return nil
}

// SessionDelete removes one session.
func (s *Store) SessionDelete(ctx context.Context, idHash string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM console_sessions WHERE id_hash = $1`, idHash); err != nil {
		return fmt.Errorf("userpg: delete session: %w", err)
	}
	return nil
}

// SessionDeleteUser removes every session of a user.
func (s *Store) SessionDeleteUser(ctx context.Context, userID int64) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM console_sessions WHERE user_id = $1`, userID); err != nil {
		return fmt.Errorf("userpg: delete sessions of user %d: %w", userID, err)
	}
	return nil
}

// SessionSweep deletes expired sessions.
func (s *Store) SessionSweep(ctx context.Context, idleBefore, createdBefore time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM console_sessions WHERE seen_at < $1 OR created_at < $2`, idleBefore, createdBefore)
	if err != nil {
		return 0, fmt.Errorf("userpg: sweep sessions: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// ThrottleHit counts one failure in one statement, so concurrent failures
// are all counted.
func (s *Store) ThrottleHit(ctx context.Context, key string, at time.Time, window time.Duration) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `INSERT INTO console_throttle (key, count, first_at) VALUES ($1, 1, $2)
		ON CONFLICT (key) DO UPDATE SET
			count = CASE WHEN console_throttle.first_at < $3 THEN 1 ELSE console_throttle.count + 1 END,
			first_at = CASE WHEN console_throttle.first_at < $3 THEN $2 ELSE console_throttle.first_at END
		RETURNING count`, key, at, at.Add(-window)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("userpg: throttle %s: %w", key, err)
	}
	return n, nil
}

// ThrottleCount returns the failures of key within window.
func (s *Store) ThrottleCount(ctx context.Context, key string, at time.Time, window time.Duration) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count FROM console_throttle WHERE key = $1 AND first_at >= $2`, key, at.Add(-window)).Scan(&n)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("userpg: throttle %s: %w", key, err)
	}
	return n, nil
}

// ThrottleClear forgets key's failures.
func (s *Store) ThrottleClear(ctx context.Context, key string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM console_throttle WHERE key = $1`, key); err != nil {
		return fmt.Errorf("userpg: clear throttle %s: %w", key, err)
	}
	return nil
}

// ThrottleSweep deletes counters older than before.
func (s *Store) ThrottleSweep(ctx context.Context, before time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM console_throttle WHERE first_at < $1`, before)
	if err != nil {
		return 0, fmt.Errorf("userpg: sweep throttle: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// AuditAppend appends one entry.
func (s *Store) AuditAppend(ctx context.Context, e users.Entry) error {
	if _, err := s.pool.Exec(ctx, `INSERT INTO console_audit (at, actor, action, target, ip, detail) VALUES ($1, $2, $3, $4, $5, $6)`,
		e.At, e.Actor, e.Action, e.Target, e.IP, e.Detail); err != nil {
		return fmt.Errorf("userpg: audit %s: %w", e.Action, err)
	}
	return nil
}

// AuditList lists entries newest first.
func (s *Store) AuditList(ctx context.Context, f users.AuditFilter) ([]users.Entry, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, at, actor, action, target, ip, detail FROM console_audit
		WHERE ($1 = '' OR actor = $1) AND ($2 = '' OR action = $2) AND ($3 = '' OR target = $3)
		ORDER BY id DESC LIMIT $4`, f.Actor, f.Action, f.Target, users.ClampLimit(f.Limit))
	if err != nil {
		return nil, fmt.Errorf("userpg: list audit: %w", err)
	}
	defer rows.Close()
	var out []users.Entry
	for rows.Next() {
		var e users.Entry
		if err := rows.Scan(&e.ID, &e.At, &e.Actor, &e.Action, &e.Target, &e.IP, &e.Detail); err != nil {
			return nil, fmt.Errorf("userpg: list audit: %w", err)
		}
		e.At = e.At.UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

var _ users.Store = (*Store)(nil)
