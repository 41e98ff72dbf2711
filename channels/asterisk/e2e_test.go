package asterisk_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/dargah137/dargah/channels/asterisk/aritest"
	"github.com/dargah137/dargah/gateway"
	"github.com/dargah137/dargah/internal/app/apptest"
	"github.com/dargah137/dargah/internal/testenv"
)

// phone is one Dargah with the asterisk portal pointed at an ARI double.
type phone struct {
	t     testing.TB
	srv   *aritest.Server
	h     *apptest.Harness
	token string
}

var envN atomic.Int64

const portalYAML = `
- name: phone
  type: asterisk
  url: %s
  username: dargah
  password: secret
  app: dargah
  agent_token_env: %s
  callback_endpoint: "PJSIP/{number}@trunk"
  input_timeout: 2s
  max_retries: 1
  languages: {"1": fa, "2": ar, "3": ur, "4": en}
  menu:
    prompt: main-menu
    options:
      "1": {queue: asphalt}
      "2": {case_status: true}
      "3": {voicemail: true}
      "4": {faq: faq-hours}
  queues:
    - name: asphalt
      skills: {asphalt: 1}
      language_level: 1
      ring_timeout: 20s
      wrap_up: -1ns
      max_wait: 2m
      on_max_wait: callback
  agents:
    - {id: a1, name: Zahra, endpoint: PJSIP/101, skills: {fa: 5, asphalt: 3}}
    - {id: a2, name: Ali, endpoint: PJSIP/102, skills: {fa: 3, asphalt: 1}}
%s`

func startPhone(t testing.TB, extra string, now func() time.Time) *phone {
	t.Helper()
	return startPhoneOn(t, aritest.New(t, aritest.Config{}), extra, now)
}

func startPhoneOn(t testing.TB, srv *aritest.Server, extra string, now func() time.Time) *phone {
	t.Helper()
	name := fmt.Sprintf("DARGAH_TEST_AGENT_TOKEN_%d", envN.Add(1))
	token := fmt.Sprintf("tok-%d", time.Now().UnixNano())
	os.Setenv(name, token)
	t.Cleanup(func() { os.Unsetenv(name) })
	h := apptest.Start(t, apptest.Options{Now: now, Portals: fmt.Sprintf(portalYAML, srv.URL(), name, extra)})
	srv.Wait("app registered", func() bool { return srv.Registered("dargah") })
	return &phone{t: t, srv: srv, h: h, token: token}
}

func (p *phone) do(method, path string, body any, out any) int {
	p.t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, p.h.URL+path, rd)
	req.Header.Set("Authorization", "Bearer "+p.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	if out != nil {
		_ = json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

func (p *phone) login(id string) {
	p.t.Helper()
	if code := p.do("POST", "/api/v1/agents/"+id+"/login", map[string]any{}, nil); code != 200 {
		p.t.Fatalf("login %s: %d", id, code)
	}
}

// eventually polls cond: Dargah's own state has no signal the test can
// wait on, so it is checked every few milliseconds until a deadline.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func played(c *aritest.Call, media string) bool {
	return slices.ContainsFunc(c.State().Played, func(m string) bool { return strings.Contains(m, media) })
}

func (p *phone) waiting(queue string) int {
	var st struct {
		Queues map[string]struct {
			Waiting int `json:"waiting"`
			Ringing int `json:"ringing"`
		} `json:"queues"`
	}
	p.do("GET", "/api/v1/queues", nil, &st)
	q := st.Queues[queue]
	return q.Waiting + q.Ringing
}

type feedMsg struct {
	Type      string         `json:"type"`
	Call      string         `json:"call"`
	ScreenPop map[string]any `json:"screen_pop"`
}

func (p *phone) feed(agent string) <-chan feedMsg {
	p.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	u := strings.Replace(p.h.URL, "http://", "ws://", 1) + "/api/v1/agents/" + agent + "/feed"
	c, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + p.token}}})
	if err != nil {
		p.t.Fatalf("feed: %v", err)
	}
	out := make(chan feedMsg, 64)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(out)
		for {
			_, b, err := c.Read(ctx)
			if err != nil {
				return
			}
			var m feedMsg
			_ = json.Unmarshal(b, &m)
			out <- m
		}
	}()
	p.t.Cleanup(func() { cancel(); c.CloseNow(); wg.Wait() })
	return out
}

func next(t testing.TB, ch <-chan feedMsg, typ string) feedMsg {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case m, ok := <-ch:
			if !ok {
				t.Fatalf("feed closed waiting for %s", typ)
			}
			if m.Type == typ {
				return m
			}
		case <-timeout:
			t.Fatalf("no %s on the feed", typ)
		}
	}
}

// connect answers the agent's ringing leg and waits for caller and agent
// to share the call's mixing bridge.
func (p *phone) connect(caller, agent *aritest.Call) {
	p.t.Helper()
	agent.Answer()
	p.srv.Wait("caller and agent bridged", func() bool {
		b := caller.State().Bridge
		return b != "" && b == agent.State().Bridge && strings.HasPrefix(b, "call-")
	})
}

