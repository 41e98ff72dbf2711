// Package streamtest is the conformance suite every gateway.Stream
// implementation runs against a real backend. New stream behaviour is
// specified here first, so every backend gets it.
//
// An implementation's test file is one call:
//
//	func TestStream(t *testing.T) { streamtest.Run(t, open) }
//
// where open prepares fresh, isolated storage for one subtest and returns a
// function that opens a new handle on that same storage each time it is
// called. The suite closes every handle it opens. A backend that can report
// its length implements Lengther, so the suite can check MaxLen trimming.
//
// Bench measures publish+consume throughput the same way for every backend:
//
//	func BenchmarkStream(b *testing.B) { streamtest.Bench(b, openForBench) }
//
// Beyond the interface's doc comments, the suite pins down behaviour the
// workers rely on: a group created after messages were published still gets
// them; a replayed dead letter goes only to the group that dead-lettered it;
// a consumer whose lease ran out cannot dead-letter or retry a delivery
// another consumer now owns; a handler that returns because its context was
// cancelled is neither acknowledged nor counted as a failure; a panicking
// handler is a failed attempt; trimming never removes an entry some group
// has not acknowledged.
package streamtest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dargah137/dargah/gateway"
)

// Opener prepares fresh isolated storage for one (sub)test configured with
// opts and returns a function that opens a NEW handle on that same storage
// each time it is called; two handles behave like two processes (or a
// restarted one). Failures should be reported with t.Fatal.
type Opener func(t *testing.T, opts gateway.StreamOptions) func() gateway.Stream

// Lengther is implemented by streams that can report how many entries they
// retain; the suite uses it to check MaxLen trimming.
type Lengther interface {
	Len(ctx context.Context) (int64, error)
}

// waitLimit bounds every wait in the suite. It is a failure guard, not a
// speed assertion: a correct backend finishes each step in milliseconds.
const waitLimit = 20 * time.Second

// Options used by the suite: short delays keep each subtest fast.
var baseOptions = gateway.StreamOptions{
	MaxAttempts:  3,
	RetryDelay:   100 * time.Millisecond,
	ClaimTimeout: 250 * time.Millisecond,
}

// Run runs the whole conformance suite against the backend open creates.
func Run(t *testing.T, open Opener) {
	t.Run("RoundTrip", func(t *testing.T) { t.Parallel(); testRoundTrip(t, open) })
	t.Run("AckedNotRedelivered", func(t *testing.T) { t.Parallel(); testAckedNotRedelivered(t, open) })
	t.Run("SharedWork", func(t *testing.T) { t.Parallel(); testSharedWork(t, open) })
	t.Run("TwoGroups", func(t *testing.T) { t.Parallel(); testTwoGroups(t, open) })
	t.Run("Retry", func(t *testing.T) { t.Parallel(); testRetry(t, open) })
	t.Run("RetryDelayLongerThanClaimTimeout", func(t *testing.T) { t.Parallel(); testLongRetryDelay(t, open) })
	t.Run("HandlerPanic", func(t *testing.T) { t.Parallel(); testHandlerPanic(t, open) })
	t.Run("Closed", func(t *testing.T) { t.Parallel(); testClosed(t, open) })
	t.Run("DeadLetterAfterMaxAttempts", func(t *testing.T) { t.Parallel(); testDeadLetterAfterMax(t, open) })
	t.Run("PermanentAndReplay", func(t *testing.T) { t.Parallel(); testPermanentAndReplay(t, open) })
	t.Run("ReplayOnlyToFailedGroup", func(t *testing.T) { t.Parallel(); testReplayOnlyToFailedGroup(t, open) })
	t.Run("ReplayUnknown", func(t *testing.T) { t.Parallel(); testReplayUnknown(t, open) })
	t.Run("CrashedConsumerHung", func(t *testing.T) { t.Parallel(); testCrash(t, open, false) })
	t.Run("CrashedConsumerClosed", func(t *testing.T) { t.Parallel(); testCrash(t, open, true) })
	t.Run("StaleOutcomeIgnored", func(t *testing.T) { t.Parallel(); testStaleOutcome(t, open) })
	t.Run("PoisonDeadLettered", func(t *testing.T) { t.Parallel(); testPoison(t, open) })
	t.Run("Durable", func(t *testing.T) { t.Parallel(); testDurable(t, open) })
	t.Run("ConsumeCancel", func(t *testing.T) { t.Parallel(); testConsumeCancel(t, open) })
	t.Run("FailureDuringShutdown", func(t *testing.T) { t.Parallel(); testFailureDuringShutdown(t, open) })
	t.Run("PublishCancelled", func(t *testing.T) { t.Parallel(); testPublishCancelled(t, open) })
	t.Run("MaxLenKeepsPending", func(t *testing.T) { t.Parallel(); testMaxLen(t, open, true) })
	t.Run("MaxLenKeepsUndelivered", func(t *testing.T) { t.Parallel(); testMaxLen(t, open, false) })
}

// ---- helpers ----

