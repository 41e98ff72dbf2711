package console

import (
	"errors"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/web/console/users"
)

func (c *Console) home(w http.ResponseWriter, r *http.Request, p *principal) {
	c.render(w, r, p, http.StatusOK, "home", "home", view{})
}

// canSeeCase is the one place that decides who may open a case:
// agents, supervisors and the follow-up unit see every case; an official
// only cases of their own department; inspection only escalated cases.
func canSeeCase(u users.User, k cases.Case) bool {
	switch {
	case u.Has(users.RoleAgent), u.Has(users.RoleSupervisor), u.Has(users.RoleFollowUp):
		return true
	case u.Has(users.RoleDepartment) && u.Department != "" && k.Department == u.Department:
		return true
	case u.Has(users.RoleInspection) && k.EscalationLevel > 0:
		return true
	}
	return false
}

var departmentParam = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

type inboxData struct {
	Department    string
	CanChoose     bool
	EscalatedOnly bool
	Cases         []cases.Case
	BadFilter     bool
	// Status is "open" (default: cases still needing work), "closed" or "all".
	Status string
	Now    time.Time
}

// inbox lists cases: an official sees their department's; supervisors,
// the follow-up unit and agents may pick a department; inspection sees
// escalated cases.
func (c *Console) inbox(w http.ResponseWriter, r *http.Request, p *principal) {
	u := p.user
	d := inboxData{CanChoose: u.Has(users.RoleSupervisor) || u.Has(users.RoleFollowUp) || u.Has(users.RoleAgent)}
	f := cases.Filter{Limit: 200}
	d.Now = c.now()
	switch d.Status = r.URL.Query().Get("status"); d.Status {
	case "closed":
		f.Statuses = []cases.Status{cases.StatusClosed}
	case "all":
	default:
		d.Status, f.Statuses = "open", openStatuses
	}
	switch {
	case d.CanChoose:
		d.Department = strings.TrimSpace(r.URL.Query().Get("department"))
		if d.Department != "" && !departmentParam.MatchString(d.Department) {
			d.BadFilter, d.Department = true, ""
		}
		f.Department = d.Department
	case u.Has(users.RoleDepartment):
		d.Department, f.Department = u.Department, u.Department
	default: // inspection
		d.EscalatedOnly = true
		f.Limit = 1000
	}
	list, err := c.cases.CaseSearch(r.Context(), f)
	if err != nil {
		c.log.Error("console: inbox", "err", err)
		c.fail(w, r, p, http.StatusInternalServerError, "server_error")
		return
	}
	for _, k := range list {
		if canSeeCase(u, k) {
			d.Cases = append(d.Cases, k)
		}
	}
	v := view{Data: d}
	if d.BadFilter {
		v.Error = translate(c.lang(w, r), "err_department")
	}
	c.render(w, r, p, http.StatusOK, "inbox", "inbox", v)
}

// loadCase reads the case named in the path and checks the user may see
// it; it answers the request itself when not.
func (c *Console) loadCase(w http.ResponseWriter, r *http.Request, p *principal) (cases.Case, bool) {
	code := strings.TrimSpace(r.PathValue("code"))
	if !cases.ValidTrackingCode(code) {
		c.fail(w, r, p, http.StatusNotFound, "not_found")
		return cases.Case{}, false
	}
	k, err := c.cases.CaseGetByTracking(r.Context(), code)
	if errors.Is(err, cases.ErrNotFound) {
		c.fail(w, r, p, http.StatusNotFound, "not_found")
		return k, false
	}
	if err != nil {
		c.log.Error("console: get case", "err", err)
		c.fail(w, r, p, http.StatusInternalServerError, "server_error")
		return k, false
	}
	if !canSeeCase(p.user, k) {
		// Staff are told it is someone else's case (403), not that it does
		// not exist: they may have the code from a citizen on the phone.
		c.audit(r.Context(), r, p.user.Username, "case_denied", k.TrackingCode, "department="+k.Department)
		c.fail(w, r, p, http.StatusForbidden, "forbidden")
		return k, false
	}
	return k, true
}

type caseData struct {
	Case        cases.Case
	Events      []cases.Event
	Actions     []action
	DuplicateOf string // the case this one duplicates, if any
	NeedCode    bool   // an action takes another case's tracking code
}

func (c *Console) caseView(w http.ResponseWriter, r *http.Request, p *principal) {
	k, ok := c.loadCase(w, r, p)
	if !ok {
		return
	}
	c.audit(r.Context(), r, p.user.Username, "case_view", k.TrackingCode, "")
	flash := ""
	if d := r.URL.Query().Get("done"); d != "" {
		flash = translate(c.lang(w, r), "saved")
	}
	c.showCase(w, r, p, k, http.StatusOK, "", flash)
}

func (c *Console) showCase(w http.ResponseWriter, r *http.Request, p *principal, k cases.Case, status int, msg, flash string) {
	events, err := c.cases.CaseEvents(r.Context(), k.ID, false)
	if err != nil {
		c.log.Error("console: case events", "err", err)
		c.fail(w, r, p, http.StatusInternalServerError, "server_error")
		return
	}
	dupOf := duplicateOf(events)
	var acts []action
	if c.actions != nil {
		acts = actionsFor(p.user, k, dupOf)
	}
	d := caseData{Case: k, Events: events, Actions: acts, DuplicateOf: dupOf}
	for _, a := range acts {
		d.NeedCode = d.NeedCode || a.NeedCode
	}
	c.render(w, r, p, status, "case", "tracking", view{Data: d, Error: msg, Flash: flash})
}
