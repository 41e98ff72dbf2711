package process

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/cases/escalation"
	"github.com/dargah137/dargah/cases/officeauto"
)

// Role of whoever acts on a case through the API.
type Role string

const (
	RoleDepartment Role = "department" // a department's officials (Actor.Department)
	RoleStaff      Role = "staff"      // 137 staff and supervisors
	RoleFollowUp   Role = "follow_up"  // the follow-up unit
)

// Actor is who performs an action; it is written on the timeline.
type Actor struct {
	Role       Role
	Department string // for RoleDepartment
	Name       string // a person, optional
}

func (a Actor) String() string {
	s := string(a.Role)
	if a.Department != "" {
		s += ":" + a.Department
	}
	if a.Name != "" {
		s += "/" + a.Name
	}
	return s
}

// Sees reports whether a may see case c: a department only its own.
func (a Actor) Sees(c cases.Case) bool {
	return a.Role != RoleDepartment || (a.Department != "" && c.Department == a.Department)
}

func conflict(c *cases.Case, what string) error {
	return fmt.Errorf("%w: case %s is %s; cannot %s", cases.ErrConflict, c.TrackingCode, c.Status, what)
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{cases.ErrInvalidStep}, args...)...)
}

// step runs fn on the case with a visibility check, as one transaction.
func (e *Engine) step(ctx context.Context, code string, a Actor, fn func(c *cases.Case, st *cases.State, now time.Time, eff *cases.Effects) error) (cases.Case, error) {
	wrote := false
	c, _, err := e.store.CaseStep(ctx, code, func(c *cases.Case, st *cases.State) (cases.Effects, error) {
		var eff cases.Effects
		if !a.Sees(*c) {
			return eff, fmt.Errorf("case %s: %w", code, cases.ErrNotFound)
		}
		err := fn(c, st, e.clock(), &eff)
		wrote = len(eff.Outbox) > 0 || eff.Duplicates != nil
		return eff, err
	})
	if err == nil && wrote {
		e.deliverSoon() // committed: a pass now finds the rows
	}
	return c, err
}

// Accept records that the department took the case on; the deadline keeps running.
func (e *Engine) Accept(ctx context.Context, code string, a Actor) (cases.Case, error) {
	return e.step(ctx, code, a, func(c *cases.Case, st *cases.State, now time.Time, eff *cases.Effects) error {
		if c.Status != cases.StatusAssigned {
			return conflict(c, "accept")
		}
		eff.Events = append(eff.Events, cases.Event{Kind: "accepted", Actor: a.String(), Public: true})
		return nil
	})
}

// Answer records the department's answer; the ladder stops and 137 staff
// verify it next.
func (e *Engine) Answer(ctx context.Context, code string, a Actor, text string, attachments []string) (cases.Case, error) {
	text = strings.TrimSpace(text)
	return e.step(ctx, code, a, func(c *cases.Case, st *cases.State, now time.Time, eff *cases.Effects) error {
		if text == "" {
			return invalid("an answer needs text")
		}
		if c.Status != cases.StatusAssigned {
			return conflict(c, "answer")
		}
		c.Status, c.Answer, c.DueAt = cases.StatusAnswered, text, time.Time{}
		st.TimerKind = ""
		data := map[string]string{"level": strconv.Itoa(c.EscalationLevel)}
		if len(attachments) > 0 {
			data["attachments"] = strings.Join(attachments, ",")
		}
		eff.Events = append(eff.Events, cases.Event{Kind: "answered", Actor: a.String(), Note: text, Data: data})
		return nil
	})
}

// AskCitizen asks the citizen for more information: the case waits and
// its clock stops with the time left kept; the citizen's reply resumes it.
func (e *Engine) AskCitizen(ctx context.Context, code string, a Actor, question string) (cases.Case, error) {
	question = strings.TrimSpace(question)
	return e.step(ctx, code, a, func(c *cases.Case, st *cases.State, now time.Time, eff *cases.Effects) error {
		if question == "" {
			return invalid("a question is required")
		}
		if c.Status != cases.StatusAssigned {
			return conflict(c, "ask the citizen")
		}
		left := c.DueAt.Sub(now)
		plan := e.ladder.For(c.ServiceCode)
		if plan.Time == escalation.Working && e.ladder.Calendar != nil {
			left = e.ladder.Calendar.Working(now, c.DueAt)
		}
		c.Status, c.DueAt = cases.StatusWaiting, time.Time{}
		st.PausedKind, st.PausedLeft, st.TimerKind = st.TimerKind, max(left, 0), ""
		eff.Events = append(eff.Events, cases.Event{Kind: "info_requested", Actor: a.String(), Note: question, Public: true,
			Data: map[string]string{"paused_left": st.PausedLeft.String()}})
		return e.notice(c, "info_request", text(c, msgInfoRequest, c.TrackingCode, question), eff)
	})
}

