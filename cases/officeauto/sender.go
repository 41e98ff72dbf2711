package officeauto

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Config configures a Sender. Zero fields take the defaults below.
type Config struct {
	// Timeout bounds one attempt, connect to last response byte; default 10s.
	Timeout time.Duration
	// MaxAttempts is how many attempts a delivery gets before it is
	// dead-lettered; default 10.
	MaxAttempts int
	// BaseDelay is the wait after the first failure; each later failure
	// doubles it up to MaxDelay. Defaults 30s and 1h (ten attempts span
	// about five hours, past a night-time outage of the receiver).
	BaseDelay time.Duration
	MaxDelay  time.Duration
	// UserAgent is sent with every request; default "dargah-officeauto/1".
	UserAgent string

	// Client sends the requests; default a client that does not follow
	// redirects (a POST must not silently turn into a GET elsewhere).
	Client *http.Client
	Logger *slog.Logger
	Now    func() time.Time
}

// Validate reports settings that cannot work.
func (c Config) Validate() error {
	switch {
	case c.Timeout < 0, c.BaseDelay < 0, c.MaxDelay < 0, c.MaxAttempts < 0:
		return errors.New("officeauto: negative setting")
	case c.BaseDelay > 0 && c.MaxDelay > 0 && c.MaxDelay < c.BaseDelay:
		return fmt.Errorf("officeauto: max delay %v is below base delay %v", c.MaxDelay, c.BaseDelay)
	}
	return nil
}

// Sender delivers webhook events. It holds no delivery state: the caller
// stores each Delivery and acts on the Result. Safe for concurrent use.
type Sender struct {
	cfg Config
	log *slog.Logger
}

// NewSender validates cfg, fills defaults and returns a Sender.
func NewSender(cfg Config) (*Sender, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = 10
	}
	if cfg.BaseDelay == 0 {
		cfg.BaseDelay = 30 * time.Second
	}
	if cfg.MaxDelay == 0 {
		cfg.MaxDelay = max(time.Hour, cfg.BaseDelay)
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "dargah-officeauto/1"
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Sender{cfg: cfg, log: cfg.Logger}, nil
}

// MaxAttempts is the configured attempt limit.
func (s *Sender) MaxAttempts() int { return s.cfg.MaxAttempts }

// NextAttempt is how long to wait after failed attempt number attempt
// (1-based) before the next one: BaseDelay·2^(attempt-1), capped at MaxDelay.
func (s *Sender) NextAttempt(attempt int) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	d := s.cfg.BaseDelay
	for i := 1; i < attempt; i++ {
		d *= 2
		if d >= s.cfg.MaxDelay || d <= 0 {
			return s.cfg.MaxDelay
		}
	}
	return min(d, s.cfg.MaxDelay)
}

// Delivery is one attempt to send a stored event.
type Delivery struct {
	EventID string
	URL     string
	Secret  []byte
	// Body is Event.Body() as stored; it is sent byte for byte.
	Body []byte
	// Attempt is this attempt's 1-based number (stored attempts + 1).
	Attempt int
}

// Result of one attempt. Exactly one of these holds:
//   - Done: the receiver accepted (2xx). Mark the row delivered.
//   - Permanent: do not retry; dead-letter the row with Err. Set for 4xx
//     other than 408/429, 3xx, an invalid delivery, or a retryable failure
//     on the last allowed attempt (Err wraps ErrExhausted).
//   - otherwise: retry after RetryAfter (the receiver's Retry-After when it
//     sent one, else NextAttempt(Attempt)), with Attempt+1. When ctx itself
//     was cancelled, RetryAfter is 0 and Err wraps ctx.Err(): the attempt
//     did not count, keep Attempt as it was.
type Result struct {
	Done       bool
	Permanent  bool
	RetryAfter time.Duration
	// Status is the HTTP status, 0 when no response arrived.
	Status int
	Err    error
}

// ErrExhausted is wrapped by Result.Err when the last attempt failed.
var ErrExhausted = errors.New("officeauto: attempts exhausted")

// ErrInvalidDelivery is wrapped by Result.Err for a delivery that can never succeed.
var ErrInvalidDelivery = errors.New("officeauto: invalid delivery")

