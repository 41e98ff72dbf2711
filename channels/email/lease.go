package email

import (
	"context"
	"fmt"
	"time"

	"github.com/dargah137/dargah/channels"
)

// Leaser grants one holder at a time the right to read a mailbox: two
// instances reading one folder would race on flags and moves and submit
// each mail twice (harmless for the ledger, noisy for the logs).
type Leaser interface {
	// Acquire takes the lease key for holder, or renews it when holder
	// already has it, for ttl. held is false while another holder has it.
	Acquire(ctx context.Context, key, holder string, ttl time.Duration) (held bool, err error)
	// Release gives the lease up if holder has it.
	Release(ctx context.Context, key, holder string) error
}

// KVLeaser is a Leaser over channels.KV, for the embedded runtime (one
// Dargah process). KV has no compare-and-set, so two instances starting at
// the same instant may both believe they hold the lease until the next
// renewal shows one of them the other's name; the cost is a mail submitted
// twice, which intake's idempotency by Message-ID absorbs. With several
// instances use a lease with SET NX PX semantics (a Redis lease can
// implement this interface later).
type KVLeaser struct {
	KV  channels.KV
	Now func() time.Time
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
