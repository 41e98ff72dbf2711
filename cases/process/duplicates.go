package process

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/cases/officeauto"
	"github.com/dargah137/dargah/internal/digits"
)

// A case opened near an open case of the same service is marked its
// duplicate at once (the Opened hook). Staff find the others: a report
// without a location, one classified under another service, or two
// citizens describing one problem in different words. MarkDuplicate and
// NotDuplicate are their tools.

// MarkDuplicate (staff) makes the case with tracking code code a duplicate
// of master: it leaves its department's queue and its deadline, and is
// resolved with master's answer when master is verified, at once if master
// already is. A master that is itself a duplicate is followed to its own.
func (e *Engine) MarkDuplicate(ctx context.Context, code string, a Actor, master, note string) (cases.Case, error) {
	master = digits.ToASCII(strings.TrimSpace(master))
	if !cases.ValidTrackingCode(master) {
		return cases.Case{}, invalid("%q is not a tracking code", master)
	}
	m, mst, err := e.store.CaseState(ctx, master)
	if errors.Is(err, cases.ErrNotFound) {
		return cases.Case{}, invalid("there is no case %s", master)
	}
	if err != nil {
		return cases.Case{}, fmt.Errorf("master case %s: %w", master, err)
	}
	if mst.DuplicateOf != "" {
		if m, _, err = e.store.CaseState(ctx, mst.DuplicateOf); err != nil {
			return cases.Case{}, fmt.Errorf("master case %s: %w", mst.DuplicateOf, err)
		}
	}
	answered := m.Status == cases.StatusVerified || (m.Status == cases.StatusClosed && m.Answer != "")
	if m.Status == cases.StatusClosed && !answered {
		return cases.Case{}, invalid("case %s was closed without an answer", m.TrackingCode)
	}
	return e.step(ctx, code, a, func(c *cases.Case, st *cases.State, now time.Time, eff *cases.Effects) error {
		if m.TrackingCode == c.TrackingCode {
			return invalid("a case cannot duplicate itself")
		}
		switch {
		case st.DuplicateOf != "":
			return fmt.Errorf("%w: case %s already duplicates %s", cases.ErrConflict, c.TrackingCode, st.DuplicateOf)
		case c.Status != cases.StatusOpen && c.Status != cases.StatusAssigned && c.Status != cases.StatusWaiting:
			return conflict(c, "mark it a duplicate")
		}
		if c.Department != "" {
			// The department's part is over: it may archive the case.
			if asg, err := e.assignment(c); err == nil {
				if err := e.webhook(c, asg, e.ladder.For(c.ServiceCode), c.EscalationLevel, officeauto.KindClosed, now, eff); err != nil {
					return err
				}
			}
		}
		// mark makes a case m's duplicate. The case's own duplicates, if
		// it had any, follow it: a duplicate has no duplicates.
		mark := func(c *cases.Case, st *cases.State) (cases.Effects, error) {
			var eff cases.Effects
			if c.Status == cases.StatusClosed {
				return cases.Effects{Unchanged: true}, nil
			}
			st.DuplicateOf = m.TrackingCode
			c.Status, c.Department, c.District, c.EscalationLevel, c.DueAt = cases.StatusOpen, "", "", 0, time.Time{}
			st.TimerKind, st.LevelStart, st.PausedKind, st.PausedLeft = "", time.Time{}, "", 0
			eff.Events = append(eff.Events, cases.Event{Kind: "duplicate", Actor: a.String(), Note: note, Public: true,
				Data: map[string]string{"master": m.TrackingCode}})
			if !answered {
				return eff, nil
			}
			done, err := e.resolveDuplicate(m.Answer, now)(c, st)
			eff.Events = append(eff.Events, done.Events...)
			eff.Outbox = append(eff.Outbox, done.Outbox...)
			return eff, err
		}
		done, err := mark(c, st)
		eff.Events, eff.Outbox = append(eff.Events, done.Events...), append(eff.Outbox, done.Outbox...)
		eff.Duplicates = mark
		return err
	})
}

// NotDuplicate (staff) undoes a duplicate mark, the Opened hook's or
// staff's: the case goes to its department with a deadline from now.
func (e *Engine) NotDuplicate(ctx context.Context, code string, a Actor, note string) (cases.Case, error) {
	return e.step(ctx, code, a, func(c *cases.Case, st *cases.State, now time.Time, eff *cases.Effects) error {
		if st.DuplicateOf == "" || c.Status != cases.StatusOpen {
			return conflict(c, "undo a duplicate mark")
		}
		eff.Events = append(eff.Events, cases.Event{Kind: "not_duplicate", Actor: a.String(), Note: note, Public: true,
			Data: map[string]string{"master": st.DuplicateOf}})
		st.DuplicateOf = ""
		asg, err := e.route(c)
		if err != nil {
			return fmt.Errorf("assign case %s: %w", c.TrackingCode, err)
		}
		return e.assignTo(c, st, asg, now, a.String(), eff)
	})
}
