package casesqlite

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// stmts caches prepared statements per query text. modernc.org/sqlite
// does not cache them itself, and parsing the SQL was a fifth of a
// decision's CPU. Only fixed query texts go here, never built ones.
type stmts struct {
	db *sql.DB
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

func newStmts(db *sql.DB) *stmts { return &stmts{db: db, m: map[string]*sql.Stmt{}} }

// get returns q prepared, preparing it on first use. It must not run
// inside a write transaction: preparing needs the writer's one
// connection, which the transaction holds (use cached there).
func (c *stmts) get(ctx context.Context, q string) (*sql.Stmt, error) {
	if st := c.cached(q); st != nil {
		return st, nil
	}
	// Not under c.mu: preparing waits for a connection, and a transaction
	// holding it may need c.mu for cached.
	st, err := c.db.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev, ok := c.m[q]; ok {
		_ = st.Close()
		return prev, nil
	}
	c.m[q] = st
	return st, nil
}

// cached returns q if it is prepared already, or nil.
func (c *stmts) cached(q string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[q]
}

// warm prepares qs ahead of a write transaction that runs them.
func (c *stmts) warm(ctx context.Context, qs ...string) error {
	for _, q := range qs {
		if _, err := c.get(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

func (c *stmts) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for q, st := range c.m {
		errs = append(errs, st.Close())
		delete(c.m, q)
	}
	return errors.Join(errs...)
}

// errRow is a failed row: its Scan reports err.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// scanner is a *sql.Row, *sql.Rows or errRow.
type scanner interface{ Scan(dest ...any) error }

// exec runs a write statement in tx, prepared if warmWrites prepared it.
func (s *Store) exec(ctx context.Context, tx *sql.Tx, q string, args ...any) (sql.Result, error) {
	if st := s.ws.cached(q); st != nil {
		return tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, q, args...)
}

// query runs a statement returning rows in tx, prepared as for exec.
func (s *Store) query(ctx context.Context, tx *sql.Tx, q string, args ...any) (*sql.Rows, error) {
	if st := s.ws.cached(q); st != nil {
		return tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return tx.QueryContext(ctx, q, args...)
}

// writeRow runs a statement returning one row in tx, prepared as for exec.
func (s *Store) writeRow(ctx context.Context, tx *sql.Tx, q string, args ...any) scanner {
	if st := s.ws.cached(q); st != nil {
		return tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return tx.QueryRowContext(ctx, q, args...)
}

// readRow runs a fixed query returning one row on a reader.
func (s *Store) readRow(ctx context.Context, q string, args ...any) scanner {
	st, err := s.rs.get(ctx, q)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(ctx, args...)
}

// readRows runs a fixed query on a reader.
func (s *Store) readRows(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	st, err := s.rs.get(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}
