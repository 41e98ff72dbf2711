package acd

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Stats is a snapshot of the queue numbers, per queue and per language.
type Stats struct {
	At        time.Time
	Queues    map[string]GroupStats
	Languages map[string]GroupStats
}

// GroupStats are the numbers of one queue or one language.
type GroupStats struct {
	// Waiting counts calls and callback tasks waiting (not ringing).
	Waiting int
	// Callbacks counts the callback tasks among Waiting.
	Callbacks int
	// Ringing counts calls offered to an agent right now.
	Ringing int
	// LongestWait is the wait of the longest waiting call.
	LongestWait time.Duration
	// Counters since the dispatcher started.
	Answered, AnsweredInSL, Abandoned, AbandonedAfterSL int64
	// ServiceLevel = AnsweredInSL / (Answered + AbandonedAfterSL): callers
	// who hung up before the threshold do not count against it. 1 when
	// there is nothing to count yet.
	ServiceLevel float64
	// AbandonRate = Abandoned / (Answered + Abandoned); 0 when none.
	AbandonRate float64
	// AverageAnswer is the mean wait of answered calls.
	AverageAnswer time.Duration
	// Agents counts agents by state: for a queue, agents with its base
	// skills (language aside); for a language, agents with that skill.
	Agents map[State]int
}

// Stats returns the current numbers. It walks every waiting call and agent,
// so call it for a console refresh or a scrape, not per call.
func (d *Dispatcher) Stats() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	d.r.promote(now)
	queues, langs := map[string]*GroupStats{}, map[string]*GroupStats{}
	get := func(m map[string]*GroupStats, k string) *GroupStats {
		g, ok := m[k]
		if !ok {
			g = &GroupStats{Agents: map[State]int{}}
			m[k] = g
		}
		return g
	}
	for _, q := range d.cfg.Queues {
		get(queues, q.Name)
	}
	for _, l := range d.cfg.Languages {
		get(langs, l)
	}
	// Per class rather than per call: a class is one queue and language.
	for _, cl := range d.r.classList {
		callbacks := 0
		for _, rec := range cl.h.items {
			if rec.c.Callback {
				callbacks++
			}
		}
		for _, g := range [2]*GroupStats{get(queues, cl.key.queue), get(langs, cl.key.lang)} {
			g.Ringing += cl.offered
			g.Waiting += cl.h.Len()
			g.Callbacks += callbacks
			if cl.h.Len() > 0 {
				g.LongestWait = max(g.LongestWait, now.Sub(cl.h.Top().c.EnqueuedAt))
			}
		}
	}
	for k, c := range d.counts {
		m := langs
		if k.queue {
			m = queues
		}
		g := get(m, k.name)
		g.Answered, g.AnsweredInSL, g.Abandoned, g.AbandonedAfterSL = c.answered, c.answeredInSL, c.abandoned, c.abandonedAfterSL
		if c.answered > 0 {
			g.AverageAnswer = c.answerWait / time.Duration(c.answered)
		}
	}
	for _, rec := range d.r.agents {
		state := rec.a.Effective(now).State
		for i, q := range d.cfg.Queues {
			if d.domain[i].Met(rec.a.Skills) {
				queues[q.Name].Agents[state]++
			}
		}
		for lang := range rec.a.Skills {
			if g, ok := langs[lang]; ok {
				g.Agents[state]++
			}
		}
	}
	s := Stats{At: now, Queues: make(map[string]GroupStats, len(queues)), Languages: make(map[string]GroupStats, len(langs))}
	for _, x := range []struct {
		from map[string]*GroupStats
		to   map[string]GroupStats
	}{{queues, s.Queues}, {langs, s.Languages}} {
		for k, g := range x.from {
			g.ServiceLevel = 1
			if den := g.Answered + g.AbandonedAfterSL; den > 0 {
				g.ServiceLevel = float64(g.AnsweredInSL) / float64(den)
			}
			if den := g.Answered + g.Abandoned; den > 0 {
				g.AbandonRate = float64(g.Abandoned) / float64(den)
			}
			x.to[k] = *g
		}
	}
	return s
}

// Register adds the dispatcher's Prometheus collector to reg. Numbers are
// read from Stats at scrape time, labelled by queue or language.
func (d *Dispatcher) Register(reg prometheus.Registerer) error {
	return reg.Register(&collector{d: d})
}

type collector struct{ d *Dispatcher }

var (
	labels    = []string{"group", "name"}
	descWait  = prometheus.NewDesc("dargah_acd_calls_waiting", "Calls and callback tasks waiting for an agent.", labels, nil)
	descRing  = prometheus.NewDesc("dargah_acd_calls_ringing", "Calls ringing an agent.", labels, nil)
	descLong  = prometheus.NewDesc("dargah_acd_longest_wait_seconds", "Wait of the longest waiting call.", labels, nil)
	descAns   = prometheus.NewDesc("dargah_acd_calls_answered_total", "Calls answered by an agent.", labels, nil)
	descAnsSL = prometheus.NewDesc("dargah_acd_calls_answered_in_sl_total", "Calls answered within the service-level threshold.", labels, nil)
	descAb    = prometheus.NewDesc("dargah_acd_calls_abandoned_total", "Calls whose caller hung up before an agent answered.", labels, nil)
	descAbSL  = prometheus.NewDesc("dargah_acd_calls_abandoned_after_sl_total", "Abandoned calls that had waited past the service-level threshold.", labels, nil)
	descSL    = prometheus.NewDesc("dargah_acd_service_level_ratio", "Answered within threshold / (answered + abandoned after threshold).", labels, nil)
	descAbR   = prometheus.NewDesc("dargah_acd_abandon_ratio", "Abandoned / (answered + abandoned).", labels, nil)
	descAgent = prometheus.NewDesc("dargah_acd_agents", "Agents by state.", []string{"group", "name", "state"}, nil)
)

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descWait, descRing, descLong, descAns, descAnsSL, descAb, descAbSL, descSL, descAbR, descAgent} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	s := c.d.Stats()
	emit := func(group string, m map[string]GroupStats) {
		for name, g := range m {
			gauge := func(d *prometheus.Desc, v float64) {
				ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, group, name)
			}
			counter := func(d *prometheus.Desc, v int64) {
				ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), group, name)
			}
			gauge(descWait, float64(g.Waiting))
			gauge(descRing, float64(g.Ringing))
			gauge(descLong, g.LongestWait.Seconds())
			counter(descAns, g.Answered)
			counter(descAnsSL, g.AnsweredInSL)
			counter(descAb, g.Abandoned)
			counter(descAbSL, g.AbandonedAfterSL)
			gauge(descSL, g.ServiceLevel)
			gauge(descAbR, g.AbandonRate)
			for _, st := range States {
				ch <- prometheus.MustNewConstMetric(descAgent, prometheus.GaugeValue, float64(g.Agents[st]), group, name, string(st))
			}
		}
	}
	emit("queue", s.Queues)
	emit("language", s.Languages)
}
