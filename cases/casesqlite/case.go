package casesqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/gateway"
)

const caseCols = `id, tracking_code, status, service_code, portal, portal_kind, coalesce(source_message_id, ''),
	thread_key, contact_phone, contact_telegram_id, contact_email, contact_name, contact_language,
	description, lat, long, address, language, attachments, rule, department, district,
	escalation_level, due_at, answer, rating, outcome, opened_at, updated_at, closed_at`

func scanCase(row scanner) (cases.Case, error) {
	var c cases.Case
	var lat, long sql.NullFloat64
	var address, atts string
	var openedAt, updatedAt int64
	var dueAt, closedAt sql.NullInt64
	err := row.Scan(&c.ID, &c.TrackingCode, &c.Status, &c.ServiceCode, &c.Portal, &c.PortalKind,
		&c.SourceMessageID, &c.ThreadKey, &c.Contact.Phone, &c.Contact.TelegramID, &c.Contact.Email,
		&c.Contact.Name, &c.Contact.Language, &c.Description, &lat, &long, &address, &c.Language,
		&atts, &c.Rule, &c.Department, &c.District, &c.EscalationLevel, &dueAt, &c.Answer,
		&c.Rating, &c.Outcome, &openedAt, &updatedAt, &closedAt)
	if err != nil {
		return c, err
	}
	if lat.Valid || long.Valid || address != "" {
		c.Location = &gateway.Location{Lat: lat.Float64, Long: long.Float64, Address: address}
	}
	if err := json.Unmarshal([]byte(atts), &c.Attachments); err != nil {
		return c, fmt.Errorf("case %d attachments: %w", c.ID, err)
	}
	if len(c.Attachments) == 0 {
		c.Attachments = nil
	}
	c.OpenedAt, c.UpdatedAt = fromNanos(openedAt), fromNanos(updatedAt)
	c.DueAt, c.ClosedAt = nullTime(dueAt), nullTime(closedAt)
	return c, nil
}

// CaseGetByTracking returns the case with that tracking code.
func (s *Store) CaseGetByTracking(ctx context.Context, code string) (cases.Case, error) {
	c, err := scanCase(s.readRow(ctx, `SELECT `+caseCols+` FROM cases WHERE tracking_code = ?`, code))
	if err != nil {
		return c, fmt.Errorf("get case %q: %w", code, translate(err, cases.ErrNotFound))
	}
	return c, nil
}

// CaseFindOpenByThread returns the newest open case of a portal thread.
// An empty thread key belongs to no thread and finds nothing.
func (s *Store) CaseFindOpenByThread(ctx context.Context, portal, threadKey string) (cases.Case, error) {
	if threadKey == "" {
		return cases.Case{}, fmt.Errorf("find case in thread %s/%q: %w", portal, threadKey, cases.ErrNotFound)
	}
	c, err := scanCase(s.readRow(ctx, `SELECT `+caseCols+` FROM cases
		WHERE portal = ? AND thread_key = ? AND status <> 'closed'
		ORDER BY opened_at DESC, id DESC LIMIT 1`, portal, threadKey))
	if err != nil {
		return c, fmt.Errorf("find case in thread %s/%s: %w", portal, threadKey, translate(err, cases.ErrNotFound))
	}
	return c, nil
}