// handle opens a handle and closes it when the test ends (or earlier, once,
// through the returned close func).
func handle(t *testing.T, open func() gateway.Stream) (gateway.Stream, func()) {
	t.Helper()
	s := open()
	var once sync.Once
	closeFn := func() {
		once.Do(func() {
			if err := s.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
		})
	}
	t.Cleanup(closeFn)
	return s, closeFn
}

// consumer is one running Consume call.
type consumer struct {
	cancel context.CancelFunc
	done   chan struct{} // closed when Consume returned
	err    error         // what it returned, valid after done
}

// stop cancels the consumer and checks that Consume returned ctx's error.
func (c *consumer) stop(t *testing.T) {
	t.Helper()
	c.cancel()
	select {
	case <-c.done:
		if !errors.Is(c.err, context.Canceled) {
			t.Errorf("Consume returned %v after cancel, want context.Canceled", c.err)
		}
	case <-time.After(waitLimit):
		t.Fatalf("Consume did not return within %s after its context was cancelled", waitLimit)
	}
}

// consume starts s.Consume in a goroutine; it is stopped when the test ends.
func consume(t *testing.T, s gateway.Stream, group, name string, h gateway.Handler) *consumer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c := &consumer{cancel: cancel, done: make(chan struct{})}
	go func() {
		c.err = s.Consume(ctx, group, name, h)
		close(c.done)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-c.done:
		case <-time.After(waitLimit):
			t.Errorf("consumer %s/%s did not stop", group, name)
		}
	})
	return c
}

func publish(t *testing.T, s gateway.Stream, msgs ...gateway.Message) {
	t.Helper()
	for _, m := range msgs {
		if err := s.Publish(context.Background(), m); err != nil {
			t.Fatalf("publish %s: %v", m.ID, err)
		}
	}
}

var seq atomic.Int64

// message builds a fully populated message with a unique id.
func message(tag string) gateway.Message {
	n := seq.Add(1)
	id := fmt.Sprintf("%s-%06d", tag, n)
	return gateway.Message{
		ID:              id,
		Portal:          "telegram-137",
		PortalKind:      "telegram",
		PortalMessageID: "tg-" + strconv.FormatInt(n, 10),
		Contact: gateway.Contact{
			Phone: "+989121234567", TelegramID: "12345", Email: "citizen@example.ir",
			Name: "شهروند", Language: "fa",
		},
		ThreadKey:      "chat:12345",
		Text:           "چراغ خیابان  خاموش است ۱۳۷",
		NormalizedText: "چراغ خیابان خاموش است 137",
		Attachments: []gateway.Attachment{
			{ID: "att-1", ContentType: "image/jpeg", Filename: "عکس.jpg", Size: 123456},
			{ID: "att-2", ContentType: "audio/ogg", Size: 42},
		},
		Location:    &gateway.Location{Lat: 36.2972, Long: 59.6067, Address: "مشهد، بلوار وکیل‌آباد"},
		ServiceCode: "street-light",
		Language:    "fa",
		ReceivedAt:  time.Date(2026, 11, 27, 9, 30, 15, 123456789, time.UTC),
		Metadata:    map[string]string{"chat_type": "private", "emoji": "🚦", "empty": ""},
	}
}

// sameMessage compares messages by value; times by instant, since a
// backend may hand them back in another location.
func sameMessage(a, b gateway.Message) bool {
	if !a.ReceivedAt.Equal(b.ReceivedAt) {
		return false
	}
	a.ReceivedAt, b.ReceivedAt = time.Time{}, time.Time{}
	return reflect.DeepEqual(a, b)
}

func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitLimit):
		t.Fatalf("timed out after %s waiting for %s", waitLimit, what)
		panic("unreachable")
	}
}

// until polls cond (a wait, not an assertion) until it holds.
func until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", waitLimit, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

const barrierKey = "streamtest-barrier"

// barriers lets a test prove that nothing more is coming: a barrier message
// fails its first attempt and succeeds on the second, so by the time every
// group completed it at least one RetryDelay has passed after everything
// published before it, and anything that was going to be redelivered sooner
// has been.
type barriers struct {
	groups []string
	mu     sync.Mutex
	open   map[string]*barrier
}

type barrier struct {
	left map[string]bool
	done chan struct{}
}

// newBarriers serves consumers of the given groups; pass waits for all.
func newBarriers(groups ...string) *barriers {
	return &barriers{groups: groups, open: map[string]*barrier{}}
}

// wrap returns a handler for group that consumes barrier messages and passes
// the rest to h.
func (b *barriers) wrap(group string, h gateway.Handler) gateway.Handler {
	return func(ctx context.Context, d gateway.Delivery) error {
		id, ok := d.Message.Metadata[barrierKey]
		if !ok {
			return h(ctx, d)
		}
		if d.Attempt == 1 {
			return errors.New("barrier: first attempt fails on purpose")
		}
		b.mu.Lock()
		defer b.mu.Unlock()
		if br := b.open[id]; br != nil && br.left[group] {
			delete(br.left, group)
			if len(br.left) == 0 {
				close(br.done)
			}
		}
		return nil
	}
}

