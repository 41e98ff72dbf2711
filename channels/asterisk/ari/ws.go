package ari

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"time"

	"github.com/coder/websocket"
)

// ErrClosed is returned by Connect after Close.
var ErrClosed = errors.New("ari: client closed")

// pingInterval is how often the client pings Asterisk so a dead TCP
// connection is noticed even when no events flow.
const pingInterval = 20 * time.Second

// Events returns the channel every event is delivered on, in the order
// Asterisk sent them, interleaved with Connected / Disconnected /
// Reconnected notifications. It is closed after Close. Read it
// continuously: when its buffer is full the client stops reading the
// socket (events are never dropped).
func (c *Client) Events() <-chan Event { return c.events }

// Connect opens the event WebSocket, which registers the Stasis app. It
// retries with backoff until the first handshake succeeds or ctx ends (a
// 401 fails at once), then returns; from then on the socket is kept up in
// the background, reconnecting with backoff, until Close. ctx bounds only
// the first connection.
func (c *Client) Connect(ctx context.Context) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	if c.started {
		c.mu.Unlock()
		return errors.New("ari: connect called twice")
	}
	c.started = true
	life, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	c.done = make(chan struct{})
	c.mu.Unlock()

	// Close during the first dial must stop it too.
	dctx, dcancel := context.WithCancel(ctx)
	defer dcancel()
	go func() {
		select {
		case <-life.Done():
			dcancel()
		case <-dctx.Done():
		}
	}()

	conn, _, err := c.dialUntil(dctx, true)
	if err != nil {
		cancel()
		close(c.done)
		close(c.events)
		return err
	}
	c.emit(life, &Connected{EventBase: c.localBase(TypeConnected)})
	go c.run(life, conn)
	return nil
}

// Start is Connect without waiting: the socket is dialed (and redialed)
// in the background until Close, and Connected arrives on Events once it
// is up. Use it when Asterisk may be down at startup. Unlike Connect, bad
// credentials are retried too (and logged), since they may be fixed
// server-side.
func (c *Client) Start() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	if c.started {
		c.mu.Unlock()
		return errors.New("ari: start called twice")
	}
	c.started = true
	life, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	c.done = make(chan struct{})
	c.mu.Unlock()
	go func() {
		conn, _, err := c.dialUntil(life, false)
		if err != nil {
			close(c.events)
			close(c.done)
			return
		}
		c.emit(life, &Connected{EventBase: c.localBase(TypeConnected)})
		c.run(life, conn)
	}()
	return nil
}

// Close stops the WebSocket and closes Events. REST calls keep working.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	if !c.started {
		c.started = true
		c.mu.Unlock()
		close(c.events)
		return nil
	}
	cancel, done := c.cancel, c.done
	c.mu.Unlock()
	cancel()
	<-done
	return nil
}

// Connected reports whether the event WebSocket is up right now.
func (c *Client) Connected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.connected
}

func (c *Client) setConnected(v bool) {
	c.mu.Lock()
	c.connected = v
	c.mu.Unlock()
}

func (c *Client) localBase(typ string) EventBase {
	return EventBase{Type: typ, Application: c.cfg.App, Timestamp: Time{time.Now()}, Server: c.name}
}

// run keeps the socket up until ctx ends, then closes Events.
func (c *Client) run(ctx context.Context, conn *websocket.Conn) {
	defer func() {
		c.setConnected(false)
		close(c.events)
		close(c.done)
	}()
	for {
		err := c.read(ctx, conn)
		_ = conn.CloseNow()
		c.setConnected(false)
		if ctx.Err() != nil {
			return
		}
		down := time.Now()
		c.log.Warn("ari event socket dropped; reconnecting", "err", err)
		c.emit(ctx, &Disconnected{EventBase: c.localBase(TypeDisconnected), Err: err})
		var attempts int
		conn, attempts, err = c.dialUntil(ctx, false)
		if err != nil {
			return
		}
		c.log.Info("ari event socket reconnected", "attempts", attempts, "down", time.Since(down))
		c.emit(ctx, &Reconnected{EventBase: c.localBase(TypeReconnected), Down: time.Since(down), Attempts: attempts})
	}
}

