package sqlitestream_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/dargah137/dargah/gateway"
	"github.com/dargah137/dargah/gateway/sqlitestream"
	"github.com/dargah137/dargah/gateway/streamtest"
)

// opener gives each (sub)test its own file; every call opens a new handle on it.
func opener(tb testing.TB, opts gateway.StreamOptions) func() gateway.Stream {
	path := filepath.Join(tb.TempDir(), "stream.db")
	return func() gateway.Stream {
		s, err := sqlitestream.Open(context.Background(), path, sqlitestream.Config{Options: opts})
		if err != nil {
			tb.Fatalf("open %s: %v", path, err)
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

// TestStreamConcurrent holds a stream whose consumers handle several
// entries at once to the same suite, and to the order of conversations.
func TestStreamConcurrent(t *testing.T) {
	streamtest.RunConcurrent(t, func(t *testing.T, o gateway.StreamOptions) func() gateway.Stream {
		path := filepath.Join(t.TempDir(), "stream.db")
		return func() gateway.Stream {
			s, err := sqlitestream.Open(context.Background(), path,
				sqlitestream.Config{Options: o, Concurrency: streamtest.MinConcurrency})
			if err != nil {
				t.Fatalf("open %s: %v", path, err)
			}
			return s
		}
	})
}
