package redisstream

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/dargah137/dargah/gateway"
)

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"name only", Config{Name: "dargah:messages"}, true},
		{"explicit", Config{Name: "x", BatchSize: 4, Options: gateway.StreamOptions{RetryDelay: time.Second}}, true},
		{"no name", Config{}, false},
		{"negative batch", Config{Name: "x", BatchSize: -1}, false},
		{"negative claim timeout", Config{Name: "x", Options: gateway.StreamOptions{ClaimTimeout: -time.Second}}, false},
	} {
		if err := tc.cfg.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: Validate() = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
	if _, err := New(nil, Config{Name: "x"}); err == nil {
		t.Error("New without a client succeeded")
	}
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer c.Close()
	if _, err := New(c, Config{}); err == nil {
		t.Error("New without a name succeeded")
	}
}
