package casesqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/dargah137/dargah/cases"
)

// qStatsCases reads the cases opened in [?1, ?2) once, grouped by every
// breakdown key together (g), and sums those groups per breakdown; SQLite
// has no GROUPING SETS. ?3 is now (a deadline passed without a result is
// late), ?4 the result promise, both in nanoseconds.
const qStatsCases = `WITH g AS MATERIALIZED (
	SELECT portal, service_code, district, department, max(escalation_level, stats_max_level) AS lvl,
		count(*) AS n, count(stats_result_at) AS wr,
		count(CASE WHEN stats_result_at <= opened_at + ?4 THEN 1 END) AS w,
		coalesce(sum((stats_result_at - opened_at) / 1e9), 0.0) AS secs,
		count(CASE WHEN rating > 0 THEN 1 END) AS rated,
		coalesce(sum(CASE WHEN rating > 0 THEN rating END), 0) AS rs,
		count(CASE WHEN stats_due_at IS NOT NULL AND (stats_result_at IS NOT NULL OR stats_due_at < ?3) THEN 1 END) AS due,
		count(CASE WHEN stats_result_at <= stats_due_at THEN 1 END) AS ontime
	FROM cases WHERE opened_at >= ?1 AND opened_at < ?2
	GROUP BY portal, service_code, district, department, lvl)
SELECT '', '', ` + statsSums + ` FROM g HAVING count(*) > 0
UNION ALL SELECT 'portal', portal, ` + statsSums + ` FROM g GROUP BY portal
UNION ALL SELECT 'service', service_code, ` + statsSums + ` FROM g GROUP BY service_code
UNION ALL SELECT 'district', district, ` + statsSums + ` FROM g GROUP BY district
UNION ALL SELECT 'department', department, ` + statsSums + ` FROM g GROUP BY department
UNION ALL SELECT 'level', CAST(lvl AS TEXT), ` + statsSums + ` FROM g GROUP BY lvl`

const statsSums = `sum(n), sum(wr), sum(w), sum(secs), sum(rated), sum(rs), sum(due), sum(ontime)`

// qStatsMessages counts decided messages accepted in [?1, ?2) per portal
// in one scan; the total is their sum.
const qStatsMessages = `SELECT portal, count(*), count(CASE WHEN outcome = 'resolved' THEN 1 END)
	FROM messages WHERE decided_at IS NOT NULL AND accepted_at >= ?1 AND accepted_at < ?2 GROUP BY portal`

