// Package officeauto is the outgoing side of the city's office automation:
// each assignment, escalation, reminder and close of a case is posted to
// the responsible department's office automation system as a signed JSON
// webhook. It also renders the matching email notices (fa/en/ar).
//
// Delivery state lives elsewhere: the case stores keep an outbox of
// (event id, url, secret env, body, attempt, next attempt at). A scheduler
// takes due rows and calls Sender.Deliver; the Result says whether the
// row is done, should be retried (and when) or dead-lettered. Because the
// event id and body are stored, a retry resends identical bytes, and a
// receiver deduplicates on X-Dargah-Event-Id.
//
// # Wire format
//
//	POST <department webhook url>
//	Content-Type: application/json
//	X-Dargah-Event-Id: <event id>
//	X-Dargah-Timestamp: <unix seconds of this attempt>
//	X-Dargah-Attempt: <1-based attempt number>
//	X-Dargah-Signature: sha256=<hex HMAC-SHA256 of the raw body with the department's secret>
//
//	{"event_id": "...", "kind": "assigned", "tracking_code": "1234567890",
//	 "department": "civil_works", "level": 0, "due_at": "2026-11-29T16:30:00Z", ...}
//
// The signature covers the body only; the body carries event_id and
// occurred_at, so a receiver that wants replay protection checks those.
package officeauto

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/cases/workcal"
)

// Kind is what happened to the case.
type Kind string

const (
	KindAssigned  Kind = "assigned"  // level 0: the case reaches the department
	KindEscalated Kind = "escalated" // a later level started
	KindReminder  Kind = "reminder"  // the final level's deadline passed again
	KindClosed    Kind = "closed"    // the case was closed; the department may archive it
)

func (k Kind) valid() bool {
	switch k {
	case KindAssigned, KindEscalated, KindReminder, KindClosed:
		return true
	}
	return false
}

// Link points the receiver at more about the case.
type Link struct {
	Rel  string `json:"rel"` // "case" (staff view), "attachments", …
	Href string `json:"href"`
}

// Event is the webhook body.
type Event struct {
	ID           string `json:"event_id"`
	Kind         Kind   `json:"kind"`
	TrackingCode string `json:"tracking_code"`
	ServiceCode  string `json:"service_code,omitempty"`
	Department   string `json:"department"`
	District     string `json:"district,omitempty"`
	Level        int    `json:"level"`
	LevelName    string `json:"level_name,omitempty"`
	// DueAt is when the level runs out (zero on close); DueAtJalali is the
	// same moment as "1405/09/08 20:00" Tehran time, for display.
	DueAt       time.Time `json:"due_at,omitzero"`
	DueAtJalali string    `json:"due_at_jalali,omitempty"`
	Summary     string    `json:"summary"`
	Outcome     string    `json:"outcome,omitempty"` // on close
	Links       []Link    `json:"links,omitempty"`
	OccurredAt  time.Time `json:"occurred_at"`
}

// NewEventID returns a random 128-bit id as 32 hex digits. Store it with
// the outbox row: retries must reuse it.
func NewEventID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("event id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// MaxSummaryBytes bounds Event.Summary; the description is the citizen's
// text and the receiving systems have small fields.
const MaxSummaryBytes = 4000

// Validate checks the fields a receiver relies on.
func (e Event) Validate() error {
	switch {
	case e.ID == "" || len(e.ID) > 128:
		return errors.New("event: id must be 1–128 characters")
	case !e.Kind.valid():
		return fmt.Errorf("event %s: unknown kind %q", e.ID, e.Kind)
	case !cases.ValidTrackingCode(e.TrackingCode):
		return fmt.Errorf("event %s: invalid tracking code %q", e.ID, e.TrackingCode)
	case e.Department == "":
		return fmt.Errorf("event %s: missing department", e.ID)
	case e.Level < 0:
		return fmt.Errorf("event %s: negative level", e.ID)
	case len(e.Summary) > MaxSummaryBytes:
		return fmt.Errorf("event %s: summary is %d bytes, at most %d", e.ID, len(e.Summary), MaxSummaryBytes)
	case e.OccurredAt.IsZero():
		return fmt.Errorf("event %s: missing occurred_at", e.ID)
	case e.Kind != KindClosed && e.DueAt.IsZero():
		return fmt.Errorf("event %s: %s needs due_at", e.ID, e.Kind)
	}
	return nil
}

// Body validates e and returns the JSON to store in the outbox and send.
// Times are UTC; DueAtJalali is filled from DueAt when empty.
func (e Event) Body() ([]byte, error) {
	if err := e.Validate(); err != nil {
		return nil, err
	}
	e.OccurredAt = e.OccurredAt.UTC()
	if !e.DueAt.IsZero() {
		e.DueAt = e.DueAt.UTC()
		if e.DueAtJalali == "" {
			e.DueAtJalali = workcal.FormatJalali(e.DueAt, true)
		}
	}
	b, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("event %s: %w", e.ID, err)
	}
	return b, nil
}

// EventFor builds the event for case c as it stands after the change:
// department, district, escalation level and due time come from c, the
// summary is c.Description cut to MaxSummaryBytes on a character boundary,
// and a fresh event id is drawn. levelName and links are optional.
func EventFor(kind Kind, c cases.Case, levelName string, now time.Time, links ...Link) (Event, error) {
	id, err := NewEventID()
	if err != nil {
		return Event{}, err
	}
	e := Event{
		ID: id, Kind: kind, TrackingCode: c.TrackingCode, ServiceCode: c.ServiceCode,
		Department: c.Department, District: c.District, Level: c.EscalationLevel, LevelName: levelName,
		Summary: truncate(c.Description, MaxSummaryBytes), Outcome: c.Outcome, Links: links, OccurredAt: now,
	}
	if kind != KindClosed {
		e.DueAt = c.DueAt
	}
	if err := e.Validate(); err != nil {
		return Event{}, fmt.Errorf("case %s: %w", c.TrackingCode, err)
	}
	return e, nil
}

// truncate cuts s to at most n bytes without splitting a UTF-8 character.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
