package redisstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/dargah137/dargah/gateway"
	"github.com/dargah137/dargah/internal/testenv"
)

// counter is a redis.Hook that counts, per command name, the round trips
// that carried it (a pipeline is one round trip however many commands it
// holds) and the commands sent. A delay before each round trip carrying a
// command plays a slow Redis, so concurrent callers queue up and batching
// is deterministic; fail makes Redis never see the XACKs of that group and
// hands them an error instead.
type counter struct {
	mu       sync.Mutex
	trips    map[string]int
	cmds     map[string]int
	ackTrips [][]string // the group of each XACK, per round trip
	delay    map[string]time.Duration
	fail     string
}

var errInjected = errors.New("injected failure")

func newCounter() *counter {
	return &counter{trips: map[string]int{}, cmds: map[string]int{}, delay: map[string]time.Duration{}}
}

func (c *counter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *counter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		send := c.record([]redis.Cmder{cmd})
		if len(send) == 0 {
			return cmd.Err()
		}
		return next(ctx, cmd)
	}
}

func (c *counter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		send := c.record(cmds)
		if len(send) == 0 {
			return nil
		}
		return next(ctx, send)
	}
}

// record counts cmds, sleeps for the delay, fails what it should and
// returns the commands to send.
func (c *counter) record(cmds []redis.Cmder) []redis.Cmder {
	c.mu.Lock()
	var d time.Duration
	var acks []string
	send := make([]redis.Cmder, 0, len(cmds))
	seen := map[string]bool{}
	for _, cmd := range cmds {
		name := cmd.Name()
		c.cmds[name]++
		if !seen[name] {
			seen[name] = true
			c.trips[name]++
			d = max(d, c.delay[name])
		}
		if name == "xack" {
			group := fmt.Sprint(cmd.Args()[2])
			acks = append(acks, group)
			if group == c.fail {
				cmd.SetErr(errInjected)
				continue
			}
		}
		send = append(send, cmd)
	}
	if acks != nil {
		c.ackTrips = append(c.ackTrips, acks)
	}
	c.mu.Unlock()
	time.Sleep(d)
	return send
}

func (c *counter) count(name string) (trips, cmds int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.trips[name], c.cmds[name]
}

func (c *counter) set(f func(c *counter)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f(c)
}

// counted opens a stream named name (under the test's prefix) whose client
// counts its round trips.
func counted(tb testing.TB, name string) (*Stream, *redis.Client, *counter) {
	tb.Helper()
	url, prefix := testenv.RedisURL(tb)
	ro, err := redis.ParseURL(url)
	if err != nil {
		tb.Fatalf("parse redis url: %v", err)
	}
	client := redis.NewClient(ro)
	tb.Cleanup(func() { client.Close() })
	hook := newCounter()
	client.AddHook(hook)
	s, err := New(client, Config{Name: prefix + name, Options: gateway.StreamOptions{ClaimTimeout: time.Minute}})
	if err != nil {
		tb.Fatalf("new stream: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s, client, hook
}

func msg(id string) gateway.Message {
	return gateway.Message{ID: id, Portal: "web", PortalKind: "webform", PortalMessageID: id, Text: "سلام ۱۳۷"}
}

// storedIDs returns the message ids of every entry in the stream, in order.
func storedIDs(t *testing.T, client *redis.Client, stream string) []string {
	t.Helper()
	entries, err := client.XRange(context.Background(), stream, "-", "+").Result()
	if err != nil {
		t.Fatalf("xrange: %v", err)
	}
	ids := make([]string, 0, len(entries))
	for _, e := range entries {
		var m gateway.Message
		body, _ := e.Values["m"].(string)
		if err := json.Unmarshal([]byte(body), &m); err != nil {
			t.Fatalf("entry %s: %v", e.ID, err)
		}
		ids = append(ids, m.ID)
	}
	return ids
}

// TestPublishConcurrent: 200 concurrent Publish calls each land exactly
// once, and share round trips.
func TestPublishConcurrent(t *testing.T) {
	t.Parallel()
	s, client, hook := counted(t, "messages")
	hook.set(func(c *counter) { c.delay["xadd"] = 20 * time.Millisecond })
	const n = 200
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			if err := s.Publish(context.Background(), msg(fmt.Sprintf("m%03d", i))); err != nil {
				t.Errorf("publish m%03d: %v", i, err)
			}
		})
	}
	close(start)
	wg.Wait()
	if l, err := s.Len(context.Background()); err != nil || l != n {
		t.Fatalf("XLEN = %d, %v; want %d", l, err, n)
	}
	ids := storedIDs(t, client, s.name)
	slices.Sort(ids)
	for i, id := range ids {
		if want := fmt.Sprintf("m%03d", i); id != want {
			t.Fatalf("stored ids: #%d is %s, want %s (each message exactly once)", i, id, want)
		}
	}
	trips, cmds := hook.count("xadd")
	t.Logf("%d XADDs in %d round trips", cmds, trips)
	if cmds != n {
		t.Errorf("%d XADD commands for %d messages", cmds, n)
	}
	// 4 runners, 128 a batch, a 20ms Redis: a handful of round trips.
	if trips > n/10 {
		t.Errorf("%d round trips for %d concurrent publishes, want at most %d", trips, n, n/10)
	}
}

