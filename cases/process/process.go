// Package process is the 137 process after a case is opened, as Go code
// over cases.ProcessStore:
//
//   - assignment at opening (org.Route by service and location, level 0 of
//     the escalation ladder on the working calendar), or a link to an open
//     case nearby as its duplicate, in MessageDecide's transaction (Hooks);
//   - durable deadlines: Fire escalates (head → deputy → manager and
//     inspection, then reminders), warns the follow-up unit and closes
//     unrated cases as "no_feedback"; the store claims due cases with
//     FOR UPDATE SKIP LOCKED, so each fires once across instances;
//   - the officials' and staff's actions (accept, answer, ask the citizen,
//     reject, verify, rate, follow-up, extend, acknowledge), each one
//     transaction with its timeline events, timer and outbox rows;
//   - the outbox worker: signed office automation webhooks (officeauto) and
//     notices to the citizen through the portal they used.
//
// Illegal transitions return errors wrapping cases.ErrConflict (HTTP 409),
// bad input cases.ErrInvalidStep (422), a case outside the caller's
// department cases.ErrNotFound (404); none changes anything.
package process

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/cases/escalation"
	"github.com/dargah137/dargah/cases/officeauto"
	"github.com/dargah137/dargah/cases/org"
	"github.com/dargah137/dargah/channels"
	"github.com/dargah137/dargah/gateway"
)

// Outcomes a case closes with.
const (
	OutcomeResolved          = "resolved"    // rated 3–5
	OutcomeNoFeedback        = "no_feedback" // no rating within the feedback timeout
	OutcomeFollowUpClosed    = "follow_up_closed"
	OutcomeDuplicateResolved = "duplicate_resolved"
)

// Config configures an Engine.
type Config struct {
	Store  cases.ProcessStore
	Org    *org.Org
	Ladder *escalation.Ladder
	// Sender posts office automation webhooks; default officeauto.NewSender
	// with the defaults and Now.
	Sender *officeauto.Sender
	// Notify pushes a notice to the citizen through the named portal; it
	// returns ErrNoNotifier when that portal cannot push. Nil: notices are
	// recorded as delivered without being sent (the citizen still sees the
	// timeline on a status lookup).
	Notify func(ctx context.Context, portal string, n channels.Notice) error
	// Email sends a plain-text email (officials' notices of assignment,
	// escalation and reminder, rendered by officeauto.RenderNotice in
	// Persian). Nil: no email rows are written at all.
	Email func(ctx context.Context, to, subject, body string) error
	// SMS sends a text message to an official's phone (the same notices,
	// shortened by officeauto.RenderSMS), for levels that notify by sms;
	// trackingCode is the case's, for delivery reports on its timeline.
	// Nil: no SMS rows are written at all.
	SMS func(ctx context.Context, to, text, trackingCode string) error
	// Secret looks up webhook secrets by variable name; default os.LookupEnv.
	Secret func(name string) (string, bool)
	Now    func() time.Time
	Logger *slog.Logger
	// Batch is how many due cases one transaction fires; default 1000.
	Batch int
	// Tick is how often Run looks for due deadlines and deliveries; default 5s.
	Tick time.Duration
	// DeliverAfter is how soon after this instance commits an outbox row
	// Run starts a delivery pass, without waiting for the next Tick: long
	// enough for rows committed meanwhile to join the same pass; default
	// 200ms. A row the pass misses goes at the next pass or Tick.
	DeliverAfter time.Duration
	// Lease is how long a claimed outbox row is hidden from other workers;
	// default 5m (longer than an attempt's timeout).
	Lease time.Duration
	// Workers deliver outbox rows concurrently, so one slow receiver does
	// not hold up the others; default 4.
	Workers int
	// Registerer, when set, gets the engine's metrics:
	// dargah_process_deadlines_fired_total and
	// dargah_process_outbox_attempts_total{channel,result}.
	Registerer prometheus.Registerer
}

// ErrNoNotifier is returned by Config.Notify for a portal that cannot push
// notices; the row is then recorded as done, not retried.
var ErrNoNotifier = errors.New("portal cannot push notices")

