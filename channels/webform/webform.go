// Package webform is Dargah's web portal: a Persian right-to-left form for
// citizens, a JSON API for the city's app and kiosks, an Open311 GeoReport
// v2 endpoint for third-party clients, and public case tracking.
//
// It registers as portal type "webform". Every entry point turns its input
// into one gateway.Message, submits it to intake and waits a bounded time
// for the router's decision, so the citizen usually sees the outcome (an
// answer, or a tracking code) on the page that sent the request.
//
// Routes, under the configured prefix:
//
//	GET  /                         the form (fa by default; ?lang=en|ar)
//	POST /send                     form submission (multipart or urlencoded)
//	GET  /result/{id}              outcome of a form submission
//	GET  /track                    tracking page (?code=)
//	GET  /static/…                 embedded CSS and JS
//	POST /api/v1/messages          JSON intake (Idempotency-Key honoured)
//	GET  /api/v1/messages/{id}     outcome of a JSON submission
//	GET  /api/v1/cases/{code}      public status of a case (rate-limited)
//	GET  /open311/v2/services.json|xml, services/{code}.json|xml
//	POST /open311/v2/requests.json|xml        (api_key required)
//	GET  /open311/v2/requests.json|xml, requests/{id}.json|xml (rate-limited)
//	GET  /open311/v2/tokens/{token}.json|xml, discovery.json|xml
//
// Config (every setting optional; defaults shown):
//
//	portals:
//	  - name: web
//	    type: webform
//	    prefix: ""                  # e.g. /137
//	    open311_keys: []            # plus DARGAH_OPEN311_KEYS=k1,k2 at start
//	    max_body_bytes: 65536       # JSON and Open311 bodies
//	    max_attachment_bytes: 5242880
//	    decide_timeout: 2s          # then 202 / "being reviewed"
//	    track_rate: 30              # case lookups per minute per client IP
//	    jurisdiction_id: mashhad.ir
//	    trust_forwarded_for: false  # true only behind a proxy that sets it
//
// Idempotency: a JSON or Open311 client may send an Idempotency-Key header;
// it becomes the message's PortalMessageID, so the same key always yields
// the same message and at most one case, even when requests race. The
// first message under a key wins: a reused key with a different body gets
// the first one's outcome. The form carries a one-time nonce for the same
// effect on double clicks and reloads.
//
// Privacy: case lookups (the tracking page, /api/v1/cases, Open311 reads)
// show only what env.Cases returns, which is the public view of a case;
// they share one token bucket per client IP (track_rate per minute).
// Message outcomes are looked up by Dargah's message id, which carries 80
// random bits and is only ever given to the sender. Attachments are never
// served.
package webform

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/dargah137/dargah/channels"
	"github.com/dargah137/dargah/gateway"
)

// Kind is the portal type name in config.
const Kind = "webform"

func init() { channels.Register(Kind, func() channels.Adapter { return New() }) }

// Settings are the portal's YAML settings. Zero values take the defaults
// documented on each field.
type Settings struct {
	// Prefix is the URL prefix every route is mounted under, e.g. "/137";
	// empty mounts at the root.
	Prefix string `yaml:"prefix"`
	// Open311Keys are the api_key values Open311 clients may post with. Keys
	// from DARGAH_OPEN311_KEYS (comma-separated) are added at Start, so
	// secrets need not be written into config.
	Open311Keys []string `yaml:"open311_keys"`
	// MaxBodyBytes bounds a JSON request body (default 64 KiB).
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// MaxAttachmentBytes bounds one photo (default 5 MiB).
	MaxAttachmentBytes int64 `yaml:"max_attachment_bytes"`
	// DecideTimeout is how long a request waits for the router before
	// answering "accepted" (default 2s).
	DecideTimeout time.Duration `yaml:"decide_timeout"`
	// TrackRate is how many case lookups one client IP may make per minute
	// (default 30).
	TrackRate int `yaml:"track_rate"`
	// JurisdictionID is the Open311 jurisdiction (default "mashhad.ir").
	JurisdictionID string `yaml:"jurisdiction_id"`
	// TrustForwardedFor makes the rate limiter take the client IP from the
	// last X-Forwarded-For entry; enable it only behind a reverse proxy
	// that sets the header, or clients could pick their own IP.
	TrustForwardedFor bool `yaml:"trust_forwarded_for"`
}