// Resume restarts a waiting case's clock (the citizen answered through a
// channel that is not linked to the case, e.g. by phone with an operator).
func (e *Engine) Resume(ctx context.Context, code string, a Actor, note string) (cases.Case, error) {
	return e.step(ctx, code, a, func(c *cases.Case, st *cases.State, now time.Time, eff *cases.Effects) error {
		if c.Status != cases.StatusWaiting {
			return conflict(c, "resume")
		}
		e.resume(c, st, now)
		eff.Events = append(eff.Events, cases.Event{Kind: "resumed", Actor: a.String(), Note: note, Public: true})
		return nil
	})
}

// Reject sends the case back to 137 for re-routing: not this department's.
func (e *Engine) Reject(ctx context.Context, code string, a Actor, reason string) (cases.Case, error) {
	reason = strings.TrimSpace(reason)
	return e.step(ctx, code, a, func(c *cases.Case, st *cases.State, now time.Time, eff *cases.Effects) error {
		if reason == "" {
			return invalid("a reason is required")
		}
		if c.Status != cases.StatusAssigned {
			return conflict(c, "reject")
		}
		eff.Events = append(eff.Events, cases.Event{Kind: "rejected", Actor: a.String(), Note: reason,
			Data: map[string]string{"department": c.Department}})
		c.Status, c.Department, c.District, c.EscalationLevel, c.DueAt = cases.StatusOpen, "", "", 0, time.Time{}
		st.TimerKind, st.LevelStart, st.PausedKind, st.PausedLeft = "", time.Time{}, "", 0
		return nil
	})
}

// Assign (staff) routes an open case to department dept, level 0.
func (e *Engine) Assign(ctx context.Context, code string, a Actor, dept string) (cases.Case, error) {
	return e.step(ctx, code, a, func(c *cases.Case, st *cases.State, now time.Time, eff *cases.Effects) error {
		d, ok := e.org.Department(dept)
		if !ok {
			return invalid("unknown department %q", dept)
		}
		if c.Status != cases.StatusOpen || st.DuplicateOf != "" {
			return conflict(c, "assign")
		}
		asg, err := e.route(c)
		if err != nil {
			return err
		}
		asg.Department, asg.Office = d, d.Head
		if off, ok := d.Offices[asg.District.Code]; ok {
			asg.Office = off
		}
		return e.assignTo(c, st, asg, now, a.String(), eff)
	})
}

// Verify (staff) accepts the department's answer: the citizen is told on
// the portal they used and asked to rate it; open duplicates are resolved.
func (e *Engine) Verify(ctx context.Context, code string, a Actor, note string) (cases.Case, error) {
	return e.step(ctx, code, a, func(c *cases.Case, st *cases.State, now time.Time, eff *cases.Effects) error {
		if c.Status != cases.StatusAnswered {
			return conflict(c, "verify")
		}
		c.Status, c.Rating = cases.StatusVerified, 0
		c.DueAt, st.TimerKind = e.ladder.FeedbackDue(now).UTC(), cases.TimerFeedback
		eff.Events = append(eff.Events, cases.Event{Kind: "verified", Actor: a.String(), Note: c.Answer, Public: true,
			Data: map[string]string{"staff_note": note}})
		if err := e.notice(c, "answered", text(c, msgAnswered, c.TrackingCode, c.Answer), eff); err != nil {
			return err
		}
		// Each portal words the request itself (buttons on Telegram, "send
		// a digit" on SMS), so the notice carries no text.
		if err := e.notice(c, "rating_request", "", eff); err != nil {
			return err
		}
		eff.Duplicates = e.resolveDuplicate(c.Answer, now)
		return nil
	})
}