// Engine runs the process. It is safe for concurrent use.
type Engine struct {
	cfg    Config
	store  cases.ProcessStore
	org    *org.Org
	ladder *escalation.Ladder
	sender *officeauto.Sender
	now    func() time.Time
	log    *slog.Logger
	fired  prometheus.Counter
	tries  *prometheus.CounterVec
	// wake asks Run for a delivery pass (see DeliverAfter); one pending
	// request stands for any number.
	wake chan struct{}
}

// New checks cfg, fills defaults and returns an Engine. It does not touch
// the store; Install puts its hooks there.
func New(cfg Config) (*Engine, error) {
	if cfg.Store == nil || cfg.Org == nil || cfg.Ladder == nil {
		return nil, errors.New("process: Store, Org and Ladder are required")
	}
	if err := cfg.Ladder.Validate(cfg.Org); err != nil {
		return nil, fmt.Errorf("process: %w", err)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Secret == nil {
		cfg.Secret = os.LookupEnv
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 1000
	}
	if cfg.Tick <= 0 {
		cfg.Tick = 5 * time.Second
	}
	if cfg.DeliverAfter <= 0 {
		cfg.DeliverAfter = 200 * time.Millisecond
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 5 * time.Minute
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 4
	}
	if cfg.Sender == nil {
		s, err := officeauto.NewSender(officeauto.Config{Now: cfg.Now, Logger: cfg.Logger})
		if err != nil {
			return nil, fmt.Errorf("process: %w", err)
		}
		cfg.Sender = s
	}
	e := &Engine{cfg: cfg, store: cfg.Store, org: cfg.Org, ladder: cfg.Ladder, sender: cfg.Sender, now: cfg.Now, log: cfg.Logger,
		wake: make(chan struct{}, 1),
		fired: prometheus.NewCounter(prometheus.CounterOpts{Name: "dargah_process_deadlines_fired_total",
			Help: "Deadlines fired by this instance's scheduler (escalations, reminders, follow-up warnings, feedback timeouts)."}),
		tries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dargah_process_outbox_attempts_total",
			Help: "Outbox delivery attempts by channel and result (done, retry, dead)."}, []string{"channel", "result"}),
	}
	if cfg.Registerer != nil {
		for _, c := range []prometheus.Collector{e.fired, e.tries} {
			if err := cfg.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("process: metrics: %w", err)
			}
		}
	}
	return e, nil
}

// Install puts the engine's hooks into the store, so that MessageDecide
// assigns new cases and records replies and ratings.
func (e *Engine) Install() {
	e.store.SetHooks(cases.Hooks{Opened: e.opened, Linked: e.linked, DuplicateRadiusM: e.ladder.Process.DuplicateRadiusM,
		// Outbox rows the hooks wrote are visible once the decision has
		// committed: a pass asked for earlier could miss them.
		Committed: e.deliverSoon})
}

func (e *Engine) clock() time.Time { return e.now().UTC().Truncate(time.Microsecond) }

// assignment rebuilds where a case is from its stored codes.
func (e *Engine) assignment(c *cases.Case) (org.Assignment, error) {
	return e.org.Assignment(c.ServiceCode, c.Department, c.District)
}

// route finds the department for a case; an unknown service goes to "other".
func (e *Engine) route(c *cases.Case) (org.Assignment, error) {
	var lat, long float64
	has := c.Location != nil && (c.Location.Lat != 0 || c.Location.Long != 0)
	if has {
		lat, long = c.Location.Lat, c.Location.Long
	}
	a, err := e.org.Route(c.ServiceCode, lat, long, has)
	if errors.Is(err, org.ErrUnknown) {
		a, err = e.org.Route(org.ServiceOther, lat, long, has)
	}
	return a, err
}

// --- steps shared by hooks, actions and timers ---

