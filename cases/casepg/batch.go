package casepg

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/gateway"
	"github.com/dargah137/dargah/internal/batch"
)

// Accepts and decides that arrive together are written together: one
// statement (and one commit) for a whole batch of accepts, one
// transaction of a few set-based statements for a batch of decisions and
// their process hooks. PostgreSQL then spends its CPU on rows instead of
// on per-statement and per-commit overhead, which is what bounded the
// production runtime's throughput. A lone call still runs the single-row
// path at once, so a quiet system keeps single-call latency.
//
// Anything the batch path cannot settle for a request (a duplicate key,
// a message decided before, a tracking code collision, a failing hook or
// any error that aborts the batch transaction) is redone on the
// single-row path, alone, so every caller gets exactly the answer and the
// error it would have had without batching.

const (
	// maxBatch bounds one batch, and so what one slow batch delays.
	maxBatch = 64
	// decideRunners is one: the next batch builds up while one commits, and
	// bigger batches cost PostgreSQL less per message than overlapping
	// smaller ones (measured: 1,494 against 1,247 messages/s with two).
	decideRunners = 1
	// acceptRunners is two: an accept is a single cheap statement, and
	// intake should not queue behind one slow commit.
	acceptRunners = 2
)

type acceptReq struct {
	m       gateway.Message
	payload []byte
}

type acceptOut struct {
	r       gateway.Receipt
	created bool
}

type decideReq struct {
	id string
	d  gateway.Decision
}

// startBatchers starts the batch runners.
func (s *Store) startBatchers() {
	s.accepts = batch.New(acceptRunners, maxBatch, s.acceptBatch)
	s.decides = batch.New(decideRunners, maxBatch, s.decideBatch)
}

// acceptBatch inserts every new message with one statement; a message
// whose id or portal key is taken is settled by acceptOne.
func (s *Store) acceptBatch(ctx context.Context, reqs []acceptReq) []batch.Result[acceptOut] {
	out := make([]batch.Result[acceptOut], len(reqs))
	if len(reqs) == 1 {
		out[0].Out.r, out[0].Out.created, out[0].Err = s.acceptOne(ctx, reqs[0].m, reqs[0].payload)
		return out
	}
	n := len(reqs)
	ids, portals, keys, payloads := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i, r := range reqs {
		ids[i], portals[i], keys[i], payloads[i] = r.m.ID, r.m.Portal, r.m.PortalMessageID, string(r.payload)
	}
	now := s.clock()
	created := map[string]bool{}
	rows, err := s.pool.Query(ctx, `INSERT INTO messages (id, portal, portal_message_id, payload, status, accepted_at)
		SELECT id, portal, key, payload::jsonb, 'accepted', $5
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS x(id, portal, key, payload)
		ON CONFLICT DO NOTHING RETURNING id`, ids, portals, keys, payloads, now)
	if err == nil {
		var ins []string
		ins, err = pgx.CollectRows(rows, pgx.RowTo[string])
		for _, id := range ins {
			created[id] = true
		}
	}
	if err != nil {
		s.log.Warn("batched accept failed; accepting one by one", "messages", n, "err", err)
		created = nil
	}
	var alone []int
	for i, r := range reqs {
		// An id inserted by this batch belongs to the first request that
		// carried it; a repeat of the id is settled alone.
		if created[r.m.ID] {
			delete(created, r.m.ID)
			out[i].Out = acceptOut{r: gateway.Receipt{MessageID: r.m.ID, Portal: r.m.Portal,
				PortalMessageID: r.m.PortalMessageID, Status: gateway.StatusAccepted, AcceptedAt: now}, created: true}
			continue
		}
		alone = append(alone, i)
	}
	eachAlone(alone, func(i int) {
		out[i].Out.r, out[i].Out.created, out[i].Err = s.acceptOne(ctx, reqs[i].m, reqs[i].payload)
	})
	return out
}

// eachAlone runs f for every index concurrently: requests left over from a
// batch are independent, and running them one after another would make the
// last wait for all the others.
func eachAlone(idx []int, f func(i int)) {
	var wg sync.WaitGroup
	for _, i := range idx {
		wg.Go(func() { f(i) })
	}
	wg.Wait()
}

