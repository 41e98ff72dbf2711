package storetest

import (
	"errors"
	"math"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/cases/workcal"
	"github.com/dargah137/dargah/gateway"
)

func statsTests() []Test {
	return []Test{
		{"StatsFigures", testStatsFigures},
		{"StatsClassifications", testStatsClassifications},
		{"StatsArchive", testStatsArchive},
		{"StatsLifecycleColumns", testStatsLifecycleColumns},
		{"StatsSeeLaterDecisions", testStatsSeeLaterDecisions},
	}
}

// statsStore returns the store's StatsStore and ProcessStore or fails.
func (e *Env) statsStore(t *testing.T) (cases.StatsStore, cases.ProcessStore) {
	t.Helper()
	ss, ok := e.Store.(cases.StatsStore)
	if !ok {
		t.Fatalf("%T does not implement cases.StatsStore", e.Store)
	}
	ps, ok := e.Store.(cases.ProcessStore)
	if !ok {
		t.Fatalf("%T does not implement cases.ProcessStore", e.Store)
	}
	return ss, ps
}

// classify sets what the case lifecycle owns — department, district,
// deadline (an escalation timer), rating — through the store's locked
// step, as cases/process does.
func (e *Env) classify(t *testing.T, ps cases.ProcessStore, c cases.Case, dept, district string, due time.Time, rating int) {
	t.Helper()
	_, _, err := ps.CaseStep(e.Ctx, c.TrackingCode, func(c *cases.Case, st *cases.State) (cases.Effects, error) {
		c.Department, c.District, c.Rating, c.DueAt = dept, district, rating, due
		if !due.IsZero() {
			c.Status, st.TimerKind = cases.StatusAssigned, cases.TimerEscalate
		}
		return cases.Effects{}, nil
	})
	if err != nil {
		t.Fatalf("classify %s: %v", c.TrackingCode, err)
	}
}

// statsData is a small hand-computed dataset: four cases opened at t0
// (A–D) and one later (E), seven decided messages in range.
type statsData struct {
	t0         time.Time
	a, b, c, d cases.Case
	e          cases.Case
}

func seedStats(t *testing.T, e *Env) statsData {
	t.Helper()
	_, ps := e.statsStore(t)
	w := e.Writer(t)
	var sd statsData
	sd.t0 = e.Clock.Now()
	t0 := sd.t0
	open := func(portal, kind, service string) cases.Case {
		m := NewMessage(t0)
		m.Portal, m.PortalKind, m.ServiceCode = portal, kind, service
		_, c := e.OpenCase(t, m)
		return c
	}
	sd.a = open("web", "webform", "lighting")
	sd.b = open("telegram", "telegram", "lighting")
	sd.c = open("web", "webform", "waste")
	sd.d = open("web", "webform", "waste")
	// Three answered on the spot, one never decided.
	for _, portal := range []string{"web", "web", "telegram"} {
		m := NewMessage(t0)
		m.Portal = portal
		e.Accept(t, m)
		if _, err := e.Store.MessageDecide(e.Ctx, m.ID, gateway.Decision{Outcome: gateway.OutcomeResolved, Rule: "faq"}); err != nil {
			t.Fatal(err)
		}
	}
	e.Accept(t, NewMessage(t0))

	classify := func(c cases.Case, dept, district string, due time.Time, rating int) {
		e.classify(t, ps, c, dept, district, due, rating)
	}
	classify(sd.a, "lighting-dept", "1", t0.Add(48*time.Hour), 5)
	classify(sd.b, "lighting-dept", "2", t0.Add(48*time.Hour), 2)
	classify(sd.c, "waste-dept", "1", t0.Add(48*time.Hour), 0)
	classify(sd.d, "waste-dept", "1", time.Time{}, 0)

	event := func(c cases.Case, kind string, after time.Duration, data map[string]string) {
		if _, err := w.CaseAddEvent(e.Ctx, c.ID, cases.Event{At: t0.Add(after), Kind: kind, Data: data}); err != nil {
			t.Fatalf("%s event on %s: %v", kind, c.TrackingCode, err)
		}
	}
	event(sd.a, "answered", 24*time.Hour, nil)
	event(sd.b, "escalated", 49*time.Hour, map[string]string{"level": "1"})
	event(sd.b, "escalated", 100*time.Hour, map[string]string{"level": "2"})
	event(sd.b, "answered", 120*time.Hour, nil)
	event(sd.b, "escalated", 121*time.Hour, map[string]string{"level": "junk"}) // ignored, not fatal
	event(sd.c, "escalated", 49*time.Hour, map[string]string{"level": "1"})
	event(sd.c, "note", 50*time.Hour, map[string]string{"level": "9"}) // not an escalation

	e.Clock.Advance(10 * time.Hour)
	if err := w.CaseClose(e.Ctx, sd.d.ID, "resolved", "agent-1"); err != nil {
		t.Fatal(err)
	}
	e.Clock.Advance(20 * time.Hour)
	if err := w.CaseClose(e.Ctx, sd.a.ID, "resolved", "agent-1"); err != nil {
		t.Fatal(err)
	}
	// Out of range: a case and an answered message 30 hours later.
	_, sd.e = e.OpenCase(t, NewMessage(e.Clock.Now()))
	m := NewMessage(e.Clock.Now())
	e.Accept(t, m)
	if _, err := e.Store.MessageDecide(e.Ctx, m.ID, gateway.Decision{Outcome: gateway.OutcomeResolved, Rule: "faq"}); err != nil {
		t.Fatal(err)
	}
	return sd
}