// assignTo puts c at level 0 with department a, deadline from now.
func (e *Engine) assignTo(c *cases.Case, st *cases.State, a org.Assignment, now time.Time, actor string, eff *cases.Effects) error {
	plan := e.ladder.For(c.ServiceCode)
	c.Status, c.Department, c.District, c.EscalationLevel = cases.StatusAssigned, a.Department.Code, a.District.Code, 0
	st.LevelStart, st.TimerKind, st.PausedKind, st.PausedLeft = now, cases.TimerEscalate, "", 0
	c.DueAt = plan.DueAt(now, 0, nil).UTC()
	eff.Events = append(eff.Events, cases.Event{Kind: "assigned", Actor: actor, Public: true, Data: map[string]string{
		"department": a.Department.Code, "district": a.District.Code, "office": a.Office.Name,
		"level": "0", "level_name": plan.Level(0).Name, "due_at": c.DueAt.Format(time.RFC3339)}})
	if err := e.notifyOfficials(c, a, plan, 0, officeauto.KindAssigned, eff); err != nil {
		return err
	}
	return e.webhook(c, a, plan, 0, officeauto.KindAssigned, now, eff)
}

// emailBody is an email outbox row's body.
type emailBody struct {
	Subject string `json:"subject"`
	Body    string `json:"body"`
}

// smsBody is an official's SMS outbox row's body.
type smsBody struct {
	Text         string `json:"text"`
	TrackingCode string `json:"tracking_code"`
}

// notifyOfficials adds an email row for every recipient of level that
// takes email and an SMS row for every one that takes sms, each only when
// its sender is configured.
func (e *Engine) notifyOfficials(c *cases.Case, a org.Assignment, plan escalation.Plan, level int, kind officeauto.Kind, eff *cases.Effects) error {
	if e.cfg.Email == nil && e.cfg.SMS == nil {
		return nil
	}
	targets, err := plan.Targets(e.org, a, level)
	if err != nil {
		return err
	}
	summary := c.Description
	if r := []rune(summary); len(r) > 500 {
		summary = string(r[:500]) + "…"
	}
	data := officeauto.NoticeData{Kind: kind, TrackingCode: c.TrackingCode,
		Department: a.Department.Name.Get("fa"), Level: level, DueAt: c.DueAt, Summary: summary}
	add := func(channel, target string, body any) error {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		id, err := officeauto.NewEventID()
		if err != nil {
			return err
		}
		eff.Outbox = append(eff.Outbox, cases.Outbox{EventID: id, Channel: channel, Kind: string(kind), Target: target, Body: b})
		return nil
	}
	for _, t := range targets {
		if e.cfg.Email != nil && slices.Contains(t.Notify, escalation.MediumEmail) && t.Contact.Email != "" {
			d := data
			d.Recipient = t.Contact.Name
			n := officeauto.RenderNotice("fa", d)
			if err := add(cases.OutboxEmail, t.Contact.Email, emailBody{Subject: n.Subject, Body: n.Body}); err != nil {
				return err
			}
		}
		if e.cfg.SMS != nil && slices.Contains(t.Notify, escalation.MediumSMS) && t.Contact.Phone != "" {
			if err := add(cases.OutboxSMS, t.Contact.Phone, smsBody{Text: officeauto.RenderSMS("fa", data), TrackingCode: c.TrackingCode}); err != nil {
				return err
			}
		}
	}
	return nil
}

// webhook adds an office automation row when the level notifies by
// webhook and the department has one.
func (e *Engine) webhook(c *cases.Case, a org.Assignment, plan escalation.Plan, level int, kind officeauto.Kind, now time.Time, eff *cases.Effects) error {
	var wh org.Webhook
	if kind == officeauto.KindClosed {
		if a.Department.Webhook == nil {
			return nil
		}
		wh = *a.Department.Webhook
	} else {
		var ok bool
		if wh, ok = plan.Webhook(a, level); !ok {
			return nil
		}
	}
	levelName := ""
	if kind != officeauto.KindClosed {
		levelName = plan.Level(level).Name
	}
	ev, err := officeauto.EventFor(kind, *c, levelName, now)
	if err != nil {
		return fmt.Errorf("webhook event: %w", err)
	}
	body, err := ev.Body()
	if err != nil {
		return fmt.Errorf("webhook event: %w", err)
	}
	eff.Outbox = append(eff.Outbox, cases.Outbox{EventID: ev.ID, Channel: cases.OutboxWebhook, Kind: string(kind),
		Target: wh.URL, SecretEnv: wh.SecretEnv, Body: body})
	return nil
}

