package gateway

import (
	"context"
	"errors"
	"time"
)

// Outcome is what the router decided for a message.
type Outcome string

const (
	// OutcomeResolved: answered on the spot (FAQ, case status, live agent).
	OutcomeResolved Outcome = "resolved"
	// OutcomeCaseOpened: a trackable case was opened.
	OutcomeCaseOpened Outcome = "case_opened"
)

// Decision is the router's verdict on one message. Rule names the rule that
// made it, so every decision can be explained afterwards.
type Decision struct {
	Outcome     Outcome `json:"outcome"`
	Rule        string  `json:"rule"`
	Reply       string  `json:"reply"`
	ServiceCode string  `json:"service_code,omitempty"`
	// TrackingCode is set by the ledger when a case is opened, or by the
	// router when it answered a status question about an existing case.
	TrackingCode string `json:"tracking_code,omitempty"`
	// LinkedTracking is an existing case this message belongs to (a reply in
	// a thread); the ledger attaches the message to it instead of opening one.
	LinkedTracking string `json:"linked_tracking,omitempty"`
}

// Status of a message in the ledger.
type Status string

const (
	StatusAccepted Status = "accepted" // stored and published, not yet decided
	StatusDecided  Status = "decided"
	StatusDead     Status = "dead" // in the dead-letter place
)

// Receipt is the ledger's record of one accepted message and, once decided,
// its decision.
type Receipt struct {
	MessageID       string    `json:"message_id"`
	Portal          string    `json:"portal"`
	PortalMessageID string    `json:"portal_message_id"`
	Status          Status    `json:"status"`
	Decision        Decision  `json:"decision"`
	AcceptedAt      time.Time `json:"accepted_at"`
	DecidedAt       time.Time `json:"decided_at,omitzero"`
}

// Ledger records every accepted message and its decision. Implemented by the
// case stores, so that a decision and the case it opens are one transaction.
type Ledger interface {
	// MessageAccept stores m unless (Portal, PortalMessageID) is already
	// known; created is false and the existing receipt is returned then.
	MessageAccept(ctx context.Context, m Message) (r Receipt, created bool, err error)
	// MessageGet returns the receipt of message id, or an error wrapping ErrUnknownMessage.
	MessageGet(ctx context.Context, id string) (Receipt, error)
	// MessageGetByPortalID finds a receipt by the portal's own id.
	MessageGetByPortalID(ctx context.Context, portal, portalMessageID string) (Receipt, error)
	// MessageDecide records d for message id; with OutcomeCaseOpened it opens
	// the case in the same transaction and fills d.TrackingCode. Deciding an
	// already decided message changes nothing and returns the first decision,
	// which makes redelivery harmless.
	MessageDecide(ctx context.Context, id string, d Decision) (Receipt, error)
	// MessagesUndecided lists accepted messages older than before, oldest
	// first, so a sweeper can republish what a crash left behind.
	MessagesUndecided(ctx context.Context, before time.Time, limit int) ([]Message, error)
	// MessageMarkDead records that message id went to the dead-letter place.
	MessageMarkDead(ctx context.Context, id, reason string) error
}

// ErrUnknownMessage is wrapped by ledger lookups that find nothing.
var ErrUnknownMessage = errors.New("unknown message")

// ErrInvalid is wrapped by intake errors caused by the input itself; HTTP
// adapters answer them with a 4xx.
var ErrInvalid = errors.New("invalid message")
