// Package aritest is an Asterisk ARI test double at the wire level: an
// httptest server that speaks ARI's REST API and event WebSocket the way
// Asterisk 22 does, for scripted calls.
//
// Every request is checked against the ARI description (the table in
// api_gen.go, generated from Asterisk's rest-api JSON): an unknown path, a
// wrong method, an unknown or missing required parameter, or a value
// outside allowableValues is reported through Config.OnViolation (default
// t.Errorf) and answered like Asterisk (404/405/400).
//
// The test scripts the outside world: srv.NewCall puts a citizen's call
// into the app, call.SendDTMF / call.Hangup act for the citizen, and
// channels the app originates (agents' phones) ring until the test says
// Answer, NoAnswer or Busy. State (channels, bridges, playbacks,
// recordings, variables, MOH) is visible through accessors, every request
// is logged, and Wait helpers block on state changes with a deadline.
//
//	srv := aritest.New(t, aritest.Config{})           // app "dargah", user dargah/secret
//	client := connect(srv.URL(), srv.Username(), srv.Password(), srv.App())
//	call := srv.NewCall("09151234567", "ivr")          // StasisStart
//	srv.WaitRequest("channels.answer", 1)              // the app answered
//	call.SendDTMF("1")                                 // ChannelDtmfReceived
//	agent := srv.WaitOriginated("PJSIP/1001")          // the app dialed an agent
//	agent.Answer()                                     // Dial ANSWER, StasisStart
//	srv.Wait("bridged", func() bool { return call.State().Bridge != "" })
//	call.Hangup()                                      // ChannelHangupRequest, StasisEnd
//	srv.DropWebSocket()                                // test reconnects
//
// Events sent while no socket serves the app are lost, as in Asterisk;
// Events() lists them with Delivered=false. The operation table is
// regenerated with `go generate` from shared/asterisk-ari when it changes
// (TestAPITableMatchesDescription keeps the two in step).
package aritest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// Config sets up a Server. Zero values get the defaults noted.
type Config struct {
	App      string // Stasis app NewCall delivers to; default "dargah"
	Username string // default "dargah"
	Password string // default "secret"
	// AsteriskID is the entity id put in every event; default
	// "52:54:00:00:00:01".
	AsteriskID string
	// SystemName, like asterisk.conf's systemname, prefixes channel ids
	// ("NAME-1764236627.1") so ids are unique across servers.
	SystemName string
	// Language of new channels; default "fa".
	Language string
	// ManualPlaybacks keeps playbacks playing until the test calls
	// FinishPlayback (or the app stops them). Default: PlaybackFinished
	// follows PlaybackStarted at once.
	ManualPlaybacks bool
	// OnViolation receives requests the API description forbids. Default:
	// t.Errorf with the violation.
	OnViolation func(Violation)
	// Timeout for Wait helpers; default 5 s.
	Timeout time.Duration
	// Now is the clock for timestamps; default time.Now.
	Now func() time.Time
}

// Request is one logged HTTP request.
type Request struct {
	Method string
	Path   string // below /ari, unescaped
	Query  url.Values
	Body   string
	Op     string // resource.nickname, "" when no route matched
	Status int
}

// Event is one event the server sent (or would have sent, if no socket
// was registered for its app).
type Event struct {
	Type      string
	App       string
	Channel   string // channel id the event is about, if any
	Delivered bool
	JSON      []byte
}

// Server is the ARI double. Create it with New; it is closed by t.Cleanup.
type Server struct {
	t   testing.TB
	cfg Config
	hs  *httptest.Server

	mu          sync.Mutex
	changed     chan struct{} // closed and replaced on every change
	seq         int
	channels    map[string]*channel
	order       []string // channel ids in creation order
	gone        map[string]*channel
	bridges     map[string]*bridge
	bridgeOrder []string
	playbacks   map[string]*playback
	live        map[string]*liveRec
	stored      map[string]*storedRec
	globals     map[string]string
	subs        map[string][]string // app -> event sources
	conns       []*wsConn
	connects    int
	requests    []Request
	violations  []Violation
	events      []Event
	unavailable bool
	originated  []string // originated channel ids not yet claimed by the test
}

