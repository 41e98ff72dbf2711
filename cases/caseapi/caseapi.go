// Package caseapi is the REST API of the 137 process for the people who
// work cases: department officials, 137 staff and the follow-up unit.
// Every request carries "Authorization: Bearer <token>"; the token names
// the caller (a department, staff, the follow-up unit). A department's
// token never sees another department's cases: they answer 404.
//
// Department (/api/v1/dept):
//
//	GET  /cases?status=assigned&limit=50     the department's cases, newest first
//	GET  /cases/{code}                       case, process state, whole timeline
//	POST /cases/{code}/accept                {}
//	POST /cases/{code}/answer                {"text": "...", "attachments": ["id", ...]}
//	POST /cases/{code}/ask                   {"question": "..."}  → waiting, clock paused
//	POST /cases/{code}/reject                {"reason": "..."}    → back to 137, unassigned
//	POST /cases/{code}/events/{id}/ack       acknowledge an escalation / reminder
//
// 137 staff (/api/v1/staff): GET /cases (?status, department), GET
// /cases/{code}, POST /cases/{code}/verify {"note"}, /assign
// {"department"}, /extend {"hours", "reason"}, /rate {"rating", "comment"},
// /resume {"note"}, /events/{id}/ack; GET /outbox?status=dead|pending|done,
// POST /outbox/{id}/requeue.
//
// Follow-up unit (/api/v1/followup): GET /cases (its queue), GET
// /cases/{code}, POST /cases/{code}/return | /escalate | /close {"note"}.
//
// Errors are JSON {"error": "..."}: 400 bad body, 401 no or unknown
// token, 403 wrong role, 404 unknown or not yours, 409 illegal transition
// (answering a closed case, rating twice), 422 missing input (an
// extension without a reason). A refused request changes nothing.
package caseapi

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/cases/org"
	"github.com/dargah137/dargah/cases/process"
)

// MaxBody bounds a request body.
const MaxBody = 1 << 20

// Config configures the API.
type Config struct {
	Engine *process.Engine
	// Tokens maps a bearer token to who presents it.
	Tokens map[string]process.Actor
	Logger *slog.Logger
}

// API serves the routes above. Build it with New.
type API struct {
	eng    *process.Engine
	tokens map[[32]byte]process.Actor
	log    *slog.Logger
}

// New checks cfg and returns the API.
func New(cfg Config) (*API, error) {
	if cfg.Engine == nil {
		return nil, errors.New("caseapi: Engine is required")
	}
	a := &API{eng: cfg.Engine, tokens: map[[32]byte]process.Actor{}, log: cfg.Logger}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	for tok, actor := range cfg.Tokens {
		if len(tok) < 16 {
			return nil, fmt.Errorf("caseapi: token for %s is shorter than 16 characters", actor)
		}
		if actor.Role == process.RoleDepartment && actor.Department == "" {
			return nil, errors.New("caseapi: a department token needs its department")
		}
		// Looked up by hash: comparing hashes leaks nothing useful about
		// the token through timing.
		a.tokens[sha256.Sum256([]byte(tok))] = actor
	}
	return a, nil
}

// TokensFromEnv reads tokens from the environment (lookup, default
// os.LookupEnv by the caller): DARGAH_TOKEN_STAFF, DARGAH_TOKEN_FOLLOWUP
// and DARGAH_TOKEN_DEPT_<CODE> per department (code upper-cased, e.g.
// DARGAH_TOKEN_DEPT_STREET_LIGHTING). Unset variables give no token.
func TokensFromEnv(o *org.Org, lookup func(string) (string, bool)) map[string]process.Actor {
	out := map[string]process.Actor{}
	add := func(name string, a process.Actor) {
		if v, ok := lookup(name); ok && strings.TrimSpace(v) != "" {
			out[strings.TrimSpace(v)] = a
		}
	}
	add("DARGAH_TOKEN_STAFF", process.Actor{Role: process.RoleStaff})
	add("DARGAH_TOKEN_FOLLOWUP", process.Actor{Role: process.RoleFollowUp})
	for _, d := range o.Departments {
		add("DARGAH_TOKEN_DEPT_"+strings.ToUpper(d.Code), process.Actor{Role: process.RoleDepartment, Department: d.Code})
	}
	return out
}

