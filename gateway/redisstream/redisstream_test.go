package redisstream_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/dargah137/dargah/gateway"
	"github.com/dargah137/dargah/gateway/redisstream"
	"github.com/dargah137/dargah/gateway/streamtest"
	"github.com/dargah137/dargah/internal/testenv"
)

// opener gives each (sub)test its own key prefix; every call opens a new
// handle with its own client, like another Dargah instance would.
func opener(tb testing.TB, opts gateway.StreamOptions) func() gateway.Stream {
	return openerWith(tb, opts, 0)
}

func openerWith(tb testing.TB, opts gateway.StreamOptions, concurrency int) func() gateway.Stream {
	url, prefix := testenv.RedisURL(tb)
	ro, err := redis.ParseURL(url)
	if err != nil {
		tb.Fatalf("parse redis url: %v", err)
	}
	return func() gateway.Stream {
		client := redis.NewClient(ro)
		tb.Cleanup(func() { client.Close() })
		s, err := redisstream.New(client, redisstream.Config{Name: prefix + "messages", Options: opts, Concurrency: concurrency})
		if err != nil {
			tb.Fatalf("new stream: %v", err)
		}
		return s
	}
}

func TestStream(t *testing.T) {
	streamtest.Run(t, func(t *testing.T, o gateway.StreamOptions) func() gateway.Stream { return opener(t, o) })
}

// TestStreamConcurrent holds a stream whose consumers handle several
// entries at once to the same suite, and to the order of conversations.
func TestStreamConcurrent(t *testing.T) {
	streamtest.RunConcurrent(t, func(t *testing.T, o gateway.StreamOptions) func() gateway.Stream {
		return openerWith(t, o, streamtest.MinConcurrency)
	})
}

func BenchmarkStream(b *testing.B) {
	streamtest.Bench(b, func(b *testing.B, o gateway.StreamOptions) func() gateway.Stream { return opener(b, o) })
}

// TestStreamKeyDeleted: if the stream key vanishes under running consumers
// (FLUSHDB, an operator's DEL), they recreate their group and carry on.
func TestStreamKeyDeleted(t *testing.T) {
	t.Parallel()
	url, prefix := testenv.RedisURL(t)
	ro, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	client := redis.NewClient(ro)
	defer client.Close()
	name := prefix + "messages"
	s, err := redisstream.New(client, redisstream.Config{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got := make(chan string, 10)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Consume(ctx, "router", "c1", func(ctx context.Context, d gateway.Delivery) error {
		got <- d.Message.ID
		return nil
	})
	m := gateway.Message{ID: "before", Portal: "web", PortalKind: "webform", PortalMessageID: "1", Text: "سلام"}
	if err := s.Publish(ctx, m); err != nil {
		t.Fatal(err)
	}
	waitFor(t, got, "before")
	if err := client.Del(ctx, name).Err(); err != nil {
		t.Fatal(err)
	}
	m.ID = "after"
	if err := s.Publish(ctx, m); err != nil {
		t.Fatal(err)
	}
	waitFor(t, got, "after")
}

func waitFor(t *testing.T, got <-chan string, want string) {
	t.Helper()
	select {
	case id := <-got:
		if id != want {
			t.Fatalf("got %s, want %s", id, want)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("timed out waiting for %s", want)
	}
}
