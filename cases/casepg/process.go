package casepg

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/gateway"
)

// The process side of the store (cases.ProcessStore): a locked
// read-modify-write of cases whose rules live in cases/process.

const stateCols = `timer_kind, level_started_at, paused_kind, paused_left_ms, duplicate_of`

// rec is a case and its process state as loaded under lock.
type rec struct {
	c   cases.Case
	st  cases.State
	eff cases.Effects
}

// stateRow scans caseCols followed by stateCols.
type stateRow struct {
	pgx.Row
	r *rec
	// scratch for the nullable / converted columns
	levelStart *time.Time
	leftMS     int64
}

func (s *stateRow) Scan(dest ...any) error {
	return s.Row.Scan(append(dest, &s.r.st.TimerKind, &s.levelStart, &s.r.st.PausedKind, &s.leftMS, &s.r.st.DuplicateOf)...)
}

func scanRec(row pgx.Row) (rec, error) {
	var r rec
	sr := &stateRow{Row: row, r: &r}
	c, err := scanCase(sr)
	if err != nil {
		return r, err
	}
	r.c = c
	if sr.levelStart != nil {
		r.st.LevelStart = sr.levelStart.UTC()
	}
	r.st.PausedLeft = time.Duration(sr.leftMS) * time.Millisecond
	return r, nil
}

func collectRecs(rows pgx.Rows) ([]rec, error) {
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (rec, error) { return scanRec(row) })
}

// SetHooks installs the hooks MessageDecide runs (see cases.Hooks).
func (s *Store) SetHooks(h cases.Hooks) { s.hooks.Store(&h) }

// CaseState returns a case and its process state by tracking code.
func (s *Store) CaseState(ctx context.Context, code string) (cases.Case, cases.State, error) {
	r, err := scanRec(s.pool.QueryRow(ctx, `SELECT `+caseCols+`, `+stateCols+` FROM cases WHERE tracking_code = $1`, code))
	if err != nil {
		return r.c, r.st, fmt.Errorf("get case %q: %w", code, translate(err, cases.ErrNotFound))
	}
	return r.c, r.st, nil
}

// CaseStep locks the case, runs step and writes its result in one transaction.
func (s *Store) CaseStep(ctx context.Context, code string, step cases.Step) (cases.Case, cases.State, error) {
	var r rec
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		r, err = scanRec(tx.QueryRow(ctx, `SELECT `+caseCols+`, `+stateCols+` FROM cases WHERE tracking_code = $1 FOR UPDATE`, code))
		if err != nil {
			return fmt.Errorf("case %q: %w", code, translate(err, cases.ErrNotFound))
		}
		return s.applySteps(ctx, tx, []*rec{&r}, step)
	})
	return r.c, r.st, err
}

// TimersFire claims due cases with FOR UPDATE SKIP LOCKED, so instances
// sharing the database never fire one deadline twice and never wait on
// each other, and writes every fired case in the same transaction.
func (s *Store) TimersFire(ctx context.Context, now time.Time, limit int, step cases.Step) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	n := 0
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+caseCols+`, `+stateCols+` FROM cases
			WHERE due_at <= $1 ORDER BY due_at LIMIT $2 FOR UPDATE SKIP LOCKED`, now.UTC(), limit)
		if err != nil {
			return err
		}
		recs, err := collectRecs(rows)
		if err != nil {
			return err
		}
		ps := make([]*rec, len(recs))
		for i := range recs {
			ps[i] = &recs[i]
		}
		n = len(recs)
		return s.applySteps(ctx, tx, ps, step)
	})
	if err != nil {
		return 0, fmt.Errorf("fire timers: %w", err)
	}
	return n, nil
}