// notice adds a notice to the citizen through the case's portal.
func (e *Engine) notice(c *cases.Case, kind, text string, eff *cases.Effects) error {
	id, err := officeauto.NewEventID()
	if err != nil {
		return err
	}
	lang := c.Language
	if lang == "" {
		lang = c.Contact.Language
	}
	body, err := json.Marshal(channels.Notice{TrackingCode: c.TrackingCode, Kind: kind, Text: text,
		Contact: c.Contact, Thread: c.ThreadKey, Language: lang})
	if err != nil {
		return err
	}
	eff.Outbox = append(eff.Outbox, cases.Outbox{EventID: id, Channel: cases.OutboxNotice, Kind: kind, Target: c.Portal, Body: body})
	return nil
}

// close closes c with outcome, tells office automation, and closes its
// duplicates.
func (e *Engine) close(c *cases.Case, st *cases.State, outcome, actor, note string, now time.Time, eff *cases.Effects) error {
	c.Status, c.Outcome, c.ClosedAt, c.DueAt = cases.StatusClosed, outcome, now, time.Time{}
	st.TimerKind, st.PausedKind, st.PausedLeft = "", "", 0
	data := map[string]string{"outcome": outcome}
	eff.Events = append(eff.Events, cases.Event{Kind: "closed", Actor: actor, Note: note, Public: true, Data: data})
	if c.Department != "" {
		if a, err := e.assignment(c); err == nil {
			if err := e.webhook(c, a, e.ladder.For(c.ServiceCode), c.EscalationLevel, officeauto.KindClosed, now, eff); err != nil {
				return err
			}
		}
	}
	eff.Duplicates = e.resolveDuplicate(c.Answer, now)
	return nil
}

// resolveDuplicate closes an open duplicate when its master is resolved
// and tells its reporter.
func (e *Engine) resolveDuplicate(answer string, now time.Time) cases.Step {
	return func(c *cases.Case, st *cases.State) (cases.Effects, error) {
		if c.Status == cases.StatusClosed {
			return cases.Effects{Unchanged: true}, nil
		}
		var eff cases.Effects
		c.Status, c.Outcome, c.ClosedAt, c.DueAt, c.Answer = cases.StatusClosed, OutcomeDuplicateResolved, now, time.Time{}, answer
		st.TimerKind, st.PausedKind, st.PausedLeft = "", "", 0
		eff.Events = append(eff.Events, cases.Event{Kind: "closed", Actor: "system", Public: true, Note: answer,
			Data: map[string]string{"outcome": OutcomeDuplicateResolved, "master": st.DuplicateOf}})
		err := e.notice(c, "resolved", text(c, msgDuplicateResolved, st.DuplicateOf, answer), &eff)
		return eff, err
	}
}

// --- hooks (inside MessageDecide's transaction) ---

func (e *Engine) opened(c *cases.Case, st *cases.State, m gateway.Message) (cases.Effects, error) {
	now := e.clock()
	var eff cases.Effects
	if st.DuplicateOf != "" {
		eff.Events = append(eff.Events, cases.Event{Kind: "duplicate", Actor: "system", Public: true,
			Data: map[string]string{"master": st.DuplicateOf}})
		return eff, nil
	}
	a, err := e.route(c)
	if err != nil {
		return eff, fmt.Errorf("assign case %s: %w", c.TrackingCode, err)
	}
	return eff, e.assignTo(c, st, a, now, "system", &eff)
}

func (e *Engine) linked(c *cases.Case, st *cases.State, m gateway.Message, d gateway.Decision) (cases.Effects, error) {
	now := e.clock()
	if d.Rule == "rating" || m.Metadata["kind"] == "rating" {
		n, _ := strconv.Atoi(m.Metadata["rating"])
		eff, err := e.rate(c, st, n, m.Metadata["comment"], "citizen", now)
		if err != nil {
			// The message is decided and thanked either way; a rating the
			// case cannot take is kept on the staff timeline.
			return cases.Effects{Events: []cases.Event{{Kind: "rating_rejected", Actor: "citizen", Note: err.Error(),
				Data: map[string]string{"message_id": m.ID, "rating": m.Metadata["rating"]}}}}, nil
		}
		return eff, nil
	}
	if c.Status == cases.StatusWaiting {
		var eff cases.Effects
		e.resume(c, st, now)
		eff.Events = append(eff.Events, cases.Event{Kind: "resumed", Actor: "citizen", Public: true,
			Data: map[string]string{"message_id": m.ID}})
		return eff, nil
	}
	return cases.Effects{Unchanged: true}, nil
}