// pass publishes a barrier and waits until every group handled it.
func (b *barriers) pass(t *testing.T, s gateway.Stream) {
	t.Helper()
	m := message("barrier")
	m.Metadata = map[string]string{barrierKey: m.ID}
	br := &barrier{left: map[string]bool{}, done: make(chan struct{})}
	for _, g := range b.groups {
		br.left[g] = true
	}
	b.mu.Lock()
	b.open[m.ID] = br
	b.mu.Unlock()
	publish(t, s, m)
	recv(t, br.done, "barrier message")
}

func deadLetters(t *testing.T, s gateway.Stream) []gateway.DeadLetter {
	t.Helper()
	dl, err := s.DeadLetters(context.Background(), 100)
	if err != nil {
		t.Fatalf("dead letters: %v", err)
	}
	return dl
}

func findDead(dls []gateway.DeadLetter, msgID string) (gateway.DeadLetter, bool) {
	for _, d := range dls {
		if d.Message.ID == msgID {
			return d, true
		}
	}
	return gateway.DeadLetter{}, false
}

// ---- subtests ----

func testRoundTrip(t *testing.T, open Opener) {
	s, _ := handle(t, open(t, baseOptions))
	m := message("round")
	publish(t, s, m)
	got := make(chan gateway.Delivery, 10)
	consume(t, s, "router", "c1", func(ctx context.Context, d gateway.Delivery) error {
		got <- d
		return nil
	})
	d := recv(t, got, "the published message")
	if d.Attempt != 1 {
		t.Errorf("first delivery has Attempt %d, want 1", d.Attempt)
	}
	if !sameMessage(d.Message, m) {
		t.Errorf("message changed in transit:\n got %+v\nwant %+v", d.Message, m)
	}
	if d.Message.Location == nil || d.Message.Location.Address != m.Location.Address {
		t.Errorf("location lost: %+v", d.Message.Location)
	}
}

func testAckedNotRedelivered(t *testing.T, open Opener) {
	opts := baseOptions
	// RetryDelay >= ClaimTimeout: the barrier then also outlasts the lease
	// an unrecorded acknowledgement would have left behind.
	opts.RetryDelay, opts.ClaimTimeout = 250*time.Millisecond, 250*time.Millisecond
	open1 := open(t, opts)
	s, closeS := handle(t, open1)
	var want []gateway.Message
	for range 5 {
		want = append(want, message("acked"))
	}
	publish(t, s, want...)

	var mu sync.Mutex
	count := map[string]int{}
	all := make(chan struct{})
	b := newBarriers("router")
	h := b.wrap("router", func(ctx context.Context, d gateway.Delivery) error {
		mu.Lock()
		defer mu.Unlock()
		count[d.Message.ID]++
		if len(count) == len(want) && count[d.Message.ID] == 1 {
			close(all)
		}
		return nil
	})
	c := consume(t, s, "router", "c1", h)
	recv(t, all, "all messages")
	b.pass(t, s)
	c.stop(t)
	closeS()

	// Reopen: an acknowledged message stays acknowledged.
	s2, _ := handle(t, open1)
	consume(t, s2, "router", "c2", h)
	b.pass(t, s2)
	mu.Lock()
	defer mu.Unlock()
	for _, m := range want {
		if count[m.ID] != 1 {
			t.Errorf("message %s handled %d times, want 1", m.ID, count[m.ID])
		}
	}
}

func testSharedWork(t *testing.T, open Opener) {
	opts := baseOptions
	// Leases must not expire while the test runs on a loaded machine: this
	// test is about sharing, not about crashed consumers.
	opts.ClaimTimeout = time.Minute
	open1 := open(t, opts)
	s1, _ := handle(t, open1)
	s2, _ := handle(t, open1)
	const n = 500
	var mu sync.Mutex
	count := map[string]int{}
	byConsumer := map[string]int{}
	all := make(chan struct{})
	b := newBarriers("router")
	h := func(name string) gateway.Handler {
		return b.wrap("router", func(ctx context.Context, d gateway.Delivery) error {
			mu.Lock()
			defer mu.Unlock()
			count[d.Message.ID]++
			byConsumer[name]++
			if d.Attempt != 1 {
				t.Errorf("message %s delivered with Attempt %d though every handler succeeded", d.Message.ID, d.Attempt)
			}
			if len(count) == n && count[d.Message.ID] == 1 {
				close(all)
			}
			return nil
		})
	}
	consume(t, s1, "router", "a1", h("a1"))
	consume(t, s1, "router", "a2", h("a2"))
	consume(t, s2, "router", "b1", h("b1"))
	consume(t, s2, "router", "b2", h("b2"))
	var ids []string
	var wg sync.WaitGroup
	for p, s := range []gateway.Stream{s1, s2} {
		var msgs []gateway.Message
		for range n / 2 {
			m := message("shared" + strconv.Itoa(p))
			msgs = append(msgs, m)
			ids = append(ids, m.ID)
		}
		wg.Go(func() { publish(t, s, msgs...) })
	}
	wg.Wait()
	recv(t, all, "all 500 messages")
	b.pass(t, s1)
	mu.Lock()
	defer mu.Unlock()
	for _, id := range ids {
		if count[id] != 1 {
			t.Errorf("message %s handled %d times, want exactly once", id, count[id])
		}
	}
	t.Logf("work per consumer: %v", byConsumer)
}