// maxErrorBody is how much of a failed response goes into Result.Err.
const maxErrorBody = 512

// Deliver makes one attempt: POST d.Body to d.URL with the signature
// headers, bounded by the configured timeout and ctx. It never retries by
// itself.
func (s *Sender) Deliver(ctx context.Context, d Delivery) Result {
	if err := s.check(d); err != nil {
		return Result{Permanent: true, Err: err}
	}
	log := s.log.With("event_id", d.EventID, "attempt", d.Attempt)
	actx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, d.URL, bytes.NewReader(d.Body))
	if err != nil {
		return Result{Permanent: true, Err: fmt.Errorf("%w: %v", ErrInvalidDelivery, err)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", s.cfg.UserAgent)
	req.Header.Set(HeaderEventID, d.EventID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(s.cfg.Now().Unix(), 10))
	req.Header.Set(HeaderAttempt, strconv.Itoa(d.Attempt))
	req.Header.Set(HeaderSignature, Sign(d.Secret, d.Body))

	resp, err := s.cfg.Client.Do(req)
	if err != nil && ctx.Err() != nil {
		// The caller is shutting down: this attempt does not count.
		return Result{Err: fmt.Errorf("deliver event %s: %w", d.EventID, ctx.Err())}
	}
	if err != nil {
		// Network errors, timeouts and a cancelled ctx are all worth
		// another try: the event is stored and nothing was accepted.
		log.Warn("office automation delivery failed", "err", err)
		return s.retry(d, 0, 0, fmt.Errorf("deliver event %s to %s: %w", d.EventID, redact(d.URL), err))
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // let the connection be reused

	code := resp.StatusCode
	if code >= 200 && code < 300 {
		log.Debug("office automation delivered", "status", code)
		return Result{Done: true, Status: code}
	}
	herr := fmt.Errorf("deliver event %s to %s: HTTP %d: %s", d.EventID, redact(d.URL), code, strings.TrimSpace(string(snippet)))
	if code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500 {
		log.Warn("office automation refused, will retry", "status", code)
		return s.retry(d, code, s.retryAfterHeader(resp.Header.Get("Retry-After")), herr)
	}
	log.Error("office automation rejected the event", "status", code)
	return Result{Permanent: true, Status: code, Err: herr}
}

func (s *Sender) retry(d Delivery, status int, after time.Duration, err error) Result {
	if d.Attempt >= s.cfg.MaxAttempts {
		return Result{Permanent: true, Status: status, Err: fmt.Errorf("%w after %d: %w", ErrExhausted, d.Attempt, err)}
	}
	if after <= 0 {
		after = s.NextAttempt(d.Attempt)
	}
	return Result{RetryAfter: after, Status: status, Err: err}
}

// retryAfterHeader parses Retry-After (seconds or an HTTP date), capped at
// MaxDelay so a receiver cannot park a delivery for days; 0 when absent.
func (s *Sender) retryAfterHeader(v string) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		d = time.Duration(min(secs, int64(s.cfg.MaxDelay/time.Second)+1)) * time.Second
	} else if at, err := http.ParseTime(v); err == nil {
		d = at.Sub(s.cfg.Now())
	}
	return min(max(d, 0), s.cfg.MaxDelay)
}

func (s *Sender) check(d Delivery) error {
	u, err := url.Parse(d.URL)
	switch {
	case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
		return fmt.Errorf("%w: event %s: url %q is not http(s)", ErrInvalidDelivery, d.EventID, redact(d.URL))
	case d.EventID == "":
		return fmt.Errorf("%w: missing event id", ErrInvalidDelivery)
	case len(d.Secret) == 0:
		return fmt.Errorf("%w: event %s: empty secret", ErrInvalidDelivery, d.EventID)
	case d.Attempt < 1:
		return fmt.Errorf("%w: event %s: attempt %d, want 1 or more", ErrInvalidDelivery, d.EventID, d.Attempt)
	}
	return nil
}

// redact drops credentials and the query from a URL for logs and errors.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable url)"
	}
	u.User = nil
	u.RawQuery = ""
	return u.String()
}