// resume restarts a paused clock with the time that was left.
func (e *Engine) resume(c *cases.Case, st *cases.State, now time.Time) {
	c.Status = cases.StatusAssigned
	st.TimerKind = st.PausedKind
	if st.TimerKind == "" {
		st.TimerKind = cases.TimerEscalate
	}
	plan := e.ladder.For(c.ServiceCode)
	if plan.Time == escalation.Working && e.ladder.Calendar != nil {
		c.DueAt = e.ladder.Calendar.Add(now, st.PausedLeft).UTC()
	} else {
		c.DueAt = now.Add(st.PausedLeft)
	}
	st.PausedKind, st.PausedLeft = "", 0
}

// --- timers ---

// Fire runs one scheduler pass: every deadline due now, in batches of
// Config.Batch, each batch one transaction. It returns how many fired.
func (e *Engine) Fire(ctx context.Context) (int, error) {
	now := e.clock()
	total := 0
	for {
		n, err := e.store.TimersFire(ctx, now, e.cfg.Batch, func(c *cases.Case, st *cases.State) (cases.Effects, error) {
			return e.fire(c, st, now)
		})
		total += n
		if err == nil {
			e.fired.Add(float64(n))
		}
		if n > 0 {
			e.deliverSoon()
		}
		if err != nil || n < e.cfg.Batch {
			return total, err
		}
	}
}

func (e *Engine) fire(c *cases.Case, st *cases.State, now time.Time) (cases.Effects, error) {
	var eff cases.Effects
	due := c.DueAt
	switch {
	case st.TimerKind == cases.TimerEscalate && c.Status == cases.StatusAssigned:
		plan := e.ladder.For(c.ServiceCode)
		a, err := e.assignment(c)
		if err != nil {
			// The organization changed under the case: keep it visible to
			// staff and look again in an hour instead of failing the batch.
			c.DueAt = now.Add(time.Hour)
			eff.Events = append(eff.Events, cases.Event{Kind: "escalation_failed", Actor: "system", Note: err.Error()})
			return eff, nil
		}
		level, kind, evKind := c.EscalationLevel, officeauto.KindReminder, "reminder"
		if !plan.Final(level) {
			level, kind, evKind = level+1, officeauto.KindEscalated, "escalated"
		}
		c.EscalationLevel, st.LevelStart = level, due
		c.DueAt = plan.DueAt(due, level, nil).UTC()
		if !c.DueAt.After(now) {
			// Far behind (a long outage): do not replay every missed
			// reminder, count the next period from now.
			c.DueAt = plan.DueAt(now, level, nil).UTC()
		}
		targets, _ := plan.Targets(e.org, a, level)
		var names []string
		for _, t := range targets {
			names = append(names, string(t.Recipient)+"="+t.Contact.Name)
		}
		eff.Events = append(eff.Events, cases.Event{Kind: evKind, Actor: "system", Data: map[string]string{
			"level": strconv.Itoa(level), "level_name": plan.Level(level).Name, "recipients": strings.Join(names, "; "),
			"due_at": c.DueAt.Format(time.RFC3339)}})
		if err := e.notifyOfficials(c, a, plan, level, kind, &eff); err != nil {
			eff.Events = append(eff.Events, cases.Event{Kind: "email_failed", Actor: "system", Note: err.Error()})
		}
		if err := e.webhook(c, a, plan, level, kind, now, &eff); err != nil {
			// One case's bad data must not stop every other deadline.
			eff.Events = append(eff.Events, cases.Event{Kind: "webhook_failed", Actor: "system", Note: err.Error()})
		}
		return eff, nil
	case st.TimerKind == cases.TimerFollowUp && c.Status == cases.StatusFollowUp:
		c.DueAt = e.ladder.FollowUpDue(due).UTC()
		if !c.DueAt.After(now) {
			c.DueAt = e.ladder.FollowUpDue(now).UTC()
		}
		eff.Events = append(eff.Events, cases.Event{Kind: "follow_up_overdue", Actor: "system",
			Data: map[string]string{"due_at": c.DueAt.Format(time.RFC3339)}})
		return eff, nil
	case st.TimerKind == cases.TimerFeedback && c.Status == cases.StatusVerified:
		if err := e.close(c, st, OutcomeNoFeedback, "system", "", now, &eff); err != nil {
			eff.Events = append(eff.Events, cases.Event{Kind: "webhook_failed", Actor: "system", Note: err.Error()})
		}
		return eff, nil
	}
	// A timer that does not match the state (should not happen): drop it.
	c.DueAt, st.TimerKind = time.Time{}, ""
	eff.Events = append(eff.Events, cases.Event{Kind: "timer_dropped", Actor: "system", Data: map[string]string{"status": string(c.Status)}})
	return eff, nil
}