func testTwoGroups(t *testing.T, open Opener) {
	s, _ := handle(t, open(t, baseOptions))
	const n = 20
	type key struct{ group, id string }
	var mu sync.Mutex
	count := map[key]int{}
	done := map[string]chan struct{}{"router": make(chan struct{}), "archive": make(chan struct{})}
	seen := map[string]int{}
	b := newBarriers("router", "archive")
	h := func(group string) gateway.Handler {
		return b.wrap(group, func(ctx context.Context, d gateway.Delivery) error {
			mu.Lock()
			defer mu.Unlock()
			k := key{group, d.Message.ID}
			count[k]++
			if count[k] == 1 {
				seen[group]++
				if seen[group] == n {
					close(done[group])
				}
			}
			return nil
		})
	}
	var msgs []gateway.Message
	for range n {
		msgs = append(msgs, message("groups"))
	}
	// Half before the groups exist, half after: a group gets both.
	publish(t, s, msgs[:n/2]...)
	consume(t, s, "router", "r1", h("router"))
	consume(t, s, "archive", "a1", h("archive"))
	publish(t, s, msgs[n/2:]...)
	recv(t, done["router"], "router group to get every message")
	recv(t, done["archive"], "archive group to get every message")
	b.pass(t, s) // handled by one of the groups; the other gets it too
	mu.Lock()
	defer mu.Unlock()
	for _, g := range []string{"router", "archive"} {
		for _, m := range msgs {
			if c := count[key{g, m.ID}]; c != 1 {
				t.Errorf("group %s handled %s %d times, want 1", g, m.ID, c)
			}
		}
	}
}

func testRetry(t *testing.T, open Opener) {
	opts := baseOptions
	opts.MaxAttempts = 5
	s, _ := handle(t, open(t, opts))
	m := message("retry")
	type attempt struct {
		n  int
		at time.Time
	}
	got := make(chan attempt, 10)
	consume(t, s, "router", "c1", func(ctx context.Context, d gateway.Delivery) error {
		got <- attempt{d.Attempt, time.Now()}
		if d.Attempt < 3 {
			return fmt.Errorf("database busy (attempt %d)", d.Attempt)
		}
		return nil
	})
	publish(t, s, m)
	var prev time.Time
	for want := 1; want <= 3; want++ {
		a := recv(t, got, fmt.Sprintf("attempt %d", want))
		if a.n != want {
			t.Fatalf("delivery has Attempt %d, want %d", a.n, want)
		}
		// A lower bound only: the retry must not come before RetryDelay.
		// (A little slack for clock granularity between processes.)
		if want > 1 && a.at.Sub(prev) < opts.RetryDelay-10*time.Millisecond {
			t.Errorf("attempt %d came %s after the failure, before RetryDelay %s", want, a.at.Sub(prev), opts.RetryDelay)
		}
		prev = a.at
	}
	if dl := deadLetters(t, s); len(dl) != 0 {
		t.Errorf("dead letters after a successful retry: %+v", dl)
	}
}

// testLongRetryDelay: a retry delay longer than the claim timeout is still
// honoured (a backend must not mistake a failed message for an abandoned one).
func testLongRetryDelay(t *testing.T, open Opener) {
	opts := baseOptions
	opts.RetryDelay, opts.ClaimTimeout = 400*time.Millisecond, 100*time.Millisecond
	s, _ := handle(t, open(t, opts))
	type attempt struct {
		n  int
		at time.Time
	}
	got := make(chan attempt, 10)
	consume(t, s, "router", "c1", func(ctx context.Context, d gateway.Delivery) error {
		got <- attempt{d.Attempt, time.Now()}
		if d.Attempt == 1 {
			return errors.New("try later")
		}
		return nil
	})
	publish(t, s, message("long-retry"))
	first := recv(t, got, "attempt 1")
	second := recv(t, got, "attempt 2")
	if second.n != 2 {
		t.Errorf("second delivery has Attempt %d, want 2", second.n)
	}
	if gap := second.at.Sub(first.at); gap < opts.RetryDelay-10*time.Millisecond {
		t.Errorf("retry came %s after the failure, before RetryDelay %s", gap, opts.RetryDelay)
	}
}

// testHandlerPanic: a panicking handler is a failed attempt, not a dead
// consumer.
func testHandlerPanic(t *testing.T, open Opener) {
	s, _ := handle(t, open(t, baseOptions))
	got := make(chan int, 10)
	consume(t, s, "router", "c1", func(ctx context.Context, d gateway.Delivery) error {
		got <- d.Attempt
		if d.Attempt == 1 {
			panic("bug in a rule")
		}
		return nil
	})
	publish(t, s, message("panic"))
	recv(t, got, "attempt 1")
	if n := recv(t, got, "attempt 2 after the panic"); n != 2 {
		t.Errorf("after a panic got Attempt %d, want 2", n)
	}
}

