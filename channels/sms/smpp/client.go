package smpp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// ErrClosed is returned by Submit once Close has been called.
var ErrClosed = errors.New("smpp: client closed")

// Client is an SMPP 3.4 ESME: it keeps its sessions bound (reconnecting
// with backoff), submits messages and hands incoming messages and delivery
// receipts to the configured handlers. It is safe for concurrent use.
type Client struct {
	cfg   Config
	log   *slog.Logger
	rate  *bucket
	reasm *Reassembler
	ref   atomic.Uint32 // concatenation references

	mu       sync.Mutex
	started  bool
	closed   bool
	tx       *session      // bound session that may submit, nil while down
	txReady  chan struct{} // closed when tx is set; replaced when tx is lost
	sessions map[*session]struct{}
	first    chan error // result of each loop's first attempt

	ctx    context.Context
	cancel context.CancelFunc
	loops  sync.WaitGroup
}

// NewClient validates cfg and returns an unstarted client; it does no I/O.
func NewClient(cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	c := &Client{
		cfg: cfg,
		log: cfg.Logger.With("smsc", cfg.Addr, "system_id", cfg.SystemID),
		// The bucket sleeps on real timers, so it reads the real clock:
		// an injected test clock that stands still would starve it.
		rate:     newBucket(cfg.Rate, cfg.Burst, time.Now),
		reasm:    NewReassembler(cfg.PartStore, cfg.ReassemblyTimeout, cfg.Now),
		txReady:  make(chan struct{}),
		sessions: map[*session]struct{}{},
	}
	c.ref.Store(rand.Uint32N(256))
	return c, nil
}

// Dial creates a client, starts it and waits, bounded by ctx, until every
// session of the bind mode is bound. A failed first connection or bind
// (wrong password…) is returned and the client closed; later drops are
// reconnected in the background.
func Dial(ctx context.Context, cfg Config) (*Client, error) {
	c, err := NewClient(cfg)
	if err != nil {
		return nil, err
	}
	c.Start(context.Background())
	for range c.roles() {
		select {
		case err := <-c.first:
			if err != nil {
				_ = c.Close(ctx)
				return nil, err
			}
		case <-ctx.Done():
			_ = c.Close(ctx)
			return nil, fmt.Errorf("dial smsc %s: %w", c.cfg.Addr, ctx.Err())
		}
	}
	return c, nil
}

func (c *Client) roles() []CommandID {
	if c.cfg.BindMode == ModeReceiverTransmitter {
		return []CommandID{BindTransmitter, BindReceiver}
	}
	return []CommandID{BindTransceiver}
}

// Start runs the connection loops in the background and returns at once.
// They stop when ctx is done (abruptly) or on Close (with unbind).
func (c *Client) Start(ctx context.Context) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started || c.closed {
		return
	}
	c.started = true
	c.ctx, c.cancel = context.WithCancel(ctx)
	c.first = make(chan error, len(c.roles()))
	for _, role := range c.roles() {
		c.loops.Add(1)
		go c.loop(role)
	}
	c.loops.Add(1)
	go c.expireLoop()
}

// loop keeps one session of the given bind kind up.
func (c *Client) loop(role CommandID) {
	defer c.loops.Done()
	log := c.log.With("bind", role.String())
	backoff := c.cfg.ReconnectMin
	firstDone := false
	report := func(err error) {
		if !firstDone {
			firstDone = true
			c.first <- err
		}
	}
	for c.ctx.Err() == nil {
		s, err := c.connect(c.ctx, role)
		report(err)
		if err != nil {
			if c.ctx.Err() != nil {
				return
			}
			log.Warn("smpp connect failed", "err", err, "retry_in", backoff)
			if sleep(c.ctx, jitter(backoff)) != nil {
				return
			}
			backoff = min(2*backoff, c.cfg.ReconnectMax)
			continue
		}
		backoff = c.cfg.ReconnectMin
		log.Info("smpp bound")
		c.attach(s)
		ka, stop := context.WithCancel(c.ctx)
		go s.keepAlive(ka)
		select {
		case <-s.dead:
		case <-c.ctx.Done():
			s.close(c.ctx.Err())
		}
		stop()
		c.detach(s)
		s.wait()
		if c.isClosed() {
			return
		}
		if c.ctx.Err() == nil {
			log.Warn("smpp session lost; reconnecting", "err", s.deadErr, "retry_in", backoff)
			if sleep(c.ctx, jitter(backoff)) != nil {
				return
			}
		}
	}
}

