package casesqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/gateway"
)

// TrackingPlaceholder in a decision's reply is replaced by the case's
// tracking code before the decision is stored.
const TrackingPlaceholder = "{tracking_code}"

// maxCodeTries bounds tracking code collisions in one decision; at
// 9·10^8 codes even a full table rarely needs a second.
const maxCodeTries = 8

const receiptCols = `id, portal, portal_message_id, status, outcome, rule, reply, service_code,
	tracking_code, linked_tracking, accepted_at, decided_at`

func scanReceipt(row scanner) (gateway.Receipt, error) {
	var r gateway.Receipt
	var acceptedAt int64
	var decidedAt sql.NullInt64
	err := row.Scan(&r.MessageID, &r.Portal, &r.PortalMessageID, &r.Status, &r.Decision.Outcome,
		&r.Decision.Rule, &r.Decision.Reply, &r.Decision.ServiceCode, &r.Decision.TrackingCode,
		&r.Decision.LinkedTracking, &acceptedAt, &decidedAt)
	r.AcceptedAt, r.DecidedAt = fromNanos(acceptedAt), nullTime(decidedAt)
	return r, err
}

// MessageAccept stores m unless (Portal, PortalMessageID) is known; then
// it returns the first receipt with created false. An id already used by
// another portal message is ErrConflict: the first message is kept.
func (s *Store) MessageAccept(ctx context.Context, m gateway.Message) (gateway.Receipt, bool, error) {
	if m.ID == "" || m.Portal == "" || m.PortalMessageID == "" {
		return gateway.Receipt{}, false, fmt.Errorf("accept message: %w: id, portal and portal_message_id are required", gateway.ErrInvalid)
	}
	if why := gateway.BadText(m); why != "" {
		return gateway.Receipt{}, false, fmt.Errorf("accept message %s: %w: %s", m.ID, gateway.ErrInvalid, why)
	}
	payload, err := json.Marshal(m)
	if err != nil {
		return gateway.Receipt{}, false, fmt.Errorf("accept message %s: encode: %w", m.ID, err)
	}
	now := s.clock()
	var r gateway.Receipt
	var created bool
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := s.exec(ctx, tx, qAccept, m.ID, m.Portal, m.PortalMessageID, string(payload), now)
		if err != nil {
			return translate(err, err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			created = true
			r = gateway.Receipt{MessageID: m.ID, Portal: m.Portal, PortalMessageID: m.PortalMessageID,
				Status: gateway.StatusAccepted, AcceptedAt: fromNanos(now)}
			return nil
		}
		// Read in tx: the first copy may be in this very batch.
		r, err = scanReceipt(s.writeRow(ctx, tx, qReceiptByPortal, m.Portal, m.PortalMessageID))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: id taken by another message", cases.ErrConflict)
		}
		return err
	})
	if err != nil {
		return gateway.Receipt{}, false, fmt.Errorf("accept message %s: %w", m.ID, err)
	}
	return r, created, nil
}

// MessageGet returns the receipt of message id.
func (s *Store) MessageGet(ctx context.Context, id string) (gateway.Receipt, error) {
	r, err := scanReceipt(s.readRow(ctx, `SELECT `+receiptCols+` FROM messages WHERE id = ?`, id))
	if err != nil {
		return r, fmt.Errorf("get message %s: %w", id, translate(err, gateway.ErrUnknownMessage))
	}
	return r, nil
}

// MessageGetByPortalID finds a receipt by the portal's own id.
func (s *Store) MessageGetByPortalID(ctx context.Context, portal, portalMessageID string) (gateway.Receipt, error) {
	r, err := scanReceipt(s.readRow(ctx, qReceiptByPortal, portal, portalMessageID))
	if err != nil {
		return r, fmt.Errorf("get message %s/%s: %w", portal, portalMessageID, translate(err, gateway.ErrUnknownMessage))
	}
	return r, nil
}

