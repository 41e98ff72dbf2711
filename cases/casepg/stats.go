package casepg

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dargah137/dargah/cases"
)

// qStatsCases computes every case figure in one pass over the cases opened
// in [$1, $2): GROUPING SETS give the total and each breakdown from the
// same scan. $3 is now (a deadline passed without a result is late), $4
// the result promise in seconds.
const qStatsCases = `SELECT
	CASE WHEN grouping(portal) = 0 THEN 'portal' WHEN grouping(service_code) = 0 THEN 'service'
		WHEN grouping(district) = 0 THEN 'district' WHEN grouping(department) = 0 THEN 'department'
		WHEN grouping(lvl) = 0 THEN 'level' ELSE '' END,
	coalesce(portal, service_code, district, department, lvl::text, ''),
	count(*),
	count(stats_result_at),
	count(*) FILTER (WHERE stats_result_at <= opened_at + make_interval(secs => $4)),
	coalesce(sum(extract(epoch FROM stats_result_at - opened_at)), 0)::float8,
	count(*) FILTER (WHERE rating > 0),
	coalesce(sum(rating) FILTER (WHERE rating > 0), 0),
	count(*) FILTER (WHERE stats_due_at IS NOT NULL AND (stats_result_at IS NOT NULL OR stats_due_at < $3)),
	count(*) FILTER (WHERE stats_result_at <= stats_due_at)
FROM (SELECT portal, service_code, district, department, greatest(escalation_level, stats_max_level) AS lvl,
		opened_at, stats_result_at, rating, stats_due_at
	FROM cases WHERE opened_at >= $1 AND opened_at < $2) c
GROUP BY GROUPING SETS ((), (portal), (service_code), (district), (department), (lvl))`

// qStatsMessages counts decided messages accepted in [$1, $2), in total
// and per portal, on the messages_stats index.
const qStatsMessages = `SELECT grouping(portal) = 0, coalesce(portal, ''), count(*),
	count(*) FILTER (WHERE outcome = 'resolved')
FROM messages WHERE decided_at IS NOT NULL AND accepted_at >= $1 AND accepted_at < $2
GROUP BY ROLLUP (portal)`