// Rate records the citizen's rating (1–5) and comment, e.g. entered by a
// 137 operator. rating 0 with a comment is a written complaint.
func (e *Engine) Rate(ctx context.Context, code string, a Actor, rating int, comment string) (cases.Case, error) {
	return e.step(ctx, code, a, func(c *cases.Case, st *cases.State, now time.Time, eff *cases.Effects) error {
		got, err := e.rate(c, st, rating, comment, a.String(), now)
		*eff = got
		return err
	})
}

// rate: ≥ 3 closes; ≤ 2 or a complaint goes to the follow-up unit. Only
// a verified case takes a rating, once.
func (e *Engine) rate(c *cases.Case, st *cases.State, rating int, comment, actor string, now time.Time) (cases.Effects, error) {
	var eff cases.Effects
	comment = strings.TrimSpace(comment)
	if rating < 0 || rating > 5 || (rating == 0 && comment == "") {
		return eff, invalid("rating must be 1–5 (or 0 with a written complaint), got %d", rating)
	}
	if c.Status != cases.StatusVerified {
		return eff, conflict(c, "rate")
	}
	c.Rating = rating
	eff.Events = append(eff.Events, cases.Event{Kind: "rated", Actor: actor, Note: comment, Public: true,
		Data: map[string]string{"rating": strconv.Itoa(rating)}})
	if rating >= 3 {
		return eff, e.close(c, st, OutcomeResolved, actor, "", now, &eff)
	}
	c.Status = cases.StatusFollowUp
	c.DueAt, st.TimerKind = e.ladder.FollowUpDue(now).UTC(), cases.TimerFollowUp
	eff.Events = append(eff.Events, cases.Event{Kind: "follow_up", Actor: "system", Public: true,
		Data: map[string]string{"due_at": c.DueAt.Format(time.RFC3339)}})
	return eff, nil
}

// FollowUpReturn (follow-up unit) sends the case back to its department
// with a fresh level-0 deadline.
func (e *Engine) FollowUpReturn(ctx context.Context, code string, a Actor, note string) (cases.Case, error) {
	return e.step(ctx, code, a, func(c *cases.Case, st *cases.State, now time.Time, eff *cases.Effects) error {
		if c.Status != cases.StatusFollowUp {
			return conflict(c, "return to the department")
		}
		asg, err := e.assignment(c)
		if err != nil {
			return err
		}
		eff.Events = append(eff.Events, cases.Event{Kind: "returned", Actor: a.String(), Note: note, Public: true})
		return e.assignTo(c, st, asg, now, a.String(), eff)
	})
}

// FollowUpEscalate (follow-up unit) sends the case back to its department
// one level up the ladder (at most the final level).
func (e *Engine) FollowUpEscalate(ctx context.Context, code string, a Actor, note string) (cases.Case, error) {
	return e.step(ctx, code, a, func(c *cases.Case, st *cases.State, now time.Time, eff *cases.Effects) error {
		if c.Status != cases.StatusFollowUp {
			return conflict(c, "re-escalate")
		}
		asg, err := e.assignment(c)
		if err != nil {
			return err
		}
		plan := e.ladder.For(c.ServiceCode)
		level := min(c.EscalationLevel+1, plan.Len()-1)
		c.Status, c.EscalationLevel = cases.StatusAssigned, level
		st.LevelStart, st.TimerKind = now, cases.TimerEscalate
		c.DueAt = plan.DueAt(now, level, nil).UTC()
		eff.Events = append(eff.Events, cases.Event{Kind: "escalated", Actor: a.String(), Note: note, Data: map[string]string{
			"level": strconv.Itoa(level), "level_name": plan.Level(level).Name, "due_at": c.DueAt.Format(time.RFC3339)}})
		if err := e.notifyOfficials(c, asg, plan, level, officeauto.KindEscalated, eff); err != nil {
			return err
		}
		return e.webhook(c, asg, plan, level, officeauto.KindEscalated, now, eff)
	})
}

// FollowUpClose (follow-up unit) closes the case with a note.
func (e *Engine) FollowUpClose(ctx context.Context, code string, a Actor, note string) (cases.Case, error) {
	note = strings.TrimSpace(note)
	return e.step(ctx, code, a, func(c *cases.Case, st *cases.State, now time.Time, eff *cases.Effects) error {
		if note == "" {
			return invalid("a note is required")
		}
		if c.Status != cases.StatusFollowUp {
			return conflict(c, "close from follow-up")
		}
		if err := e.close(c, st, OutcomeFollowUpClosed, a.String(), note, now, eff); err != nil {
			return err
		}
		return e.notice(c, "closed", text(c, msgClosed, c.TrackingCode, note), eff)
	})
}