// applySteps runs step on every record and writes the changed ones in a
// few set-based statements, then applies Effects.Duplicates.
func (s *Store) applySteps(ctx context.Context, tx pgx.Tx, recs []*rec, step cases.Step) error {
	now := s.clock()
	var changed []*rec
	for _, r := range recs {
		eff, err := step(&r.c, &r.st)
		if err != nil {
			return err
		}
		if eff.Unchanged {
			continue
		}
		r.c.UpdatedAt = now
		r.eff = eff
		changed = append(changed, r)
	}
	if err := s.writeRecs(ctx, tx, changed, now); err != nil {
		return err
	}
	for _, r := range changed {
		if r.eff.Duplicates == nil {
			continue
		}
		rows, err := tx.Query(ctx, `SELECT `+caseCols+`, `+stateCols+` FROM cases
			WHERE duplicate_of = $1 AND id <> $2 ORDER BY id FOR UPDATE`, r.c.TrackingCode, r.c.ID)
		if err != nil {
			return err
		}
		dups, err := collectRecs(rows)
		if err != nil {
			return err
		}
		ps := make([]*rec, len(dups))
		for i := range dups {
			ps[i] = &dups[i]
		}
		dstep := r.eff.Duplicates
		if err := s.applySteps(ctx, tx, ps, func(c *cases.Case, st *cases.State) (cases.Effects, error) {
			eff, err := dstep(c, st)
			eff.Duplicates = nil // one level: duplicates have no duplicates
			return eff, err
		}); err != nil {
			return err
		}
	}
	return nil
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// writeRecs writes cases, events and outbox rows with one statement each,
// whatever the number of records, in one round trip.
func (s *Store) writeRecs(ctx context.Context, tx pgx.Tx, recs []*rec, now time.Time) error {
	if len(recs) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	queueCaseUpdate(b, recs, now)
	if _, err := queueEffects(b, recs, now); err != nil {
		return err
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("write cases, events and outbox: %w", translate(err, err))
	}
	return nil
}

// queueCaseUpdate queues the UPDATE of every record's case row.
func queueCaseUpdate(b *pgx.Batch, recs []*rec, now time.Time) {
	n := len(recs)
	var (
		ids                                           = make([]int64, n)
		status, dept, district, answer, outcome, kind = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		pkind, dup                                    = make([]string, n), make([]string, n)
		level, rating                                 = make([]int32, n), make([]int32, n)
		left                                          = make([]int64, n)
		due, closed, lstart                           = make([]*time.Time, n), make([]*time.Time, n), make([]*time.Time, n)
	)
	for i, r := range recs {
		c, st := r.c, r.st
		ids[i], status[i], dept[i], district[i], answer[i], outcome[i] = c.ID, string(c.Status), c.Department, c.District, c.Answer, c.Outcome
		level[i], rating[i] = int32(c.EscalationLevel), int32(c.Rating)
		due[i], closed[i], lstart[i] = timePtr(c.DueAt), timePtr(c.ClosedAt), timePtr(st.LevelStart)
		kind[i], pkind[i], dup[i], left[i] = st.TimerKind, st.PausedKind, st.DuplicateOf, st.PausedLeft.Milliseconds()
	}
	b.Queue(`UPDATE cases SET status = u.status, department = u.dept, district = u.district,
		answer = u.answer, outcome = u.outcome, escalation_level = u.level, rating = u.rating, due_at = u.due,
		closed_at = u.closed, level_started_at = u.lstart, timer_kind = u.kind, paused_kind = u.pkind,
		paused_left_ms = u.left_ms, duplicate_of = u.dup, updated_at = $16
		FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int[], $8::int[],
			$9::timestamptz[], $10::timestamptz[], $11::timestamptz[], $12::text[], $13::text[], $14::bigint[], $15::text[])
			AS u(id, status, dept, district, answer, outcome, level, rating, due, closed, lstart, kind, pkind, left_ms, dup)
		WHERE cases.id = u.id`,
		ids, status, dept, district, answer, outcome, level, rating, due, closed, lstart, kind, pkind, left, dup, now)
}

// queueEffects queues the INSERTs of every record's events and outbox
// rows (nothing for none) and returns how many statements it queued.
func queueEffects(b *pgx.Batch, recs []*rec, now time.Time) (int, error) {
	var evCase []int64
	var evAt []time.Time
	var evKind, evActor, evNote []string
	var evPublic []bool
	var evData []*string
	var obCase []int64
	var obEvent, obChan, obKind, obTarget, obSecret []string
	var obBody [][]byte
	var obNext []time.Time
	for _, r := range recs {
		id := r.c.ID
		for _, ev := range r.eff.Events {
			at := ev.At
			if at.IsZero() {
				at = now
			}
			data, err := eventData(ev.Data)
			if err != nil {
				return 0, err
			}
			evCase, evAt, evKind, evActor, evNote = append(evCase, id), append(evAt, at.UTC()), append(evKind, ev.Kind), append(evActor, ev.Actor), append(evNote, ev.Note)
			evPublic, evData = append(evPublic, ev.Public), append(evData, data)
		}
		for _, o := range r.eff.Outbox {
			next := o.NextAt
			if next.IsZero() {
				next = now
			}
			obCase, obEvent, obChan, obKind = append(obCase, id), append(obEvent, o.EventID), append(obChan, o.Channel), append(obKind, o.Kind)
			obTarget, obSecret, obBody, obNext = append(obTarget, o.Target), append(obSecret, o.SecretEnv), append(obBody, o.Body), append(obNext, next.UTC())
		}
	}
	queued := 0
	if len(evCase) > 0 {
		b.Queue(`INSERT INTO case_events (case_id, at, kind, actor, note, public, data)
			SELECT c, a, k, ac, n, p, d::jsonb FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::text[],
				$5::text[], $6::bool[], $7::text[]) AS e(c, a, k, ac, n, p, d)`,
			evCase, evAt, evKind, evActor, evNote, evPublic, evData)
		queued++
	}
	if len(obCase) > 0 {
		b.Queue(`INSERT INTO outbox (case_id, event_id, channel, kind, target, secret_env, body, next_at, created_at)
			SELECT c, e, ch, k, t, s, b, n, $9 FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[],
				$6::text[], $7::bytea[], $8::timestamptz[]) AS o(c, e, ch, k, t, s, b, n)`,
			obCase, obEvent, obChan, obKind, obTarget, obSecret, obBody, obNext, now)
		queued++
	}
	return queued, nil
}

// hooksFor returns the installed hooks, or nil when none would run.
func (s *Store) hooksFor() *cases.Hooks {
	h := s.hooks.Load()
	if h == nil || (h.Opened == nil && h.Linked == nil) {
		return nil
	}
	return h
}

// afterDecide runs the Opened or Linked hook inside the deciding
// transaction, on the case with tracking code code.
func (s *Store) afterDecide(ctx context.Context, tx pgx.Tx, h *cases.Hooks, messageID, code string, d gateway.Decision, opened bool) error {
	if (opened && h.Opened == nil) || (!opened && h.Linked == nil) {
		return nil
	}
	// The case, locked, and the message in one round trip.
	var payload []byte
	r, err := scanRec(extraScan{tx.QueryRow(ctx, `SELECT `+caseCols+`, `+stateCols+`,
		(SELECT payload FROM messages WHERE id = $2) FROM cases WHERE tracking_code = $1 FOR UPDATE`, code, messageID), &payload})
	if err != nil {
		return fmt.Errorf("hook: case %s: %w", code, translate(err, cases.ErrNotFound))
	}
	var m gateway.Message
	if err := json.Unmarshal(payload, &m); err != nil {
		return fmt.Errorf("hook: decode message %s: %w", messageID, err)
	}
	if opened && h.FindsDuplicates(r.c) {
		master, _, err := s.findMaster(ctx, tx, r.c, h.DuplicateRadiusM)
		if err != nil {
			return err
		}
		r.st.DuplicateOf = master
	}
	return s.applySteps(ctx, tx, []*rec{&r}, func(c *cases.Case, st *cases.State) (cases.Effects, error) {
		if opened {
			return h.Opened(c, st, m)
		}
		return h.Linked(c, st, m, d)
	})
}

// findMaster returns the nearest open, non-duplicate case of c's service
// within radius metres, and its distance: a bounding box on the index,
// then haversine.
func (s *Store) findMaster(ctx context.Context, tx rowsQuerier, c cases.Case, radius float64) (string, float64, error) {
	lat, long := c.Location.Lat, c.Location.Long
	minLat, maxLat, minLong, maxLong := cases.BoundingBox(lat, long, radius)
	rows, err := tx.Query(ctx, `SELECT tracking_code, lat, long FROM cases
		WHERE service_code = $1 AND status <> 'closed' AND lat IS NOT NULL AND duplicate_of = '' AND id <> $2
		AND lat BETWEEN $3 AND $4 AND long BETWEEN $5 AND $6 ORDER BY id LIMIT 500`,
		c.ServiceCode, c.ID, minLat, maxLat, minLong, maxLong)
	if err != nil {
		return "", 0, fmt.Errorf("find duplicate: %w", err)
	}
	defer rows.Close()
	best, bestD := "", radius
	for rows.Next() {
		var code string
		var la, lo float64
		if err := rows.Scan(&code, &la, &lo); err != nil {
			return "", 0, err
		}
		if d := cases.DistanceM(lat, long, la, lo); d <= bestD {
			best, bestD = code, d
		}
	}
	return best, bestD, rows.Err()
}

const outboxCols = `id, case_id, event_id, channel, kind, target, secret_env, body, attempts, next_at, status,
	last_error, created_at, delivered_at`

func scanOutbox(row pgx.CollectableRow) (cases.Outbox, error) {
	var o cases.Outbox
	var delivered *time.Time
	err := row.Scan(&o.ID, &o.CaseID, &o.EventID, &o.Channel, &o.Kind, &o.Target, &o.SecretEnv, &o.Body,
		&o.Attempts, &o.NextAt, &o.Status, &o.LastError, &o.CreatedAt, &delivered)
	o.NextAt, o.CreatedAt = o.NextAt.UTC(), o.CreatedAt.UTC()
	if delivered != nil {
		o.DeliveredAt = delivered.UTC()
	}
	return o, err
}

// OutboxClaim leases due pending rows (SKIP LOCKED: workers on several
// instances take disjoint rows).
func (s *Store) OutboxClaim(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]cases.Outbox, error) {
	// The lease is leased_until, which no index covers: the claim is a
	// HOT update (migration 0007).
	rows, err := s.pool.Query(ctx, `UPDATE outbox SET leased_until = $2 WHERE id IN (
			SELECT id FROM outbox WHERE status = 'pending' AND next_at <= $1
				AND (leased_until IS NULL OR leased_until <= $1)
			ORDER BY next_at LIMIT $3 FOR UPDATE SKIP LOCKED)
		RETURNING `+outboxCols, now.UTC(), now.Add(lease).UTC(), limit)
	if err != nil {
		return nil, fmt.Errorf("claim outbox: %w", err)
	}
	out, err := pgx.CollectRows(rows, scanOutbox)
	if err != nil {
		return nil, fmt.Errorf("claim outbox: %w", err)
	}
	return out, nil
}