func TestIVRQueueAgentCase(t *testing.T) {
	t.Parallel()
	p := startPhone(t, "", nil)
	p.login("a1")
	feed := p.feed("a1")
	call := p.srv.NewCall("09151234567")
	p.srv.WaitRequest("channels.answer", 1)
	call.SendDTMF("1") // Persian
	call.SendDTMF("1") // asphalt queue
	agent := p.srv.WaitOriginated("PJSIP/101")
	if got := agent.State().Args; len(got) != 2 || got[0] != "agent" || got[1] != call.ID() {
		t.Fatalf("agent leg args %v", got)
	}
	pop := next(t, feed, "ring")
	if pop.Call != call.ID() || pop.ScreenPop["caller"] != "09151234567" || pop.ScreenPop["language"] != "fa" {
		t.Fatalf("screen pop %+v", pop)
	}
	if path := fmt.Sprint(pop.ScreenPop["ivr_path"]); !strings.Contains(path, "lang=fa") || !strings.Contains(path, "queue=asphalt") {
		t.Fatalf("ivr path %s", path)
	}
	p.connect(call, agent)
	next(t, feed, "answered")
	call.Hangup()
	p.srv.Wait("agent leg hung up", func() bool { return agent.State().Gone })
	next(t, feed, "ended")

	var out struct {
		Outcome      string `json:"outcome"`
		TrackingCode string `json:"tracking_code"`
	}
	code := p.do("POST", "/api/v1/agents/a1/calls/"+call.ID()+"/outcome", map[string]any{
		"outcome": "case", "service_code": "asphalt", "description": "چاله بزرگ در بلوار وکیل‌آباد", "address": "بلوار وکیل‌آباد ۱۲"}, &out)
	if code != 200 || out.Outcome != "case_opened" || out.TrackingCode == "" {
		t.Fatalf("outcome: %d %+v", code, out)
	}
	c, err := p.h.Store.CaseGetByTracking(context.Background(), out.TrackingCode)
	if err != nil {
		t.Fatal(err)
	}
	if c.ServiceCode != "asphalt" || c.Contact.Phone != "+989151234567" || c.PortalKind != "asterisk" || c.Location == nil {
		t.Fatalf("case %+v", c)
	}
	// Another agent cannot record this call's outcome; unknown calls are 404.
	if code := p.do("POST", "/api/v1/agents/a2/calls/"+call.ID()+"/outcome", map[string]any{"outcome": "resolved"}, nil); code != 403 {
		t.Fatalf("other agent's outcome: %d", code)
	}
	if code := p.do("POST", "/api/v1/agents/a1/calls/nope/outcome", map[string]any{"outcome": "resolved"}, nil); code != 404 {
		t.Fatalf("unknown call: %d", code)
	}
	// Without the token nothing passes.
	req, _ := http.NewRequest("GET", p.h.URL+"/api/v1/agents", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 401 {
		t.Fatalf("no token: %v %v", resp, err)
	}
	resp.Body.Close()
}

func TestOutcomeResolvedOnTheSpot(t *testing.T) {
	t.Parallel()
	p := startPhone(t, "", nil)
	p.login("a1")
	call := p.srv.NewCall("09150000001")
	call.SendDTMF("11")
	agent := p.srv.WaitOriginated("PJSIP/101")
	p.connect(call, agent)
	agent.Hangup() // the agent ends the call this time
	p.srv.Wait("caller hung up by Dargah", func() bool { return call.State().Gone })
	var out struct {
		Outcome      string `json:"outcome"`
		TrackingCode string `json:"tracking_code"`
	}
	if code := p.do("POST", "/api/v1/agents/a1/calls/"+call.ID()+"/outcome", map[string]any{"outcome": "resolved", "note": "ساعت کاری پرسید"}, &out); code != 200 || out.Outcome != "resolved" || out.TrackingCode != "" {
		t.Fatalf("resolved outcome: %d %+v", code, out)
	}
}

func TestCaseStatusByPhone(t *testing.T) {
	t.Parallel()
	p := startPhone(t, "", nil)
	ctx := context.Background()
	r, err := p.h.App.Pipeline.Submit(ctx, gateway.Message{Portal: "phone", PortalKind: "asterisk", PortalMessageID: "seed-1",
		Text: "چاله در خیابان امام رضا", ServiceCode: "asphalt", Language: "fa", ReceivedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	r, err = p.h.App.Pipeline.Await(ctx, r.MessageID)
	if err != nil || r.Decision.TrackingCode == "" {
		t.Fatalf("seed case: %+v %v", r, err)
	}
	code := r.Decision.TrackingCode
	call := p.srv.NewCall("09151234567")
	call.SendDTMF("12" + code + "#")
	p.srv.Wait("status played", func() bool { return played(call, "sound:dargah/status-intro") })
	c, err := p.h.Store.CaseGetByTracking(ctx, code)
	if err != nil {
		t.Fatal(err)
	}
	if !played(call, "digits:"+code) || !played(call, "sound:dargah/status-"+string(c.Status)) {
		t.Fatalf("status of %s (%s) not read: %v", code, c.Status, call.State().Played)
	}
	// A code with a bad check digit is refused without a lookup, then an
	// unknown valid-looking code is "unknown"; the "#" after a full code is
	// no menu choice.
	call.SendDTMF("2" + "1234567890")
	p.srv.Wait("invalid code prompt", func() bool { return played(call, "code-invalid") || played(call, "code-unknown") })
	call.Hangup()
}

func TestAfterHoursVoicemail(t *testing.T) {
	t.Parallel()
	tehran, _ := time.LoadLocation("Asia/Tehran")
	friday3am := time.Date(2026, 11, 27, 3, 0, 0, 0, tehran)
	p := startPhone(t, `  hours:
    timezone: Asia/Tehran
    open:
      - {days: [sat, sun, mon, tue, wed], from: "07:00", to: "22:00"}
`, func() time.Time { return friday3am })
	call := p.srv.NewCall("09351112233")
	p.srv.WaitRequest("channels.record", 1)
	if !played(call, "sound:dargah/closed") {
		t.Fatalf("no closed prompt: %v", call.State().Played)
	}
	call.SendDTMF("#") // ends the recording
	p.srv.Wait("voicemail saved prompt", func() bool { return played(call, "voicemail-saved") })
	ctx := context.Background()
	rc, err := p.h.Store.MessageGetByPortalID(ctx, "phone", "vm:"+call.ID())
	if err != nil {
		t.Fatal(err)
	}
	if rc.Decision.TrackingCode == "" || !played(call, "digits:"+rc.Decision.TrackingCode) {
		t.Fatalf("receipt %+v, played %v", rc, call.State().Played)
	}
	c, err := p.h.Store.CaseGetByTracking(ctx, rc.Decision.TrackingCode)
	if err != nil || len(c.Attachments) != 1 {
		t.Fatalf("case %+v %v", c, err)
	}
	a, data, err := p.h.Store.AttachmentGet(ctx, c.Attachments[0])
	if err != nil || len(data) == 0 || !strings.HasPrefix(a.ContentType, "audio/") {
		t.Fatalf("attachment %+v (%d bytes) %v", a, len(data), err)
	}
	p.srv.Wait("caller hung up", func() bool { return call.State().Gone })
}

// clock is a settable clock for max-wait tests.
type clock struct{ ns atomic.Int64 }

func (c *clock) now() time.Time            { return time.Unix(0, c.ns.Load()) }
func (c *clock) advance(d time.Duration)   { c.ns.Add(int64(d)) }
func newClock(t time.Time) *clock          { c := &clock{}; c.ns.Store(t.UnixNano()); return c }
func (c *clock) set(t time.Time) time.Time { c.ns.Store(t.UnixNano()); return t }

func TestCallbackKeepsPlace(t *testing.T) {
	t.Parallel()
	clk := newClock(time.Now())
	p := startPhone(t, "", clk.now)
	first := p.srv.NewCall("09151111111")
	first.SendDTMF("11")
	eventually(t, "first queued", func() bool { return p.waiting("asphalt") == 1 })
	clk.advance(90 * time.Second)
	second := p.srv.NewCall("09152222222")
	second.SendDTMF("11")
	eventually(t, "second queued", func() bool { return p.waiting("asphalt") == 2 })
	clk.advance(40 * time.Second) // first waited 130 s > max_wait 2 m; second 40 s
	p.srv.Wait("max-wait offer", func() bool { return played(first, "max-wait-offer") })
	first.SendDTMF("1") // call me back
	p.srv.Wait("first caller hung up after callback-ok", func() bool { return first.State().Gone })
	if !played(first, "callback-ok") || played(second, "max-wait-offer") {
		t.Fatal("wrong prompts")
	}
	p.login("a1")
	agent := p.srv.WaitOriginated("PJSIP/101")
	if args := agent.State().Args; len(args) != 2 || args[1] != first.ID() {
		t.Fatalf("the callback task lost its place: agent rings for %v", args)
	}
	agent.Answer()
	citizen := p.srv.WaitOriginated("PJSIP/09151111111@trunk")
	citizen.Answer()
	p.srv.Wait("agent and citizen bridged", func() bool {
		b := citizen.State().Bridge
		return b != "" && b == agent.State().Bridge
	})
	citizen.Hangup()
	// The agent is free again and the second caller gets them.
	agent2 := p.srv.WaitOriginated("PJSIP/101")
	if args := agent2.State().Args; args[1] != second.ID() {
		t.Fatalf("second call args %v", args)
	}
	p.connect(second, agent2)
}

func TestReconnectMidQueue(t *testing.T) {
	t.Parallel()
	p := startPhone(t, "", nil)
	leaver := p.srv.NewCall("09150000002")
	leaver.SendDTMF("11")
	eventually(t, "queued", func() bool { return p.waiting("asphalt") == 1 })
	stayer := p.srv.NewCall("09150000003")
	stayer.SendDTMF("11")
	p.srv.Wait("both in holding bridge", func() bool {
		return leaver.State().Bridge != "" && stayer.State().Bridge != ""
	})
	p.srv.DropWebSocket()
	leaver.Hangup() // its events are lost
	p.srv.Wait("reconnected", func() bool { return p.srv.Connects() >= 2 && p.srv.Registered("dargah") })
	eventually(t, "the caller who left is out of the queue", func() bool { return p.waiting("asphalt") == 1 })
	p.login("a1")
	agent := p.srv.WaitOriginated("PJSIP/101")
	if args := agent.State().Args; args[1] != stayer.ID() {
		t.Fatalf("agent rings for %v", args)
	}
	p.connect(stayer, agent)
	stayer.Hangup()

	// An Asterisk restart: every call is gone; the queue empties and a new
	// call works (the holding bridge is made again).
	c := p.srv.NewCall("09150000004")
	c.SendDTMF("1")
	p.srv.Wait("second restart caller in menu", func() bool { return played(c, "main-menu") })
	p.srv.Restart()
	p.srv.Wait("reconnected after restart", func() bool { return p.srv.Connects() >= 3 && p.srv.Registered("dargah") })
	eventually(t, "queue empty", func() bool { return p.waiting("asphalt") == 0 })
	c2 := p.srv.NewCall("09150000005")
	c2.SendDTMF("11")
	a2 := p.srv.WaitOriginated("PJSIP/101")
	p.connect(c2, a2)
}

func TestRingFaults(t *testing.T) {
	t.Parallel()
	p := startPhone(t, "", nil)
	p.login("a1")
	p.login("a2")
	call := p.srv.NewCall("09150000010")
	call.SendDTMF("11")
	// a1 and a2 are equally idle-new; whichever rings first does not answer.
	first := p.srv.WaitOriginated("")
	first.NoAnswer()
	second := p.srv.WaitOriginated("")
	if second.State().Endpoint == first.State().Endpoint {
		t.Fatalf("the same agent rang twice: %s", first.State().Endpoint)
	}
	second.Hangup() // declines mid-ring
	third := p.srv.WaitOriginated("")
	// The caller hangs up while an agent's phone rings: the ringing stops
	// and the agent is free.
	call.Hangup()
	p.srv.Wait("ringing agent released", func() bool { return third.State().Gone })
	var list struct {
		Agents []struct {
			ID     string `json:"id"`
			State  string `json:"state"`
			Misses int    `json:"misses"`
		} `json:"agents"`
	}
	eventually(t, "agents available", func() bool {
		p.do("GET", "/api/v1/agents", nil, &list)
		n := 0
		for _, a := range list.Agents {
			if a.State == "available" {
				n++
			}
		}
		return n == 2
	})
	misses := 0
	for _, a := range list.Agents {
		misses += a.Misses
	}
	if misses != 2 {
		t.Fatalf("misses %+v", list.Agents)
	}
}

func TestTwoCallsRaceForLastAgent(t *testing.T) {
	t.Parallel()
	p := startPhone(t, "", nil)
	a := p.srv.NewCall("09150000020")
	b := p.srv.NewCall("09150000021")
	a.SendDTMF("11")
	b.SendDTMF("11")
	eventually(t, "both queued", func() bool { return p.waiting("asphalt") == 2 })
	p.login("a1")
	leg := p.srv.WaitOriginated("PJSIP/101")
	firstID := leg.State().Args[1]
	p.connect(map[bool]*aritest.Call{true: a, false: b}[firstID == a.ID()], leg)
	if n := len(p.srv.RequestsFor("channels.originateWithId")); n != 1 {
		t.Fatalf("%d originates for one agent", n)
	}
	map[bool]*aritest.Call{true: a, false: b}[firstID == a.ID()].Hangup()
	leg2 := p.srv.WaitOriginated("PJSIP/101")
	if leg2.State().Args[1] == firstID {
		t.Fatal("same call offered twice")
	}
	other := map[bool]*aritest.Call{true: b, false: a}[firstID == a.ID()]
	p.connect(other, leg2)
}

func TestDTMFGarbageFallsBackToAgent(t *testing.T) {
	t.Parallel()
	p := startPhone(t, "", nil)
	call := p.srv.NewCall("09150000030")
	call.SendDTMF("*#9") // no such language; the rest is discarded
	p.srv.Wait("invalid prompt", func() bool { return played(call, "sound:dargah/invalid") })
	call.SendDTMF("7") // wrong again: max_retries is 1 → an agent
	p.srv.Wait("in the holding bridge", func() bool { return call.State().Bridge == "dargah-holding" })
	p.login("a2")
	agent := p.srv.WaitOriginated("PJSIP/102")
	p.connect(call, agent)
}

func TestAgentStates(t *testing.T) {
	t.Parallel()
	p := startPhone(t, "", nil)
	feed := p.feed("a1")
	p.login("a1")
	if code := p.do("POST", "/api/v1/agents/a1/state", map[string]any{"state": "paused"}, nil); code != 400 {
		t.Fatalf("pause without reason: %d", code)
	}
	if code := p.do("POST", "/api/v1/agents/a1/state", map[string]any{"state": "paused", "reason": "ناهار"}, nil); code != 200 {
		t.Fatalf("pause: %d", code)
	}
	if code := p.do("POST", "/api/v1/agents/a1/state", map[string]any{"state": "dancing"}, nil); code != 400 {
		t.Fatalf("unknown state: %d", code)
	}
	if code := p.do("POST", "/api/v1/agents/zz/state", map[string]any{"state": "available"}, nil); code != 404 {
		t.Fatalf("unknown agent: %d", code)
	}
	if code := p.do("POST", "/api/v1/agents/a9/login", map[string]any{"endpoint": "PJSIP/109"}, nil); code != 400 {
		t.Fatalf("login without skills: %d", code)
	}
	call := p.srv.NewCall("09150000040")
	call.SendDTMF("11")
	eventually(t, "queued while the only agent is paused", func() bool { return p.waiting("asphalt") == 1 })
	if n := len(p.srv.RequestsFor("channels.originateWithId")); n != 0 {
		t.Fatalf("a paused agent was dialed")
	}
	if code := p.do("POST", "/api/v1/agents/a1/state", map[string]any{"state": "available"}, nil); code != 200 {
		t.Fatalf("resume: %d", code)
	}
	agent := p.srv.WaitOriginated("PJSIP/101")
	next(t, feed, "ring")
	p.connect(call, agent)
	// Logging out while on a call is refused.
	if code := p.do("POST", "/api/v1/agents/a1/logout", nil, nil); code != 409 {
		t.Fatalf("logout on a call: %d", code)
	}
	call.Hangup()
	next(t, feed, "ended")
	eventually(t, "available after the call (no wrap-up)", func() bool {
		return p.do("POST", "/api/v1/agents/a1/logout", nil, nil) == 200
	})
	var st struct {
		Queues map[string]struct {
			Answered int64 `json:"answered"`
		} `json:"queues"`
	}
	p.do("GET", "/api/v1/queues", nil, &st)
	if st.Queues["asphalt"].Answered != 1 {
		t.Fatalf("queue stats %+v", st)
	}
}

func TestTwoAsteriskServers(t *testing.T) {
	t.Parallel()
	one := aritest.New(t, aritest.Config{SystemName: "ast1"})
	two := aritest.New(t, aritest.Config{SystemName: "ast2"})
	servers := fmt.Sprintf(`  servers:
    - {name: ast1, url: %s}
    - {name: ast2, url: %s}
`, one.URL(), two.URL())
	name := fmt.Sprintf("DARGAH_TEST_AGENT_TOKEN_%d", envN.Add(1))
	os.Setenv(name, "tok")
	t.Cleanup(func() { os.Unsetenv(name) })
	cfg := strings.Replace(fmt.Sprintf(portalYAML, "X", name, servers), "  url: X\n", "", 1)
	h := apptest.Start(t, apptest.Options{Portals: cfg})
	one.Wait("registered", func() bool { return one.Registered("dargah") })
	two.Wait("registered", func() bool { return two.Registered("dargah") })
	p := &phone{t: t, srv: two, h: h, token: "tok"}
	p.login("a1")
	call := two.NewCall("09150000050")
	call.SendDTMF("11")
	agent := two.WaitOriginated("PJSIP/101") // on the server that has the caller
	p.connect(call, agent)
	if n := len(one.RequestsFor("channels.originateWithId")); n != 0 {
		t.Fatal("dialed on the wrong server")
	}
}

// TestProductionRuntime runs a call on PostgreSQL + Redis Streams with
// agent presence in Redis (redispool), as a multi-instance deployment does.
func TestProductionRuntime(t *testing.T) {
	t.Parallel()
	srv := aritest.New(t, aritest.Config{})
	redisURL, prefix := testenv.RedisURL(t)
	name := fmt.Sprintf("DARGAH_TEST_AGENT_TOKEN_%d", envN.Add(1))
	os.Setenv(name, "tok")
	t.Cleanup(func() { os.Unsetenv(name) })
	extra := fmt.Sprintf("  agent_pool: {redis_url: %q, prefix: %q}\n", redisURL, prefix+"acd:")
	h := apptest.Start(t, apptest.Options{Runtime: apptest.Production, Portals: fmt.Sprintf(portalYAML, srv.URL(), name, extra)})
	srv.Wait("registered", func() bool { return srv.Registered("dargah") })
	p := &phone{t: t, srv: srv, h: h, token: "tok"}
	p.login("a1")
	call := srv.NewCall("09150000060")
	call.SendDTMF("11")
	agent := srv.WaitOriginated("PJSIP/101")
	p.connect(call, agent)
	call.Hangup()
	srv.Wait("agent leg gone", func() bool { return agent.State().Gone })
	var out struct {
		TrackingCode string `json:"tracking_code"`
	}
	if code := p.do("POST", "/api/v1/agents/a1/calls/"+call.ID()+"/outcome", map[string]any{
		"outcome": "case", "service_code": "asphalt", "description": "آسفالت خراب", "lat": 36.29, "long": 59.61}, &out); code != 200 || out.TrackingCode == "" {
		t.Fatalf("outcome %d %+v", code, out)
	}
	if _, err := h.Store.CaseGetByTracking(context.Background(), out.TrackingCode); err != nil {
		t.Fatal(err)
	}
}

func TestAgentAnswersDuringOutage(t *testing.T) {
	t.Parallel()
	p := startPhone(t, "", nil)
	p.login("a1")
	call := p.srv.NewCall("09150000070")
	call.SendDTMF("11")
	agent := p.srv.WaitOriginated("PJSIP/101")
	p.srv.DropWebSocket()
	agent.Answer() // StasisStart is lost; the snapshot shows the leg Up
	p.srv.Wait("reconnected", func() bool { return p.srv.Connects() >= 2 && p.srv.Registered("dargah") })
	p.srv.Wait("bridged after reconnect", func() bool {
		b := call.State().Bridge
		return strings.HasPrefix(b, "call-") && b == agent.State().Bridge
	})
}

func TestMaxWaitVoicemail(t *testing.T) {
	t.Parallel()
	clk := newClock(time.Now())
	p := startPhone(t, "", clk.now)
	first := p.srv.NewCall("09151111112")
	first.SendDTMF("11")
	eventually(t, "first queued", func() bool { return p.waiting("asphalt") == 1 })
	second := p.srv.NewCall("09151111113")
	second.SendDTMF("11")
	p.srv.Wait("second hears position 2", func() bool { return played(second, "number:2") })
	clk.advance(3 * time.Minute)
	p.srv.Wait("max-wait offer", func() bool { return played(first, "max-wait-offer") })
	first.SendDTMF("2") // leave a voicemail
	p.srv.WaitRequest("channels.record", 1)
	if first.State().Bridge != "" {
		t.Fatalf("recording while still in bridge %s", first.State().Bridge)
	}
	first.SendDTMF("#")
	p.srv.Wait("voicemail saved", func() bool { return played(first, "voicemail-saved") })
	rc, err := p.h.Store.MessageGetByPortalID(context.Background(), "phone", "vm:"+first.ID())
	if err != nil || rc.Decision.TrackingCode == "" {
		t.Fatalf("voicemail receipt %+v %v", rc, err)
	}
	if p.waiting("asphalt") != 1 {
		t.Fatal("the voicemail caller is still queued")
	}
}

// TestAdoptAfterCrash: a caller was queued by a Dargah that died (its
// queue and language are on the channel); the next Dargah finds the
// channel in the app and queues it again without replaying the IVR.
func TestAdoptAfterCrash(t *testing.T) {
	t.Parallel()
	srv := aritest.New(t, aritest.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	u := strings.Replace(srv.URL(), "http://", "ws://", 1) + "/ari/events?app=dargah&api_key=dargah:secret"
	ws, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: srv.HTTPClient()})
	if err != nil {
		t.Fatal(err)
	}
	call := srv.NewCallFrom(aritest.Incoming{CallerNumber: "09150000080",
		Vars: map[string]string{"DARGAH_QUEUE": "asphalt", "DARGAH_LANG": "fa", "DARGAH_PATH": "lang=fa/1/queue=asphalt"}})
	ws.CloseNow() // the old Dargah dies
	srv.Wait("app gone", func() bool { return !srv.Registered("dargah") })

	p := startPhoneOn(t, srv, "", nil)
	eventually(t, "adopted into the queue", func() bool { return p.waiting("asphalt") == 1 })
	if played(call, "welcome") {
		t.Fatal("the IVR was replayed to a queued caller")
	}
	p.login("a1")
	agent := srv.WaitOriginated("PJSIP/101")
	p.connect(call, agent)
}

func TestCallbackNotAnswered(t *testing.T) {
	t.Parallel()
	clk := newClock(time.Now())
	p := startPhone(t, "", clk.now)
	call := p.srv.NewCall("09151111114")
	call.SendDTMF("11")
	eventually(t, "queued", func() bool { return p.waiting("asphalt") == 1 })
	clk.advance(3 * time.Minute)
	p.srv.Wait("max-wait offer", func() bool { return played(call, "max-wait-offer") })
	call.SendDTMF("1")
	p.srv.Wait("caller hung up", func() bool { return call.State().Gone })
	p.login("a1")
	agent := p.srv.WaitOriginated("PJSIP/101")
	agent.Answer()
	citizen := p.srv.WaitOriginated("PJSIP/09151111114@trunk")
	citizen.NoAnswer()
	p.srv.Wait("agent leg hung up", func() bool { return agent.State().Gone })
	eventually(t, "agent free again", func() bool {
		var a struct {
			Agents []struct {
				State string `json:"state"`
			} `json:"agents"`
		}
		p.do("GET", "/api/v1/agents", nil, &a)
		return len(a.Agents) == 1 && a.Agents[0].State == "available"
	})
}

// TestHandOffOnStop: a graceful stop leaves a queued caller on hold with a
// deadline instead of hanging up; the next Dargah puts them back in their
// queue without replaying the IVR, clears the deadline, and an agent gets
// the call.
func TestHandOffOnStop(t *testing.T) {
	t.Parallel()
	srv := aritest.New(t, aritest.Config{})
	old := startPhoneOn(t, srv, "", nil)
	call := srv.NewCall("09150000090")
	call.SendDTMF("11")
	eventually(t, "queued", func() bool { return old.waiting("asphalt") == 1 })
	welcomes := count(call.State().Played, "welcome")

	stop(t, old)
	st := call.State()
	if st.Gone || st.Bridge != "dargah-holding" {
		t.Fatalf("after a graceful stop the caller is gone=%v in bridge %q, want waiting on hold", st.Gone, st.Bridge)
	}
	if got := st.Vars["TIMEOUT(absolute)"]; got != "120" {
		t.Fatalf("hand-off deadline %q, want the default 120 s", got)
	}

	next := startPhoneOn(t, srv, "", nil)
	eventually(t, "taken back into the queue", func() bool { return next.waiting("asphalt") == 1 })
	srv.Wait("deadline cleared", func() bool { return call.State().Vars["TIMEOUT(absolute)"] == "0" })
	if n := count(call.State().Played, "welcome"); n != welcomes {
		t.Fatalf("the IVR was replayed to a caller taken back (%d welcomes, was %d)", n, welcomes)
	}
	next.login("a1")
	agent := srv.WaitOriginated("PJSIP/101")
	next.connect(call, agent)
}

// TestHandOffNobodyCame: if no Dargah takes the caller back within
// handoff_wait, Asterisk hangs them up; a caller ringing an agent at the
// stop is left too, and the agent's leg is ended.
func TestHandOffNobodyCame(t *testing.T) {
	t.Parallel()
	srv := aritest.New(t, aritest.Config{})
	p := startPhoneOn(t, srv, "  handoff_wait: 1500ms\n", nil)
	p.login("a1")
	call := srv.NewCall("09150000091")
	call.SendDTMF("11")
	agent := srv.WaitOriginated("PJSIP/101")

	stop(t, p)
	if st := call.State(); st.Gone || st.Vars["TIMEOUT(absolute)"] != "1.5" {
		t.Fatalf("caller gone=%v deadline %q, want on hold for 1.5 s", st.Gone, st.Vars["TIMEOUT(absolute)"])
	}
	if !agent.State().Gone {
		t.Fatal("the agent's phone still rings for a Dargah that stopped")
	}
	srv.Wait("caller hung up at the deadline", func() bool { return call.State().Gone })
}

// stop shuts a phone's Dargah down gracefully, as SIGTERM does.
func stop(t *testing.T, p *phone) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.h.App.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	p.srv.Wait("app gone", func() bool { return !p.srv.Registered("dargah") })
}

func count(played []string, media string) int {
	n := 0
	for _, m := range played {
		if strings.Contains(m, media) {
			n++
		}
	}
	return n
}

// TestHandOffConversation: a graceful stop does not cut a caller off from
// the agent they are talking to. The conversation goes on in Asterisk; the
// next Dargah (sharing the agent pool) takes it over, clears the deadline,
// and when the caller hangs up it ends the agent's leg, frees the agent
// and takes the call's outcome.
func TestHandOffConversation(t *testing.T) {
	t.Parallel()
	srv := aritest.New(t, aritest.Config{})
	redisURL, prefix := testenv.RedisURL(t)
	pool := fmt.Sprintf("  agent_pool: {redis_url: %q, prefix: %q}\n", redisURL, prefix+"acd:")
	old := startPhoneOn(t, srv, pool, nil)
	old.login("a1")
	call := srv.NewCall("09150000092")
	call.SendDTMF("11")
	agent := srv.WaitOriginated("PJSIP/101")
	old.connect(call, agent)
	bridge := call.State().Bridge

	stop(t, old)
	for _, c := range []*aritest.Call{call, agent} {
		st := c.State()
		if st.Gone || st.Bridge != bridge || st.Vars["TIMEOUT(absolute)"] != "120" {
			t.Fatalf("after a graceful stop %s: gone=%v in bridge %q (want %q), deadline %q",
				c.ID(), st.Gone, st.Bridge, bridge, st.Vars["TIMEOUT(absolute)"])
		}
	}

	next := startPhoneOn(t, srv, pool, nil)
	srv.Wait("deadlines cleared", func() bool {
		return call.State().Vars["TIMEOUT(absolute)"] == "0" && agent.State().Vars["TIMEOUT(absolute)"] == "0"
	})
	if agent.State().Gone || next.waiting("asphalt") != 0 {
		t.Fatal("the next Dargah broke the conversation up (agent hung up, or caller queued again)")
	}
	call.Hangup()
	srv.Wait("agent's leg ended with the call", func() bool { return agent.State().Gone })
	eventually(t, "agent free again", func() bool {
		var out struct {
			Agents []struct {
				ID    string `json:"id"`
				State string `json:"state"`
			} `json:"agents"`
		}
		next.do("GET", "/api/v1/agents", nil, &out)
		return slices.ContainsFunc(out.Agents, func(a struct {
			ID    string `json:"id"`
			State string `json:"state"`
		}) bool {
			return a.ID == "a1" && a.State == "available"
		})
	})
	var out struct {
		TrackingCode string `json:"tracking_code"`
	}
	if code := next.do("POST", "/api/v1/agents/a1/calls/"+call.ID()+"/outcome", map[string]any{
		"outcome": "case", "service_code": "asphalt", "description": "آسفالت خراب"}, &out); code != 200 || out.TrackingCode == "" {
		t.Fatalf("outcome on the Dargah that took the call over: %d %+v", code, out)
	}
}

// TestStopDuringVoicemailConfirmation: a stop while the caller hears
// "voicemail saved" ends the call at once; the voicemail is kept. The
// confirmation waits for ARI events, which stop with Dargah: it used to
// hold the stop until the shutdown deadline.
func TestStopDuringVoicemailConfirmation(t *testing.T) {
	t.Parallel()
	srv := aritest.New(t, aritest.Config{ManualPlaybacks: true})
	tehran, _ := time.LoadLocation("Asia/Tehran")
	friday3am := time.Date(2026, 11, 27, 3, 0, 0, 0, tehran)
	p := startPhoneOn(t, srv, `  hours:
    timezone: Asia/Tehran
    open:
      - {days: [sat, sun, mon, tue, wed], from: "07:00", to: "22:00"}
`, func() time.Time { return friday3am })
	call := srv.NewCall("09351112234")
	for len(srv.RequestsFor("channels.record")) == 0 {
		for _, id := range srv.Playbacks() {
			if pb, ok := srv.Playback(id); ok && pb.State == "playing" {
				srv.FinishPlayback(id) // the "closed" prompt
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	call.SendDTMF("#") // ends the recording
	srv.Wait("voicemail saved prompt playing", func() bool { return played(call, "voicemail-saved") })
	if _, err := p.h.Store.MessageGetByPortalID(context.Background(), "phone", "vm:"+call.ID()); err != nil {
		t.Fatalf("the voicemail was not stored: %v", err)
	}
	stop(t, p)
	if !call.State().Gone {
		t.Fatal("the caller is still on the line after the stop")
	}
}

// TestHandOffInMenu: a caller still choosing from the menu at a graceful
// stop hears music instead of being cut off; the next Dargah stops the
// music, clears the deadline and starts the menu again.
func TestHandOffInMenu(t *testing.T) {
	t.Parallel()
	srv := aritest.New(t, aritest.Config{})
	old := startPhoneOn(t, srv, "", nil)
	call := srv.NewCall("09150000093")
	srv.Wait("language menu", func() bool { return played(call, "language-menu") })

	stop(t, old)
	if st := call.State(); st.Gone || !st.MOH || st.Vars["TIMEOUT(absolute)"] != "120" {
		t.Fatalf("caller in the menu after a stop: gone=%v music=%v deadline %q", st.Gone, st.MOH, st.Vars["TIMEOUT(absolute)"])
	}

	next := startPhoneOn(t, srv, "", nil)
	srv.Wait("welcomed again", func() bool { return count(call.State().Played, "welcome") == 2 })
	if st := call.State(); st.MOH || st.Vars["TIMEOUT(absolute)"] != "0" {
		t.Fatalf("taken back: music=%v deadline %q", st.MOH, st.Vars["TIMEOUT(absolute)"])
	}
	call.SendDTMF("11")
	eventually(t, "queued at the next Dargah", func() bool { return next.waiting("asphalt") == 1 })
}

// TestCallbackParkedOnStop: a promise to call a citizen back survives a
// graceful stop. The stopping Dargah parks the task in the deployment's
// storage; the next one takes it into its queue and dials the citizen
// back when an agent is free.
func TestCallbackParkedOnStop(t *testing.T) {
	t.Parallel()
	srv := aritest.New(t, aritest.Config{})
	clk := newClock(time.Now())
	name := fmt.Sprintf("DARGAH_TEST_AGENT_TOKEN_%d", envN.Add(1))
	os.Setenv(name, "tok")
	t.Cleanup(func() { os.Unsetenv(name) })
	o := apptest.Options{Now: clk.now, Portals: fmt.Sprintf(portalYAML, srv.URL(), name, "")}
	cfg := apptest.Prepare(t, o) // both Dargahs share its storage
	old := &phone{t: t, srv: srv, h: apptest.StartConfig(t, cfg, o), token: "tok"}
	srv.Wait("app registered", func() bool { return srv.Registered("dargah") })
	call := srv.NewCall("09151111119")
	call.SendDTMF("11")
	eventually(t, "queued", func() bool { return old.waiting("asphalt") == 1 })
	clk.advance(130 * time.Second) // past max_wait
	srv.Wait("max-wait offer", func() bool { return played(call, "max-wait-offer") })
	call.SendDTMF("1") // call me back
	srv.Wait("caller hung up after callback-ok", func() bool { return call.State().Gone })

	stop(t, old)
	next := &phone{t: t, srv: srv, h: apptest.StartConfig(t, cfg, o), token: "tok"}
	srv.Wait("app registered again", func() bool { return srv.Registered("dargah") })
	eventually(t, "callback task taken over", func() bool { return next.waiting("asphalt") == 1 })
	next.login("a1")
	agent := srv.WaitOriginated("PJSIP/101")
	if args := agent.State().Args; len(args) != 2 || args[1] != call.ID() {
		t.Fatalf("agent rings for %v, want the parked callback %s", args, call.ID())
	}
	agent.Answer()
	citizen := srv.WaitOriginated("PJSIP/09151111119@trunk")
	citizen.Answer()
	srv.Wait("agent and citizen bridged", func() bool {
		b := citizen.State().Bridge
		return b != "" && b == agent.State().Bridge
	})
}

// TestStopDuringVoicemailRecording: a stop while a caller records a
// voicemail keeps what they said: the recording is stopped, stored and
// submitted as their message before the call ends.
func TestStopDuringVoicemailRecording(t *testing.T) {
	t.Parallel()
	srv := aritest.New(t, aritest.Config{})
	tehran, _ := time.LoadLocation("Asia/Tehran")
	friday3am := time.Date(2026, 11, 27, 3, 0, 0, 0, tehran)
	name := fmt.Sprintf("DARGAH_TEST_AGENT_TOKEN_%d", envN.Add(1))
	os.Setenv(name, "tok")
	t.Cleanup(func() { os.Unsetenv(name) })
	o := apptest.Options{Now: func() time.Time { return friday3am }, Portals: fmt.Sprintf(portalYAML, srv.URL(), name, `  hours:
    timezone: Asia/Tehran
    open:
      - {days: [sat, sun, mon, tue, wed], from: "07:00", to: "22:00"}
`)}
	cfg := apptest.Prepare(t, o)
	p := &phone{t: t, srv: srv, h: apptest.StartConfig(t, cfg, o), token: "tok"}
	srv.Wait("app registered", func() bool { return srv.Registered("dargah") })
	call := srv.NewCall("09351112235")
	srv.WaitRequest("channels.record", 1)

	stop(t, p)
	if !call.State().Gone {
		t.Fatal("the caller is still on the line after the stop")
	}
	next := apptest.StartConfig(t, cfg, o) // the same storage, to look
	if _, err := next.Store.MessageGetByPortalID(context.Background(), "phone", "vm:"+call.ID()); err != nil {
		t.Fatalf("the voicemail recorded until the stop was lost: %v", err)
	}
}
