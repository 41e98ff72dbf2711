package casepg

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/cases/workcal"
)

// statsAggs are the per-group case figures over rows of cases c; $1 is
// the result promise in seconds. due_result counts deadlines settled by a
// result; cases late without one depend on "now" and are counted live.
const statsAggs = `count(*), count(stats_result_at),
	count(*) FILTER (WHERE stats_result_at <= opened_at + make_interval(secs => $1)),
	coalesce(sum(extract(epoch FROM stats_result_at - opened_at)), 0)::float8,
	count(*) FILTER (WHERE rating > 0), coalesce(sum(rating) FILTER (WHERE rating > 0), 0),
	count(*) FILTER (WHERE stats_due_at IS NOT NULL AND stats_result_at IS NOT NULL),
	count(*) FILTER (WHERE stats_result_at <= stats_due_at)`

// statsDims names each grouping set's dimension and key.
const statsDims = `CASE WHEN grouping(portal) = 0 THEN 'portal' WHEN grouping(service_code) = 0 THEN 'service'
		WHEN grouping(district) = 0 THEN 'district' WHEN grouping(department) = 0 THEN 'department'
		WHEN grouping(lvl) = 0 THEN 'level' ELSE '' END,
	coalesce(portal, service_code, district, department, lvl::text, '')`

const statsSets = `(portal), (service_code), (district), (department), (lvl)`

const statsCaseCols = `portal, service_code, district, department, greatest(escalation_level, stats_max_level) AS lvl,
	opened_at, stats_result_at, rating, stats_due_at`

// qStatsRefresh recomputes the dirty days ($2) from the cases opened on
// them, one pass with GROUPING SETS, on the opened_at index.
var qStatsRefresh = `INSERT INTO stats_days (day, dim, key, cases, with_result, within, result_secs, rated, rating_sum,
		due_result, on_time)
	SELECT day, ` + statsDims + `, ` + statsAggs + `
	FROM (SELECT d.day, ` + statsCaseCols + ` FROM unnest($2::date[]) AS d (day)
		JOIN cases ON opened_at >= d.day::timestamp AT TIME ZONE 'Asia/Tehran'
			AND opened_at < (d.day + 1)::timestamp AT TIME ZONE 'Asia/Tehran') c
	GROUP BY GROUPING SETS ((day), (day, portal), (day, service_code), (day, district), (day, department), (day, lvl))`

const qStatsRefreshMsg = `INSERT INTO stats_days_msg (day, portal, decided, resolved)
	SELECT d.day, portal, count(*), count(*) FILTER (WHERE outcome = 'resolved')
	FROM unnest($1::date[]) AS d (day)
	JOIN messages ON decided_at IS NOT NULL AND accepted_at >= d.day::timestamp AT TIME ZONE 'Asia/Tehran'
		AND accepted_at < (d.day + 1)::timestamp AT TIME ZONE 'Asia/Tehran'
	GROUP BY d.day, portal`

// qStatsCases sums the whole days [$2, $3) from the rollup, adds the
// partial days at the edges ([$4, $5) and [$6, $7)) live, and adds the
// cases still without a result whose deadline passed before $8 live. $1
// is the result promise in seconds.
var qStatsCases = `SELECT dim, key, sum(n)::bigint, sum(wr)::bigint, sum(w)::bigint, sum(secs)::float8, sum(rated)::bigint,
		sum(rs)::bigint, sum(due)::bigint, sum(ontime)::bigint
	FROM (
		SELECT dim, key, cases AS n, with_result AS wr, within AS w, result_secs AS secs, rated, rating_sum AS rs,
			due_result AS due, on_time AS ontime
		FROM stats_days WHERE day >= $2::date AND day < $3::date
		UNION ALL
		SELECT ` + statsDims + `, ` + statsAggs + `
		FROM (SELECT ` + statsCaseCols + ` FROM cases
			WHERE (opened_at >= $4 AND opened_at < $5) OR (opened_at >= $6 AND opened_at < $7)) c
		GROUP BY GROUPING SETS ((), ` + statsSets + `)
		UNION ALL
		SELECT CASE WHEN grouping(department) = 0 THEN 'department' ELSE '' END, coalesce(department, ''),
			0, 0, 0, 0, 0, 0, count(*), 0
		FROM cases WHERE stats_result_at IS NULL AND stats_due_at < $8 AND opened_at >= $4 AND opened_at < $7
		GROUP BY GROUPING SETS ((), (department))
	) g
	GROUP BY dim, key`