// New starts a Server for t.
func New(t testing.TB, cfg Config) *Server {
	t.Helper()
	if cfg.App == "" {
		cfg.App = "dargah"
	}
	if cfg.Username == "" {
		cfg.Username = "dargah"
	}
	if cfg.Password == "" {
		cfg.Password = "secret"
	}
	if cfg.AsteriskID == "" {
		cfg.AsteriskID = "52:54:00:00:00:01"
	}
	if cfg.Language == "" {
		cfg.Language = "fa"
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.OnViolation == nil {
		cfg.OnViolation = func(v Violation) { t.Errorf("aritest: %s", v) }
	}
	s := &Server{t: t, cfg: cfg, changed: make(chan struct{})}
	s.reset()
	s.stored = map[string]*storedRec{}
	s.hs = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	t.Cleanup(s.Close)
	return s
}

func (s *Server) reset() {
	s.channels = map[string]*channel{}
	s.order = nil
	s.gone = map[string]*channel{}
	s.bridges = map[string]*bridge{}
	s.bridgeOrder = nil
	s.playbacks = map[string]*playback{}
	s.live = map[string]*liveRec{}
	s.globals = map[string]string{}
	s.subs = map[string][]string{}
	s.originated = nil
}

// URL is the base URL to give the client (http://127.0.0.1:PORT).
func (s *Server) URL() string { return s.hs.URL }

// HTTPClient is a client bound to this server (its own transport, closed
// with the server), for tests that talk to the double directly.
func (s *Server) HTTPClient() *http.Client { return s.hs.Client() }

// App is the Stasis app NewCall delivers to.
func (s *Server) App() string { return s.cfg.App }

// Username is the ARI user the server accepts.
func (s *Server) Username() string { return s.cfg.Username }

// Password is that user's password.
func (s *Server) Password() string { return s.cfg.Password }

// AsteriskID is the entity id events carry.
func (s *Server) AsteriskID() string { return s.cfg.AsteriskID }

// Close drops every socket and stops the server.
func (s *Server) Close() {
	s.DropWebSocket()
	s.hs.Close()
	s.mu.Lock()
	for _, ch := range s.channels {
		if ch.absTimeout != nil {
			ch.absTimeout.Stop()
		}
	}
	s.mu.Unlock()
}

// touch wakes Wait callers; s.mu must be held.
func (s *Server) touch() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Server) nextSeq() int {
	s.seq++
	return s.seq
}

func (s *Server) now() time.Time { return s.cfg.Now() }

func (s *Server) stamp() string { return s.now().Format("2006-01-02T15:04:05.000-0700") }

// ---- HTTP entry point ----

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	escPath := strings.TrimPrefix(r.URL.EscapedPath(), "/ari")
	path, _ := url.PathUnescape(escPath)
	rec := Request{Method: r.Method, Path: path, Query: r.URL.Query(), Body: string(body)}
	status := s.dispatch(w, r, escPath, body, &rec)
	if rec.Op == "events.eventWebsocket" && status == http.StatusSwitchingProtocols {
		return // logged at the handshake
	}
	rec.Status = status
	s.mu.Lock()
	s.requests = append(s.requests, rec)
	s.touch()
	s.mu.Unlock()
}

// reply writes a JSON answer and returns status for the log.
func reply(w http.ResponseWriter, status int, v any) int {
	if v == nil {
		w.WriteHeader(status)
		return status
	}
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
	return status
}

func fail(w http.ResponseWriter, status int, msg string) int {
	return reply(w, status, map[string]string{"message": msg})
}

func (s *Server) violate(v Violation) {
	s.mu.Lock()
	s.violations = append(s.violations, v)
	s.touch()
	s.mu.Unlock()
	s.cfg.OnViolation(v)
}

