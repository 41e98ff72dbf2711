package console

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"sort"
	"time"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/cases/workcal"
	"github.com/dargah137/dargah/routing/acd"
)

// openStatuses are the statuses of cases still needing work.
var openStatuses = []cases.Status{cases.StatusOpen, cases.StatusAssigned, cases.StatusAnswered, cases.StatusVerified,
	cases.StatusWaiting, cases.StatusFollowUp}

// Stats are the wallboard's live figures.
type Stats struct {
	Open      int            `json:"open"`
	Today     int            `json:"today"`
	Escalated int            `json:"escalated"`
	ByStatus  map[string]int `json:"by_status"`
	// Agents counts ACD agents by presence state (empty without a pool).
	Agents    map[string]int `json:"agents"`
	AgentList []acd.Agent    `json:"-"`
	// Queues are the phone queues' live numbers (empty without telephony).
	Queues map[string]QueueStats `json:"queues"`
	// PerPortal counts today's cases by the portal they came from, and
	// PerPortalMessages today's decided messages (requests, resolved on
	// the spot or not) when the store keeps statistics.
	PerPortal         map[string]int `json:"per_portal"`
	PerPortalMessages map[string]int `json:"per_portal_messages"`
	// NearDeadline are open cases due within 24 hours (or overdue), soonest
	// first, and Escalated open escalated cases; at most 10 each.
	NearDeadline  []cases.Case `json:"-"`
	EscalatedList []cases.Case `json:"-"`
	At            time.Time    `json:"at"`
}

// QueueStats are one queue's figures as the wallboard shows them.
type QueueStats struct {
	Waiting      int   `json:"waiting"`
	Ringing      int   `json:"ringing"`
	LongestWaitS int   `json:"longest_wait_s"`
	ServiceLevel int   `json:"service_level"` // percent
	AbandonRate  int   `json:"abandon_rate"`  // percent
	Answered     int64 `json:"answered"`
}

// stats counts from at most 1000 open cases and today's cases: a wallboard
// shows the state of the floor, not an exact census.
func (c *Console) stats(ctx context.Context) (Stats, error) {
	now := c.now()
	open, err := c.cases.CaseSearch(ctx, cases.Filter{Statuses: openStatuses, Limit: 1000})
	if err != nil {
		return Stats{}, fmt.Errorf("open cases: %w", err)
	}
	t := now.In(workcal.Tehran())
	midnight := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
	today, err := c.cases.CaseSearch(ctx, cases.Filter{OpenedFrom: midnight, Limit: 1000})
	if err != nil {
		return Stats{}, fmt.Errorf("today's cases: %w", err)
	}
	s := Stats{Open: len(open), Today: len(today), ByStatus: map[string]int{}, Agents: map[string]int{}, At: now,
		Queues: map[string]QueueStats{}, PerPortal: map[string]int{}}
	for _, k := range today {
		s.PerPortal[k.Portal]++
	}
	if ss, ok := c.cases.(cases.StatsStore); ok {
		// Requests per portal are a nicety: without them the wallboard
		// still shows cases, so a failure is logged, not fatal.
		if st, err := ss.Stats(ctx, midnight, midnight.AddDate(0, 0, 1)); err != nil {
			if ctx.Err() == nil {
				c.log.Warn("console: today's statistics", "err", err)
			}
		} else {
			s.PerPortalMessages = map[string]int{}
			for _, n := range st.MessagesByPortal {
				s.PerPortalMessages[n.Key] = int(n.Count)
			}
		}
	}
	for _, l := range c.phones {
		for name, g := range l.Dispatcher().Stats().Queues {
			if len(c.phones) > 1 { // queues of different lines may share a name
				name = l.Name + "/" + name
			}
			s.Queues[name] = QueueStats{Waiting: g.Waiting, Ringing: g.Ringing, LongestWaitS: int(g.LongestWait.Seconds()),
				ServiceLevel: int(math.Round(g.ServiceLevel * 100)), AbandonRate: int(math.Round(g.AbandonRate * 100)), Answered: g.Answered}
		}
	}
	if c.agents != nil {
		list, err := c.agents.List(ctx)
		if err != nil {
			return Stats{}, fmt.Errorf("agents: %w", err)
		}
		for _, a := range list {
			a = a.Effective(now)
			s.Agents[string(a.State)]++
			s.AgentList = append(s.AgentList, a)
		}
		sort.Slice(s.AgentList, func(i, j int) bool { return s.AgentList[i].ID < s.AgentList[j].ID })
	}
	for _, k := range open {
		s.ByStatus[string(k.Status)]++
		if k.EscalationLevel > 0 {
			s.Escalated++
			s.EscalatedList = append(s.EscalatedList, k)
		}
		if !k.DueAt.IsZero() && k.DueAt.Before(now.Add(24*time.Hour)) {
			s.NearDeadline = append(s.NearDeadline, k)
		}
	}
	sort.Slice(s.NearDeadline, func(i, j int) bool { return s.NearDeadline[i].DueAt.Before(s.NearDeadline[j].DueAt) })
	sort.Slice(s.EscalatedList, func(i, j int) bool {
		if a, b := s.EscalatedList[i].EscalationLevel, s.EscalatedList[j].EscalationLevel; a != b {
			return a > b
		}
		return s.EscalatedList[i].OpenedAt.Before(s.EscalatedList[j].OpenedAt)
	})
	s.NearDeadline = s.NearDeadline[:min(10, len(s.NearDeadline))]
	s.EscalatedList = s.EscalatedList[:min(10, len(s.EscalatedList))]
	return s, nil
}

