// Package ari is a small client for the Asterisk REST Interface (ARI) of
// Asterisk 22: typed REST calls for the channel, bridge, playback,
// recording, asterisk and application resources, and a reconnecting
// WebSocket that delivers typed Stasis events.
//
// It is written from the Swagger 1.2 description Asterisk publishes
// (rest-api/api-docs/*.json). A Client talks to one Asterisk server; a Pool
// fans in events from several and finds the server that owns a channel.
package ari

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Config configures a Client. URL, Username, Password and App are required.
type Config struct {
	// URL is the Asterisk HTTP server, e.g. http://127.0.0.1:8088. The /ari
	// prefix is added by the client; a URL that already ends in /ari is
	// accepted too.
	URL string
	// Username and Password are an ari.conf user, sent as HTTP Basic auth on
	// REST calls and as api_key on the WebSocket handshake.
	Username string
	Password string
	// App is the Stasis application name; opening the event WebSocket is
	// what registers it in Asterisk.
	App string
	// Name identifies this server in events and logs (Event.Base().Server).
	// Default: the host:port of URL.
	Name string
	// SubscribeAll asks Asterisk for every event in the system, not only
	// those of channels and bridges the app owns.
	SubscribeAll bool
	// HTTPClient is used for REST calls and the WebSocket handshake.
	// Default: a client with its own transport and a 30 s timeout.
	HTTPClient *http.Client
	// Logger gets request/response lines at debug level and connection
	// changes at info/warn. Default: discard.
	Logger *slog.Logger
	// ReconnectMin and ReconnectMax bound the exponential backoff between
	// WebSocket dial attempts (full jitter). Defaults: 500 ms and 30 s.
	ReconnectMin time.Duration
	ReconnectMax time.Duration
	// EventBuffer is the capacity of the Events channel. Default 256. When it
	// is full the reader waits: events are never dropped by the client.
	EventBuffer int
}

// Validate reports the first missing or malformed setting.
func (c Config) Validate() error {
	if c.URL == "" {
		return errors.New("ari: config: url is required")
	}
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("ari: config: url %q must be http(s)://host:port", c.URL)
	}
	if c.Username == "" || c.Password == "" {
		return errors.New("ari: config: username and password are required")
	}
	if c.App == "" {
		return errors.New("ari: config: app is required")
	}
	if c.ReconnectMin < 0 || c.ReconnectMax < 0 || (c.ReconnectMax > 0 && c.ReconnectMin > c.ReconnectMax) {
		return fmt.Errorf("ari: config: reconnect backoff min %s max %s is invalid", c.ReconnectMin, c.ReconnectMax)
	}
	return nil
}

// Client is a connection to one Asterisk server. REST methods are safe for
// concurrent use; the event WebSocket is started by Connect.
type Client struct {
	cfg    Config
	base   *url.URL // .../ari
	name   string
	http   *http.Client
	log    *slog.Logger
	events chan Event

	mu        sync.Mutex
	started   bool
	closed    bool
	cancel    context.CancelFunc
	done      chan struct{}
	connected bool
}

// New builds a Client from cfg. It does no I/O.
func New(cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	u, err := url.Parse(strings.TrimSuffix(cfg.URL, "/"))
	if err != nil {
		return nil, fmt.Errorf("ari: config: parse url: %w", err)
	}
	if !strings.HasSuffix(u.Path, "/ari") {
		u.Path += "/ari"
	}
	if cfg.HTTPClient == nil {
		// An own transport, not http.DefaultTransport: its pool is shared
		// process-wide, and anything calling CloseIdleConnections on it
		// (httptest.Server.Close does) would break our requests.
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 16 // ARI calls come in bursts per call
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second, Transport: tr}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.ReconnectMin == 0 {
		cfg.ReconnectMin = 500 * time.Millisecond
	}
	if cfg.ReconnectMax == 0 {
		cfg.ReconnectMax = 30 * time.Second
	}
	if cfg.ReconnectMax < cfg.ReconnectMin {
		cfg.ReconnectMax = cfg.ReconnectMin
	}
	if cfg.EventBuffer <= 0 {
		cfg.EventBuffer = 256
	}
	name := cfg.Name
	if name == "" {
		name = u.Host
	}
	return &Client{
		cfg:    cfg,
		base:   u,
		name:   name,
		http:   cfg.HTTPClient,
		log:    cfg.Logger.With("ari_server", name, "ari_app", cfg.App),
		events: make(chan Event, cfg.EventBuffer),
	}, nil
}

// Name is the server name events from this client carry.
func (c *Client) Name() string { return c.name }