// connect dials and binds one session.
func (c *Client) connect(ctx context.Context, role CommandID) (*session, error) {
	var d net.Dialer
	dctx, cancel := context.WithTimeout(ctx, c.cfg.ConnectTimeout)
	defer cancel()
	conn, err := d.DialContext(dctx, "tcp", c.cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("dial smsc %s: %w", c.cfg.Addr, err)
	}
	s := newSession(c, conn, role)
	go s.readLoop()
	r, err := s.request(dctx, &PDU{Command: role, Body: &Bind{
		SystemID:         c.cfg.SystemID,
		Password:         c.cfg.Password,
		SystemType:       c.cfg.SystemType,
		InterfaceVersion: InterfaceVersion,
	}}, false)
	if err == nil && r.Command != role.Resp() {
		err = fmt.Errorf("answered with %s %s", r.Command, r.Status)
	} else if err == nil && r.Status != StatusOK {
		err = r.Status
	}
	if err != nil {
		s.close(err)
		s.wait()
		return nil, fmt.Errorf("%s to %s as %q: %w", role, c.cfg.Addr, c.cfg.SystemID, err)
	}
	return s, nil
}

func (c *Client) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

func (c *Client) attach(s *session) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		s.close(ErrClosed)
		return
	}
	c.sessions[s] = struct{}{}
	if s.bind != BindReceiver {
		c.tx = s
		close(c.txReady)
	}
}

func (c *Client) detach(s *session) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.sessions, s)
	if c.tx == s {
		c.tx = nil
		if !c.closed {
			c.txReady = make(chan struct{})
		}
	}
}

// waitTx returns the bound transmitting session, waiting for the link to
// come back if it is down.
func (c *Client) waitTx(ctx context.Context) (*session, error) {
	for {
		c.mu.Lock()
		s, ready, closed := c.tx, c.txReady, c.closed
		c.mu.Unlock()
		if closed {
			return nil, ErrClosed
		}
		if s != nil {
			return s, nil
		}
		select {
		case <-ready:
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for smsc link: %w", ctx.Err())
		}
	}
}

