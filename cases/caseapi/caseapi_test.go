package caseapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/cases/caseapi"
	"github.com/dargah137/dargah/cases/casesqlite"
	"github.com/dargah137/dargah/cases/process"
	"github.com/dargah137/dargah/cases/storetest"
)

const (
	staff    = "staff-0123456789abcdef"
	lighting = "lighting-0123456789abcdef"
	parks    = "parks-0123456789abcdef"
	followUp = "followup-0123456789abcdef"
)

type fixture struct {
	t     *testing.T
	url   string
	env   *storetest.Env
	clock *storetest.Clock
}

func setup(t *testing.T) *fixture {
	t.Helper()
	env := storetest.NewEnv(t, func(t *testing.T, now func() time.Time) cases.Store {
		s, err := casesqlite.Open(t.Context(), filepath.Join(t.TempDir(), "d.db"), casesqlite.Options{Now: now})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Migrate(t.Context()); err != nil {
			t.Fatal(err)
		}
		return s
	})
	eng, _ := env.Engine(t, nil)
	api, err := caseapi.New(caseapi.Config{Engine: eng, Tokens: map[string]process.Actor{
		staff:    {Role: process.RoleStaff},
		followUp: {Role: process.RoleFollowUp},
		lighting: {Role: process.RoleDepartment, Department: "street_lighting"},
		parks:    {Role: process.RoleDepartment, Department: "parks"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	api.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &fixture{t: t, url: srv.URL, env: env, clock: env.Clock}
}

func (f *fixture) open() string {
	f.t.Helper()
	_, c := f.env.OpenCase(f.t, storetest.Lighting(f.clock.Now()))
	return c.TrackingCode
}

func (f *fixture) do(token, method, path, body string, want int) map[string]any {
	f.t.Helper()
	req, _ := http.NewRequest(method, f.url+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("X-Dargah-Official", "مهندس رضایی")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		f.t.Fatalf("%s %s %s: %d %s, want %d", method, path, body, resp.StatusCode, b, want)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		f.t.Fatalf("content type %q", ct)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		f.t.Fatalf("decode %s: %v", b, err)
	}
	return out
}

func TestAuthAndIsolation(t *testing.T) {
	t.Parallel()
	f := setup(t)
	code := f.open()
	f.do("", "GET", "/api/v1/dept/cases", "", http.StatusUnauthorized)
	f.do("wrong-token-0123456789", "GET", "/api/v1/dept/cases", "", http.StatusUnauthorized)
	f.do(lighting, "GET", "/api/v1/staff/cases", "", http.StatusForbidden)
	f.do(staff, "GET", "/api/v1/dept/cases", "", http.StatusForbidden)
	f.do(parks, "GET", "/api/v1/dept/cases/"+code, "", http.StatusNotFound)
	f.do(parks, "POST", "/api/v1/dept/cases/"+code+"/accept", "", http.StatusNotFound)
	if out := f.do(parks, "GET", "/api/v1/dept/cases", "", http.StatusOK); len(out["cases"].([]any)) != 0 {
		t.Fatalf("parks sees %v", out)
	}
	out := f.do(lighting, "GET", "/api/v1/dept/cases?status=assigned", "", http.StatusOK)
	if cs := out["cases"].([]any); len(cs) != 1 || cs[0].(map[string]any)["tracking_code"] != code {
		t.Fatalf("lighting sees %v", out)
	}
	f.do(lighting, "GET", "/api/v1/dept/cases?limit=x", "", http.StatusBadRequest)
	f.do(followUp, "GET", "/api/v1/followup/cases/"+code, "", http.StatusNotFound) // not in its queue
	view := f.do(staff, "GET", "/api/v1/staff/cases/"+code, "", http.StatusOK)
	if view["case"].(map[string]any)["department"] != "street_lighting" || len(view["events"].([]any)) != 2 {
		t.Fatalf("staff view %v", view)
	}
}

func TestActionsAndErrors(t *testing.T) {
	t.Parallel()
	f := setup(t)
	code := f.open()
	dept := "/api/v1/dept/cases/" + code
	st := "/api/v1/staff/cases/" + code
	f.do(lighting, "POST", dept+"/answer", `{"text": "x", "extra": 1}`, http.StatusBadRequest)
	f.do(lighting, "POST", dept+"/answer", `{"text": `, http.StatusBadRequest)
	f.do(lighting, "POST", dept+"/answer", `{"text": "x"} {}`, http.StatusBadRequest)
	f.do(lighting, "POST", dept+"/answer", `{"text": ""}`, http.StatusUnprocessableEntity)
	f.do(lighting, "POST", dept+"/reject", `{}`, http.StatusUnprocessableEntity)
	f.do(staff, "POST", st+"/extend", `{"hours": 24}`, http.StatusUnprocessableEntity)
	out := f.do(staff, "POST", st+"/extend", `{"hours": 24, "reason": "سیل"}`, http.StatusOK)
	if out["case"].(map[string]any)["due_at"] == nil {
		t.Fatalf("extend %v", out)
	}
	f.do(staff, "POST", st+"/verify", `{}`, http.StatusConflict)
	f.do(lighting, "POST", dept+"/ask", `{"question": "کدام کوچه؟"}`, http.StatusOK)
	f.do(lighting, "POST", dept+"/answer", `{"text": "done"}`, http.StatusConflict) // waiting
	f.do(staff, "POST", st+"/resume", `{"note": "تلفنی پاسخ داد"}`, http.StatusOK)
	f.do(lighting, "POST", dept+"/accept", ``, http.StatusOK)
	f.do(lighting, "POST", dept+"/answer", `{"text": "تعمیر شد", "attachments": ["a1"]}`, http.StatusOK)
	f.do(staff, "POST", st+"/verify", `{"note": "ok"}`, http.StatusOK)
	f.do(staff, "POST", st+"/rate", `{"rating": 9}`, http.StatusUnprocessableEntity)
	f.do(staff, "POST", st+"/rate", `{"rating": 1, "comment": "بد"}`, http.StatusOK)
	fu := "/api/v1/followup/cases/" + code
	if out := f.do(followUp, "GET", "/api/v1/followup/cases", "", http.StatusOK); len(out["cases"].([]any)) != 1 {
		t.Fatalf("follow-up queue %v", out)
	}
	f.do(followUp, "GET", fu, "", http.StatusOK)
	f.do(followUp, "POST", fu+"/close", `{}`, http.StatusUnprocessableEntity)
	f.do(followUp, "POST", fu+"/close", `{"note": "پیگیری شد"}`, http.StatusOK)
	f.do(followUp, "GET", fu, "", http.StatusOK) // handled by the unit: still visible to it
	f.do(staff, "POST", st+"/rate", `{"rating": 5}`, http.StatusConflict)
	f.do(lighting, "POST", dept+"/answer", `{"text": "again"}`, http.StatusConflict)
	f.do(lighting, "POST", dept+"/events/abc/ack", ``, http.StatusBadRequest)
	f.do(lighting, "POST", dept+"/events/999999/ack", ``, http.StatusNotFound)

	view := f.do(staff, "GET", st, "", http.StatusOK)
	var actors []string
	for _, ev := range view["events"].([]any) {
		a, _ := ev.(map[string]any)["actor"].(string)
		actors = append(actors, a)
	}
	if !strings.Contains(strings.Join(actors, " "), "department:street_lighting/مهندس رضایی") {
		t.Fatalf("actors %v", actors)
	}
}

func TestRejectAssignAndOutbox(t *testing.T) {
	t.Parallel()
	f := setup(t)
	code := f.open()
	f.do(lighting, "POST", "/api/v1/dept/cases/"+code+"/reject", `{"reason": "مربوط به شرکت برق"}`, http.StatusOK)
	f.do(lighting, "GET", "/api/v1/dept/cases/"+code, "", http.StatusNotFound)
	f.do(staff, "POST", "/api/v1/staff/cases/"+code+"/assign", `{"department": "nope"}`, http.StatusUnprocessableEntity)
	f.do(staff, "POST", "/api/v1/staff/cases/"+code+"/assign", `{"department": "parks"}`, http.StatusOK)
	f.do(parks, "GET", "/api/v1/dept/cases/"+code, "", http.StatusOK)

	f.do(staff, "GET", "/api/v1/staff/outbox?status=bogus", "", http.StatusBadRequest)
	out := f.do(staff, "GET", "/api/v1/staff/outbox?status=pending", "", http.StatusOK)
	rows := out["outbox"].([]any)
	if len(rows) != 2 || rows[0].(map[string]any)["body"].(map[string]any)["tracking_code"] != code {
		t.Fatalf("pending outbox %v", out)
	}
	id := rows[0].(map[string]any)["id"].(float64)
	f.do(staff, "POST", "/api/v1/staff/outbox/"+jsonNum(id)+"/requeue", "", http.StatusConflict) // not dead
	f.do(staff, "POST", "/api/v1/staff/outbox/424242/requeue", "", http.StatusNotFound)
	if out := f.do(staff, "GET", "/api/v1/staff/outbox", "", http.StatusOK); len(out["outbox"].([]any)) != 0 {
		t.Fatalf("dead letters %v", out)
	}
}

func jsonNum(f float64) string {
	b, _ := json.Marshal(int64(f))
	return string(b)
}

func TestNewRejectsShortTokens(t *testing.T) {
	t.Parallel()
	env := storetest.NewEnv(t, func(t *testing.T, now func() time.Time) cases.Store {
		s, err := casesqlite.Open(t.Context(), filepath.Join(t.TempDir(), "d.db"), casesqlite.Options{Now: now})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Migrate(t.Context()); err != nil {
			t.Fatal(err)
		}
		return s
	})
	eng, _ := env.Engine(t, nil)
	if _, err := caseapi.New(caseapi.Config{Engine: eng, Tokens: map[string]process.Actor{"short": {Role: process.RoleStaff}}}); err == nil {
		t.Fatal("short token accepted")
	}
	if _, err := caseapi.New(caseapi.Config{Engine: eng, Tokens: map[string]process.Actor{"0123456789abcdefg": {Role: process.RoleDepartment}}}); err == nil {
		t.Fatal("department token without department accepted")
	}
}

func FuzzDecodeBody(f *testing.F) {
	for _, s := range []string{``, `{}`, `{"text":"x","attachments":["a"]}`, `{"text":1}`, `{"x":1}`, `{"text":"a"}{}`, `[`, "\x00", `{"hours": 1e400}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var in struct {
			Text        string   `json:"text"`
			Attachments []string `json:"attachments"`
			Hours       float64  `json:"hours"`
		}
		err := caseapi.DecodeBody(body, &in)
		if err == nil && len(bytes.TrimSpace(body)) > 0 && !json.Valid(bytes.TrimSpace(body)) {
			t.Fatalf("accepted invalid JSON %q", body)
		}
	})
}

func TestDuplicateMarks(t *testing.T) {
	t.Parallel()
	f := setup(t)
	master := f.open()
	m := storetest.Lighting(f.clock.Now())
	m.Location = nil // not found by the Opened hook
	_, c := f.env.OpenCase(t, m)
	dup := c.TrackingCode
	f.do(lighting, "POST", "/api/v1/staff/cases/"+dup+"/duplicate", `{"of": "`+master+`"}`, http.StatusForbidden)
	f.do(staff, "POST", "/api/v1/staff/cases/"+dup+"/duplicate", `{"of": "123"}`, http.StatusUnprocessableEntity)
	out := f.do(staff, "POST", "/api/v1/staff/cases/"+dup+"/duplicate", `{"of": "`+master+`", "note": "همان تیر"}`, http.StatusOK)
	if out["case"].(map[string]any)["status"] != "open" {
		t.Fatalf("marked duplicate: %v", out)
	}
	f.do(staff, "POST", "/api/v1/staff/cases/"+dup+"/duplicate", `{"of": "`+master+`"}`, http.StatusConflict)
	out = f.do(staff, "POST", "/api/v1/staff/cases/"+dup+"/not-duplicate", `{}`, http.StatusOK)
	if out["case"].(map[string]any)["status"] != "assigned" {
		t.Fatalf("duplicate mark undone: %v", out)
	}
	f.do(staff, "POST", "/api/v1/staff/cases/"+dup+"/not-duplicate", `{}`, http.StatusConflict)
}
