package smpp

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"
)

// errSessionLost means the connection ended before a response came; the
// request may be retried on the next session.
var errSessionLost = errors.New("smpp: session lost")

// ErrTimeout is returned (wrapped) when no response came within
// Config.RequestTimeout.
var ErrTimeout = errors.New("smpp: response timeout")

// session is one TCP connection to the SMSC and its bind.
type session struct {
	c    *Client
	conn net.Conn
	bind CommandID
	log  *slog.Logger

	wmu sync.Mutex // one writer at a time; PDUs must not interleave

	mu      sync.Mutex
	seq     uint32
	pending map[uint32]chan *PDU
	bound   bool

	window chan struct{} // a slot per outstanding request (Config.WindowSize)

	dead     chan struct{}
	deadOnce sync.Once
	deadErr  error

	readDone chan struct{}  // closed when readLoop returns: no more handlers start
	handlers sync.WaitGroup // deliver_sm hand-offs in flight
}

func newSession(c *Client, conn net.Conn, bind CommandID) *session {
	return &session{
		c:        c,
		conn:     conn,
		bind:     bind,
		log:      c.log.With("bind", bind.String(), "local", conn.LocalAddr().String()),
		pending:  map[uint32]chan *PDU{},
		window:   make(chan struct{}, c.cfg.WindowSize),
		dead:     make(chan struct{}),
		readDone: make(chan struct{}),
	}
}

// close ends the session once; pending requests see errSessionLost.
func (s *session) close(err error) {
	s.deadOnce.Do(func() {
		s.deadErr = err
		close(s.dead)
		_ = s.conn.Close()
	})
}

func (s *session) nextSeq() uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	if s.seq > MaxSeq {
		s.seq = 1
	}
	return s.seq
}

// write sends one PDU, bounded by ConnectTimeout so a stuck peer cannot
// block writers forever.
func (s *session) write(p *PDU) error {
	b, err := p.Encode(nil)
	if err != nil {
		return err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	_ = s.conn.SetWriteDeadline(time.Now().Add(s.c.cfg.ConnectTimeout))
	if _, err := s.conn.Write(b); err != nil {
		s.close(err)
		return fmt.Errorf("%w: write %s: %w", errSessionLost, p.Command, err)
	}
	return nil
}

// request sends p with a fresh sequence number and waits for the matching
// response. windowed requests take a window slot first; keep-alives and
// unbind do not, so a full window cannot starve them.
func (s *session) request(ctx context.Context, p *PDU, windowed bool) (*PDU, error) {
	timeout := s.c.cfg.RequestTimeout
	if p.Command == s.bind {
		timeout = s.c.cfg.ConnectTimeout
	}
	if windowed {
		select {
		case s.window <- struct{}{}:
			defer func() { <-s.window }()
		case <-s.dead:
			return nil, errSessionLost
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	p.Seq = s.nextSeq()
	ch := make(chan *PDU, 1)
	s.mu.Lock()
	s.pending[p.Seq] = ch
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.pending, p.Seq)
		s.mu.Unlock()
	}()
	if err := s.write(p); err != nil {
		return nil, err
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case r := <-ch:
		return r, nil
	case <-s.dead:
		// The peer may answer and hang up at once (unbind_resp); the
		// answer counts if it came.
		select {
		case r := <-ch:
			return r, nil
		default:
		}
		return nil, errSessionLost
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-t.C:
		return nil, fmt.Errorf("%w: %s seq %d after %s", ErrTimeout, p.Command, p.Seq, timeout)
	}
}

// outstanding reports requests awaiting a response (for tests and metrics).
func (s *session) outstanding() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending)
}

// readLoop reads PDUs until the connection ends, matching responses to
// requests and serving the SMSC's requests.
func (s *session) readLoop() {
	defer close(s.readDone)
	defer func() {
		if v := recover(); v != nil {
			// A bug here must not take the process down; the session is
			// dropped and re-established.
			s.log.Error("smpp read loop panic", "panic", v)
			s.close(fmt.Errorf("smpp: read loop panic: %v", v))
		}
	}()
	r := bufio.NewReaderSize(s.conn, 4096)
	for {
		p, err := ReadPDU(r, s.c.cfg.MaxPDULen)
		if err != nil {
			var de *DecodeError
			var fe *framingError
			switch {
			case errors.As(err, &de) && p != nil:
				s.log.Warn("smpp malformed pdu from smsc", "err", err, "seq", p.Seq)
				s.malformed(p, de)
				continue
			case errors.As(err, &fe):
				// The stream is out of step; say so and start over.
				s.log.Warn("smpp bad command_length from smsc", "err", err)
				_ = s.write(&PDU{Command: GenericNack, Status: StatusInvCmdLen, Seq: fe.seq})
				s.close(err)
				return
			default:
				s.close(err)
				return
			}
		}
		s.dispatch(p)
	}
}