// decideBatch records resolved and case-opening decisions (LinkedTracking
// ones never come here) in one transaction.
func (s *Store) decideBatch(ctx context.Context, reqs []decideReq) []batch.Result[gateway.Receipt] {
	out := make([]batch.Result[gateway.Receipt], len(reqs))
	if len(reqs) == 1 {
		out[0].Out, out[0].Err = s.decideOne(ctx, reqs[0].id, reqs[0].d)
		return out
	}
	// Each message once per batch; a repeat waits for the batch and then
	// finds the message decided, as a concurrent decide would.
	seen := map[string]bool{}
	var together, alone []int
	for i, r := range reqs {
		if seen[r.id] {
			alone = append(alone, i)
			continue
		}
		seen[r.id] = true
		together = append(together, i)
	}
	// Lock rows in one order across batches and instances.
	slices.SortFunc(together, func(a, b int) int { return cmp.Compare(reqs[a].id, reqs[b].id) })
	decided, err := s.decideTogether(ctx, reqs, together)
	if err != nil {
		s.log.Warn("batched decide failed; deciding one by one", "messages", len(together), "err", err)
	}
	for _, i := range together {
		if r, ok := decided[reqs[i].id]; ok {
			out[i].Out = r
			continue
		}
		alone = append(alone, i)
	}
	eachAlone(alone, func(i int) {
		out[i].Out, out[i].Err = s.decideOne(ctx, reqs[i].id, reqs[i].d)
	})
	return out
}

// decisionArrays are the columns of a batch of decisions, for unnest.
type decisionArrays struct {
	ids, outcomes, rules, replies, services, codes []string
}

func (a *decisionArrays) add(id string, d gateway.Decision) {
	a.ids, a.outcomes, a.rules = append(a.ids, id), append(a.outcomes, string(d.Outcome)), append(a.rules, d.Rule)
	a.replies, a.services, a.codes = append(a.replies, d.Reply), append(a.services, d.ServiceCode), append(a.codes, d.TrackingCode)
}

// decisionsSQL is the batch's decisions as the relation d.
const decisionsSQL = `unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
	AS d(id, outcome, rule, reply, svc, code)`

// setDecidedFrom records each row of d on its message; $7 is the time.
const setDecidedFrom = `UPDATE messages SET status = 'decided', outcome = d.outcome, rule = d.rule, reply = d.reply,
	service_code = d.svc, tracking_code = d.code, linked_tracking = '', decided_at = $7`

// decideTogether decides the requests at idx in one transaction and
// returns the receipts of the messages it decided. A message it did not
// decide (decided before, unknown, or its new tracking code was taken) is
// missing from the map; an error means nothing was decided.
func (s *Store) decideTogether(ctx context.Context, reqs []decideReq, idx []int) (map[string]gateway.Receipt, error) {
	var resolved, opened decisionArrays
	for _, i := range idx {
		r := reqs[i]
		d := r.d
		if d.Outcome == gateway.OutcomeCaseOpened {
			code, err := s.newCode()
			if err != nil {
				return nil, err
			}
			fillCode(&d, code)
			opened.add(r.id, d)
			continue
		}
		fillCode(&d, "")
		resolved.add(r.id, d)
	}
	now := s.clock()
	decided := map[string]gateway.Receipt{}
	h := s.hooksFor()
	fold := len(opened.ids) > 0 && h != nil && h.Opened != nil
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Release()
	// Round trip 1: BEGIN, the resolved decisions, and either the whole
	// case opening (no process installed) with COMMIT, or the lock on the
	// messages whose cases the process must shape in Go first. An
	// explicit BEGIN inside the pipeline makes it one transaction across
	// both round trips; any failure rolls it back.
	var list []locked
	err = func() error {
		b := &pgx.Batch{}
		b.Queue(`BEGIN`)
		if len(resolved.ids) > 0 {
			b.Queue(setDecidedFrom+` FROM `+decisionsSQL+`
				WHERE messages.id = d.id AND messages.decided_at IS NULL RETURNING `+receiptColsQualified,
				resolved.ids, resolved.outcomes, resolved.rules, resolved.replies, resolved.services, resolved.codes, now)
		}
		switch {
		case fold:
			b.Queue(qLockForOpening, opened.ids)
		case len(opened.ids) > 0:
			b.Queue(qOpenCases, opened.ids, opened.outcomes, opened.rules, opened.replies, opened.services, opened.codes, now)
		}
		if !fold {
			b.Queue(`COMMIT`)
		}
		br := conn.SendBatch(ctx, b)
		defer br.Close()
		if _, err := br.Exec(); err != nil {
			return err
		}
		if len(resolved.ids) > 0 {
			if err := collectReceipts(br, decided); err != nil {
				return fmt.Errorf("resolved: %w", err)
			}
		}
		switch {
		case fold:
			rows, err := br.Query()
			if err != nil {
				return fmt.Errorf("lock messages: %w", err)
			}
			if list, err = pgx.CollectRows(rows, scanLocked); err != nil {
				return fmt.Errorf("lock messages: %w", err)
			}
		case len(opened.ids) > 0:
			if err := collectReceipts(br, decided); err != nil {
				return fmt.Errorf("open cases: %w", translate(err, err))
			}
		}
		if !fold {
			if _, err := br.Exec(); err != nil {
				return fmt.Errorf("commit: %w", err)
			}
		}
		return br.Close()
	}()
	if err == nil && fold {
		// Round trip 2 (and one per duplicate search): the cases in their
		// final state, their effects, the decisions, COMMIT.
		err = s.openFolded(ctx, conn, h, &opened, list, now, decided)
	}
	if err != nil {
		// The session may hold a failed or open transaction; a connection
		// that cannot roll back is closed by the pool on release.
		if _, rerr := conn.Exec(context.WithoutCancel(ctx), `ROLLBACK`); rerr != nil {
			_ = conn.Conn().Close(context.WithoutCancel(ctx))
		}
		return nil, err
	}
	return decided, nil
}

