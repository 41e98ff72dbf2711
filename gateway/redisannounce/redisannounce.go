// Package redisannounce carries decisions between Dargah instances over
// Redis pub/sub: the instance that decides a message tells the one that
// accepted it, where a caller may be waiting for the answer
// (gateway.Announcer). Pub/sub delivers at most once; a lost announcement
// only makes the waiting caller read the ledger a little later.
package redisannounce

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/redis/go-redis/v9"

	"github.com/dargah137/dargah/gateway"
	"github.com/dargah137/dargah/internal/batch"
)

// Announcer publishes decisions to the channel of their origin instance
// and listens on its own.
type Announcer struct {
	rdb    redis.UniversalClient
	prefix string
	log    *slog.Logger
	pubs   *batch.Batcher[announcement, struct{}]
}

type announcement struct {
	origin string
	body   []byte
}

// New returns an Announcer whose channels are named prefix + instance.
// The client stays the caller's.
func New(rdb redis.UniversalClient, prefix string, log *slog.Logger) *Announcer {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &Announcer{rdb: rdb, prefix: prefix, log: log}
	// Under load many decisions are announced at once: one pipeline each
	// batch rather than a round trip each.
	a.pubs = batch.New(2, 256, a.publishAll)
	return a
}

func (a *Announcer) channel(instance string) string { return a.prefix + instance }

// Announce implements gateway.Announcer.
func (a *Announcer) Announce(ctx context.Context, origin string, r gateway.Receipt) error {
	body, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode receipt %s: %w", r.MessageID, err)
	}
	if _, err := a.pubs.Do(ctx, announcement{origin: origin, body: body}); err != nil {
		return fmt.Errorf("announce %s to %s: %w", r.MessageID, origin, err)
	}
	return nil
}

func (a *Announcer) publishAll(ctx context.Context, anns []announcement) []batch.Result[struct{}] {
	cmds := make([]*redis.IntCmd, len(anns))
	// Pipelined's error is the first command's; each command keeps its own.
	_, _ = a.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, an := range anns {
			cmds[i] = p.Publish(ctx, a.channel(an.origin), an.body)
		}
		return nil
	})
	out := make([]batch.Result[struct{}], len(anns))
	for i, c := range cmds {
		out[i].Err = c.Err()
	}
	return out
}

// Listener receives the decisions announced to one instance.
type Listener struct {
	sub     *redis.PubSub
	deliver func(gateway.Receipt)
	log     *slog.Logger
}

// Subscribe subscribes to instance's channel and returns once Redis has
// confirmed it, so nothing announced afterwards is missed.
func (a *Announcer) Subscribe(ctx context.Context, instance string, deliver func(gateway.Receipt)) (*Listener, error) {
	sub := a.rdb.Subscribe(ctx, a.channel(instance))
	if _, err := sub.Receive(ctx); err != nil {
		sub.Close()
		return nil, fmt.Errorf("subscribe to decisions for %s: %w", instance, err)
	}
	return &Listener{sub: sub, deliver: deliver, log: a.log}, nil
}

// Run delivers announcements until ctx is done, then unsubscribes.
func (l *Listener) Run(ctx context.Context) {
	defer l.sub.Close()
	ch := l.sub.Channel() // go-redis resubscribes after a lost connection
	for {
		select {
		case <-ctx.Done():
			return
		case msg, ok := <-ch:
			if !ok {
				return
			}
			var r gateway.Receipt
			if err := json.Unmarshal([]byte(msg.Payload), &r); err != nil {
				l.log.Warn("undecodable decision announcement", "err", err)
				continue
			}
			if r.MessageID == "" {
				l.log.Warn("decision announcement without a message id")
				continue
			}
			l.deliver(r)
		}
	}
}

// Close stops the batcher; announcements after Close fail.
func (a *Announcer) Close() { a.pubs.Close() }
