package casepg

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

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

// scanReceipt scans receiptCols.
func scanReceipt(row pgx.Row) (gateway.Receipt, error) {
	var r gateway.Receipt
	var decidedAt *time.Time
	err := row.Scan(&r.MessageID, &r.Portal, &r.PortalMessageID, &r.Status, &r.Decision.Outcome,
		&r.Decision.Rule, &r.Decision.Reply, &r.Decision.ServiceCode, &r.Decision.TrackingCode,
		&r.Decision.LinkedTracking, &r.AcceptedAt, &decidedAt)
	r.AcceptedAt = r.AcceptedAt.UTC()
	if decidedAt != nil {
		r.DecidedAt = decidedAt.UTC()
	}
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
	out, err := s.accepts.Do(ctx, acceptReq{m: m, payload: payload})
	if err != nil {
		return gateway.Receipt{}, false, err
	}
	return out.r, out.created, nil
}

// acceptOne is MessageAccept for one message, on its own statement.
func (s *Store) acceptOne(ctx context.Context, m gateway.Message, payload []byte) (gateway.Receipt, bool, error) {
	now := s.clock()
	// ON CONFLICT without a target covers both the portal key and the id;
	// a concurrent insert of the same key waits here for the first to commit.
	tag, err := s.pool.Exec(ctx, `INSERT INTO messages (id, portal, portal_message_id, payload, status, accepted_at)
		VALUES ($1, $2, $3, $4, 'accepted', $5) ON CONFLICT DO NOTHING`,
		m.ID, m.Portal, m.PortalMessageID, string(payload), now)
	if err != nil {
		return gateway.Receipt{}, false, fmt.Errorf("accept message %s: %w", m.ID, translate(err, err))
	}
	if tag.RowsAffected() == 1 {
		return gateway.Receipt{MessageID: m.ID, Portal: m.Portal, PortalMessageID: m.PortalMessageID,
			Status: gateway.StatusAccepted, AcceptedAt: now}, true, nil
	}
	r, err := s.MessageGetByPortalID(ctx, m.Portal, m.PortalMessageID)
	if errors.Is(err, gateway.ErrUnknownMessage) {
		return gateway.Receipt{}, false, fmt.Errorf("accept message %s: %w: id taken by another message", m.ID, cases.ErrConflict)
	}
	if err != nil {
		return gateway.Receipt{}, false, fmt.Errorf("accept message %s: %w", m.ID, err)
	}
	return r, false, nil
}

// MessageGet returns the receipt of message id.
func (s *Store) MessageGet(ctx context.Context, id string) (gateway.Receipt, error) {
	r, err := scanReceipt(s.pool.QueryRow(ctx, `SELECT `+receiptCols+` FROM messages WHERE id = $1`, id))
	if err != nil {
		return r, fmt.Errorf("get message %s: %w", id, translate(err, gateway.ErrUnknownMessage))
	}
	return r, nil
}

