// Package desk is the portal for requests that reach the city on paper or
// in person — walk-in visitors at a service office and letters — typed in
// by 137 staff. Each office or letter desk is a portal in config, so the
// statistics show which door a request came through.
//
//   - name: walk-in-samen
//     type: desk
//     source: walk_in
//     office: دفتر خدمات منطقه ثامن
//     token_env: DARGAH_DESK_TOKEN
//
// Staff submit with POST /api/v1/desk/{portal}/messages and a bearer token;
// the answer is the router's decision, so the visitor leaves with a
// tracking code. A letter's registry number is its idempotency key, so a
// letter typed in twice opens one case.
package desk

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/dargah137/dargah/channels"
	"github.com/dargah137/dargah/channels/phone"
	"github.com/dargah137/dargah/gateway"
)

func init() {
	channels.Register("desk", func() channels.Adapter { return &Desk{} })
}

// Settings of a desk portal.
type Settings struct {
	// Source is walk_in or letter.
	Source string `yaml:"source"`
	// Office names the office or desk, shown on the case.
	Office string `yaml:"office"`
	// TokenEnv names the environment variable holding the staff bearer
	// token; the web consoles call this API with it.
	TokenEnv string `yaml:"token_env"`
	// DecideTimeout bounds how long the API waits for the router (default 3s).
	DecideTimeout time.Duration `yaml:"decide_timeout"`
}

// Desk is the adapter.
type Desk struct {
	cfg   Settings
	env   channels.Env
	log   *slog.Logger
	token []byte

	mu      sync.RWMutex
	stopped bool
	wg      sync.WaitGroup
}

// Settings implements channels.Adapter.
func (d *Desk) Settings() any { return &d.cfg }

// Validate implements channels.Adapter.
func (d *Desk) Validate() error {
	var errs []error
	switch d.cfg.Source {
	case "walk_in", "letter":
	default:
		errs = append(errs, fmt.Errorf("source %q is not one of walk_in, letter", d.cfg.Source))
	}
	if d.cfg.TokenEnv == "" {
		errs = append(errs, errors.New("token_env is required: staff authenticate with the token it names"))
	}
	if d.cfg.DecideTimeout < 0 {
		errs = append(errs, errors.New("decide_timeout must not be negative"))
	}
	return errors.Join(errs...)
}

// Start implements channels.Adapter.
func (d *Desk) Start(ctx context.Context, env channels.Env) error {
	tok := strings.TrimSpace(os.Getenv(d.cfg.TokenEnv))
	if len(tok) < 16 {
		return fmt.Errorf("environment variable %s must hold a staff token of at least 16 characters", d.cfg.TokenEnv)
	}
	if d.cfg.DecideTimeout == 0 {
		d.cfg.DecideTimeout = 3 * time.Second
	}
	d.token, d.env, d.log = []byte(tok), env, env.Logger
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	env.Mux.Handle("POST /api/v1/desk/"+env.Portal+"/messages", http.HandlerFunc(d.handle))
	return nil
}

