// Package storetest is the conformance suite every cases.Store passes.
// A store's own test file is one call:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T, now func() time.Time) cases.Store { … })
//	}
//
// New behaviour goes here, so every backend gets it: write a
// func(t *testing.T, e *Env) in the file of its area (ledger.go, case.go,
// store.go, or a new one such as lifecycle.go) and list it in that area's
// table, which Run collects in groups. Env carries a manual Clock, so a
// test jumps past a 72-hour deadline with e.Clock.Advance.
//
// Besides Run: TrackingCollision checks a store's retry on a taken
// tracking code (the store's test file swaps in a generator), and
// BenchAcceptDecide is the shared throughput benchmark.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"testing"
	"time"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/gateway"
)

// OpenFunc returns a fresh, migrated store that no other test shares,
// reading time from now. The store is closed by the suite.
type OpenFunc func(t *testing.T, now func() time.Time) cases.Store

// CaseWriter holds the case verbs the suite needs before the case
// lifecycle lands in cases.Store: a staff note (to check publicOnly) and
// closing a case (to check that closed cases are ignored). Both stores
// implement it; a store that does not fails the tests that need it.
type CaseWriter interface {
	// CaseAddEvent appends ev to the timeline of case caseID (At defaults
	// to the store's clock) and returns it with ID and At set. An unknown
	// case is ErrNotFound.
	CaseAddEvent(ctx context.Context, caseID int64, ev cases.Event) (cases.Event, error)
	// CaseClose closes case caseID with outcome and a public "closed"
	// event by actor, in one transaction. An unknown case is ErrNotFound;
	// closing a closed case is ErrConflict.
	CaseClose(ctx context.Context, caseID int64, outcome, actor string) error
}

// Test is one conformance check. It owns its Env, so it runs in parallel.
type Test struct {
	Name string
	Run  func(t *testing.T, e *Env)
}

// groups lists every area's table; a new area adds its table here.
func groups() []func() []Test {
	return []func() []Test{ledgerTests, caseTests, attachmentTests, kvTests, migrateTests, statsTests, processTests}
}

// Run runs the whole suite, each test on its own store and clock.
func Run(t *testing.T, open OpenFunc) {
	for _, g := range groups() {
		for _, tc := range g() {
			t.Run(tc.Name, func(t *testing.T) {
				t.Parallel()
				tc.Run(t, NewEnv(t, open))
			})
		}
	}
}

// Env is what one test gets: a fresh store and the clock it reads.
type Env struct {
	Store cases.Store
	Clock *Clock
	Ctx   context.Context
}

// NewEnv opens a store on a fresh Clock and closes it when t ends.
func NewEnv(t *testing.T, open OpenFunc) *Env {
	t.Helper()
	c := NewClock(Epoch)
	s := open(t, c.Now)
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return &Env{Store: s, Clock: c, Ctx: t.Context()}
}

// Writer returns the store as a CaseWriter or fails the test.
func (e *Env) Writer(t *testing.T) CaseWriter {
	t.Helper()
	w, ok := e.Store.(CaseWriter)
	if !ok {
		t.Fatalf("%T does not implement storetest.CaseWriter", e.Store)
	}
	return w
}

// Epoch is where every test clock starts: Nowruz 1405, in Mashhad's day.
var Epoch = time.Date(2026, 3, 20, 8, 0, 0, 0, time.UTC)

// Clock is a manual clock. Times stay on whole milliseconds because
// PostgreSQL keeps microseconds, so what a store returns compares Equal.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock stopped at start.
func NewClock(start time.Time) *Clock { return &Clock{now: start.UTC().Truncate(time.Millisecond)} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d (rounded to milliseconds) and
// returns the new time.
func (c *Clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d.Round(time.Millisecond))
	return c.now
}

// NewMessage returns a valid message with every field set and a unique
// id and portal message id; edit what a test needs.
func NewMessage(now time.Time) gateway.Message {
	id := randomHex(8)
	return gateway.Message{
		ID:              gateway.NewID(now),
		Portal:          "web",
		PortalKind:      "webform",
		PortalMessageID: "pm-" + id,
		Contact: gateway.Contact{
			Phone:      "+989121234567",
			TelegramID: "42",
			Email:      "citizen@example.ir",
			Name:       "زهرا احمدی",
			Language:   "fa",
		},
		ThreadKey:      "thread-" + id,
		Text:           "چراغ خیابان امام رضا ۱۲ خاموش است",
		NormalizedText: "چراغ خیابان امام رضا 12 خاموش است",
		Attachments: []gateway.Attachment{
			{ID: "att-" + id, ContentType: "image/jpeg", Filename: "lamp.jpg", Size: 1234},
			{ID: "att2-" + id, ContentType: "image/png", Size: 10},
		},
		Location:    &gateway.Location{Lat: 36.2972, Long: 59.6067, Address: "خیابان امام رضا"},
		ServiceCode: "lighting",
		Language:    "fa",
		ReceivedAt:  now.Add(-time.Second),
		Metadata:    map[string]string{"ip": "192.0.2.1", "ua": "test"},
	}
}

// Accept stores m and fails the test on error.
func (e *Env) Accept(t *testing.T, m gateway.Message) gateway.Receipt {
	t.Helper()
	r, _, err := e.Store.MessageAccept(e.Ctx, m)
	if err != nil {
		t.Fatalf("accept %s: %v", m.ID, err)
	}
	return r
}

// OpenCase accepts m and decides it with OutcomeCaseOpened, returning the
// receipt and the case it opened.
func (e *Env) OpenCase(t *testing.T, m gateway.Message) (gateway.Receipt, cases.Case) {
	t.Helper()
	e.Accept(t, m)
	r, err := e.Store.MessageDecide(e.Ctx, m.ID, gateway.Decision{
		Outcome:     gateway.OutcomeCaseOpened,
		Rule:        "open-" + m.ServiceCode,
		Reply:       "کد پیگیری: {tracking_code}",
		ServiceCode: m.ServiceCode,
	})
	if err != nil {
		t.Fatalf("decide %s: %v", m.ID, err)
	}
	c, err := e.Store.CaseGetByTracking(e.Ctx, r.Decision.TrackingCode)
	if err != nil {
		t.Fatalf("get case %q: %v", r.Decision.TrackingCode, err)
	}
	return r, c
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