// Handler is what Register needs of a mux.
type Handler interface {
	Handle(pattern string, h http.Handler)
}

// Register adds every route to mux.
func (a *API) Register(mux Handler) {
	type route struct {
		pattern string
		role    process.Role
		fn      func(w http.ResponseWriter, r *http.Request, actor process.Actor) error
	}
	dept, staff, fu := process.RoleDepartment, process.RoleStaff, process.RoleFollowUp
	routes := []route{
		{"GET /api/v1/dept/cases", dept, a.list},
		{"GET /api/v1/dept/cases/{code}", dept, a.get},
		{"POST /api/v1/dept/cases/{code}/accept", dept, a.accept},
		{"POST /api/v1/dept/cases/{code}/answer", dept, a.answer},
		{"POST /api/v1/dept/cases/{code}/ask", dept, a.ask},
		{"POST /api/v1/dept/cases/{code}/reject", dept, a.reject},
		{"POST /api/v1/dept/cases/{code}/events/{id}/ack", dept, a.ack},

		{"GET /api/v1/staff/cases", staff, a.list},
		{"GET /api/v1/staff/cases/{code}", staff, a.get},
		{"POST /api/v1/staff/cases/{code}/verify", staff, a.verify},
		{"POST /api/v1/staff/cases/{code}/assign", staff, a.assign},
		{"POST /api/v1/staff/cases/{code}/extend", staff, a.extend},
		{"POST /api/v1/staff/cases/{code}/rate", staff, a.rate},
		{"POST /api/v1/staff/cases/{code}/resume", staff, a.resume},
		{"POST /api/v1/staff/cases/{code}/duplicate", staff, a.duplicate},
		{"POST /api/v1/staff/cases/{code}/not-duplicate", staff, a.notDuplicate},
		{"POST /api/v1/staff/cases/{code}/events/{id}/ack", staff, a.ack},
		{"GET /api/v1/staff/outbox", staff, a.outbox},
		{"POST /api/v1/staff/outbox/{id}/requeue", staff, a.requeue},

		{"GET /api/v1/followup/cases", fu, a.list},
		{"GET /api/v1/followup/cases/{code}", fu, a.get},
		{"POST /api/v1/followup/cases/{code}/return", fu, a.followUp},
		{"POST /api/v1/followup/cases/{code}/escalate", fu, a.followUp},
		{"POST /api/v1/followup/cases/{code}/close", fu, a.followUp},
	}
	for _, rt := range routes {
		mux.Handle(rt.pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			actor, ok := a.auth(r)
			if !ok {
				w.Header().Set("WWW-Authenticate", `Bearer realm="dargah"`)
				writeErr(w, http.StatusUnauthorized, "missing or unknown token")
				return
			}
			if actor.Role != rt.role {
				writeErr(w, http.StatusForbidden, fmt.Sprintf("this API is for %s tokens", rt.role))
				return
			}
			if err := rt.fn(w, r, actor); err != nil {
				a.fail(w, r, err)
			}
		}))
	}
}

func (a *API) auth(r *http.Request) (process.Actor, bool) {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || tok == "" {
		return process.Actor{}, false
	}
	actor, ok := a.tokens[sha256.Sum256([]byte(strings.TrimSpace(tok)))]
	if ok {
		actor.Name = r.Header.Get("X-Dargah-Official") // who at the desk, for the timeline
		if len(actor.Name) > 100 {
			actor.Name = actor.Name[:100]
		}
	}
	return actor, ok
}

// errBadRequest wraps body and query errors (400).
var errBadRequest = errors.New("bad request")

func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, errBadRequest):
		writeErr(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, cases.ErrNotFound):
		writeErr(w, http.StatusNotFound, "not found")
	case errors.Is(err, cases.ErrConflict):
		writeErr(w, http.StatusConflict, err.Error())
	case errors.Is(err, cases.ErrInvalidStep):
		writeErr(w, http.StatusUnprocessableEntity, err.Error())
	case errors.Is(err, context.Canceled):
		writeErr(w, http.StatusServiceUnavailable, "request cancelled")
	default:
		a.log.Error("case api", "method", r.Method, "path", r.URL.Path, "err", err)
		writeErr(w, http.StatusInternalServerError, "internal error")
	}
}

