// Package paneltest is an SMS panel test double: an HTTP server playing a
// typical Iranian SMS panel's web API. It receives send requests (form or
// JSON), checks their token, answers with message ids, and posts incoming
// messages and delivery reports to a webhook signed with HMAC-SHA256 —
// everything Dargah's sms portal meets with provider http.
package paneltest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"testing"
)

// Config sets the double up.
type Config struct {
	// Token is what the send API wants in the Authorization header
	// ("Bearer " + Token). Empty accepts any request.
	Token string
	// BasicUser and BasicPassword, when set, are required as basic auth
	// instead of Token.
	BasicUser, BasicPassword string
	// Secret signs webhook posts (hex HMAC-SHA256 of the body in SigHeader,
	// default X-Signature).
	Secret    string
	SigHeader string
}

// Sent is one accepted send request.
type Sent struct {
	ID             int
	To, From, Text string
	ContentType    string
}

// Server is the panel double; its methods are safe for concurrent use.
type Server struct {
	URL string // base URL; the send API is URL+"/api/send"
	cfg Config
	srv *httptest.Server

	mu      sync.Mutex
	changed chan struct{}
	sent    []Sent
	nextID  int
	fail    []int // statuses to answer the next sends with
	unauth  int
}

// New starts a double; it stops when the test ends.
func New(t testing.TB, cfg Config) *Server {
	if cfg.SigHeader == "" {
		cfg.SigHeader = "X-Signature"
	}
	s := &Server{cfg: cfg, changed: make(chan struct{}), nextID: 1000}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/send", s.send)
	mux.HandleFunc("GET /api/send", s.send) // panels that take a query string
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// SendURL is the send API's address.
func (s *Server) SendURL() string { return s.URL + "/api/send" }

// Fail answers the next sends with these HTTP statuses, in order.
func (s *Server) Fail(statuses ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = append(s.fail, statuses...)
}

func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Server) send(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, pw, basic := r.BasicAuth()
	if (s.cfg.BasicUser != "" && (!basic || u != s.cfg.BasicUser || pw != s.cfg.BasicPassword)) ||
		(s.cfg.BasicUser == "" && s.cfg.Token != "" && r.Header.Get("Authorization") != "Bearer "+s.cfg.Token) {
		s.unauth++
		s.notifyLocked()
		http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
		return
	}
	if len(s.fail) > 0 {
		st := s.fail[0]
		s.fail = s.fail[1:]
		s.notifyLocked()
		http.Error(w, `{"error":"try later"}`, st)
		return
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	fields := map[string]string{}
	switch ct {
	case "application/json":
		if err := json.NewDecoder(r.Body).Decode(&fields); err != nil {
			http.Error(w, `{"error":"bad json"}`, http.StatusBadRequest)
			return
		}
	default:
		if err := r.ParseForm(); err != nil {
			http.Error(w, `{"error":"bad form"}`, http.StatusBadRequest)
			return
		}
		for k := range r.Form {
			fields[k] = r.Form.Get(k)
		}
	}
	if fields["receptor"] == "" || fields["message"] == "" {
		http.Error(w, `{"error":"receptor and message are required"}`, http.StatusBadRequest)
		return
	}
	s.nextID++
	s.sent = append(s.sent, Sent{ID: s.nextID, To: fields["receptor"], From: fields["sender"], Text: fields["message"], ContentType: ct})
	s.notifyLocked()
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"return":{"status":200},"entries":[{"messageid":%d,"status":1}]}`, s.nextID)
}

// Sent returns the accepted send requests so far.
func (s *Server) Sent() []Sent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.sent)
}

// Unauthorized counts send requests refused for a bad token.
func (s *Server) Unauthorized() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.unauth
}

// WaitSent waits until at least n sends were accepted, bounded by ctx.
func (s *Server) WaitSent(ctx context.Context, n int) ([]Sent, error) {
	for {
		s.mu.Lock()
		if len(s.sent) >= n {
			out := slices.Clone(s.sent)
			s.mu.Unlock()
			return out, nil
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return s.Sent(), fmt.Errorf("paneltest: waiting for %d sent messages: %w", n, ctx.Err())
		}
	}
}

// Sign returns the signature the panel puts on body.
func (s *Server) Sign(body []byte) string {
	m := hmac.New(sha256.New, []byte(s.cfg.Secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// Post posts body to a webhook URL signed with sig (Sign(body) when sig is
// "sign") and returns the status and answer.
func (s *Server) Post(ctx context.Context, target, contentType string, body []byte, sig string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", contentType)
	if sig == "sign" {
		sig = s.Sign(body)
	}
	if sig != "" {
		req.Header.Set(s.cfg.SigHeader, sig)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

// Incoming posts a message from a handset to Dargah's webhook, as JSON
// {"messageid","from","to","message","date"}, signed.
func (s *Server) Incoming(ctx context.Context, webhook string, id int, from, to, text string) (int, string, error) {
	body, _ := json.Marshal(map[string]any{"messageid": id, "from": from, "to": to, "message": text, "date": 1764230400})
	return s.Post(ctx, webhook, "application/json", body, "sign")
}

// Report posts a delivery report as a signed form (messageid, status).
func (s *Server) Report(ctx context.Context, webhook string, id int, status string) (int, string, error) {
	body := url.Values{"messageid": {strconv.Itoa(id)}, "status": {status}}.Encode()
	return s.Post(ctx, webhook, "application/x-www-form-urlencoded", []byte(body), "sign")
}
