package statsapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dargah137/dargah/cases"
)

// Collector exports the figures of a rolling window (the last 30 days by
// default) as Prometheus gauges. Refresh computes them; Collect only reads
// the last result, so a scrape never waits on the database.
type Collector struct {
	store  cases.StatsStore
	window time.Duration
	now    func() time.Time
	log    *slog.Logger

	mu   sync.Mutex
	last cases.Stats
	at   time.Time // when last was computed; zero: never

	descs map[string]*prometheus.Desc
}

// CollectorOptions tune a Collector. The zero value is usable.
type CollectorOptions struct {
	Window time.Duration // default 30 days
	Now    func() time.Time
	Logger *slog.Logger
}

// NewCollector returns a Collector over store; register it, then call
// Refresh (Run does, periodically).
func NewCollector(store cases.StatsStore, o CollectorOptions) *Collector {
	if o.Window <= 0 {
		o.Window = 30 * 24 * time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Collector{store: store, window: o.Window, now: o.Now, log: o.Logger, descs: map[string]*prometheus.Desc{}}
	win := fmt.Sprintf(" over the last %s", o.Window)
	d := func(name, help string, labels ...string) {
		c.descs[name] = prometheus.NewDesc("dargah_stats_"+name, help+win+".", labels, nil)
	}
	d("messages_decided", "Messages decided")
	d("messages_resolved_ratio", "Share of decided messages resolved on the spot")
	d("messages_by_portal", "Messages decided, by portal", "portal")
	d("cases_opened", "Cases opened")
	d("cases_result_within_3d_ratio", "Share of opened cases with a result (answer or close) within 3 days of opening")
	d("cases_result_hours_mean", "Mean hours from opening to the first result, over cases with a result")
	d("cases_escalated", "Cases by the highest escalation level they reached", "level")
	d("deadline_compliance_ratio", "Share of a department's settled deadlines met (result at or before the deadline)", "department")
	d("deadline_due_cases", "Cases of a department whose deadline is settled (result, or deadline passed)", "department")
	d("satisfaction_mean", "Mean citizen rating over rated cases")
	d("cases_rated", "Rated cases")
	d("cases_by_portal", "Cases opened, by portal", "portal")
	d("cases_by_service", "Cases opened, by service code", "service_code")
	d("cases_by_district", "Cases opened, by district", "district")
	c.descs["refreshed"] = prometheus.NewDesc("dargah_stats_refreshed_timestamp_seconds",
		"When the statistics gauges were last computed (Unix time).", nil, nil)
	return c
}

// Describe sends every metric's description.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

// Collect sends the last computed figures; nothing before the first
// Refresh succeeds.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	st, at := c.last, c.at
	c.mu.Unlock()
	if at.IsZero() {
		return
	}
	g := func(name string, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(c.descs[name], prometheus.GaugeValue, v, labels...)
	}
	g("refreshed", float64(at.UnixNano())/1e9)
	g("messages_decided", float64(st.MessagesDecided))
	g("messages_resolved_ratio", st.ResolvedShare)
	for _, p := range st.MessagesByPortal {
		g("messages_by_portal", float64(p.Count), p.Key)
	}
	g("cases_opened", float64(st.CasesOpened))
	g("cases_result_within_3d_ratio", st.ResultShare)
	g("cases_result_hours_mean", st.MeanHoursToResult)
	for _, l := range st.Escalations {
		g("cases_escalated", float64(l.Cases), strconv.Itoa(l.Level))
	}
	for _, d := range st.Compliance {
		g("deadline_compliance_ratio", d.Share, d.Department)
		g("deadline_due_cases", float64(d.Due), d.Department)
	}
	g("satisfaction_mean", st.MeanSatisfaction)
	g("cases_rated", float64(st.Rated))
	for _, p := range st.CasesByPortal {
		g("cases_by_portal", float64(p.Count), p.Key)
	}
	for _, s := range st.CasesByService {
		g("cases_by_service", float64(s.Count), s.Key)
	}
	for _, d := range st.CasesByDistrict {
		g("cases_by_district", float64(d.Count), d.Key)
	}
}

// Refresh computes the figures of the window ending now.
func (c *Collector) Refresh(ctx context.Context) error {
	now := c.now()
	st, err := c.store.Stats(ctx, now.Add(-c.window), now)
	if err != nil {
		return fmt.Errorf("stats gauges: %w", err)
	}
	c.mu.Lock()
	c.last, c.at = st, now
	c.mu.Unlock()
	return nil
}

// Run refreshes at once and then every interval until ctx ends.
func (c *Collector) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := c.Refresh(ctx); err != nil && !errors.Is(err, context.Canceled) && ctx.Err() == nil {
			c.log.Error("refresh stats gauges", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

var _ prometheus.Collector = (*Collector)(nil)
