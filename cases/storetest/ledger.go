package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/gateway"
)

func ledgerTests() []Test {
	return []Test{
		{"MessageAcceptStoresWholeMessage", testAcceptStoresWholeMessage},
		{"MessageAcceptIdempotent", testAcceptIdempotent},
		{"MessageAcceptConcurrent", testAcceptConcurrent},
		{"MessageAcceptIDTaken", testAcceptIDTaken},
		{"MessageAcceptInvalid", testAcceptInvalid},
		{"MessageGetUnknown", testMessageGetUnknown},
		{"MessageDecideResolved", testDecideResolved},
		{"MessageDecideUnknown", testDecideUnknown},
		{"MessageDecideInvalidOutcome", testDecideInvalidOutcome},
		{"MessageDecideOpensCase", testDecideOpensCase},
		{"MessageDecideTwice", testDecideTwice},
		{"MessageDecideConcurrent", testDecideConcurrent},
		{"MessageDecideConcurrentFailures", testDecideConcurrentFailures},
		{"MessageBurst", testMessageBurst},
		{"MessageDecideLinked", testDecideLinked},
		{"MessageDecideLinkedUnknown", testDecideLinkedUnknown},
		{"MessagesUndecided", testMessagesUndecided},
		{"MessageMarkDead", testMarkDead},
	}
}

// equalMessage compares messages, times by Equal (a store may hand back
// another *Location for the same instant).
func equalMessage(t *testing.T, got, want gateway.Message) {
	t.Helper()
	if !got.ReceivedAt.Equal(want.ReceivedAt) {
		t.Errorf("ReceivedAt = %v, want %v", got.ReceivedAt, want.ReceivedAt)
	}
	got.ReceivedAt, want.ReceivedAt = time.Time{}, time.Time{}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("message differs:\n got %+v\nwant %+v", got, want)
	}
}

// equalReceipt compares receipts, times by Equal.
func equalReceipt(t *testing.T, got, want gateway.Receipt) {
	t.Helper()
	if !got.AcceptedAt.Equal(want.AcceptedAt) || !got.DecidedAt.Equal(want.DecidedAt) {
		t.Errorf("receipt times = %v/%v, want %v/%v", got.AcceptedAt, got.DecidedAt, want.AcceptedAt, want.DecidedAt)
	}
	got.AcceptedAt, got.DecidedAt, want.AcceptedAt, want.DecidedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if got != want {
		t.Errorf("receipt differs:\n got %+v\nwant %+v", got, want)
	}
}

func testAcceptStoresWholeMessage(t *testing.T, e *Env) {
	m := NewMessage(e.Clock.Now())
	r, created, err := e.Store.MessageAccept(e.Ctx, m)
	if err != nil || !created {
		t.Fatalf("accept = %v, %v; want created", created, err)
	}
	want := gateway.Receipt{
		MessageID: m.ID, Portal: m.Portal, PortalMessageID: m.PortalMessageID,
		Status: gateway.StatusAccepted, AcceptedAt: e.Clock.Now(),
	}
	equalReceipt(t, r, want)
	got, err := e.Store.MessageGet(e.Ctx, m.ID)
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	equalReceipt(t, got, want)
	got, err = e.Store.MessageGetByPortalID(e.Ctx, m.Portal, m.PortalMessageID)
	if err != nil {
		t.Fatalf("get by portal id: %v", err)
	}
	equalReceipt(t, got, want)

	// The whole message comes back to the sweeper, byte for byte.
	e.Clock.Advance(time.Minute)
	msgs, err := e.Store.MessagesUndecided(e.Ctx, e.Clock.Now(), 10)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("undecided = %d messages, %v; want 1", len(msgs), err)
	}
	equalMessage(t, msgs[0], m)

	// A minimal message (no location, attachments or metadata) too.
	min := gateway.Message{ID: "min-" + randomHex(4), Portal: "sms", PortalKind: "sms",
		PortalMessageID: "1", Text: "سلام", ReceivedAt: e.Clock.Now()}
	e.Accept(t, min)
	e.Clock.Advance(time.Minute)
	msgs, err = e.Store.MessagesUndecided(e.Ctx, e.Clock.Now(), 10)
	if err != nil || len(msgs) != 2 {
		t.Fatalf("undecided = %d messages, %v; want 2", len(msgs), err)
	}
	equalMessage(t, msgs[1], min)
}