// qStatsMessages sums decided messages per portal like qStatsCases.
const qStatsMessages = `SELECT portal, sum(decided)::bigint, sum(resolved)::bigint FROM (
		SELECT portal, decided, resolved FROM stats_days_msg WHERE day >= $1::date AND day < $2::date
		UNION ALL
		SELECT portal, count(*), count(*) FILTER (WHERE outcome = 'resolved') FROM messages
		WHERE decided_at IS NOT NULL AND ((accepted_at >= $3 AND accepted_at < $4) OR (accepted_at >= $5 AND accepted_at < $6))
		GROUP BY portal
	) m GROUP BY portal`

// statsLockKey serializes refreshes per schema: two would both rewrite
// the same days.
const statsLockKey = `('x' || substr(md5('dargah/casepg/stats:' || current_schema()), 1, 16))::bit(64)::bigint`

// StatsRefresh brings the daily rollups up to date: it takes the days the
// triggers marked and recomputes them, in one transaction. Stats calls it
// first; calling it periodically (the app does) keeps Stats quick.
func (s *Store) StatsRefresh(ctx context.Context) (days int, err error) {
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(`+statsLockKey+`)`); err != nil {
			return err
		}
		var dirty []string
		if err := tx.QueryRow(ctx, `WITH d AS (DELETE FROM stats_dirty RETURNING day)
			SELECT coalesce(array_agg(DISTINCT day::text), '{}') FROM d`).Scan(&dirty); err != nil {
			return err
		}
		days = len(dirty)
		if days == 0 {
			return nil
		}
		if _, err := tx.Exec(ctx, `DELETE FROM stats_days WHERE day = ANY($1::date[])`, dirty); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM stats_days_msg WHERE day = ANY($1::date[])`, dirty); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, qStatsRefresh, cases.ResultWithin.Seconds(), dirty); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, qStatsRefreshMsg, dirty)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("refresh stats: %w", err)
	}
	return days, nil
}

// statsSpan splits [from, to) into whole days of the center's calendar
// [d1, d2) and the partial edges [from, b1) and [b2, to).
func statsSpan(from, to time.Time) (d1, d2 string, b1, b2 time.Time) {
	loc := workcal.Tehran()
	midnight := func(t time.Time) time.Time {
		t = t.In(loc)
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
	}
	b1 = midnight(from)
	if b1.Before(from) {
		b1 = midnight(b1.Add(36 * time.Hour)) // next midnight, whatever the day's length
	}
	b2 = midnight(to)
	if !b1.Before(b2) { // no whole day: everything is an edge
		return "2000-01-01", "2000-01-01", to, to
	}
	return b1.Format(time.DateOnly), b2.Format(time.DateOnly), b1, b2
}

// Stats computes the figures over [from, to): whole days from the daily
// rollups (refreshed first), partial days and late open cases live.
func (s *Store) Stats(ctx context.Context, from, to time.Time) (cases.Stats, error) {
	st := cases.Stats{From: from, To: to}
	if !from.Before(to) {
		return st, fmt.Errorf("stats: range %s – %s is empty", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	if _, err := s.StatsRefresh(ctx); err != nil {
		return st, err
	}
	d1, d2, b1, b2 := statsSpan(from, to)
	from, to = from.UTC(), to.UTC()
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, qStatsCases, cases.ResultWithin.Seconds(), d1, d2, from, b1.UTC(), b2.UTC(), to, s.clock())
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
		rows, err = tx.Query(ctx, qStatsMessages, d1, d2, from, b1.UTC(), b2.UTC(), to)
		if err != nil {
			return err
		}
		var decided, resolved int64
		for rows.Next() {
			var portal string
			var d, r int64
			if err := rows.Scan(&portal, &d, &r); err != nil {
				rows.Close()
				return err
			}
			acc.AddMessages(true, portal, d, r)
			decided, resolved = decided+d, resolved+r
		}
		if err := rows.Err(); err != nil {
			return err
		}
		acc.AddMessages(false, "", decided, resolved)
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
// archived with that closing) into case_archive, in one statement. It
// looks only from an hour before the newest archived closing on: the
// archive fills in closing order, the hour covers transactions that
// commit late, and a sweep then costs what is new, not what is archived.
func (s *Store) ArchiveClosed(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	tag, err := s.pool.Exec(ctx, `WITH c AS (
		SELECT id FROM cases WHERE status = 'closed' AND closed_at < $1
			AND closed_at >= coalesce((SELECT max(closed_at) FROM case_archive), '-infinity') - interval '1 hour'
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

var _ cases.StatsStore = (*Store)(nil)