// OutboxSettle records attempts' results in one statement: a row settled
// alone per attempt made the settling, not the delivery, the cost of the
// outbox under load.
func (s *Store) OutboxSettle(ctx context.Context, results ...cases.OutboxResult) error {
	if len(results) == 0 {
		return nil
	}
	n := len(results)
	ids, status, attempts, next, errs := make([]int64, n), make([]string, n), make([]int32, n), make([]time.Time, n), make([]string, n)
	for i, r := range results {
		ids[i], status[i], attempts[i], next[i], errs[i] = r.ID, r.Status, int32(r.Attempts), r.NextAt.UTC(), r.LastError
	}
	rows, err := s.pool.Query(ctx, `UPDATE outbox o SET status = r.status, attempts = r.attempts, next_at = r.next_at,
			last_error = r.err, leased_until = NULL, delivered_at = CASE WHEN r.status = 'done' THEN $6::timestamptz END
		FROM unnest($1::bigint[], $2::text[], $3::int[], $4::timestamptz[], $5::text[]) AS r (id, status, attempts, next_at, err)
		WHERE o.id = r.id RETURNING o.id`, ids, status, attempts, next, errs, s.clock())
	if err != nil {
		return fmt.Errorf("settle outbox: %w", err)
	}
	settled, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return fmt.Errorf("settle outbox: %w", err)
	}
	return missingRows(ids, settled)
}