func testAcceptIdempotent(t *testing.T, e *Env) {
	m := NewMessage(e.Clock.Now())
	first := e.Accept(t, m)
	e.Clock.Advance(time.Second)

	// The portal redelivers: intake gave it a new id, the key is the same.
	again := m
	again.ID = gateway.NewID(e.Clock.Now())
	again.Text = "changed"
	r, created, err := e.Store.MessageAccept(e.Ctx, again)
	if err != nil || created {
		t.Fatalf("second accept = %v, %v; want not created", created, err)
	}
	equalReceipt(t, r, first)
	if _, err := e.Store.MessageGet(e.Ctx, again.ID); !errors.Is(err, gateway.ErrUnknownMessage) {
		t.Errorf("duplicate's own id was stored: %v", err)
	}

	// The same portal message id on another portal is another message.
	other := m
	other.ID = gateway.NewID(e.Clock.Now())
	other.Portal = "telegram-137"
	if _, created, err := e.Store.MessageAccept(e.Ctx, other); err != nil || !created {
		t.Fatalf("accept on other portal = %v, %v; want created", created, err)
	}
}

func testAcceptConcurrent(t *testing.T, e *Env) {
	base := NewMessage(e.Clock.Now())
	const n = 20
	var wg sync.WaitGroup
	receipts := make([]gateway.Receipt, n)
	createds := make([]bool, n)
	errs := make([]error, n)
	for i := range n {
		m := base
		m.ID = fmt.Sprintf("%s-%02d", base.ID, i)
		wg.Go(func() { receipts[i], createds[i], errs[i] = e.Store.MessageAccept(e.Ctx, m) })
	}
	wg.Wait()
	created := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("accept %d: %v", i, errs[i])
		}
		if createds[i] {
			created++
		}
		if receipts[i].MessageID != receipts[0].MessageID {
			t.Errorf("accept %d returned id %s, accept 0 returned %s", i, receipts[i].MessageID, receipts[0].MessageID)
		}
	}
	if created != 1 {
		t.Errorf("%d accepts created the message, want exactly 1", created)
	}
	msgs, err := e.Store.MessagesUndecided(e.Ctx, e.Clock.Advance(time.Second), 100)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("undecided = %d, %v; want 1", len(msgs), err)
	}
}

func testAcceptIDTaken(t *testing.T, e *Env) {
	m := NewMessage(e.Clock.Now())
	e.Accept(t, m)
	other := NewMessage(e.Clock.Now())
	other.ID = m.ID // a bug upstream; never overwrite the first message
	if _, _, err := e.Store.MessageAccept(e.Ctx, other); !errors.Is(err, cases.ErrConflict) {
		t.Fatalf("accept with a taken id = %v, want ErrConflict", err)
	}
	if _, err := e.Store.MessageGetByPortalID(e.Ctx, other.Portal, other.PortalMessageID); !errors.Is(err, gateway.ErrUnknownMessage) {
		t.Errorf("conflicting message was stored: %v", err)
	}
}

func testAcceptInvalid(t *testing.T, e *Env) {
	for name, edit := range map[string]func(*gateway.Message){
		"no id":                func(m *gateway.Message) { m.ID = "" },
		"no portal":            func(m *gateway.Message) { m.Portal = "" },
		"no portal message id": func(m *gateway.Message) { m.PortalMessageID = "" },
		// PostgreSQL cannot store NUL; no backend accepts it.
		"NUL in text":     func(m *gateway.Message) { m.Text = "a\x00b" },
		"NUL in metadata": func(m *gateway.Message) { m.Metadata = map[string]string{"k": "\x00"} },
		"NUL in name":     func(m *gateway.Message) { m.Contact.Name = "\x00" },
		// JSON would silently turn it into U+FFFD.
		"invalid UTF-8 in portal message id": func(m *gateway.Message) { m.PortalMessageID = "\xff" },
		"invalid UTF-8 in address":           func(m *gateway.Message) { m.Location.Address = "\xc3" },
	} {
		m := NewMessage(e.Clock.Now())
		edit(&m)
		if _, _, err := e.Store.MessageAccept(e.Ctx, m); !errors.Is(err, gateway.ErrInvalid) {
			t.Errorf("accept with %s = %v, want ErrInvalid", name, err)
		}
	}
	if msgs, err := e.Store.MessagesUndecided(e.Ctx, e.Clock.Advance(time.Hour), 10); err != nil || len(msgs) != 0 {
		t.Errorf("invalid messages were stored: %d, %v", len(msgs), err)
	}
}

