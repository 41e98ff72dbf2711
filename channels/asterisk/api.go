package asterisk

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/dargah137/dargah/channels"
	"github.com/dargah137/dargah/gateway"
	"github.com/dargah137/dargah/routing/acd"
)

// feedEvent is one message on an agent's WebSocket feed.
type feedEvent struct {
	// Type: ring (with the screen pop), answered, missed, ended, state.
	Type   string     `json:"type"`
	Call   string     `json:"call,omitempty"`
	Reason string     `json:"reason,omitempty"`
	Pop    *screenPop `json:"screen_pop,omitempty"`
	Agent  *acd.Agent `json:"agent,omitempty"`
	At     time.Time  `json:"at"`
}

// hub fans feed events out to each agent's open feeds.
type hub struct {
	mu   sync.Mutex
	subs map[string]map[chan []byte]struct{}
}

func newHub() *hub { return &hub{subs: map[string]map[chan []byte]struct{}{}} }

func (h *hub) subscribe(agent string) chan []byte {
	ch := make(chan []byte, 64)
	h.mu.Lock()
	if h.subs[agent] == nil {
		h.subs[agent] = map[chan []byte]struct{}{}
	}
	h.subs[agent][ch] = struct{}{}
	h.mu.Unlock()
	return ch
}

func (h *hub) unsubscribe(agent string, ch chan []byte) {
	h.mu.Lock()
	if _, ok := h.subs[agent][ch]; ok {
		delete(h.subs[agent], ch)
		close(ch)
	}
	h.mu.Unlock()
}

