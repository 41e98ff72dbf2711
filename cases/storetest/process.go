package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/cases/escalation"
	"github.com/dargah137/dargah/cases/officeauto"
	"github.com/dargah137/dargah/cases/org"
	"github.com/dargah137/dargah/cases/process"
	"github.com/dargah137/dargah/channels"
	"github.com/dargah137/dargah/configs"
	"github.com/dargah137/dargah/gateway"
	"github.com/dargah137/dargah/internal/digits"
)

// The 137 process (cases/process) over each store: every step, every
// illegal transition, timers on the manual clock, the outbox.
func processTests() []Test {
	return []Test{
		{"ProcessOpenAssigns", testProcessOpenAssigns},
		{"ProcessEscalationLadder", testProcessEscalationLadder},
		{"ProcessWaitingPausesClock", testProcessWaitingPausesClock},
		{"ProcessAnswerVerifyRateFollowUp", testProcessAnswerVerifyRateFollowUp},
		{"ProcessIllegalTransitions", testProcessIllegalTransitions},
		{"ProcessFeedbackTimeout", testProcessFeedbackTimeout},
		{"ProcessDuplicates", testProcessDuplicates},
		{"ProcessMarkDuplicate", testProcessMarkDuplicate},
		{"ProcessConcurrentOpening", testProcessConcurrentOpening},
		{"ProcessRejectAndReassign", testProcessRejectAndReassign},
		{"ProcessRatingMessage", testProcessRatingMessage},
		{"ProcessExtendAndAck", testProcessExtendAndAck},
		{"ProcessAckOnceConcurrently", testProcessAckOnceConcurrently},
		{"ProcessFollowUpEscalateClose", testProcessFollowUpEscalateClose},
		{"ProcessOutboxWebhooks", testProcessOutboxWebhooks},
		{"ProcessOutboxNotices", testProcessOutboxNotices},
		{"ProcessOutboxDrains", testProcessOutboxDrains},
		{"ProcessOutboxLease", testProcessOutboxLease},
		{"ProcessPromptDelivery", testProcessPromptDelivery},
		{"ProcessEmail", testProcessEmail},
		{"ProcessSMS", testProcessSMS},
	}
}

