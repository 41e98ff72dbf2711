package casesqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/gateway"
)

// The process side of the store (cases.ProcessStore): a locked
// read-modify-write of cases whose rules live in cases/process. Every
// write runs on the single writer, which is the lock.

const stateCols = `timer_kind, level_started_at, paused_kind, paused_left_ms, duplicate_of`

type rec struct {
	c  cases.Case
	st cases.State
}

// stateRow scans caseCols followed by stateCols.
type stateRow struct {
	scanner
	r          *rec
	levelStart sql.NullInt64
	leftMS     int64
}

func (s *stateRow) Scan(dest ...any) error {
	return s.scanner.Scan(append(dest, &s.r.st.TimerKind, &s.levelStart, &s.r.st.PausedKind, &s.leftMS, &s.r.st.DuplicateOf)...)
}

func scanRec(row scanner) (rec, error) {
	var r rec
	sr := &stateRow{scanner: row, r: &r}
	c, err := scanCase(sr)
	if err != nil {
		return r, err
	}
	r.c = c
	r.st.LevelStart = nullTime(sr.levelStart)
	r.st.PausedLeft = time.Duration(sr.leftMS) * time.Millisecond
	return r, nil
}

func (s *Store) queryRecs(ctx context.Context, tx *sql.Tx, q string, args ...any) ([]rec, error) {
	rows, err := s.query(ctx, tx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []rec
	for rows.Next() {
		r, err := scanRec(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// SetHooks installs the hooks MessageDecide runs (see cases.Hooks).
func (s *Store) SetHooks(h cases.Hooks) { s.hooks.Store(&h) }

func (s *Store) hooksFor() *cases.Hooks {
	h := s.hooks.Load()
	if h == nil || (h.Opened == nil && h.Linked == nil) {
		return nil
	}
	return h
}

// CaseState returns a case and its process state by tracking code.
func (s *Store) CaseState(ctx context.Context, code string) (cases.Case, cases.State, error) {
	r, err := scanRec(s.readRow(ctx, `SELECT `+caseCols+`, `+stateCols+` FROM cases WHERE tracking_code = ?`, code))
	if err != nil {
		return r.c, r.st, fmt.Errorf("get case %q: %w", code, translate(err, cases.ErrNotFound))
	}
	return r.c, r.st, nil
}

// CaseStep runs step on the case inside a write transaction.
func (s *Store) CaseStep(ctx context.Context, code string, step cases.Step) (cases.Case, cases.State, error) {
	var r rec
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		r, err = scanRec(tx.QueryRowContext(ctx, `SELECT `+caseCols+`, `+stateCols+` FROM cases WHERE tracking_code = ?`, code))
		if err != nil {
			return fmt.Errorf("case %q: %w", code, translate(err, cases.ErrNotFound))
		}
		return s.applyStep(ctx, tx, &r, step, true)
	})
	return r.c, r.st, err
}

// TimersFire runs step on up to limit due cases in one write transaction.
func (s *Store) TimersFire(ctx context.Context, now time.Time, limit int, step cases.Step) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	n := 0
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		recs, err := s.queryRecs(ctx, tx, `SELECT `+caseCols+`, `+stateCols+` FROM cases
			WHERE due_at IS NOT NULL AND due_at <= ? ORDER BY due_at LIMIT ?`, now.UnixNano(), limit)
		if err != nil {
			return err
		}
		n = len(recs)
		for i := range recs {
			if err := s.applyStep(ctx, tx, &recs[i], step, true); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("fire timers: %w", err)
	}
	return n, nil
}

func nanosOrNull(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixNano(), Valid: true}
}

// applyStep runs step on r and writes the case, its events and outbox
// rows; with dups it also applies Effects.Duplicates.
func (s *Store) applyStep(ctx context.Context, tx *sql.Tx, r *rec, step cases.Step, dups bool) error {
	now := s.clock()
	eff, err := step(&r.c, &r.st)
	if err != nil {
		return err
	}
	if eff.Unchanged {
		return nil
	}
	// The store keeps nanoseconds; the case as returned matches what a
	// later read gives.
	r.c.UpdatedAt = fromNanos(now)
	c, st := r.c, r.st
	_, err = s.exec(ctx, tx, qStepCase,
		string(c.Status), c.Department, c.District, c.Answer, c.Outcome, c.EscalationLevel, c.Rating,
		nanosOrNull(c.DueAt), nanosOrNull(c.ClosedAt), nanosOrNull(st.LevelStart), st.TimerKind,
		st.PausedKind, st.PausedLeft.Milliseconds(), st.DuplicateOf, now, c.ID)
	if err != nil {
		return fmt.Errorf("write case: %w", err)
	}
	if err := s.writeEffects(ctx, tx, c.ID, eff, now); err != nil {
		return err
	}
	if eff.Duplicates == nil || !dups {
		return nil
	}
	recs, err := s.queryRecs(ctx, tx, qStepDuplicates, c.TrackingCode, c.ID)
	if err != nil {
		return err
	}
	for i := range recs {
		if err := s.applyStep(ctx, tx, &recs[i], eff.Duplicates, false); err != nil {
			return err
		}
	}
	return nil
}