// TestAckBatched: consumers of two groups handle 200 messages each; every
// entry is acknowledged, in fewer round trips than acks, with at most one
// XACK per group in a round trip.
func TestAckBatched(t *testing.T) {
	t.Parallel()
	s, client, hook := counted(t, "messages")
	const n = 200
	for i := range n {
		if err := s.Publish(context.Background(), msg(fmt.Sprintf("m%03d", i))); err != nil {
			t.Fatal(err)
		}
	}
	hook.set(func(c *counter) { c.delay["xack"] = 10 * time.Millisecond })
	groups := []string{"router", "archive"}
	var handled atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, g := range groups {
		for i := range 8 {
			wg.Go(func() {
				_ = s.Consume(ctx, g, "c"+strconv.Itoa(i), func(context.Context, gateway.Delivery) error {
					handled.Add(1)
					return nil
				})
			})
		}
	}
	pending := func(g string) int64 {
		p, err := client.XPending(context.Background(), s.name, g).Result()
		if err != nil {
			t.Fatalf("xpending %s: %v", g, err)
		}
		return p.Count
	}
	deadline := time.Now().Add(30 * time.Second)
	for handled.Load() < 2*n || pending(groups[0])+pending(groups[1]) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("handled %d of %d, pending %d and %d", handled.Load(), 2*n, pending(groups[0]), pending(groups[1]))
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	if h := handled.Load(); h != 2*n {
		t.Errorf("handled %d, want %d (something was delivered twice)", h, 2*n)
	}
	trips, cmds := hook.count("xack")
	t.Logf("%d acks as %d XACK commands in %d round trips", 2*n, cmds, trips)
	if trips > n {
		t.Errorf("%d round trips for %d acks, want at most %d", trips, 2*n, n)
	}
	hook.set(func(c *counter) {
		for _, trip := range c.ackTrips {
			if len(trip) != len(slices.Compact(slices.Sorted(slices.Values(trip)))) {
				t.Errorf("a round trip has several XACKs for one group: %v", trip)
			}
		}
	})
}