// --- outbox ---

// Deliver runs one outbox pass: claims due rows and attempts each,
// Config.Workers at a time. It returns how many were attempted.
func (e *Engine) Deliver(ctx context.Context) (int, error) {
	rows, err := e.store.OutboxClaim(ctx, e.clock(), e.cfg.Lease, outboxBatch)
	if err != nil {
		return 0, err
	}
	// One case's rows go in order (the answer before the rating request);
	// different cases in parallel, so a slow receiver holds up only its own.
	slices.SortFunc(rows, func(a, b cases.Outbox) int { return cmp.Compare(a.ID, b.ID) })
	var (
		mu      sync.Mutex
		results = make([]cases.OutboxResult, 0, len(rows))
	)
	record := func(r cases.OutboxResult) {
		mu.Lock()
		results = append(results, r)
		mu.Unlock()
	}
	gateway.RunByConversation(len(rows), e.cfg.Workers,
		func(i int) string { return strconv.FormatInt(rows[i].CaseID, 10) },
		func(i int) { e.deliverOne(ctx, rows[i], record) })
	// One write for the whole claim. Rows delivered but not settled (a
	// crash here) are sent again once their lease ends: receivers
	// deduplicate by event id (officeauto).
	if err := e.store.OutboxSettle(context.WithoutCancel(ctx), results...); err != nil {
		return len(rows), fmt.Errorf("settle outbox: %w", err)
	}
	return len(rows), nil
}

// outboxBatch is how many outbox rows one Deliver claims.
const outboxBatch = 100

// drain delivers due outbox rows batch after batch until none is left, or
// for at most one tick, so that deadlines still fire on time while a
// backlog (a busy hour, a receiver that was down) is being sent.
func (e *Engine) drain(ctx context.Context) {
	until := time.Now().Add(e.cfg.Tick)
	for ctx.Err() == nil && time.Now().Before(until) {
		n, err := e.Deliver(ctx)
		if err != nil {
			if ctx.Err() == nil {
				e.log.Error("deliver outbox", "err", err)
			}
			return
		}
		if n < outboxBatch {
			return
		}
	}
}