func testMessageGetUnknown(t *testing.T, e *Env) {
	if _, err := e.Store.MessageGet(e.Ctx, "nope"); !errors.Is(err, gateway.ErrUnknownMessage) {
		t.Errorf("MessageGet(unknown) = %v, want ErrUnknownMessage", err)
	}
	m := NewMessage(e.Clock.Now())
	e.Accept(t, m)
	if _, err := e.Store.MessageGetByPortalID(e.Ctx, m.Portal, "nope"); !errors.Is(err, gateway.ErrUnknownMessage) {
		t.Errorf("MessageGetByPortalID(unknown) = %v, want ErrUnknownMessage", err)
	}
	if _, err := e.Store.MessageGetByPortalID(e.Ctx, "other", m.PortalMessageID); !errors.Is(err, gateway.ErrUnknownMessage) {
		t.Errorf("MessageGetByPortalID(other portal) = %v, want ErrUnknownMessage", err)
	}
}

func testDecideResolved(t *testing.T, e *Env) {
	m := NewMessage(e.Clock.Now())
	accepted := e.Accept(t, m)
	decidedAt := e.Clock.Advance(3 * time.Second)
	d := gateway.Decision{Outcome: gateway.OutcomeResolved, Rule: "faq-hours", Reply: "ساعت کاری ۸ تا ۱۴ {tracking_code}"}
	r, err := e.Store.MessageDecide(e.Ctx, m.ID, d)
	if err != nil {
		t.Fatalf("decide: %v", err)
	}
	want := accepted
	want.Status, want.Decision, want.DecidedAt = gateway.StatusDecided, d, decidedAt
	equalReceipt(t, r, want)
	got, err := e.Store.MessageGet(e.Ctx, m.ID)
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	equalReceipt(t, got, want)
	if cs, err := e.Store.CaseSearch(e.Ctx, cases.Filter{}); err != nil || len(cs) != 0 {
		t.Errorf("a resolved message opened %d cases (%v)", len(cs), err)
	}
	msgs, err := e.Store.MessagesUndecided(e.Ctx, e.Clock.Advance(time.Hour), 10)
	if err != nil || len(msgs) != 0 {
		t.Errorf("undecided after decide = %d, %v; want 0", len(msgs), err)
	}
}

func testDecideUnknown(t *testing.T, e *Env) {
	for _, o := range []gateway.Outcome{gateway.OutcomeResolved, gateway.OutcomeCaseOpened} {
		_, err := e.Store.MessageDecide(e.Ctx, "nope", gateway.Decision{Outcome: o, Rule: "r"})
		if !errors.Is(err, gateway.ErrUnknownMessage) {
			t.Errorf("decide(unknown, %s) = %v, want ErrUnknownMessage", o, err)
		}
	}
}

func testDecideInvalidOutcome(t *testing.T, e *Env) {
	m := NewMessage(e.Clock.Now())
	e.Accept(t, m)
	if _, err := e.Store.MessageDecide(e.Ctx, m.ID, gateway.Decision{Outcome: "maybe", Rule: "r"}); err == nil {
		t.Fatal("decide with an unknown outcome succeeded")
	}
	if r, err := e.Store.MessageGet(e.Ctx, m.ID); err != nil || r.Status != gateway.StatusAccepted {
		t.Errorf("after a rejected decision: %+v, %v; want still accepted", r, err)
	}
}