// send never blocks: a feed too slow to keep 64 events is closed, and the
// console reconnects (and lists the agent's state again).
func (h *hub) send(agent string, ev feedEvent) {
	if ev.At.IsZero() {
		ev.At = time.Now()
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs[agent] {
		select {
		case ch <- b:
		default:
			delete(h.subs[agent], ch)
			close(ch)
		}
	}
}

func (p *Portal) mountAPI(mux channels.Mux) {
	if mux == nil {
		return
	}
	base := p.set.APIPath
	h := func(method, path string, f http.HandlerFunc) { mux.Handle(method+" "+base+path, p.auth(f)) }
	h("GET", "/agents", p.listAgents)
	h("POST", "/agents/{id}/login", p.login)
	h("POST", "/agents/{id}/logout", p.logout)
	h("POST", "/agents/{id}/state", p.setState)
	h("GET", "/agents/{id}/feed", p.feed)
	h("POST", "/agents/{id}/calls/{call}/outcome", p.outcome)
	h("GET", "/queues", p.queues)
}

// auth checks the bearer token (or ?access_token= on the feed, which
// browsers cannot give headers). Without a configured token nothing passes.
func (p *Portal) auth(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			got = r.URL.Query().Get("access_token")
		}
		if p.token == "" || subtle.ConstantTimeCompare([]byte(got), []byte(p.token)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="dargah agents"`)
			writeErr(w, http.StatusUnauthorized, "a valid bearer token is required")
			return
		}
		next(w, r)
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

// decodeBody reads a small JSON object strictly.
func decodeBody(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("request body: %w", err)
	}
	return nil
}

func (p *Portal) agentErr(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, acd.ErrNotFound):
		writeErr(w, http.StatusNotFound, err.Error())
	case errors.Is(err, acd.ErrInvalidState):
		writeErr(w, http.StatusConflict, err.Error())
	default:
		p.log.Error("agents api", "err", err)
		writeErr(w, http.StatusInternalServerError, "agent state could not be changed")
	}
}

// agentView is an agent with its roster name.
type agentView struct {
	acd.Agent
	Name string `json:"name,omitempty"`
}

func (p *Portal) view(a acd.Agent) agentView {
	v := agentView{Agent: a}
	for _, c := range p.set.Agents {
		if c.ID == a.ID {
			v.Name = c.Name
		}
	}
	return v
}

func (p *Portal) listAgents(w http.ResponseWriter, r *http.Request) {
	list, err := p.agnts.List(r.Context())
	if err != nil {
		p.agentErr(w, err)
		return
	}
	out := make([]agentView, 0, len(list))
	for _, a := range list {
		out = append(out, p.view(a))
	}
	writeJSON(w, http.StatusOK, map[string]any{"agents": out})
}

// loginRequest: endpoint and skills default to the roster entry.
type loginRequest struct {
	Endpoint string         `json:"endpoint"`
	Skills   map[string]int `json:"skills"`
}

func (p *Portal) login(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var req loginRequest
	if err := decodeBody(r, &req); err != nil {
		writeErr(w, http.StatusBadRequest, err.Error())
		return
	}
	for _, c := range p.set.Agents {
		if c.ID == id {
			if req.Endpoint == "" {
				req.Endpoint = c.Endpoint
			}
			if len(req.Skills) == 0 {
				req.Skills = c.Skills
			}
		}
	}
	if len(req.Skills) == 0 {
		writeErr(w, http.StatusBadRequest, "skills are required (an agent without skills gets no call)")
		return
	}
	if err := acd.ValidateLogin(id, req.Skills, req.Endpoint); err != nil {
		writeErr(w, http.StatusBadRequest, err.Error())
		return
	}
	a, err := p.disp.Login(r.Context(), id, req.Skills, req.Endpoint)
	if err != nil {
		p.agentErr(w, err)
		return
	}
	p.stateChanged(a)
	writeJSON(w, http.StatusOK, p.view(a))
}

func (p *Portal) logout(w http.ResponseWriter, r *http.Request) {
	a, err := p.disp.Logout(r.Context(), r.PathValue("id"))
	if err != nil {
		p.agentErr(w, err)
		return
	}
	p.stateChanged(a)
	writeJSON(w, http.StatusOK, p.view(a))
}

type stateRequest struct {
	// State: available, paused (with reason) or wrap_up_done.
	State  string `json:"state"`
	Reason string `json:"reason"`
}

func (p *Portal) setState(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var req stateRequest
	if err := decodeBody(r, &req); err != nil {
		writeErr(w, http.StatusBadRequest, err.Error())
		return
	}
	var (
		a   acd.Agent
		err error
	)
	switch req.State {
	case string(acd.Available):
		a, err = p.disp.Resume(r.Context(), id)
	case string(acd.Paused):
		if strings.TrimSpace(req.Reason) == "" {
			writeErr(w, http.StatusBadRequest, "a pause needs a reason")
			return
		}
		a, err = p.disp.Pause(r.Context(), id, req.Reason)
	case "wrap_up_done":
		a, err = p.disp.WrapUpDone(r.Context(), id)
	default:
		writeErr(w, http.StatusBadRequest, fmt.Sprintf("state %q is not one of available, paused, wrap_up_done", req.State))
		return
	}
	if err != nil {
		p.agentErr(w, err)
		return
	}
	p.stateChanged(a)
	writeJSON(w, http.StatusOK, p.view(a))
}

func (p *Portal) stateChanged(a acd.Agent) {
	p.feeds.send(a.ID, feedEvent{Type: "state", Agent: &a})
	p.kickDispatch()
}

// feed streams the agent's events over a WebSocket until either side closes.
func (p *Portal) feed(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	ctx := c.CloseRead(r.Context())
	ch := p.feeds.subscribe(id)
	defer p.feeds.unsubscribe(id, ch)
	if a, err := p.agnts.Get(ctx, id); err == nil {
		b, _ := json.Marshal(feedEvent{Type: "state", Agent: &a, At: time.Now()})
		if err := c.Write(ctx, websocket.MessageText, b); err != nil {
			return
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.ctx.Done():
			c.Close(websocket.StatusGoingAway, "dargah is stopping")
			return
		case b, ok := <-ch:
			if !ok {
				c.Close(websocket.StatusPolicyViolation, "feed too slow")
				return
			}
			wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := c.Write(wctx, websocket.MessageText, b)
			cancel()
			if err != nil {
				return
			}
		}
	}
}

// outcomeRequest is what the agent records after a call.
type outcomeRequest struct {
	// Outcome: "resolved" (answered on the spot) or "case" (open one).
	Outcome     string   `json:"outcome"`
	Note        string   `json:"note"`
	ServiceCode string   `json:"service_code"`
	Description string   `json:"description"`
	Address     string   `json:"address"`
	Lat         *float64 `json:"lat"`
	Long        *float64 `json:"long"`
}

func (o *outcomeRequest) validate() error {
	switch o.Outcome {
	case "resolved":
	case "case":
		if strings.TrimSpace(o.ServiceCode) == "" || strings.TrimSpace(o.Description) == "" {
			return errors.New("a case needs service_code and description")
		}
	default:
		return fmt.Errorf("outcome %q is not one of resolved, case", o.Outcome)
	}
	if (o.Lat == nil) != (o.Long == nil) {
		return errors.New("lat and long go together")
	}
	return nil
}

// outcomeResponse tells the agent what happened; TrackingCode is set when
// a case was opened, for the agent to read to the caller.
type outcomeResponse struct {
	MessageID    string          `json:"message_id"`
	Status       gateway.Status  `json:"status"`
	Outcome      gateway.Outcome `json:"outcome,omitempty"`
	TrackingCode string          `json:"tracking_code,omitempty"`
	Reply        string          `json:"reply,omitempty"`
}

func (p *Portal) outcome(w http.ResponseWriter, r *http.Request) {
	agent, call := r.PathValue("id"), r.PathValue("call")
	var req outcomeRequest
	if err := decodeBody(r, &req); err != nil {
		writeErr(w, http.StatusBadRequest, err.Error())
		return
	}
	rcpt, err := p.recordOutcome(r.Context(), agent, call, req)
	switch {
	case errors.Is(err, gateway.ErrInvalid):
		writeErr(w, http.StatusBadRequest, err.Error())
		return
	case errors.Is(err, ErrUnknownCall):
		writeErr(w, http.StatusNotFound, "unknown call "+call)
		return
	case errors.Is(err, ErrNotAgentsCall):
		writeErr(w, http.StatusForbidden, "the call was not taken by agent "+agent)
		return
	case err != nil:
		p.log.Error("submit call outcome", "call", call, "err", err)
		writeErr(w, http.StatusServiceUnavailable, "the outcome could not be stored; try again")
		return
	}
	resp := outcomeResponse{MessageID: rcpt.MessageID, Status: rcpt.Status}
	code := http.StatusAccepted
	if rcpt.Status == gateway.StatusDecided {
		code = http.StatusOK
		resp.Outcome, resp.TrackingCode, resp.Reply = rcpt.Decision.Outcome, rcpt.Decision.TrackingCode, rcpt.Decision.Reply
	}
	writeJSON(w, code, resp)
}

var resolvedText = map[string]string{
	"fa": "تماس تلفنی ۱۳۷؛ کارشناس در همان تماس پاسخ داد",
	"ar": "مكالمة ۱۳۷؛ أجاب الموظف خلال المكالمة",
	"ur": "۱۳۷ کال؛ ایجنٹ نے اسی کال میں جواب دیا",
	"en": "137 call answered by the agent on the spot",
}

// queueView is one queue's numbers in the API, durations in seconds.
type queueView struct {
	Waiting         int               `json:"waiting"`
	Callbacks       int               `json:"callbacks"`
	Ringing         int               `json:"ringing"`
	LongestWaitS    float64           `json:"longest_wait_s"`
	Answered        int64             `json:"answered"`
	AnsweredInSL    int64             `json:"answered_in_sl"`
	Abandoned       int64             `json:"abandoned"`
	ServiceLevel    float64           `json:"service_level"`
	AbandonRate     float64           `json:"abandon_rate"`
	AverageAnswerS  float64           `json:"average_answer_s"`
	AgentsByState   map[acd.State]int `json:"agents"`
	AbandonedAfterS int64             `json:"abandoned_after_sl"`
}

func toView(g acd.GroupStats) queueView {
	return queueView{Waiting: g.Waiting, Callbacks: g.Callbacks, Ringing: g.Ringing, LongestWaitS: g.LongestWait.Seconds(),
		Answered: g.Answered, AnsweredInSL: g.AnsweredInSL, Abandoned: g.Abandoned, ServiceLevel: g.ServiceLevel,
		AbandonRate: g.AbandonRate, AverageAnswerS: g.AverageAnswer.Seconds(), AgentsByState: g.Agents, AbandonedAfterS: g.AbandonedAfterSL}
}

func (p *Portal) queues(w http.ResponseWriter, r *http.Request) {
	st := p.disp.Stats()
	out := map[string]any{"at": st.At}
	qs, ls := map[string]queueView{}, map[string]queueView{}
	for k, g := range st.Queues {
		qs[k] = toView(g)
	}
	for k, g := range st.Languages {
		ls[k] = toView(g)
	}
	out["queues"], out["languages"] = qs, ls
	writeJSON(w, http.StatusOK, out)
}
