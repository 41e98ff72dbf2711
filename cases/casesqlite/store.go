// Package casesqlite is the embedded cases.Store, on SQLite through
// modernc.org/sqlite (pure Go, driver "sqlite"), for a single-process
// Dargah. Every write goes through one goroutine that owns the only write
// connection and commits the writes that arrive together in one
// transaction (writer.go); reads use a pool of their own, which WAL lets
// run beside the writer. A second process on the same file (dargah
// migrate, a backup) is safe: transactions take the write lock when they
// begin (BEGIN IMMEDIATE) and wait up to busy_timeout for it.
package casesqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"github.com/dargah137/dargah/internal/migrate"
	"log/slog"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/dargah137/dargah/cases"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Options tunes a Store. The zero value is usable.
type Options struct {
	// Now is the clock; default time.Now. Tests inject a manual one.
	Now func() time.Time
	// Logger defaults to a logger that discards.
	Logger *slog.Logger
	// MaxReaders caps the read connections; default 4.
	MaxReaders int
}

// Store is a cases.Store in one SQLite file. It is safe for concurrent use.
type Store struct {
	w  *sql.DB // exactly one connection: the only writer
	r  *sql.DB // readers
	ck *sql.DB // one connection: checkpoints (checkpoint.go)
	ws *stmts  // prepared on w
	rs *stmts  // prepared on r

	reqs      chan *writeReq // to the writer goroutine (see writer.go)
	quit      chan struct{}  // closed by Close
	stopped   chan struct{}  // closed when the writer has returned
	committed chan struct{}  // the writer committed since the last checkpoint
	ckStopped chan struct{}  // closed when the checkpointer has returned
	warmed    atomic.Bool    // writeQueries are prepared
	closeOnce sync.Once
	now       func() time.Time
	log       *slog.Logger
	// newCode makes tracking codes; tests replace it to force collisions.
	newCode func() (string, error)
	// hooks are the process's part of MessageDecide (process.go).
	hooks atomic.Pointer[cases.Hooks]
}

// Open opens (creating if needed) the database file at path. It does not
// migrate; call Migrate.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if path == "" {
		return nil, errors.New("casesqlite: path is required")
	}
	if opts.MaxReaders < 0 {
		return nil, fmt.Errorf("casesqlite: MaxReaders is %d, want ≥ 0", opts.MaxReaders)
	}
	if opts.MaxReaders == 0 {
		opts.MaxReaders = 4
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)") // another process (dargah migrate, a backup) may hold the lock briefly
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	// NORMAL in WAL mode: a power cut may lose the last commits but never
	// corrupts the file; fsync per commit would cap throughput at the disk.
	q.Add("_pragma", "synchronous(NORMAL)")
	// Each write of a group commit runs in a savepoint, which copies every
	// page it first touches to a sub-journal: in memory, not a temp file
	// (a system call per page, on the single writer).
	q.Add("_pragma", "temp_store(MEMORY)")
	// IMMEDIATE: a transaction takes the write lock when it begins, so two
	// processes cannot both read a message as undecided and then decide it.
	q.Set("_txlock", "immediate")
	dsn := "file:" + path + "?" + q.Encode()

	w, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("casesqlite: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := ping(ctx, w); err != nil {
		w.Close()
		return nil, fmt.Errorf("casesqlite: open %s: %w", path, err)
	}
	q.Add("_pragma", "query_only(1)")
	r, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("casesqlite: open %s for reading: %w", path, err)
	}
	r.SetMaxOpenConns(opts.MaxReaders)
	r.SetMaxIdleConns(opts.MaxReaders)
	r.SetConnMaxIdleTime(0)
	r.SetConnMaxLifetime(0)
	if err := ping(ctx, r); err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("casesqlite: open %s for reading: %w", path, err)
	}
	ck, err := openCheckpointer(ctx, path)
	if err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("casesqlite: open %s for checkpoints: %w", path, err)
	}
	s := &Store{w: w, r: r, ck: ck, ws: newStmts(w), rs: newStmts(r), now: opts.Now, log: opts.Logger,
		newCode: cases.NewTrackingCode,
		reqs:    make(chan *writeReq), quit: make(chan struct{}), stopped: make(chan struct{}),
		committed: make(chan struct{}, 1), ckStopped: make(chan struct{})}
	go s.writer()
	go s.checkpointer()
	return s, nil
}

// ping opens db's first connection, which applies the DSN's pragmas. On
// a new file, switching it to WAL takes an exclusive lock and fails at
// once with SQLITE_BUSY, not after busy_timeout, while another process
// (dargah migrate beside serve) opens the same file: that is retried for
// as long as busy_timeout would have waited.
func ping(ctx context.Context, db *sql.DB) error {
	deadline := time.Now().Add(10 * time.Second)
	for wait := time.Millisecond; ; wait = min(2*wait, 100*time.Millisecond) {
		err := db.PingContext(ctx)
		var se *sqlite.Error
		if err == nil || !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_BUSY || time.Now().After(deadline) {
			return err
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return err
		}
	}
}

// Close stops the writer, after the batch it is committing, and closes
// both connection pools. Writes after Close fail.
func (s *Store) Close() error {
	s.closeOnce.Do(func() { close(s.quit) })
	<-s.stopped
	<-s.ckStopped
	return errors.Join(s.rs.close(), s.ws.close(), s.r.Close(), s.ck.Close(), s.w.Close())
}

// clock returns the store's time as stored: UTC nanoseconds.
func (s *Store) clock() int64 { return s.now().UnixNano() }

// fromNanos turns a stored time back into a time.Time in UTC.
func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }

// nullTime turns a nullable stored time into a time.Time (zero for NULL).
func nullTime(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return fromNanos(n.Int64)
}

// Migrate runs the embedded migrations that have not run yet, each in its
// own IMMEDIATE transaction, which holds the file's write lock: a second
// process migrating at once waits, then finds the version applied.
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := migrate.Read(migrationFS, "migrations")
	if err != nil {
		return fmt.Errorf("casesqlite: read migrations: %w", err)
	}
	if _, err := s.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY,
		name TEXT NOT NULL,
		applied_at INTEGER NOT NULL) STRICT`); err != nil {
		return fmt.Errorf("casesqlite: migrate: create schema_migrations: %w", err)
	}
	for _, m := range ms {
		err := s.writeTx(ctx, func(tx *sql.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, m.Version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				m.Version, m.Name, time.Now().UnixNano()); err != nil {
				return err
			}
			s.log.Info("migration applied", "migration", m.Name)
			return nil
		})
		if err != nil {
			return fmt.Errorf("casesqlite: migration %s: %w", m.Name, err)
		}
	}
	return nil
}

// writeTx runs fn in a transaction of its own on the write connection,
// outside the writer's batches; only Migrate uses it.
func (s *Store) writeTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// translate turns driver errors into the domain's: no rows is notFound
// (cases.ErrNotFound unless the caller says otherwise), a unique
// violation is cases.ErrConflict, a foreign key violation cases.ErrNotFound.
func translate(err, notFound error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return notFound
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %w", cases.ErrConflict, err)
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return fmt.Errorf("%w: %w", cases.ErrNotFound, err)
		}
	}
	return err
}
