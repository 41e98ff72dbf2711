package asterisk

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/dargah137/dargah/gateway"
	"github.com/dargah137/dargah/routing/acd"
)

// Hooks for a staff console in the same process (web/console): the agents'
// REST API without HTTP or its bearer token, the console having signed
// its user in already.

// Errors of RecordOutcome.
var (
	// ErrUnknownCall: no record of the call (wrong id, or older than a week).
	ErrUnknownCall = errors.New("asterisk: unknown call")
	// ErrNotAgentsCall: the call was taken by another agent.
	ErrNotAgentsCall = errors.New("asterisk: the call was taken by another agent")
)

// AgentEvents subscribes to an agent's feed: each value is one JSON event,
// exactly as on the WebSocket feed (ring with screen_pop, answered, missed,
// ended, state). The channel is closed by cancel, or when the subscriber
// falls 64 events behind (it should then subscribe again).
func (p *Portal) AgentEvents(agent string) (<-chan []byte, func()) {
	ch := p.feeds.subscribe(agent)
	return ch, func() { p.feeds.unsubscribe(agent, ch) }
}

// AgentChanged tells the portal that an agent's state was changed through
// Dispatcher() directly: the agent's feeds see it and calls are dispatched
// at once.
func (p *Portal) AgentChanged(a acd.Agent) { p.stateChanged(a) }

// RecordOutcome records what agent did with call, as the REST API's
// outcome: outcome "resolved" (answered on the spot; text is the note) or
// "case" (serviceCode and text, the description, are required; loc is
// optional). It waits up to 10s for the decision; the receipt's
// Decision.TrackingCode is set when a case was opened. Bad input wraps
// gateway.ErrInvalid; see also ErrUnknownCall and ErrNotAgentsCall.
func (p *Portal) RecordOutcome(ctx context.Context, agent, call, outcome, serviceCode, text string, loc *gateway.Location) (gateway.Receipt, error) {
	req := outcomeRequest{Outcome: outcome, ServiceCode: serviceCode}
	if outcome == "case" {
		req.Description = text
	} else {
		req.Note = text
	}
	if loc != nil {
		req.Address = loc.Address
		if loc.Lat != 0 || loc.Long != 0 {
			lat, long := loc.Lat, loc.Long
			req.Lat, req.Long = &lat, &long
		}
	}
	return p.recordOutcome(ctx, agent, call, req)
}

func (p *Portal) recordOutcome(ctx context.Context, agent, call string, req outcomeRequest) (gateway.Receipt, error) {
	if err := req.validate(); err != nil {
		return gateway.Receipt{}, errors.Join(gateway.ErrInvalid, err)
	}
	rec, ok := p.lookupRecord(ctx, call)
	if !ok {
		return gateway.Receipt{}, ErrUnknownCall
	}
	if rec.Agent != agent {
		return gateway.Receipt{}, ErrNotAgentsCall
	}
	text := strings.TrimSpace(req.Description)
	if text == "" {
		text = strings.TrimSpace(req.Note)
	}
	if text == "" {
		text = resolvedText[rec.Language]
		if text == "" {
			text = resolvedText["fa"]
		}
	}
	m := p.message(rec, "call:"+call+":outcome", text)
	m.Metadata["kind"] = "call"
	m.Metadata["agent"] = agent
	if req.Note != "" {
		m.Metadata["note"] = req.Note
	}
	if req.Outcome == "resolved" {
		// The router honours resolved_by=agent: the agent already answered.
		m.Metadata["resolution"] = "on_the_spot"
		m.Metadata["resolved_by"] = "agent"
	} else {
		m.ServiceCode = req.ServiceCode
		if req.Address != "" || req.Lat != nil {
			m.Location = &gateway.Location{Address: req.Address}
			if req.Lat != nil {
				m.Location.Lat, m.Location.Long = *req.Lat, *req.Long
			}
		}
	}
	rcpt, err := p.env.Intake.Submit(ctx, m)
	if err != nil {
		return gateway.Receipt{}, err
	}
	actx, cancel := context.WithTimeout(ctx, 10*time.Second)
	if got, err := p.env.Intake.Await(actx, rcpt.MessageID); err == nil {
		rcpt = got
	}
	cancel()
	return rcpt, nil
}

// Agents is the portal's agent pool, for reading agents' states (the
// changes go through Dispatcher()).
func (p *Portal) Agents() acd.AgentPool { return p.agnts }

// CallPop returns what the agents' feed showed when call rang (the ring
// event's screen_pop as JSON: caller, phone, language, ivr_path, queue,
// agent…), so a console opened after the ring can show it; false when
// the call is unknown.
func (p *Portal) CallPop(ctx context.Context, call string) ([]byte, bool) {
	rec, ok := p.lookupRecord(ctx, call)
	if !ok {
		return nil, false
	}
	b, err := json.Marshal(screenPop{callRecord: rec})
	if err != nil {
		return nil, false
	}
	return b, true
}
