package sqlitestream

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/dargah137/dargah/gateway"
)

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"zero is defaults", Config{}, true},
		{"explicit", Config{BatchSize: 8, PollInterval: time.Second, Options: gateway.StreamOptions{MaxAttempts: 3}}, true},
		{"negative batch", Config{BatchSize: -1}, false},
		{"negative poll", Config{PollInterval: -time.Second}, false},
		{"negative busy timeout", Config{BusyTimeout: -time.Second}, false},
		{"negative attempts", Config{Options: gateway.StreamOptions{MaxAttempts: -1}}, false},
	} {
		if err := tc.cfg.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: Validate() = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

func TestOpenRejectsBadInput(t *testing.T) {
	t.Parallel()
	if _, err := Open(context.Background(), "", Config{}); err == nil {
		t.Error("Open with an empty path succeeded")
	}
	if _, err := Open(context.Background(), filepath.Join(t.TempDir(), "s.db"), Config{BatchSize: -3}); err == nil {
		t.Error("Open with a negative batch size succeeded")
	}
	if _, err := Open(context.Background(), filepath.Join(t.TempDir(), "s.db?mode=ro"), Config{}); err == nil {
		t.Error("Open with a query string in the path succeeded")
	}
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "data", "stream.db"), Config{})
	if err != nil {
		t.Fatalf("Open in a directory that does not exist yet: %v", err)
	}
	s.Close()
}