// Open311KeysEnv names the environment variable with extra Open311 keys.
const Open311KeysEnv = "DARGAH_OPEN311_KEYS"

const (
	defaultMaxBody       = 64 << 10
	defaultMaxAttachment = 5 << 20
	defaultDecideTimeout = 2 * time.Second
	defaultTrackRate     = 30
	defaultJurisdiction  = "mashhad.ir"
)

// Portal is one configured web portal. Build it with New, decode settings
// into Settings(), Validate, then Start.
type Portal struct {
	cfg Settings

	env      channels.Env
	log      *slog.Logger
	now      func() time.Time
	keys     map[string]bool
	services map[string]channels.Service
	limiter  *Limiter
	pages    *pages

	mu       sync.Mutex
	stopped  bool
	inflight sync.WaitGroup
}

// New returns a portal with default settings and no side effects.
func New() *Portal {
	return &Portal{cfg: Settings{
		MaxBodyBytes:       defaultMaxBody,
		MaxAttachmentBytes: defaultMaxAttachment,
		DecideTimeout:      defaultDecideTimeout,
		TrackRate:          defaultTrackRate,
		JurisdictionID:     defaultJurisdiction,
	}}
}

// Settings returns the settings to decode the portal's YAML into.
func (p *Portal) Settings() any { return &p.cfg }

// Validate checks the settings without touching the network.
func (p *Portal) Validate() error {
	var errs []error
	c := &p.cfg
	if c.Prefix != "" {
		if !strings.HasPrefix(c.Prefix, "/") || strings.HasSuffix(c.Prefix, "/") || strings.ContainsAny(c.Prefix, "{} \t?#") {
			errs = append(errs, fmt.Errorf("prefix %q must start with / and not end with / (e.g. /137)", c.Prefix))
		}
	}
	if c.MaxBodyBytes <= 0 {
		errs = append(errs, fmt.Errorf("max_body_bytes must be positive, got %d", c.MaxBodyBytes))
	}
	if c.MaxAttachmentBytes <= 0 {
		errs = append(errs, fmt.Errorf("max_attachment_bytes must be positive, got %d", c.MaxAttachmentBytes))
	}
	if c.DecideTimeout <= 0 {
		errs = append(errs, fmt.Errorf("decide_timeout must be positive, got %s", c.DecideTimeout))
	}
	if c.TrackRate <= 0 {
		errs = append(errs, fmt.Errorf("track_rate must be positive, got %d", c.TrackRate))
	}
	if strings.TrimSpace(c.JurisdictionID) == "" {
		errs = append(errs, errors.New("jurisdiction_id must not be empty"))
	}
	for i, k := range c.Open311Keys {
		if strings.TrimSpace(k) == "" {
			errs = append(errs, fmt.Errorf("open311_keys[%d] is empty", i))
		}
	}
	return errors.Join(errs...)
}

// Start mounts the portal's handlers on env.Mux. It needs env.Mux,
// env.Intake and env.Cases; env.Attachments is needed for photos.
func (p *Portal) Start(_ context.Context, env channels.Env) error {
	if env.Mux == nil || env.Intake == nil || env.Cases == nil {
		return errors.New("webform: env.Mux, env.Intake and env.Cases are required")
	}
	p.env = env
	p.log = env.Logger
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	p.log = p.log.With("portal", env.Portal, "type", Kind)
	p.now = env.Now
	if p.now == nil {
		p.now = time.Now
	}
	p.keys = map[string]bool{}
	for _, k := range p.cfg.Open311Keys {
		p.keys[strings.TrimSpace(k)] = true
	}
	for _, k := range strings.Split(os.Getenv(Open311KeysEnv), ",") {
		if k = strings.TrimSpace(k); k != "" {
			p.keys[k] = true
		}
	}
	p.services = map[string]channels.Service{}
	for _, s := range env.Services {
		p.services[s.Code] = s
	}
	p.limiter = NewLimiter(p.cfg.TrackRate, time.Minute, 10000, p.now)
	pg, err := loadPages()
	if err != nil {
		return fmt.Errorf("webform: %w", err)
	}
	p.pages = pg
	p.mount(env.Mux)
	p.log.Info("web portal started", "prefix", p.cfg.Prefix, "open311_keys", len(p.keys))
	return nil
}