// MessageGetByPortalID finds a receipt by the portal's own id.
func (s *Store) MessageGetByPortalID(ctx context.Context, portal, portalMessageID string) (gateway.Receipt, error) {
	r, err := scanReceipt(s.pool.QueryRow(ctx, `SELECT `+receiptCols+` FROM messages
		WHERE portal = $1 AND portal_message_id = $2`, portal, portalMessageID))
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

// MessageDecide records d for message id. OutcomeCaseOpened opens the
// case in the same transaction; a LinkedTracking decision instead adds
// the message to that case's timeline (unknown code: ErrNotFound).
//
// Each decision is one statement, so one round trip and one implicit
// transaction: its first step locks the message row (FOR UPDATE) only if
// the message is still undecided, and every later step hangs off that
// row. A concurrent decide of the same message waits on the lock, then
// finds the message decided, changes nothing and returns the first
// decision. When the statement changes nothing, a second look says why.
func (s *Store) MessageDecide(ctx context.Context, id string, d gateway.Decision) (gateway.Receipt, error) {
	if err := checkDecision(d); err != nil {
		return gateway.Receipt{}, fmt.Errorf("decide message %s: %w", id, err)
	}
	var r gateway.Receipt
	var err error
	if d.LinkedTracking != "" { // a thread's follow-up: rare, never batched
		r, err = s.decideLinked(ctx, id, d)
	} else {
		r, err = s.decides.Do(ctx, decideReq{id: id, d: d})
	}
	if err != nil {
		return gateway.Receipt{}, fmt.Errorf("decide message %s: %w", id, err)
	}
	s.hooks.Load().Decided(d)
	return r, nil
}

// lockUndecided is the first step of a deciding statement: the message
// row, locked, or no row when it is decided (also after waiting for a
// concurrent decide to commit, which PostgreSQL re-checks). p is the
// stored gateway.Message.
const lockUndecided = `m AS (SELECT id, payload AS p FROM messages WHERE id = $1 AND decided_at IS NULL FOR UPDATE)`

// setDecided is the last step: record the decision on the row m locked,
// for each row of c (the case opened or linked). Parameters $1 (message
// id) and $2…$8 are the decision and the time.
const setDecided = `u AS (UPDATE messages SET status = 'decided', outcome = $2, rule = $3, reply = $4,
	service_code = $5, tracking_code = $6, linked_tracking = $7, decided_at = $8
	FROM c WHERE messages.id = $1 RETURNING ` + receiptColsQualified + `)
	SELECT * FROM u`

const receiptColsQualified = `messages.id, messages.portal, messages.portal_message_id, messages.status,
	messages.outcome, messages.rule, messages.reply, messages.service_code, messages.tracking_code,
	messages.linked_tracking, messages.accepted_at, messages.decided_at`

// decideOne records a resolved or case-opening decision on its own.
func (s *Store) decideOne(ctx context.Context, id string, d gateway.Decision) (gateway.Receipt, error) {
	if d.Outcome == gateway.OutcomeCaseOpened {
		return s.decideOpen(ctx, id, d)
	}
	return s.decideResolved(ctx, id, d)
}

// decideResolved needs no case, so one conditional UPDATE is the whole
// transaction: a concurrent decide waits on the row lock, then finds the
// row decided and changes nothing.
func (s *Store) decideResolved(ctx context.Context, id string, d gateway.Decision) (gateway.Receipt, error) {
	fillCode(&d, "")
	r, err := scanReceipt(s.pool.QueryRow(ctx, `UPDATE messages SET status = 'decided', outcome = $2, rule = $3,
		reply = $4, service_code = $5, tracking_code = $6, linked_tracking = $7, decided_at = $8
		WHERE id = $1 AND decided_at IS NULL RETURNING `+receiptCols,
		id, d.Outcome, d.Rule, d.Reply, d.ServiceCode, d.TrackingCode, d.LinkedTracking, s.clock()))
	if errors.Is(err, pgx.ErrNoRows) {
		return s.MessageGet(ctx, id) // decided before, or unknown
	}
	return r, err
}

// openCasesSQL maps each locked message m (m.id, m.p: the stored
// gateway.Message) of the rows from into a new case row with tracking
// code code, rule rule, opened at at (SQL expressions); a decision without
// a service code (svc) keeps the one the citizen chose. It reads the
// stored message in SQL, which saves the round trip of reading it first;
// the JSON names are gateway.Message's tags.
func openCasesSQL(code, svc, rule, at, from string) string {
	return `c AS (INSERT INTO cases (tracking_code, status, service_code, portal, portal_kind,
		source_message_id, thread_key, contact_phone, contact_telegram_id, contact_email, contact_name,
		contact_language, description, lat, long, address, language, attachments, rule, opened_at, updated_at)
	SELECT ` + code + `, 'open', coalesce(nullif(` + svc + `, ''), m.p->>'service_code', ''), m.p->>'portal', m.p->>'portal_kind',
		m.id, coalesce(m.p->>'thread_key', ''),
		coalesce(m.p#>>'{contact,phone}', ''), coalesce(m.p#>>'{contact,telegram_id}', ''),
		coalesce(m.p#>>'{contact,email}', ''), coalesce(m.p#>>'{contact,name}', ''),
		coalesce(m.p#>>'{contact,language}', ''), coalesce(m.p->>'text', ''),
		CASE WHEN jsonb_typeof(m.p->'location') = 'object' THEN coalesce((m.p#>>'{location,lat}')::float8, 0) END,
		CASE WHEN jsonb_typeof(m.p->'location') = 'object' THEN coalesce((m.p#>>'{location,long}')::float8, 0) END,
		coalesce(m.p#>>'{location,address}', ''),
		coalesce(nullif(m.p->>'language', ''), m.p#>>'{contact,language}', ''),
		ARRAY(SELECT a->>'id' FROM jsonb_array_elements(coalesce(m.p->'attachments', '[]'))
			WITH ORDINALITY AS x (a, i) ORDER BY i),
		` + rule + `, ` + at + `, ` + at + `
	FROM ` + from + `
	ON CONFLICT (tracking_code) DO NOTHING
	RETURNING id, source_message_id)`
}

// openCaseFromMessage is openCasesSQL for the single message m of a
// deciding statement: code $6, service $5, rule $3, time $8.
var openCaseFromMessage = openCasesSQL("$6", "$5", "$3", "$8", "m")

// decideOpen opens the case for message id with its "opened" event and
// records d, in one statement, retrying on a tracking code collision.
func (s *Store) decideOpen(ctx context.Context, id string, d gateway.Decision) (gateway.Receipt, error) {
	for range maxCodeTries {
		code, err := s.newCode()
		if err != nil {
			return gateway.Receipt{}, err
		}
		dd := d
		fillCode(&dd, code)
		r, err := s.withHooks(ctx, func(q querier) (gateway.Receipt, error) {
			return scanReceipt(q.QueryRow(ctx, `WITH `+lockUndecided+`, `+openCaseFromMessage+`,
				e AS (INSERT INTO case_events (case_id, at, kind, public, data)
					SELECT id, $8, 'opened', true, jsonb_build_object('message_id', $1::text, 'rule', $3::text) FROM c),
				`+setDecided,
				id, dd.Outcome, dd.Rule, dd.Reply, dd.ServiceCode, dd.TrackingCode, dd.LinkedTracking, s.clock()))
		}, id, dd, true)
		if !errors.Is(err, pgx.ErrNoRows) {
			if err != nil {
				return r, fmt.Errorf("open case: %w", translate(err, err))
			}
			return r, nil
		}
		// Nothing happened: unknown, decided meanwhile, or the code was taken.
		if r, err := s.MessageGet(ctx, id); err != nil || r.Status == gateway.StatusDecided {
			return r, err
		}
		s.log.Warn("tracking code collision, retrying", "message", id)
	}
	return gateway.Receipt{}, fmt.Errorf("open case: %w: no free tracking code in %d tries", cases.ErrConflict, maxCodeTries)
}

// decideLinked adds message id to the timeline of the case
// d.LinkedTracking and records d, in one statement.
func (s *Store) decideLinked(ctx context.Context, id string, d gateway.Decision) (gateway.Receipt, error) {
	fillCode(&d, d.LinkedTracking)
	r, err := s.withHooks(ctx, func(q querier) (gateway.Receipt, error) {
		return scanReceipt(q.QueryRow(ctx, `WITH `+lockUndecided+`,
			c AS (UPDATE cases SET updated_at = $8 FROM m WHERE tracking_code = $7
				RETURNING cases.id, coalesce(m.p->>'text', '') AS text),
			e AS (INSERT INTO case_events (case_id, at, kind, note, public, data)
				SELECT id, $8, 'message', text, true, jsonb_build_object('message_id', $1::text) FROM c),
			`+setDecided,
			id, d.Outcome, d.Rule, d.Reply, d.ServiceCode, d.TrackingCode, d.LinkedTracking, s.clock()))
	}, id, d, false)
	if !errors.Is(err, pgx.ErrNoRows) {
		return r, err
	}
	// Nothing happened: unknown, decided meanwhile, or no such case.
	if r, err := s.MessageGet(ctx, id); err != nil || r.Status == gateway.StatusDecided {
		return r, err
	}
	return gateway.Receipt{}, fmt.Errorf("link to case %s: %w", d.LinkedTracking, cases.ErrNotFound)
}

// MessagesUndecided lists accepted messages older than before, oldest first.
func (s *Store) MessagesUndecided(ctx context.Context, before time.Time, limit int) ([]gateway.Message, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT payload FROM messages WHERE status = 'accepted' AND accepted_at < $1
		ORDER BY accepted_at, id LIMIT $2`, before.UTC(), limit)
	if err != nil {
		return nil, fmt.Errorf("list undecided messages: %w", err)
	}
	msgs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (gateway.Message, error) {
		var payload []byte
		var m gateway.Message
		if err := row.Scan(&payload); err != nil {
			return m, err
		}
		return m, json.Unmarshal(payload, &m)
	})
	if err != nil {
		return nil, fmt.Errorf("list undecided messages: %w", err)
	}
	return msgs, nil
}

// MessageMarkDead records that message id went to the dead-letter place.
// A decided message keeps its status: its decision stands, only the
// reason is recorded.
func (s *Store) MessageMarkDead(ctx context.Context, id, reason string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE messages SET dead_reason = $2,
		status = CASE WHEN decided_at IS NULL THEN 'dead' ELSE status END WHERE id = $1`, id, reason)
	if err != nil {
		return fmt.Errorf("mark message %s dead: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("mark message %s dead: %w", id, gateway.ErrUnknownMessage)
	}
	return nil
}