func testStatsFigures(t *testing.T, e *Env) {
	ss, ps := e.statsStore(t)
	sd := seedStats(t, e)
	from, to := sd.t0.Add(-time.Hour), sd.t0.Add(time.Hour)

	// At t0+30h case C's deadline (t0+48h) has not passed: it can still
	// comply, so waste-dept has nothing settled yet.
	st, err := ss.Stats(e.Ctx, from, to)
	if err != nil {
		t.Fatal(err)
	}
	wantCompliance := []cases.Compliance{{Department: "lighting-dept", Due: 2, OnTime: 1, Share: 0.5}}
	if !reflect.DeepEqual(st.Compliance, wantCompliance) {
		t.Errorf("compliance before C's deadline = %+v, want %+v", st.Compliance, wantCompliance)
	}

	e.Clock.Advance(200 * time.Hour)
	cnt := func(k string, n int64) cases.Count { return cases.Count{Key: k, Count: n} }
	st, err = ss.Stats(e.Ctx, from, to)
	if err != nil {
		t.Fatal(err)
	}
	want := cases.Stats{
		From: from, To: to,
		MessagesDecided: 7, MessagesResolved: 3, ResolvedShare: 3.0 / 7,
		MessagesByPortal: []cases.Count{cnt("web", 5), cnt("telegram", 2)},
		CasesOpened:      4, CasesWithResult: 3, ResultWithinCount: 2, ResultShare: 0.5,
		MeanHoursToResult: (24.0 + 120 + 10) / 3,
		Escalations:       []cases.LevelCount{{Level: 1, Cases: 1}, {Level: 2, Cases: 1}},
		Compliance: []cases.Compliance{
			{Department: "lighting-dept", Due: 2, OnTime: 1, Share: 0.5},
			{Department: "waste-dept", Due: 1, OnTime: 0, Share: 0},
		},
		Rated: 2, MeanSatisfaction: 3.5,
		CasesByPortal:   []cases.Count{cnt("web", 3), cnt("telegram", 1)},
		CasesByService:  []cases.Count{cnt("lighting", 2), cnt("waste", 2)},
		CasesByDistrict: []cases.Count{cnt("1", 3), cnt("2", 1)},
	}
	if !statsEqual(st, want) {
		t.Errorf("stats =\n%+v\nwant\n%+v", st, want)
	}

	// The same figures over whole days of the center's calendar (which
	// PostgreSQL reads from its daily rollups), and after a change, which
	// must show at once.
	tehran := workcal.Tehran()
	day := time.Date(2026, 3, 20, 0, 0, 0, 0, tehran) // t0 is 11:30 in Tehran
	st, err = ss.Stats(e.Ctx, day, day.AddDate(0, 0, 1))
	if err != nil {
		t.Fatal(err)
	}
	want.From, want.To = day, day.AddDate(0, 0, 1)
	if !statsEqual(st, want) {
		t.Errorf("stats over the whole day =\n%+v\nwant\n%+v", st, want)
	}
	e.classify(t, ps, sd.c, "waste-dept", "1", sd.t0.Add(48*time.Hour), 4)
	st, err = ss.Stats(e.Ctx, day, day.AddDate(0, 0, 2)) // and E, opened the next day
	if err != nil {
		t.Fatal(err)
	}
	if st.Rated != 3 || math.Abs(st.MeanSatisfaction-11.0/3) > 1e-9 || st.CasesOpened != 5 || st.MessagesDecided != 9 ||
		st.MessagesResolved != 4 {
		t.Errorf("stats over two days after rating C = %+v; want 3 rated (mean 11/3), 5 cases, 9 decided, 4 resolved", st)
	}
	// Partial days on both sides of a whole one add up.
	st, err = ss.Stats(e.Ctx, sd.t0.Add(-time.Hour), day.AddDate(0, 0, 2).Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if st.CasesOpened != 5 || st.MessagesDecided != 9 || st.CasesWithResult != 3 {
		t.Errorf("stats over edges and a whole day = %+v; want 5 cases, 9 messages, 3 with a result", st)
	}

	// A range with nothing in it: zeros and empty lists, not nil.
	empty, err := ss.Stats(e.Ctx, sd.t0.Add(-48*time.Hour), sd.t0.Add(-24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if empty.CasesOpened != 0 || empty.MessagesDecided != 0 || empty.ResolvedShare != 0 ||
		empty.CasesByPortal == nil || empty.Escalations == nil || empty.Compliance == nil {
		t.Errorf("empty range = %+v", empty)
	}
	if _, err := ss.Stats(e.Ctx, to, from); err == nil {
		t.Error("stats over a reversed range succeeded")
	}
}

// statsEqual compares with a tolerance on the float figures.
func statsEqual(a, b cases.Stats) bool {
	near := func(x, y float64) bool { return math.Abs(x-y) < 1e-9 }
	if !near(a.ResolvedShare, b.ResolvedShare) || !near(a.ResultShare, b.ResultShare) ||
		!near(a.MeanHoursToResult, b.MeanHoursToResult) || !near(a.MeanSatisfaction, b.MeanSatisfaction) {
		return false
	}
	a.ResolvedShare, a.ResultShare, a.MeanHoursToResult, a.MeanSatisfaction = 0, 0, 0, 0
	b.ResolvedShare, b.ResultShare, b.MeanHoursToResult, b.MeanSatisfaction = 0, 0, 0, 0
	return a.From.Equal(b.From) && a.To.Equal(b.To) && func() bool {
		a.From, a.To, b.From, b.To = time.Time{}, time.Time{}, time.Time{}, time.Time{}
		return reflect.DeepEqual(a, b)
	}()
}

func testStatsClassifications(t *testing.T, e *Env) {
	ss, _ := e.statsStore(t)
	sd := seedStats(t, e)
	var got []cases.Classification
	err := ss.CaseClassifications(e.Ctx, sd.t0.Add(-time.Hour), sd.t0.Add(time.Hour), func(c cases.Classification) error {
		got = append(got, c)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t0 := sd.t0
	want := []cases.Classification{
		{TrackingCode: sd.a.TrackingCode, Status: cases.StatusClosed, ServiceCode: "lighting", Portal: "web", PortalKind: "webform",
			Department: "lighting-dept", District: "1", Outcome: "resolved", Rating: 5, OpenedAt: t0,
			DueAt: t0.Add(48 * time.Hour), ResultAt: t0.Add(24 * time.Hour), ClosedAt: t0.Add(30 * time.Hour)},
		{TrackingCode: sd.b.TrackingCode, Status: cases.StatusAssigned, ServiceCode: "lighting", Portal: "telegram", PortalKind: "telegram",
			Department: "lighting-dept", District: "2", Rating: 2, MaxLevel: 2, OpenedAt: t0,
			DueAt: t0.Add(48 * time.Hour), ResultAt: t0.Add(120 * time.Hour)},
		{TrackingCode: sd.c.TrackingCode, Status: cases.StatusAssigned, ServiceCode: "waste", Portal: "web", PortalKind: "webform",
			Department: "waste-dept", District: "1", MaxLevel: 1, OpenedAt: t0, DueAt: t0.Add(48 * time.Hour)},
		{TrackingCode: sd.d.TrackingCode, Status: cases.StatusClosed, ServiceCode: "waste", Portal: "web", PortalKind: "webform",
			Department: "waste-dept", District: "1", Outcome: "resolved", OpenedAt: t0,
			ResultAt: t0.Add(10 * time.Hour), ClosedAt: t0.Add(10 * time.Hour)},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("classifications =\n%+v\nwant\n%+v", got, want)
	}
	if d, ok := got[1].TimeToResult(); !ok || d != 120*time.Hour {
		t.Errorf("B time to result = %v, %v", d, ok)
	}
	if _, ok := got[2].TimeToResult(); ok {
		t.Error("C has a time to result without a result")
	}
	// fn's error stops the walk and comes back as is.
	stop := errors.New("stop")
	n := 0
	err = ss.CaseClassifications(e.Ctx, t0.Add(-time.Hour), t0.Add(1000*time.Hour), func(cases.Classification) error {
		n++
		return stop
	})
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("walk with a failing fn = %v after %d, want stop after 1", err, n)
	}
}

func testStatsArchive(t *testing.T, e *Env) {
	ss, _ := e.statsStore(t)
	w := e.Writer(t)
	t0 := e.Clock.Now()
	m := NewMessage(t0)
	data := []byte("jpeg")
	if _, err := e.Store.AttachmentSave(e.Ctx, m.Attachments[0], data); err != nil {
		t.Fatal(err)
	}
	_, d := e.OpenCase(t, m)
	_, keep := e.OpenCase(t, NewMessage(t0))
	// A reply in the thread joins the case; its text is personal data too.
	reply := NewMessage(t0)
	reply.Text = "شماره من ۰۹۱۲۱۲۳۴۵۶۷ است"
	e.Accept(t, reply)
	if _, err := e.Store.MessageDecide(e.Ctx, reply.ID, gateway.Decision{Outcome: gateway.OutcomeResolved, Rule: "thread",
		LinkedTracking: d.TrackingCode}); err != nil {
		t.Fatal(err)
	}
	e.Clock.Advance(time.Hour)
	if err := w.CaseClose(e.Ctx, d.ID, "resolved", "agent"); err != nil {
		t.Fatal(err)
	}
	e.Clock.Advance(time.Hour)
	if err := w.CaseClose(e.Ctx, keep.ID, "resolved", "agent"); err != nil {
		t.Fatal(err)
	}
	archive := func(before time.Time, want int) {
		t.Helper()
		n, err := ss.ArchiveClosed(e.Ctx, before, 10)
		if err != nil || n != want {
			t.Fatalf("archive before %s = %d, %v; want %d", before, n, err, want)
		}
	}
	archive(t0.Add(90*time.Minute), 1) // d only
	archive(t0.Add(90*time.Minute), 0) // idempotent
	archive(t0.Add(3*time.Hour), 1)    // keep
	archive(t0.Add(3*time.Hour), 0)
	if n, err := ss.ArchiveClosed(e.Ctx, t0.Add(3*time.Hour), 0); err != nil || n != 0 {
		t.Errorf("archive with limit 0 = %d, %v", n, err)
	}

	purge := func(before time.Time, want int) {
		t.Helper()
		n, err := ss.ArchivePurge(e.Ctx, before, 10)
		if err != nil || n != want {
			t.Fatalf("purge before %s = %d, %v; want %d", before, n, err, want)
		}
	}
	purge(t0.Add(90*time.Minute), 1)
	purge(t0.Add(90*time.Minute), 0)

	got, err := e.Store.CaseGetByTracking(e.Ctx, d.TrackingCode)
	if err != nil {
		t.Fatal(err)
	}
	// The language stays: it identifies nobody and says how to answer.
	if got.Contact != (gateway.Contact{Language: got.Contact.Language}) || got.Description != "" || got.Location != nil ||
		len(got.Attachments) != 0 || got.ThreadKey != "" {
		t.Errorf("purged case keeps personal data: %+v", got)
	}
	if got.ServiceCode != "lighting" || got.Status != cases.StatusClosed || got.Outcome != "resolved" || got.Portal != "web" {
		t.Errorf("purged case lost its classification: %+v", got)
	}
	if _, _, err := e.Store.AttachmentGet(e.Ctx, m.Attachments[0].ID); !errors.Is(err, cases.ErrNotFound) {
		t.Errorf("purged case's attachment = %v, want ErrNotFound", err)
	}
	evs, err := e.Store.CaseEvents(e.Ctx, d.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if ev.Kind == "message" && ev.Note != "" {
			t.Errorf("purged case's message event keeps its text: %+v", ev)
		}
	}
	// The other case is untouched; its classification and the purged
	// one's still count.
	if k, _ := e.Store.CaseGetByTracking(e.Ctx, keep.TrackingCode); k.Contact.Phone == "" || k.Description == "" {
		t.Errorf("unpurged case lost data: %+v", k)
	}
	st, err := ss.Stats(e.Ctx, t0.Add(-time.Hour), t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if st.CasesOpened != 2 || st.CasesWithResult != 2 || st.ResultWithinCount != 2 {
		t.Errorf("stats after purge = %+v", st)
	}
	// A purged case already archived is not archived again.
	archive(t0.Add(3*time.Hour), 0)
}

// The lifecycle may record results and levels in the case row (status,
// escalation_level) rather than in events; both count, and later timers
// in due_at (feedback) do not replace the deadline.
func testStatsLifecycleColumns(t *testing.T, e *Env) {
	ss, _ := e.statsStore(t)
	w := e.Writer(t)
	t0 := e.Clock.Now()
	_, c := e.OpenCase(t, NewMessage(t0))
	e.Clock.Advance(5 * time.Hour)
	// Closing without an "answered" event: the close is the result.
	if err := w.CaseClose(e.Ctx, c.ID, "duplicate", "agent"); err != nil {
		t.Fatal(err)
	}
	// A later "answered" event does not move the first result.
	if _, err := w.CaseAddEvent(e.Ctx, c.ID, cases.Event{At: t0.Add(9 * time.Hour), Kind: "answered"}); err != nil {
		t.Fatal(err)
	}
	// Another through the process's own step: a deadline, escalated to
	// level 2 in the row, then answered by status: the deadline is the
	// first one, the result the status change, the level the highest.
	_, d := e.OpenCase(t, NewMessage(t0))
	_, ps := e.statsStore(t)
	step := func(f func(c *cases.Case, st *cases.State)) {
		t.Helper()
		if _, _, err := ps.CaseStep(e.Ctx, d.TrackingCode, func(c *cases.Case, st *cases.State) (cases.Effects, error) {
			f(c, st)
			return cases.Effects{}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	first := e.Clock.Now().Add(24 * time.Hour)
	step(func(c *cases.Case, st *cases.State) {
		c.Status, c.Department, c.DueAt, st.TimerKind = cases.StatusAssigned, "roads", first, cases.TimerEscalate
	})
	e.Clock.Advance(25 * time.Hour)
	step(func(c *cases.Case, st *cases.State) { c.EscalationLevel, c.DueAt = 2, c.DueAt.Add(48*time.Hour) })
	e.Clock.Advance(time.Hour)
	answeredAt := e.Clock.Now()
	step(func(c *cases.Case, st *cases.State) {
		c.Status, c.EscalationLevel, c.DueAt, st.TimerKind = cases.StatusAnswered, 0, answeredAt.Add(72*time.Hour), cases.TimerFeedback
	})
	var got []cases.Classification
	if err := ss.CaseClassifications(e.Ctx, t0, t0.Add(6*time.Hour), func(c cases.Classification) error {
		got = append(got, c)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !got[0].ResultAt.Equal(t0.Add(5*time.Hour)) || got[0].Outcome != "duplicate" {
		t.Fatalf("classification = %+v; want result at close (t0+5h) first", got)
	}
	if g := got[1]; !g.ResultAt.Equal(answeredAt) || !g.DueAt.Equal(first) || g.MaxLevel != 2 || g.Department != "roads" {
		t.Errorf("stepped case = %+v; want result %v, deadline %v, level 2", g, answeredAt, first)
	}
}

// Figures read once must not go stale: messages decided afterwards (alone,
// or many at once) count in the next read, also on a day with no case.
// The range spans whole days, which a store may read from daily rollups.
func testStatsSeeLaterDecisions(t *testing.T, e *Env) {
	ss, _ := e.statsStore(t)
	from, to := e.Clock.Now().Add(-48*time.Hour), e.Clock.Now().Add(48*time.Hour)
	read := func() cases.Stats {
		t.Helper()
		st, err := ss.Stats(e.Ctx, from, to)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	resolve := func(n int) {
		var wg sync.WaitGroup
		for range n {
			m := NewMessage(e.Clock.Now())
			e.Accept(t, m)
			wg.Go(func() {
				if _, err := e.Store.MessageDecide(e.Ctx, m.ID, gateway.Decision{Outcome: gateway.OutcomeResolved, Rule: "faq"}); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}
	resolve(1)
	if st := read(); st.MessagesDecided != 1 || st.MessagesResolved != 1 {
		t.Fatalf("after one: decided %d resolved %d", st.MessagesDecided, st.MessagesResolved)
	}
	resolve(30)
	if st := read(); st.MessagesDecided != 31 || st.MessagesResolved != 31 || st.CasesOpened != 0 {
		t.Fatalf("after 31: decided %d resolved %d cases %d", st.MessagesDecided, st.MessagesResolved, st.CasesOpened)
	}
	e.OpenCase(t, NewMessage(e.Clock.Now()))
	if st := read(); st.MessagesDecided != 32 || st.CasesOpened != 1 {
		t.Fatalf("after a case: decided %d cases %d", st.MessagesDecided, st.CasesOpened)
	}
}
