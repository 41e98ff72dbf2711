package aritest

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// recorder collects violations instead of failing the test, so a test can
// prove the validator fires.
type recorder struct {
	mu sync.Mutex
	vs []Violation
}

func (r *recorder) add(v Violation) {
	r.mu.Lock()
	r.vs = append(r.vs, v)
	r.mu.Unlock()
}

func (r *recorder) take() []Violation {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.vs
	r.vs = nil
	return out
}

func do(t *testing.T, s *Server, method, path, body string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.URL()+"/ari"+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(s.Username(), s.Password())
	resp, err := s.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestValidatorRejects(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	s := New(t, Config{OnViolation: rec.add})
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		reason                   string
	}{
		{"unknown path", "GET", "/channels/x/teleport", "", 404, "Resource not found"},
		{"wrong method", "PUT", "/channels/x/answer", "", 405, "Invalid method"},
		{"unknown query parameter", "POST", "/channels/x/answer?loud=1", "", 400, `unknown query parameter "loud"`},
		{"missing required", "POST", "/channels?app=dargah", "", 400, `missing required parameter "endpoint"`},
		{"not in allowableValues", "DELETE", "/channels/x?reason=angry", "", 400, `"reason"="angry" not in allowed values`},
		{"not an integer", "POST", "/channels/x/play?media=sound:hi&skipms=soon", "", 400, "is not an integer"},
		{"below range", "POST", "/channels/x/record?name=a&format=wav&maxDurationSeconds=-1", "", 400, "below minimum 0"},
		{"bad boolean", "POST", "/bridges/b/addChannel?channel=c&mute=maybe", "", 400, "is not a boolean"},
		{"list value outside", "GET", "/asterisk/info?only=build,secrets", "", 400, `"only"="secrets" not in allowed values`},
		{"repeated single param", "POST", "/channels/x/moh?mohClass=a&mohClass=b", "", 400, "given 2 times"},
		{"body not object", "POST", "/channels?endpoint=PJSIP/1&app=dargah", "[1]", 400, "body is not a JSON object"},
		{"unknown body field", "POST", "/channels?endpoint=PJSIP/1&app=dargah", `{"colour":"red"}`, 400, `unknown body field "colour"`},
		{"missing required body", "POST", "/channels/x/variables", `{}`, 400, `missing required body field "variables"`},
		{"bad bridge type", "POST", "/bridges?type=mixing,karaoke", "", 400, `bridge type "karaoke"`},
		{"dot segments", "GET", "/../metrics", "", 404, "Resource not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := do(t, s, tc.method, tc.path, tc.body)
			if status != tc.status {
				t.Errorf("status %d (%s), want %d", status, body, tc.status)
			}
			vs := rec.take()
			if len(vs) != 1 || !strings.Contains(vs[0].Reason, tc.reason) {
				t.Fatalf("violations = %+v, want one containing %q", vs, tc.reason)
			}
			if !strings.Contains(vs[0].String(), "violates the API description") {
				t.Errorf("String() = %s", vs[0])
			}
		})
	}
	if got := len(s.Violations()); got != 15 {
		t.Errorf("server recorded %d violations, want 15", got)
	}
}

func TestValidatorAccepts(t *testing.T) {
	t.Parallel()
	s := New(t, Config{}) // any violation fails this test
	for _, tc := range []struct{ method, path, body string }{
		{"GET", "/channels", ""},
		{"GET", "/asterisk/info?only=build,system", ""},
		{"GET", "/asterisk/ping?api_key=dargah:secret", ""},
		{"POST", "/bridges?type=mixing,dtmf_events&name=x", ""},
		{"GET", "/recordings/stored", ""},
	} {
		if status, body := do(t, s, tc.method, tc.path, tc.body); status >= 300 {
			t.Errorf("%s %s: %d %s", tc.method, tc.path, status, body)
		}
	}
	// Valid by the description but the object is missing: Asterisk's
	// answer, not a violation.
	if status, _ := do(t, s, "POST", "/channels/nope/answer", ""); status != 404 {
		t.Errorf("answer unknown channel: %d", status)
	}
	if n := len(s.Violations()); n != 0 {
		t.Errorf("violations: %v", s.Violations())
	}
}

func TestAuthRequired(t *testing.T) {
	t.Parallel()
	s := New(t, Config{})
	resp, err := s.HTTPClient().Get(s.URL() + "/ari/channels")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	resp, err = s.HTTPClient().Get(s.URL() + "/ari/channels?api_key=dargah:wrong")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("status %d", resp.StatusCode)
	}
}