// collectReceipts reads the next result of br as receipts into decided.
func collectReceipts(br pgx.BatchResults, decided map[string]gateway.Receipt) error {
	rows, err := br.Query()
	if err != nil {
		return err
	}
	rs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (gateway.Receipt, error) { return scanReceipt(row) })
	for _, r := range rs {
		decided[r.MessageID] = r
	}
	return err
}

// qOpenCases opens the cases of a batch without the process: lock the
// undecided messages, insert their cases and "opened" events, record the
// decisions ($1…$6 the decisionsSQL arrays, $7 the time).
var qOpenCases = `WITH d AS (SELECT * FROM ` + decisionsSQL + `),
	m AS (SELECT id, payload AS p FROM messages WHERE id = ANY($1::text[]) AND decided_at IS NULL
		ORDER BY id FOR UPDATE),
	` + openCasesSQL("d.code", "d.svc", "d.rule", "$7", "m JOIN d ON d.id = m.id") + `,
	e AS (INSERT INTO case_events (case_id, at, kind, public, data)
		SELECT c.id, $7, 'opened', true, jsonb_build_object('message_id', d.id, 'rule', d.rule)
		FROM c JOIN d ON d.id = c.source_message_id),
	u AS (` + setDecidedFrom + ` FROM c JOIN d ON d.id = c.source_message_id
		WHERE messages.id = c.source_message_id RETURNING ` + receiptColsQualified + `)
	SELECT * FROM u`

// qLockForOpening locks the undecided messages of $1 and gives each the id
// its case will have, so that the process's effects can refer to it.
const qLockForOpening = `SELECT id, payload, nextval(pg_get_serial_sequence('cases', 'id')) FROM messages
	WHERE id = ANY($1) AND decided_at IS NULL ORDER BY id FOR UPDATE`

// locked is a row of qLockForOpening.
type locked struct {
	id      string
	payload []byte
	caseID  int64
}

func scanLocked(row pgx.CollectableRow) (locked, error) {
	var l locked
	return l, row.Scan(&l.id, &l.payload, &l.caseID)
}