// writeEffects writes eff's events and outbox rows for case caseID.
func (s *Store) writeEffects(ctx context.Context, tx *sql.Tx, caseID int64, eff cases.Effects, now int64) error {
	for _, ev := range eff.Events {
		at := now
		if !ev.At.IsZero() {
			at = ev.At.UnixNano()
		}
		data, err := eventData(ev.Data)
		if err != nil {
			return err
		}
		if _, err := s.exec(ctx, tx, qStepEvent, caseID, at, ev.Kind, ev.Actor, ev.Note, ev.Public, data); err != nil {
			return fmt.Errorf("write event: %w", translate(err, err))
		}
	}
	for _, o := range eff.Outbox {
		next := now
		if !o.NextAt.IsZero() {
			next = o.NextAt.UnixNano()
		}
		if _, err := s.exec(ctx, tx, qStepOutbox, caseID, o.EventID, o.Channel, o.Kind, o.Target, o.SecretEnv, o.Body, next, now); err != nil {
			return fmt.Errorf("write outbox: %w", translate(err, err))
		}
	}
	return nil
}

// afterLink runs the Linked hook inside the deciding transaction of a
// message added to case code. (The Opened hook runs before a case is
// inserted: see opening in ledger.go.)
func (s *Store) afterLink(ctx context.Context, tx *sql.Tx, h *cases.Hooks, m gateway.Message, code string, d gateway.Decision) error {
	r, err := scanRec(s.writeRow(ctx, tx, qStepByCode, code))
	if err != nil {
		return fmt.Errorf("hook: case %s: %w", code, translate(err, cases.ErrNotFound))
	}
	fillCode(&d, code)
	return s.applyStep(ctx, tx, &r, func(c *cases.Case, st *cases.State) (cases.Effects, error) {
		return h.Linked(c, st, m, d)
	}, true)
}

// findMaster returns the nearest open, non-duplicate case of c's service
// within radius metres: a bounding box on the index, then haversine.
func (s *Store) findMaster(ctx context.Context, tx *sql.Tx, c cases.Case, radius float64) (string, error) {
	lat, long := c.Location.Lat, c.Location.Long
	minLat, maxLat, minLong, maxLong := cases.BoundingBox(lat, long, radius)
	rows, err := s.query(ctx, tx, qStepNearby,
		c.ServiceCode, c.ID, minLat, maxLat, minLong, maxLong)
	if err != nil {
		return "", fmt.Errorf("find duplicate: %w", err)
	}
	defer rows.Close()
	best, bestD := "", radius
	for rows.Next() {
		var code string
		var la, lo float64
		if err := rows.Scan(&code, &la, &lo); err != nil {
			return "", err
		}
		if d := cases.DistanceM(lat, long, la, lo); d <= bestD {
			best, bestD = code, d
		}
	}
	return best, rows.Err()
}

const outboxCols = `id, case_id, event_id, channel, kind, target, secret_env, body, attempts, next_at, status,
	last_error, created_at, delivered_at`

func scanOutbox(row scanner) (cases.Outbox, error) {
	var o cases.Outbox
	var next, created int64
	var delivered sql.NullInt64
	err := row.Scan(&o.ID, &o.CaseID, &o.EventID, &o.Channel, &o.Kind, &o.Target, &o.SecretEnv, &o.Body,
		&o.Attempts, &next, &o.Status, &o.LastError, &created, &delivered)
	o.NextAt, o.CreatedAt, o.DeliveredAt = fromNanos(next), fromNanos(created), nullTime(delivered)
	return o, err
}