func testDecideOpensCase(t *testing.T, e *Env) {
	m := NewMessage(e.Clock.Now())
	e.Accept(t, m)
	openedAt := e.Clock.Advance(2 * time.Second)
	d := gateway.Decision{
		Outcome: gateway.OutcomeCaseOpened, Rule: "lighting-report", ServiceCode: "street-light",
		Reply: "درخواست شما ثبت شد. کد پیگیری: {tracking_code} (کد {tracking_code})",
	}
	r, err := e.Store.MessageDecide(e.Ctx, m.ID, d)
	if err != nil {
		t.Fatalf("decide: %v", err)
	}
	code := r.Decision.TrackingCode
	if !cases.ValidTrackingCode(code) {
		t.Fatalf("tracking code %q is not valid", code)
	}
	wantReply := "درخواست شما ثبت شد. کد پیگیری: " + code + " (کد " + code + ")"
	if r.Decision.Reply != wantReply {
		t.Errorf("reply = %q, want %q", r.Decision.Reply, wantReply)
	}
	if r.Status != gateway.StatusDecided || !r.DecidedAt.Equal(openedAt) || r.Decision.Rule != d.Rule ||
		r.Decision.Outcome != d.Outcome || r.Decision.ServiceCode != d.ServiceCode {
		t.Errorf("receipt = %+v", r)
	}
	stored, err := e.Store.MessageGet(e.Ctx, m.ID)
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	equalReceipt(t, stored, r)

	c, err := e.Store.CaseGetByTracking(e.Ctx, code)
	if err != nil {
		t.Fatalf("get case: %v", err)
	}
	want := cases.Case{
		ID: c.ID, TrackingCode: code, Status: cases.StatusOpen, ServiceCode: "street-light",
		Portal: m.Portal, PortalKind: m.PortalKind, SourceMessageID: m.ID, ThreadKey: m.ThreadKey,
		Contact: m.Contact, Description: m.Text, Location: m.Location, Language: m.Language,
		Attachments: []string{m.Attachments[0].ID, m.Attachments[1].ID}, Rule: d.Rule,
		OpenedAt: openedAt, UpdatedAt: openedAt,
	}
	equalCase(t, c, want)

	evs, err := e.Store.CaseEvents(e.Ctx, c.ID, true)
	if err != nil || len(evs) != 1 {
		t.Fatalf("events = %+v, %v; want one", evs, err)
	}
	if ev := evs[0]; ev.Kind != "opened" || !ev.Public || !ev.At.Equal(openedAt) || ev.CaseID != c.ID || ev.ID == 0 {
		t.Errorf("opened event = %+v", ev)
	}

	// Without a service code in the decision the citizen's choice is kept.
	m2 := NewMessage(e.Clock.Now())
	m2.Location, m2.Attachments, m2.ThreadKey = nil, nil, ""
	e.Accept(t, m2)
	r2, err := e.Store.MessageDecide(e.Ctx, m2.ID, gateway.Decision{Outcome: gateway.OutcomeCaseOpened, Rule: "fallback"})
	if err != nil {
		t.Fatalf("decide m2: %v", err)
	}
	c2, err := e.Store.CaseGetByTracking(e.Ctx, r2.Decision.TrackingCode)
	if err != nil {
		t.Fatalf("get case 2: %v", err)
	}
	if c2.ServiceCode != m2.ServiceCode || c2.Location != nil || len(c2.Attachments) != 0 || c2.ID == c.ID || c2.TrackingCode == code {
		t.Errorf("second case = %+v", c2)
	}
}

// equalCase compares cases, times by Equal.
func equalCase(t *testing.T, got, want cases.Case) {
	t.Helper()
	for _, p := range []struct {
		name string
		g, w time.Time
	}{{"DueAt", got.DueAt, want.DueAt}, {"OpenedAt", got.OpenedAt, want.OpenedAt},
		{"UpdatedAt", got.UpdatedAt, want.UpdatedAt}, {"ClosedAt", got.ClosedAt, want.ClosedAt}} {
		if !p.g.Equal(p.w) {
			t.Errorf("case %s = %v, want %v", p.name, p.g, p.w)
		}
	}
	got.DueAt, got.OpenedAt, got.UpdatedAt, got.ClosedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	want.DueAt, want.OpenedAt, want.UpdatedAt, want.ClosedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if len(got.Attachments) == 0 && len(want.Attachments) == 0 {
		got.Attachments, want.Attachments = nil, nil
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("case differs:\n got %+v\nwant %+v", got, want)
	}
}