func checkDecision(d gateway.Decision) error {
	if d.Outcome != gateway.OutcomeResolved && d.Outcome != gateway.OutcomeCaseOpened {
		return fmt.Errorf("%w: outcome %q is not %s or %s", gateway.ErrInvalid, d.Outcome, gateway.OutcomeResolved, gateway.OutcomeCaseOpened)
	}
	return nil
}

// fillCode records the tracking code the decision ends up with and puts
// it into the reply.
func fillCode(d *gateway.Decision, code string) {
	if code != "" {
		d.TrackingCode = code
	}
	if d.TrackingCode != "" {
		d.Reply = strings.ReplaceAll(d.Reply, TrackingPlaceholder, d.TrackingCode)
	}
}

// Fixed write statements (prepared once, see writeQueries).
const (
	// DO NOTHING without a target covers both the portal key and the id.
	qAccept = `INSERT INTO messages (id, portal, portal_message_id, payload, status, accepted_at)
		VALUES (?, ?, ?, ?, 'accepted', ?) ON CONFLICT DO NOTHING`
	qReceiptByPortal = `SELECT ` + receiptCols + ` FROM messages WHERE portal = ? AND portal_message_id = ?`
	qDecideResolved  = `UPDATE messages SET status = 'decided', outcome = ?, rule = ?, reply = ?,
		service_code = ?, tracking_code = ?, linked_tracking = ?, decided_at = ?
		WHERE id = ? AND decided_at IS NULL RETURNING ` + receiptCols
	qMarkDead = `UPDATE messages SET dead_reason = ?,
		status = CASE WHEN decided_at IS NULL THEN 'dead' ELSE status END WHERE id = ?`
	qDecideRead    = `SELECT payload, decided_at IS NOT NULL FROM messages WHERE id = ?`
	qDecideReceipt = `SELECT ` + receiptCols + ` FROM messages WHERE id = ?`
	qDecideSet     = `UPDATE messages SET status = 'decided', outcome = ?, rule = ?, reply = ?,
		service_code = ?, tracking_code = ?, linked_tracking = ?, decided_at = ?
		WHERE id = ? RETURNING ` + receiptCols
	qCaseInsert = `INSERT INTO cases (tracking_code, status, service_code, portal, portal_kind,
			source_message_id, thread_key, contact_phone, contact_telegram_id, contact_email, contact_name,
			contact_language, description, lat, long, address, language, attachments, rule, opened_at, updated_at,
			department, district, escalation_level, due_at, answer, rating, outcome, closed_at,
			timer_kind, level_started_at, paused_kind, paused_left_ms, duplicate_of)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
			?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (tracking_code) DO NOTHING RETURNING id`
	qCaseTouch        = `UPDATE cases SET updated_at = ? WHERE tracking_code = ? RETURNING id`
	qCaseMessageEvent = `INSERT INTO case_events (case_id, at, kind, note, public, data) VALUES (?, ?, 'message', ?, 1, ?)`
)

// MessageDecide records d for message id. OutcomeCaseOpened opens the
// case in the same transaction; a LinkedTracking decision instead adds
// the message to that case's timeline (unknown code: ErrNotFound).
// Decisions are writes on the single writer, so concurrent decides of one
// message run one after the other and all but the first find the first
// decision.
func (s *Store) MessageDecide(ctx context.Context, id string, d gateway.Decision) (gateway.Receipt, error) {
	if err := checkDecision(d); err != nil {
		return gateway.Receipt{}, fmt.Errorf("decide message %s: %w", id, err)
	}
	var r gateway.Receipt
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) (err error) {
		r, err = s.decide(ctx, tx, id, d)
		return err
	})
	if err != nil {
		return gateway.Receipt{}, fmt.Errorf("decide message %s: %w", id, err)
	}
	s.hooks.Load().Decided(d)
	return r, nil
}