// Stop implements channels.Adapter: new requests get 503, those in
// flight finish.
func (d *Desk) Stop(ctx context.Context) error {
	d.mu.Lock()
	d.stopped = true
	d.mu.Unlock()
	done := make(chan struct{})
	go func() { d.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Entry is what staff type in.
type Entry struct {
	Text    string `json:"text"`
	Contact struct {
		Phone string `json:"phone"`
		Email string `json:"email"`
		Name  string `json:"name"`
	} `json:"contact"`
	Location *struct {
		Lat     float64 `json:"lat"`
		Long    float64 `json:"long"`
		Address string  `json:"address"`
	} `json:"location"`
	ServiceCode string `json:"service_code"`
	Language    string `json:"language"`
	// Reference is the letter's registry number or the visit's ticket;
	// the same reference never opens a second case.
	Reference string `json:"reference"`
	// Staff is who typed it in, kept on the message for the audit trail.
	Staff string `json:"staff"`
}

type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, status int, code, field, msg string) {
	writeJSON(w, status, map[string]apiError{"error": {Code: code, Message: msg, Field: field}})
}

func (d *Desk) handle(w http.ResponseWriter, r *http.Request) {
	d.mu.RLock()
	if d.stopped {
		d.mu.RUnlock()
		fail(w, http.StatusServiceUnavailable, "stopping", "", "the portal is stopping")
		return
	}
	d.wg.Add(1)
	d.mu.RUnlock()
	defer d.wg.Done()

	auth, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || subtle.ConstantTimeCompare([]byte(auth), d.token) != 1 {
		fail(w, http.StatusUnauthorized, "unauthorized", "", "a valid staff token is required")
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		fail(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "", "send application/json")
		return
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	var e Entry
	if err := dec.Decode(&e); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			fail(w, http.StatusRequestEntityTooLarge, "too_large", "", "the body is larger than 64 KiB")
			return
		}
		fail(w, http.StatusBadRequest, "invalid_json", "", "the body is not valid JSON for this API: "+err.Error())
		return
	}
	if dec.Decode(&struct{}{}) != io.EOF {
		fail(w, http.StatusBadRequest, "invalid_json", "", "the body must hold one JSON object")
		return
	}
	m, field, err := d.message(e)
	if err != nil {
		fail(w, http.StatusUnprocessableEntity, "invalid_field", field, err.Error())
		return
	}
	rc, err := d.env.Intake.Submit(r.Context(), m)
	if err != nil {
		if errors.Is(err, gateway.ErrInvalid) {
			fail(w, http.StatusUnprocessableEntity, "invalid_message", "", err.Error())
			return
		}
		d.log.Error("desk intake failed", "err", err)
		fail(w, http.StatusServiceUnavailable, "unavailable", "", "the request could not be stored; try again")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), d.cfg.DecideTimeout)
	defer cancel()
	if rc.Status == gateway.StatusAccepted {
		if rc, err = d.env.Intake.Await(ctx, rc.MessageID); err != nil {
			fail(w, http.StatusServiceUnavailable, "unavailable", "", err.Error())
			return
		}
	}
	status := http.StatusOK
	body := map[string]any{"message_id": rc.MessageID, "status": rc.Status}
	if rc.Status == gateway.StatusDecided {
		body["outcome"] = rc.Decision.Outcome
		body["reply"] = rc.Decision.Reply
		body["tracking_code"] = rc.Decision.TrackingCode
	} else {
		status = http.StatusAccepted
	}
	writeJSON(w, status, body)
}

func (d *Desk) message(e Entry) (gateway.Message, string, error) {
	m := gateway.Message{
		Portal: d.env.Portal, PortalKind: "desk", Text: strings.TrimSpace(e.Text),
		ServiceCode: e.ServiceCode, Language: e.Language,
		Metadata: map[string]string{"source": d.cfg.Source},
	}
	if d.cfg.Office != "" {
		m.Metadata["office"] = d.cfg.Office
	}
	if s := strings.TrimSpace(e.Staff); s != "" {
		m.Metadata["staff"] = s
	}
	if e.Contact.Phone != "" {
		p, err := phone.Normalize(e.Contact.Phone)
		if err != nil {
			return m, "contact.phone", fmt.Errorf("phone %q: %w", e.Contact.Phone, err)
		}
		m.Contact.Phone = p
	}
	m.Contact.Email, m.Contact.Name, m.Contact.Language = strings.TrimSpace(e.Contact.Email), strings.TrimSpace(e.Contact.Name), e.Language
	if e.Location != nil {
		m.Location = &gateway.Location{Lat: e.Location.Lat, Long: e.Location.Long, Address: strings.TrimSpace(e.Location.Address)}
	}
	if ref := strings.TrimSpace(e.Reference); ref != "" {
		m.PortalMessageID = d.cfg.Source + ":" + ref
		m.Metadata["reference"] = ref
	} else {
		var b [12]byte
		_, _ = rand.Read(b[:])
		m.PortalMessageID = d.cfg.Source + ":" + hex.EncodeToString(b[:])
	}
	if d.cfg.Source == "letter" && e.Reference == "" {
		return m, "reference", errors.New("a letter needs its registry number (reference)")
	}
	for _, s := range d.env.Services {
		if s.Code == e.ServiceCode {
			return m, "", nil
		}
	}
	if e.ServiceCode != "" {
		return m, "service_code", fmt.Errorf("unknown service code %q", e.ServiceCode)
	}
	return m, "", nil
}

var _ channels.Adapter = (*Desk)(nil)
