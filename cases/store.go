package cases

import (
	"context"
	"time"

	"github.com/dargah137/dargah/gateway"
)

// Store is case storage. Implementations keep SQL inside their package and
// return ErrNotFound / ErrConflict (wrapped) instead of driver errors. Every
// state change is one transaction together with its timeline event.
//
// The message ledger lives in the same store so that deciding a message and
// opening its case commit together: a redelivered message finds its
// decision and never opens a second case.
type Store interface {
	gateway.Ledger

	// CaseGetByTracking returns the case with that tracking code.
	CaseGetByTracking(ctx context.Context, code string) (Case, error)
	// CaseFindOpenByThread returns the newest open case of a portal thread,
	// so a reply in a conversation lands on its case.
	CaseFindOpenByThread(ctx context.Context, portal, threadKey string) (Case, error)
	// CaseEvents lists the timeline of a case, oldest first; publicOnly
	// leaves out staff-only events.
	CaseEvents(ctx context.Context, caseID int64, publicOnly bool) ([]Event, error)
	// CaseSearch lists cases matching f, newest first.
	CaseSearch(ctx context.Context, f Filter) ([]Case, error)

	AttachmentSave(ctx context.Context, a gateway.Attachment, data []byte) (gateway.Attachment, error)
	AttachmentGet(ctx context.Context, id string) (gateway.Attachment, []byte, error)

	// KV is small durable state for adapters (offsets, cursors, dialogs).
	// A zero ttl keeps the value until deleted.
	KVGet(ctx context.Context, key string) ([]byte, bool, error)
	KVPut(ctx context.Context, key string, value []byte, ttl time.Duration) error
	KVDelete(ctx context.Context, key string) error

	// Migrate runs the embedded numbered migrations that have not run yet.
	Migrate(ctx context.Context) error
	Close() error
}

// Filter selects cases; zero fields match everything.
type Filter struct {
	TrackingCodes []string
	ServiceCode   string
	Statuses      []Status
	Department    string
	// Phone is the citizen's number in E.164 (an agent's screen pop shows
	// the caller's past cases).
	Phone      string
	OpenedFrom time.Time // inclusive
	OpenedTo   time.Time // exclusive
	Limit      int       // default 100, at most 1000
}