// decide is MessageDecide inside the writer's transaction tx.
func (s *Store) decide(ctx context.Context, tx *sql.Tx, id string, d gateway.Decision) (gateway.Receipt, error) {
	now := s.clock()
	if d.Outcome == gateway.OutcomeResolved && d.LinkedTracking == "" {
		// No case: one conditional UPDATE; a decided message is left alone.
		fillCode(&d, "")
		r, err := scanReceipt(s.writeRow(ctx, tx, qDecideResolved,
			d.Outcome, d.Rule, d.Reply, d.ServiceCode, d.TrackingCode, d.LinkedTracking, now, id))
		if errors.Is(err, sql.ErrNoRows) { // decided before, or unknown
			r, err = scanReceipt(s.writeRow(ctx, tx, qDecideReceipt, id))
			return r, translate(err, gateway.ErrUnknownMessage)
		}
		return r, err
	}
	var payload string
	var decided bool
	if err := s.writeRow(ctx, tx, qDecideRead, id).Scan(&payload, &decided); err != nil {
		return gateway.Receipt{}, translate(err, gateway.ErrUnknownMessage)
	}
	if decided {
		return scanReceipt(s.writeRow(ctx, tx, qDecideReceipt, id))
	}
	var m gateway.Message
	if err := json.Unmarshal([]byte(payload), &m); err != nil {
		return gateway.Receipt{}, fmt.Errorf("decode stored message: %w", err)
	}
	code := d.LinkedTracking
	var err error
	h := s.hooksFor() // the process's part, in this transaction (process.go)
	if code != "" {
		err = s.linkMessage(ctx, tx, m, code, now)
		if err == nil && h != nil && h.Linked != nil {
			err = s.afterLink(ctx, tx, h, m, code, d)
		}
	} else {
		code, err = s.openCase(ctx, tx, m, d, now, h)
	}
	if err != nil {
		return gateway.Receipt{}, err
	}
	fillCode(&d, code)
	return scanReceipt(s.writeRow(ctx, tx, qDecideSet,
		d.Outcome, d.Rule, d.Reply, d.ServiceCode, d.TrackingCode, d.LinkedTracking, now, id))
}

// openCase inserts the case for m and its "opened" event, retrying on a
// tracking code collision, and returns the code.
func (s *Store) openCase(ctx context.Context, tx *sql.Tx, m gateway.Message, d gateway.Decision, now int64, h *cases.Hooks) (string, error) {
	for range maxCodeTries {
		code, err := s.newCode()
		if err != nil {
			return "", err
		}
		r, eff, err := s.opening(ctx, tx, m, d, code, now, h)
		if err != nil {
			return "", err
		}
		caseID, err := s.insertCase(ctx, tx, r)
		if errors.Is(err, sql.ErrNoRows) {
			s.log.Warn("tracking code collision, retrying", "message", m.ID)
			continue
		}
		if err != nil {
			return "", fmt.Errorf("open case: %w", translate(err, err))
		}
		if err := s.writeEffects(ctx, tx, caseID, eff, now); err != nil {
			return "", fmt.Errorf("open case: %w", err)
		}
		return code, nil
	}
	return "", fmt.Errorf("open case: %w: no free tracking code in %d tries", cases.ErrConflict, maxCodeTries)
}

// opening is the case m opens with tracking code code, with the process's
// Opened hook already applied (cases.OpenedEffects): the case is inserted
// once, assigned and with its deadline, rather than inserted and then
// updated, which would write every index of cases twice. Its "opened"
// event, the hook's events and outbox rows come back for the caller to
// write once the case has its id.
func (s *Store) opening(ctx context.Context, tx *sql.Tx, m gateway.Message, d gateway.Decision, code string, now int64, h *cases.Hooks) (rec, cases.Effects, error) {
	at := fromNanos(now)
	r := rec{c: cases.FromMessage(m, d, code, at)}
	if h.FindsDuplicates(r.c) {
		master, err := s.findMaster(ctx, tx, r.c, h.DuplicateRadiusM)
		if err != nil {
			return r, cases.Effects{}, err
		}
		r.st.DuplicateOf = master
	}
	// A new case has no duplicates yet, so the hook's Duplicates have
	// nothing to act on.
	eff, err := cases.OpenedEffects(h, &r.c, &r.st, m, d, at)
	return r, cases.Effects{Events: eff.Events, Outbox: eff.Outbox}, err
}

