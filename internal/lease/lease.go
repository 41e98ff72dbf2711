// Package lease implements channels.Leaser on Redis, for deployments where
// several Dargah instances share Redis. (On the embedded default one
// process owns the data directory, and adapters lease through its KV.)
package lease

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/dargah137/dargah/channels"
)

// Redis is a lease per key with SET NX PX; renewal and release check the
// holder atomically in Lua, so an expired holder cannot renew or release
// a lease someone else has taken since.
type Redis struct {
	client redis.UniversalClient
	prefix string
}

// NewRedis returns a Redis leaser whose keys start with prefix.
func NewRedis(client redis.UniversalClient, prefix string) *Redis {
	return &Redis{client: client, prefix: prefix}
}

var acquireScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur == false then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if cur == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0`)

var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`)

// Acquire implements channels.Leaser.
func (r *Redis) Acquire(ctx context.Context, key, holder string, ttl time.Duration) (bool, error) {
	n, err := acquireScript.Run(ctx, r.client, []string{r.prefix + key}, holder, max(ttl.Milliseconds(), 1)).Int()
	if err != nil {
		return false, fmt.Errorf("acquire lease %s: %w", key, err)
	}
	return n == 1, nil
}

// Release implements channels.Leaser.
func (r *Redis) Release(ctx context.Context, key, holder string) error {
	if err := releaseScript.Run(ctx, r.client, []string{r.prefix + key}, holder).Err(); err != nil {
		return fmt.Errorf("release lease %s: %w", key, err)
	}
	return nil
}

var _ channels.Leaser = (*Redis)(nil)