// testClosed: a closed handle refuses work instead of losing it silently.
func testClosed(t *testing.T, open Opener) {
	s, closeS := handle(t, open(t, baseOptions))
	closeS()
	if err := s.Publish(context.Background(), message("closed")); err == nil {
		t.Error("Publish on a closed stream returned nil")
	}
	if err := s.Consume(context.Background(), "router", "c1", func(context.Context, gateway.Delivery) error { return nil }); err == nil {
		t.Error("Consume on a closed stream returned nil")
	}
}

func testDeadLetterAfterMax(t *testing.T, open Opener) {
	s, _ := handle(t, open(t, baseOptions))
	m := message("dead")
	var mu sync.Mutex
	attempts := []int{}
	third := make(chan struct{})
	b := newBarriers("router")
	consume(t, s, "router", "c1", b.wrap("router", func(ctx context.Context, d gateway.Delivery) error {
		mu.Lock()
		attempts = append(attempts, d.Attempt)
		if len(attempts) == baseOptions.MaxAttempts {
			close(third)
		}
		mu.Unlock()
		return errors.New("router rule table is broken")
	}))
	publish(t, s, m)
	recv(t, third, "MaxAttempts deliveries")
	var dl gateway.DeadLetter
	until(t, "the message in DeadLetters", func() bool {
		var ok bool
		dl, ok = findDead(deadLetters(t, s), m.ID)
		return ok
	})
	if dl.ID == "" {
		t.Error("dead letter has no ID")
	}
	if !strings.Contains(dl.Reason, "router rule table is broken") {
		t.Errorf("dead letter reason %q does not carry the handler error", dl.Reason)
	}
	if dl.Attempts != baseOptions.MaxAttempts {
		t.Errorf("dead letter Attempts %d, want %d", dl.Attempts, baseOptions.MaxAttempts)
	}
	if dl.FailedAt.IsZero() {
		t.Error("dead letter FailedAt is zero")
	}
	if !sameMessage(dl.Message, m) {
		t.Errorf("dead letter message changed:\n got %+v\nwant %+v", dl.Message, m)
	}
	b.pass(t, s)
	mu.Lock()
	defer mu.Unlock()
	if want := []int{1, 2, 3}; !reflect.DeepEqual(attempts, want) {
		t.Errorf("attempts %v, want %v and nothing after dead-lettering", attempts, want)
	}
}

func testPermanentAndReplay(t *testing.T, open Opener) {
	s, _ := handle(t, open(t, baseOptions))
	m1, m2 := message("perm"), message("perm")
	var replayed atomic.Bool
	got := make(chan gateway.Delivery, 10)
	b := newBarriers("router")
	consume(t, s, "router", "c1", b.wrap("router", func(ctx context.Context, d gateway.Delivery) error {
		got <- d
		if replayed.Load() && d.Message.ID == m1.ID {
			return nil
		}
		return gateway.Permanent(fmt.Errorf("message %s has no text we can route", d.Message.ID))
	}))
	publish(t, s, m1)
	if d := recv(t, got, "m1"); d.Message.ID != m1.ID || d.Attempt != 1 {
		t.Fatalf("got %s attempt %d, want %s attempt 1", d.Message.ID, d.Attempt, m1.ID)
	}
	until(t, "m1 dead-lettered", func() bool { _, ok := findDead(deadLetters(t, s), m1.ID); return ok })
	publish(t, s, m2)
	if d := recv(t, got, "m2"); d.Message.ID != m2.ID || d.Attempt != 1 {
		t.Fatalf("got %s attempt %d, want %s attempt 1", d.Message.ID, d.Attempt, m2.ID)
	}
	until(t, "m2 dead-lettered", func() bool { _, ok := findDead(deadLetters(t, s), m2.ID); return ok })

	dls := deadLetters(t, s)
	if len(dls) != 2 || dls[0].Message.ID != m1.ID || dls[1].Message.ID != m2.ID {
		t.Fatalf("dead letters %v, want [m1 m2] oldest first", dlIDs(dls))
	}
	if dls[0].Attempts != 1 || !strings.Contains(dls[0].Reason, "no text we can route") {
		t.Errorf("permanent dead letter: attempts %d reason %q", dls[0].Attempts, dls[0].Reason)
	}
	if one, err := s.DeadLetters(context.Background(), 1); err != nil || len(one) != 1 || one[0].Message.ID != m1.ID {
		t.Errorf("DeadLetters(limit 1) = %v, %v; want [m1]", dlIDs(one), err)
	}

	replayed.Store(true)
	if err := s.Replay(context.Background(), dls[0].ID); err != nil {
		t.Fatalf("replay: %v", err)
	}
	d := recv(t, got, "replayed m1")
	if d.Message.ID != m1.ID || d.Attempt != 1 {
		t.Errorf("replay delivered %s attempt %d, want %s attempt 1", d.Message.ID, d.Attempt, m1.ID)
	}
	if !sameMessage(d.Message, m1) {
		t.Errorf("replayed message changed:\n got %+v\nwant %+v", d.Message, m1)
	}
	replayedID := dls[0].ID
	dls = deadLetters(t, s)
	if len(dls) != 1 || dls[0].Message.ID != m2.ID {
		t.Errorf("dead letters after replay %v, want [m2]", dlIDs(dls))
	}
	// Replaying the same id again: it is gone.
	if err := s.Replay(context.Background(), replayedID); !errors.Is(err, gateway.ErrUnknownDeadLetter) {
		t.Errorf("second replay of %s: %v, want ErrUnknownDeadLetter", replayedID, err)
	}
	b.pass(t, s)
	for {
		select {
		case d := <-got:
			t.Errorf("unexpected delivery %s attempt %d after replay", d.Message.ID, d.Attempt)
		default:
			return
		}
	}
}