func collectOutbox(rows *sql.Rows) ([]cases.Outbox, error) {
	defer rows.Close()
	var out []cases.Outbox
	for rows.Next() {
		o, err := scanOutbox(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// OutboxClaim leases due pending rows.
func (s *Store) OutboxClaim(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]cases.Outbox, error) {
	var out []cases.Outbox
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `UPDATE outbox SET next_at = ? WHERE id IN (
				SELECT id FROM outbox WHERE status = 'pending' AND next_at <= ? ORDER BY next_at LIMIT ?)
			RETURNING `+outboxCols, now.Add(lease).UnixNano(), now.UnixNano(), limit)
		if err != nil {
			return err
		}
		out, err = collectOutbox(rows)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claim outbox: %w", err)
	}
	return out, nil
}

// OutboxSettle records attempts' results in one write.
func (s *Store) OutboxSettle(ctx context.Context, results ...cases.OutboxResult) error {
	if len(results) == 0 {
		return nil
	}
	now := s.clock()
	var missing []int64
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		missing = missing[:0]
		for _, r := range results {
			var delivered sql.NullInt64
			if r.Status == cases.OutboxDone {
				delivered = sql.NullInt64{Int64: now, Valid: true}
			}
			res, err := s.exec(ctx, tx, qOutboxSettle, r.Status, r.Attempts, r.NextAt.UnixNano(), r.LastError, delivered, r.ID)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				missing = append(missing, r.ID)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("settle outbox: %w", err)
	}
	if len(missing) > 0 {
		return fmt.Errorf("settle outbox %v: %w", missing, cases.ErrNotFound)
	}
	return nil
}

// OutboxList lists rows with status, newest first.
func (s *Store) OutboxList(ctx context.Context, status string, limit int) ([]cases.Outbox, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+outboxCols+` FROM outbox WHERE status = ? ORDER BY id DESC LIMIT ?`,
		status, searchLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("list outbox: %w", err)
	}
	out, err := collectOutbox(rows)
	if err != nil {
		return nil, fmt.Errorf("list outbox: %w", err)
	}
	return out, nil
}

// OutboxRequeue makes a dead row pending again.
func (s *Store) OutboxRequeue(ctx context.Context, id int64, now time.Time) error {
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var status string
		if err := tx.QueryRowContext(ctx, `SELECT status FROM outbox WHERE id = ?`, id).Scan(&status); err != nil {
			return translate(err, cases.ErrNotFound)
		}
		if status != cases.OutboxDead {
			return fmt.Errorf("%w: row is %s, not dead", cases.ErrConflict, status)
		}
		_, err := tx.ExecContext(ctx, `UPDATE outbox SET status = 'pending', attempts = 0, next_at = ? WHERE id = ?`, now.UnixNano(), id)
		return err
	})
	if err != nil {
		return fmt.Errorf("requeue outbox %d: %w", id, err)
	}
	return nil
}

var _ cases.ProcessStore = (*Store)(nil)

// Fixed statements of the process steps, prepared once (see writeQueries):
// a case opening runs several of them inside the deciding transaction.
var (
	qStepCase = `UPDATE cases SET status = ?, department = ?, district = ?, answer = ?, outcome = ?,
		escalation_level = ?, rating = ?, due_at = ?, closed_at = ?, level_started_at = ?, timer_kind = ?,
		paused_kind = ?, paused_left_ms = ?, duplicate_of = ?, updated_at = ? WHERE id = ?`
	qStepEvent = `INSERT INTO case_events (case_id, at, kind, actor, note, public, data)
			VALUES (?, ?, ?, ?, ?, ?, ?)`
	qStepOutbox = `INSERT INTO outbox (case_id, event_id, channel, kind, target, secret_env, body, next_at, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
	qOutboxSettle = `UPDATE outbox SET status = ?, attempts = ?, next_at = ?, last_error = ?, delivered_at = ?
		WHERE id = ?`
	qStepByCode     = `SELECT ` + caseCols + `, ` + stateCols + ` FROM cases WHERE tracking_code = ?`
	qStepDuplicates = `SELECT ` + caseCols + `, ` + stateCols + ` FROM cases
		WHERE duplicate_of = ? AND id <> ? ORDER BY id`
	qStepNearby = `SELECT tracking_code, lat, long FROM cases
		WHERE service_code = ? AND status <> 'closed' AND lat IS NOT NULL AND duplicate_of = '' AND id <> ?
		AND lat BETWEEN ? AND ? AND long BETWEEN ? AND ? ORDER BY id LIMIT 500`
)
