package casepg

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/gateway"
)

const caseCols = `id, tracking_code, status, service_code, portal, portal_kind, coalesce(source_message_id, ''),
	thread_key, contact_phone, contact_telegram_id, contact_email, contact_name, contact_language,
	description, lat, long, address, language, attachments, rule, department, district,
	escalation_level, due_at, answer, rating, outcome, opened_at, updated_at, closed_at`

func scanCase(row pgx.Row) (cases.Case, error) {
	var c cases.Case
	var lat, long *float64
	var address string
	var dueAt, closedAt *time.Time
	err := row.Scan(&c.ID, &c.TrackingCode, &c.Status, &c.ServiceCode, &c.Portal, &c.PortalKind,
		&c.SourceMessageID, &c.ThreadKey, &c.Contact.Phone, &c.Contact.TelegramID, &c.Contact.Email,
		&c.Contact.Name, &c.Contact.Language, &c.Description, &lat, &long, &address, &c.Language,
		&c.Attachments, &c.Rule, &c.Department, &c.District, &c.EscalationLevel, &dueAt, &c.Answer,
		&c.Rating, &c.Outcome, &c.OpenedAt, &c.UpdatedAt, &closedAt)
	if err != nil {
		return c, err
	}
	if lat != nil || long != nil || address != "" {
		c.Location = &gateway.Location{Address: address}
		if lat != nil && long != nil {
			c.Location.Lat, c.Location.Long = *lat, *long
		}
	}
	if len(c.Attachments) == 0 {
		c.Attachments = nil
	}
	c.OpenedAt, c.UpdatedAt = c.OpenedAt.UTC(), c.UpdatedAt.UTC()
	if dueAt != nil {
		c.DueAt = dueAt.UTC()
	}
	if closedAt != nil {
		c.ClosedAt = closedAt.UTC()
	}
	return c, nil
}

// CaseGetByTracking returns the case with that tracking code.
func (s *Store) CaseGetByTracking(ctx context.Context, code string) (cases.Case, error) {
	c, err := scanCase(s.pool.QueryRow(ctx, `SELECT `+caseCols+` FROM cases WHERE tracking_code = $1`, code))
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
	c, err := scanCase(s.pool.QueryRow(ctx, `SELECT `+caseCols+` FROM cases
		WHERE portal = $1 AND thread_key = $2 AND status <> 'closed'
		ORDER BY opened_at DESC, id DESC LIMIT 1`, portal, threadKey))
	if err != nil {
		return c, fmt.Errorf("find case in thread %s/%s: %w", portal, threadKey, translate(err, cases.ErrNotFound))
	}
	return c, nil
}

// CaseEvents lists the timeline of a case, oldest first. An unknown case
// has an empty timeline.
func (s *Store) CaseEvents(ctx context.Context, caseID int64, publicOnly bool) ([]cases.Event, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, case_id, at, kind, actor, note, public, data FROM case_events
		WHERE case_id = $1 AND (public OR NOT $2) ORDER BY at, id`, caseID, publicOnly)
	if err != nil {
		return nil, fmt.Errorf("case %d events: %w", caseID, err)
	}
	evs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (cases.Event, error) {
		var ev cases.Event
		err := row.Scan(&ev.ID, &ev.CaseID, &ev.At, &ev.Kind, &ev.Actor, &ev.Note, &ev.Public, &ev.Data)
		ev.At = ev.At.UTC()
		return ev, err
	})
	if err != nil {
		return nil, fmt.Errorf("case %d events: %w", caseID, err)
	}
	return evs, nil
}

// CaseSearch lists cases matching f, newest first.
func (s *Store) CaseSearch(ctx context.Context, f cases.Filter) ([]cases.Case, error) {
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if len(f.TrackingCodes) > 0 {
		where = append(where, "tracking_code = ANY("+arg(f.TrackingCodes)+")")
	}
	if f.ServiceCode != "" {
		where = append(where, "service_code = "+arg(f.ServiceCode))
	}
	if len(f.Statuses) > 0 {
		ss := make([]string, len(f.Statuses))
		for i, st := range f.Statuses {
			ss[i] = string(st)
		}
		where = append(where, "status = ANY("+arg(ss)+")")
	}
	if f.Phone != "" {
		where = append(where, "contact_phone = "+arg(f.Phone))
	}
	if f.Department != "" {
		where = append(where, "department = "+arg(f.Department))
	}
	if !f.OpenedFrom.IsZero() {
		where = append(where, "opened_at >= "+arg(f.OpenedFrom.UTC()))
	}
	if !f.OpenedTo.IsZero() {
		where = append(where, "opened_at < "+arg(f.OpenedTo.UTC()))
	}
	q := `SELECT ` + caseCols + ` FROM cases`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY opened_at DESC, id DESC LIMIT " + arg(searchLimit(f.Limit))
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("search cases: %w", err)
	}
	cs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (cases.Case, error) { return scanCase(row) })
	if err != nil {
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
	if ev.At.IsZero() {
		ev.At = s.clock()
	}
	ev.At, ev.CaseID = ev.At.UTC(), caseID
	data, err := eventData(ev.Data)
	if err != nil {
		return ev, fmt.Errorf("add event to case %d: %w", caseID, err)
	}
	err = s.pool.QueryRow(ctx, `INSERT INTO case_events (case_id, at, kind, actor, note, public, data)
		SELECT id, $2, $3, $4, $5, $6, $7 FROM cases WHERE id = $1 RETURNING id`,
		caseID, ev.At, ev.Kind, ev.Actor, ev.Note, ev.Public, data).Scan(&ev.ID)
	if err != nil {
		return ev, fmt.Errorf("add event to case %d: %w", caseID, translate(err, cases.ErrNotFound))
	}
	return ev, nil
}

// eventData encodes an event's data; empty data is NULL.
func eventData(d map[string]string) (*string, error) {
	if len(d) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	s := string(b)
	return &s, nil
}

// CaseClose closes case caseID with outcome and records a public "closed"
// event by actor in the same transaction. Closing a closed case is
// ErrConflict; an unknown case ErrNotFound.
func (s *Store) CaseClose(ctx context.Context, caseID int64, outcome, actor string) error {
	now := s.clock()
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var status cases.Status
		if err := tx.QueryRow(ctx, `SELECT status FROM cases WHERE id = $1 FOR UPDATE`, caseID).Scan(&status); err != nil {
			return translate(err, cases.ErrNotFound)
		}
		if status == cases.StatusClosed {
			return fmt.Errorf("%w: already closed", cases.ErrConflict)
		}
		if _, err := tx.Exec(ctx, `UPDATE cases SET status = 'closed', outcome = $2, closed_at = $3, updated_at = $3
			WHERE id = $1`, caseID, outcome, now); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO case_events (case_id, at, kind, actor, note, public)
			VALUES ($1, $2, 'closed', $3, $4, true)`, caseID, now, actor, outcome)
		return err
	})
	if err != nil {
		return fmt.Errorf("close case %d: %w", caseID, err)
	}
	return nil
}