// Submit sends text to the number to, split into as many parts as needed,
// each with a delivery receipt requested, and returns the SMSC's message
// id of each part. Parts wait for the link while it is down and are
// retried after throttling answers, all bounded by ctx. On error, the ids
// of the parts already accepted are returned with it.
func (c *Client) Submit(ctx context.Context, to, text string) ([]string, error) {
	if to == "" {
		return nil, errors.New("smpp: submit: empty destination")
	}
	if text == "" {
		return nil, fmt.Errorf("smpp: submit to %s: empty text", to)
	}
	seg, err := Split(text, uint8(c.ref.Add(1)))
	if err != nil {
		return nil, fmt.Errorf("submit to %s: %w", to, err)
	}
	ids := make([]string, 0, len(seg.Parts))
	for i, part := range seg.Parts {
		sm := &SM{
			SourceTON:          c.cfg.SourceTON,
			SourceNPI:          c.cfg.SourceNPI,
			Source:             c.cfg.SourceAddr,
			DestTON:            c.cfg.DestTON,
			DestNPI:            c.cfg.DestNPI,
			Dest:               to,
			RegisteredDelivery: 1,
			DataCoding:         byte(seg.Coding),
			ShortMessage:       part,
		}
		if seg.UDH {
			sm.ESMClass |= ESMClassUDHI
		}
		id, err := c.submitPart(ctx, sm)
		if err != nil {
			return ids, fmt.Errorf("submit part %d/%d to %s: %w", i+1, len(seg.Parts), to, err)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// submitPart sends one submit_sm until it is accepted or rejected for
// good. A lost link or a missing response resends the part on the next
// session: the SMSC may then have it twice, which beats losing it.
func (c *Client) submitPart(ctx context.Context, sm *SM) (string, error) {
	backoff := c.cfg.RetryMin
	retries := 0
	retry := func(why error) error {
		retries++
		if retries > c.cfg.MaxRetries {
			return fmt.Errorf("giving up after %d retries: %w", c.cfg.MaxRetries, why)
		}
		c.log.Debug("smpp submit retry", "why", why, "in", backoff)
		if err := sleep(ctx, jitter(backoff)); err != nil {
			return fmt.Errorf("%w (last: %w)", err, why)
		}
		backoff = min(2*backoff, c.cfg.RetryMax)
		return nil
	}
	for {
		if err := c.rate.Wait(ctx); err != nil {
			return "", err
		}
		s, err := c.waitTx(ctx)
		if err != nil {
			return "", err
		}
		r, err := s.request(ctx, &PDU{Command: SubmitSM, Body: sm}, true)
		switch {
		case errors.Is(err, errSessionLost):
			continue // waitTx blocks until the link is back
		case errors.Is(err, ErrTimeout):
			if err := retry(err); err != nil {
				return "", err
			}
			continue
		case err != nil:
			return "", err
		}
		if r.Status.Throttling() {
			if err := retry(r.Status); err != nil {
				return "", err
			}
			continue
		}
		if r.Status != StatusOK {
			return "", fmt.Errorf("%s answered %s: %w", SubmitSM, r.Command, r.Status)
		}
		if r.Command != SubmitSMResp {
			return "", fmt.Errorf("%s answered with %s", SubmitSM, r.Command)
		}
		resp, _ := r.Body.(*SMResp)
		if resp == nil {
			return "", nil
		}
		return resp.MessageID, nil
	}
}

// deliver handles one deliver_sm and returns the status to answer with.
func (c *Client) deliver(sm *SM) Status {
	ctx := c.ctx
	if sm == nil {
		return StatusSysErr
	}
	if sm.IsReceipt() {
		r, err := ParseReceipt(sm, c.cfg.ReceiptLocation)
		if err != nil {
			c.log.Error("smpp unparsable delivery receipt", "err", err, "from", sm.Source)
			return StatusRxPAppn
		}
		r.ReceivedAt = c.cfg.Now()
		if c.cfg.OnReceipt == nil {
			return StatusOK
		}
		if err := c.callReceipt(ctx, r); err != nil {
			c.log.Warn("smpp receipt handler failed; smsc will retry", "err", err, "message_id", r.MessageID)
			return StatusRxTAppn
		}
		return StatusOK
	}
	payload, err := sm.Payload()
	if err != nil {
		c.log.Error("smpp bad deliver_sm", "err", err, "from", sm.Source)
		return StatusRxPAppn
	}
	var concat *Concat
	if sm.ESMClass&ESMClassUDHI != 0 {
		concat, payload, err = ParseUDH(payload)
	} else {
		concat, err = SARConcat(sm.TLVs)
	}
	if err != nil {
		c.log.Error("smpp bad concatenation info", "err", err, "from", sm.Source)
		return StatusRxPAppn
	}
	in, err := c.reasm.Add(ctx, Part{From: sm.Source, To: sm.Dest, Coding: Coding(sm.DataCoding), Data: payload}, concat)
	switch {
	case errors.Is(err, ErrUndecodable):
		c.log.Error("smpp undecodable message rejected", "err", err, "from", sm.Source,
			"data_coding", sm.DataCoding, "payload_hex", fmt.Sprintf("%x", payload))
		return StatusRxPAppn
	case err != nil:
		c.log.Warn("smpp reassembly failed; smsc will retry", "err", err, "from", sm.Source)
		return StatusRxTAppn
	case in == nil:
		return StatusOK // more parts to come
	}
	if err := c.handOff(ctx, in); err != nil {
		c.log.Warn("smpp message handler failed; smsc will retry", "err", err, "from", in.From)
		return StatusRxTAppn
	}
	return StatusOK
}

func (c *Client) handOff(ctx context.Context, in *Incoming) error {
	if c.cfg.OnMessage != nil {
		if err := c.callMessage(ctx, *in); err != nil {
			return err
		}
	}
	return c.reasm.Done(ctx, in)
}

// callMessage and callReceipt turn a handler panic into an error: the
// handler is someone else's code serving a peer.
func (c *Client) callMessage(ctx context.Context, in Incoming) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("message handler panic: %v", v)
		}
	}()
	return c.cfg.OnMessage(ctx, in)
}

