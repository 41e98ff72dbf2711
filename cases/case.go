// Package cases holds the case lifecycle: a message the router could not
// resolve on the spot becomes a case with a tracking code, is assigned to a
// department and follows the escalation ladder until the citizen accepts
// the answer. Storage is behind Store, implemented by cases/casepg
// (PostgreSQL) and cases/casesqlite (SQLite); both pass cases/storetest.
package cases

import (
	"errors"
	"time"

	"github.com/dargah137/dargah/gateway"
)

// Status of a case.
type Status string

const (
	StatusOpen     Status = "open"     // opened, not yet accepted by a department
	StatusAssigned Status = "assigned" // with a department, deadline running
	StatusAnswered Status = "answered" // department answered, waiting for verification
	StatusVerified Status = "verified" // 137 verified the answer, citizen told, rating asked
	StatusWaiting  Status = "waiting"  // waiting for the citizen (more information)
	StatusFollowUp Status = "follow_up"
	StatusClosed   Status = "closed"
)

// Open reports whether the case still needs work.
func (s Status) Open() bool { return s != StatusClosed }

// Case is one trackable request.
type Case struct {
	ID              int64             `json:"-"`
	TrackingCode    string            `json:"tracking_code"`
	Status          Status            `json:"status"`
	ServiceCode     string            `json:"service_code"`
	Portal          string            `json:"portal"`
	PortalKind      string            `json:"portal_kind"`
	SourceMessageID string            `json:"source_message_id"`
	ThreadKey       string            `json:"thread_key,omitempty"`
	Contact         gateway.Contact   `json:"contact"`
	Description     string            `json:"description"`
	Location        *gateway.Location `json:"location,omitempty"`
	Language        string            `json:"language,omitempty"`
	Attachments     []string          `json:"attachments,omitempty"` // attachment ids
	Rule            string            `json:"rule"`                  // routing rule that opened it
	Department      string            `json:"department,omitempty"`
	District        string            `json:"district,omitempty"`
	EscalationLevel int               `json:"escalation_level"`
	DueAt           time.Time         `json:"due_at,omitzero"`
	Answer          string            `json:"answer,omitempty"`
	Rating          int               `json:"rating,omitempty"`
	Outcome         string            `json:"outcome,omitempty"` // set on close
	OpenedAt        time.Time         `json:"opened_at"`
	UpdatedAt       time.Time         `json:"updated_at"`
	ClosedAt        time.Time         `json:"closed_at,omitzero"`
}

// Event is one entry of a case's timeline. Public events are shown to the
// citizen; others only to staff.
type Event struct {
	ID     int64             `json:"id"`
	CaseID int64             `json:"-"`
	At     time.Time         `json:"at"`
	Kind   string            `json:"kind"` // opened, message, assigned, escalated, answered, …
	Actor  string            `json:"actor,omitempty"`
	Note   string            `json:"note,omitempty"`
	Public bool              `json:"public"`
	Data   map[string]string `json:"data,omitempty"`
}

// Errors the domain sees; stores translate driver errors into these.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
)