// CaseEvents lists the timeline of a case, oldest first. An unknown case
// has an empty timeline.
func (s *Store) CaseEvents(ctx context.Context, caseID int64, publicOnly bool) ([]cases.Event, error) {
	rows, err := s.readRows(ctx, `SELECT id, case_id, at, kind, actor, note, public, data FROM case_events
		WHERE case_id = ? AND (public OR NOT ?) ORDER BY at, id`, caseID, publicOnly)
	if err != nil {
		return nil, fmt.Errorf("case %d events: %w", caseID, err)
	}
	defer rows.Close()
	var evs []cases.Event
	for rows.Next() {
		var ev cases.Event
		var at int64
		var data sql.NullString
		if err := rows.Scan(&ev.ID, &ev.CaseID, &at, &ev.Kind, &ev.Actor, &ev.Note, &ev.Public, &data); err != nil {
			return nil, fmt.Errorf("case %d events: %w", caseID, err)
		}
		ev.At = fromNanos(at)
		if data.Valid {
			if err := json.Unmarshal([]byte(data.String), &ev.Data); err != nil {
				return nil, fmt.Errorf("case %d event %d data: %w", caseID, ev.ID, err)
			}
		}
		evs = append(evs, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("case %d events: %w", caseID, err)
	}
	return evs, nil
}

// CaseSearch lists cases matching f, newest first.
func (s *Store) CaseSearch(ctx context.Context, f cases.Filter) ([]cases.Case, error) {
	var where []string
	var args []any
	in := func(col string, vals []string) {
		where = append(where, col+" IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(vals)), ", ")+")")
		for _, v := range vals {
			args = append(args, v)
		}
	}
	if len(f.TrackingCodes) > 0 {
		in("tracking_code", f.TrackingCodes)
	}
	if f.ServiceCode != "" {
		where, args = append(where, "service_code = ?"), append(args, f.ServiceCode)
	}
	if len(f.Statuses) > 0 {
		ss := make([]string, len(f.Statuses))
		for i, st := range f.Statuses {
			ss[i] = string(st)
		}
		in("status", ss)
	}
	if f.Phone != "" {
		where, args = append(where, "contact_phone = ?"), append(args, f.Phone)
	}
	if f.Department != "" {
		where, args = append(where, "department = ?"), append(args, f.Department)
	}
	if !f.OpenedFrom.IsZero() {
		where, args = append(where, "opened_at >= ?"), append(args, f.OpenedFrom.UnixNano())
	}
	if !f.OpenedTo.IsZero() {
		where, args = append(where, "opened_at < ?"), append(args, f.OpenedTo.UnixNano())
	}
	q := `SELECT ` + caseCols + ` FROM cases`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY opened_at DESC, id DESC LIMIT ?"
	args = append(args, searchLimit(f.Limit))
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("search cases: %w", err)
	}
	defer rows.Close()
	var cs []cases.Case
	for rows.Next() {
		c, err := scanCase(rows)
		if err != nil {
			return nil, fmt.Errorf("search cases: %w", err)
		}
		cs = append(cs, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("search cases: %w", err)
	}
	return cs, nil
}

// searchLimit applies Filter.Limit's default (100) and cap (1000).
func searchLimit(n int) int {
	switch {
	case n <= 0:
		return 100
	case n > 1000:
		return 1000
	}
	return n
}

// CaseAddEvent appends ev to the timeline of case caseID; a zero At is
// the store's clock. It returns ev with ID, CaseID and At set.
func (s *Store) CaseAddEvent(ctx context.Context, caseID int64, ev cases.Event) (cases.Event, error) {
	at := s.clock()
	if !ev.At.IsZero() {
		at = ev.At.UnixNano()
	}
	ev.At, ev.CaseID = fromNanos(at), caseID
	data, err := eventData(ev.Data)
	if err != nil {
		return ev, fmt.Errorf("add event to case %d: %w", caseID, err)
	}
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		return translate(s.writeRow(ctx, tx, qEventAdd, at, ev.Kind, ev.Actor, ev.Note, ev.Public, data, caseID).Scan(&ev.ID), cases.ErrNotFound)
	})
	if err != nil {
		return ev, fmt.Errorf("add event to case %d: %w", caseID, err)
	}
	return ev, nil
}

// eventData encodes an event's data; empty data is NULL.
func eventData(d map[string]string) (sql.NullString, error) {
	if len(d) == 0 {
		return sql.NullString{}, nil
	}
	b, err := json.Marshal(d)
	return sql.NullString{String: string(b), Valid: true}, err
}

// CaseClose closes case caseID with outcome and records a public "closed"
// event by actor in the same transaction. Closing a closed case is
// ErrConflict; an unknown case ErrNotFound.
func (s *Store) CaseClose(ctx context.Context, caseID int64, outcome, actor string) error {
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		now := s.clock()
		var status cases.Status
		if err := s.writeRow(ctx, tx, qCaseStatus, caseID).Scan(&status); err != nil {
			return translate(err, cases.ErrNotFound)
		}
		if status == cases.StatusClosed {
			return fmt.Errorf("%w: already closed", cases.ErrConflict)
		}
		if _, err := s.exec(ctx, tx, qCaseClose, outcome, now, now, caseID); err != nil {
			return err
		}
		_, err := s.exec(ctx, tx, qCaseClosedEvent, caseID, now, actor, outcome)
		return err
	})
	if err != nil {
		return fmt.Errorf("close case %d: %w", caseID, err)
	}
	return nil
}

// Fixed case writes (prepared once, see writeQueries).
const (
	qEventAdd = `INSERT INTO case_events (case_id, at, kind, actor, note, public, data)
		SELECT id, ?, ?, ?, ?, ?, ? FROM cases WHERE id = ? RETURNING id`
	qCaseStatus      = `SELECT status FROM cases WHERE id = ?`
	qCaseClose       = `UPDATE cases SET status = 'closed', outcome = ?, closed_at = ?, updated_at = ? WHERE id = ?`
	qCaseClosedEvent = `INSERT INTO case_events (case_id, at, kind, actor, note, public) VALUES (?, ?, 'closed', ?, ?, 1)`
)
