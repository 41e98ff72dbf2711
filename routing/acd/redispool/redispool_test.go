package redispool_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/dargah137/dargah/internal/testenv"
	"github.com/dargah137/dargah/routing/acd"
	"github.com/dargah137/dargah/routing/acd/acdtest"
	"github.com/dargah137/dargah/routing/acd/redispool"
)

// opener gives each test its own key prefix; every handle has its own
// client, like another Dargah instance.
func opener(t *testing.T, now func() time.Time) func() acd.AgentPool {
	url, prefix := testenv.RedisURL(t)
	ro, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("parse redis url: %v", err)
	}
	return func() acd.AgentPool {
		client := redis.NewClient(ro)
		t.Cleanup(func() { client.Close() })
		p, err := redispool.New(client, redispool.Config{Prefix: prefix + "acd:", Now: now})
		if err != nil {
			t.Fatalf("new pool: %v", err)
		}
		return p
	}
}

func TestPool(t *testing.T) { acdtest.RunPool(t, opener) }

// TestKeysUnderPrefix: every key the pool writes carries the prefix.
func TestKeysUnderPrefix(t *testing.T) {
	t.Parallel()
	url, prefix := testenv.RedisURL(t)
	ro, _ := redis.ParseURL(url)
	client := redis.NewClient(ro)
	defer client.Close()
	p, err := redispool.New(client, redispool.Config{Prefix: prefix + "acd:"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := p.Login(ctx, "a1", map[string]int{"fa": 3}, "PJSIP/a1"); err != nil {
		t.Fatal(err)
	}
	keys, err := client.Keys(ctx, prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 {
		t.Fatalf("keys %v, want the agent and the set", keys)
	}
	for _, k := range keys {
		if !strings.HasPrefix(k, prefix+"acd:") {
			t.Errorf("key %s outside the prefix", k)
		}
	}
	// A corrupt record is a clear error, not a panic or a silent default.
	if err := client.Set(ctx, prefix+"acd:agent:a1", "{not json", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Get(ctx, "a1"); err == nil || !strings.Contains(err.Error(), "decode agent a1") {
		t.Fatalf("corrupt record: err %v", err)
	}
	if _, err := p.Claim(ctx, "a1", "c1"); err == nil {
		t.Fatal("claim on a corrupt record succeeded")
	}
}

func TestConfig(t *testing.T) {
	if _, err := redispool.New(nil, redispool.Config{Prefix: "x:"}); err == nil {
		t.Error("nil client accepted")
	}
	if _, err := redispool.New(redis.NewClient(&redis.Options{}), redispool.Config{}); err == nil {
		t.Error("empty prefix accepted")
	}
}