// Stop makes the handlers answer 503 and waits for requests in flight,
// bounded by ctx. Handlers cannot be unmounted from the host's mux.
func (p *Portal) Stop(ctx context.Context) error {
	p.mu.Lock()
	p.stopped = true
	p.mu.Unlock()
	done := make(chan struct{})
	go func() { p.inflight.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("webform: stop: %w", ctx.Err())
	}
}

// mount registers every route under the prefix.
func (p *Portal) mount(mux channels.Mux) {
	pre := p.cfg.Prefix
	h := func(pattern string, f http.HandlerFunc) {
		method, path, _ := strings.Cut(pattern, " ")
		mux.Handle(method+" "+pre+path, p.guard(f))
	}
	h("GET /{$}", p.handleFormPage)
	if pre != "" {
		// "/137" without the slash is what people type.
		mux.Handle("GET "+pre, http.RedirectHandler(pre+"/", http.StatusMovedPermanently))
	}
	h("POST /send", p.handleFormPost)
	h("GET /result/{id}", p.handleResultPage)
	h("GET /track", p.handleTrackPage)
	mux.Handle("GET "+pre+"/static/", http.StripPrefix(pre, staticHandler()))

	h("POST /api/v1/messages", p.handleAPIPost)
	h("GET /api/v1/messages/{id}", p.handleAPIGet)
	h("GET /api/v1/cases/{code}", p.handleAPICase)

	for _, f := range []string{"json", "xml"} {
		h("GET /open311/v2/services."+f, p.handleO311Services)
		h("GET /open311/v2/requests."+f, p.handleO311Requests)
		h("POST /open311/v2/requests."+f, p.handleO311Post)
		h("GET /open311/v2/discovery."+f, p.handleO311Discovery)
	}
	h("GET /open311/v2/services/{file}", p.handleO311Definition)
	h("GET /open311/v2/requests/{file}", p.handleO311Request)
	h("GET /open311/v2/tokens/{file}", p.handleO311Token)
}

// guard counts requests in flight for Stop and refuses new ones after it.
func (p *Portal) guard(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		if p.stopped {
			p.mu.Unlock()
			w.Header().Set("Retry-After", "5")
			http.Error(w, "portal stopped", http.StatusServiceUnavailable)
			return
		}
		p.inflight.Add(1)
		p.mu.Unlock()
		defer p.inflight.Done()
		w.Header().Set("X-Content-Type-Options", "nosniff")
		next(w, r)
	})
}

// submit hands m to intake and waits up to DecideTimeout for the decision.
// The receipt may still be StatusAccepted when the bound passes; an error
// means the message was not stored.
func (p *Portal) submit(ctx context.Context, m gateway.Message) (gateway.Receipt, error) {
	rc, err := p.env.Intake.Submit(ctx, m)
	if err != nil {
		if !acceptedDespite(rc, err) {
			return rc, err
		}
		p.log.Warn("message stored but not yet published; the sweeper will", "message", rc.MessageID, "err", err)
	}
	if rc.Status != gateway.StatusAccepted {
		return rc, nil
	}
	actx, cancel := context.WithTimeout(ctx, p.cfg.DecideTimeout)
	defer cancel()
	got, err := p.env.Intake.Await(actx, rc.MessageID)
	if err != nil {
		// The message is stored and will be decided; failing to watch for
		// the decision must not make the citizen send it again.
		p.log.Warn("await decision", "message", rc.MessageID, "err", err)
		return rc, nil
	}
	return got, nil
}

// acceptedDespite reports whether Submit stored the message although it
// returned an error (the ledger accepted it, publishing failed): the
// message is safe and will be republished, so the citizen must not be
// asked to send it again.
func acceptedDespite(rc gateway.Receipt, err error) bool {
	return err != nil && rc.MessageID != "" && !errors.Is(err, gateway.ErrInvalid)
}

// newMessage fills what every entry point shares.
func (p *Portal) newMessage(portalMessageID, via string) gateway.Message {
	now := p.now().UTC()
	if portalMessageID == "" {
		portalMessageID = gateway.NewID(now)
	}
	return gateway.Message{
		Portal:          p.env.Portal,
		PortalKind:      Kind,
		PortalMessageID: portalMessageID,
		ReceivedAt:      now,
		Metadata:        map[string]string{"via": via},
	}
}

// ownReceipt reports whether a receipt belongs to this portal, so one
// portal never shows another's messages.
func (p *Portal) ownReceipt(rc gateway.Receipt) bool { return rc.Portal == p.env.Portal }

var _ channels.Adapter = (*Portal)(nil)
