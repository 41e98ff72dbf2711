package cases

import (
	"context"
	"sort"
	"strconv"
	"time"
)

// ResultWithin is the promise the "result within 3 days" figure measures.
const ResultWithin = 72 * time.Hour

// Classification is what statistics keep of a case: no contact, no text.
// It is what `dargah export` writes and what the archive holds after the
// case's personal data is purged.
//
// ResultAt is the first time the case had a result: the first "answered"
// or "closed" event on its timeline, or the first change of its status to
// answered, verified or closed, whichever came first. The stores keep it
// with triggers, so every lifecycle path (API or not) is counted the same.
// MaxLevel is the highest escalation level the case reached: the largest
// of its escalation_level and of the "level" of its "escalated" events.
// DueAt is the first deadline the case had before its result (the
// department's deadline); the running due_at later holds other timers.
type Classification struct {
	TrackingCode string    `json:"tracking_code"`
	Status       Status    `json:"status"`
	ServiceCode  string    `json:"service_code"`
	Portal       string    `json:"portal"`
	PortalKind   string    `json:"portal_kind"`
	Department   string    `json:"department"`
	District     string    `json:"district"`
	Outcome      string    `json:"outcome"`
	Rating       int       `json:"rating"` // 0: not rated
	MaxLevel     int       `json:"max_level"`
	OpenedAt     time.Time `json:"opened_at"`
	DueAt        time.Time `json:"due_at,omitzero"`
	ResultAt     time.Time `json:"result_at,omitzero"`
	ClosedAt     time.Time `json:"closed_at,omitzero"`
}

// TimeToResult is ResultAt − OpenedAt, or false when there is no result yet.
func (c Classification) TimeToResult() (time.Duration, bool) {
	if c.ResultAt.IsZero() {
		return 0, false
	}
	return c.ResultAt.Sub(c.OpenedAt), true
}

// Count is one group of a volume breakdown.
type Count struct {
	Key   string `json:"key"`
	Count int64  `json:"count"`
}

// LevelCount is how many cases reached Level as their highest escalation.
type LevelCount struct {
	Level int   `json:"level"`
	Cases int64 `json:"cases"`
}

// Compliance is a department's deadline record: of the cases that had a
// deadline (Classification.DueAt), how many had their result (see Classification)
// at or before it. Cases without a result yet whose deadline has not
// passed are left out: they can still comply.
type Compliance struct {
	Department string  `json:"department"`
	Due        int64   `json:"due"`
	OnTime     int64   `json:"on_time"`
	Share      float64 `json:"share"` // OnTime/Due; 0 when Due is 0
}