func (s *Server) dispatch(w http.ResponseWriter, r *http.Request, escPath string, body []byte, rec *Request) int {
	if !strings.HasPrefix(r.URL.Path, "/ari/") && r.URL.Path != "/ari" {
		s.violate(Violation{Method: r.Method, Path: r.URL.Path, Reason: "path outside /ari", Status: 404})
		return fail(w, http.StatusNotFound, "Not Found")
	}
	s.mu.Lock()
	down := s.unavailable
	s.mu.Unlock()
	if down {
		return fail(w, http.StatusServiceUnavailable, "aritest: server unavailable")
	}
	if !s.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Basic realm="Asterisk REST Interface"`)
		return fail(w, http.StatusUnauthorized, "Authentication required")
	}
	rt, status, msg := matchRoute(r.Method, escPath)
	v := Violation{Method: r.Method, Path: rec.Path, Query: r.URL.RawQuery}
	if status != 0 {
		v.Reason, v.Status = fmt.Sprintf("%d %s", status, msg), status
		s.violate(v)
		return fail(w, status, msg)
	}
	rec.Op = rt.opName()
	v.Op = rec.Op
	if msg := validateParams(rt, r.URL.Query(), body); msg != "" {
		v.Reason, v.Status = msg, http.StatusBadRequest
		s.violate(v)
		return fail(w, http.StatusBadRequest, msg)
	}
	c := &call{s: s, w: w, r: r, rt: rt, q: r.URL.Query(), body: body}
	if rec.Op == "events.eventWebsocket" {
		return s.serveEvents(w, r, *rec)
	}
	h, ok := handlers[rec.Op]
	if !ok {
		v.Reason, v.Status = "operation is valid but not scripted by aritest", http.StatusNotImplemented
		s.violate(v)
		return fail(w, http.StatusNotImplemented, "aritest: "+rec.Op+" not implemented")
	}
	cw := &captureWriter{ResponseWriter: w}
	c.w = cw
	status = func() int {
		s.mu.Lock()
		defer func() {
			s.touch()
			s.mu.Unlock()
		}()
		return h(c)
	}()
	if status >= 200 && status < 300 && cw.buf.Len() > 0 && rt.op.Response != "binary" {
		s.selfCheck(rt.op.Response, cw.buf.Bytes(), "response to "+rec.Op)
	}
	return status
}

// captureWriter keeps a copy of the body for the self-check.
type captureWriter struct {
	http.ResponseWriter
	buf bytes.Buffer
}

func (w *captureWriter) Write(p []byte) (int, error) {
	w.buf.Write(p)
	return w.ResponseWriter.Write(p)
}

func (s *Server) authorized(r *http.Request) bool {
	if u, p, ok := r.BasicAuth(); ok {
		return u == s.cfg.Username && p == s.cfg.Password
	}
	if k := r.URL.Query().Get("api_key"); k != "" {
		u, p, _ := strings.Cut(k, ":")
		return u == s.cfg.Username && p == s.cfg.Password
	}
	return false
}

// call is one REST request being handled (s.mu held).
type call struct {
	s    *Server
	w    http.ResponseWriter
	r    *http.Request
	rt   route
	q    url.Values
	body []byte
}

func (c *call) path(name string) string { return c.rt.params[name] }

// param returns a query parameter (or the same key in the JSON body,
// which ARI also accepts).
func (c *call) param(name string) string {
	if v := c.q.Get(name); v != "" {
		return v
	}
	if len(c.body) > 0 {
		var m map[string]json.RawMessage
		if json.Unmarshal(c.body, &m) == nil {
			var s string
			if json.Unmarshal(m[name], &s) == nil {
				return s
			}
		}
	}
	return ""
}

func (c *call) list(name string) []string {
	var out []string
	for _, v := range c.q[name] {
		for p := range strings.SplitSeq(v, ",") {
			if p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

func (c *call) bodyVars(field string) map[string]string {
	var m map[string]map[string]string
	if len(c.body) == 0 || json.Unmarshal(c.body, &m) != nil {
		return nil
	}
	return m[field]
}

func (c *call) ok(v any) int      { return reply(c.w, http.StatusOK, v) }
func (c *call) created(v any) int { return reply(c.w, http.StatusCreated, v) }
func (c *call) noContent() int    { return reply(c.w, http.StatusNoContent, nil) }
func (c *call) fail(status int, msg string) int {
	return fail(c.w, status, msg)
}

// ---- event WebSocket ----

type wsConn struct {
	apps   []string
	mu     sync.Mutex
	queue  [][]byte
	notify chan struct{}
	conn   *websocket.Conn
	done   chan struct{}
	once   sync.Once
}

func (w *wsConn) push(b []byte) {
	w.mu.Lock()
	w.queue = append(w.queue, b)
	w.mu.Unlock()
	select {
	case w.notify <- struct{}{}:
	default:
	}
}

func (w *wsConn) stop() {
	w.once.Do(func() {
		close(w.done)
		w.mu.Lock()
		conn := w.conn
		w.mu.Unlock()
		if conn != nil {
			_ = conn.CloseNow()
		}
	})
}

func (s *Server) serveEvents(w http.ResponseWriter, r *http.Request, rec Request) int {
	var apps []string
	for _, v := range r.URL.Query()["app"] {
		for a := range strings.SplitSeq(v, ",") {
			if a != "" {
				apps = append(apps, a)
			}
		}
	}
	wc := &wsConn{apps: apps, notify: make(chan struct{}, 1), done: make(chan struct{})}
	// Register before the 101 is written, so the app exists by the time
	// the client's handshake returns (as Asterisk does).
	s.mu.Lock()
	for _, old := range s.conns {
		var replaced bool
		old.apps = slices.DeleteFunc(old.apps, func(a string) bool {
			if slices.Contains(apps, a) {
				replaced = true
				b, _ := json.Marshal(map[string]any{"type": "ApplicationReplaced", "application": a,
					"timestamp": s.stamp(), "asterisk_id": s.cfg.AsteriskID})
				old.push(b)
				s.events = append(s.events, Event{Type: "ApplicationReplaced", App: a, Delivered: true, JSON: b})
				return true
			}
			return false
		})
		_ = replaced
	}
	s.conns = append(s.conns, wc)
	s.connects++
	rec.Status = http.StatusSwitchingProtocols
	s.requests = append(s.requests, rec)
	s.touch()
	s.mu.Unlock()

	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		s.unregister(wc)
		return http.StatusSwitchingProtocols // already logged
	}
	wc.mu.Lock()
	wc.conn = conn
	wc.mu.Unlock()
	select {
	case <-wc.done: // dropped before Accept finished
		_ = conn.CloseNow()
		return http.StatusSwitchingProtocols
	default:
	}
	ctx := conn.CloseRead(r.Context())
	defer s.unregister(wc)
	for {
		wc.mu.Lock()
		q := wc.queue
		wc.queue = nil
		wc.mu.Unlock()
		for _, b := range q {
			if err := conn.Write(ctx, websocket.MessageText, b); err != nil {
				return http.StatusSwitchingProtocols
			}
		}
		select {
		case <-wc.notify:
		case <-wc.done:
			return http.StatusSwitchingProtocols
		case <-ctx.Done():
			return http.StatusSwitchingProtocols
		}
	}
}

func (s *Server) unregister(wc *wsConn) {
	wc.stop()
	s.mu.Lock()
	s.conns = slices.DeleteFunc(s.conns, func(c *wsConn) bool { return c == wc })
	s.touch()
	s.mu.Unlock()
}

// emit sends an event of typ to app's socket(s); fields are added to the
// common ones. s.mu must be held. Without a socket the event is lost, as
// in Asterisk, but still logged.
func (s *Server) emit(app, typ, channelID string, fields map[string]any) {
	if app == "" {
		return
	}
	m := map[string]any{"type": typ, "application": app, "timestamp": s.stamp(), "asterisk_id": s.cfg.AsteriskID}
	for k, v := range fields {
		m[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		s.t.Errorf("aritest: marshal %s: %v", typ, err)
		return
	}
	s.selfCheck(typ, b, "event "+typ)
	delivered := false
	for _, c := range s.conns {
		if slices.Contains(c.apps, app) {
			c.push(b)
			delivered = true
		}
	}
	s.events = append(s.events, Event{Type: typ, App: app, Channel: channelID, Delivered: delivered, JSON: b})
}

func (s *Server) registered(app string) bool {
	for _, c := range s.conns {
		if slices.Contains(c.apps, app) {
			return true
		}
	}
	return false
}

// DropWebSocket closes every event socket abruptly, like a network cut.
// Calls stay up; events until the client reconnects are lost.
func (s *Server) DropWebSocket() {
	s.mu.Lock()
	conns := s.conns
	s.conns = nil
	s.touch()
	s.mu.Unlock()
	for _, c := range conns {
		c.stop()
	}
}

// Restart simulates an Asterisk restart: sockets drop and every channel,
// bridge, playback and live recording is gone (stored recordings stay,
// they are files). The server keeps its URL.
func (s *Server) Restart() {
	s.DropWebSocket()
	s.mu.Lock()
	s.reset()
	s.touch()
	s.mu.Unlock()
}

// SetUnavailable makes every request (and WebSocket handshake) fail with
// 503 while on, to exercise the client's backoff.
func (s *Server) SetUnavailable(on bool) {
	s.mu.Lock()
	s.unavailable = on
	s.touch()
	s.mu.Unlock()
	if on {
		s.DropWebSocket()
	}
}

// Connections is the number of event sockets open now; Connects counts
// every handshake since New.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Connects counts successful event socket registrations since New.
func (s *Server) Connects() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connects
}

// Registered reports whether a socket serves app now.
func (s *Server) Registered(app string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.registered(app)
}

// ---- logs and waiting ----

// Requests returns every request so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// RequestsFor returns the requests that matched operation op
// ("channels.answer", "bridges.addChannel", ...).
func (s *Server) RequestsFor(op string) []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Request
	for _, r := range s.requests {
		if r.Op == op {
			out = append(out, r)
		}
	}
	return out
}

// Violations returns the requests the description forbade.
func (s *Server) Violations() []Violation {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.violations)
}

// Events returns every event the server emitted.
func (s *Server) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.events)
}

// Wait blocks until cond returns true, re-checking after every state
// change, and fails the test (t.Fatalf) after Config.Timeout. Call it from
// the test goroutine. cond must not block; it may call Server accessors.
func (s *Server) Wait(what string, cond func() bool) {
	s.t.Helper()
	deadline := time.NewTimer(s.cfg.Timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		ch := s.changed
		s.mu.Unlock()
		if cond() {
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			s.t.Fatalf("aritest: timed out after %s waiting for %s", s.cfg.Timeout, what)
			return
		}
	}
}

// WaitRequest waits for the n-th (1-based) request to op and returns it.
func (s *Server) WaitRequest(op string, n int) Request {
	s.t.Helper()
	var out Request
	s.Wait(fmt.Sprintf("request %d to %s", n, op), func() bool {
		rs := s.RequestsFor(op)
		if len(rs) >= n {
			out = rs[n-1]
			return true
		}
		return false
	})
	return out
}
