package casesqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Every write goes through one goroutine that owns the write connection.
// Writes that arrive while a transaction commits are run together in the
// next one (group commit): a WAL commit writes each dirty page once, and
// messages accepted or decided together dirty the same table and index
// pages, so a batch costs little more than a single write. Each write
// runs in its own savepoint, so one that fails is undone alone, and its
// caller hears back only after the commit, so nothing is acknowledged
// before it is durable.

// maxBatch bounds the writes in one transaction, and so the latency a
// write can add to the others in its batch.
const maxBatch = 64

// errClosed is returned by writes after Close.
var errClosed = errors.New("casesqlite: store is closed")

// writeFunc does one caller's write inside the batch transaction tx.
// Everything it reads must come from tx: the batch is not committed yet.
type writeFunc func(ctx context.Context, tx *sql.Tx) error

type writeReq struct {
	ctx  context.Context
	fn   writeFunc
	done chan error // buffered: the writer never waits for a caller
}

// write runs fn in a write transaction and returns once it is committed.
func (s *Store) write(ctx context.Context, fn writeFunc) error {
	s.warmWrites(ctx)
	r := &writeReq{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case s.reqs <- r:
	case <-s.stopped:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once handed over the write is in a transaction; wait for its outcome
	// even if ctx ends, so the caller never guesses whether it committed.
	select {
	case err := <-r.done:
		return err
	case <-s.stopped:
		select {
		case err := <-r.done:
			return err
		default:
			return errClosed
		}
	}
}

// writer serves write requests until quit is closed.
func (s *Store) writer() {
	defer close(s.stopped)
	for {
		var batch []*writeReq
		select {
		case r := <-s.reqs:
			batch = append(batch, r)
		case <-s.quit:
			return
		}
	fill:
		for len(batch) < maxBatch {
			select {
			case r := <-s.reqs:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		s.commit(batch)
		select {
		case s.committed <- struct{}{}:
		default: // the checkpointer has not taken the last one yet
		}
	}
}

// commit runs batch in one transaction and tells every caller its outcome.
func (s *Store) commit(batch []*writeReq) {
	errs := make([]error, len(batch))
	defer func() {
		for i, r := range batch {
			r.done <- errs[i]
		}
	}()
	ctx := context.Background() // the batch outlives any one caller's ctx
	fail := func(err error) {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = err
			}
		}
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		fail(fmt.Errorf("begin write: %w", err))
		return
	}
	single := len(batch) == 1
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		if single { // no savepoint needed: a failure rolls back the transaction
			errs[i] = s.run(r, tx)
			break
		}
		if _, err := s.exec(ctx, tx, qSavepoint); err != nil {
			_ = tx.Rollback()
			fail(fmt.Errorf("write savepoint: %w", err))
			return
		}
		if errs[i] = s.run(r, tx); errs[i] != nil {
			if _, err := s.exec(ctx, tx, qRollbackTo); err != nil {
				_ = tx.Rollback()
				fail(fmt.Errorf("undo failed write: %w", err))
				return
			}
		}
		if _, err := s.exec(ctx, tx, qRelease); err != nil {
			_ = tx.Rollback()
			fail(fmt.Errorf("write savepoint: %w", err))
			return
		}
	}
	if single && errs[0] != nil {
		_ = tx.Rollback()
		return
	}
	if err := tx.Commit(); err != nil {
		fail(fmt.Errorf("commit: %w", err))
	}
}

// run calls r.fn, turning a panic into an error: the writer serves every
// caller and must survive a bug in one write.
func (s *Store) run(r *writeReq, tx *sql.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("write panicked", "panic", p)
			err = fmt.Errorf("casesqlite: write panicked: %v", p)
		}
	}()
	// Without cancel: an interrupted statement could roll back the whole
	// batch, not just this caller's part.
	return r.fn(context.WithoutCancel(r.ctx), tx)
}

const (
	qSavepoint  = `SAVEPOINT w`
	qRollbackTo = `ROLLBACK TO w`
	qRelease    = `RELEASE w`
)

// warmWrites prepares every fixed write statement once the schema exists.
// Preparing needs the write connection, so it cannot happen inside a batch.
func (s *Store) warmWrites(ctx context.Context) {
	if s.warmed.Load() {
		return
	}
	if err := s.ws.warm(ctx, writeQueries...); err == nil {
		s.warmed.Store(true)
	}
}

// writeQueries are the statements writes run; listing one here makes it
// run prepared (a statement not listed still works, parsed each time).
var writeQueries = []string{
	qSavepoint, qRollbackTo, qRelease,
	qAccept, qReceiptByPortal, qDecideRead, qDecideReceipt, qDecideSet, qDecideResolved,
	qCaseInsert, qCaseTouch, qCaseMessageEvent, qMarkDead,
	qEventAdd, qCaseStatus, qCaseClose, qCaseClosedEvent,
	qAttachmentSave, qKVPut, qKVDelete, qKVPurge,
	qStepCase, qStepEvent, qStepOutbox, qOutboxSettle, qStepByCode, qStepDuplicates, qStepNearby,
}
