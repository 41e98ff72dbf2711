package sms

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/dargah137/dargah/channels"
)

// lockTTL bounds how long a crashed holder blocks a KV read-modify-write;
// one takes milliseconds.
const lockTTL = 10 * time.Second

// kvLock serialises read-modify-write of one KV value across instances:
// KV has no compare-and-set, so the host's lease (Redis SET NX in
// production) is the mutex, with a local one in front because a lease
// holder may renew its own lease.
type kvLock struct {
	leases      channels.Leaser // nil: this process only
	key, holder string
	mu          sync.Mutex
}

func (l *kvLock) do(ctx context.Context, fn func() error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.leases == nil {
		return fn()
	}
	wait := 2 * time.Millisecond
	for {
		held, err := l.leases.Acquire(ctx, l.key, l.holder, lockTTL)
		if err != nil {
			return fmt.Errorf("lock %s: %w", l.key, err)
		}
		if held {
			break
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("lock %s: %w", l.key, ctx.Err())
		case <-t.C:
		}
		wait = min(2*wait, 100*time.Millisecond)
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = l.leases.Release(rctx, l.key, l.holder) // expires anyway
	}()
	return fn()
}
