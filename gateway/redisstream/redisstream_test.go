package redisstream_test

import (
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/dargah137/dargah/gateway"
	"github.com/dargah137/dargah/gateway/redisstream"
	"github.com/dargah137/dargah/gateway/streamtest"
	"github.com/dargah137/dargah/internal/testenv"
)

// opener gives each (sub)test its own key prefix; every call opens a new
// handle with its own client, like another Dargah instance would.
func opener(tb testing.TB, opts gateway.StreamOptions) func() gateway.Stream {
	url, prefix := testenv.RedisURL(tb)
	ro, err := redis.ParseURL(url)
	if err != nil {
		tb.Fatalf("parse redis url: %v", err)
	}
	return func() gateway.Stream {
		client := redis.NewClient(ro)
		tb.Cleanup(func() { client.Close() })
		s, err := redisstream.New(client, redisstream.Config{Name: prefix + "messages", Options: opts})
		if err != nil {
			tb.Fatalf("new stream: %v", err)
		}
		return s
	}
}

func TestStream(t *testing.T) {
	streamtest.Run(t, func(t *testing.T, o gateway.StreamOptions) func() gateway.Stream { return opener(t, o) })
}

func BenchmarkStream(b *testing.B) {
	streamtest.Bench(b, func(b *testing.B, o gateway.StreamOptions) func() gateway.Stream { return opener(b, o) })
}