// Org and Ladder are the shipped configuration files.
func Org(t testing.TB) *org.Org {
	t.Helper()
	o, err := org.Parse("configs/org.yaml", configs.Org)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// Ladder is configs/escalation.yaml.
func Ladder(t testing.TB) *escalation.Ladder {
	t.Helper()
	l, err := escalation.Parse("configs/escalation.yaml", configs.Escalation)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// Engine returns a process engine over the env's store (which must be a
// cases.ProcessStore) with its hooks installed; mod edits the config.
func (e *Env) Engine(t *testing.T, mod func(*process.Config)) (*process.Engine, cases.ProcessStore) {
	t.Helper()
	ps, ok := e.Store.(cases.ProcessStore)
	if !ok {
		t.Fatalf("%T does not implement cases.ProcessStore", e.Store)
	}
	cfg := process.Config{Store: ps, Org: Org(t), Ladder: Ladder(t), Now: e.Clock.Now,
		Secret: func(string) (string, bool) { return "s3cret", true }}
	if mod != nil {
		mod(&cfg)
	}
	eng, err := process.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	eng.Install()
	return eng, ps
}

// Lighting is a street-lighting report at the Holy Shrine (district samen).
func Lighting(now time.Time) gateway.Message {
	m := NewMessage(now)
	m.ServiceCode = "street_lighting"
	m.Location = &gateway.Location{Lat: 36.2880, Long: 59.6157, Address: "حرم"}
	return m
}

var (
	dept  = process.Actor{Role: process.RoleDepartment, Department: "street_lighting", Name: "کارشناس"}
	staff = process.Actor{Role: process.RoleStaff, Name: "اپراتور ۱۳۷"}
	unit  = process.Actor{Role: process.RoleFollowUp}
)

func kinds(t *testing.T, e *Env, c cases.Case) []string {
	t.Helper()
	evs, err := e.Store.CaseEvents(e.Ctx, c.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	var ks []string
	for _, ev := range evs {
		ks = append(ks, ev.Kind)
	}
	return ks
}

func state(t *testing.T, e *Env, ps cases.ProcessStore, code string) (cases.Case, cases.State) {
	t.Helper()
	c, st, err := ps.CaseState(e.Ctx, code)
	if err != nil {
		t.Fatal(err)
	}
	return c, st
}

func outbox(t *testing.T, e *Env, ps cases.ProcessStore, status string) []cases.Outbox {
	t.Helper()
	rows, err := ps.OutboxList(e.Ctx, status, 1000)
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(rows) // oldest first
	return rows
}

func outboxKinds(rows []cases.Outbox) []string {
	var ks []string
	for _, o := range rows {
		ks = append(ks, o.Channel+":"+o.Kind)
	}
	return ks
}

// must fails the test on an action's error: must(t)(eng.Answer(…)).
func must(t *testing.T) func(cases.Case, error) cases.Case {
	return func(c cases.Case, err error) cases.Case {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
}

func testProcessOpenAssigns(t *testing.T, e *Env) {
	_, ps := e.Engine(t, nil)
	now := e.Clock.Now()
	_, c := e.OpenCase(t, Lighting(now))
	c, st := state(t, e, ps, c.TrackingCode)
	if c.Status != cases.StatusAssigned || c.Department != "street_lighting" || c.District != "samen" || c.EscalationLevel != 0 {
		t.Fatalf("case after opening: status %s department %q district %q level %d", c.Status, c.Department, c.District, c.EscalationLevel)
	}
	want := Ladder(t).For("street_lighting").DueAt(now, 0, nil)
	if !c.DueAt.Equal(want) || st.TimerKind != cases.TimerEscalate || !st.LevelStart.Equal(now) {
		t.Fatalf("deadline %v kind %q start %v, want %v escalate %v", c.DueAt, st.TimerKind, st.LevelStart, want, now)
	}
	if ks := kinds(t, e, c); !slices.Equal(ks, []string{"opened", "assigned"}) {
		t.Fatalf("timeline %v", ks)
	}
	rows := outbox(t, e, ps, cases.OutboxPending)
	if len(rows) != 1 || rows[0].Kind != "assigned" || rows[0].Target != "https://oa.mashhad.example/dargah/street_lighting" ||
		rows[0].SecretEnv != "DARGAH_OA_SECRET_LIGHTING" {
		t.Fatalf("outbox %+v", rows)
	}
	var ev officeauto.Event
	if err := json.Unmarshal(rows[0].Body, &ev); err != nil || ev.TrackingCode != c.TrackingCode || ev.ID != rows[0].EventID || !ev.DueAt.Equal(c.DueAt) {
		t.Fatalf("webhook body %s (%v)", rows[0].Body, err)
	}
	// Without a location, an unknown service goes to "other"'s department head.
	m := NewMessage(now)
	m.Location, m.ServiceCode = nil, "no_such_service"
	_, c2 := e.OpenCase(t, m)
	c2, _ = state(t, e, ps, c2.TrackingCode)
	if c2.Status != cases.StatusAssigned || c2.Department != "urban_services" || c2.District != "" {
		t.Fatalf("unknown service: %s %q %q", c2.Status, c2.Department, c2.District)
	}
}

func testProcessEscalationLadder(t *testing.T, e *Env) {
	eng, ps := e.Engine(t, nil)
	_, c := e.OpenCase(t, Lighting(e.Clock.Now()))
	code := c.TrackingCode
	c, _ = state(t, e, ps, code)
	plan := Ladder(t).For("street_lighting")

	// Nothing is due yet.
	if n, err := eng.Fire(e.Ctx); err != nil || n != 0 {
		t.Fatalf("fire before deadline: %d, %v", n, err)
	}
	due0 := c.DueAt
	e.Clock.Advance(due0.Sub(e.Clock.Now()))
	if n, err := eng.Fire(e.Ctx); err != nil || n != 1 {
		t.Fatalf("fire at deadline: %d, %v", n, err)
	}
	if n, _ := eng.Fire(e.Ctx); n != 0 {
		t.Fatalf("deadline fired twice: %d", n)
	}
	c, st := state(t, e, ps, code)
	if c.EscalationLevel != 1 || !st.LevelStart.Equal(due0) || !c.DueAt.Equal(plan.DueAt(due0, 1, nil)) {
		t.Fatalf("after head's deadline: level %d start %v due %v", c.EscalationLevel, st.LevelStart, c.DueAt)
	}
	// A late scheduler (two days after the deputy's deadline) escalates
	// once, counting from the deadline, not from now.
	due1 := c.DueAt
	e.Clock.Advance(due1.Sub(e.Clock.Now()) + time.Hour)
	if n, _ := eng.Fire(e.Ctx); n != 1 {
		t.Fatalf("deputy's deadline fired %d", n)
	}
	c, _ = state(t, e, ps, code)
	if c.EscalationLevel != 2 || !c.DueAt.Equal(plan.DueAt(due1, 2, nil)) {
		t.Fatalf("after deputy's deadline: level %d due %v", c.EscalationLevel, c.DueAt)
	}
	// Final level: reminders, level stays.
	e.Clock.Advance(c.DueAt.Sub(e.Clock.Now()))
	if n, _ := eng.Fire(e.Ctx); n != 1 {
		t.Fatal("reminder did not fire")
	}
	c, _ = state(t, e, ps, code)
	if c.EscalationLevel != 2 {
		t.Fatalf("level after reminder %d", c.EscalationLevel)
	}
	if ks := kinds(t, e, c); !slices.Equal(ks, []string{"opened", "assigned", "escalated", "escalated", "reminder"}) {
		t.Fatalf("timeline %v", ks)
	}
	evs, _ := e.Store.CaseEvents(e.Ctx, c.ID, false)
	if r := evs[3].Data["recipients"]; r == "" || evs[3].Data["level_name"] != "final" {
		t.Fatalf("final escalation event %+v", evs[3])
	}
	if ks := outboxKinds(outbox(t, e, ps, cases.OutboxPending)); !slices.Equal(ks, []string{"webhook:assigned", "webhook:escalated", "webhook:escalated", "webhook:reminder"}) {
		t.Fatalf("outbox %v", ks)
	}
}

func testProcessWaitingPausesClock(t *testing.T, e *Env) {
	eng, ps := e.Engine(t, nil)
	m := Lighting(e.Clock.Now())
	_, c := e.OpenCase(t, m)
	code := c.TrackingCode
	c, _ = state(t, e, ps, code)
	cal := Ladder(t).Calendar
	e.Clock.Advance(10 * time.Hour)
	left := cal.Working(e.Clock.Now(), c.DueAt)
	c = must(t)(eng.AskCitizen(e.Ctx, code, dept, "پلاک دقیق تیر برق را بفرمایید"))
	c, st := state(t, e, ps, code)
	if c.Status != cases.StatusWaiting || !c.DueAt.IsZero() || st.PausedLeft != left || st.PausedKind != cases.TimerEscalate {
		t.Fatalf("waiting: %s due %v left %v (want %v) kind %q", c.Status, c.DueAt, st.PausedLeft, left, st.PausedKind)
	}
	// Days pass: nothing fires while the citizen is asked.
	e.Clock.Advance(30 * 24 * time.Hour)
	if n, _ := eng.Fire(e.Ctx); n != 0 {
		t.Fatalf("paused case fired %d", n)
	}
	// The citizen replies in the thread: the clock resumes with what was left.
	reply := NewMessage(e.Clock.Now())
	reply.ThreadKey, reply.Text = m.ThreadKey, "پلاک ۱۲"
	e.Accept(t, reply)
	if _, err := e.Store.MessageDecide(e.Ctx, reply.ID, gateway.Decision{Outcome: gateway.OutcomeResolved, Rule: "thread", LinkedTracking: code}); err != nil {
		t.Fatal(err)
	}
	c, st = state(t, e, ps, code)
	if c.Status != cases.StatusAssigned || !c.DueAt.Equal(cal.Add(e.Clock.Now(), left)) || st.PausedLeft != 0 || st.TimerKind != cases.TimerEscalate {
		t.Fatalf("resumed: %s due %v (want %v) kind %q", c.Status, c.DueAt, cal.Add(e.Clock.Now(), left), st.TimerKind)
	}
	if ks := kinds(t, e, c); !slices.Equal(ks, []string{"opened", "assigned", "info_requested", "message", "resumed"}) {
		t.Fatalf("timeline %v", ks)
	}
	if ks := outboxKinds(outbox(t, e, ps, cases.OutboxPending)); !slices.Contains(ks, "notice:info_request") {
		t.Fatalf("no info_request notice: %v", ks)
	}
}

func testProcessAnswerVerifyRateFollowUp(t *testing.T, e *Env) {
	eng, ps := e.Engine(t, nil)
	_, c := e.OpenCase(t, Lighting(e.Clock.Now()))
	code := c.TrackingCode
	must(t)(eng.Accept(e.Ctx, code, dept))
	c = must(t)(eng.Answer(e.Ctx, code, dept, "لامپ تعویض شد", []string{"att-1"}))
	if c.Status != cases.StatusAnswered || !c.DueAt.IsZero() || c.Answer != "لامپ تعویض شد" {
		t.Fatalf("answered: %s due %v", c.Status, c.DueAt)
	}
	c = must(t)(eng.Verify(e.Ctx, code, staff, "ok"))
	if c.Status != cases.StatusVerified || !c.DueAt.Equal(Ladder(t).FeedbackDue(e.Clock.Now())) {
		t.Fatalf("verified: %s due %v", c.Status, c.DueAt)
	}
	c = must(t)(eng.Rate(e.Ctx, code, staff, 2, "هنوز خاموش است"))
	if c.Status != cases.StatusFollowUp || c.Rating != 2 || !c.DueAt.Equal(Ladder(t).FollowUpDue(e.Clock.Now())) {
		t.Fatalf("rated 2: %s rating %d due %v", c.Status, c.Rating, c.DueAt)
	}
	c = must(t)(eng.FollowUpReturn(e.Ctx, code, unit, "بررسی مجدد"))
	if c.Status != cases.StatusAssigned || c.EscalationLevel != 0 {
		t.Fatalf("returned: %s level %d", c.Status, c.EscalationLevel)
	}
	must(t)(eng.Answer(e.Ctx, code, dept, "سیم‌کشی تعمیر شد", nil))
	must(t)(eng.Verify(e.Ctx, code, staff, ""))
	c = must(t)(eng.Rate(e.Ctx, code, staff, 5, ""))
	if c.Status != cases.StatusClosed || c.Outcome != process.OutcomeResolved || c.Rating != 5 || !c.DueAt.IsZero() || c.ClosedAt.IsZero() {
		t.Fatalf("rated 5: %+v", c)
	}
	want := []string{"opened", "assigned", "accepted", "answered", "verified", "rated", "follow_up", "returned", "assigned",
		"answered", "verified", "rated", "closed"}
	if ks := kinds(t, e, c); !slices.Equal(ks, want) {
		t.Fatalf("timeline\n got %v\nwant %v", ks, want)
	}
	pub, _ := e.Store.CaseEvents(e.Ctx, c.ID, true)
	for _, ev := range pub {
		if ev.Kind == "answered" {
			t.Fatal("unverified answer shown to the citizen")
		}
	}
	ks := outboxKinds(outbox(t, e, ps, cases.OutboxPending))
	wantOB := []string{"webhook:assigned", "notice:answered", "notice:rating_request", "webhook:assigned",
		"notice:answered", "notice:rating_request", "webhook:closed"}
	if !slices.Equal(ks, wantOB) {
		t.Fatalf("outbox\n got %v\nwant %v", ks, wantOB)
	}
}

// snapshot is what an illegal transition must leave unchanged.
func snapshot(t *testing.T, e *Env, ps cases.ProcessStore, code string) string {
	c, st := state(t, e, ps, code)
	b, _ := json.Marshal(c)
	return fmt.Sprintf("%s %+v %v %d", b, st, kinds(t, e, c), len(outbox(t, e, ps, cases.OutboxPending)))
}

func testProcessIllegalTransitions(t *testing.T, e *Env) {
	eng, ps := e.Engine(t, nil)
	_, c := e.OpenCase(t, Lighting(e.Clock.Now()))
	code := c.TrackingCode
	other := process.Actor{Role: process.RoleDepartment, Department: "parks"}
	expect := func(name string, want error, fn func() error) {
		t.Helper()
		before := snapshot(t, e, ps, code)
		e.Clock.Advance(time.Second)
		if err := fn(); !errors.Is(err, want) {
			t.Errorf("%s: err %v, want %v", name, err, want)
		}
		if after := snapshot(t, e, ps, code); after != before {
			t.Errorf("%s changed the case:\n%s\n%s", name, before, after)
		}
	}
	call := func(fn func() (cases.Case, error)) func() error { return func() error { _, err := fn(); return err } }
	expect("other department answers", cases.ErrNotFound, call(func() (cases.Case, error) { return eng.Answer(e.Ctx, code, other, "x", nil) }))
	expect("other department reads", cases.ErrNotFound, func() error { _, _, _, err := eng.Case(e.Ctx, code, other); return err })
	expect("verify unanswered", cases.ErrConflict, call(func() (cases.Case, error) { return eng.Verify(e.Ctx, code, staff, "") }))
	expect("rate unverified", cases.ErrConflict, call(func() (cases.Case, error) { return eng.Rate(e.Ctx, code, staff, 4, "") }))
	expect("empty answer", cases.ErrInvalidStep, call(func() (cases.Case, error) { return eng.Answer(e.Ctx, code, dept, "  ", nil) }))
	expect("reject without reason", cases.ErrInvalidStep, call(func() (cases.Case, error) { return eng.Reject(e.Ctx, code, dept, "") }))
	expect("extend without reason", cases.ErrInvalidStep, call(func() (cases.Case, error) { return eng.Extend(e.Ctx, code, staff, time.Hour, "") }))
	expect("rating out of range", cases.ErrInvalidStep, call(func() (cases.Case, error) { return eng.Rate(e.Ctx, code, staff, 7, "") }))
	expect("follow-up return when assigned", cases.ErrConflict, call(func() (cases.Case, error) { return eng.FollowUpReturn(e.Ctx, code, unit, "") }))
	expect("resume when not waiting", cases.ErrConflict, call(func() (cases.Case, error) { return eng.Resume(e.Ctx, code, staff, "") }))
	expect("assign when assigned", cases.ErrConflict, call(func() (cases.Case, error) { return eng.Assign(e.Ctx, code, staff, "parks") }))
	expect("unknown case", cases.ErrNotFound, call(func() (cases.Case, error) { return eng.Accept(e.Ctx, "1234567890", dept) }))

	must(t)(eng.Answer(e.Ctx, code, dept, "done", nil))
	must(t)(eng.Verify(e.Ctx, code, staff, ""))
	must(t)(eng.Rate(e.Ctx, code, staff, 4, ""))
	expect("answer closed", cases.ErrConflict, call(func() (cases.Case, error) { return eng.Answer(e.Ctx, code, dept, "again", nil) }))
	expect("rate twice", cases.ErrConflict, call(func() (cases.Case, error) { return eng.Rate(e.Ctx, code, staff, 5, "") }))
	expect("extend closed", cases.ErrConflict, call(func() (cases.Case, error) { return eng.Extend(e.Ctx, code, staff, time.Hour, "why") }))
	expect("ask closed", cases.ErrConflict, call(func() (cases.Case, error) { return eng.AskCitizen(e.Ctx, code, dept, "?") }))
}

func testProcessFeedbackTimeout(t *testing.T, e *Env) {
	eng, ps := e.Engine(t, nil)
	_, c := e.OpenCase(t, Lighting(e.Clock.Now()))
	code := c.TrackingCode
	must(t)(eng.Answer(e.Ctx, code, dept, "done", nil))
	c = must(t)(eng.Verify(e.Ctx, code, staff, ""))
	e.Clock.Advance(c.DueAt.Sub(e.Clock.Now()) - time.Millisecond)
	if n, _ := eng.Fire(e.Ctx); n != 0 {
		t.Fatal("feedback timer fired early")
	}
	e.Clock.Advance(time.Millisecond)
	if n, _ := eng.Fire(e.Ctx); n != 1 {
		t.Fatal("feedback timer did not fire")
	}
	c, st := state(t, e, ps, code)
	if c.Status != cases.StatusClosed || c.Outcome != process.OutcomeNoFeedback || st.TimerKind != "" || !c.DueAt.IsZero() {
		t.Fatalf("after feedback timeout: %s %q", c.Status, c.Outcome)
	}
	if _, err := eng.Rate(e.Ctx, code, staff, 5, ""); !errors.Is(err, cases.ErrConflict) {
		t.Fatalf("late rating: %v", err)
	}
}

func testProcessDuplicates(t *testing.T, e *Env) {
	eng, ps := e.Engine(t, nil)
	m1 := Lighting(e.Clock.Now())
	_, master := e.OpenCase(t, m1)
	// 30 m north, same service: a duplicate. 200 m away, or another
	// service: not.
	m2 := Lighting(e.Clock.Now())
	m2.Location = &gateway.Location{Lat: m1.Location.Lat + 0.00027, Long: m1.Location.Long}
	m2.Portal, m2.Contact.TelegramID = "telegram", "777"
	_, dup := e.OpenCase(t, m2)
	m3 := Lighting(e.Clock.Now())
	m3.Location = &gateway.Location{Lat: m1.Location.Lat + 0.0018, Long: m1.Location.Long}
	_, far := e.OpenCase(t, m3)
	m4 := Lighting(e.Clock.Now())
	m4.ServiceCode = "asphalt"
	_, otherSvc := e.OpenCase(t, m4)

	dup, dst := state(t, e, ps, dup.TrackingCode)
	if dst.DuplicateOf != master.TrackingCode || dup.Status != cases.StatusOpen || !dup.DueAt.IsZero() {
		t.Fatalf("duplicate: of %q status %s due %v", dst.DuplicateOf, dup.Status, dup.DueAt)
	}
	for _, c := range []cases.Case{far, otherSvc} {
		if _, st := state(t, e, ps, c.TrackingCode); st.DuplicateOf != "" {
			t.Fatalf("%s marked duplicate of %s", c.TrackingCode, st.DuplicateOf)
		}
	}
	if ks := kinds(t, e, dup); !slices.Equal(ks, []string{"opened", "duplicate"}) {
		t.Fatalf("duplicate timeline %v", ks)
	}
	must(t)(eng.Answer(e.Ctx, master.TrackingCode, dept, "تعمیر شد", nil))
	must(t)(eng.Verify(e.Ctx, master.TrackingCode, staff, ""))
	dup, _ = state(t, e, ps, dup.TrackingCode)
	if dup.Status != cases.StatusClosed || dup.Outcome != process.OutcomeDuplicateResolved || dup.Answer != "تعمیر شد" {
		t.Fatalf("duplicate after master resolved: %s %q", dup.Status, dup.Outcome)
	}
	var toDup int
	for _, o := range outbox(t, e, ps, cases.OutboxPending) {
		if o.Channel == cases.OutboxNotice && o.CaseID == dup.ID && o.Target == "telegram" && o.Kind == "resolved" {
			toDup++
		}
	}
	if toDup != 1 {
		t.Fatalf("duplicate's reporter notices: %d", toDup)
	}
}

// testProcessMarkDuplicate: staff mark the duplicates the Opened hook could
// not see (no location, another service) and undo a wrong mark.
func testProcessMarkDuplicate(t *testing.T, e *Env) {
	eng, ps := e.Engine(t, nil)
	_, master := e.OpenCase(t, Lighting(e.Clock.Now()))
	far := Lighting(e.Clock.Now())
	far.Location = nil // no location: the hook cannot tell
	far.Portal, far.Contact.TelegramID = "telegram", "778"
	_, a := e.OpenCase(t, far)
	if a.Status != cases.StatusAssigned || a.Department == "" {
		t.Fatalf("case without a location: %s in %q", a.Status, a.Department)
	}
	webhooks := func(c cases.Case, kind string) (n int) {
		for _, o := range outbox(t, e, ps, cases.OutboxPending) {
			if o.CaseID == c.ID && o.Channel == cases.OutboxWebhook && o.Kind == kind {
				n++
			}
		}
		return n
	}
	assignedHooks := webhooks(a, "assigned")
	missing, err := cases.NewTrackingCode()
	if err != nil {
		t.Fatal(err)
	}
	for name, master := range map[string]string{"not a code": "12345", "no such case": missing, "itself": a.TrackingCode} {
		if _, err := eng.MarkDuplicate(e.Ctx, a.TrackingCode, staff, master, ""); !errors.Is(err, cases.ErrInvalidStep) {
			t.Fatalf("%s: %v", name, err)
		}
	}

	// Typed with Persian digits, as staff do.
	c := must(t)(eng.MarkDuplicate(e.Ctx, a.TrackingCode, staff, " "+digits.ToPersian(master.TrackingCode), "همان تیر برق"))
	_, st := state(t, e, ps, a.TrackingCode)
	if st.DuplicateOf != master.TrackingCode || c.Status != cases.StatusOpen || c.Department != "" || !c.DueAt.IsZero() || st.TimerKind != "" {
		t.Fatalf("marked: of %q, %s in %q, due %v, timer %q", st.DuplicateOf, c.Status, c.Department, c.DueAt, st.TimerKind)
	}
	if ks := kinds(t, e, c); ks[len(ks)-1] != "duplicate" {
		t.Fatalf("timeline %v", ks)
	}
	if webhooks(a, "closed") != assignedHooks {
		t.Fatalf("the department that had the case was not told it is closed for them (%d assigned webhooks)", assignedHooks)
	}
	if _, err := eng.MarkDuplicate(e.Ctx, a.TrackingCode, staff, master.TrackingCode, ""); !errors.Is(err, cases.ErrConflict) {
		t.Fatalf("marked twice: %v", err)
	}

	// A wrong mark undone: back to a department with a fresh deadline.
	e.Clock.Advance(time.Hour)
	c = must(t)(eng.NotDuplicate(e.Ctx, a.TrackingCode, staff, "دو تیر جدا"))
	if _, st := state(t, e, ps, a.TrackingCode); st.DuplicateOf != "" || c.Status != cases.StatusAssigned || c.Department == "" || !c.DueAt.After(e.Clock.Now()) {
		t.Fatalf("undone: of %q, %s in %q, due %v", st.DuplicateOf, c.Status, c.Department, c.DueAt)
	}
	if ks := kinds(t, e, c); !slices.Equal(ks[len(ks)-2:], []string{"not_duplicate", "assigned"}) {
		t.Fatalf("timeline %v", ks)
	}
	if _, err := eng.NotDuplicate(e.Ctx, a.TrackingCode, staff, ""); !errors.Is(err, cases.ErrConflict) {
		t.Fatalf("undone twice: %v", err)
	}

	// Marked against a duplicate, a case joins that one's master; all are
	// resolved with the master's answer.
	must(t)(eng.MarkDuplicate(e.Ctx, a.TrackingCode, staff, master.TrackingCode, ""))
	other := NewMessage(e.Clock.Now())
	other.ServiceCode, other.Location = "asphalt", nil // filed under another service
	_, b := e.OpenCase(t, other)
	must(t)(eng.MarkDuplicate(e.Ctx, b.TrackingCode, staff, a.TrackingCode, ""))
	if _, st := state(t, e, ps, b.TrackingCode); st.DuplicateOf != master.TrackingCode {
		t.Fatalf("duplicate of a duplicate points at %q, want the master %s", st.DuplicateOf, master.TrackingCode)
	}
	// A case that has duplicates of its own, marked, takes them along.
	sidewalk := func() gateway.Message {
		m := NewMessage(e.Clock.Now())
		m.ServiceCode, m.Location = "sidewalk", nil
		return m
	}
	_, c1 := e.OpenCase(t, sidewalk())
	_, d1 := e.OpenCase(t, sidewalk())
	must(t)(eng.MarkDuplicate(e.Ctx, d1.TrackingCode, staff, c1.TrackingCode, ""))
	must(t)(eng.MarkDuplicate(e.Ctx, c1.TrackingCode, staff, master.TrackingCode, ""))
	if _, st := state(t, e, ps, d1.TrackingCode); st.DuplicateOf != master.TrackingCode {
		t.Fatalf("a duplicate of a case marked later points at %q, want the master %s", st.DuplicateOf, master.TrackingCode)
	}
	must(t)(eng.Answer(e.Ctx, master.TrackingCode, dept, "تعمیر شد", nil))
	must(t)(eng.Verify(e.Ctx, master.TrackingCode, staff, ""))
	for _, k := range []cases.Case{a, b, c1, d1} {
		if k, _ = state(t, e, ps, k.TrackingCode); k.Status != cases.StatusClosed || k.Outcome != process.OutcomeDuplicateResolved {
			t.Fatalf("%s after the master was resolved: %s %q", k.TrackingCode, k.Status, k.Outcome)
		}
	}

	// A late report of a problem already answered is answered at once.
	late := NewMessage(e.Clock.Now())
	late.Location, late.Portal, late.Contact.TelegramID = nil, "telegram", "779"
	_, l := e.OpenCase(t, late)
	l = must(t)(eng.MarkDuplicate(e.Ctx, l.TrackingCode, staff, master.TrackingCode, ""))
	if l.Status != cases.StatusClosed || l.Answer != "تعمیر شد" {
		t.Fatalf("late duplicate of an answered case: %s %q", l.Status, l.Answer)
	}
	told := 0
	for _, o := range outbox(t, e, ps, cases.OutboxPending) {
		if o.CaseID == l.ID && o.Channel == cases.OutboxNotice && o.Kind == "resolved" {
			told++
		}
	}
	if told != 1 {
		t.Fatalf("the late reporter got %d notices", told)
	}
	if _, err := eng.MarkDuplicate(e.Ctx, l.TrackingCode, staff, master.TrackingCode, ""); !errors.Is(err, cases.ErrConflict) {
		t.Fatalf("mark a closed case: %v", err)
	}
}

func testProcessRejectAndReassign(t *testing.T, e *Env) {
	eng, ps := e.Engine(t, nil)
	_, c := e.OpenCase(t, Lighting(e.Clock.Now()))
	code := c.TrackingCode
	c = must(t)(eng.Reject(e.Ctx, code, dept, "تیر برق متعلق به شرکت توزیع است"))
	if c.Status != cases.StatusOpen || c.Department != "" || !c.DueAt.IsZero() {
		t.Fatalf("rejected: %s %q %v", c.Status, c.Department, c.DueAt)
	}
	if _, _, _, err := eng.Case(e.Ctx, code, dept); !errors.Is(err, cases.ErrNotFound) {
		t.Fatalf("rejecting department still sees the case: %v", err)
	}
	if _, err := eng.Assign(e.Ctx, code, staff, "nope"); !errors.Is(err, cases.ErrInvalidStep) {
		t.Fatalf("assign to unknown department: %v", err)
	}
	c = must(t)(eng.Assign(e.Ctx, code, staff, "civil_works"))
	c, _ = state(t, e, ps, code)
	if c.Status != cases.StatusAssigned || c.Department != "civil_works" || c.DueAt.IsZero() {
		t.Fatalf("reassigned: %s %q", c.Status, c.Department)
	}
	if ks := kinds(t, e, c); !slices.Equal(ks, []string{"opened", "assigned", "rejected", "assigned"}) {
		t.Fatalf("timeline %v", ks)
	}
}

func testProcessRatingMessage(t *testing.T, e *Env) {
	eng, ps := e.Engine(t, nil)
	_, c := e.OpenCase(t, Lighting(e.Clock.Now()))
	code := c.TrackingCode
	must(t)(eng.Answer(e.Ctx, code, dept, "done", nil))
	must(t)(eng.Verify(e.Ctx, code, staff, ""))
	rate := func(n string) gateway.Message {
		m := NewMessage(e.Clock.Now())
		m.Portal, m.Text, m.ThreadKey = "sms", n, ""
		m.Metadata = map[string]string{"kind": "rating", "tracking_code": code, "rating": n, "comment": "ممنون"}
		e.Accept(t, m)
		return m
	}
	d := gateway.Decision{Outcome: gateway.OutcomeResolved, Rule: "rating", Reply: "سپاس", LinkedTracking: code}
	m := rate("4")
	for range 2 { // a redelivered message is decided once and rates once
		if _, err := e.Store.MessageDecide(e.Ctx, m.ID, d); err != nil {
			t.Fatal(err)
		}
	}
	c, _ = state(t, e, ps, code)
	if c.Status != cases.StatusClosed || c.Rating != 4 || c.Outcome != process.OutcomeResolved {
		t.Fatalf("after rating message: %s %d %q", c.Status, c.Rating, c.Outcome)
	}
	// A second rating is thanked but not taken.
	m2 := rate("1")
	if _, err := e.Store.MessageDecide(e.Ctx, m2.ID, d); err != nil {
		t.Fatal(err)
	}
	c, _ = state(t, e, ps, code)
	if c.Rating != 4 || c.Status != cases.StatusClosed {
		t.Fatalf("second rating changed the case: %d %s", c.Rating, c.Status)
	}
	ks := kinds(t, e, c)
	rated := 0
	for _, k := range ks {
		if k == "rated" {
			rated++
		}
	}
	if n := len(ks); n < 2 || ks[n-1] != "rating_rejected" || rated != 1 {
		t.Fatalf("timeline %v", ks)
	}
}

func testProcessExtendAndAck(t *testing.T, e *Env) {
	eng, ps := e.Engine(t, nil)
	_, c := e.OpenCase(t, Lighting(e.Clock.Now()))
	code := c.TrackingCode
	c, _ = state(t, e, ps, code)
	due := c.DueAt
	c = must(t)(eng.Extend(e.Ctx, code, staff, 24*time.Hour, "بارندگی شدید"))
	if !c.DueAt.Equal(due.Add(24 * time.Hour)) {
		t.Fatalf("extended due %v, want %v", c.DueAt, due.Add(24*time.Hour))
	}
	e.Clock.Advance(due.Sub(e.Clock.Now()))
	if n, _ := eng.Fire(e.Ctx); n != 0 {
		t.Fatal("fired at the old deadline")
	}
	e.Clock.Advance(24 * time.Hour)
	if n, _ := eng.Fire(e.Ctx); n != 1 {
		t.Fatal("did not fire at the extended deadline")
	}
	evs, _ := e.Store.CaseEvents(e.Ctx, c.ID, false)
	esc := evs[len(evs)-1]
	if esc.Kind != "escalated" {
		t.Fatalf("last event %s", esc.Kind)
	}
	if _, err := eng.Ack(e.Ctx, code, process.Actor{Role: process.RoleDepartment, Department: "parks"}, esc.ID); !errors.Is(err, cases.ErrNotFound) {
		t.Fatalf("other department acks: %v", err)
	}
	must(t)(eng.Ack(e.Ctx, code, dept, esc.ID))
	if _, err := eng.Ack(e.Ctx, code, dept, esc.ID); !errors.Is(err, cases.ErrConflict) {
		t.Fatalf("second ack: %v", err)
	}
	if _, err := eng.Ack(e.Ctx, code, dept, evs[0].ID); !errors.Is(err, cases.ErrInvalidStep) {
		t.Fatalf("ack of the opened event: %v", err)
	}
	if ks := kinds(t, e, c); !slices.Equal(ks, []string{"opened", "assigned", "extended", "escalated", "acknowledged"}) {
		t.Fatalf("timeline %v", ks)
	}
}

func testProcessFollowUpEscalateClose(t *testing.T, e *Env) {
	eng, ps := e.Engine(t, nil)
	_, c := e.OpenCase(t, Lighting(e.Clock.Now()))
	code := c.TrackingCode
	toFollowUp := func() {
		must(t)(eng.Answer(e.Ctx, code, dept, "done", nil))
		must(t)(eng.Verify(e.Ctx, code, staff, ""))
		must(t)(eng.Rate(e.Ctx, code, staff, 0, "اصلاً رسیدگی نشد")) // a written complaint
	}
	toFollowUp()
	c, _ = state(t, e, ps, code)
	if c.Status != cases.StatusFollowUp {
		t.Fatalf("complaint: %s", c.Status)
	}
	// The follow-up unit's deadline passes: a warning, and the clock re-arms.
	due := c.DueAt
	e.Clock.Advance(due.Sub(e.Clock.Now()))
	if n, _ := eng.Fire(e.Ctx); n != 1 {
		t.Fatal("follow-up deadline did not fire")
	}
	c, _ = state(t, e, ps, code)
	if c.Status != cases.StatusFollowUp || !c.DueAt.After(due) {
		t.Fatalf("after follow-up deadline: %s %v", c.Status, c.DueAt)
	}
	c = must(t)(eng.FollowUpEscalate(e.Ctx, code, unit, "پاسخ قانع‌کننده نبود"))
	if c.Status != cases.StatusAssigned || c.EscalationLevel != 1 {
		t.Fatalf("re-escalated: %s level %d", c.Status, c.EscalationLevel)
	}
	toFollowUp()
	if _, err := eng.FollowUpClose(e.Ctx, code, unit, ""); !errors.Is(err, cases.ErrInvalidStep) {
		t.Fatalf("close without note: %v", err)
	}
	c = must(t)(eng.FollowUpClose(e.Ctx, code, unit, "با شهروند تماس گرفته شد"))
	if c.Status != cases.StatusClosed || c.Outcome != process.OutcomeFollowUpClosed {
		t.Fatalf("closed by follow-up: %s %q", c.Status, c.Outcome)
	}
	ks := kinds(t, e, c)
	if !slices.Contains(ks, "follow_up_overdue") || ks[len(ks)-1] != "closed" {
		t.Fatalf("timeline %v", ks)
	}
}

// receiver is an office automation system: it verifies signatures,
// fails the first failures requests of each event with 503, then accepts.
type receiver struct {
	mu       sync.Mutex
	failures int
	got      map[string]int // event id → requests
	bad      int            // requests with a bad signature
	accepted []officeauto.Event
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := officeauto.Verify([]byte("s3cret"), body, req.Header.Get(officeauto.HeaderSignature)); err != nil {
		r.bad++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	id := req.Header.Get(officeauto.HeaderEventID)
	r.got[id]++
	if r.got[id] <= r.failures {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	var ev officeauto.Event
	_ = json.Unmarshal(body, &ev)
	r.accepted = append(r.accepted, ev)
	w.WriteHeader(http.StatusNoContent)
}

// receiving starts rcv as every department's office automation and
// returns the shipped org pointing at it.
func receiving(t *testing.T, rcv *receiver) *org.Org {
	t.Helper()
	srv := httptest.NewServer(rcv)
	t.Cleanup(srv.Close)
	o := Org(t)
	for i := range o.Departments {
		if o.Departments[i].Webhook != nil {
			o.Departments[i].Webhook.URL = srv.URL + "/" + o.Departments[i].Code
		}
	}
	return o
}

func testProcessOutboxWebhooks(t *testing.T, e *Env) {
	rcv := &receiver{failures: 2, got: map[string]int{}}
	o := receiving(t, rcv)
	sender, err := officeauto.NewSender(officeauto.Config{Now: e.Clock.Now, BaseDelay: time.Minute, MaxAttempts: 4})
	if err != nil {
		t.Fatal(err)
	}
	eng, ps := e.Engine(t, func(c *process.Config) {
		c.Org, c.Sender = o, sender
		c.Secret = func(name string) (string, bool) {
			if name == "DARGAH_OA_SECRET_PARKS" {
				return "wrong", true
			}
			return "s3cret", true
		}
	})
	_, c := e.OpenCase(t, Lighting(e.Clock.Now()))
	m := NewMessage(e.Clock.Now())
	m.ServiceCode, m.Location = "green_space", nil
	e.OpenCase(t, m) // parks: signed with the wrong secret → 401 → dead letter
	// Attempt 1 fails (503), the row waits a minute; attempt 2 fails, two
	// minutes; attempt 3 is accepted.
	for i, wait := range []time.Duration{0, time.Minute, 2 * time.Minute} {
		e.Clock.Advance(wait)
		n, err := eng.Deliver(e.Ctx)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 && n != 2 || i > 0 && n != 1 {
			t.Fatalf("pass %d attempted %d", i, n)
		}
		if n, _ := eng.Deliver(e.Ctx); n != 0 {
			t.Fatalf("pass %d: a row was attempted before its retry time", i)
		}
	}
	rcv.mu.Lock()
	if len(rcv.accepted) != 1 || rcv.accepted[0].TrackingCode != c.TrackingCode || rcv.accepted[0].Kind != officeauto.KindAssigned || rcv.bad != 1 {
		t.Fatalf("receiver: accepted %+v bad %d", rcv.accepted, rcv.bad)
	}
	for id, n := range rcv.got {
		if n != 3 {
			t.Fatalf("event %s requested %d times", id, n)
		}
	}
	rcv.mu.Unlock()
	done := outbox(t, e, ps, cases.OutboxDone)
	dead := outbox(t, e, ps, cases.OutboxDead)
	if len(done) != 1 || done[0].Attempts != 3 || done[0].DeliveredAt.IsZero() || len(dead) != 1 || dead[0].Attempts != 1 || dead[0].LastError == "" {
		t.Fatalf("done %+v\ndead %+v", done, dead)
	}
	if err := ps.OutboxRequeue(e.Ctx, done[0].ID, e.Clock.Now()); !errors.Is(err, cases.ErrConflict) {
		t.Fatalf("requeue a done row: %v", err)
	}
	if err := ps.OutboxRequeue(e.Ctx, dead[0].ID, e.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	if len(outbox(t, e, ps, cases.OutboxPending)) != 1 {
		t.Fatal("requeued row is not pending")
	}
	// Settling several rows at once: an unknown one is named, the others
	// are recorded all the same.
	err = ps.OutboxSettle(e.Ctx, cases.OutboxResult{ID: dead[0].ID + 1_000_000, Status: cases.OutboxDone, Attempts: 1},
		cases.OutboxResult{ID: dead[0].ID, Status: cases.OutboxDone, Attempts: 2, NextAt: e.Clock.Now()})
	if !errors.Is(err, cases.ErrNotFound) {
		t.Fatalf("settling an unknown row: %v, want ErrNotFound", err)
	}
	if p, d := outbox(t, e, ps, cases.OutboxPending), outbox(t, e, ps, cases.OutboxDone); len(p) != 0 || len(d) != 2 {
		t.Fatalf("after settling: %d pending, %d done; want 0 and 2", len(p), len(d))
	}
}

// The engine's pass delivers every due row, not one batch: at a busy
// hour cases open faster than one batch per tick would send them to
// office automation. With an hour's tick, only the first pass can deliver.
func testProcessOutboxDrains(t *testing.T, e *Env) {
	rcv := &receiver{got: map[string]int{}}
	o := receiving(t, rcv)
	sender, err := officeauto.NewSender(officeauto.Config{Now: e.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	eng, _ := e.Engine(t, func(c *process.Config) {
		c.Org, c.Sender, c.Tick = o, sender, time.Hour
		c.Secret = func(string) (string, bool) { return "s3cret", true }
	})
	const n = 250 // two and a half claims' worth
	for range n {
		m := NewMessage(e.Clock.Now())
		m.ServiceCode, m.Location = "street_lighting", nil
		e.OpenCase(t, m)
	}
	ctx, cancel := context.WithCancel(e.Ctx)
	done := make(chan struct{})
	go func() { defer close(done); eng.Run(ctx) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(20 * time.Second) // a failure guard, not a speed assertion
	for {
		rcv.mu.Lock()
		got := len(rcv.accepted)
		rcv.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("office automation received %d of %d webhooks in the engine's first pass", got, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A claimed row is no one else's until its lease ends: then a worker that
// died with it is replaced. A settled retry is due at its retry time,
// whatever lease it had.
// testProcessPromptDelivery: what a decision writes to the outbox is
// delivered soon after, not at the next tick (an hour here).
func testProcessPromptDelivery(t *testing.T, e *Env) {
	rcv := &receiver{got: map[string]int{}}
	o := receiving(t, rcv)
	eng, _ := e.Engine(t, func(c *process.Config) {
		c.Org, c.Tick, c.DeliverAfter = o, time.Hour, 20*time.Millisecond
	})
	delivered := func(code string) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			rcv.mu.Lock()
			found := slices.ContainsFunc(rcv.accepted, func(ev officeauto.Event) bool { return ev.TrackingCode == code })
			rcv.mu.Unlock()
			if found {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("case %s: office automation heard nothing", code)
			}
		}
	}
	// Run's first pass, at start, delivers a case opened before it ...
	_, first := e.OpenCase(t, Lighting(e.Clock.Now()))
	ctx, cancel := context.WithCancel(e.Ctx)
	done := make(chan struct{})
	go func() { defer close(done); eng.Run(ctx) }()
	defer func() { cancel(); <-done }()
	delivered(first.TrackingCode)
	// ... and only a prompt pass can deliver the ones opened after it.
	for _, code := range []string{"green_space", "asphalt", "waste_collection"} {
		m := NewMessage(e.Clock.Now())
		m.ServiceCode, m.Location = code, nil
		_, c := e.OpenCase(t, m)
		delivered(c.TrackingCode)
	}
}

func testProcessOutboxLease(t *testing.T, e *Env) {
	_, ps := e.Engine(t, nil)
	e.OpenCase(t, Lighting(e.Clock.Now())) // one "assigned" webhook row
	claim := func(after time.Duration) int {
		t.Helper()
		rows, err := ps.OutboxClaim(e.Ctx, e.Clock.Now().Add(after), time.Minute, 10)
		if err != nil {
			t.Fatal(err)
		}
		return len(rows)
	}
	if n := claim(0); n != 1 {
		t.Fatalf("first claim took %d rows, want the one due", n)
	}
	if n := claim(30 * time.Second); n != 0 {
		t.Fatalf("a claim inside the lease took %d rows", n)
	}
	rows, err := ps.OutboxClaim(e.Ctx, e.Clock.Now().Add(61*time.Second), time.Minute, 10)
	if err != nil || len(rows) != 1 {
		t.Fatalf("after the lease ended: %d rows, %v; want the abandoned row again", len(rows), err)
	}
	retryAt := e.Clock.Now().Add(90 * time.Second) // inside the second lease
	if err := ps.OutboxSettle(e.Ctx, cases.OutboxResult{ID: rows[0].ID, Status: cases.OutboxPending, Attempts: 1, NextAt: retryAt}); err != nil {
		t.Fatal(err)
	}
	if n := claim(89 * time.Second); n != 0 {
		t.Fatalf("a claim before the retry time took %d rows", n)
	}
	if n := claim(90 * time.Second); n != 1 {
		t.Fatalf("a claim at the retry time took %d rows, want the settled row", n)
	}
}

func testProcessOutboxNotices(t *testing.T, e *Env) {
	var mu sync.Mutex
	var got []channels.Notice
	fail := 1
	eng, ps := e.Engine(t, func(c *process.Config) {
		c.Notify = func(_ context.Context, portal string, n channels.Notice) error {
			mu.Lock()
			defer mu.Unlock()
			if portal == "nopush" {
				return process.ErrNoNotifier
			}
			if fail > 0 {
				fail--
				return errors.New("portal down")
			}
			got = append(got, n)
			return nil
		}
	})
	m := Lighting(e.Clock.Now())
	_, c := e.OpenCase(t, m)
	must(t)(eng.Answer(e.Ctx, c.TrackingCode, dept, "انجام شد", nil))
	must(t)(eng.Verify(e.Ctx, c.TrackingCode, staff, ""))
	for range 3 {
		if _, err := eng.Deliver(e.Ctx); err != nil {
			t.Fatal(err)
		}
		e.Clock.Advance(time.Hour)
	}
	mu.Lock()
	defer mu.Unlock()
	var ks []string
	for _, n := range got {
		ks = append(ks, n.Kind)
		if n.TrackingCode != c.TrackingCode || n.Thread != m.ThreadKey || n.Contact.Phone != m.Contact.Phone || n.Language != "fa" {
			t.Fatalf("notice %+v", n)
		}
	}
	slices.Sort(ks)
	if !slices.Equal(ks, []string{"answered", "rating_request"}) {
		t.Fatalf("notices %v", ks)
	}
	if p := outbox(t, e, ps, cases.OutboxPending); len(p) != 1 || p[0].Channel != cases.OutboxWebhook {
		t.Fatalf("pending after delivery: %v", outboxKinds(p))
	}
}

// climbLadder opens a street-lighting case, lets both deadlines pass
// (head → deputy → manager and inspection) and runs three outbox passes an
// hour apart, so that a send that failed once is retried. It returns the
// case as it then stands.
func climbLadder(t *testing.T, e *Env, eng *process.Engine, ps cases.ProcessStore) cases.Case {
	t.Helper()
	_, c := e.OpenCase(t, Lighting(e.Clock.Now()))
	c, _ = state(t, e, ps, c.TrackingCode)
	for range 2 {
		e.Clock.Advance(c.DueAt.Sub(e.Clock.Now()))
		if n, _ := eng.Fire(e.Ctx); n != 1 {
			t.Fatal("deadline did not fire")
		}
		c, _ = state(t, e, ps, c.TrackingCode)
	}
	for range 3 {
		if _, err := eng.Deliver(e.Ctx); err != nil {
			t.Fatal(err)
		}
		e.Clock.Advance(time.Hour)
	}
	return c
}

// failOnce stands in for a sender: it fails the first call with err and
// records the others.
type failOnce[T any] struct {
	err    error
	mu     sync.Mutex
	failed bool
	got    []T
}

func (f *failOnce[T]) send(v T) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.failed {
		f.failed = true
		return f.err
	}
	f.got = append(f.got, v)
	return nil
}

func (f *failOnce[T]) sent() []T {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.got)
}

func testProcessEmail(t *testing.T, e *Env) {
	type mail struct{ to, subject, body string }
	sender := &failOnce[mail]{err: errors.New("smtp: 451 try later")}
	eng, ps := e.Engine(t, func(c *process.Config) {
		c.Email = func(_ context.Context, to, subject, body string) error { return sender.send(mail{to, subject, body}) }
	})
	c := climbLadder(t, e, eng, ps)
	var to []string
	for _, m := range sender.sent() {
		to = append(to, m.to)
		if !strings.Contains(m.body, c.TrackingCode) || m.subject == "" {
			t.Fatalf("mail %+v", m)
		}
	}
	slices.Sort(to)
	want := []string{"civil.manager@mashhad.example", "inspection@mashhad.example", "lighting.deputy@mashhad.example", "lighting.head@mashhad.example"}
	if !slices.Equal(to, want) {
		t.Fatalf("emails to %v, want %v", to, want)
	}
}

// testProcessSMS: officials whose level notifies by sms get a short text
// at assignment and at each escalation; a failed send is retried.
func testProcessSMS(t *testing.T, e *Env) {
	type text struct{ to, body, code string }
	sender := &failOnce[text]{err: errors.New("smpp: throttled")}
	eng, ps := e.Engine(t, func(c *process.Config) {
		c.SMS = func(_ context.Context, to, body, code string) error { return sender.send(text{to, body, code}) }
	})
	c := climbLadder(t, e, eng, ps)
	var to []string
	for _, m := range sender.sent() {
		to = append(to, m.to)
		if !strings.Contains(m.body, c.TrackingCode) || m.code != c.TrackingCode || utf8.RuneCountInString(m.body) > 160 {
			t.Fatalf("text %+v", m)
		}
	}
	slices.Sort(to)
	// org.yaml: the lighting head and deputy, the civil works manager, inspection.
	want := []string{"+985131110003", "+985131150001", "+985131150002", "+985131170001"}
	if !slices.Equal(to, want) {
		t.Fatalf("texts to %v, want %v", to, want)
	}
	if dead := outbox(t, e, ps, cases.OutboxDead); len(dead) != 0 {
		t.Fatalf("dead rows %+v", dead)
	}
}

// Many reports opened at once, as a burst from the portals brings them:
// every case is assigned with its deadline, webhook and timeline, and
// reports of one lamp find one master among themselves — never each
// other — as if they had been opened one by one.
func testProcessConcurrentOpening(t *testing.T, e *Env) {
	_, ps := e.Engine(t, nil)
	now := e.Clock.Now()
	const n, sameLamp = 48, 6
	ms := make([]gateway.Message, n)
	for i := range ms {
		ms[i] = Lighting(now)
		if i >= sameLamp { // the rest far apart: 1 km steps east
			ms[i].Location = &gateway.Location{Lat: 36.2880, Long: 59.6157 + 0.011*float64(i)}
		}
		e.Accept(t, ms[i])
	}
	var wg sync.WaitGroup
	rs := make([]gateway.Receipt, n)
	errs := make([]error, n)
	for i, m := range ms {
		wg.Go(func() {
			rs[i], errs[i] = e.Store.MessageDecide(e.Ctx, m.ID, gateway.Decision{Outcome: gateway.OutcomeCaseOpened,
				Rule: "open-street_lighting", Reply: "{tracking_code}", ServiceCode: "street_lighting"})
		})
	}
	wg.Wait()
	masters := map[string]bool{}
	var dups []string
	for i := range ms {
		if errs[i] != nil {
			t.Fatalf("decide %d: %v", i, errs[i])
		}
		c, st := state(t, e, ps, rs[i].Decision.TrackingCode)
		if c.SourceMessageID != ms[i].ID {
			t.Fatalf("case %d: source %s", i, c.SourceMessageID)
		}
		if i >= sameLamp {
			if st.DuplicateOf != "" || c.Department != "street_lighting" || c.Status != cases.StatusAssigned || c.DueAt.IsZero() {
				t.Fatalf("case %d far from the others: duplicate of %q, status %s, due %v", i, st.DuplicateOf, c.Status, c.DueAt)
			}
			if ks := kinds(t, e, c); !slices.Equal(ks, []string{"opened", "assigned"}) {
				t.Fatalf("case %d timeline %v", i, ks)
			}
			continue
		}
		if st.DuplicateOf == "" {
			masters[c.TrackingCode] = true
		} else {
			dups = append(dups, st.DuplicateOf)
		}
	}
	if len(masters) != 1 || len(dups) != sameLamp-1 {
		t.Fatalf("%d reports of one lamp: masters %v, duplicates of %v; want one master", sameLamp, masters, dups)
	}
	for _, d := range dups {
		if !masters[d] {
			t.Fatalf("duplicate of %s, which is not the master %v", d, masters)
		}
	}
	assigned := 0
	for _, o := range outbox(t, e, ps, cases.OutboxPending) {
		if o.Kind == "assigned" {
			assigned++
		}
	}
	if want := n - (sameLamp - 1); assigned != want {
		t.Fatalf("%d assignment webhooks, want %d (one per case that is not a duplicate)", assigned, want)
	}
}

// Officials acknowledging the same escalation at once: one succeeds, the
// others hear of a conflict, and the timeline shows one acknowledgement.
func testProcessAckOnceConcurrently(t *testing.T, e *Env) {
	eng, ps := e.Engine(t, nil)
	_, c := e.OpenCase(t, Lighting(e.Clock.Now()))
	c, _ = state(t, e, ps, c.TrackingCode)
	e.Clock.Advance(c.DueAt.Sub(e.Clock.Now()))
	if n, err := eng.Fire(e.Ctx); n != 1 || err != nil {
		t.Fatalf("fire: %d, %v", n, err)
	}
	evs, _ := e.Store.CaseEvents(e.Ctx, c.ID, false)
	esc := evs[len(evs)-1]
	if esc.Kind != "escalated" {
		t.Fatalf("last event %s", esc.Kind)
	}
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { _, errs[i] = eng.Ack(e.Ctx, c.TrackingCode, dept, esc.ID) })
	}
	wg.Wait()
	ok := 0
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, cases.ErrConflict) || !strings.Contains(err.Error(), "already acknowledged"):
			t.Fatalf("ack %d: %v, want success or a conflict saying it is already acknowledged", i, err)
		}
	}
	acks := 0
	for _, k := range kinds(t, e, c) {
		if k == "acknowledged" {
			acks++
		}
	}
	if ok != 1 || acks != 1 {
		t.Fatalf("%d acks succeeded and %d were recorded, want 1 and 1", ok, acks)
	}
}