// malformed answers a PDU that was read whole but could not be decoded.
func (s *session) malformed(p *PDU, de *DecodeError) {
	if p.Command.IsResponse() {
		// Fail the request it answers instead of letting it time out.
		s.deliverResp(&PDU{Command: GenericNack, Status: de.Status, Seq: p.Seq})
		return
	}
	_ = s.write(&PDU{Command: GenericNack, Status: de.Status, Seq: p.Seq})
}

func (s *session) deliverResp(p *PDU) {
	s.mu.Lock()
	ch, ok := s.pending[p.Seq]
	if ok {
		delete(s.pending, p.Seq)
	}
	s.mu.Unlock()
	if !ok {
		// Late answers to timed-out requests land here; a generic_nack
		// may be the SMSC failing to read something we sent.
		lvl := slog.LevelDebug
		if p.Command == GenericNack {
			lvl = slog.LevelWarn
		}
		s.log.Log(context.Background(), lvl, "smpp response for no pending request",
			"command", p.Command.String(), "status", p.Status.String(), "seq", p.Seq)
		return
	}
	ch <- p // buffered, one response per request
}

func (s *session) dispatch(p *PDU) {
	if p.Command.IsResponse() {
		s.deliverResp(p)
		return
	}
	switch p.Command {
	case EnquireLink:
		_ = s.write(&PDU{Command: EnquireLinkResp, Seq: p.Seq})
	case Unbind:
		_ = s.write(&PDU{Command: UnbindResp, Seq: p.Seq})
		s.log.Info("smpp smsc unbound us")
		s.close(errors.New("smpp: unbound by smsc"))
	case DeliverSM:
		if s.bind == BindTransmitter {
			_ = s.write(&PDU{Command: DeliverSMResp, Status: StatusInvBndSts, Seq: p.Seq})
			return
		}
		sm, _ := p.Body.(*SM)
		s.handlers.Add(1)
		go func() {
			defer s.handlers.Done()
			st := s.c.deliver(sm)
			_ = s.write(&PDU{Command: DeliverSMResp, Status: st, Seq: p.Seq, Body: &SMResp{}})
		}()
	default:
		// A request we know but an ESME never receives (bind, submit_sm).
		_ = s.write(&PDU{Command: p.Command.Resp(), Status: StatusInvBndSts, Seq: p.Seq})
	}
}

// keepAlive sends enquire_link every interval; a failed one drops the
// session so the client reconnects.
func (s *session) keepAlive(ctx context.Context) {
	t := time.NewTicker(s.c.cfg.EnquireLinkInterval)
	defer t.Stop()
	for {
		select {
		case <-s.dead:
			return
		case <-ctx.Done():
			return
		case <-t.C:
		}
		r, err := s.request(ctx, &PDU{Command: EnquireLink}, false)
		if err == nil && r.Command != EnquireLinkResp {
			err = fmt.Errorf("smpp: enquire_link answered with %s %s", r.Command, r.Status)
		}
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn("smpp enquire_link failed; dropping session", "err", err)
			}
			s.close(fmt.Errorf("enquire_link: %w", err))
			return
		}
	}
}

// unbind asks the SMSC to end the session and waits for unbind_resp,
// bounded by ctx, then closes the connection.
func (s *session) unbind(ctx context.Context) error {
	defer s.close(errors.New("smpp: closed"))
	r, err := s.request(ctx, &PDU{Command: Unbind}, false)
	if err != nil {
		return fmt.Errorf("unbind: %w", err)
	}
	if r.Command != UnbindResp || r.Status != StatusOK {
		return fmt.Errorf("unbind answered with %s %s", r.Command, r.Status)
	}
	return nil
}

// wait returns once the read loop and every hand-off it started are done.
// Call it after the session is dead.
func (s *session) wait() {
	<-s.readDone
	s.handlers.Wait()
}