// OutboxList lists rows with status, newest first.
func (s *Store) OutboxList(ctx context.Context, status string, limit int) ([]cases.Outbox, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+outboxCols+` FROM outbox WHERE status = $1 ORDER BY id DESC LIMIT $2`,
		status, searchLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("list outbox: %w", err)
	}
	out, err := pgx.CollectRows(rows, scanOutbox)
	if err != nil {
		return nil, fmt.Errorf("list outbox: %w", err)
	}
	return out, nil
}

// OutboxRequeue makes a dead row pending again.
func (s *Store) OutboxRequeue(ctx context.Context, id int64, now time.Time) error {
	var status string
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT status FROM outbox WHERE id = $1 FOR UPDATE`, id).Scan(&status); err != nil {
			return translate(err, cases.ErrNotFound)
		}
		if status != cases.OutboxDead {
			return fmt.Errorf("%w: row is %s, not dead", cases.ErrConflict, status)
		}
		_, err := tx.Exec(ctx, `UPDATE outbox SET status = 'pending', attempts = 0, next_at = $2, leased_until = NULL WHERE id = $1`, id, now.UTC())
		return err
	})
	if err != nil {
		return fmt.Errorf("requeue outbox %d: %w", id, err)
	}
	return nil
}

var _ cases.ProcessStore = (*Store)(nil)

// querier is the pool or a transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// rowsQuerier runs a query in a transaction: a pgx.Tx, or a connection
// inside an explicit BEGIN (batch.go).
type rowsQuerier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// withHooks runs a deciding statement: alone on the pool when no hooks
// are installed (one round trip, as before), otherwise in a transaction
// that also runs the Opened/Linked hook when the statement decided the
// message (no row: nothing happened, the caller looks why).
func (s *Store) withHooks(ctx context.Context, stmt func(q querier) (gateway.Receipt, error), messageID string, d gateway.Decision, opened bool) (gateway.Receipt, error) {
	h := s.hooksFor()
	if h == nil {
		return stmt(s.pool)
	}
	var r gateway.Receipt
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		if r, err = stmt(tx); err != nil {
			return err
		}
		return s.afterDecide(ctx, tx, h, messageID, r.Decision.TrackingCode, d, opened)
	})
	return r, err
}

// extraScan scans one more trailing column into v.
type extraScan struct {
	pgx.Row
	v any
}

func (e extraScan) Scan(dest ...any) error { return e.Row.Scan(append(dest, e.v)...) }

// missingRows names the ids of want that are not in got.
func missingRows(want, got []int64) error {
	if len(got) == len(want) {
		return nil
	}
	seen := make(map[int64]bool, len(got))
	for _, id := range got {
		seen[id] = true
	}
	var missing []int64
	for _, id := range want {
		if !seen[id] {
			missing = append(missing, id)
		}
	}
	return fmt.Errorf("settle outbox %v: %w", missing, cases.ErrNotFound)
}
