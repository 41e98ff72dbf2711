package ari_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/dargah137/dargah/channels/asterisk/ari"
	"github.com/dargah137/dargah/channels/asterisk/aritest"
)

// collector reads a client's (or pool's) events so tests can wait for
// them on a signal, not a sleep.
type collector struct {
	mu       sync.Mutex
	list     []ari.Event
	consumed []bool
	changed  chan struct{}
	closed   bool
}

func collect(ch <-chan ari.Event) *collector {
	c := &collector{changed: make(chan struct{})}
	go func() {
		for ev := range ch {
			c.mu.Lock()
			c.list = append(c.list, ev)
			c.consumed = append(c.consumed, false)
			close(c.changed)
			c.changed = make(chan struct{})
			c.mu.Unlock()
		}
		c.mu.Lock()
		c.closed = true
		close(c.changed)
		c.changed = make(chan struct{})
		c.mu.Unlock()
	}()
	return c
}

// all returns every event so far.
func (c *collector) all() []ari.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]ari.Event(nil), c.list...)
}

// waitEvent returns the first not-yet-taken event of type T for which
// match is true, marking it taken; it fails the test after 5 s.
func waitEvent[T ari.Event](t *testing.T, c *collector, match func(T) bool) T {
	t.Helper()
	deadline := time.NewTimer(5 * time.Second)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		for i, ev := range c.list {
			if c.consumed[i] {
				continue
			}
			if e, ok := ev.(T); ok && (match == nil || match(e)) {
				c.consumed[i] = true
				c.mu.Unlock()
				return e
			}
		}
		ch, closed := c.changed, c.closed
		c.mu.Unlock()
		var zero T
		if closed {
			t.Fatalf("event stream closed while waiting for %T", zero)
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("timed out waiting for %T; have %s", zero, c.summary())
		}
	}
}

func (c *collector) summary() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := ""
	for i, ev := range c.list {
		s += fmt.Sprintf("\n  %d %s %s taken=%v", i, ev.Base().Type, ari.ChannelOf(ev), c.consumed[i])
	}
	return s
}

// onChannel matches events about channel id.
func onChannel[T ari.Event](id string) func(T) bool {
	return func(e T) bool { return ari.ChannelOf(e) == id }
}

type harness struct {
	srv *aritest.Server
	c   *ari.Client
	ev  *collector
	ctx context.Context
}

// start runs a double and a connected client against it.
func start(t *testing.T, scfg aritest.Config, mod func(*ari.Config)) *harness {
	t.Helper()
	srv := aritest.New(t, scfg)
	cfg := ari.Config{
		URL: srv.URL(), Username: srv.Username(), Password: srv.Password(), App: srv.App(),
		Name: "ast1", ReconnectMin: 2 * time.Millisecond, ReconnectMax: 20 * time.Millisecond,
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := ari.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	h := &harness{srv: srv, c: c, ev: collect(c.Events()), ctx: ctx}
	waitEvent[*ari.Connected](t, h.ev, nil)
	return h
}

// must fails the test on err.
func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