func writeErr(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// decode reads a JSON body strictly; an empty body is an empty object.
func decode(r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, MaxBody))
	if err != nil {
		return fmt.Errorf("%w: read body: %v", errBadRequest, err)
	}
	return DecodeBody(body, v)
}

// DecodeBody decodes one JSON object into v, refusing unknown fields and
// trailing data. Exported for the fuzz test and for callers that read
// bodies themselves.
func DecodeBody(body []byte, v any) error {
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: body: %v", errBadRequest, err)
	}
	if dec.More() {
		return fmt.Errorf("%w: body: data after the JSON object", errBadRequest)
	}
	return nil
}

// caseView is a case as the API shows it.
type caseView struct {
	Case   cases.Case    `json:"case"`
	State  cases.State   `json:"state"`
	Events []cases.Event `json:"events,omitempty"`
}

func (a *API) list(w http.ResponseWriter, r *http.Request, actor process.Actor) error {
	q := r.URL.Query()
	f := cases.Filter{ServiceCode: q.Get("service")}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return fmt.Errorf("%w: limit %q", errBadRequest, s)
		}
		f.Limit = n
	}
	for _, s := range q["status"] {
		for _, st := range strings.Split(s, ",") {
			f.Statuses = append(f.Statuses, cases.Status(st))
		}
	}
	switch actor.Role {
	case process.RoleDepartment:
		f.Department = actor.Department
	case process.RoleFollowUp:
		f.Statuses = []cases.Status{cases.StatusFollowUp}
	default:
		f.Department = q.Get("department")
	}
	cs, err := a.eng.Store().CaseSearch(r.Context(), f)
	if err != nil {
		return err
	}
	if cs == nil {
		cs = []cases.Case{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"cases": cs})
	return nil
}

func (a *API) get(w http.ResponseWriter, r *http.Request, actor process.Actor) error {
	c, st, evs, err := a.eng.Case(r.Context(), r.PathValue("code"), actor)
	if err != nil {
		return err
	}
	if actor.Role == process.RoleFollowUp && c.Status != cases.StatusFollowUp {
		// The unit sees its queue, and the cases it has just handled.
		handled := false
		for _, ev := range evs {
			if strings.HasPrefix(ev.Actor, string(process.RoleFollowUp)) {
				handled = true
			}
		}
		if !handled {
			return cases.ErrNotFound
		}
	}
	writeJSON(w, http.StatusOK, caseView{Case: c, State: st, Events: evs})
	return nil
}

// done answers a successful action with the case as it now stands.
func done(w http.ResponseWriter, c cases.Case, err error) error {
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"case": c})
	return nil
}

func (a *API) accept(w http.ResponseWriter, r *http.Request, actor process.Actor) error {
	var in struct{}
	if err := decode(r, &in); err != nil {
		return err
	}
	c, err := a.eng.Accept(r.Context(), r.PathValue("code"), actor)
	return done(w, c, err)
}

