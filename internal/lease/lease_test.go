package lease_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/dargah137/dargah/channels"
	"github.com/dargah137/dargah/internal/lease"
	"github.com/dargah137/dargah/internal/testenv"
)

func TestLeases(t *testing.T) {
	impls := map[string]func(t *testing.T) (channels.Leaser, channels.Leaser){
		"redis": func(t *testing.T) (channels.Leaser, channels.Leaser) {
			url, prefix := testenv.RedisURL(t)
			open := func() channels.Leaser {
				opt, err := redis.ParseURL(url)
				if err != nil {
					t.Fatal(err)
				}
				c := redis.NewClient(opt)
				t.Cleanup(func() { c.Close() })
				return lease.NewRedis(c, prefix)
			}
			return open(), open() // two instances
		},
	}
	for name, open := range impls {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			a, b := open(t)
			mustHold := func(l channels.Leaser, holder string, want bool) {
				t.Helper()
				got, err := l.Acquire(ctx, "bot", holder, 300*time.Millisecond)
				if err != nil || got != want {
					t.Fatalf("Acquire by %s = %v, %v; want %v", holder, got, err, want)
				}
			}
			mustHold(a, "one", true)
			mustHold(b, "two", false)
			mustHold(a, "one", true) // renew
			if err := b.Release(ctx, "bot", "two"); err != nil {
				t.Fatal(err)
			}
			mustHold(b, "two", false) // a stranger's release changed nothing
			if err := a.Release(ctx, "bot", "one"); err != nil {
				t.Fatal(err)
			}
			mustHold(b, "two", true)
			// Expiry: "two" stops renewing, "one" takes over.
			deadline := time.Now().Add(5 * time.Second)
			for {
				ok, err := a.Acquire(ctx, "bot", "one", time.Second)
				if err != nil {
					t.Fatal(err)
				}
				if ok {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("lease never expired")
				}
				time.Sleep(20 * time.Millisecond)
			}

			// Many contenders at once: exactly one wins.
			var wins atomic.Int32
			var wg sync.WaitGroup
			for i := 0; i < 20; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					l := a
					if i%2 == 1 {
						l = b
					}
					if ok, _ := l.Acquire(ctx, "race", fmt.Sprint("h", i), time.Minute); ok {
						wins.Add(1)
					}
				}()
			}
			wg.Wait()
			if wins.Load() != 1 {
				t.Errorf("%d holders of one lease", wins.Load())
			}
		})
	}
}
