// Package casepg is the PostgreSQL cases.Store, on pgx/v5. SQL stays in
// this package; callers see cases.ErrNotFound, cases.ErrConflict and
// gateway.ErrUnknownMessage, wrapped with context.
package casepg

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/gateway"
	"github.com/dargah137/dargah/internal/batch"
	"github.com/dargah137/dargah/internal/migrate"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Options tunes a Store. The zero value is usable.
type Options struct {
	// Now is the clock; default time.Now. Tests inject a manual one.
	Now func() time.Time
	// Logger defaults to a logger that discards.
	Logger *slog.Logger
	// MaxConns caps the pool; zero keeps pgxpool's default (or the DSN's
	// pool_max_conns).
	MaxConns int32
}

// Store is a cases.Store backed by PostgreSQL. It is safe for concurrent
// use, also from several processes sharing one database.
type Store struct {
	pool *pgxpool.Pool
	now  func() time.Time
	log  *slog.Logger
	// newCode makes tracking codes; tests replace it to force collisions.
	newCode func() (string, error)
	// hooks are the process's part of MessageDecide (process.go).
	hooks atomic.Pointer[cases.Hooks]
	// accepts and decides run concurrent ledger writes together (batch.go).
	accepts *batch.Batcher[acceptReq, acceptOut]
	decides *batch.Batcher[decideReq, gateway.Receipt]
}

// Open connects to dsn (a postgres:// URL or key=value string) and checks
// the connection. It does not migrate; call Migrate (dargah migrate does).
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("casepg: parse dsn: %w", err)
	}
	if opts.MaxConns < 0 {
		return nil, fmt.Errorf("casepg: MaxConns is %d, want ≥ 0", opts.MaxConns)
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("casepg: connect: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("casepg: ping %s:%d: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, err)
	}
	s := &Store{pool: pool, now: opts.Now, log: opts.Logger, newCode: cases.NewTrackingCode}
	s.startBatchers()
	return s, nil
}

// Close closes the pool, waiting for connections in use.
func (s *Store) Close() error {
	s.accepts.Close()
	s.decides.Close()
	s.pool.Close()
	return nil
}

// clock returns the store's time, in UTC and on microseconds, which is
// what PostgreSQL keeps; values returned before and after a round trip
// then compare equal.
func (s *Store) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// Migrate runs the embedded migrations that have not run yet, each in its
// own transaction. A session advisory lock (per schema) lets several
// instances start at once: one migrates, the others wait and find nothing
// left to do.
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := migrate.Read(migrationFS, "migrations")
	if err != nil {
		return fmt.Errorf("casepg: read migrations: %w", err)
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("casepg: migrate: %w", err)
	}
	defer conn.Release()
	const lockKey = `('x' || substr(md5('dargah/casepg/migrate:' || current_schema()), 1, 16))::bit(64)::bigint`
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(`+lockKey+`)`); err != nil {
		return fmt.Errorf("casepg: migrate: take lock: %w", err)
	}
	defer func() {
		// A fresh context: the lock must go even when ctx is done, or the
		// pooled session would keep it.
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, err := conn.Exec(uctx, `SELECT pg_advisory_unlock(`+lockKey+`)`); err != nil {
			s.log.Error("release migration lock", "err", err)
			_ = conn.Conn().Close(uctx) // closing the session releases it
		}
	}()
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version integer PRIMARY KEY,
		name text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("casepg: migrate: create schema_migrations: %w", err)
	}
	applied := map[int]bool{}
	rows, err := conn.Query(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return fmt.Errorf("casepg: migrate: read schema_migrations: %w", err)
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return fmt.Errorf("casepg: migrate: read schema_migrations: %w", err)
		}
		applied[v] = true
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("casepg: migrate: read schema_migrations: %w", err)
	}
	for _, m := range ms {
		if applied[m.Version] {
			continue
		}
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			// Simple protocol: a migration file holds several statements.
			if _, err := tx.Exec(ctx, m.SQL, pgx.QueryExecModeSimpleProtocol); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name)
			return err
		})
		if err != nil {
			return fmt.Errorf("casepg: migration %s: %w", m.Name, err)
		}
		s.log.Info("migration applied", "migration", m.Name)
	}
	return nil
}

// pgCode returns the SQLSTATE of err, or "".
func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// translate turns driver errors into the domain's: no rows is notFound
// (cases.ErrNotFound unless the caller says otherwise), a unique
// violation is cases.ErrConflict, a foreign key violation is
// cases.ErrNotFound (the row referred to is missing).
func translate(err, notFound error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, pgx.ErrNoRows):
		return notFound
	}
	switch pgCode(err) {
	case "23505":
		return fmt.Errorf("%w: %w", cases.ErrConflict, err)
	case "23503":
		return fmt.Errorf("%w: %w", cases.ErrNotFound, err)
	}
	return err
}
