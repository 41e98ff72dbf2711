package ari

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// Pool drives several Asterisk servers as one: it fans their events into
// one channel and remembers which server owns each channel and bridge, so
// REST calls about a channel go to the server that has it.
type Pool struct {
	clients []*Client
	byName  map[string]*Client
	events  chan Event
	next    atomic.Uint64

	mu      sync.Mutex
	owner   map[string]*Client // channel id -> server
	bridges map[string]*Client // bridge id -> server
	wg      sync.WaitGroup
	started bool
	done    chan struct{}
	closeMu sync.Once
}

// NewPool groups clients; their names (Config.Name) must be unique.
func NewPool(clients ...*Client) (*Pool, error) {
	if len(clients) == 0 {
		return nil, errors.New("ari: pool needs at least one client")
	}
	p := &Pool{
		clients: clients,
		byName:  make(map[string]*Client, len(clients)),
		events:  make(chan Event, 256),
		owner:   map[string]*Client{},
		bridges: map[string]*Client{},
		done:    make(chan struct{}),
	}
	for _, c := range clients {
		if _, dup := p.byName[c.Name()]; dup {
			return nil, fmt.Errorf("ari: pool: two servers named %q", c.Name())
		}
		p.byName[c.Name()] = c
	}
	return p, nil
}

// Connect connects every client (see Client.Connect) and starts fanning in
// their events. If one fails, every client is closed and the error names
// the server. Use Start when some servers may be down at startup.
func (p *Pool) Connect(ctx context.Context) error {
	if err := p.begin(); err != nil {
		return err
	}
	for i, c := range p.clients {
		if err := c.Connect(ctx); err != nil {
			for j, d := range p.clients {
				if j != i {
					_ = d.Close()
				}
			}
			close(p.events)
			return fmt.Errorf("ari: pool: server %s: %w", c.Name(), err)
		}
	}
	p.fanIn()
	return nil
}

// Start starts every client in the background (see Client.Start): each
// server's Connected arrives on Events when it comes up, and Pick skips
// servers that are down.
func (p *Pool) Start() error {
	if err := p.begin(); err != nil {
		return err
	}
	for _, c := range p.clients {
		if err := c.Start(); err != nil {
			for _, d := range p.clients {
				_ = d.Close()
			}
			close(p.events)
			return fmt.Errorf("ari: pool: server %s: %w", c.Name(), err)
		}
	}
	p.fanIn()
	return nil
}

func (p *Pool) begin() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.started {
		return errors.New("ari: pool: already started")
	}
	p.started = true
	return nil
}

func (p *Pool) fanIn() {
	for _, c := range p.clients {
		p.wg.Add(1)
		go p.forward(c)
	}
	go func() {
		p.wg.Wait()
		close(p.events)
	}()
}

// Events is the merged event stream; Event.Base().Server tells the
// server. Closed after Close.
func (p *Pool) Events() <-chan Event { return p.events }

// Close closes every client; Events closes once their last events are
// forwarded (or dropped, if nobody reads them any more).
func (p *Pool) Close() error {
	p.closeMu.Do(func() { close(p.done) })
	var errs []error
	for _, c := range p.clients {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// Clients returns the servers in the order given to NewPool.
func (p *Pool) Clients() []*Client { return append([]*Client(nil), p.clients...) }

// Client returns the server with that name, or nil.
func (p *Pool) Client(name string) *Client { return p.byName[name] }

// Pick returns the next connected server, round robin, for placing a new
// call; when none is connected it still returns one so the REST error
// surfaces to the caller.
func (p *Pool) Pick() *Client {
	n := len(p.clients)
	start := int(p.next.Add(1)-1) % n
	for i := range n {
		if c := p.clients[(start+i)%n]; c.Connected() {
			return c
		}
	}
	return p.clients[start]
}

// Remember records that server c owns channel id (e.g. right after
// originating on it), before any event says so.
func (p *Pool) Remember(c *Client, channelID string) {
	p.mu.Lock()
	p.owner[channelID] = c
	p.mu.Unlock()
}

// ForChannel returns the server that owns channel id: from events seen so
// far, else by asking each server. IsNotFound(err) when none has it.
func (p *Pool) ForChannel(ctx context.Context, id string) (*Client, error) {
	p.mu.Lock()
	c := p.owner[id]
	p.mu.Unlock()
	if c != nil {
		return c, nil
	}
	return p.probe(ctx, id, func(c *Client) error { _, err := c.ChannelGet(ctx, id); return err }, p.owner)
}

// ForBridge returns the server that owns bridge id.
func (p *Pool) ForBridge(ctx context.Context, id string) (*Client, error) {
	p.mu.Lock()
	c := p.bridges[id]
	p.mu.Unlock()
	if c != nil {
		return c, nil
	}
	return p.probe(ctx, id, func(c *Client) error { _, err := c.BridgeGet(ctx, id); return err }, p.bridges)
}

func (p *Pool) probe(ctx context.Context, id string, get func(*Client) error, into map[string]*Client) (*Client, error) {
	var errs []error
	for _, c := range p.clients {
		err := get(c)
		if err == nil {
			p.mu.Lock()
			into[id] = c
			p.mu.Unlock()
			return c, nil
		}
		if !IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("ari: pool: find %s: %w", id, errors.Join(errs...))
	}
	return nil, &Error{Status: 404, Message: "not found on any server", Method: "GET", Path: id}
}

// forward copies c's events into the pool, learning ownership first so a
// consumer acting on the event is routed correctly.
func (p *Pool) forward(c *Client) {
	defer p.wg.Done()
	for ev := range c.Events() {
		p.learn(c, ev)
		select {
		case p.events <- ev:
		case <-p.done:
		}
	}
}

func (p *Pool) learn(c *Client, ev Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch e := ev.(type) {
	case *StasisStart:
		p.owner[e.Channel.ID] = c
	case *ChannelCreated:
		p.owner[e.Channel.ID] = c
	case *Dial:
		p.owner[e.Peer.ID] = c
		if e.Caller != nil {
			p.owner[e.Caller.ID] = c
		}
	case *StasisEnd:
		// For dialplan channels StasisEnd is the last event; forgetting
		// here keeps the map bounded (a later call re-probes).
		delete(p.owner, e.Channel.ID)
	case *ChannelDestroyed:
		delete(p.owner, e.Channel.ID)
	case *BridgeCreated:
		p.bridges[e.Bridge.ID] = c
	case *ChannelEnteredBridge:
		p.bridges[e.Bridge.ID] = c
	case *BridgeDestroyed:
		delete(p.bridges, e.Bridge.ID)
	}
}
