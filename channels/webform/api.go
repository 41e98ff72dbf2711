package webform

import (
	"encoding/json"
	"errors"
	"github.com/dargah137/dargah/internal/digits"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/channels"
	"github.com/dargah137/dargah/gateway"
)

// apiOutcome is the answer of POST and GET /api/v1/messages.
type apiOutcome struct {
	MessageID    string `json:"message_id"`
	Status       string `json:"status,omitempty"`
	Outcome      string `json:"outcome,omitempty"`
	Reply        string `json:"reply,omitempty"`
	TrackingCode string `json:"tracking_code,omitempty"`
}

// maxIdempotencyKey bounds the Idempotency-Key header; it is stored as the
// portal message id.
const maxIdempotencyKey = 200

func (p *Portal) handleAPIPost(w http.ResponseWriter, r *http.Request) {
	if e := checkContentType(r.Header.Get("Content-Type")); e != nil {
		writeAPIError(w, e)
		return
	}
	key := strings.TrimSpace(r.Header.Get("Idempotency-Key"))
	if len(key) > maxIdempotencyKey || !utf8.ValidString(key) || strings.ContainsFunc(key, isControl) {
		writeAPIError(w, badRequest("invalid_idempotency_key", "Idempotency-Key", "the Idempotency-Key header must be at most 200 printable characters"))
		return
	}
	body, e := readBody(w, r, p.cfg.MaxBodyBytes)
	if e != nil {
		writeAPIError(w, e)
		return
	}
	in, err := DecodeMessage(body, p.serviceSet())
	if err != nil {
		writeAPIError(w, asAPIError(err))
		return
	}
	if key != "" {
		key = "api:" + key // the form's nonces live in the same namespace
	}
	m := p.newMessage(key, "api")
	in.apply(&m)
	rc, err := p.submit(r.Context(), m)
	if err != nil {
		p.intakeError(w, m, err)
		return
	}
	p.writeOutcome(w, rc, true)
}

func (p *Portal) handleAPIGet(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	rc, err := p.env.Intake.Lookup(r.Context(), id)
	if err != nil || !p.ownReceipt(rc) {
		if err != nil && !errors.Is(err, gateway.ErrUnknownMessage) && !errors.Is(err, cases.ErrNotFound) {
			p.log.Error("look up message", "message", id, "err", err)
			writeAPIError(w, &apiError{Status: http.StatusInternalServerError, Code: "internal", Message: "could not look up the message"})
			return
		}
		writeAPIError(w, &apiError{Status: http.StatusNotFound, Code: "not_found", Message: "no such message"})
		return
	}
	p.writeOutcome(w, rc, false)
}

// writeOutcome answers 200 with the decision, or 202 while it is pending.
func (p *Portal) writeOutcome(w http.ResponseWriter, rc gateway.Receipt, created bool) {
	switch rc.Status {
	case gateway.StatusDecided:
		writeJSON(w, http.StatusOK, apiOutcome{
			MessageID:    rc.MessageID,
			Outcome:      string(rc.Decision.Outcome),
			Reply:        rc.Decision.Reply,
			TrackingCode: rc.Decision.TrackingCode,
		})
	case gateway.StatusDead:
		// Kept for an operator to replay; the citizen should not resend.
		writeJSON(w, http.StatusOK, apiOutcome{MessageID: rc.MessageID, Status: "failed"})
	default:
		if created {
			w.Header().Set("Location", p.cfg.Prefix+"/api/v1/messages/"+rc.MessageID)
		}
		w.Header().Set("Retry-After", "1")
		writeJSON(w, http.StatusAccepted, apiOutcome{MessageID: rc.MessageID, Status: "accepted"})
	}
}

func (p *Portal) handleAPICase(w http.ResponseWriter, r *http.Request) {
	if p.rateLimited(w, r) {
		writeAPIError(w, &apiError{Status: http.StatusTooManyRequests, Code: "rate_limited", Message: "too many lookups; try again later"})
		return
	}
	code := normalizeTrackingCode(r.PathValue("code"))
	if !cases.ValidTrackingCode(code) {
		writeAPIError(w, badRequest("invalid_tracking_code", "tracking_code", "a tracking code is 10 digits"))
		return
	}
	cs, err := p.env.Cases.CaseStatus(r.Context(), code)
	if err != nil {
		if errors.Is(err, cases.ErrNotFound) {
			writeAPIError(w, &apiError{Status: http.StatusNotFound, Code: "not_found", Message: "no case has this tracking code"})
			return
		}
		p.log.Error("case status", "err", err)
		writeAPIError(w, &apiError{Status: http.StatusInternalServerError, Code: "internal", Message: "could not look up the case"})
		return
	}
	if cs.Timeline == nil {
		cs.Timeline = []channels.TimelineEntry{}
	}
	writeJSON(w, http.StatusOK, cs)
}

// intakeError answers a Submit failure: the input's fault is a 400,
// anything else a 503 the client may retry with the same key.
func (p *Portal) intakeError(w http.ResponseWriter, m gateway.Message, err error) {
	if errors.Is(err, gateway.ErrInvalid) {
		writeAPIError(w, badRequest("invalid_message", "", strings.TrimPrefix(err.Error(), gateway.ErrInvalid.Error()+": ")))
		return
	}
	p.log.Error("submit message", "portal_message_id", m.PortalMessageID, "err", err)
	w.Header().Set("Retry-After", "2")
	writeAPIError(w, &apiError{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "could not accept the message now; retry with the same Idempotency-Key"})
}

// apply copies checked input into m.
func (in Input) apply(m *gateway.Message) {
	m.Text = in.Text
	m.Contact = in.Contact
	m.Location = in.Location
	m.ServiceCode = in.ServiceCode
	m.Language = in.Language
}

func (p *Portal) serviceSet() map[string]bool {
	s := make(map[string]bool, len(p.services))
	for c := range p.services {
		s[c] = true
	}
	return s
}

// normalizeTrackingCode accepts Persian digits and stray separators, since
// citizens copy codes from SMS and type them on Persian keyboards.
func normalizeTrackingCode(s string) string {
	s = digits.ToASCII(strings.TrimSpace(s))
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, s)
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

func asAPIError(err error) *apiError {
	var e *apiError
	if errors.As(err, &e) {
		return e
	}
	return badRequest("invalid_request", "", err.Error())
}

func writeAPIError(w http.ResponseWriter, e *apiError) {
	writeJSON(w, e.Status, struct {
		Error *apiError `json:"error"`
	}{e})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}
