package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/cases/officeauto"
	"github.com/dargah137/dargah/cases/process"
	"github.com/dargah137/dargah/channels/telegram/botapitest"
	"github.com/dargah137/dargah/configs"
	"github.com/dargah137/dargah/gateway"
	"github.com/dargah137/dargah/internal/app/apptest"

	_ "github.com/dargah137/dargah/channels/telegram" // the journey's portal
)

// jumpClock is real time plus an offset the test moves forward, so the
// running Dargah keeps flowing while a 72-hour deadline passes at once.
type jumpClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *jumpClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

// To moves the clock to just after t.
func (c *jumpClock) To(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d := time.Until(t) - c.offset + time.Second; d > 0 {
		c.offset += d
	}
}

func (c *jumpClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// oaReceiver is the city's office automation: it checks every signature
// and answers the first attempt of each event with a 500.
type oaReceiver struct {
	mu       sync.Mutex
	attempts map[string]int
	bad      int
	accepted []officeauto.Event
}

func (r *oaReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	if officeauto.Verify([]byte("oa-secret"), body, req.Header.Get(officeauto.HeaderSignature)) != nil {
		r.bad++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	id := req.Header.Get(officeauto.HeaderEventID)
	r.attempts[id]++
	if r.attempts[id] == 1 {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	var ev officeauto.Event
	_ = json.Unmarshal(body, &ev)
	r.accepted = append(r.accepted, ev)
}

const (
	staffToken    = "staff-token-0123456789"
	lightingToken = "lighting-token-0123456789"
	parksToken    = "parks-token-0123456789"
	followUpToken = "followup-token-0123456789"
)

// TestProcessJourney is the 137 process end to end on a running Dargah,
// on both runtimes: a Telegram message opens a case; the head misses the
// deadline, then the deputy; the manager and inspection get it; the
// department answers through the API; 137 verifies; the citizen is told
// on Telegram and rates 2; the follow-up unit sends it back; answered
// again, verified, rated 5, closed. Office automation receives signed
// webhooks, retried after a 500.
func TestProcessJourney(t *testing.T) {
	rcv := &oaReceiver{attempts: map[string]int{}}
	oa := httptest.NewServer(rcv)
	defer oa.Close()
	orgFile := filepath.Join(t.TempDir(), "org.yaml")
	if err := os.WriteFile(orgFile, bytes.ReplaceAll(configs.Org, []byte("https://oa.mashhad.example"), []byte(oa.URL)), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DARGAH_ORG_FILE", orgFile)
	t.Setenv("DARGAH_OA_SECRET_LIGHTING", "oa-secret")
	t.Setenv("DARGAH_TOKEN_STAFF", staffToken)
	t.Setenv("DARGAH_TOKEN_FOLLOWUP", followUpToken)
	t.Setenv("DARGAH_TOKEN_DEPT_STREET_LIGHTING", lightingToken)
	t.Setenv("DARGAH_TOKEN_DEPT_PARKS", parksToken)
	t.Setenv("DARGAH_PROCESS_TICK", "1h") // the test drives the passes

	for i, rt := range runtimes {
		t.Run(string(rt), func(t *testing.T) {
			journey(t, rt, rcv, int64(7000+i))
		})
	}
}

func journey(t *testing.T, rt apptest.Runtime, rcv *oaReceiver, chat int64) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	tg := botapitest.New(t)
	clock := &jumpClock{}
	h := apptest.Start(t, apptest.Options{Runtime: rt, Now: clock.Now, Portals: fmt.Sprintf(`
- name: tg
  type: telegram
  token: %q
  api_endpoint: %q
  poll_timeout: 1s
  retry_delay: 20ms
`, tg.Token, tg.Endpoint())})
	eng := h.App.Process
	ps := h.Store.(cases.ProcessStore)

	// A citizen reports a dark street at the Holy Shrine through Telegram.
	m := gateway.Message{Portal: "tg", PortalKind: "telegram", PortalMessageID: fmt.Sprintf("tg-%d-1", chat),
		Contact: gateway.Contact{TelegramID: fmt.Sprint(chat), Language: "fa"}, ThreadKey: fmt.Sprintf("tg:%d", chat),
		Text: "چراغ‌های خیابان کنار حرم خاموش است", ServiceCode: "street_lighting", Language: "fa",
		Location: &gateway.Location{Lat: 36.2880, Long: 59.6157}, Metadata: map[string]string{"chat_id": fmt.Sprint(chat)}}
	r := submitAndAwait(t, h.App, m)
	code := r.Decision.TrackingCode
	if r.Decision.Outcome != gateway.OutcomeCaseOpened || code == "" {
		t.Fatalf("decision %+v", r.Decision)
	}
	c, _, err := ps.CaseState(ctx, code)
	if err != nil || c.Status != cases.StatusAssigned || c.Department != "street_lighting" || c.District != "samen" {
		t.Fatalf("opened case %+v, %v", c, err)
	}

	// The head misses the deadline, then the deputy.
	for level := 1; level <= 2; level++ {
		clock.To(c.DueAt)
		if _, err := eng.Fire(ctx); err != nil {
			t.Fatal(err)
		}
		c, _, _ = ps.CaseState(ctx, code)
		if c.EscalationLevel != level {
			t.Fatalf("after deadline %d: level %d", level, c.EscalationLevel)
		}
	}

	api := &client{t: t, url: h.URL}
	// Another department does not see the case at all.
	api.call(parksToken, "GET", "/api/v1/dept/cases/"+code, nil, http.StatusNotFound, nil)
	api.call(parksToken, "POST", "/api/v1/dept/cases/"+code+"/answer", map[string]any{"text": "x"}, http.StatusNotFound, nil)
	api.call("", "GET", "/api/v1/dept/cases", nil, http.StatusUnauthorized, nil)
	api.call(lightingToken, "GET", "/api/v1/staff/cases/"+code, nil, http.StatusForbidden, nil)
	var list struct{ Cases []cases.Case }
	api.call(lightingToken, "GET", "/api/v1/dept/cases?status=assigned", nil, http.StatusOK, &list)
	if len(list.Cases) != 1 || list.Cases[0].TrackingCode != code {
		t.Fatalf("department's list %+v", list.Cases)
	}
	// The manager acknowledges the final escalation.
	var view struct {
		Case   cases.Case
		Events []cases.Event
	}
	api.call(lightingToken, "GET", "/api/v1/dept/cases/"+code, nil, http.StatusOK, &view)
	last := view.Events[len(view.Events)-1]
	if last.Kind != "escalated" || last.Data["level"] != "2" || !strings.Contains(last.Data["recipients"], "inspection") {
		t.Fatalf("last event %+v", last)
	}
	api.call(lightingToken, "POST", fmt.Sprintf("/api/v1/dept/cases/%s/events/%d/ack", code, last.ID), nil, http.StatusOK, nil)
	api.call(lightingToken, "POST", fmt.Sprintf("/api/v1/dept/cases/%s/events/%d/ack", code, last.ID), nil, http.StatusConflict, nil)
	api.call(staffToken, "POST", "/api/v1/staff/cases/"+code+"/extend", map[string]any{"hours": 4}, http.StatusUnprocessableEntity, nil)
	api.call(staffToken, "POST", "/api/v1/staff/cases/"+code+"/verify", nil, http.StatusConflict, nil)

	rounds := []struct {
		answer string
		rating string
		status cases.Status
	}{{"لامپ‌ها تعویض شد", "2", cases.StatusFollowUp}, {"کابل برق تعمیر و روشنایی برقرار شد", "5", cases.StatusClosed}}
	for i, round := range rounds {
		api.call(lightingToken, "POST", "/api/v1/dept/cases/"+code+"/answer", map[string]any{"text": round.answer}, http.StatusOK, nil)
		api.call(staffToken, "POST", "/api/v1/staff/cases/"+code+"/verify", map[string]any{"note": "تأیید شد"}, http.StatusOK, nil)
		if _, err := eng.Deliver(ctx); err != nil {
			t.Fatal(err)
		}
		// The citizen reads the answer and the rating buttons on Telegram.
		sent, err := tg.WaitSent(ctx, chat, 2*(i+1)+1) // +1: the reply with the tracking code
		if err != nil {
			t.Fatal(err)
		}
		n := len(sent)
		if !strings.Contains(sent[n-2].Text, round.answer) || len(sent[n-1].InlineData()) != 5 {
			t.Fatalf("telegram got %q / %q %v", sent[n-2].Text, sent[n-1].Text, sent[n-1].InlineData())
		}
		tg.PressButton(sent[n-1].InlineData()[int(round.rating[0]-'1')])
		c = waitStatus(t, ctx, ps, code, round.status)
		if i == 0 {
			api.call(followUpToken, "POST", "/api/v1/followup/cases/"+code+"/return", map[string]any{"note": "بررسی مجدد میدانی"}, http.StatusOK, nil)
		}
	}
	if c.Rating != 5 || c.Outcome != process.OutcomeResolved {
		t.Fatalf("closed case %+v", c)
	}
	api.call(lightingToken, "POST", "/api/v1/dept/cases/"+code+"/answer", map[string]any{"text": "again"}, http.StatusConflict, nil)
	api.call(staffToken, "POST", "/api/v1/staff/cases/"+code+"/rate", map[string]any{"rating": 4}, http.StatusConflict, nil)

	evs, err := h.Store.CaseEvents(ctx, c.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	var ks []string
	for _, ev := range evs {
		ks = append(ks, ev.Kind)
	}
	want := []string{"opened", "assigned", "escalated", "escalated", "acknowledged",
		"answered", "verified", "message", "rated", "follow_up", "returned", "assigned",
		"answered", "verified", "message", "rated", "closed"}
	if !slices.Equal(ks, want) {
		t.Fatalf("timeline\n got %v\nwant %v", ks, want)
	}

	// Office automation: every webhook arrives signed, after one retry.
	for range 2 {
		clock.Advance(2 * time.Minute)
		if _, err := eng.Deliver(ctx); err != nil {
			t.Fatal(err)
		}
	}
	rcv.mu.Lock()
	var kinds []string
	for _, ev := range rcv.accepted {
		if ev.TrackingCode == code {
			kinds = append(kinds, string(ev.Kind))
			if rcv.attempts[ev.ID] != 2 {
				t.Errorf("event %s %s accepted after %d attempts", ev.Kind, ev.ID, rcv.attempts[ev.ID])
			}
		}
	}
	bad := rcv.bad
	rcv.mu.Unlock()
	slices.Sort(kinds)
	if wantK := []string{"assigned", "assigned", "closed", "escalated", "escalated"}; !slices.Equal(kinds, wantK) || bad != 0 {
		t.Fatalf("office automation got %v (bad signatures %d), want %v", kinds, bad, wantK)
	}
	resp, err := http.Get(h.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(metrics), "dargah_process_deadlines_fired_total 2") ||
		!strings.Contains(string(metrics), `dargah_process_outbox_attempts_total{channel="webhook",result="retry"}`) {
		t.Errorf("metrics lack the scheduler's counters:\n%s", metrics)
	}
	var dead struct{ Outbox []cases.Outbox }
	api.call(staffToken, "GET", "/api/v1/staff/outbox?status=dead", nil, http.StatusOK, &dead)
	if len(dead.Outbox) != 0 {
		t.Fatalf("dead letters %+v", dead.Outbox)
	}
}

func waitStatus(t *testing.T, ctx context.Context, ps cases.ProcessStore, code string, want cases.Status) cases.Case {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		c, _, err := ps.CaseState(ctx, code)
		if err == nil && c.Status == want {
			return c
		}
		select {
		case <-ctx.Done():
			t.Fatalf("case %s is %s, want %s (%v)", code, c.Status, want, err)
		case <-tick.C:
		}
	}
}

type client struct {
	t   *testing.T
	url string
}

func (c *client) call(token, method, path string, body any, wantStatus int, out any) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.url+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != wantStatus {
		c.t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, b, wantStatus)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			c.t.Fatalf("%s %s: decode %s: %v", method, path, b, err)
		}
	}
}
