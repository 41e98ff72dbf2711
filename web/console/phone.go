package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/cases/org"
	"github.com/dargah137/dargah/gateway"
	"github.com/dargah137/dargah/routing/acd"
	"github.com/paulmach/orb"
)

// Telephony is the phone portal the agent desktop drives, in the same
// process: *asterisk.Portal implements it. The console's user name is the
// agent's id in the ACD.
type Telephony interface {
	// Dispatcher is the ACD: Login, Pause, Resume, WrapUpDone, Logout, Stats.
	Dispatcher() *acd.Dispatcher
	// Agents is the agent pool, read for an agent's current state.
	Agents() acd.AgentPool
	// AgentChanged publishes a change made through Dispatcher and
	// dispatches waiting calls at once.
	AgentChanged(a acd.Agent)
	// AgentEvents subscribes to an agent's feed (JSON events: ring with
	// screen_pop, answered, missed, ended, state) until cancel; the channel
	// closes when cancelled or when the subscriber falls behind.
	AgentEvents(agent string) (events <-chan []byte, cancel func())
	// RecordOutcome records what the agent did with a call they took:
	// outcome "resolved" (text is a note) or "case" (serviceCode and text,
	// the description, required; loc optional).
	RecordOutcome(ctx context.Context, agent, call, outcome, serviceCode, text string, loc *gateway.Location) (gateway.Receipt, error)
	// CallPop is a call's screen pop as JSON (false when unknown), for a
	// desktop opened after the ring.
	CallPop(ctx context.Context, call string) ([]byte, bool)
}

// PhoneLine is one phone portal of the desk, by its portal name. A
// deployment may run several (the 137 line, a line for pilgrims), each
// with its own Asterisk, queues and agent pool; an agent takes calls on
// one line at a time and picks it at queue login.
type PhoneLine struct {
	Name string
	Telephony
}

// lineAgents lists the agents of every line, for the wallboard.
type lineAgents []PhoneLine

func (ls lineAgents) List(ctx context.Context) ([]acd.Agent, error) {
	var all []acd.Agent
	for _, l := range ls {
		list, err := l.Agents().List(ctx)
		if err != nil {
			return nil, fmt.Errorf("line %s: %w", l.Name, err)
		}
		all = append(all, list...)
	}
	return all, nil
}

type phoneData struct {
	Agent    acd.Agent
	Line     string   // the agent's line, or the one picked at login
	Lines    []string // every line, when there is more than one to pick from
	In       bool     // logged in
	Endpoint string
	Skills   string
	Services []string
	Receipt  *gateway.Receipt
	Errors   []string
	Map      *districtMap
	States   map[string]string // state → label, for the script
	Labels   map[string]string // call states and notes, for the script
}

// phoneAgent finds the line the agent is logged in to and their state
// there; an agent logged in nowhere is logged out on the first line.
func (c *Console) phoneAgent(ctx context.Context, id string) (PhoneLine, acd.Agent, error) {
	for _, l := range c.phones {
		a, err := l.Agents().Get(ctx, id)
		if errors.Is(err, acd.ErrNotFound) {
			continue
		}
		if err != nil {
			return l, a, fmt.Errorf("line %s: %w", l.Name, err)
		}
		if a = a.Effective(c.now()); a.State != acd.LoggedOut {
			return l, a, nil
		}
	}
	return c.phones[0], acd.Agent{ID: id, State: acd.LoggedOut}, nil
}

// line returns the line named name.
func (c *Console) line(name string) (PhoneLine, bool) {
	for _, l := range c.phones {
		if l.Name == name {
			return l, true
		}
	}
	return PhoneLine{}, false
}

func (c *Console) phonePage(w http.ResponseWriter, r *http.Request, p *principal) {
	c.showPhone(w, r, p, http.StatusOK, phoneData{}, "")
}

