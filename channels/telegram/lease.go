package telegram

import (
	"context"
	"fmt"
	"time"

	"github.com/dargah137/dargah/channels"
)

// Leaser grants one holder at a time the right to poll a bot: Telegram
// answers two concurrent getUpdates with 409 Conflict, and two pollers
// would each see half the updates.
type Leaser interface {
	// Acquire takes the lease key for holder, or renews it when holder
	// already has it, for ttl. held is false while another holder has it.
	Acquire(ctx context.Context, key, holder string, ttl time.Duration) (held bool, err error)
	// Release gives the lease up if holder has it.
	Release(ctx context.Context, key, holder string) error
}

// KVLeaser is a Leaser over channels.KV. KV has no compare-and-set, so two
// instances starting at the same moment can both believe they hold the
// lease until the next renewal shows one of them the other's name; the
// cost is a few 409s from Telegram, not lost updates, because the offset
// is only advanced after processing. Use a Redis lease (SET NX PX) when
// several instances run; this one suits a single instance and tests.
type KVLeaser struct {
	KV channels.KV
}

// Acquire implements Leaser.
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