// openFolded opens the batch's cases with the process's Opened hook
// already applied: the hook runs in Go on the case as it will be stored,
// so each case is inserted once in its final state (assigned, with its
// deadline) instead of inserted and then updated, which would write every
// index of the cases table twice. Its events and outbox rows, the
// "opened" event, the messages' decisions and COMMIT go in one round
// trip. It is what decideOpen and afterDecide do for one case, for many.
// conn is inside the batch's transaction and list its locked messages; a
// message decided meanwhile is not in list and is left to the single path.
func (s *Store) openFolded(ctx context.Context, conn *pgxpool.Conn, h *cases.Hooks, opened *decisionArrays, list []locked, now time.Time, decided map[string]gateway.Receipt) error {
	if len(list) == 0 {
		_, err := conn.Exec(ctx, `COMMIT`)
		return err
	}
	at := make(map[string]int, len(opened.ids))
	for i, id := range opened.ids {
		at[id] = i
	}
	recs := make([]*rec, 0, len(list))
	var done decisionArrays
	for _, l := range list {
		var m gateway.Message
		if err := json.Unmarshal(l.payload, &m); err != nil {
			return fmt.Errorf("decode message %s: %w", l.id, err)
		}
		i := at[l.id]
		d := gateway.Decision{Outcome: gateway.Outcome(opened.outcomes[i]), Rule: opened.rules[i], Reply: opened.replies[i],
			ServiceCode: opened.services[i], TrackingCode: opened.codes[i]}
		r := &rec{c: cases.FromMessage(m, d, d.TrackingCode, now)}
		r.c.ID = l.caseID
		if h.FindsDuplicates(r.c) {
			var err error
			if r.st.DuplicateOf, err = s.masterAmong(ctx, conn, r.c, h.DuplicateRadiusM, recs); err != nil {
				return err
			}
		}
		eff, err := cases.OpenedEffects(h, &r.c, &r.st, m, d, now)
		if err != nil {
			return err
		}
		if eff.Duplicates != nil {
			return fmt.Errorf("case %s: an Opened hook with Duplicates effects is not batched", r.c.TrackingCode)
		}
		r.eff = eff
		recs = append(recs, r)
		done.add(l.id, d)
	}
	b := &pgx.Batch{}
	if err := queueCaseInsert(b, recs); err != nil {
		return err
	}
	effects, err := queueEffects(b, recs, now)
	if err != nil {
		return err
	}
	b.Queue(setDecidedFrom+` FROM `+decisionsSQL+` WHERE messages.id = d.id RETURNING `+receiptColsQualified,
		done.ids, done.outcomes, done.rules, done.replies, done.services, done.codes, now)
	b.Queue(`COMMIT`)
	br := conn.SendBatch(ctx, b)
	defer br.Close()
	// A taken tracking code fails the INSERT and so the batch; the
	// single path then retries that message with a fresh code.
	tag, err := br.Exec()
	if err != nil {
		return fmt.Errorf("insert cases: %w", translate(err, err))
	}
	if int(tag.RowsAffected()) != len(recs) {
		return fmt.Errorf("insert cases: %d of %d inserted", tag.RowsAffected(), len(recs))
	}
	for range effects {
		if _, err := br.Exec(); err != nil {
			return fmt.Errorf("write events and outbox: %w", translate(err, err))
		}
	}
	got := map[string]gateway.Receipt{}
	if err := collectReceipts(br, got); err != nil {
		return fmt.Errorf("record decisions: %w", err)
	}
	if len(got) != len(recs) {
		return fmt.Errorf("record decisions: %d of %d recorded", len(got), len(recs))
	}
	if _, err := br.Exec(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	if err := br.Close(); err != nil {
		return err
	}
	for id, r := range got { // committed: only now are they decisions
		decided[id] = r
	}
	return nil
}

// masterAmong is findMaster over the stored cases and the cases opened
// earlier in the same batch (recs, not stored yet): the nearest open,
// non-duplicate case of c's service within radius, a later one winning a
// tie, as when the cases are opened one by one.
func (s *Store) masterAmong(ctx context.Context, tx rowsQuerier, c cases.Case, radius float64, recs []*rec) (string, error) {
	best, bestD, err := s.findMaster(ctx, tx, c, radius)
	if err != nil {
		return "", err
	}
	for _, r := range recs {
		o := r.c
		if r.st.DuplicateOf != "" || o.ServiceCode != c.ServiceCode || !o.Status.Open() || o.Location == nil {
			continue
		}
		if d := cases.DistanceM(c.Location.Lat, c.Location.Long, o.Location.Lat, o.Location.Long); d <= bestD {
			best, bestD = o.TrackingCode, d
		}
	}
	return best, nil
}

// queueCaseInsert queues the INSERT of every record's case, in its final
// state and with the id it was given.
func queueCaseInsert(b *pgx.Batch, recs []*rec) error {
	n := len(recs)
	var (
		ids, left                                          = make([]int64, n), make([]int64, n)
		code, status, svc, portal, kind, src, thread       = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		phone, tg, email, name, clang, desc, addr, lang    = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		atts, rule, dept, district, answer, outcome, timer = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		pkind, dup                                         = make([]string, n), make([]string, n)
		lat, long                                          = make([]*float64, n), make([]*float64, n)
		level, rating                                      = make([]int32, n), make([]int32, n)
		opened, updated                                    = make([]time.Time, n), make([]time.Time, n)
		due, closed, lstart                                = make([]*time.Time, n), make([]*time.Time, n), make([]*time.Time, n)
	)
	for i, r := range recs {
		c, st := r.c, r.st
		ids[i], code[i], status[i], svc[i], portal[i], kind[i] = c.ID, c.TrackingCode, string(c.Status), c.ServiceCode, c.Portal, c.PortalKind
		src[i], thread[i], desc[i], lang[i], rule[i] = c.SourceMessageID, c.ThreadKey, c.Description, c.Language, c.Rule
		phone[i], tg[i], email[i], name[i], clang[i] = c.Contact.Phone, c.Contact.TelegramID, c.Contact.Email, c.Contact.Name, c.Contact.Language
		if l := c.Location; l != nil {
			lat[i], long[i], addr[i] = &l.Lat, &l.Long, l.Address
		}
		a, err := json.Marshal(append([]string{}, c.Attachments...))
		if err != nil {
			return err
		}
		atts[i] = string(a) // unnest cannot hand out an array per row; a JSON list can
		dept[i], district[i], answer[i], outcome[i] = c.Department, c.District, c.Answer, c.Outcome
		level[i], rating[i] = int32(c.EscalationLevel), int32(c.Rating)
		opened[i], updated[i] = c.OpenedAt.UTC(), c.UpdatedAt.UTC()
		due[i], closed[i], lstart[i] = timePtr(c.DueAt), timePtr(c.ClosedAt), timePtr(st.LevelStart)
		timer[i], pkind[i], left[i], dup[i] = st.TimerKind, st.PausedKind, st.PausedLeft.Milliseconds(), st.DuplicateOf
	}
	b.Queue(`INSERT INTO cases (id, tracking_code, status, service_code, portal, portal_kind, source_message_id,
			thread_key, contact_phone, contact_telegram_id, contact_email, contact_name, contact_language,
			description, lat, long, address, language, attachments, rule, department, district, escalation_level,
			due_at, answer, rating, outcome, opened_at, updated_at, closed_at, timer_kind, level_started_at,
			paused_kind, paused_left_ms, duplicate_of)
		SELECT id, code, status, svc, portal, kind, src, thread, phone, tg, email, name, clang, descr, lat, long, addr,
			lang, ARRAY(SELECT jsonb_array_elements_text(atts::jsonb)), rule, dept, district, level, due, answer,
			rating, outcome, opened, updated, closed, timer, lstart, pkind, left_ms, dup
		FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
			$9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::float8[], $16::float8[],
			$17::text[], $18::text[], $19::text[], $20::text[], $21::text[], $22::text[], $23::int[], $24::timestamptz[],
			$25::text[], $26::int[], $27::text[], $28::timestamptz[], $29::timestamptz[], $30::timestamptz[],
			$31::text[], $32::timestamptz[], $33::text[], $34::bigint[], $35::text[])
			AS x(id, code, status, svc, portal, kind, src, thread, phone, tg, email, name, clang, descr, lat, long, addr,
				lang, atts, rule, dept, district, level, due, answer, rating, outcome, opened, updated, closed, timer,
				lstart, pkind, left_ms, dup)`,
		ids, code, status, svc, portal, kind, src, thread, phone, tg, email, name, clang, desc, lat, long, addr,
		lang, atts, rule, dept, district, level, due, answer, rating, outcome, opened, updated, closed, timer,
		lstart, pkind, left, dup)
	return nil
}
