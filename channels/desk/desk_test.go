package desk_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/dargah137/dargah/cases"
	_ "github.com/dargah137/dargah/channels/desk"
	"github.com/dargah137/dargah/internal/app/apptest"
)

const token = "desk-token-0123456789"

func post(t *testing.T, url, tok, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestDeskLetterAndWalkIn(t *testing.T) {
	t.Setenv("DARGAH_DESK_TOKEN", token)
	h := apptest.Start(t, apptest.Options{Portals: `
- name: letters
  type: desk
  source: letter
  token_env: DARGAH_DESK_TOKEN
- name: walk-in
  type: desk
  source: walk_in
  office: دفتر خدمات منطقه ثامن
  token_env: DARGAH_DESK_TOKEN
`})
	letters := h.URL + "/api/v1/desk/letters/messages"
	letter := `{"text":"درخواست ترمیم آسفالت کوچه شهید رجایی","contact":{"phone":"۰۹۱۵۱۲۳۴۵۶۷","name":"رضا"},"reference":"1405/3321","staff":"op-7"}`

	code, out := post(t, letters, token, letter)
	if code != 200 || out["outcome"] != "case_opened" || !cases.ValidTrackingCode(out["tracking_code"].(string)) {
		t.Fatalf("letter: %d %v", code, out)
	}
	// The same letter typed in again: the same case.
	if code, again := post(t, letters, token, letter); code != 200 || again["tracking_code"] != out["tracking_code"] {
		t.Fatalf("repeat: %d %v", code, again)
	}
	c, err := h.Store.CaseGetByTracking(context.Background(), out["tracking_code"].(string))
	if err != nil || c.Contact.Phone != "+989151234567" || c.Portal != "letters" || c.PortalKind != "desk" {
		t.Fatalf("case %+v, %v", c, err)
	}

	code, out = post(t, h.URL+"/api/v1/desk/walk-in/messages", token, `{"text":"ساعت کاری ۱۳۷ چیست"}`)
	if code != 200 || out["outcome"] != "resolved" {
		t.Fatalf("walk-in FAQ: %d %v", code, out)
	}

	for _, c := range []struct {
		name, tok, body string
		want            int
	}{
		{"no token", "", letter, 401},
		{"wrong token", "nope-nope-nope-nope", letter, 401},
		{"unknown field", token, `{"text":"x","colour":"blue"}`, 400},
		{"letter without reference", token, `{"text":"درخواست"}`, 422},
		{"bad phone", token, `{"text":"x","reference":"1","contact":{"phone":"12"}}`, 422},
		{"unknown service", token, `{"text":"x","reference":"2","service_code":"moon"}`, 422},
		{"empty text", token, `{"text":"  ","reference":"3"}`, 422},
		{"not json", token, `{"text":`, 400},
	} {
		if code, out := post(t, letters, c.tok, c.body); code != c.want {
			t.Errorf("%s: %d %v, want %d", c.name, code, out, c.want)
		}
	}
	list, _ := h.Store.CaseSearch(context.Background(), cases.Filter{})
	if len(list) != 1 {
		t.Errorf("%d cases, want 1 (bad input must store nothing)", len(list))
	}
}