func dlIDs(dls []gateway.DeadLetter) []string {
	var ids []string
	for _, d := range dls {
		ids = append(ids, d.Message.ID)
	}
	return ids
}

func testReplayOnlyToFailedGroup(t *testing.T, open Opener) {
	s, _ := handle(t, open(t, baseOptions))
	m := message("replay-group")
	var failing atomic.Bool
	failing.Store(true)
	router := make(chan gateway.Delivery, 10)
	archive := make(chan gateway.Delivery, 10)
	b := newBarriers("router", "archive")
	consume(t, s, "router", "r1", b.wrap("router", func(ctx context.Context, d gateway.Delivery) error {
		router <- d
		if failing.Load() {
			return gateway.Permanent(errors.New("no rule"))
		}
		return nil
	}))
	consume(t, s, "archive", "a1", b.wrap("archive", func(ctx context.Context, d gateway.Delivery) error {
		archive <- d
		return nil
	}))
	publish(t, s, m)
	recv(t, router, "router delivery")
	recv(t, archive, "archive delivery")
	var dl gateway.DeadLetter
	until(t, "dead letter", func() bool {
		var ok bool
		dl, ok = findDead(deadLetters(t, s), m.ID)
		return ok
	})
	failing.Store(false)
	if err := s.Replay(context.Background(), dl.ID); err != nil {
		t.Fatalf("replay: %v", err)
	}
	if d := recv(t, router, "replayed delivery"); d.Attempt != 1 || d.Message.ID != m.ID {
		t.Errorf("replay delivered %s attempt %d", d.Message.ID, d.Attempt)
	}
	b.pass(t, s)
	select {
	case d := <-archive:
		t.Errorf("replay for group router reached group archive: %s", d.Message.ID)
	default:
	}
}

func testReplayUnknown(t *testing.T, open Opener) {
	s, _ := handle(t, open(t, baseOptions))
	for _, id := range []string{"", "1", "0-1", "no-such-dead-letter", "999999999999-0"} {
		err := s.Replay(context.Background(), id)
		if !errors.Is(err, gateway.ErrUnknownDeadLetter) {
			t.Errorf("Replay(%q) = %v, want an error wrapping ErrUnknownDeadLetter", id, err)
		}
	}
}

// testCrash: consumer A takes a message and never finishes it (hung, or its
// handle closed before acknowledging). After ClaimTimeout consumer B on
// another handle gets it, and it is handled to completion exactly once.
func testCrash(t *testing.T, open Opener, closeA bool) {
	open1 := open(t, baseOptions)
	sA, closeHandleA := handle(t, open1)
	sB, _ := handle(t, open1)
	m := message("crash")
	taken := make(chan gateway.Delivery, 1)
	aDone := make(chan error, 1)
	ca := consume(t, sA, "router", "worker-a", func(ctx context.Context, d gateway.Delivery) error {
		taken <- d
		<-ctx.Done() // hangs until its consumer is stopped
		aDone <- ctx.Err()
		return ctx.Err()
	})
	publish(t, sA, m)
	if d := recv(t, taken, "consumer A to take the message"); d.Attempt != 1 {
		t.Errorf("A got Attempt %d, want 1", d.Attempt)
	}
	if closeA {
		closeHandleA()
		recv(t, aDone, "A's handler to see its handle closed")
	}

	var mu sync.Mutex
	handled := 0
	got := make(chan gateway.Delivery, 10)
	b := newBarriers("router")
	consume(t, sB, "router", "worker-b", b.wrap("router", func(ctx context.Context, d gateway.Delivery) error {
		mu.Lock()
		handled++
		mu.Unlock()
		got <- d
		return nil
	}))
	d := recv(t, got, "consumer B to claim the abandoned message")
	if d.Message.ID != m.ID || d.Attempt != 2 {
		t.Errorf("B got %s attempt %d, want %s attempt 2", d.Message.ID, d.Attempt, m.ID)
	}
	if !closeA {
		ca.stop(t) // A's handler now returns ctx.Err(): not a success, not a failure
	}
	b.pass(t, sB)
	mu.Lock()
	defer mu.Unlock()
	if handled != 1 {
		t.Errorf("message handled %d times overall, want exactly once", handled)
	}
	if dl := deadLetters(t, sB); len(dl) != 0 {
		t.Errorf("dead letters: %v", dlIDs(dl))
	}
}