// Stats computes the figures over [from, to) in two grouped queries.
func (s *Store) Stats(ctx context.Context, from, to time.Time) (cases.Stats, error) {
	st := cases.Stats{From: from, To: to}
	if !from.Before(to) {
		return st, fmt.Errorf("stats: range %s – %s is empty", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	from, to = from.UTC(), to.UTC()
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, qStatsCases, from, to, s.clock(), cases.ResultWithin.Seconds())
		if err != nil {
			return err
		}
		var acc cases.StatsAccumulator
		for rows.Next() {
			var g cases.StatsGroup
			if err := rows.Scan(&g.Dim, &g.Key, &g.Cases, &g.WithResult, &g.Within, &g.ResultSeconds,
				&g.Rated, &g.RatingSum, &g.Due, &g.OnTime); err != nil {
				rows.Close()
				return err
			}
			acc.AddCases(g)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows, err = tx.Query(ctx, qStatsMessages, from, to)
		if err != nil {
			return err
		}
		for rows.Next() {
			var byPortal bool
			var portal string
			var decided, resolved int64
			if err := rows.Scan(&byPortal, &portal, &decided, &resolved); err != nil {
				rows.Close()
				return err
			}
			acc.AddMessages(byPortal, portal, decided, resolved)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		acc.Fill(&st)
		return nil
	})
	if err != nil {
		return st, fmt.Errorf("stats %s – %s: %w", from.Format(time.RFC3339), to.Format(time.RFC3339), err)
	}
	return st, nil
}

const classificationCols = `tracking_code, status, service_code, portal, portal_kind, department, district,
	outcome, rating, greatest(escalation_level, stats_max_level), opened_at, stats_due_at, stats_result_at, closed_at`

// CaseClassifications streams the classification of every case opened in
// [from, to), oldest first.
func (s *Store) CaseClassifications(ctx context.Context, from, to time.Time, fn func(cases.Classification) error) error {
	rows, err := s.pool.Query(ctx, `SELECT `+classificationCols+` FROM cases
		WHERE opened_at >= $1 AND opened_at < $2 ORDER BY opened_at, id`, from.UTC(), to.UTC())
	if err != nil {
		return fmt.Errorf("classify cases: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c cases.Classification
		var due, result, closed *time.Time
		if err := rows.Scan(&c.TrackingCode, &c.Status, &c.ServiceCode, &c.Portal, &c.PortalKind, &c.Department,
			&c.District, &c.Outcome, &c.Rating, &c.MaxLevel, &c.OpenedAt, &due, &result, &closed); err != nil {
			return fmt.Errorf("classify cases: %w", err)
		}
		c.OpenedAt = c.OpenedAt.UTC()
		c.DueAt, c.ResultAt, c.ClosedAt = utcOrZero(due), utcOrZero(result), utcOrZero(closed)
		if err := fn(c); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("classify cases: %w", err)
	}
	return nil
}

func utcOrZero(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// ArchiveClosed copies up to limit cases closed before before (and not
// archived with that closing) into case_archive, in one statement.
func (s *Store) ArchiveClosed(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	tag, err := s.pool.Exec(ctx, `WITH c AS (
		SELECT id FROM cases WHERE status = 'closed' AND closed_at < $1
			AND NOT EXISTS (SELECT 1 FROM case_archive a WHERE a.case_id = cases.id AND a.closed_at = cases.closed_at)
		ORDER BY closed_at LIMIT $2)
	INSERT INTO case_archive (case_id, tracking_code, service_code, portal, portal_kind, department, district,
		outcome, rating, max_level, opened_at, due_at, result_at, closed_at, archived_at)
	SELECT id, tracking_code, service_code, portal, portal_kind, department, district, outcome, rating,
		greatest(escalation_level, stats_max_level), opened_at, stats_due_at, stats_result_at, closed_at, $3
	FROM cases JOIN c USING (id)
	ON CONFLICT (case_id) DO UPDATE SET tracking_code = EXCLUDED.tracking_code,
		service_code = EXCLUDED.service_code, portal = EXCLUDED.portal, portal_kind = EXCLUDED.portal_kind,
		department = EXCLUDED.department, district = EXCLUDED.district, outcome = EXCLUDED.outcome,
		rating = EXCLUDED.rating, max_level = EXCLUDED.max_level, opened_at = EXCLUDED.opened_at,
		due_at = EXCLUDED.due_at, result_at = EXCLUDED.result_at, closed_at = EXCLUDED.closed_at,
		archived_at = EXCLUDED.archived_at, purged_at = NULL`, before.UTC(), limit, s.clock())
	if err != nil {
		return 0, fmt.Errorf("archive closed cases: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// ArchivePurge erases the personal data of up to limit archived cases
// closed before closedBefore, in one statement: the case's contact,
// description, location, thread and attachments (rows too), the notes of
// its citizen "message" events, and the contact, texts, location and
// metadata in the ledger payloads of the messages that opened or joined it.
// All CTEs read one snapshot, so o still sees the attachment list.
func (s *Store) ArchivePurge(ctx context.Context, closedBefore time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	var n int
	err := s.pool.QueryRow(ctx, `WITH a AS (
		SELECT case_id FROM case_archive WHERE purged_at IS NULL AND closed_at < $1
		ORDER BY closed_at LIMIT $2 FOR UPDATE SKIP LOCKED),
	p AS (UPDATE case_archive SET purged_at = $3 FROM a WHERE case_archive.case_id = a.case_id RETURNING a.case_id),
	o AS (SELECT id, attachments, source_message_id FROM cases WHERE id IN (SELECT case_id FROM p)),
	c AS (UPDATE cases SET contact_phone = '', contact_telegram_id = '', contact_email = '', contact_name = '',
		description = '', lat = NULL, long = NULL, address = '', thread_key = '', attachments = '{}'
		WHERE id IN (SELECT id FROM o)),
	d AS (DELETE FROM attachments WHERE id IN (SELECT unnest(attachments) FROM o)),
	e AS (UPDATE case_events SET note = '' WHERE case_id IN (SELECT id FROM o) AND kind = 'message'),
	m AS (UPDATE messages SET payload = payload - 'contact' - 'text' - 'normalized_text' - 'location'
			- 'attachments' - 'metadata' - 'thread_key'
		WHERE id IN (SELECT source_message_id FROM o
			UNION SELECT data->>'message_id' FROM case_events WHERE case_id IN (SELECT id FROM o) AND kind = 'message'))
	SELECT count(*) FROM p`, closedBefore.UTC(), limit, s.clock()).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("purge archived cases: %w", err)
	}
	return n, nil
}

// CaseSetClassification sets the fields the case lifecycle owns
// (department, district, rating) and the deadline statistics measure
// against (not the running timer due_at), directly, with no event. It is
// for data imports and for the conformance suite until the lifecycle verbs
// exist; the lifecycle itself must not use it. A zero due clears the
// deadline.
func (s *Store) CaseSetClassification(ctx context.Context, caseID int64, department, district string, due time.Time, rating int) error {
	var dueAt *time.Time
	if !due.IsZero() {
		d := due.UTC()
		dueAt = &d
	}
	tag, err := s.pool.Exec(ctx, `UPDATE cases SET department = $2, district = $3, stats_due_at = $4, rating = $5 WHERE id = $1`,
		caseID, department, district, dueAt, rating)
	if err != nil {
		return fmt.Errorf("classify case %d: %w", caseID, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("classify case %d: %w", caseID, cases.ErrNotFound)
	}
	return nil
}

var _ cases.StatsStore = (*Store)(nil)
