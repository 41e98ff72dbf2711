package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/gateway"
)

func caseTests() []Test {
	return []Test{
		{"CaseGetByTrackingUnknown", testCaseGetUnknown},
		{"CaseFindOpenByThread", testFindOpenByThread},
		{"CaseEvents", testCaseEvents},
		{"CaseClose", testCaseClose},
		{"CaseSearch", testCaseSearch},
	}
}

func testCaseGetUnknown(t *testing.T, e *Env) {
	for _, code := range []string{"1234567890", "", "not-a-code"} {
		if _, err := e.Store.CaseGetByTracking(e.Ctx, code); !errors.Is(err, cases.ErrNotFound) {
			t.Errorf("CaseGetByTracking(%q) = %v, want ErrNotFound", code, err)
		}
	}
	if _, err := e.Store.CaseEvents(e.Ctx, 987654, false); err != nil {
		t.Errorf("CaseEvents(unknown) = %v, want an empty timeline", err)
	}
}

func testFindOpenByThread(t *testing.T, e *Env) {
	w := e.Writer(t)
	thread := "chat-" + randomHex(4)
	inThread := func(portal string) gateway.Message {
		m := NewMessage(e.Clock.Now())
		m.Portal, m.ThreadKey = portal, thread
		return m
	}
	if _, err := e.Store.CaseFindOpenByThread(e.Ctx, "telegram", thread); !errors.Is(err, cases.ErrNotFound) {
		t.Fatalf("find in empty store = %v, want ErrNotFound", err)
	}
	_, older := e.OpenCase(t, inThread("telegram"))
	e.Clock.Advance(time.Hour)
	_, newer := e.OpenCase(t, inThread("telegram"))
	e.Clock.Advance(time.Hour)
	_, otherPortal := e.OpenCase(t, inThread("bale"))

	got, err := e.Store.CaseFindOpenByThread(e.Ctx, "telegram", thread)
	if err != nil || got.ID != newer.ID {
		t.Fatalf("find = %d, %v; want the newer case %d", got.ID, err, newer.ID)
	}
	equalCase(t, got, newer)
	if got, err := e.Store.CaseFindOpenByThread(e.Ctx, "bale", thread); err != nil || got.ID != otherPortal.ID {
		t.Errorf("find on bale = %d, %v; want %d", got.ID, err, otherPortal.ID)
	}

	// Closed cases are history: the thread's next message opens a new one.
	if err := w.CaseClose(e.Ctx, newer.ID, "resolved", "agent-7"); err != nil {
		t.Fatal(err)
	}
	if got, err := e.Store.CaseFindOpenByThread(e.Ctx, "telegram", thread); err != nil || got.ID != older.ID {
		t.Errorf("find after closing newer = %d, %v; want older %d", got.ID, err, older.ID)
	}
	if err := w.CaseClose(e.Ctx, older.ID, "resolved", "agent-7"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Store.CaseFindOpenByThread(e.Ctx, "telegram", thread); !errors.Is(err, cases.ErrNotFound) {
		t.Errorf("find with all closed = %v, want ErrNotFound", err)
	}
	if _, err := e.Store.CaseFindOpenByThread(e.Ctx, "telegram", ""); !errors.Is(err, cases.ErrNotFound) {
		t.Errorf("find with empty thread = %v, want ErrNotFound", err)
	}
}

func testCaseEvents(t *testing.T, e *Env) {
	w := e.Writer(t)
	_, c := e.OpenCase(t, NewMessage(e.Clock.Now()))
	_, other := e.OpenCase(t, NewMessage(e.Clock.Now()))

	at1 := e.Clock.Advance(time.Minute)
	note, err := w.CaseAddEvent(e.Ctx, c.ID, cases.Event{Kind: "note", Actor: "agent-7", Note: "تماس گرفته شد", Data: map[string]string{"call": "c1"}})
	if err != nil {
		t.Fatalf("add note: %v", err)
	}
	if note.ID == 0 || note.CaseID != c.ID || !note.At.Equal(at1) || note.Public {
		t.Errorf("added event = %+v", note)
	}
	at2 := e.Clock.Advance(time.Minute)
	if _, err := w.CaseAddEvent(e.Ctx, c.ID, cases.Event{Kind: "message", Note: "public", Public: true}); err != nil {
		t.Fatal(err)
	}
	// An event may carry its own time; the timeline is ordered by it.
	if _, err := w.CaseAddEvent(e.Ctx, c.ID, cases.Event{Kind: "late", At: at1.Add(-30 * time.Second), Public: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.CaseAddEvent(e.Ctx, 987654, cases.Event{Kind: "note"}); !errors.Is(err, cases.ErrNotFound) {
		t.Errorf("add event to unknown case = %v, want ErrNotFound", err)
	}

	all, err := e.Store.CaseEvents(e.Ctx, c.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	kinds := func(evs []cases.Event) (out []string) {
		for _, ev := range evs {
			out = append(out, ev.Kind)
		}
		return out
	}
	if got := kinds(all); len(got) != 4 || got[0] != "opened" || got[1] != "late" || got[2] != "note" || got[3] != "message" {
		t.Fatalf("timeline = %v, want opened late note message", got)
	}
	if n := all[2]; n.Actor != "agent-7" || n.Note != "تماس گرفته شد" || n.Data["call"] != "c1" || n.Public || !n.At.Equal(at1) || n.ID != note.ID {
		t.Errorf("note read back = %+v", n)
	}
	if !all[3].At.Equal(at2) {
		t.Errorf("message event at %v, want %v", all[3].At, at2)
	}
	pub, err := e.Store.CaseEvents(e.Ctx, c.ID, true)
	if err != nil {
		t.Fatal(err)
	}
	if got := kinds(pub); len(got) != 3 || got[0] != "opened" || got[1] != "late" || got[2] != "message" {
		t.Errorf("public timeline = %v, want opened late message", got)
	}
	if evs, err := e.Store.CaseEvents(e.Ctx, other.ID, false); err != nil || len(evs) != 1 {
		t.Errorf("other case's timeline = %v, %v; want just opened", kinds(evs), err)
	}
}

func testCaseClose(t *testing.T, e *Env) {
	w := e.Writer(t)
	_, c := e.OpenCase(t, NewMessage(e.Clock.Now()))
	at := e.Clock.Advance(72 * time.Hour)
	if err := w.CaseClose(e.Ctx, c.ID, "resolved", "agent-7"); err != nil {
		t.Fatalf("close: %v", err)
	}
	got, err := e.Store.CaseGetByTracking(e.Ctx, c.TrackingCode)
	if err != nil {
		t.Fatal(err)
	}
	want := c
	want.Status, want.Outcome, want.ClosedAt, want.UpdatedAt = cases.StatusClosed, "resolved", at, at
	equalCase(t, got, want)
	evs, err := e.Store.CaseEvents(e.Ctx, c.ID, true)
	if err != nil || len(evs) != 2 || evs[1].Kind != "closed" || evs[1].Actor != "agent-7" || !evs[1].At.Equal(at) {
		t.Errorf("timeline after close = %+v, %v", evs, err)
	}
	if err := w.CaseClose(e.Ctx, c.ID, "resolved", "agent-7"); !errors.Is(err, cases.ErrConflict) {
		t.Errorf("close twice = %v, want ErrConflict", err)
	}
	if err := w.CaseClose(e.Ctx, 987654, "resolved", "agent-7"); !errors.Is(err, cases.ErrNotFound) {
		t.Errorf("close unknown = %v, want ErrNotFound", err)
	}
}

func testCaseSearch(t *testing.T, e *Env) {
	w := e.Writer(t)
	var cs []cases.Case // cs[i] opened at Epoch + i hours
	for i, svc := range []string{"lighting", "waste", "lighting", "traffic", "lighting"} {
		m := NewMessage(e.Clock.Now())
		m.ServiceCode = svc
		if i%2 == 1 {
			m.Contact.Phone = "+989150000001"
		}
		_, c := e.OpenCase(t, m)
		if !c.OpenedAt.Equal(Epoch.Add(time.Duration(i) * time.Hour)) {
			t.Fatalf("case %d opened at %v", i, c.OpenedAt)
		}
		cs = append(cs, c)
		e.Clock.Advance(time.Hour)
	}
	if err := w.CaseClose(e.Ctx, cs[2].ID, "resolved", "agent"); err != nil {
		t.Fatal(err)
	}
	ids := func(idx ...int) []int64 {
		var out []int64
		for _, i := range idx {
			out = append(out, cs[i].ID)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		f    cases.Filter
		want []int64
	}{
		{"all newest first", cases.Filter{}, ids(4, 3, 2, 1, 0)},
		{"limit", cases.Filter{Limit: 2}, ids(4, 3)},
		{"tracking codes", cases.Filter{TrackingCodes: []string{cs[1].TrackingCode, cs[3].TrackingCode, "1234567890"}}, ids(3, 1)},
		{"service code", cases.Filter{ServiceCode: "lighting"}, ids(4, 2, 0)},
		{"open", cases.Filter{Statuses: []cases.Status{cases.StatusOpen}}, ids(4, 3, 1, 0)},
		{"closed", cases.Filter{Statuses: []cases.Status{cases.StatusClosed}}, ids(2)},
		{"open or closed", cases.Filter{Statuses: []cases.Status{cases.StatusClosed, cases.StatusOpen}}, ids(4, 3, 2, 1, 0)},
		{"assigned", cases.Filter{Statuses: []cases.Status{cases.StatusAssigned}}, nil},
		{"department", cases.Filter{Department: "water"}, nil},
		{"phone", cases.Filter{Phone: "+989150000001"}, ids(3, 1)},
		{"opened from (inclusive)", cases.Filter{OpenedFrom: Epoch.Add(3 * time.Hour)}, ids(4, 3)},
		{"opened to (exclusive)", cases.Filter{OpenedTo: Epoch.Add(2 * time.Hour)}, ids(1, 0)},
		{"range", cases.Filter{OpenedFrom: Epoch.Add(time.Hour), OpenedTo: Epoch.Add(4 * time.Hour)}, ids(3, 2, 1)},
		{"combined", cases.Filter{ServiceCode: "lighting", Statuses: []cases.Status{cases.StatusOpen}, OpenedFrom: Epoch.Add(time.Minute), Limit: 5}, ids(4)},
	} {
		got, err := e.Store.CaseSearch(e.Ctx, tc.f)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		var gotIDs []int64
		for _, c := range got {
			gotIDs = append(gotIDs, c.ID)
		}
		if len(gotIDs) != len(tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, gotIDs, tc.want)
			continue
		}
		for i := range gotIDs {
			if gotIDs[i] != tc.want[i] {
				t.Errorf("%s: got %v, want %v", tc.name, gotIDs, tc.want)
				break
			}
		}
	}
	// Search returns whole cases.
	got, err := e.Store.CaseSearch(e.Ctx, cases.Filter{TrackingCodes: []string{cs[0].TrackingCode}})
	if err != nil || len(got) != 1 {
		t.Fatalf("search one = %d, %v", len(got), err)
	}
	equalCase(t, got[0], cs[0])
}
