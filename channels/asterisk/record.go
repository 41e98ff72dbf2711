package asterisk

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/dargah137/dargah/channels"
	"github.com/dargah137/dargah/channels/asterisk/ari"
	"github.com/dargah137/dargah/gateway"
)

// callRecord is what the agents' API knows about a call: the screen pop
// and, for the outcome, who took it. Kept in memory and in KV for a week,
// so an outcome can be recorded after a Dargah restart.
type callRecord struct {
	ID         string    `json:"id"`
	Caller     string    `json:"caller"`
	Phone      string    `json:"phone,omitempty"`
	Language   string    `json:"language"`
	Path       []string  `json:"ivr_path"`
	Queue      string    `json:"queue,omitempty"`
	Agent      string    `json:"agent,omitempty"`
	StartedAt  time.Time `json:"started_at"`
	AnsweredAt time.Time `json:"answered_at,omitzero"`
	EndedAt    time.Time `json:"ended_at,omitzero"`
	Abandoned  bool      `json:"abandoned,omitempty"`
	WaitedMS   int64     `json:"waited_ms,omitempty"`
}

const (
	recordTTL  = 7 * 24 * time.Hour
	maxRecords = 20000
)

func (s *session) record() callRecord {
	return callRecord{ID: s.id, Caller: s.caller, Phone: e164(s.caller), Language: s.lang,
		Path: append([]string(nil), s.path...), Queue: s.queue, StartedAt: s.started}
}

// remember updates the call's record (agent when not empty, then f).
func (p *Portal) remember(s *session, agent string, f func(*callRecord)) {
	p.mu.Lock()
	r, ok := p.records[s.id]
	if !ok {
		if len(p.records) >= maxRecords {
			for id := range p.records { // drop an arbitrary old one; KV keeps it
				delete(p.records, id)
				break
			}
		}
		r = s.record()
	}
	r.Language, r.Path, r.Queue = s.lang, append([]string(nil), s.path...), s.queue
	if agent != "" {
		r.Agent = agent
	}
	if f != nil {
		f(&r)
	}
	p.records[s.id] = r
	p.mu.Unlock()
	p.saveRecord(r)
}

func (p *Portal) saveRecord(r callRecord) {
	if p.env.KV == nil {
		return
	}
	b, _ := json.Marshal(r)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.env.KV.KVPut(ctx, "call:"+r.ID, b, recordTTL); err != nil {
		p.log.Warn("save call record", "call", r.ID, "err", err)
	}
}

func (p *Portal) lookupRecord(ctx context.Context, id string) (callRecord, bool) {
	p.mu.Lock()
	r, ok := p.records[id]
	p.mu.Unlock()
	if ok || p.env.KV == nil {
		return r, ok
	}
	b, found, err := p.env.KV.KVGet(ctx, "call:"+id)
	if err != nil || !found || json.Unmarshal(b, &r) != nil {
		return callRecord{}, false
	}
	return r, true
}

// recordAbandon keeps an abandoned call (the ACD counts it in its stats).
func (p *Portal) recordAbandon(s *session, waited time.Duration) {
	p.log.Info("call abandoned", "call", s.id, "queue", s.queue, "waited", waited)
	p.remember(s, "", func(r *callRecord) {
		r.Abandoned, r.WaitedMS, r.EndedAt = true, waited.Milliseconds(), p.now()
	})
}

// message builds a gateway.Message from this portal about call r.
func (p *Portal) message(r callRecord, portalID, text string) gateway.Message {
	lang := r.Language
	if !gateway.SupportedLanguage(lang) {
		lang = p.set.DefaultLanguage
	}
	return gateway.Message{
		Portal: p.env.Portal, PortalKind: p.env.Kind, PortalMessageID: portalID,
		Contact: gateway.Contact{Phone: r.Phone, Language: lang},
		Text:    text, Language: lang, ReceivedAt: p.now(),
		Metadata: map[string]string{"call": r.ID, "caller": r.Caller, "ivr_path": strings.Join(r.Path, "/"), "queue": r.Queue},
	}
}

// holdingBridge returns the server's holding bridge, making it (with music
// on hold) when it does not exist yet.
func (p *Portal) holdingBridge(ctx context.Context, cli *ari.Client) (string, error) {
	p.holdMu.Lock()
	defer p.holdMu.Unlock()
	if id := p.holdingID(cli); id != "" {
		return id, nil
	}
	id := p.set.App + "-holding"
	_, err := cli.BridgeCreate(ctx, ari.BridgeCreateRequest{ID: id, Type: []string{ari.BridgeHolding}, Name: "dargah holding " + p.set.App})
	if err != nil && !ari.IsConflict(err) {
		return "", err
	}
	if err := cli.BridgeMOHStart(ctx, id, p.set.MOHClass); err != nil {
		p.log.Warn("music on hold", "bridge", id, "err", err)
	}
	p.mu.Lock()
	p.holding[cli.Name()] = id
	p.mu.Unlock()
	return id, nil
}

func (p *Portal) forgetHolding(cli *ari.Client, id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.holding[cli.Name()] == id {
		delete(p.holding, cli.Name())
	}
}

func (p *Portal) holdingID(cli *ari.Client) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.holding[cli.Name()]
}

// recentCases is the optional lookup the screen pop uses; the host's
// channels.CaseLookup may implement it (the public CaseSearch has no
// phone filter).
type recentCases interface {
	CasesByPhone(ctx context.Context, phone string, limit int) ([]channels.CaseStatus, error)
}

// screenPop is what an agent's screen shows when their phone rings.
type screenPop struct {
	callRecord
	RecentCases []channels.CaseStatus `json:"recent_cases,omitempty"`
	// RecentCasesAvailable is false when the host cannot search by phone.
	RecentCasesAvailable bool `json:"recent_cases_available"`
}

func (p *Portal) screenPop(ctx context.Context, s *session) *screenPop {
	pop := &screenPop{callRecord: s.record()}
	if rc, ok := p.env.Cases.(recentCases); ok && pop.Phone != "" {
		pop.RecentCasesAvailable = true
		lctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		list, err := rc.CasesByPhone(lctx, pop.Phone, 5)
		cancel()
		if err != nil {
			p.log.Warn("recent cases for screen pop", "err", err)
		}
		pop.RecentCases = list
	}
	return pop
}