func testDecideTwice(t *testing.T, e *Env) {
	m := NewMessage(e.Clock.Now())
	first, c := e.OpenCase(t, m)
	e.Clock.Advance(time.Minute)
	for _, d := range []gateway.Decision{
		{Outcome: gateway.OutcomeResolved, Rule: "other", Reply: "x"},
		{Outcome: gateway.OutcomeCaseOpened, Rule: "again", Reply: "{tracking_code}"},
	} {
		r, err := e.Store.MessageDecide(e.Ctx, m.ID, d)
		if err != nil {
			t.Fatalf("redecide: %v", err)
		}
		equalReceipt(t, r, first)
	}
	if cs, err := e.Store.CaseSearch(e.Ctx, cases.Filter{}); err != nil || len(cs) != 1 || cs[0].ID != c.ID {
		t.Errorf("cases after redecide = %d, %v; want the one", len(cs), err)
	}
}

func testDecideConcurrent(t *testing.T, e *Env) {
	m := NewMessage(e.Clock.Now())
	e.Accept(t, m)
	const n = 10
	var wg sync.WaitGroup
	rs := make([]gateway.Receipt, n)
	errs := make([]error, n)
	for i := range n {
		d := gateway.Decision{Outcome: gateway.OutcomeCaseOpened, Rule: fmt.Sprintf("rule-%d", i), Reply: "{tracking_code}"}
		wg.Go(func() { rs[i], errs[i] = e.Store.MessageDecide(e.Ctx, m.ID, d) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("decide %d: %v", i, errs[i])
		}
		equalReceipt(t, rs[i], rs[0])
	}
	cs, err := e.Store.CaseSearch(e.Ctx, cases.Filter{})
	if err != nil || len(cs) != 1 {
		t.Fatalf("%d cases opened (%v), want 1", len(cs), err)
	}
	if cs[0].TrackingCode != rs[0].Decision.TrackingCode || cs[0].Rule != rs[0].Decision.Rule {
		t.Errorf("case %s/%s, decision %s/%s", cs[0].TrackingCode, cs[0].Rule, rs[0].Decision.TrackingCode, rs[0].Decision.Rule)
	}
	if evs, err := e.Store.CaseEvents(e.Ctx, cs[0].ID, false); err != nil || len(evs) != 1 {
		t.Errorf("events = %d, %v; want 1", len(evs), err)
	}
}

// Writes that fail beside writes that succeed, all at once: a store that
// groups writes must undo only the failed ones.
func testDecideConcurrentFailures(t *testing.T, e *Env) {
	const n = 24
	ms := make([]gateway.Message, n)
	for i := range ms {
		ms[i] = NewMessage(e.Clock.Now())
		e.Accept(t, ms[i])
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		d := gateway.Decision{Outcome: gateway.OutcomeCaseOpened, Rule: "r"}
		switch i % 3 {
		case 1:
			d.LinkedTracking = "1234567890" // no such case: fails
		case 2:
			d.Outcome = gateway.OutcomeResolved
		}
		wg.Go(func() { _, errs[i] = e.Store.MessageDecide(e.Ctx, ms[i].ID, d) })
	}
	wg.Wait()
	for i := range n {
		r, err := e.Store.MessageGet(e.Ctx, ms[i].ID)
		if err != nil {
			t.Fatal(err)
		}
		fails := i%3 == 1
		if fails != (errs[i] != nil) || fails != (r.Status == gateway.StatusAccepted) {
			t.Errorf("message %d: decide error %v, status %s", i, errs[i], r.Status)
		}
		if i%3 == 0 && !cases.ValidTrackingCode(r.Decision.TrackingCode) {
			t.Errorf("message %d: tracking code %q", i, r.Decision.TrackingCode)
		}
	}
	if cs, err := e.Store.CaseSearch(e.Ctx, cases.Filter{}); err != nil || len(cs) != n/3 {
		t.Errorf("%d cases, %v; want %d", len(cs), err, n/3)
	}
}

func testDecideLinked(t *testing.T, e *Env) {
	_, c := e.OpenCase(t, NewMessage(e.Clock.Now()))
	at := e.Clock.Advance(time.Hour)
	m := NewMessage(at)
	m.Text = "هنوز درست نشده"
	e.Accept(t, m)
	r, err := e.Store.MessageDecide(e.Ctx, m.ID, gateway.Decision{
		Outcome: gateway.OutcomeCaseOpened, Rule: "thread-reply", LinkedTracking: c.TrackingCode,
		Reply: "پیام شما به درخواست {tracking_code} افزوده شد",
	})
	if err != nil {
		t.Fatalf("decide linked: %v", err)
	}
	if r.Decision.TrackingCode != c.TrackingCode || r.Decision.LinkedTracking != c.TrackingCode ||
		r.Decision.Reply != "پیام شما به درخواست "+c.TrackingCode+" افزوده شد" || r.Status != gateway.StatusDecided {
		t.Errorf("receipt = %+v", r)
	}
	if cs, err := e.Store.CaseSearch(e.Ctx, cases.Filter{}); err != nil || len(cs) != 1 {
		t.Errorf("a linked message opened a case: %d cases, %v", len(cs), err)
	}
	evs, err := e.Store.CaseEvents(e.Ctx, c.ID, true)
	if err != nil || len(evs) != 2 {
		t.Fatalf("events = %+v, %v; want opened and message", evs, err)
	}
	if ev := evs[1]; ev.Kind != "message" || ev.Note != m.Text || !ev.Public || !ev.At.Equal(at) || ev.Data["message_id"] != m.ID {
		t.Errorf("message event = %+v", ev)
	}
	got, err := e.Store.CaseGetByTracking(e.Ctx, c.TrackingCode)
	if err != nil || !got.UpdatedAt.Equal(at) || !got.OpenedAt.Equal(c.OpenedAt) {
		t.Errorf("linked case = %+v, %v; want updated at %v", got, err, at)
	}

	// A resolved decision may name the case too (a status question in the thread).
	m2 := NewMessage(e.Clock.Now())
	e.Accept(t, m2)
	if _, err := e.Store.MessageDecide(e.Ctx, m2.ID, gateway.Decision{
		Outcome: gateway.OutcomeResolved, Rule: "status", LinkedTracking: c.TrackingCode,
	}); err != nil {
		t.Fatalf("decide resolved linked: %v", err)
	}
	if evs, err := e.Store.CaseEvents(e.Ctx, c.ID, true); err != nil || len(evs) != 3 {
		t.Errorf("events = %d, %v; want 3", len(evs), err)
	}
}

func testDecideLinkedUnknown(t *testing.T, e *Env) {
	m := NewMessage(e.Clock.Now())
	e.Accept(t, m)
	_, err := e.Store.MessageDecide(e.Ctx, m.ID, gateway.Decision{
		Outcome: gateway.OutcomeCaseOpened, Rule: "thread-reply", LinkedTracking: "1234567890",
	})
	if !errors.Is(err, cases.ErrNotFound) {
		t.Fatalf("decide linked to unknown case = %v, want ErrNotFound", err)
	}
	if r, err := e.Store.MessageGet(e.Ctx, m.ID); err != nil || r.Status != gateway.StatusAccepted {
		t.Errorf("after a failed decision: %+v, %v; want still accepted", r, err)
	}
}

func testMessagesUndecided(t *testing.T, e *Env) {
	var ids []string
	for i := range 6 {
		m := NewMessage(e.Clock.Now())
		m.Text = fmt.Sprintf("message %d", i)
		e.Accept(t, m)
		ids = append(ids, m.ID)
		e.Clock.Advance(time.Minute)
	}
	// ids[1] decided, ids[2] dead: neither is the sweeper's business.
	if _, err := e.Store.MessageDecide(e.Ctx, ids[1], gateway.Decision{Outcome: gateway.OutcomeResolved, Rule: "r"}); err != nil {
		t.Fatal(err)
	}
	if err := e.Store.MessageMarkDead(e.Ctx, ids[2], "poison"); err != nil {
		t.Fatal(err)
	}
	list := func(before time.Time, limit int) []string {
		t.Helper()
		msgs, err := e.Store.MessagesUndecided(e.Ctx, before, limit)
		if err != nil {
			t.Fatalf("undecided: %v", err)
		}
		var out []string
		for _, m := range msgs {
			out = append(out, m.ID)
		}
		return out
	}
	// Messages were accepted at Epoch+0m … Epoch+5m.
	check := func(got, want []string) {
		t.Helper()
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("undecided = %v, want %v", got, want)
		}
	}
	check(list(Epoch.Add(10*time.Minute), 100), []string{ids[0], ids[3], ids[4], ids[5]})
	check(list(Epoch.Add(4*time.Minute), 100), []string{ids[0], ids[3]}) // strictly older
	check(list(Epoch.Add(10*time.Minute), 2), []string{ids[0], ids[3]})
	check(list(Epoch, 100), nil)
}