// testStaleOutcome: consumer A's lease ran out and B took the message over;
// when A finally fails it for good, that must not dead-letter the delivery
// B now owns (and completes).
func testStaleOutcome(t *testing.T, open Opener) {
	open1 := open(t, baseOptions)
	sA, _ := handle(t, open1)
	sB, _ := handle(t, open1)
	m, probe := message("stale"), message("probe")
	takenA := make(chan struct{}, 1)
	releaseA := make(chan struct{})
	probeA := make(chan struct{}, 1)
	b := newBarriers("router")
	consume(t, sA, "router", "worker-a", b.wrap("router", func(ctx context.Context, d gateway.Delivery) error {
		if d.Message.ID == probe.ID {
			probeA <- struct{}{}
			return nil
		}
		takenA <- struct{}{}
		<-releaseA
		return gateway.Permanent(errors.New("too late: worker a gave up"))
	}))
	publish(t, sA, m)
	recv(t, takenA, "A to take the message")

	gotB := make(chan gateway.Delivery, 10)
	releaseB := make(chan struct{})
	consume(t, sB, "router", "worker-b", b.wrap("router", func(ctx context.Context, d gateway.Delivery) error {
		gotB <- d
		<-releaseB
		return nil
	}))
	if d := recv(t, gotB, "B to take over the message"); d.Attempt != 2 {
		t.Errorf("B got Attempt %d, want 2", d.Attempt)
	}
	close(releaseA)
	// B is busy, so only A can take the probe, and A handles it only after
	// recording the outcome of its stale delivery.
	publish(t, sA, probe)
	recv(t, probeA, "A to take the probe after its stale failure")
	close(releaseB)
	b.pass(t, sB)
	if dl := deadLetters(t, sB); len(dl) != 0 {
		t.Errorf("A's late failure dead-lettered the message B completed: %v", dlIDs(dl))
	}
	for {
		select {
		case d := <-gotB:
			t.Errorf("B got %s again (attempt %d) after completing it", d.Message.ID, d.Attempt)
		default:
			return
		}
	}
}

// testPoison: a message whose every delivery is abandoned (it hangs or
// kills its consumer) is dead-lettered once MaxAttempts deliveries were
// abandoned, instead of circulating forever.
func testPoison(t *testing.T, open Opener) {
	opts := baseOptions
	opts.MaxAttempts = 2
	open1 := open(t, opts)
	m := message("poison")
	hang := func(took chan<- int) gateway.Handler {
		return func(ctx context.Context, d gateway.Delivery) error {
			took <- d.Attempt
			<-ctx.Done()
			return ctx.Err()
		}
	}
	s1, _ := handle(t, open1)
	took1 := make(chan int, 1)
	consume(t, s1, "router", "w1", hang(took1))
	publish(t, s1, m)
	recv(t, took1, "the first delivery")
	s2, _ := handle(t, open1)
	took2 := make(chan int, 1)
	consume(t, s2, "router", "w2", hang(took2))
	if n := recv(t, took2, "the second delivery"); n != 2 {
		t.Errorf("second delivery has Attempt %d, want 2", n)
	}
	s3, _ := handle(t, open1)
	got3 := make(chan gateway.Delivery, 10)
	b := newBarriers("router")
	consume(t, s3, "router", "w3", b.wrap("router", func(ctx context.Context, d gateway.Delivery) error {
		got3 <- d
		return nil
	}))
	var dl gateway.DeadLetter
	until(t, "the abandoned message in DeadLetters", func() bool {
		var ok bool
		dl, ok = findDead(deadLetters(t, s3), m.ID)
		return ok
	})
	if dl.Attempts < opts.MaxAttempts {
		t.Errorf("dead letter Attempts %d, want at least %d", dl.Attempts, opts.MaxAttempts)
	}
	if dl.Reason == "" {
		t.Error("dead letter has no reason")
	}
	b.pass(t, s3)
	select {
	case d := <-got3:
		t.Errorf("a third consumer got the message (attempt %d) though MaxAttempts %d deliveries were used up", d.Attempt, opts.MaxAttempts)
	default:
	}
}

func testDurable(t *testing.T, open Opener) {
	open1 := open(t, baseOptions)
	s, closeS := handle(t, open1)
	m := message("durable")
	publish(t, s, m)
	closeS()
	s2, _ := handle(t, open1)
	got := make(chan gateway.Delivery, 1)
	consume(t, s2, "router", "c1", func(ctx context.Context, d gateway.Delivery) error {
		got <- d
		return nil
	})
	if d := recv(t, got, "the message published before the restart"); !sameMessage(d.Message, m) {
		t.Errorf("after restart got %+v, want %+v", d.Message, m)
	}
}