func (c *Console) showPhone(w http.ResponseWriter, r *http.Request, p *principal, status int, d phoneData, flash string) {
	if len(c.phones) == 0 {
		c.fail(w, r, p, http.StatusNotFound, "err_unavailable")
		return
	}
	l, a, err := c.phoneAgent(r.Context(), p.user.Username)
	if err != nil {
		c.log.Error("console: phone agent", "err", err)
		c.fail(w, r, p, http.StatusInternalServerError, "server_error")
		return
	}
	lang := c.lang(w, r)
	d.Agent, d.In = a, a.State != acd.LoggedOut
	if d.In || d.Line == "" {
		d.Line = l.Name
	}
	if len(c.phones) > 1 {
		for _, l := range c.phones {
			d.Lines = append(d.Lines, l.Name)
		}
	}
	if d.Endpoint == "" {
		d.Endpoint = a.Endpoint
	}
	if d.Skills == "" {
		d.Skills = formatSkills(a.Skills)
	}
	for code := range c.services {
		d.Services = append(d.Services, code)
	}
	sort.Strings(d.Services)
	d.Map = c.dmaps[lang]
	d.States = map[string]string{}
	for _, s := range acd.States {
		d.States[string(s)] = translate(lang, "agent_"+string(s))
	}
	d.Labels = map[string]string{}
	for _, k := range []string{"call_ring", "call_answered", "call_ended", "call_missed", "no_past_cases"} {
		d.Labels[k] = translate(lang, k)
	}
	c.render(w, r, p, status, "phone", "phone_desk", view{Data: d, Flash: flash, Error: strings.Join(d.Errors, " ")})
}

// parseSkills reads "fa:5 asphalt:3" (commas or spaces between pairs).
func parseSkills(s string) (map[string]int, error) {
	out := map[string]int{}
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '،' }) {
		name, lv, ok := strings.Cut(f, ":")
		n, err := strconv.Atoi(lv)
		if !ok || name == "" || err != nil || n < acd.MinLevel || n > acd.MaxLevel {
			return nil, fmt.Errorf("skill %q: want name:level with level %d–%d", f, acd.MinLevel, acd.MaxLevel)
		}
		out[name] = n
	}
	if len(out) == 0 {
		return nil, errors.New("no skills")
	}
	return out, nil
}

