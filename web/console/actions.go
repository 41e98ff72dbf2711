package console

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/cases/process"
	"github.com/dargah137/dargah/web/console/users"
)

// CaseActions is the part of cases/process.Engine the case page acts
// through; the engine checks the case's state and writes the timeline.
type CaseActions interface {
	Accept(ctx context.Context, code string, a process.Actor) (cases.Case, error)
	Answer(ctx context.Context, code string, a process.Actor, text string, attachments []string) (cases.Case, error)
	Verify(ctx context.Context, code string, a process.Actor, note string) (cases.Case, error)
	FollowUpReturn(ctx context.Context, code string, a process.Actor, note string) (cases.Case, error)
	FollowUpEscalate(ctx context.Context, code string, a process.Actor, note string) (cases.Case, error)
	FollowUpClose(ctx context.Context, code string, a process.Actor, note string) (cases.Case, error)
	MarkDuplicate(ctx context.Context, code string, a process.Actor, master, note string) (cases.Case, error)
	NotDuplicate(ctx context.Context, code string, a process.Actor, note string) (cases.Case, error)
}

// action is one button on the case page.
type action struct {
	Name     string
	NeedText bool
	NeedCode bool // another case's tracking code (the form's "of" field)
}

// actionsFor lists what u may do to k now: officials accept and answer
// their department's assigned cases, 137 staff verify answers and mark a
// case the duplicate of another (or undo the mark; dupOf is the master k
// duplicates, if any), the follow-up unit settles follow-up cases.
// Inspection and admins only read.
func actionsFor(u users.User, k cases.Case, dupOf string) []action {
	var out []action
	switch {
	case u.Has(users.RoleDepartment) && k.Department == u.Department && k.Status == cases.StatusAssigned:
		out = append(out, action{Name: "accept"}, action{Name: "answer", NeedText: true})
	}
	staff := u.Has(users.RoleAgent) || u.Has(users.RoleSupervisor)
	if staff && k.Status == cases.StatusAnswered {
		out = append(out, action{Name: "verify"})
	}
	switch {
	case staff && dupOf == "" && (k.Status == cases.StatusOpen || k.Status == cases.StatusAssigned || k.Status == cases.StatusWaiting):
		out = append(out, action{Name: "duplicate", NeedCode: true})
	case staff && dupOf != "" && k.Status == cases.StatusOpen:
		out = append(out, action{Name: "not_duplicate"})
	}
	if u.Has(users.RoleFollowUp) && k.Status == cases.StatusFollowUp {
		out = append(out, action{Name: "followup_return"}, action{Name: "followup_escalate"}, action{Name: "followup_close"})
	}
	return out
}

// duplicateOf reads from a case's timeline the case it duplicates, if any:
// the latest duplicate mark that was not undone.
func duplicateOf(events []cases.Event) string {
	of := ""
	for _, e := range events {
		switch e.Kind {
		case "duplicate":
			of = e.Data["master"]
		case "not_duplicate":
			of = ""
		}
	}
	return of
}

func (c *Console) caseAction(w http.ResponseWriter, r *http.Request, p *principal) {
	lang := c.lang(w, r)
	k, ok := c.loadCase(w, r, p)
	if !ok {
		return
	}
	name := r.PostFormValue("action")
	events, err := c.cases.CaseEvents(r.Context(), k.ID, false)
	if err != nil {
		c.log.Error("console: case events", "err", err)
		c.fail(w, r, p, http.StatusInternalServerError, "server_error")
		return
	}
	var allowed *action
	for _, a := range actionsFor(p.user, k, duplicateOf(events)) {
		if a.Name == name {
			allowed = &a
		}
	}
	if c.actions == nil || allowed == nil {
		c.audit(r.Context(), r, p.user.Username, "case_action_denied", k.TrackingCode, name)
		c.fail(w, r, p, http.StatusForbidden, "forbidden")
		return
	}
	text := strings.TrimSpace(r.PostFormValue("text"))
	if (allowed.NeedText && text == "") || utf8.RuneCountInString(text) > 4000 || !utf8.ValidString(text) {
		c.showCase(w, r, p, k, http.StatusUnprocessableEntity, translate(lang, "err_answer"), "")
		return
	}
	of := strings.TrimSpace(r.PostFormValue("of"))
	if allowed.NeedCode && (of == "" || utf8.RuneCountInString(of) > 20) {
		c.showCase(w, r, p, k, http.StatusUnprocessableEntity, translate(lang, "err_duplicate"), "")
		return
	}
	ctx := r.Context()
	u := p.user
	switch name {
	case "accept":
		_, err = c.actions.Accept(ctx, k.TrackingCode, process.Actor{Role: process.RoleDepartment, Department: u.Department, Name: u.Username})
	case "answer":
		_, err = c.actions.Answer(ctx, k.TrackingCode, process.Actor{Role: process.RoleDepartment, Department: u.Department, Name: u.Username}, text, nil)
	case "verify":
		_, err = c.actions.Verify(ctx, k.TrackingCode, process.Actor{Role: process.RoleStaff, Name: u.Username}, text)
	case "duplicate":
		_, err = c.actions.MarkDuplicate(ctx, k.TrackingCode, process.Actor{Role: process.RoleStaff, Name: u.Username}, of, text)
	case "not_duplicate":
		_, err = c.actions.NotDuplicate(ctx, k.TrackingCode, process.Actor{Role: process.RoleStaff, Name: u.Username}, text)
	case "followup_return":
		_, err = c.actions.FollowUpReturn(ctx, k.TrackingCode, process.Actor{Role: process.RoleFollowUp, Name: u.Username}, text)
	case "followup_escalate":
		_, err = c.actions.FollowUpEscalate(ctx, k.TrackingCode, process.Actor{Role: process.RoleFollowUp, Name: u.Username}, text)
	case "followup_close":
		_, err = c.actions.FollowUpClose(ctx, k.TrackingCode, process.Actor{Role: process.RoleFollowUp, Name: u.Username}, text)
	}
	switch {
	case errors.Is(err, cases.ErrConflict), errors.Is(err, cases.ErrNotFound):
		// Someone else moved the case first: show it as it now stands.
		k, _ = c.cases.CaseGetByTracking(ctx, k.TrackingCode)
		c.showCase(w, r, p, k, http.StatusConflict, translate(lang, "err_state"), "")
		return
	case errors.Is(err, cases.ErrInvalidStep):
		msg := "err_answer"
		if allowed.NeedCode {
			msg = "err_duplicate"
		}
		c.showCase(w, r, p, k, http.StatusUnprocessableEntity, translate(lang, msg), "")
		return
	case err != nil:
		c.log.Error("console: case action", "action", name, "case", k.TrackingCode, "err", err)
		c.fail(w, r, p, http.StatusInternalServerError, "server_error")
		return
	}
	c.audit(ctx, r, u.Username, "case_"+name, k.TrackingCode, of)
	http.Redirect(w, r, c.cfg.Prefix+"/cases/"+k.TrackingCode+"?done="+name, http.StatusSeeOther)
}