func testConsumeCancel(t *testing.T, open Opener) {
	s, _ := handle(t, open(t, baseOptions))
	// Idle consumer: nothing to deliver.
	c := consume(t, s, "router", "idle", func(ctx context.Context, d gateway.Delivery) error { return nil })
	c.stop(t)
	// Busy consumer: its handler is running when ctx is cancelled.
	in := make(chan struct{})
	c = consume(t, s, "router", "busy", func(ctx context.Context, d gateway.Delivery) error {
		close(in)
		<-ctx.Done()
		return ctx.Err()
	})
	publish(t, s, message("cancel"))
	recv(t, in, "the handler to start")
	c.stop(t)
	// A context cancelled before Consume starts.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.Consume(ctx, "router", "late", func(ctx context.Context, d gateway.Delivery) error { return nil })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Consume with a cancelled context = %v, want context.Canceled", err)
	}
}

// testFailureDuringShutdown: a handler that fails for real while its
// consumer is being stopped (it finished its work without the context)
// has its outcome recorded: a permanent failure is dead-lettered at once,
// not left to come back after the claim timeout.
func testFailureDuringShutdown(t *testing.T, open Opener) {
	s, _ := handle(t, open(t, baseOptions))
	in, out := make(chan struct{}), make(chan struct{})
	c := consume(t, s, "router", "stopping", func(ctx context.Context, d gateway.Delivery) error {
		close(in)
		<-out // the consumer is cancelled meanwhile
		return gateway.Permanent(errors.New("unknown service code"))
	})
	m := message("fails-while-stopping")
	publish(t, s, m)
	recv(t, in, "the handler to start")
	c.cancel()
	close(out)
	c.stop(t)
	if _, ok := findDead(deadLetters(t, s), m.ID); !ok {
		t.Fatal("a permanent failure returned during shutdown was not dead-lettered")
	}
}

func testPublishCancelled(t *testing.T, open Opener) {
	s, _ := handle(t, open(t, baseOptions))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	m := message("cancelled")
	if err := s.Publish(ctx, m); !errors.Is(err, context.Canceled) {
		t.Fatalf("Publish with a cancelled context = %v, want context.Canceled", err)
	}
	// It must not have been published: the next message is the first one seen.
	ok := message("after")
	got := make(chan gateway.Delivery, 2)
	consume(t, s, "router", "c1", func(ctx context.Context, d gateway.Delivery) error {
		got <- d
		return nil
	})
	publish(t, s, ok)
	if d := recv(t, got, "the message published after"); d.Message.ID != ok.ID {
		t.Errorf("first delivery is %s, want %s: a Publish with a cancelled context went through", d.Message.ID, ok.ID)
	}
}

// testMaxLen checks that acknowledged entries are trimmed to MaxLen, and
// that trimming never drops what a group has not acknowledged: with
// pending, the behind group holds the first message in a hung handler; with
// !pending, it handled the first message and stopped, so it has nothing
// pending but has not seen the rest.
func testMaxLen(t *testing.T, open Opener, pending bool) {
	opts := baseOptions
	opts.MaxLen = 10
	open1 := open(t, opts)
	s, _ := handle(t, open1)
	l, ok := s.(Lengther)
	if !ok {
		t.Skipf("%T does not report its length", s)
	}
	length := func() int64 {
		n, err := l.Len(context.Background())
		if err != nil {
			t.Fatalf("len: %v", err)
		}
		return n
	}
	const n = 60
	var msgs []gateway.Message
	for range n {
		msgs = append(msgs, message("maxlen"))
	}
	var mu sync.Mutex
	seen := map[string]map[string]bool{"fast": {}, "behind": {}}
	done := map[string]chan struct{}{"fast": make(chan struct{}), "behind": make(chan struct{})}
	b := newBarriers("fast")
	h := func(group string) gateway.Handler {
		return b.wrap(group, func(ctx context.Context, d gateway.Delivery) error {
			mu.Lock()
			defer mu.Unlock()
			if !seen[group][d.Message.ID] {
				seen[group][d.Message.ID] = true
				if len(seen[group]) == n {
					close(done[group])
				}
			}
			return nil
		})
	}

	took := make(chan struct{}, 1)
	behind := consume(t, s, "behind", "b1", func(ctx context.Context, d gateway.Delivery) error {
		if pending {
			took <- struct{}{}
			<-ctx.Done()
			return ctx.Err()
		}
		err := h("behind")(ctx, d)
		took <- struct{}{}
		return err
	})
	publish(t, s, msgs[:1]...)
	recv(t, took, "the behind group to take the first message")
	if !pending {
		behind.stop(t)
	}
	publish(t, s, msgs[1:]...)

	consume(t, s, "fast", "f1", h("fast"))
	recv(t, done["fast"], "the fast group to get all messages")
	b.pass(t, s) // gives trimming time to run, if it is going to go wrong
	if pending {
		behind.stop(t)
	}
	consume(t, s, "behind", "b2", h("behind"))
	recv(t, done["behind"], "the behind group to get all messages, none trimmed away")
	until(t, fmt.Sprintf("acknowledged entries trimmed to MaxLen %d", opts.MaxLen), func() bool {
		return length() <= opts.MaxLen
	})
}
