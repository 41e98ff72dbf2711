package sms_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/dargah137/dargah/channels/sms/paneltest"
	"github.com/dargah137/dargah/internal/app/apptest"
)

// The panel's secrets, as the operator would put them in the environment.
const (
	webhookSecret = "wh-secret-for-tests"
	panelToken    = "panel-token-for-tests"
)

func TestMain(m *testing.M) {
	os.Setenv("SMS_E2E_WEBHOOK_SECRET", webhookSecret)
	os.Setenv("SMS_E2E_PANEL_TOKEN", "Bearer "+panelToken)
	os.Exit(m.Run())
}

func httpPortal(panel *paneltest.Server) string {
	return fmt.Sprintf(`
- name: panel
  type: sms
  provider: http
  source_addr: "3000137"
  webhook_path: /sms/panel/in
  auth: hmac
  auth_name: X-Signature
  secret_env: SMS_E2E_WEBHOOK_SECRET
  retry_min: 10ms
  retry_max: 50ms
  incoming: {from: from, to: to, text: message, id: messageid, timestamp: date}
  send:
    url: %q
    format: json
    to: receptor
    from: sender
    text: message
    auth_header: Authorization
    auth_value_env: SMS_E2E_PANEL_TOKEN
    id_path: entries.0.messageid
  dlr: {path: /sms/panel/dlr, id: messageid, status: status}
- name: panel-lan
  type: sms
  provider: http
  source_addr: "3000137"
  webhook_path: /sms/lan/in
  auth: none
  allow_ips: [10.0.0.0/8]
  incoming: {from: from, text: message}
  send: {url: %q, to: receptor, text: message}
`, panel.SendURL(), panel.SendURL())
}

func TestHTTPPanelInOutReceipt(t *testing.T) {
	t.Parallel()
	for _, rt := range []apptest.Runtime{apptest.Embedded, apptest.Production} {
		t.Run(string(rt), func(t *testing.T) {
			t.Parallel()
			testHTTPPanelInOut(t, rt)
		})
	}
}

func testHTTPPanelInOut(t *testing.T, rt apptest.Runtime) {
	ctx := ctxT(t)
	panel := paneltest.New(t, paneltest.Config{Token: panelToken, Secret: webhookSecret})
	h := apptest.Start(t, apptest.Options{Runtime: rt, Portals: httpPortal(panel)})
	in := h.URL + "/sms/panel/in"

	// The panel is overloaded at first; the outbox retries.
	panel.Fail(http.StatusServiceUnavailable, http.StatusTooManyRequests)
	text := "آب لوله کشی خیابان کوهسنگی از دیروز قطع است"
	st, body, err := panel.Incoming(ctx, in, 777, "۰۹۱۲۱۲۳۴۵۶۷", "3000137", text)
	if err != nil || st != http.StatusOK {
		t.Fatalf("incoming = %d %s %v", st, body, err)
	}
	// The reply to the citizen; the department head's text about the
	// case (escalation.yaml notifies by sms) goes out beside it.
	var r paneltest.Sent
	for n := 1; r.To == ""; n++ {
		sent, err := panel.WaitSent(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		if i := slices.IndexFunc(sent, func(s paneltest.Sent) bool { return s.To == "09121234567" }); i >= 0 {
			r = sent[i]
		}
	}
	code := codeRE.FindString(r.Text)
	if r.To != "09121234567" || r.From != "3000137" || code == "" || r.ContentType != "application/json" {
		t.Fatalf("sent = %+v", r)
	}
	c, err := h.Store.CaseGetByTracking(ctx, code)
	if err != nil || c.Contact.Phone != "+989121234567" || c.Description != text {
		t.Fatalf("case = %+v, %v", c, err)
	}

	// The panel posts the same message again: same receipt, nothing new.
	st, body2, err := panel.Incoming(ctx, in, 777, "09121234567", "3000137", text)
	if err != nil || st != http.StatusOK || receiptIDs(t, body2)[0] != receiptIDs(t, body)[0] {
		t.Fatalf("repeat = %d %s (first %s) %v", st, body2, body, err)
	}

	// Delivery report for the reply.
	st, body, err = panel.Report(ctx, h.URL+"/sms/panel/dlr", r.ID, "delivered")
	if err != nil || st != http.StatusOK {
		t.Fatalf("dlr = %d %s %v", st, body, err)
	}
	if v, ok, _ := h.Store.KVGet(ctx, fmt.Sprintf("sms:panel:dlr:%d", r.ID)); !ok || string(v) != "delivered" {
		t.Fatalf("dlr stored = %q %v", v, ok)
	}
	if panel.Unauthorized() != 0 {
		t.Fatal("send requests without the token")
	}
}

func TestHTTPPanelBadInput(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	panel := paneltest.New(t, paneltest.Config{Token: panelToken, Secret: webhookSecret})
	h := apptest.Start(t, apptest.Options{Portals: httpPortal(panel)})
	in := h.URL + "/sms/panel/in"
	good := []byte(`{"messageid":1,"from":"09121234567","message":"سلام"}`)
	for name, tc := range map[string]struct {
		url, ct, body, sig string
		want               int
	}{
		"bad signature":  {in, "application/json", string(good), strings.Repeat("ab", 32), http.StatusUnauthorized},
		"no signature":   {in, "application/json", string(good), "", http.StatusUnauthorized},
		"signed other":   {in, "application/json", `{"messageid":2}`, panel.Sign(good), http.StatusUnauthorized},
		"truncated json": {in, "application/json", `{"messageid":1,"from":`, "sign", http.StatusBadRequest},
		"no sender":      {in, "application/json", `{"messageid":1,"message":"x"}`, "sign", http.StatusBadRequest},
		"empty text":     {in, "application/json", `{"messageid":1,"from":"0912","message":"  "}`, "sign", http.StatusBadRequest},
		"not an object":  {in, "application/json", `[1,2]`, "sign", http.StatusBadRequest},
		"bad form":       {in, "application/x-www-form-urlencoded", "from=%zz", "sign", http.StatusBadRequest},
		"wrong ip":       {h.URL + "/sms/lan/in", "application/x-www-form-urlencoded", "from=09121234567&message=x", "", http.StatusForbidden},
		"dlr bad sig":    {h.URL + "/sms/panel/dlr", "application/x-www-form-urlencoded", "messageid=1&status=x", "00", http.StatusUnauthorized},
		"dlr without id": {h.URL + "/sms/panel/dlr", "application/x-www-form-urlencoded", "status=x", "sign", http.StatusBadRequest},
		"huge body":      {in, "application/json", `{"message":"` + strings.Repeat("x", 300<<10) + `"}`, "sign", http.StatusRequestEntityTooLarge},
	} {
		st, body, err := panel.Post(ctx, tc.url, tc.ct, []byte(tc.body), tc.sig)
		if err != nil || st != tc.want {
			t.Errorf("%s: %d %q %v; want %d", name, st, body, err, tc.want)
		}
	}
	// Nothing above reached intake: a good message is the first case.
	st, _, err := panel.Post(ctx, in, "application/json", good, "sign")
	if err != nil || st != http.StatusOK {
		t.Fatalf("good message = %d %v", st, err)
	}
	if _, err := panel.WaitSent(ctx, 1); err != nil {
		t.Fatal(err)
	}
}

func receiptIDs(t *testing.T, body string) []string {
	t.Helper()
	var v struct {
		IDs []string `json:"ids"`
	}
	if err := json.Unmarshal([]byte(body), &v); err != nil || len(v.IDs) == 0 {
		t.Fatalf("webhook answer %q: %v", body, err)
	}
	return v.IDs
}