// Stats computes the figures over [from, to) in two grouped queries, inside
// one read transaction so cases and messages are one snapshot.
func (s *Store) Stats(ctx context.Context, from, to time.Time) (cases.Stats, error) {
	st := cases.Stats{From: from, To: to}
	if !from.Before(to) {
		return st, fmt.Errorf("stats: range %s – %s is empty", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	err := func() error {
		tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
		if err != nil {
			return err
		}
		defer tx.Rollback()
		rows, err := tx.QueryContext(ctx, qStatsCases, from.UnixNano(), to.UnixNano(), s.clock(), int64(cases.ResultWithin))
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
		rows, err = tx.QueryContext(ctx, qStatsMessages, from.UnixNano(), to.UnixNano())
		if err != nil {
			return err
		}
		defer rows.Close()
		var decided, resolved int64
		for rows.Next() {
			var portal string
			var d, r int64
			if err := rows.Scan(&portal, &d, &r); err != nil {
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
	}()
	if err != nil {
		return st, fmt.Errorf("stats %s – %s: %w", from.Format(time.RFC3339), to.Format(time.RFC3339), err)
	}
	return st, nil
}

const qClassifications = `SELECT tracking_code, status, service_code, portal, portal_kind, department, district,
	outcome, rating, max(escalation_level, stats_max_level), opened_at, stats_due_at, stats_result_at, closed_at
	FROM cases WHERE opened_at >= ? AND opened_at < ? ORDER BY opened_at, id`

// CaseClassifications streams the classification of every case opened in
// [from, to), oldest first.
func (s *Store) CaseClassifications(ctx context.Context, from, to time.Time, fn func(cases.Classification) error) error {
	rows, err := s.readRows(ctx, qClassifications, from.UnixNano(), to.UnixNano())
	if err != nil {
		return fmt.Errorf("classify cases: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c cases.Classification
		var opened int64
		var due, result, closed sql.NullInt64
		if err := rows.Scan(&c.TrackingCode, &c.Status, &c.ServiceCode, &c.Portal, &c.PortalKind, &c.Department,
			&c.District, &c.Outcome, &c.Rating, &c.MaxLevel, &opened, &due, &result, &closed); err != nil {
			return fmt.Errorf("classify cases: %w", err)
		}
		c.OpenedAt = fromNanos(opened)
		c.DueAt, c.ResultAt, c.ClosedAt = nullTime(due), nullTime(result), nullTime(closed)
		if err := fn(c); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("classify cases: %w", err)
	}
	return nil
}

// qArchive copies closed cases not archived with their current closing,
// looking only from an hour before the newest archived closing on (see
// casepg's ArchiveClosed).
const qArchive = `INSERT INTO case_archive (case_id, tracking_code, service_code, portal, portal_kind, department,
		district, outcome, rating, max_level, opened_at, due_at, result_at, closed_at, archived_at)
	SELECT id, tracking_code, service_code, portal, portal_kind, department, district, outcome, rating,
		max(escalation_level, stats_max_level), opened_at, stats_due_at, stats_result_at, closed_at, ?3
	FROM cases WHERE status = 'closed' AND closed_at < ?1
		AND closed_at >= coalesce((SELECT max(closed_at) FROM case_archive), 0) - 3600000000000
		AND NOT EXISTS (SELECT 1 FROM case_archive a WHERE a.case_id = cases.id AND a.closed_at = cases.closed_at)
	ORDER BY closed_at LIMIT ?2
	ON CONFLICT (case_id) DO UPDATE SET tracking_code = excluded.tracking_code,
		service_code = excluded.service_code, portal = excluded.portal, portal_kind = excluded.portal_kind,
		department = excluded.department, district = excluded.district, outcome = excluded.outcome,
		rating = excluded.rating, max_level = excluded.max_level, opened_at = excluded.opened_at,
		due_at = excluded.due_at, result_at = excluded.result_at, closed_at = excluded.closed_at,
		archived_at = excluded.archived_at, purged_at = NULL`

// ArchiveClosed copies up to limit cases closed before before (and not
// archived with that closing) into case_archive.
func (s *Store) ArchiveClosed(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	var n int64
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := s.exec(ctx, tx, qArchive, before.UnixNano(), limit, s.clock())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("archive closed cases: %w", err)
	}
	return int(n), nil
}

// purgeSet is the archived cases one purge handles; the writer is the
// only writer, so it is the same set in every statement of the purge.
const purgeSet = `(SELECT case_id FROM case_archive WHERE purged_at IS NULL AND closed_at < ?1
	ORDER BY closed_at, case_id LIMIT ?2)`

// purgeQueries erase, in order, the ledger payloads of the messages that
// opened or joined the cases, the attachments, the citizen's message
// notes, the case's own personal fields, and mark the archive rows. The
// last one's count is the number purged.
var purgeQueries = []string{
	`UPDATE messages SET payload = json_remove(payload, '$.contact', '$.text', '$.normalized_text', '$.location',
		'$.attachments', '$.metadata', '$.thread_key')
	WHERE id IN (SELECT source_message_id FROM cases WHERE id IN ` + purgeSet + `
		UNION SELECT json_extract(data, '$.message_id') FROM case_events
			WHERE kind = 'message' AND json_valid(data) AND case_id IN ` + purgeSet + `)`,
	`DELETE FROM attachments WHERE id IN (SELECT j.value FROM cases, json_each(cases.attachments) AS j
		WHERE cases.id IN ` + purgeSet + `)`,
	`UPDATE case_events SET note = '' WHERE kind = 'message' AND case_id IN ` + purgeSet,
	`UPDATE cases SET contact_phone = '', contact_telegram_id = '', contact_email = '', contact_name = '',
		description = '', lat = NULL, long = NULL, address = '', thread_key = '', attachments = '[]'
	WHERE id IN ` + purgeSet,
	`UPDATE case_archive SET purged_at = ?3 WHERE case_id IN ` + purgeSet,
}

// ArchivePurge erases the personal data of up to limit archived cases
// closed before closedBefore, in one write transaction; see purgeQueries.
func (s *Store) ArchivePurge(ctx context.Context, closedBefore time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	var n int64
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		now := s.clock()
		for _, q := range purgeQueries {
			res, err := s.exec(ctx, tx, q, closedBefore.UnixNano(), limit, now)
			if err != nil {
				return err
			}
			if n, err = res.RowsAffected(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("purge archived cases: %w", err)
	}
	return int(n), nil
}

var _ cases.StatsStore = (*Store)(nil)