func (a *API) answer(w http.ResponseWriter, r *http.Request, actor process.Actor) error {
	var in struct {
		Text        string   `json:"text"`
		Attachments []string `json:"attachments"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	c, err := a.eng.Answer(r.Context(), r.PathValue("code"), actor, in.Text, in.Attachments)
	return done(w, c, err)
}

func (a *API) ask(w http.ResponseWriter, r *http.Request, actor process.Actor) error {
	var in struct {
		Question string `json:"question"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	c, err := a.eng.AskCitizen(r.Context(), r.PathValue("code"), actor, in.Question)
	return done(w, c, err)
}

func (a *API) reject(w http.ResponseWriter, r *http.Request, actor process.Actor) error {
	var in struct {
		Reason string `json:"reason"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	c, err := a.eng.Reject(r.Context(), r.PathValue("code"), actor, in.Reason)
	return done(w, c, err)
}

func (a *API) ack(w http.ResponseWriter, r *http.Request, actor process.Actor) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return fmt.Errorf("%w: event id %q", errBadRequest, r.PathValue("id"))
	}
	c, err := a.eng.Ack(r.Context(), r.PathValue("code"), actor, id)
	return done(w, c, err)
}

func (a *API) verify(w http.ResponseWriter, r *http.Request, actor process.Actor) error {
	var in struct {
		Note string `json:"note"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	c, err := a.eng.Verify(r.Context(), r.PathValue("code"), actor, in.Note)
	return done(w, c, err)
}

func (a *API) assign(w http.ResponseWriter, r *http.Request, actor process.Actor) error {
	var in struct {
		Department string `json:"department"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	c, err := a.eng.Assign(r.Context(), r.PathValue("code"), actor, in.Department)
	return done(w, c, err)
}

func (a *API) extend(w http.ResponseWriter, r *http.Request, actor process.Actor) error {
	var in struct {
		Hours  float64 `json:"hours"`
		Reason string  `json:"reason"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	c, err := a.eng.Extend(r.Context(), r.PathValue("code"), actor, time.Duration(in.Hours*float64(time.Hour)), in.Reason)
	return done(w, c, err)
}

func (a *API) rate(w http.ResponseWriter, r *http.Request, actor process.Actor) error {
	var in struct {
		Rating  int    `json:"rating"`
		Comment string `json:"comment"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	c, err := a.eng.Rate(r.Context(), r.PathValue("code"), actor, in.Rating, in.Comment)
	return done(w, c, err)
}

func (a *API) resume(w http.ResponseWriter, r *http.Request, actor process.Actor) error {
	var in struct {
		Note string `json:"note"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	c, err := a.eng.Resume(r.Context(), r.PathValue("code"), actor, in.Note)
	return done(w, c, err)
}

func (a *API) duplicate(w http.ResponseWriter, r *http.Request, actor process.Actor) error {
	var in struct {
		Of   string `json:"of"` // the master case's tracking code
		Note string `json:"note"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	c, err := a.eng.MarkDuplicate(r.Context(), r.PathValue("code"), actor, in.Of, in.Note)
	return done(w, c, err)
}

func (a *API) notDuplicate(w http.ResponseWriter, r *http.Request, actor process.Actor) error {
	var in struct {
		Note string `json:"note"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	c, err := a.eng.NotDuplicate(r.Context(), r.PathValue("code"), actor, in.Note)
	return done(w, c, err)
}

func (a *API) followUp(w http.ResponseWriter, r *http.Request, actor process.Actor) error {
	var in struct {
		Note string `json:"note"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	code := r.PathValue("code")
	var c cases.Case
	var err error
	switch r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:] {
	case "return":
		c, err = a.eng.FollowUpReturn(r.Context(), code, actor, in.Note)
	case "escalate":
		c, err = a.eng.FollowUpEscalate(r.Context(), code, actor, in.Note)
	default:
		c, err = a.eng.FollowUpClose(r.Context(), code, actor, in.Note)
	}
	return done(w, c, err)
}

func (a *API) outbox(w http.ResponseWriter, r *http.Request, actor process.Actor) error {
	status := r.URL.Query().Get("status")
	if status == "" {
		status = cases.OutboxDead
	}
	switch status {
	case cases.OutboxDead, cases.OutboxPending, cases.OutboxDone:
	default:
		return fmt.Errorf("%w: status %q", errBadRequest, status)
	}
	rows, err := a.eng.Store().OutboxList(r.Context(), status, 100)
	if err != nil {
		return err
	}
	type row struct {
		cases.Outbox
		Body json.RawMessage `json:"body,omitempty"`
	}
	out := make([]row, 0, len(rows))
	for _, o := range rows {
		var body json.RawMessage
		if json.Valid(o.Body) {
			body = o.Body
		}
		out = append(out, row{Outbox: o, Body: body})
	}
	writeJSON(w, http.StatusOK, map[string]any{"outbox": out})
	return nil
}

func (a *API) requeue(w http.ResponseWriter, r *http.Request, actor process.Actor) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return fmt.Errorf("%w: id %q", errBadRequest, r.PathValue("id"))
	}
	if err := a.eng.Requeue(r.Context(), id); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"requeued": id})
	return nil
}