// insertCase inserts r's case in its current state and returns its id;
// sql.ErrNoRows when its tracking code is taken.
func (s *Store) insertCase(ctx context.Context, tx *sql.Tx, r rec) (int64, error) {
	c, st := r.c, r.st
	var lat, long *float64
	var address string
	if l := c.Location; l != nil {
		lat, long, address = &l.Lat, &l.Long, l.Address
	}
	atts, err := json.Marshal(append([]string{}, c.Attachments...)) // [] rather than null
	if err != nil {
		return 0, err
	}
	var id int64
	err = s.writeRow(ctx, tx, qCaseInsert,
		c.TrackingCode, string(c.Status), c.ServiceCode, c.Portal, c.PortalKind, c.SourceMessageID, c.ThreadKey,
		c.Contact.Phone, c.Contact.TelegramID, c.Contact.Email, c.Contact.Name, c.Contact.Language, c.Description,
		lat, long, address, c.Language, string(atts), c.Rule, c.OpenedAt.UnixNano(), c.UpdatedAt.UnixNano(),
		c.Department, c.District, c.EscalationLevel, nanosOrNull(c.DueAt), c.Answer, c.Rating, c.Outcome,
		nanosOrNull(c.ClosedAt), st.TimerKind, nanosOrNull(st.LevelStart), st.PausedKind,
		st.PausedLeft.Milliseconds(), st.DuplicateOf).Scan(&id)
	return id, err
}

// linkMessage adds m to the timeline of the case with tracking code code.
func (s *Store) linkMessage(ctx context.Context, tx *sql.Tx, m gateway.Message, code string, now int64) error {
	data, err := json.Marshal(map[string]string{"message_id": m.ID})
	if err != nil {
		return err
	}
	var caseID int64
	err = s.writeRow(ctx, tx, qCaseTouch, now, code).Scan(&caseID)
	if err != nil {
		return fmt.Errorf("link to case %s: %w", code, translate(err, cases.ErrNotFound))
	}
	if _, err := s.exec(ctx, tx, qCaseMessageEvent, caseID, now, m.Text, string(data)); err != nil {
		return fmt.Errorf("link to case %s: add event: %w", code, err)
	}
	return nil
}

// MessagesUndecided lists accepted messages older than before, oldest first.
func (s *Store) MessagesUndecided(ctx context.Context, before time.Time, limit int) ([]gateway.Message, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := s.readRows(ctx, `SELECT payload FROM messages WHERE status = 'accepted' AND accepted_at < ?
		ORDER BY accepted_at, id LIMIT ?`, before.UnixNano(), limit)
	if err != nil {
		return nil, fmt.Errorf("list undecided messages: %w", err)
	}
	defer rows.Close()
	var msgs []gateway.Message
	for rows.Next() {
		var payload string
		var m gateway.Message
		if err := rows.Scan(&payload); err != nil {
			return nil, fmt.Errorf("list undecided messages: %w", err)
		}
		if err := json.Unmarshal([]byte(payload), &m); err != nil {
			return nil, fmt.Errorf("list undecided messages: decode: %w", err)
		}
		msgs = append(msgs, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list undecided messages: %w", err)
	}
	return msgs, nil
}

// MessageMarkDead records that message id went to the dead-letter place.
// A decided message keeps its status: its decision stands, only the
// reason is recorded.
func (s *Store) MessageMarkDead(ctx context.Context, id, reason string) error {
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := s.exec(ctx, tx, qMarkDead, reason, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return gateway.ErrUnknownMessage
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("mark message %s dead: %w", id, err)
	}
	return nil
}
