package console

import (
	"net/http"
	"sort"
	"strings"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/web/console/users"
)

type searchData struct {
	Code, Phone, Service, Status string
	Services                     []string
	Statuses                     []cases.Status
	Searched                     bool
	Cases                        []cases.Case
}

// search finds cases by tracking code, the citizen's phone, service code
// and status; each result is still checked by canSeeCase, so an official
// finds only their department's cases.
func (c *Console) search(w http.ResponseWriter, r *http.Request, p *principal) {
	q := r.URL.Query()
	lang := c.lang(w, r)
	d := searchData{Code: strings.TrimSpace(q.Get("code")), Phone: strings.TrimSpace(q.Get("phone")),
		Service: strings.TrimSpace(q.Get("service")), Status: q.Get("status"),
		Statuses: append(append([]cases.Status(nil), openStatuses...), cases.StatusClosed)}
	for code := range c.services {
		d.Services = append(d.Services, code)
	}
	sort.Strings(d.Services)
	v := view{}
	f := cases.Filter{Limit: 200}
	bad := false
	if d.Code != "" {
		if !cases.ValidTrackingCode(d.Code) {
			bad = true
		}
		f.TrackingCodes = []string{d.Code}
	}
	if d.Phone != "" {
		phone, ok := normalizePhone(d.Phone)
		if !ok {
			bad = true
		}
		f.Phone = phone
	}
	if d.Service != "" {
		if len(d.Service) > 64 {
			bad = true
		}
		f.ServiceCode = d.Service
	}
	if d.Status != "" {
		ok := false
		for _, s := range d.Statuses {
			ok = ok || string(s) == d.Status
		}
		if !ok {
			bad = true
		}
		f.Statuses = []cases.Status{cases.Status(d.Status)}
	}
	if p.user.Has(users.RoleDepartment) && !p.user.Has(users.RoleSupervisor) && !p.user.Has(users.RoleAgent) && !p.user.Has(users.RoleFollowUp) {
		f.Department = p.user.Department
	}
	d.Searched = d.Code != "" || d.Phone != "" || d.Service != "" || d.Status != ""
	switch {
	case bad:
		v.Error = translate(lang, "err_search")
	case d.Searched:
		list, err := c.cases.CaseSearch(r.Context(), f)
		if err != nil {
			c.log.Error("console: search", "err", err)
			c.fail(w, r, p, http.StatusInternalServerError, "server_error")
			return
		}
		for _, k := range list {
			if canSeeCase(p.user, k) {
				d.Cases = append(d.Cases, k)
			}
		}
	}
	v.Data = d
	c.render(w, r, p, http.StatusOK, "search", "search", v)
}
