package cases

import (
	"context"
	"errors"
	"math"
	"time"

	"github.com/dargah137/dargah/gateway"
)

// The 137 process after a case is opened (assignment, escalation, answer,
// verification, feedback, follow-up) is Go code in cases/process. The
// stores only give it a locked read-modify-write of one case: the process
// computes a Step while the store holds the case row, and the store writes
// the case, its timer, timeline events and outbox rows in one transaction.
// That keeps the rules in one place for both backends.

// Timer kinds: what a case's running deadline (Case.DueAt) means.
const (
	TimerEscalate = "escalate" // the escalation level runs out
	TimerFollowUp = "follow_up"
	TimerFeedback = "feedback" // no rating: close as "no_feedback"
)

// State is a case's process bookkeeping beside Case. Case.DueAt is the
// running deadline; TimerKind says what it means ("" with a zero DueAt:
// no timer).
type State struct {
	TimerKind string `json:"timer_kind,omitempty"`
	// LevelStart is when the current escalation level started; the next
	// deadline counts from it (not from "now"), so a late scheduler run
	// never stretches the ladder.
	LevelStart time.Time `json:"level_start,omitzero"`
	// PausedKind and PausedLeft hold a timer stopped while the case waits
	// for the citizen: the kind and the time that was left.
	PausedKind string        `json:"paused_kind,omitempty"`
	PausedLeft time.Duration `json:"paused_left,omitempty"`
	// DuplicateOf is the tracking code of the case this one duplicates.
	// The store sets it before the Opened hook runs when an open case of the
	// same service lies within Hooks.DuplicateRadiusM.
	DuplicateOf string `json:"duplicate_of,omitempty"`
}

// Effects are what a Step writes besides the case and its state.
type Effects struct {
	Events []Event
	Outbox []Outbox
	// Unchanged: write nothing (an idempotent repeat). Events and Outbox
	// are ignored then.
	Unchanged bool
	// Duplicates, when set, is applied in the same transaction to every
	// case whose State.DuplicateOf is this case's tracking code.
	Duplicates Step
}

// Step computes one state change of a case while the store holds it
// locked: it edits c and st in place and returns the events and outbox
// rows to write with them. An error leaves everything as it was and is
// returned to the caller unwrapped by the store (so ErrConflict and
// friends reach HTTP handlers). c.UpdatedAt is set by the store.
type Step func(c *Case, st *State) (Effects, error)

// Outbox channels.
const (
	OutboxWebhook = "webhook" // office automation (cases/officeauto)
	OutboxNotice  = "notice"  // a notice to the citizen through the portal
	OutboxEmail   = "email"
	OutboxSMS     = "sms" // an official's text message (escalation ladder)
)

// OutboxResult is the result of one attempt to deliver outbox row ID:
// status done, dead or pending (retry at NextAt), with the attempts made
// and the error.
type OutboxResult struct {
	ID        int64
	Status    string
	Attempts  int
	NextAt    time.Time
	LastError string
}