func testMarkDead(t *testing.T, e *Env) {
	m := NewMessage(e.Clock.Now())
	e.Accept(t, m)
	if err := e.Store.MessageMarkDead(e.Ctx, m.ID, "router failed 5 times"); err != nil {
		t.Fatalf("mark dead: %v", err)
	}
	r, err := e.Store.MessageGet(e.Ctx, m.ID)
	if err != nil || r.Status != gateway.StatusDead {
		t.Fatalf("after mark dead: %+v, %v; want dead", r, err)
	}
	if err := e.Store.MessageMarkDead(e.Ctx, "nope", "x"); !errors.Is(err, gateway.ErrUnknownMessage) {
		t.Errorf("mark dead unknown = %v, want ErrUnknownMessage", err)
	}
	// An operator replays the dead letter; the decision then sticks.
	r, err = e.Store.MessageDecide(e.Ctx, m.ID, gateway.Decision{Outcome: gateway.OutcomeCaseOpened, Rule: "replay"})
	if err != nil || r.Status != gateway.StatusDecided || !cases.ValidTrackingCode(r.Decision.TrackingCode) {
		t.Fatalf("decide after dead = %+v, %v", r, err)
	}
	// A decided message stays decided: its decision stands.
	if err := e.Store.MessageMarkDead(e.Ctx, m.ID, "late"); err != nil {
		t.Fatalf("mark decided dead: %v", err)
	}
	if got, err := e.Store.MessageGet(e.Ctx, m.ID); err != nil || got.Status != gateway.StatusDecided || got.Decision != r.Decision {
		t.Errorf("decided message after mark dead = %+v, %v", got, err)
	}
}