// Extend (staff supervisor) moves the running deadline later by d, with a
// written reason.
func (e *Engine) Extend(ctx context.Context, code string, a Actor, d time.Duration, reason string) (cases.Case, error) {
	reason = strings.TrimSpace(reason)
	return e.step(ctx, code, a, func(c *cases.Case, st *cases.State, now time.Time, eff *cases.Effects) error {
		if reason == "" {
			return invalid("extending a deadline needs a written reason")
		}
		if d <= 0 || d > 90*24*time.Hour {
			return invalid("extension must be between 1s and 90 days, got %s", d)
		}
		if c.DueAt.IsZero() || st.TimerKind == "" {
			return conflict(c, "extend (no running deadline)")
		}
		old := c.DueAt
		c.DueAt = c.DueAt.Add(d)
		eff.Events = append(eff.Events, cases.Event{Kind: "extended", Actor: a.String(), Note: reason, Data: map[string]string{
			"from": old.Format(time.RFC3339), "to": c.DueAt.Format(time.RFC3339), "timer": st.TimerKind}})
		return nil
	})
}

// Ack records that the recipient of an escalation, reminder or assignment
// event saw it. Acknowledging twice is ErrConflict.
func (e *Engine) Ack(ctx context.Context, code string, a Actor, eventID int64) (cases.Case, error) {
	c, _, err := e.store.CaseState(ctx, code)
	if err != nil {
		return c, err
	}
	if !a.Sees(c) {
		return c, fmt.Errorf("case %s: %w", code, cases.ErrNotFound)
	}
	evs, err := e.store.CaseEvents(ctx, c.ID, false)
	if err != nil {
		return c, err
	}
	var target *cases.Event
	id := strconv.FormatInt(eventID, 10)
	for i, ev := range evs {
		if ev.ID == eventID {
			target = &evs[i]
		}
		if ev.Kind == "acknowledged" && ev.Data["event_id"] == id {
			return c, fmt.Errorf("%w: event %d of case %s is already acknowledged", cases.ErrConflict, eventID, code)
		}
	}
	if target == nil {
		return c, fmt.Errorf("event %d of case %s: %w", eventID, code, cases.ErrNotFound)
	}
	switch target.Kind {
	case "escalated", "reminder", "assigned":
	default:
		return c, invalid("event %d is %q; only assignments, escalations and reminders are acknowledged", eventID, target.Kind)
	}
	c, err = e.step(ctx, code, a, func(c *cases.Case, st *cases.State, now time.Time, eff *cases.Effects) error {
		eff.Events = append(eff.Events, cases.Event{Kind: "acknowledged", Actor: a.String(),
			Data: map[string]string{"event_id": id, "of": target.Kind, "level": target.Data["level"]}})
		return nil
	})
	if errors.Is(err, cases.ErrConflict) {
		// Another official acknowledged it since the check above; the
		// store's unique index refused this one. Say so, not in SQL.
		return c, fmt.Errorf("%w: event %d of case %s is already acknowledged", cases.ErrConflict, eventID, code)
	}
	return c, err
}

// Case returns a case, its state and its timeline (all events) as a may see it.
func (e *Engine) Case(ctx context.Context, code string, a Actor) (cases.Case, cases.State, []cases.Event, error) {
	c, st, err := e.store.CaseState(ctx, code)
	if err != nil {
		return c, st, nil, err
	}
	if !a.Sees(c) {
		return cases.Case{}, cases.State{}, nil, fmt.Errorf("case %s: %w", code, cases.ErrNotFound)
	}
	evs, err := e.store.CaseEvents(ctx, c.ID, false)
	return c, st, evs, err
}

// Store is the engine's store, for listings.
func (e *Engine) Store() cases.ProcessStore { return e.store }

// Requeue makes a dead-lettered outbox row pending again, due now.
func (e *Engine) Requeue(ctx context.Context, id int64) error {
	if err := e.store.OutboxRequeue(ctx, id, e.clock()); err != nil {
		return err
	}
	e.deliverSoon()
	return nil
}
