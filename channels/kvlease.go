package channels

import (
	"context"
	"fmt"
	"time"
)

// KVLeaser is a Leaser over KV, for the embedded runtime where one Dargah
// process owns the data. KV has no compare-and-set, so two instances
// starting at the same instant may both believe they hold a lease until
// the next renewal shows one of them the other's name; pollers built on it
// must tolerate that (intake is idempotent by the portal's message id).
// Several instances use the host's Env.Leases (Redis) instead.
type KVLeaser struct {
	KV KV
}

// Acquire implements Leaser. The value is the holder; the KV TTL expires
// a crashed holder's lease.
func (l KVLeaser) Acquire(ctx context.Context, key, holder string, ttl time.Duration) (bool, error) {
	v, found, err := l.KV.KVGet(ctx, key)
	if err != nil {
		return false, fmt.Errorf("read lease %s: %w", key, err)
	}
	if found && string(v) != holder {
		return false, nil
	}
	if err := l.KV.KVPut(ctx, key, []byte(holder), ttl); err != nil {
		return false, fmt.Errorf("write lease %s: %w", key, err)
	}
	return true, nil
}

// Release implements Leaser.
func (l KVLeaser) Release(ctx context.Context, key, holder string) error {
	v, found, err := l.KV.KVGet(ctx, key)
	if err != nil {
		return fmt.Errorf("read lease %s: %w", key, err)
	}
	if !found || string(v) != holder {
		return nil
	}
	if err := l.KV.KVDelete(ctx, key); err != nil {
		return fmt.Errorf("release lease %s: %w", key, err)
	}
	return nil
}

var _ Leaser = KVLeaser{}