// App is the Stasis application name.
func (c *Client) App() string { return c.cfg.App }

// Error is a non-2xx answer from Asterisk. Message is Asterisk's
// {"message": ...} text, or the raw body when it was not JSON.
type Error struct {
	Status  int
	Message string
	Method  string
	Path    string
}

// Error implements error: "ari: METHOD PATH: STATUS message".
func (e *Error) Error() string {
	return fmt.Sprintf("ari: %s %s: %d %s", e.Method, e.Path, e.Status, e.Message)
}

func statusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// IsNotFound reports a 404: no such channel, bridge, playback, recording,
// variable or application.
func IsNotFound(err error) bool { return statusOf(err) == http.StatusNotFound }

// IsConflict reports a 409: e.g. the channel is not in a Stasis application,
// or the id already exists.
func IsConflict(err error) bool { return statusOf(err) == http.StatusConflict }

// IsBadRequest reports a 400: parameters Asterisk rejected.
func IsBadRequest(err error) bool { return statusOf(err) == http.StatusBadRequest }

// IsPreconditionFailed reports a 412: the channel is in a state that does
// not allow the operation.
func IsPreconditionFailed(err error) bool { return statusOf(err) == http.StatusPreconditionFailed }

// IsUnprocessable reports a 422: e.g. the channel is not in that bridge.
func IsUnprocessable(err error) bool { return statusOf(err) == http.StatusUnprocessableEntity }

// IsUnauthorized reports a 401: bad credentials.
func IsUnauthorized(err error) bool { return statusOf(err) == http.StatusUnauthorized }

// request describes one REST call.
type request struct {
	method string
	path   string // below /ari, already escaped, e.g. /channels/abc/answer
	query  url.Values
	body   any // JSON-encoded when non-nil
}

// seg escapes one path segment (ids are chosen by callers and may contain
// anything).
func seg(s string) string { return url.PathEscape(s) }

// do performs r and decodes a JSON answer into out (when out is non-nil).
func (c *Client) do(ctx context.Context, r request, out any) error {
	resp, err := c.send(ctx, r)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("ari: %s %s: decode response: %w", r.method, r.path, err)
	}
	return nil
}

// send performs r and returns a 2xx response whose body the caller closes;
// any other status becomes *Error.
func (c *Client) send(ctx context.Context, r request) (*http.Response, error) {
	target := c.base.String() + r.path
	if len(r.query) > 0 {
		target += "?" + r.query.Encode()
	}
	var body io.Reader
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return nil, fmt.Errorf("ari: %s %s: encode body: %w", r.method, r.path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, target, body)
	if err != nil {
		return nil, fmt.Errorf("ari: %s %s: %w", r.method, r.path, err)
	}
	req.SetBasicAuth(c.cfg.Username, c.cfg.Password)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		c.log.DebugContext(ctx, "ari request failed", "method", r.method, "path", r.path, "query", req.URL.RawQuery, "err", err)
		return nil, fmt.Errorf("ari: %s %s: %w", r.method, r.path, err)
	}
	c.log.DebugContext(ctx, "ari request", "method", r.method, "path", r.path, "query", req.URL.RawQuery,
		"status", resp.StatusCode, "duration", time.Since(start))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	e := &Error{Status: resp.StatusCode, Method: r.method, Path: r.path}
	var m struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(raw, &m) == nil && m.Message != "" {
		e.Message = m.Message
	} else {
		e.Message = strings.TrimSpace(string(raw))
		if e.Message == "" {
			e.Message = http.StatusText(resp.StatusCode)
		}
	}
	return nil, e
}

// query is a small builder that skips empty optional values, so callers'
// zero values mean "Asterisk's default".
type query url.Values

func (q query) set(k, v string) {
	if v != "" {
		url.Values(q).Set(k, v)
	}
}

func (q query) list(k string, vs []string) {
	// Asterisk splits allowMultiple parameters on commas.
	if len(vs) > 0 {
		url.Values(q).Set(k, strings.Join(vs, ","))
	}
}

func (q query) int(k string, v int) {
	if v != 0 {
		url.Values(q).Set(k, fmt.Sprint(v))
	}
}

func (q query) bool(k string, v *bool) {
	if v != nil {
		url.Values(q).Set(k, fmt.Sprint(*v))
	}
}

func (q query) values() url.Values { return url.Values(q) }

// variablesBody is the JSON body Asterisk expects for channel variables on
// originate/create/bridge create.
func variablesBody(vars map[string]string) any {
	if len(vars) == 0 {
		return nil
	}
	return map[string]any{"variables": vars}
}