func (c *Client) callReceipt(ctx context.Context, r Receipt) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("receipt handler panic: %v", v)
		}
	}()
	return c.cfg.OnReceipt(ctx, r)
}

// FlushExpired hands off the messages whose parts stopped coming more than
// ReassemblyTimeout ago, with what came. The client calls it periodically.
func (c *Client) FlushExpired(ctx context.Context) error {
	ins, err := c.reasm.Expired(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, in := range ins {
		c.log.Warn("smpp delivering incomplete message", "from", in.From, "parts", len(in.PartsIDs))
		if err := c.handOff(ctx, in); err != nil {
			errs = append(errs, fmt.Errorf("hand off partial message from %s: %w", in.From, err))
		}
	}
	return errors.Join(errs...)
}

func (c *Client) expireLoop() {
	defer c.loops.Done()
	t := time.NewTicker(max(c.cfg.ReassemblyTimeout/4, time.Second))
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
			if err := c.FlushExpired(c.ctx); err != nil && c.ctx.Err() == nil {
				c.log.Warn("smpp flushing expired parts", "err", err)
			}
		}
	}
}

// Outstanding reports requests awaiting a response on the transmitting
// session (0 while it is down).
func (c *Client) Outstanding() int {
	c.mu.Lock()
	s := c.tx
	c.mu.Unlock()
	if s == nil {
		return 0
	}
	return s.outstanding()
}

// Close unbinds every session (waiting for unbind_resp, bounded by ctx),
// stops reconnecting and waits for the background work. Submits still
// waiting fail with ErrClosed or their own context.
func (c *Client) Close(ctx context.Context) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	if c.tx == nil {
		close(c.txReady) // wake waiters so they see closed
	}
	sessions := make([]*session, 0, len(c.sessions))
	for s := range c.sessions {
		sessions = append(sessions, s)
	}
	started := c.started
	c.mu.Unlock()
	if !started {
		return nil
	}
	var errs []error
	for _, s := range sessions {
		if err := s.unbind(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	c.cancel()
	done := make(chan struct{})
	go func() { c.loops.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("wait for smpp loops: %w", ctx.Err()))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close smpp client: %w", err)
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// jitter spreads d by ±20% so many clients do not reconnect in step.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return d - d/5 + rand.N(2*d/5+1)
}

// bucket is a token bucket: rate tokens per second, at most burst saved.
type bucket struct {
	mu     sync.Mutex
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
	now    func() time.Time
}

func newBucket(rate float64, burst int, now func() time.Time) *bucket {
	return &bucket{rate: rate, burst: float64(burst), tokens: float64(burst), now: now}
}

// Wait takes one token, waiting for it bounded by ctx.
func (b *bucket) Wait(ctx context.Context) error {
	if b.rate <= 0 {
		return ctx.Err()
	}
	for {
		b.mu.Lock()
		now := b.now()
		if !b.last.IsZero() {
			b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
		}
		b.last = now
		if b.tokens >= 1 {
			b.tokens--
			b.mu.Unlock()
			return nil
		}
		wait := time.Duration((1 - b.tokens) / b.rate * float64(time.Second))
		b.mu.Unlock()
		if err := sleep(ctx, wait); err != nil {
			return err
		}
	}
}