// deliverOne attempts o and hands its result to record.
func (e *Engine) deliverOne(ctx context.Context, o cases.Outbox, record func(cases.OutboxResult)) {
	log := e.log.With("outbox", o.ID, "channel", o.Channel, "kind", o.Kind)
	settle := func(status string, attempts int, next time.Time, msg string) {
		result := map[string]string{cases.OutboxDone: "done", cases.OutboxDead: "dead", cases.OutboxPending: "retry"}[status]
		e.tries.WithLabelValues(o.Channel, result).Inc()
		record(cases.OutboxResult{ID: o.ID, Status: status, Attempts: attempts, NextAt: next, LastError: msg})
	}
	now := e.clock()
	switch o.Channel {
	case cases.OutboxWebhook:
		secret, ok := e.cfg.Secret(o.SecretEnv)
		if !ok || secret == "" {
			settle(cases.OutboxDead, o.Attempts, now, fmt.Sprintf("webhook secret variable %s is not set", o.SecretEnv))
			return
		}
		res := e.sender.Deliver(ctx, officeauto.Delivery{EventID: o.EventID, URL: o.Target, Secret: []byte(secret), Body: o.Body, Attempt: o.Attempts + 1})
		switch {
		case res.Done:
			settle(cases.OutboxDone, o.Attempts+1, now, "")
		case res.Permanent:
			log.Warn("webhook dead-lettered", "err", res.Err, "status", res.Status)
			settle(cases.OutboxDead, o.Attempts+1, now, errString(res.Err))
		case ctx.Err() != nil:
			settle(cases.OutboxPending, o.Attempts, now, errString(res.Err))
		default:
			settle(cases.OutboxPending, o.Attempts+1, now.Add(res.RetryAfter), errString(res.Err))
		}
	case cases.OutboxEmail:
		var m emailBody
		if err := json.Unmarshal(o.Body, &m); err != nil {
			settle(cases.OutboxDead, o.Attempts+1, now, "decode email: "+err.Error())
			return
		}
		if e.cfg.Email == nil {
			settle(cases.OutboxDead, o.Attempts, now, "no email sender configured")
			return
		}
		e.retryable(settle, o, now, e.cfg.Email(ctx, o.Target, m.Subject, m.Body))
	case cases.OutboxSMS:
		var m smsBody
		if err := json.Unmarshal(o.Body, &m); err != nil {
			settle(cases.OutboxDead, o.Attempts+1, now, "decode sms: "+err.Error())
			return
		}
		if e.cfg.SMS == nil {
			settle(cases.OutboxDead, o.Attempts, now, "no SMS sender configured")
			return
		}
		e.retryable(settle, o, now, e.cfg.SMS(ctx, o.Target, m.Text, m.TrackingCode))
	case cases.OutboxNotice:
		var n channels.Notice
		if err := json.Unmarshal(o.Body, &n); err != nil {
			settle(cases.OutboxDead, o.Attempts+1, now, "decode notice: "+err.Error())
			return
		}
		if e.cfg.Notify == nil {
			settle(cases.OutboxDone, o.Attempts+1, now, "no notifier configured")
			return
		}
		err := e.cfg.Notify(ctx, o.Target, n)
		if errors.Is(err, ErrNoNotifier) {
			settle(cases.OutboxDone, o.Attempts+1, now, err.Error())
			return
		}
		e.retryable(settle, o, now, err)
	default:
		settle(cases.OutboxDead, o.Attempts, now, "unknown channel "+o.Channel)
	}
}

// retryable settles an attempt whose failures are worth retrying, with
// the webhook sender's backoff and attempt limit.
func (e *Engine) retryable(settle func(string, int, time.Time, string), o cases.Outbox, now time.Time, err error) {
	switch {
	case err == nil:
		settle(cases.OutboxDone, o.Attempts+1, now, "")
	case o.Attempts+1 >= e.sender.MaxAttempts():
		settle(cases.OutboxDead, o.Attempts+1, now, err.Error())
	default:
		settle(cases.OutboxPending, o.Attempts+1, now.Add(e.sender.NextAttempt(o.Attempts+1)), err.Error())
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// Run fires deadlines and delivers the outbox every Tick, and delivers
// what this instance writes to the outbox DeliverAfter after it is
// written, until ctx ends. Prompt passes keep an official's webhook and a
// citizen's notice from waiting for the Tick, and spread the delivery
// work of a busy hour evenly instead of in one burst per Tick.
func (e *Engine) Run(ctx context.Context) {
	t := time.NewTicker(e.cfg.Tick)
	defer t.Stop()
	for {
		if _, err := e.Fire(ctx); err != nil && ctx.Err() == nil {
			e.log.Error("fire deadlines", "err", err)
		}
		e.drain(ctx)
		if !e.untilTick(ctx, t.C) {
			return
		}
	}
}

// deliverSoon asks Run for a delivery pass DeliverAfter from now.
func (e *Engine) deliverSoon() {
	select {
	case e.wake <- struct{}{}:
	default: // a pass is already asked for; it takes this row too
	}
}

// untilTick waits for tick, running a delivery pass DeliverAfter after
// each deliverSoon meanwhile. It reports false once ctx ends.
func (e *Engine) untilTick(ctx context.Context, tick <-chan time.Time) bool {
	for {
		select {
		case <-ctx.Done():
			return false
		case <-tick:
			return true
		case <-e.wake:
		}
		after := time.NewTimer(e.cfg.DeliverAfter)
		select {
		case <-ctx.Done():
			after.Stop()
			return false
		case <-after.C:
		}
		e.drain(ctx)
	}
}
