package asterisk

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/dargah137/dargah/channels"
)

const goodSettings = `
url: http://127.0.0.1:8088
username: dargah
password: secret
app: dargah
menu:
  prompt: main-menu
  options:
    "1": {queue: asphalt}
    "2": {case_status: true}
    "3":
      prompt: sub-menu
      options:
        "1": {faq: faq-hours}
        "2": {voicemail: true}
queues:
  - name: asphalt
    skills: {asphalt: 1}
    ring_timeout: 15s
agents:
  - {id: a1, endpoint: PJSIP/101, skills: {fa: 5, asphalt: 2}}
hours:
  open:
    - {days: [sat, sun, mon, tue, wed], from: "07:00", to: "22:00"}
`

func decode(t *testing.T, src string) (*Settings, error) {
	t.Helper()
	var s Settings
	dec := yaml.NewDecoder(strings.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		return nil, err
	}
	return &s, s.Validate()
}

func TestSettings(t *testing.T) {
	t.Parallel()
	s, err := decode(t, goodSettings)
	if err != nil {
		t.Fatal(err)
	}
	if s.Servers[0].Name != "127.0.0.1:8088" || s.FallbackQueue != "asphalt" || s.Languages["4"] != "en" || s.APIPath != "/api/v1" {
		t.Fatalf("defaults: %+v", s)
	}
	if err := s.Validate(); err != nil { // idempotent
		t.Fatalf("second validate: %v", err)
	}
	tehran, _ := time.LoadLocation("Asia/Tehran")
	for at, open := range map[time.Time]bool{
		time.Date(2026, 11, 28, 10, 0, 0, 0, tehran):   true,  // Saturday morning
		time.Date(2026, 11, 27, 10, 0, 0, 0, tehran):   false, // Friday
		time.Date(2026, 11, 28, 22, 0, 0, 0, tehran):   false, // closing time
		time.Date(2026, 11, 28, 3, 30, 0, 0, time.UTC): true,  // 07:00 in Tehran
	} {
		if got := s.Hours.IsOpen(at); got != open {
			t.Errorf("IsOpen(%v) = %v", at, got)
		}
	}
}

func TestSettingsErrors(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct{ from, to, want string }{
		"unknown key":      {"app: dargah", "app: dargah\nqueue_typo: 1", "queue_typo"},
		"no app":           {"app: dargah", "app: ''", "app"},
		"bad language":     {"menu:", "languages: {'1': de}\nmenu:", "languages[1]"},
		"unknown queue":    {"{queue: asphalt}", "{queue: nope}", `queue "nope"`},
		"two actions":      {"{case_status: true}", "{case_status: true, voicemail: true}", "exactly one"},
		"bad digit":        {`"2": {case_status`, `"22": {case_status`, "not one digit"},
		"bad hours":        {`to: "22:00"`, `to: "25:00"`, "hours"},
		"bad day":          {"[sat, sun", "[saturday, sun", "day"},
		"bad agent":        {"skills: {fa: 5, asphalt: 2}", "skills: {fa: 9}", "agents[0]"},
		"no password":      {"password: secret", "", "password"},
		"bad url":          {"http://127.0.0.1:8088", "ftp://x", "url"},
		"callback no slot": {"app: dargah", "app: dargah\ncallback_endpoint: PJSIP/trunk", "{number}"},
		"api path slash":   {"app: dargah", "app: dargah\napi_path: /api/v1/lines/", "api_path"},
		"api path pattern": {"app: dargah", "app: dargah\napi_path: /api/{x}", "api_path"},
		"negative handoff": {"app: dargah", "app: dargah\nhandoff_wait: -1s", "handoff_wait"},
	} {
		src := strings.Replace(goodSettings, tc.from, tc.to, 1)
		if src == goodSettings {
			t.Fatalf("%s: replacement did not apply", name)
		}
		_, err := decode(t, src)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v does not mention %q", name, err, tc.want)
		}
	}
}

func TestPortalRegistered(t *testing.T) {
	t.Parallel()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte("- name: phone\n  type: asterisk\n"+indent(goodSettings)), &doc); err != nil {
		t.Fatal(err)
	}
	ps, err := channels.DecodePortals("test.yaml", doc.Content[0])
	if err != nil || len(ps) != 1 || ps[0].Kind != "asterisk" {
		t.Fatalf("%v %v", ps, err)
	}
}

func indent(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimPrefix(s, "\n"), "\n") {
		if l != "" {
			b.WriteString("  " + l)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func TestE164(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"09151234567": "+989151234567", "989151234567": "+989151234567", "+447700900123": "+447700900123",
		"00447700900123": "+447700900123", "137": "137", "anonymous": "", "0915-123-4567": "+989151234567",
	} {
		if got := e164(in); got != want {
			t.Errorf("e164(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzOutcomeRequest feeds the outcome endpoint's body parser: it must
// never panic, and what it accepts is a valid outcome.
func FuzzOutcomeRequest(f *testing.F) {
	for _, s := range []string{
		`{"outcome":"resolved"}`,
		`{"outcome":"case","service_code":"asphalt","description":"چاله","lat":36.3,"long":59.6}`,
		`{"outcome":"case","lat":1}`, `{"outcome":"x","extra":1}`, `[]`, ``, `{"outcome":`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/", bytes.NewReader(body))
		var req outcomeRequest
		if err := decodeBody(r, &req); err != nil {
			return
		}
		if req.validate() == nil {
			if req.Outcome != "resolved" && req.Outcome != "case" {
				t.Fatalf("accepted outcome %q", req.Outcome)
			}
			if (req.Lat == nil) != (req.Long == nil) {
				t.Fatal("accepted half a point")
			}
		}
		_, _ = json.Marshal(req)
	})
}

// FuzzE164 checks the caller-id normalizer on any input.
func FuzzE164(f *testing.F) {
	for _, s := range []string{"09151234567", "+98915", "00", "", "٠٩١٥", "989151234567"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := e164(in)
		if strings.ContainsFunc(out, func(r rune) bool { return (r < '0' || r > '9') && r != '+' }) {
			t.Fatalf("e164(%q) = %q", in, out)
		}
		if strings.LastIndex(out, "+") > 0 {
			t.Fatalf("e164(%q) = %q: + inside", in, out)
		}
	})
}