// A burst of many different messages at once, as a busy portal sends them:
// repeats of portal keys, repeats of decisions, resolved and case-opening
// decisions side by side. A store that writes concurrent calls together
// must still give every caller its own, exact answer.
func testMessageBurst(t *testing.T, e *Env) {
	const n = 120
	ms := make([]gateway.Message, n)
	for i := range ms {
		ms[i] = NewMessage(e.Clock.Now())
		ms[i].Text = fmt.Sprintf("پیام %d", i)
	}
	// Every tenth send repeats an earlier portal key under a fresh id.
	sends := slices.Clone(ms)
	for i := 0; i < n; i += 10 {
		again := ms[i+5]
		again.ID = again.ID + "-again"
		sends = append(sends, again)
	}
	var wg sync.WaitGroup
	acc := make([]gateway.Receipt, len(sends))
	created := make([]bool, len(sends))
	errs := make([]error, len(sends))
	for i, m := range sends {
		wg.Go(func() { acc[i], created[i], errs[i] = e.Store.MessageAccept(e.Ctx, m) })
	}
	wg.Wait()
	// Either of two sends of one portal key may win; exactly one does, and
	// both are told the winner's id. Decisions go to the winners.
	for i := range sends {
		if errs[i] != nil {
			t.Fatalf("accept %d: %v", i, errs[i])
		}
	}
	for k, i := 0, 0; i < n; i++ {
		same := []int{i}
		if i%10 == 5 {
			same = append(same, n+k)
			k++
		}
		winners := 0
		for _, j := range same {
			if created[j] {
				winners++
				ms[i].ID = sends[j].ID
			}
		}
		if winners != 1 {
			t.Fatalf("portal key %d: %d sends created a message, want 1", i, winners)
		}
		for _, j := range same {
			if acc[j].MessageID != ms[i].ID || acc[j].PortalMessageID != ms[i].PortalMessageID {
				t.Fatalf("send %d of portal key %d answered with %+v, want message %s", j, i, acc[j], ms[i].ID)
			}
		}
	}
	// Decide: every third message resolved, the rest open cases; every
	// seventh decided twice at once.
	type call struct {
		i int
		d gateway.Decision
	}
	var calls []call
	for i := range ms {
		d := gateway.Decision{Outcome: gateway.OutcomeCaseOpened, Rule: fmt.Sprintf("rule-%d", i),
			Reply: "کد {tracking_code}", ServiceCode: "asphalt"}
		if i%3 == 0 {
			d = gateway.Decision{Outcome: gateway.OutcomeResolved, Rule: fmt.Sprintf("faq-%d", i), Reply: fmt.Sprintf("پاسخ %d", i)}
		}
		calls = append(calls, call{i, d})
		if i%7 == 0 {
			d.Rule += "-second"
			calls = append(calls, call{i, d})
		}
	}
	got := make([]gateway.Receipt, len(calls))
	errs = make([]error, len(calls))
	for k, c := range calls {
		wg.Go(func() { got[k], errs[k] = e.Store.MessageDecide(e.Ctx, ms[c.i].ID, c.d) })
	}
	wg.Wait()
	byMessage := map[string]gateway.Receipt{}
	for k, c := range calls {
		if errs[k] != nil {
			t.Fatalf("decide %d (message %d): %v", k, c.i, errs[k])
		}
		r := got[k]
		if r.MessageID != ms[c.i].ID || r.Status != gateway.StatusDecided || r.Decision.Outcome != c.d.Outcome {
			t.Fatalf("decide %d (message %d): %+v", k, c.i, r)
		}
		if prev, ok := byMessage[r.MessageID]; ok {
			equalReceipt(t, r, prev) // the second decide gets the first decision
		}
		byMessage[r.MessageID] = r
		stored, err := e.Store.MessageGet(e.Ctx, r.MessageID)
		if err != nil {
			t.Fatal(err)
		}
		equalReceipt(t, r, stored)
		if c.d.Outcome == gateway.OutcomeResolved {
			if r.Decision.TrackingCode != "" || !strings.HasPrefix(r.Decision.Rule, fmt.Sprintf("faq-%d", c.i)) {
				t.Fatalf("resolved %d: %+v", c.i, r.Decision)
			}
			continue
		}
		code := r.Decision.TrackingCode
		if !cases.ValidTrackingCode(code) || r.Decision.Reply != "کد "+code {
			t.Fatalf("opened %d: code %q reply %q", c.i, code, r.Decision.Reply)
		}
		cs, err := e.Store.CaseGetByTracking(e.Ctx, code)
		if err != nil {
			t.Fatal(err)
		}
		if cs.SourceMessageID != ms[c.i].ID || cs.Description != ms[c.i].Text || cs.Rule != r.Decision.Rule || cs.ServiceCode != "asphalt" {
			t.Fatalf("case of message %d: source %s description %q rule %s", c.i, cs.SourceMessageID, cs.Description, cs.Rule)
		}
		if evs, err := e.Store.CaseEvents(e.Ctx, cs.ID, false); err != nil || len(evs) != 1 || evs[0].Kind != "opened" {
			t.Fatalf("case of message %d: events %+v, %v", c.i, evs, err)
		}
	}
	all, err := e.Store.CaseSearch(e.Ctx, cases.Filter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if want := n - (n+2)/3; len(all) != want {
		t.Fatalf("%d cases, want %d (one per case-opening message)", len(all), want)
	}
}
