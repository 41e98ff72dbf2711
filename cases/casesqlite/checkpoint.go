package casesqlite

import (
	"context"
	"database/sql"
	"net/url"
	"time"
)

// Checkpoints copy committed pages from the WAL into the database file so
// that the WAL can start over. SQLite runs them on the committing
// connection once the WAL holds 1,000 pages, which here is the single
// writer: every write waited while it copied them. A connection of its own
// copies them beside the writer instead, soon after each commit (a PASSIVE
// checkpoint takes no lock a writer needs), so the writer's own checkpoint
// finds little left to copy. The writer keeps that checkpoint: only a
// connection whose transaction began with the WAL fully copied may start
// the WAL over, and the writer is the one that begins transactions right
// after its own checkpoint. Without it the WAL grows without bound
// (measured: 1.1 GB after 40,000 messages).

// checkpointEvery is the least time between two checkpoints; between them
// the WAL grows by what the writer commits meanwhile.
const checkpointEvery = 100 * time.Millisecond

// openCheckpointer opens the checkpoint connection. It sets no
// journal_mode: the writer has made the file WAL, which lasts.
func openCheckpointer(ctx context.Context, path string) (*sql.DB, error) {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "synchronous(NORMAL)")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	if err := ping(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// checkpointer checkpoints after commits, at most every checkpointEvery,
// until the writer has stopped.
func (s *Store) checkpointer() {
	defer close(s.ckStopped)
	ctx := context.Background()
	for {
		select {
		case <-s.committed:
		case <-s.stopped:
			return
		}
		var busy, frames, done int
		if err := s.ck.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &frames, &done); err != nil {
			s.log.Warn("checkpoint", "err", err)
		}
		select {
		case <-time.After(checkpointEvery):
		case <-s.stopped:
			return
		}
	}
}