// TestAckResults: acks of different groups batched together each get their
// own outcome, and a consumer counts only a successful ack.
func TestAckResults(t *testing.T) {
	t.Parallel()
	s, client, hook := counted(t, "messages")
	ctx := context.Background()
	for i := range 2 {
		if err := s.Publish(ctx, msg(fmt.Sprintf("m%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	var ids []string
	for _, g := range []string{"good", "bad"} {
		if err := client.XGroupCreate(ctx, s.name, g, "0").Err(); err != nil {
			t.Fatal(err)
		}
		res, err := client.XReadGroup(ctx, &redis.XReadGroupArgs{Group: g, Consumer: "c", Streams: []string{s.name, ">"}}).Result()
		if err != nil || len(res) != 1 || len(res[0].Messages) != 2 {
			t.Fatalf("read %s: %v, %v", g, res, err)
		}
		ids = []string{res[0].Messages[0].ID, res[0].Messages[1].ID}
	}
	hook.set(func(c *counter) { c.fail = "bad" })

	got := s.ackAll(ctx, []ackReq{{"bad", ids[0]}, {"good", ids[0]}, {"good", ids[1]}})
	if len(got) != 3 || !errors.Is(got[0].Err, errInjected) || got[1].Err != nil || got[2].Err != nil {
		t.Fatalf("ackAll results = %+v; want the bad group's error only on its request", got)
	}
	if trips, cmds := hook.count("xack"); trips != 1 || cmds != 2 {
		t.Errorf("3 acks in 2 groups went as %d XACKs in %d round trips, want 2 in 1", cmds, trips)
	}

	log := slog.New(slog.DiscardHandler)
	good := &consumerLoop{s: s, group: "good", name: "c", log: log}
	bad := &consumerLoop{s: s, group: "bad", name: "c", log: log}
	bad.ack(entry{id: ids[1]})
	good.ack(entry{id: ids[1]}) // already acked: XACK of a non-pending id is no error
	if bad.acked.Load() || !good.acked.Load() {
		t.Errorf("after acks acked = %v (bad), %v (good); want false, true", bad.acked.Load(), good.acked.Load())
	}
	for g, want := range map[string]int64{"good": 0, "bad": 2} {
		p, err := client.XPending(ctx, s.name, g).Result()
		if err != nil || p.Count != want {
			t.Errorf("group %s: %v pending (%v), want %d", g, p, err, want)
		}
	}
}

// TestPublishRacingClose: a Publish racing Close returns nil, and then its
// entry is in Redis, or ErrClosed, and then it is not; it never hangs.
func TestPublishRacingClose(t *testing.T) {
	t.Parallel()
	var published, refused int
	for round := range 20 {
		s, client, hook := counted(t, "race"+strconv.Itoa(round))
		hook.set(func(c *counter) { c.delay["xadd"] = 2 * time.Millisecond })
		var mu sync.Mutex
		var ok []string
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range 50 {
			wg.Go(func() {
				<-start
				id := fmt.Sprintf("m%02d", i)
				err := s.Publish(context.Background(), msg(id))
				switch {
				case err == nil:
					mu.Lock()
					ok = append(ok, id)
					mu.Unlock()
				case errors.Is(err, ErrClosed):
				default:
					t.Errorf("publish %s racing Close: %v", id, err)
				}
			})
		}
		wg.Go(func() {
			<-start
			time.Sleep(time.Duration(round%5) * time.Millisecond)
			s.Close()
		})
		close(start)
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatalf("round %d: Publish or Close hung", round)
		}
		stored := storedIDs(t, client, s.name)
		slices.Sort(stored)
		slices.Sort(ok)
		if !slices.Equal(stored, ok) {
			t.Fatalf("round %d: Publish returned nil for %v, but Redis has %v", round, ok, stored)
		}
		published += len(ok)
		refused += 50 - len(ok)
	}
	t.Logf("racing Close: %d published, %d refused with ErrClosed", published, refused)
}

// BenchmarkConcurrent is Dargah under load: 64 publishers (HTTP handlers)
// and 16 consumers of one group. It reports end-to-end msg/s and how many
// XADD and XACK round trips one message cost.
func BenchmarkConcurrent(b *testing.B) {
	s, _, hook := counted(b, "messages")
	n := int64(b.N)
	var handled atomic.Int64
	done := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			_ = s.Consume(ctx, "bench", fmt.Sprintf("c%d", i), func(ctx context.Context, d gateway.Delivery) error {
				if handled.Add(1) == n {
					close(done)
				}
				return nil
			})
		})
	}
	var next atomic.Int64
	b.ResetTimer()
	start := time.Now()
	var pubs sync.WaitGroup
	for range 64 {
		pubs.Go(func() {
			for i := next.Add(1); i <= n; i = next.Add(1) {
				if err := s.Publish(context.Background(), msg("bench-"+strconv.FormatInt(i, 10))); err != nil {
					b.Errorf("publish: %v", err)
					return
				}
			}
		})
	}
	pubs.Wait()
	select {
	case <-done:
	case <-time.After(5 * time.Minute):
		b.Fatalf("only %d of %d messages handled", handled.Load(), n)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	cancel()
	wg.Wait()
	addTrips, _ := hook.count("xadd")
	ackTrips, _ := hook.count("xack")
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msg/s")
	b.ReportMetric(float64(addTrips)/float64(b.N), "xadd-trips/msg")
	b.ReportMetric(float64(ackTrips)/float64(b.N), "xack-trips/msg")
}
