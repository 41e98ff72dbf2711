// Package channels is the seam between Dargah and its intake portals. Each
// adapter kind (webform, telegram, email, sms, asterisk…) lives in its own
// package, registers a factory under its type name in init, and is built from
// a YAML block in the config file.
//
// Lifecycle, the same for every adapter: construct (no side effects) →
// decode settings → Validate → Start(ctx, env) → Stop(ctx), which drains.
package channels

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/dargah137/dargah/gateway"
)

// Adapter is one configured portal.
type Adapter interface {
	// Settings returns a pointer that the portal's YAML settings (every key
	// but name and type) are decoded into, strictly.
	Settings() any
	// Validate checks the decoded settings without touching the network.
	Validate() error
	// Start begins intake. It must return promptly; long-running work runs
	// in goroutines that end when Stop is called or ctx is done.
	Start(ctx context.Context, env Env) error
	// Stop ends intake and waits for in-flight work, bounded by ctx.
	Stop(ctx context.Context) error
}

// Replier is implemented by adapters that can answer a citizen on the
// portal the message came from (chat, SMS, email). The webform answers
// synchronously and need not implement it.
type Replier interface {
	Reply(ctx context.Context, to gateway.Message, r gateway.Receipt) error
}

// Notice is a case event worth telling the citizen about.
type Notice struct {
	TrackingCode string
	// Kind is the event: "answered", "escalated", "closed", "rating_request", …
	Kind     string
	Text     string
	Contact  gateway.Contact
	Thread   string
	Language string
}

// Notifier is implemented by adapters that can push case notices to the
// citizen who opened the case through them.
type Notifier interface {
	Notify(ctx context.Context, n Notice) error
}

// Intake is how an adapter hands messages to Dargah.
type Intake interface {
	// Submit validates, stores and publishes m; it is idempotent by
	// (m.Portal, m.PortalMessageID) and returns the existing receipt for a
	// repeat. Invalid input gives an error wrapping gateway.ErrInvalid.
	Submit(ctx context.Context, m gateway.Message) (gateway.Receipt, error)
	// Await waits until message id is decided or ctx is done, and returns
	// its receipt as it then stands.
	Await(ctx context.Context, id string) (gateway.Receipt, error)
	// Lookup returns a receipt without waiting.
	Lookup(ctx context.Context, id string) (gateway.Receipt, error)
	// LookupByPortalID finds a receipt by the portal's own message id.
	LookupByPortalID(ctx context.Context, portal, portalMessageID string) (gateway.Receipt, error)
}

// Attachments stores the files citizens send. Bytes are stored by Dargah
// and referenced from messages by id.
type Attachments interface {
	AttachmentSave(ctx context.Context, a gateway.Attachment, data []byte) (gateway.Attachment, error)
	AttachmentGet(ctx context.Context, id string) (gateway.Attachment, []byte, error)
}

// KV is small durable per-portal state: update offsets, IMAP cursors,
// conversation state. Keys are scoped by the portal name by the caller.
type KV interface {
	KVGet(ctx context.Context, key string) (value []byte, found bool, err error)
	KVPut(ctx context.Context, key string, value []byte, ttl time.Duration) error
	KVDelete(ctx context.Context, key string) error
}

// Mux is where HTTP adapters mount their handlers on Dargah's server.
type Mux interface {
	Handle(pattern string, h http.Handler)
}

// Env is what Dargah gives an adapter when it starts. Fields an adapter
// does not need may be ignored; all are set by the host.
type Env struct {
	Portal      string
	Kind        string
	Logger      *slog.Logger
	Now         func() time.Time
	Intake      Intake
	Attachments Attachments
	KV          KV
	Mux         Mux
	// Cases answers public status lookups (tracking pages, bots).
	Cases CaseLookup
	// Services lists the service codes the router knows, for menus.
	Services []Service
	// FAQs are the frequent questions a portal may offer as a menu; a
	// message for a picked one carries Metadata["faq"] = its ID.
	FAQs []FAQ
	// Timeline lets an adapter note what happened on the way to the citizen
	// (an SMS delivery report, a bounced mail) on the case's staff timeline.
	Timeline Timeline
	// Leases is shared by every instance of the deployment; adapters that
	// must run on one instance at a time (pollers) take a lease here.
	Leases Leaser
	// Instance names this Dargah process, as a lease holder.
	Instance string
}

// Service is one service code offered to citizens.
type Service struct {
	Code        string            `json:"service_code"`
	Name        map[string]string `json:"name"` // by language
	Description map[string]string `json:"description,omitempty"`
	Group       string            `json:"group,omitempty"`
	Keywords    []string          `json:"keywords,omitempty"`
}

// FAQ is a frequent question a portal may offer as a menu. A message
// whose Metadata["faq"] is ID is answered with that entry, whatever its
// text says.
type FAQ struct {
	ID       string            `json:"id"`
	Question map[string]string `json:"question"` // by language; Persian always
}

// In returns the question in lang, falling back to Persian.
func (f FAQ) In(lang string) string {
	if q := f.Question[lang]; q != "" {
		return q
	}
	return f.Question["fa"]
}

// CaseStatus is the public view of one case: nothing about other citizens,
// nothing internal.
type CaseStatus struct {
	TrackingCode string            `json:"tracking_code"`
	Status       string            `json:"status"`
	ServiceCode  string            `json:"service_code"`
	Portal       string            `json:"portal,omitempty"`
	Description  string            `json:"description,omitempty"`
	Address      string            `json:"address,omitempty"`
	Lat          float64           `json:"lat,omitempty"`
	Long         float64           `json:"long,omitempty"`
	Department   string            `json:"department,omitempty"`
	Answer       string            `json:"answer,omitempty"`
	OpenedAt     time.Time         `json:"opened_at"`
	UpdatedAt    time.Time         `json:"updated_at"`
	Timeline     []TimelineEntry   `json:"timeline"`
	Extra        map[string]string `json:"-"`
}

// TimelineEntry is one public event of a case.
type TimelineEntry struct {
	At   time.Time `json:"at"`
	Kind string    `json:"kind"`
	Note string    `json:"note,omitempty"`
}

// CaseQuery filters a public case listing (Open311 GET requests.json).
type CaseQuery struct {
	TrackingCodes []string
	ServiceCode   string
	Status        string // "open" or "closed" in Open311 terms; empty for any
	From, To      time.Time
	Limit         int
}

// CaseLookup is the read side adapters need for citizens' questions.
type CaseLookup interface {
	CaseStatus(ctx context.Context, trackingCode string) (CaseStatus, error)
	CaseSearch(ctx context.Context, q CaseQuery) ([]CaseStatus, error)
}

// Leaser grants one holder at a time a named lease, so that only one
// Dargah instance polls a given bot or mailbox. The app provides a Redis
// lease in production and an in-process one on the embedded default.
type Leaser interface {
	// Acquire takes key for holder, or renews it when holder already has
	// it, for ttl. held is false while another holder has it.
	Acquire(ctx context.Context, key, holder string, ttl time.Duration) (held bool, err error)
	// Release gives key up if holder has it.
	Release(ctx context.Context, key, holder string) error
}

// Timeline records staff-visible notes on a case's timeline.
type Timeline interface {
	// CaseNote adds an event of kind with note to the case with that
	// tracking code; an unknown code gives an error wrapping not found.
	CaseNote(ctx context.Context, trackingCode, kind, note string) error
}