func formatSkills(m map[string]int) string {
	var parts []string
	for k, v := range m {
		parts = append(parts, k+":"+strconv.Itoa(v))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

// phoneState changes the signed-in agent's ACD state.
func (c *Console) phoneState(w http.ResponseWriter, r *http.Request, p *principal) {
	if len(c.phones) == 0 {
		c.fail(w, r, p, http.StatusNotFound, "err_unavailable")
		return
	}
	lang := c.lang(w, r)
	ctx, id, d := r.Context(), p.user.Username, phoneData{}
	line, current, err := c.phoneAgent(ctx, id)
	if err != nil {
		c.log.Error("console: phone agent", "err", err)
		c.fail(w, r, p, http.StatusInternalServerError, "server_error")
		return
	}
	var a acd.Agent
	// The desk's script changes state in place (Accept: application/json),
	// so a pause does not reload the page under a call being recorded;
	// without script the form posts and the page comes back.
	inPlace := strings.Contains(r.Header.Get("Accept"), "application/json")
	refuse := func(status int, key string) {
		if inPlace {
			writeJSON(w, status, map[string]string{"error": translate(lang, key)})
			return
		}
		d.Errors = []string{translate(lang, key)}
		c.showPhone(w, r, p, status, d, "")
	}
	action := r.PostFormValue("action")
	switch action {
	case "login":
		d.Endpoint, d.Skills = strings.TrimSpace(r.PostFormValue("endpoint")), strings.TrimSpace(r.PostFormValue("skills"))
		if name := r.PostFormValue("line"); name != "" {
			d.Line = name
			picked, ok := c.line(name)
			if !ok {
				refuse(http.StatusUnprocessableEntity, "err_line")
				return
			}
			// One line at a time: the ACD of each line would ring them.
			if current.State != acd.LoggedOut && picked.Name != line.Name {
				refuse(http.StatusConflict, "err_other_line")
				return
			}
			line = picked
		}
		skills, serr := parseSkills(d.Skills)
		if serr != nil || acd.ValidateLogin(id, skills, d.Endpoint) != nil {
			refuse(http.StatusUnprocessableEntity, "err_login")
			return
		}
		a, err = line.Dispatcher().Login(ctx, id, skills, d.Endpoint)
	case "pause":
		reason := strings.TrimSpace(r.PostFormValue("reason"))
		if reason == "" || utf8.RuneCountInString(reason) > 100 {
			refuse(http.StatusUnprocessableEntity, "err_reason")
			return
		}
		a, err = line.Dispatcher().Pause(ctx, id, reason)
	case "resume":
		a, err = line.Dispatcher().Resume(ctx, id)
	case "wrap_up_done":
		a, err = line.Dispatcher().WrapUpDone(ctx, id)
	case "logout":
		a, err = line.Dispatcher().Logout(ctx, id)
	default:
		c.fail(w, r, p, http.StatusBadRequest, "err_agent_state")
		return
	}
	if errors.Is(err, acd.ErrInvalidState) || errors.Is(err, acd.ErrNotFound) {
		refuse(http.StatusConflict, "err_agent_state")
		return
	}
	if err != nil {
		c.log.Error("console: agent state", "action", action, "err", err)
		if inPlace {
			refuse(http.StatusInternalServerError, "server_error")
			return
		}
		c.fail(w, r, p, http.StatusInternalServerError, "server_error")
		return
	}
	line.AgentChanged(a)
	c.audit(ctx, r, id, "agent_"+action, id, line.Name+" "+string(a.State))
	if inPlace {
		a = a.Effective(c.now())
		writeJSON(w, http.StatusOK, map[string]string{"state": string(a.State),
			"label": translate(lang, "agent_"+string(a.State)), "pause_reason": a.PauseReason})
		return
	}
	http.Redirect(w, r, c.cfg.Prefix+"/phone", http.StatusSeeOther)
}

// pastCase is one of the caller's earlier cases on the screen pop.
type pastCase struct {
	TrackingCode string `json:"tracking_code"`
	Status       string `json:"status"`
	Service      string `json:"service"`
	Opened       string `json:"opened"`
}

func (c *Console) casesByPhone(ctx context.Context, phone string, limit int) ([]cases.Case, error) {
	return c.cases.CaseSearch(ctx, cases.Filter{Phone: phone, Limit: limit})
}

// phoneEvents relays the agent's feed as server-sent events ("feed"), the
// ring enriched with the caller's past cases; it starts with the agent's
// state and ends with the session's idle timeout.
func (c *Console) phoneEvents(w http.ResponseWriter, r *http.Request, p *principal) {
	if len(c.phones) == 0 {
		http.NotFound(w, r)
		return
	}
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	lang := c.lang(w, r)
	id := p.user.Username
	ctx, cancel := context.WithTimeout(r.Context(), c.cfg.IdleTimeout)
	defer cancel()
	events, behind := c.agentFeeds(ctx, id)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	send := func(b []byte) bool {
		if _, err := fmt.Fprintf(w, "event: feed\ndata: %s\n\n", b); err != nil {
			return false
		}
		fl.Flush()
		return true
	}
	// Subscribed first, then the current state: a ring before this
	// connection (the page was reloading) is replayed from the call's
	// record, and one after it comes on the feed.
	if l, a, err := c.phoneAgent(ctx, id); err == nil {
		b, _ := json.Marshal(map[string]any{"type": "state", "agent": a})
		if !send(b) {
			return
		}
		if a.CallID != "" && (a.State == acd.Ringing || a.State == acd.OnCall || a.State == acd.WrapUp) {
			if pop, ok := l.CallPop(ctx, a.CallID); ok {
				b, _ := json.Marshal(map[string]any{"type": "ring", "call": a.CallID, "screen_pop": json.RawMessage(pop), "replay": true})
				if !send(c.enrich(ctx, lang, b)) {
					return
				}
				if a.State != acd.Ringing {
					b, _ = json.Marshal(map[string]any{"type": "answered", "call": a.CallID})
					if !send(b) {
						return
					}
				}
				if a.State == acd.WrapUp {
					b, _ = json.Marshal(map[string]any{"type": "ended", "call": a.CallID})
					if !send(b) {
						return
					}
				}
			}
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-behind:
			return // fell behind: EventSource reconnects and resubscribes
		case b := <-events:
			if !send(c.enrich(ctx, lang, b)) {
				return
			}
		}
	}
}

// agentFeeds subscribes to the agent's feed on every line (they may log in
// to any of them while the page is open) until ctx ends. behind is closed
// when a line drops the subscription because it fell behind.
func (c *Console) agentFeeds(ctx context.Context, id string) (events <-chan []byte, behind <-chan struct{}) {
	out, dropped := make(chan []byte), make(chan struct{})
	var once sync.Once
	for _, l := range c.phones {
		feed, cancelFeed := l.AgentEvents(id)
		go func() {
			defer cancelFeed()
			for {
				select {
				case <-ctx.Done():
					return
				case b, ok := <-feed:
					if !ok {
						once.Do(func() { close(dropped) })
						return
					}
					select {
					case out <- b:
					case <-ctx.Done():
						return
					}
				}
			}
		}()
	}
	return out, dropped
}

// enrich adds the caller's past cases to a ring event.
func (c *Console) enrich(ctx context.Context, lang string, b []byte) []byte {
	var ev map[string]any
	if json.Unmarshal(b, &ev) != nil || ev["type"] != "ring" {
		return b
	}
	pop, _ := ev["screen_pop"].(map[string]any)
	phone, _ := pop["phone"].(string)
	if phone == "" {
		return b
	}
	list, err := c.casesByPhone(ctx, phone, 5)
	if err != nil {
		c.log.Warn("console: past cases for screen pop", "err", err)
		return b
	}
	v := view{c: c, Lang: lang}
	past := []pastCase{}
	for _, k := range list {
		past = append(past, pastCase{k.TrackingCode, v.Status(k.Status), v.Service(k.ServiceCode), v.Date(k.OpenedAt)})
	}
	ev["past_cases"] = past
	out, err := json.Marshal(ev)
	if err != nil {
		return b
	}
	return out
}

// phoneOutcome records the outcome of the agent's call through the portal.
func (c *Console) phoneOutcome(w http.ResponseWriter, r *http.Request, p *principal) {
	if len(c.phones) == 0 {
		c.fail(w, r, p, http.StatusNotFound, "err_unavailable")
		return
	}
	lang := c.lang(w, r)
	call := strings.TrimSpace(r.PostFormValue("call"))
	outcome := r.PostFormValue("outcome")
	service := strings.TrimSpace(r.PostFormValue("service_code"))
	text := strings.TrimSpace(r.PostFormValue("description"))
	var errs []string
	if call == "" || len(call) > 200 {
		errs = append(errs, translate(lang, "err_call"))
	}
	var loc *gateway.Location
	if addr := strings.TrimSpace(r.PostFormValue("address")); addr != "" {
		loc = &gateway.Location{Address: truncate(addr, 500)}
	}
	latS, longS := strings.TrimSpace(r.PostFormValue("lat")), strings.TrimSpace(r.PostFormValue("long"))
	if latS != "" || longS != "" {
		lat, err1 := strconv.ParseFloat(latS, 64)
		long, err2 := strconv.ParseFloat(longS, 64)
		if err1 != nil || err2 != nil || math.Abs(lat) > 90 || math.Abs(long) > 180 || (lat == 0 && long == 0) {
			errs = append(errs, translate(lang, "err_latlong"))
		} else {
			if loc == nil {
				loc = &gateway.Location{}
			}
			loc.Lat, loc.Long = lat, long
		}
	}
	switch outcome {
	case "resolved":
	case "case":
		if _, ok := c.services[service]; !ok && len(c.services) > 0 || service == "" {
			errs = append(errs, translate(lang, "err_service"))
		}
		if text == "" {
			errs = append(errs, translate(lang, "err_text"))
		}
	default:
		errs = append(errs, translate(lang, "err_outcome"))
	}
	if utf8.RuneCountInString(text) > 4000 {
		errs = append(errs, translate(lang, "err_text"))
	}
	if len(errs) > 0 {
		c.showPhone(w, r, p, http.StatusUnprocessableEntity, phoneData{Errors: errs}, "")
		return
	}
	rc, err := c.callLine(r.Context(), p.user.Username, call).RecordOutcome(r.Context(), p.user.Username, call, outcome, service, text, loc)
	if errors.Is(err, gateway.ErrInvalid) {
		c.showPhone(w, r, p, http.StatusUnprocessableEntity, phoneData{Errors: []string{translate(lang, "err_text")}}, "")
		return
	}
	if err != nil {
		// Unknown call, or another agent's: both are the agent's mistake
		// to see, not a server fault.
		c.log.Warn("console: call outcome", "call", call, "err", err)
		c.showPhone(w, r, p, http.StatusConflict, phoneData{Errors: []string{translate(lang, "err_call")}}, "")
		return
	}
	c.audit(r.Context(), r, p.user.Username, "call_outcome", rc.Decision.TrackingCode, outcome+" "+call)
	c.showPhone(w, r, p, http.StatusOK, phoneData{Receipt: &rc}, "")
}

// callLine is the line that knows call: the agent may have logged out,
// or moved to another line, before recording the outcome. A call no line
// knows goes to the agent's line, which refuses it.
func (c *Console) callLine(ctx context.Context, agent, call string) PhoneLine {
	if len(c.phones) > 1 {
		for _, l := range c.phones {
			if _, ok := l.CallPop(ctx, call); ok {
				return l
			}
		}
	}
	l, _, _ := c.phoneAgent(ctx, agent)
	return l
}

// districtMap is an inline SVG of the city's districts: no map tiles (none
// are reachable from the contact center), just the polygons of org.yaml,
// enough to point at a place. The script turns a click into lat/long.
type districtMap struct {
	Shapes        []districtShape
	Width, Height float64
	// For the script: x = (long-MinLong)*ScaleX, y = (MaxLat-lat)*ScaleY.
	MinLong, MaxLat, ScaleX, ScaleY string
}

type districtShape struct {
	Code, Name string
	Points     string
	LabelX     float64
	LabelY     float64
}

func newDistrictMap(ds []org.District, lang string) *districtMap {
	b := orb.Bound{Min: orb.Point{math.Inf(1), math.Inf(1)}, Max: orb.Point{math.Inf(-1), math.Inf(-1)}}
	var rings [][]orb.Ring
	for _, d := range ds {
		var rs []orb.Ring
		switch g := d.Area.(type) {
		case orb.Polygon:
			if len(g) > 0 {
				rs = append(rs, g[0])
			}
		case orb.MultiPolygon:
			for _, pg := range g {
				if len(pg) > 0 {
					rs = append(rs, pg[0])
				}
			}
		}
		for _, r := range rs {
			b = b.Union(r.Bound())
		}
		rings = append(rings, rs)
	}
	if math.IsInf(b.Min[0], 0) {
		return nil
	}
	const width = 600.0
	// Longitude degrees shrink with latitude: scale x by cos(lat) so the
	// city is not stretched sideways.
	k := math.Cos((b.Min[1] + b.Max[1]) / 2 * math.Pi / 180)
	scale := width / ((b.Max[0] - b.Min[0]) * k)
	f := func(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
	m := &districtMap{Width: width, Height: math.Ceil((b.Max[1] - b.Min[1]) * scale),
		MinLong: f(b.Min[0]), MaxLat: f(b.Max[1]), ScaleX: f(scale * k), ScaleY: f(scale)}
	xy := func(p orb.Point) (float64, float64) {
		return (p[0] - b.Min[0]) * k * scale, (b.Max[1] - p[1]) * scale
	}
	// Drawn last to first: org.yaml's first matching district wins, so it
	// must be on top where districts overlap (Samen inside district 8).
	for i := len(ds) - 1; i >= 0; i-- {
		d := ds[i]
		name := d.Name.Get(lang)
		if name == "" {
			name = d.Code
		}
		for _, r := range rings[i] {
			var sb strings.Builder
			for j, p := range r {
				x, y := xy(p)
				if j > 0 {
					sb.WriteByte(' ')
				}
				fmt.Fprintf(&sb, "%.1f,%.1f", x, y)
			}
			cx, cy := xy(r.Bound().Center())
			m.Shapes = append(m.Shapes, districtShape{Code: d.Code, Name: name, Points: sb.String(), LabelX: cx, LabelY: cy})
		}
	}
	return m
}