// Outbox is one durable delivery written with the state change that
// causes it, and delivered later by a worker.
type Outbox struct {
	ID      int64  `json:"id"`
	CaseID  int64  `json:"case_id"`
	EventID string `json:"event_id"` // unique; a retry resends the same id
	Channel string `json:"channel"`  // OutboxWebhook, OutboxNotice, OutboxEmail
	Kind    string `json:"kind"`     // assigned, escalated, closed, answered, rating_request…
	// Target is the webhook URL, the portal name for a notice, the address
	// for an email.
	Target    string `json:"target"`
	SecretEnv string `json:"secret_env,omitempty"` // webhook HMAC secret's variable
	Body      []byte `json:"body"`
	Attempts  int    `json:"attempts"`
	// NextAt is when the row is due; a claimed row's NextAt is pushed by
	// the lease so a crashed worker's rows come back.
	NextAt      time.Time `json:"next_at"`
	Status      string    `json:"status"` // pending, done, dead
	LastError   string    `json:"last_error,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	DeliveredAt time.Time `json:"delivered_at,omitzero"`
}

// Outbox statuses.
const (
	OutboxPending = "pending"
	OutboxDone    = "done"
	OutboxDead    = "dead"
)

// Hooks are the process's part of MessageDecide: they run inside its
// transaction, so a case is opened together with its assignment, timer,
// events and outbox rows, and a message linked to a case (a reply, a
// rating) changes the case together with its decision.
type Hooks struct {
	// Opened runs when a case is opened, in the deciding transaction,
	// before or just after the store writes it (see OpenedEffects).
	// st.DuplicateOf is already set when the case duplicates an open one.
	Opened func(c *Case, st *State, m gateway.Message) (Effects, error)
	// Linked runs after a message is added to an existing case's timeline.
	Linked func(c *Case, st *State, m gateway.Message, d gateway.Decision) (Effects, error)
	// DuplicateRadiusM is how close (metres) an open case of the same
	// service must be for a new one to be its duplicate; 0 turns it off.
	DuplicateRadiusM float64
	// Committed, when set, is called after MessageDecide has committed a
	// decision that opened or changed a case: what Opened and Linked
	// wrote (outbox rows) is visible to other transactions from then on.
	Committed func()
}

// Decided calls h.Committed, if any, once MessageDecide has committed d.
func (h *Hooks) Decided(d gateway.Decision) {
	if h != nil && h.Committed != nil && (d.Outcome == gateway.OutcomeCaseOpened || d.LinkedTracking != "") {
		h.Committed()
	}
}

// ProcessStore is what cases/process needs from a store, besides Store.
type ProcessStore interface {
	Store
	// SetHooks installs the hooks MessageDecide runs. Call it before
	// messages are decided; it is safe to call concurrently though.
	SetHooks(h Hooks)
	// CaseState returns a case and its process state by tracking code.
	CaseState(ctx context.Context, code string) (Case, State, error)
	// CaseStep locks the case with tracking code code, runs step and
	// writes the result in one transaction.
	CaseStep(ctx context.Context, code string, step Step) (Case, State, error)
	// TimersFire claims up to limit cases whose deadline is at or before
	// now, skipping cases another transaction holds (another instance's
	// scheduler, an API call), runs step on each and writes the results in
	// one transaction. It returns how many fired. A step error aborts the
	// batch.
	TimersFire(ctx context.Context, now time.Time, limit int, step Step) (int, error)
	// OutboxClaim leases up to limit pending rows due at now until
	// now+lease: no other worker takes them meanwhile, and a worker that
	// dies leaves them to be claimed again once the lease ends.
	OutboxClaim(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]Outbox, error)
	// OutboxSettle records attempts' results, all in one statement or
	// transaction; an unknown row's error wraps ErrNotFound, the others are
	// recorded all the same.
	OutboxSettle(ctx context.Context, results ...OutboxResult) error
	// OutboxList lists rows with status, newest first.
	OutboxList(ctx context.Context, status string, limit int) ([]Outbox, error)
	// OutboxRequeue makes a dead row pending again, due at now, with its
	// attempts reset. Not dead: ErrConflict; unknown: ErrNotFound.
	OutboxRequeue(ctx context.Context, id int64, now time.Time) error
}

// ErrInvalidStep is wrapped by steps refused because of their input (no
// reason given, rating out of range): HTTP 422.
var ErrInvalidStep = errors.New("invalid")

// DistanceM is the great-circle (haversine) distance in metres.
func DistanceM(lat1, long1, lat2, long2 float64) float64 {
	const r = 6371008.8 // mean Earth radius
	rad := math.Pi / 180
	dLat, dLong := (lat2-lat1)*rad, (long2-long1)*rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLong/2)*math.Sin(dLong/2)
	return 2 * r * math.Asin(math.Min(1, math.Sqrt(a)))
}

// BoundingBox returns the lat/long box around a point that contains every
// point within radius metres, for an index-friendly prefilter.
func BoundingBox(lat, long, radiusM float64) (minLat, maxLat, minLong, maxLong float64) {
	dLat := radiusM / 111_000 * 1.01
	c := math.Cos(lat * math.Pi / 180)
	if c < 0.01 {
		c = 0.01
	}
	dLong := dLat / c
	return lat - dLat, lat + dLat, long - dLong, long + dLong
}