// Stats are the figures the center reports, over messages accepted and
// cases opened in [From, To).
type Stats struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`

	// Messages decided in the range (by accepted time) and those resolved
	// on the spot; ResolvedShare is Resolved/Decided (the ~60% figure).
	MessagesDecided  int64   `json:"messages_decided"`
	MessagesResolved int64   `json:"messages_resolved"`
	ResolvedShare    float64 `json:"resolved_share"`
	MessagesByPortal []Count `json:"messages_by_portal"`

	// Cases opened in the range; WithinResult of them had a result within
	// ResultWithin of opening; ResultShare is ResultWithin/CasesOpened
	// (the 85–90% figure: open cases without a result count against it).
	CasesOpened       int64   `json:"cases_opened"`
	CasesWithResult   int64   `json:"cases_with_result"`
	ResultWithinCount int64   `json:"result_within_3d"`
	ResultShare       float64 `json:"result_within_3d_share"`
	// MeanHoursToResult is over the cases with a result.
	MeanHoursToResult float64 `json:"mean_hours_to_result"`

	// Escalations: cases by the highest level they reached (level ≥ 1).
	Escalations []LevelCount `json:"escalations"`
	// Compliance per department, by department name.
	Compliance []Compliance `json:"deadline_compliance"`

	// Satisfaction over rated cases (rating > 0).
	Rated            int64   `json:"rated"`
	MeanSatisfaction float64 `json:"mean_satisfaction"`

	// Volumes of cases opened, largest first.
	CasesByPortal   []Count `json:"cases_by_portal"`
	CasesByService  []Count `json:"cases_by_service"`
	CasesByDistrict []Count `json:"cases_by_district"`
}

// StatsStore computes statistics and keeps the archive. Both stores
// implement it next to Store; the stats API, `dargah export` and the
// archive sweeper take it from a Store with a type assertion.
type StatsStore interface {
	// Stats computes the figures over [from, to) in the database with
	// grouped queries, never by reading cases into Go: PostgreSQL sums
	// daily rollups (days of Asia/Tehran) that it brings up to date first
	// and reads partial days live; SQLite reads the range live. A
	// case without a result counts as late once its deadline has passed by
	// the store's clock.
	Stats(ctx context.Context, from, to time.Time) (Stats, error)
	// CaseClassifications calls fn for each case opened in [from, to),
	// oldest first, streaming; an error from fn stops and is returned.
	CaseClassifications(ctx context.Context, from, to time.Time, fn func(Classification) error) error
	// ArchiveClosed copies up to limit cases closed before before into the
	// archive with their classification, and returns how many it copied.
	// It is idempotent: an archived case is copied again only if it was
	// reopened and closed again since.
	ArchiveClosed(ctx context.Context, before time.Time, limit int) (int, error)
	// ArchivePurge erases the personal data (contact, description,
	// location, attachments, the citizen's message texts) of up to limit
	// archived cases closed before closedBefore, keeping the
	// classification, and returns how many it purged. Purged cases are
	// marked and never purged twice.
	ArchivePurge(ctx context.Context, closedBefore time.Time, limit int) (int, error)
}

// StatsGroup is one row of a store's grouped case query: the total (Dim
// "") or one group of a breakdown (Dim "portal", "service", "district",
// "department" or "level", Key the group's value).
type StatsGroup struct {
	Dim, Key      string
	Cases         int64
	WithResult    int64
	Within        int64   // result within ResultWithin of opening
	ResultSeconds float64 // sum of time to result over WithResult
	Rated         int64
	RatingSum     int64
	Due           int64 // had a deadline that is settled: result, or deadline passed
	OnTime        int64 // result at or before the deadline
}

// StatsAccumulator turns the grouped rows of a store's queries into Stats,
// so both stores share the arithmetic (shares, means, order) and only the
// SQL differs. The zero value is ready.
type StatsAccumulator struct {
	total                     StatsGroup
	portal, service, district []Count
	levels                    []LevelCount
	compliance                []Compliance
	msgDecided, msgResolved   int64
	msgPortal                 []Count
}

// AddCases adds one grouped case row.
func (a *StatsAccumulator) AddCases(g StatsGroup) {
	switch g.Dim {
	case "":
		a.total = g
	case "portal":
		a.portal = append(a.portal, Count{g.Key, g.Cases})
	case "service":
		a.service = append(a.service, Count{g.Key, g.Cases})
	case "district":
		a.district = append(a.district, Count{g.Key, g.Cases})
	case "department":
		if g.Due > 0 {
			a.compliance = append(a.compliance, Compliance{Department: g.Key, Due: g.Due, OnTime: g.OnTime, Share: share(g.OnTime, g.Due)})
		}
	case "level":
		if l, err := strconv.Atoi(g.Key); err == nil && l > 0 {
			a.levels = append(a.levels, LevelCount{Level: l, Cases: g.Cases})
		}
	}
}

// AddMessages adds one grouped message row: the total, or one portal's.
func (a *StatsAccumulator) AddMessages(byPortal bool, portal string, decided, resolved int64) {
	if byPortal {
		a.msgPortal = append(a.msgPortal, Count{portal, decided})
		return
	}
	a.msgDecided, a.msgResolved = decided, resolved
}

// Fill writes the figures into st (keeping its From and To).
func (a *StatsAccumulator) Fill(st *Stats) {
	t := a.total
	st.MessagesDecided, st.MessagesResolved = a.msgDecided, a.msgResolved
	st.ResolvedShare = share(a.msgResolved, a.msgDecided)
	st.CasesOpened, st.CasesWithResult, st.ResultWithinCount = t.Cases, t.WithResult, t.Within
	st.ResultShare = share(t.Within, t.Cases)
	if t.WithResult > 0 {
		st.MeanHoursToResult = t.ResultSeconds / float64(t.WithResult) / 3600
	}
	st.Rated = t.Rated
	if t.Rated > 0 {
		st.MeanSatisfaction = float64(t.RatingSum) / float64(t.Rated)
	}
	sort.Slice(a.levels, func(i, j int) bool { return a.levels[i].Level < a.levels[j].Level })
	sort.Slice(a.compliance, func(i, j int) bool { return a.compliance[i].Department < a.compliance[j].Department })
	st.Escalations = append([]LevelCount{}, a.levels...)
	st.Compliance = append([]Compliance{}, a.compliance...)
	st.MessagesByPortal = byCount(a.msgPortal)
	st.CasesByPortal = byCount(a.portal)
	st.CasesByService = byCount(a.service)
	st.CasesByDistrict = byCount(a.district)
}

// byCount orders largest first, then by key, never nil (JSON shows []).
func byCount(cs []Count) []Count {
	out := append([]Count{}, cs...)
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Key < out[j].Key
	})
	return out
}

func share(n, of int64) float64 {
	if of == 0 {
		return 0
	}
	return float64(n) / float64(of)
}
