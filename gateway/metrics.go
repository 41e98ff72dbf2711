package gateway

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics counts the message path for Prometheus. A nil *Metrics records
// nothing, so tests and tools need not build one.
type Metrics struct {
	acceptedC  *prometheus.CounterVec
	duplicates *prometheus.CounterVec
	decidedC   *prometheus.CounterVec
	deadTotal  *prometheus.CounterVec
	latency    prometheus.Histogram
	// Decisions told to, and heard from, other instances (Announcer).
	announcedC *prometheus.CounterVec
	heardC     prometheus.Counter
}

// NewMetrics registers the gateway's metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		acceptedC: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dargah_messages_accepted_total", Help: "Messages accepted at intake, by portal.",
		}, []string{"portal", "kind"}),
		duplicates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dargah_messages_duplicate_total", Help: "Repeated submissions answered from the ledger, by portal.",
		}, []string{"portal"}),
		decidedC: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dargah_messages_decided_total", Help: "Routing decisions, by portal and outcome (resolved on the spot or case opened).",
		}, []string{"portal", "outcome"}),
		deadTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dargah_messages_dead_total", Help: "Messages moved to the dead-letter place, by portal.",
		}, []string{"portal"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "dargah_message_decision_seconds",
			Help:    "Time from a message being received to its decision being stored.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}),
		announcedC: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dargah_decisions_announced_total",
			Help: "Decisions this instance made for messages another instance accepted, told to it; result ok or failed.",
		}, []string{"result"}),
		heardC: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dargah_decisions_heard_total",
			Help: "Decisions other instances made for messages accepted here, heard from them.",
		}),
	}
	reg.MustRegister(m.acceptedC, m.duplicates, m.decidedC, m.deadTotal, m.latency, m.announcedC, m.heardC)
	return m
}

func (m *Metrics) announced(err error) {
	if m != nil {
		result := "ok"
		if err != nil {
			result = "failed"
		}
		m.announcedC.WithLabelValues(result).Inc()
	}
}

func (m *Metrics) heard() {
	if m != nil {
		m.heardC.Inc()
	}
}

func (m *Metrics) accepted(portal, kind string) {
	if m != nil {
		m.acceptedC.WithLabelValues(portal, kind).Inc()
	}
}

func (m *Metrics) duplicate(portal string) {
	if m != nil {
		m.duplicates.WithLabelValues(portal).Inc()
	}
}

func (m *Metrics) dead(portal string) {
	if m != nil {
		m.deadTotal.WithLabelValues(portal).Inc()
	}
}

func (m *Metrics) decided(msg Message, r Receipt, now time.Time) {
	if m == nil {
		return
	}
	m.decidedC.WithLabelValues(msg.Portal, string(r.Decision.Outcome)).Inc()
	if !msg.ReceivedAt.IsZero() {
		m.latency.Observe(now.Sub(msg.ReceivedAt).Seconds())
	}
}