type statusCount struct {
	Status cases.Status
	Count  int
}

type agentCount struct {
	State acd.State
	Count int
}

func (c *Console) wallboard(w http.ResponseWriter, r *http.Request, p *principal) {
	s, err := c.stats(r.Context())
	if err != nil {
		c.log.Error("console: wallboard", "err", err)
		c.fail(w, r, p, http.StatusInternalServerError, "server_error")
		return
	}
	var rows []statusCount
	for _, st := range openStatuses {
		rows = append(rows, statusCount{st, s.ByStatus[string(st)]})
	}
	var agents []agentCount
	if c.agents != nil {
		for _, st := range acd.States {
			agents = append(agents, agentCount{st, s.Agents[string(st)]})
		}
	}
	var queues []string
	for q := range s.Queues {
		queues = append(queues, q)
	}
	sort.Strings(queues)
	c.render(w, r, p, http.StatusOK, "wallboard", "wallboard", view{Data: struct {
		Stats  Stats
		Rows   []statusCount
		Agents []agentCount
		Queues []string
		Live   liveLists
	}{s, rows, agents, queues, c.liveLists(c.lang(w, r), s)}})
}

// liveLists are the wallboard's tables as the script redraws them, texts
// already in the reader's language.
type liveLists struct {
	Portals   []portalRow `json:"portals"`
	Near      []caseRow   `json:"near"`
	Escalated []caseRow   `json:"escalated"`
	Agents    []agentRow  `json:"agent_list"`
}

type portalRow struct {
	Portal   string `json:"portal"`
	Messages string `json:"messages"`
	Cases    string `json:"cases"`
}

type caseRow struct {
	Code    string `json:"code"`
	Service string `json:"service"`
	Dept    string `json:"dept"`
	Due     string `json:"due"`
	Level   string `json:"level"`
	Overdue bool   `json:"overdue"`
}

type agentRow struct {
	ID     string `json:"id"`
	State  string `json:"state"`
	Since  string `json:"since"`
	Reason string `json:"reason"`
}

func (c *Console) liveLists(lang string, s Stats) liveLists {
	v := view{c: c, Lang: lang}
	l := liveLists{Portals: []portalRow{}, Near: []caseRow{}, Escalated: []caseRow{}, Agents: []agentRow{}}
	names := map[string]bool{}
	for n := range s.PerPortal {
		names[n] = true
	}
	for n := range s.PerPortalMessages {
		names[n] = true
	}
	var sorted []string
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	for _, n := range sorted {
		row := portalRow{Portal: n, Cases: v.Num(s.PerPortal[n]), Messages: "—"}
		if s.PerPortalMessages != nil {
			row.Messages = v.Num(s.PerPortalMessages[n])
		}
		l.Portals = append(l.Portals, row)
	}
	row := func(k cases.Case) caseRow {
		return caseRow{Code: k.TrackingCode, Service: v.Service(k.ServiceCode), Dept: k.Department, Due: v.Date(k.DueAt),
			Level: v.Num(k.EscalationLevel), Overdue: !k.DueAt.IsZero() && k.DueAt.Before(s.At)}
	}
	for _, k := range s.NearDeadline {
		l.Near = append(l.Near, row(k))
	}
	for _, k := range s.EscalatedList {
		l.Escalated = append(l.Escalated, row(k))
	}
	for _, a := range s.AgentList {
		l.Agents = append(l.Agents, agentRow{ID: a.ID, State: v.T("agent_" + string(a.State)), Since: v.Date(a.Since), Reason: a.PauseReason})
	}
	return l
}

// wallboardEvents streams Stats as server-sent events ("stats") until the
// browser goes away. The session is checked once, at connect; the stream
// ends at the session's idle timeout so a forgotten tab does not keep it.
func (c *Console) wallboardEvents(w http.ResponseWriter, r *http.Request, p *principal) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	lang := c.lang(w, r)
	ctx, cancel := context.WithTimeout(r.Context(), c.cfg.IdleTimeout)
	defer cancel()
	tick := time.NewTicker(c.cfg.WallboardEvery)
	defer tick.Stop()
	for {
		s, err := c.stats(ctx)
		if err != nil {
			if ctx.Err() == nil {
				c.log.Error("console: wallboard events", "err", err)
			}
			return
		}
		b, _ := json.Marshal(struct {
			Stats
			Live liveLists `json:"live"`
		}{s, c.liveLists(lang, s)})
		if _, err := fmt.Fprintf(w, "event: stats\ndata: %s\n\n", b); err != nil {
			return
		}
		fl.Flush()
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