// read delivers events from conn until it fails or ctx ends.
func (c *Client) read(ctx context.Context, conn *websocket.Conn) error {
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		t := time.NewTicker(pingInterval)
		defer t.Stop()
		for {
			select {
			case <-rctx.Done():
				return
			case <-t.C:
				pctx, pcancel := context.WithTimeout(rctx, pingInterval/2)
				err := conn.Ping(pctx)
				pcancel()
				if err != nil && rctx.Err() == nil {
					c.log.Warn("ari ping failed", "err", err)
					_ = conn.CloseNow()
					return
				}
			}
		}
	}()
	for {
		typ, data, err := conn.Read(rctx)
		if err != nil {
			return err
		}
		if typ != websocket.MessageText {
			continue
		}
		ev, err := DecodeEvent(data)
		if ev == nil {
			c.log.Warn("ari: ignoring non-event message", "err", err, "bytes", len(data))
			continue
		}
		if err != nil {
			c.log.Warn("ari: event did not decode; delivering raw", "type", ev.Base().Type, "err", err)
		}
		ev.Base().Server = c.name
		if _, ok := ev.(*ApplicationReplaced); ok {
			// Another socket took the app name: this one gets no more
			// events for it. Usually two instances share one config.
			c.log.Warn("ari app replaced by another connection")
		}
		c.log.Debug("ari event", "type", ev.Base().Type, "channel", ChannelOf(ev))
		if !c.emit(rctx, ev) {
			return rctx.Err()
		}
	}
}

// emit delivers ev unless ctx ends first.
func (c *Client) emit(ctx context.Context, ev Event) bool {
	select {
	case c.events <- ev:
		return true
	case <-ctx.Done():
		return false
	}
}

// dialUntil dials with exponential backoff and jitter until it succeeds
// or ctx ends; with failFast, a 401 (bad credentials) ends it at once.
func (c *Client) dialUntil(ctx context.Context, failFast bool) (*websocket.Conn, int, error) {
	for attempt := 1; ; attempt++ {
		conn, err := c.dial(ctx)
		if err == nil {
			c.setConnected(true)
			return conn, attempt, nil
		}
		if failFast && IsUnauthorized(err) {
			return nil, attempt, err
		}
		d := c.backoff(attempt)
		if attempt == 1 || attempt%10 == 0 || IsUnauthorized(err) {
			c.log.Warn("ari dial failed", "attempt", attempt, "retry_in", d, "err", err)
		} else {
			c.log.Debug("ari dial failed", "attempt", attempt, "retry_in", d, "err", err)
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, attempt, fmt.Errorf("ari: connect %s: %w (last error: %v)", c.name, ctx.Err(), err)
		case <-t.C:
		}
	}
}

// backoff is min·2^(attempt-1) capped at max, with "equal jitter": a
// random point in the upper half, so retries from many clients spread out
// but never collapse to zero.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.cfg.ReconnectMin
	for i := 1; i < attempt && d < c.cfg.ReconnectMax; i++ {
		d *= 2
	}
	d = min(d, c.cfg.ReconnectMax)
	half := d / 2
	if half <= 0 {
		return d
	}
	return half + rand.N(half+1)
}

func (c *Client) dial(ctx context.Context) (*websocket.Conn, error) {
	u := *c.base
	u.Path += "/events"
	q := url.Values{}
	q.Set("app", c.cfg.App)
	// api_key rather than a header: it is how Asterisk documents the
	// handshake and it works through proxies that strip Authorization.
	q.Set("api_key", c.cfg.Username+":"+c.cfg.Password)
	if c.cfg.SubscribeAll {
		q.Set("subscribeAll", "true")
	}
	u.RawQuery = q.Encode()
	conn, resp, err := websocket.Dial(ctx, u.String(), &websocket.DialOptions{HTTPClient: c.http})
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			return nil, &Error{Status: resp.StatusCode, Message: fmt.Sprintf("websocket handshake: %v", err), Method: http.MethodGet, Path: "/events"}
		}
		return nil, fmt.Errorf("ari: dial %s/events: %w", c.base.Host, err)
	}
	conn.SetReadLimit(8 << 20)
	return conn, nil
}
