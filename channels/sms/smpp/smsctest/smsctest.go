// Package smsctest is an SMSC test double speaking SMPP 3.4 over TCP on
// 127.0.0.1, for tests of anything that talks to an operator's SMSC.
//
// It accepts binds (checking system_id and password), answers submit_sm
// with message ids and records what was submitted (parts reassembled and
// decoded), sends mobile-originated messages (split and concatenated like a
// handset would, in any order) and delivery receipts, can throttle, hold
// responses, refuse binds and drop every link. Any malformed PDU it
// receives fails the test.
package smsctest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dargah137/dargah/channels/sms/smpp"
)

// Config sets the double up. Zero fields take the defaults.
type Config struct {
	// SystemID and Password are what binds must carry (default "dargah"
	// and "secret").
	SystemID, Password string
}

// Submitted is one message the client submitted, reassembled from its
// accepted parts.
type Submitted struct {
	From, To string
	Text     string
	Coding   smpp.Coding
	// IDs are the message ids the double gave each part, in part order.
	IDs                []string
	RegisteredDelivery byte
	// Parts are the raw short_message fields, UDH included, in part order.
	Parts [][]byte
}

// Server is the SMSC double. Its methods are safe for concurrent use.
type Server struct {
	t   testing.TB
	cfg Config
	ln  net.Listener

	mu             sync.Mutex
	changed        chan struct{} // closed and replaced on every state change
	conns          map[*conn]struct{}
	closed         bool
	nextID         int
	pendingParts   map[string][]part
	messages       []Submitted
	throttleN      int
	throttleStatus smpp.Status
	refuseBinds    bool
	refused        int
	binds          int
	unbinds        int
	enquireLinks   int
	hold           bool
	held           []heldResp
	outstanding    int
	maxOutstanding int
	submitsSeen    int

	wg sync.WaitGroup
}

type part struct {
	seq  uint8
	id   string
	data []byte
	raw  []byte
	sm   *smpp.SM
}

type heldResp struct {
	c *conn
	p *smpp.PDU
	// record accepts the part when the response is sent (see respond).
	record   func()
	to, from string // of the held part, for an early receipt
}

// New starts a double on 127.0.0.1:0; it stops when the test ends.
func New(t testing.TB, cfg Config) *Server {
	t.Helper()
	if cfg.SystemID == "" {
		cfg.SystemID = "dargah"
	}
	if cfg.Password == "" {
		cfg.Password = "secret"
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smsctest: listen: %v", err)
	}
	s := &Server{t: t, cfg: cfg, ln: ln, changed: make(chan struct{}), conns: map[*conn]struct{}{}, pendingParts: map[string][]part{}}
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(s.Close)
	return s
}

// Addr is the host:port to dial.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops listening, drops every link and waits for its goroutines.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	_ = s.ln.Close()
	s.DropAll()
	s.wg.Wait()
}

// notify wakes waiters; call with mu held.
func (s *Server) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// waitFor waits until cond (called with mu held) holds or ctx is done.
func (s *Server) waitFor(ctx context.Context, what string, cond func() bool) error {
	for {
		s.mu.Lock()
		ok, ch := cond(), s.changed
		s.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("smsctest: waiting for %s: %w", what, ctx.Err())
		}
	}
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		c := &conn{s: s, nc: nc, pending: map[uint32]chan *smpp.PDU{}}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			_ = nc.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.notify()
		s.mu.Unlock()
		s.wg.Add(1)
		go c.serve()
	}
}

// DropAll closes every client connection abruptly, as a network fault
// would. Held responses are discarded.
func (s *Server) DropAll() {
	s.mu.Lock()
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.outstanding -= len(s.held)
	s.held = nil
	s.notify()
	s.mu.Unlock()
	for _, c := range conns {
		_ = c.nc.Close()
	}
}

// Throttle answers the next n submit_sm with status (ESME_RTHROTTLED or
// ESME_RMSGQFUL, typically) instead of accepting them.
func (s *Server) Throttle(n int, status smpp.Status) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttleN, s.throttleStatus = n, status
}

// RefuseBinds makes binds fail with ESME_RBINDFAIL while on is true.
func (s *Server) RefuseBinds(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuseBinds = on
}

// Hold keeps submit_sm responses back until Release, so tests can observe
// how many requests the client keeps outstanding.
func (s *Server) Hold() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hold = true
}

// HeldIDs returns the message ids of the held responses: an SMSC's
// delivery report may reach the client before the answer to its submit.
func (s *Server) HeldIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for _, h := range s.held {
		if r, ok := h.p.Body.(*smpp.SMResp); ok {
			ids = append(ids, r.MessageID)
		}
	}
	return ids
}

// Release sends every held response and stops holding.
func (s *Server) Release() {
	s.mu.Lock()
	held := s.held
	s.held, s.hold = nil, false
	s.mu.Unlock()
	for _, h := range held {
		h.c.respond(h.p, h.record)
	}
}

// Stats is a snapshot of counters.
type Stats struct {
	Binds, RefusedBinds, Unbinds, EnquireLinks int
	// Submits counts submit_sm PDUs received, throttled ones included.
	Submits int
	// Outstanding is submit_sm received and not yet answered; Max is the
	// most there ever were at once.
	Outstanding, MaxOutstanding int
	Conns                       int
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.statsLocked()
}

func (s *Server) statsLocked() Stats {
	return Stats{Binds: s.binds, RefusedBinds: s.refused, Unbinds: s.unbinds, EnquireLinks: s.enquireLinks,
		Submits: s.submitsSeen, Outstanding: s.outstanding, MaxOutstanding: s.maxOutstanding, Conns: len(s.conns)}
}

// WaitStats waits until cond holds for the counters, bounded by ctx.
func (s *Server) WaitStats(ctx context.Context, what string, cond func(Stats) bool) error {
	return s.waitFor(ctx, what, func() bool { return cond(s.statsLocked()) })
}

// Messages returns the complete submitted messages so far.
func (s *Server) Messages() []Submitted {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.messages)
}

// WaitMessages waits until at least n messages are complete.
func (s *Server) WaitMessages(ctx context.Context, n int) ([]Submitted, error) {
	err := s.waitFor(ctx, fmt.Sprintf("%d submitted messages", n), func() bool { return len(s.messages) >= n })
	return s.Messages(), err
}

// WaitMessagesTo waits until at least n complete messages are addressed
// to to, in whatever form the number was written (+98…, 98…, 0…: the last
// ten digits decide), and returns those messages in order. Tests that
// follow one citizen's conversation use it: other texts (an official's
// notice of the case) may go out in between.
func (s *Server) WaitMessagesTo(ctx context.Context, to string, n int) ([]Submitted, error) {
	same := func(m Submitted) bool { return lastDigits(m.To) == lastDigits(to) }
	err := s.waitFor(ctx, fmt.Sprintf("%d submitted messages to %s", n, to), func() bool {
		k := 0
		for _, m := range s.messages {
			if same(m) {
				k++
			}
		}
		return k >= n
	})
	var out []Submitted
	for _, m := range s.Messages() {
		if same(m) {
			out = append(out, m)
		}
	}
	return out, err
}

// lastDigits is the last ten digits of a phone number.
func lastDigits(number string) string {
	d := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, number)
	return d[max(0, len(d)-10):]
}

// receiver picks a bound connection that may receive deliver_sm, waiting
// for one bounded by ctx.
func (s *Server) receiver(ctx context.Context) (*conn, error) {
	var found *conn
	err := s.waitFor(ctx, "a bound receiver", func() bool {
		for c := range s.conns {
			if c.bound == smpp.BindReceiver || c.bound == smpp.BindTransceiver {
				found = c
				return true
			}
		}
		return false
	})
	return found, err
}

// Send sends a request PDU to a bound receiver and returns its response.
func (s *Server) Send(ctx context.Context, p *smpp.PDU) (*smpp.PDU, error) {
	c, err := s.receiver(ctx)
	if err != nil {
		return nil, err
	}
	return c.request(ctx, p)
}

// SendRaw writes raw octets to a bound receiver, for malformed-input tests.
// It returns the next PDU the client sends that is not one of its own
// requests (a generic_nack, typically), or ctx's error.
func (s *Server) SendRaw(ctx context.Context, b []byte) (*smpp.PDU, error) {
	c, err := s.receiver(ctx)
	if err != nil {
		return nil, err
	}
	ch := make(chan *smpp.PDU, 1)
	c.mu.Lock()
	c.rawWaiter = ch
	c.mu.Unlock()
	if err := c.writeRaw(b); err != nil {
		return nil, err
	}
	select {
	case p := <-ch:
		return p, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// MOOptions shapes a mobile-originated message.
type MOOptions struct {
	// Order lists the 1-based part numbers in sending order (nil: in order).
	Order []int
	// Ref is the concatenation reference.
	Ref uint16
	// Ref16 uses the 16-bit reference UDH element (IEI 0x08).
	Ref16 bool
	// SAR carries concatenation in sar_* TLVs instead of a UDH.
	SAR bool
}

// SendMO sends text from a handset (from) to our short code (to) as
// deliver_sm, split like a handset would split it, and returns once every
// part was answered. A part answered with an error status is an error.
func (s *Server) SendMO(ctx context.Context, from, to, text string, o MOOptions) error {
	pdus, err := MOParts(from, to, text, o)
	if err != nil {
		return err
	}
	for _, p := range pdus {
		r, err := s.Send(ctx, p)
		if err != nil {
			return err
		}
		if r.Command != smpp.DeliverSMResp || r.Status != smpp.StatusOK {
			return fmt.Errorf("smsctest: deliver_sm answered with %s %s", r.Command, r.Status)
		}
	}
	return nil
}

// MOParts builds the deliver_sm PDUs of a mobile-originated message.
func MOParts(from, to, text string, o MOOptions) ([]*smpp.PDU, error) {
	seg, err := smpp.Split(text, uint8(o.Ref))
	if err != nil {
		return nil, err
	}
	n := len(seg.Parts)
	order := o.Order
	if order == nil {
		for i := range n {
			order = append(order, i+1)
		}
	}
	if len(order) != n {
		return nil, fmt.Errorf("smsctest: order has %d entries for %d parts", len(order), n)
	}
	var out []*smpp.PDU
	for _, k := range order {
		if k < 1 || k > n {
			return nil, fmt.Errorf("smsctest: part %d of %d", k, n)
		}
		sm := &smpp.SM{Source: from, SourceTON: 1, SourceNPI: 1, Dest: to, DataCoding: byte(seg.Coding)}
		data := seg.Parts[k-1]
		if seg.UDH {
			body := data[6:]
			switch {
			case o.SAR:
				sm.ShortMessage = body
				sm.TLVs.SetUint16(smpp.TagSARMsgRefNum, o.Ref)
				sm.TLVs.SetUint8(smpp.TagSARTotalSegments, uint8(n))
				sm.TLVs.SetUint8(smpp.TagSARSegmentSeqnum, uint8(k))
			case o.Ref16:
				sm.ESMClass = smpp.ESMClassUDHI
				sm.ShortMessage = append([]byte{6, 0x08, 4, byte(o.Ref >> 8), byte(o.Ref), byte(n), byte(k)}, body...)
			default:
				sm.ESMClass = smpp.ESMClassUDHI
				sm.ShortMessage = data
			}
		} else {
			sm.ShortMessage = data
		}
		out = append(out, &smpp.PDU{Command: smpp.DeliverSM, Body: sm})
	}
	return out, nil
}

// SendReceipt sends a delivery receipt for a message id the double gave,
// with stat (DELIVRD, UNDELIV, …) in the text and the receipted_message_id
// and message_state TLVs.
func (s *Server) SendReceipt(ctx context.Context, id, stat string, state smpp.MessageState) error {
	s.mu.Lock()
	var msg *Submitted
	for i := range s.messages {
		if slices.Contains(s.messages[i].IDs, id) {
			msg = &s.messages[i]
		}
	}
	for _, h := range s.held { // a receipt before the answer to the submit
		if r, ok := h.p.Body.(*smpp.SMResp); ok && r.MessageID == id && msg == nil {
			msg = &Submitted{To: h.to, From: h.from}
		}
	}
	s.mu.Unlock()
	if msg == nil {
		return fmt.Errorf("smsctest: no submitted message has id %s", id)
	}
	date := time.Now().UTC().Format("0601021504")
	txt := []rune(msg.Text)
	txt = txt[:min(len(txt), 20)]
	// The text excerpt is ASCII-only in practice; replace the rest so the
	// receipt stays in the default alphabet.
	excerpt := strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7E {
			return '?'
		}
		return r
	}, string(txt))
	body := fmt.Sprintf("id:%s sub:001 dlvrd:001 submit date:%s done date:%s stat:%s err:000 text:%s", id, date, date, stat, excerpt)
	enc, err := smpp.EncodeGSM7(body)
	if err != nil {
		return err
	}
	sm := &smpp.SM{Source: msg.To, Dest: msg.From, ESMClass: smpp.ESMTypeDeliveryReceipt, ShortMessage: enc}
	sm.TLVs.SetCString(smpp.TagReceiptedMessageID, id)
	sm.TLVs.SetUint8(smpp.TagMessageState, uint8(state))
	r, err := s.Send(ctx, &smpp.PDU{Command: smpp.DeliverSM, Body: sm})
	if err != nil {
		return err
	}
	if r.Status != smpp.StatusOK {
		return fmt.Errorf("smsctest: receipt answered with %s", r.Status)
	}
	return nil
}

// conn is one client connection.
type conn struct {
	s   *Server
	nc  net.Conn
	wmu sync.Mutex

	mu        sync.Mutex
	seq       uint32
	pending   map[uint32]chan *smpp.PDU
	rawWaiter chan *smpp.PDU
	bound     smpp.CommandID // bind command once bound; 0 before
}

func (c *conn) serve() {
	s := c.s
	defer s.wg.Done()
	defer func() {
		_ = c.nc.Close()
		s.mu.Lock()
		delete(s.conns, c)
		s.notify()
		s.mu.Unlock()
	}()
	r := bufio.NewReader(c.nc)
	for {
		p, err := smpp.ReadPDU(r, 0)
		if err != nil {
			var de *smpp.DecodeError
			if errors.As(err, &de) || errors.Is(err, smpp.ErrCommandLength) {
				s.t.Errorf("smsctest: malformed PDU from client: %v", err)
				seq := uint32(0)
				if p != nil {
					seq = p.Seq
				}
				st := smpp.StatusInvCmdLen
				if de != nil {
					st = de.Status
				}
				_ = c.write(&smpp.PDU{Command: smpp.GenericNack, Status: st, Seq: seq})
				if de != nil {
					continue
				}
			}
			return
		}
		c.handle(p)
	}
}

func (c *conn) handle(p *smpp.PDU) {
	s := c.s
	if p.Command.IsResponse() {
		c.mu.Lock()
		ch, ok := c.pending[p.Seq]
		delete(c.pending, p.Seq)
		raw := c.rawWaiter
		if !ok && raw != nil {
			c.rawWaiter = nil
		}
		sent := p.Seq <= c.seq
		c.mu.Unlock()
		switch {
		case ok:
			ch <- p
		case raw != nil:
			raw <- p
		case !sent:
			// A late answer to a request whose sender gave up is fine;
			// an answer to a sequence number never sent is not.
			s.t.Errorf("smsctest: %s seq %d answers no request", p.Command, p.Seq)
		}
		return
	}
	switch p.Command {
	case smpp.BindTransceiver, smpp.BindTransmitter, smpp.BindReceiver:
		c.bind(p)
	case smpp.EnquireLink:
		s.mu.Lock()
		s.enquireLinks++
		s.notify()
		s.mu.Unlock()
		_ = c.write(&smpp.PDU{Command: smpp.EnquireLinkResp, Seq: p.Seq})
	case smpp.Unbind:
		s.mu.Lock()
		s.unbinds++
		s.notify()
		s.mu.Unlock()
		_ = c.write(&smpp.PDU{Command: smpp.UnbindResp, Seq: p.Seq})
		_ = c.nc.Close()
	case smpp.SubmitSM:
		c.submit(p)
	default:
		s.t.Errorf("smsctest: unexpected %s from client", p.Command)
		_ = c.write(&smpp.PDU{Command: smpp.GenericNack, Status: smpp.StatusInvCmdID, Seq: p.Seq})
	}
}

func (c *conn) bind(p *smpp.PDU) {
	s := c.s
	b := p.Body.(*smpp.Bind)
	resp := &smpp.PDU{Command: p.Command.Resp(), Seq: p.Seq}
	c.mu.Lock()
	already := c.bound != 0
	c.mu.Unlock()
	s.mu.Lock()
	switch {
	case already:
		resp.Status = smpp.StatusAlyBnd
	case b.InterfaceVersion != smpp.InterfaceVersion:
		s.t.Errorf("smsctest: bind with interface_version 0x%02x", b.InterfaceVersion)
		resp.Status = smpp.StatusBindFail
	case b.SystemID != s.cfg.SystemID:
		resp.Status = smpp.StatusInvSysID
	case b.Password != s.cfg.Password:
		resp.Status = smpp.StatusInvPaswd
	case s.refuseBinds:
		resp.Status = smpp.StatusBindFail
		s.refused++
	default:
		resp.Body = &smpp.BindResp{SystemID: "smsctest"}
		s.binds++
		c.mu.Lock()
		c.bound = p.Command
		c.mu.Unlock()
	}
	s.notify()
	s.mu.Unlock()
	_ = c.write(resp)
}

func (c *conn) submit(p *smpp.PDU) {
	s := c.s
	sm := p.Body.(*smpp.SM)
	c.mu.Lock()
	bound := c.bound
	c.mu.Unlock()
	if bound != smpp.BindTransceiver && bound != smpp.BindTransmitter {
		s.t.Errorf("smsctest: submit_sm on a session bound as %v", bound)
		_ = c.write(&smpp.PDU{Command: smpp.SubmitSMResp, Status: smpp.StatusInvBndSts, Seq: p.Seq})
		return
	}
	part, key, total, err := validateSubmit(sm)
	if err != nil {
		s.t.Errorf("smsctest: invalid submit_sm: %v", err)
		_ = c.write(&smpp.PDU{Command: smpp.SubmitSMResp, Status: smpp.StatusInvMsgLen, Seq: p.Seq})
		return
	}
	s.mu.Lock()
	s.submitsSeen++
	s.outstanding++
	s.maxOutstanding = max(s.maxOutstanding, s.outstanding)
	if s.throttleN > 0 {
		s.throttleN--
		st := s.throttleStatus
		s.notify()
		s.mu.Unlock()
		c.respond(&smpp.PDU{Command: smpp.SubmitSMResp, Status: st, Seq: p.Seq}, nil)
		return
	}
	s.nextID++
	part.id = fmt.Sprintf("%08X", 0x5A000000+s.nextID)
	resp := &smpp.PDU{Command: smpp.SubmitSMResp, Seq: p.Seq, Body: &smpp.SMResp{MessageID: part.id}}
	record := func() { s.recordLocked(key, total, part) }
	if s.hold {
		s.held = append(s.held, heldResp{c: c, p: resp, record: record, to: part.sm.Dest, from: part.sm.Source})
		s.notify()
		s.mu.Unlock()
		return
	}
	s.notify()
	s.mu.Unlock()
	c.respond(resp, record)
}

// respond sends a submit_sm_resp. The request counts as answered, and the
// part as accepted, before the answer leaves: once it has, the client may
// act on it at once. An answer lost on a dropped link is then a duplicate
// at the SMSC, as with a real one.
func (c *conn) respond(p *smpp.PDU, record func()) {
	s := c.s
	s.mu.Lock()
	s.outstanding--
	if record != nil {
		record()
	}
	s.notify()
	s.mu.Unlock()
	_ = c.write(p)
}

// validateSubmit checks a submit_sm the way a strict SMSC would and
// extracts its concatenation.
func validateSubmit(sm *smpp.SM) (part, string, int, error) {
	if sm.Dest == "" {
		return part{}, "", 0, errors.New("empty destination_addr")
	}
	coding := smpp.Coding(sm.DataCoding)
	if coding != smpp.CodingDefault && coding != smpp.CodingUCS2 {
		return part{}, "", 0, fmt.Errorf("data_coding 0x%02x", sm.DataCoding)
	}
	if sm.RegisteredDelivery&0x03 != 1 {
		return part{}, "", 0, fmt.Errorf("registered_delivery %d, want a receipt requested", sm.RegisteredDelivery)
	}
	data, err := sm.Payload()
	if err != nil {
		return part{}, "", 0, err
	}
	raw := data
	var concat *smpp.Concat
	if sm.ESMClass&smpp.ESMClassUDHI != 0 {
		if concat, data, err = smpp.ParseUDH(data); err != nil {
			return part{}, "", 0, err
		}
		if concat == nil {
			return part{}, "", 0, errors.New("UDHI set without a concatenation element")
		}
	}
	limit := 160
	if coding == smpp.CodingUCS2 {
		limit = 140
	}
	if concat != nil {
		limit -= 7 // 153 septets; 134 octets of UCS-2
		if coding == smpp.CodingUCS2 {
			limit = 134
		}
	}
	if len(data) > limit {
		return part{}, "", 0, fmt.Errorf("%d octets of text over the %d limit", len(data), limit)
	}
	// Each part must decode on its own: the client must not cut a
	// surrogate pair or an escape sequence.
	if _, err := smpp.DecodeText(coding, data); err != nil {
		return part{}, "", 0, fmt.Errorf("part does not decode on its own: %w", err)
	}
	p := part{data: data, raw: raw, sm: sm, seq: 1}
	total := 1
	key := fmt.Sprintf("%s|%s|single|%p", sm.Source, sm.Dest, sm)
	if concat != nil {
		p.seq, total = concat.Seq, int(concat.Total)
		key = fmt.Sprintf("%s|%s|%d|%d", sm.Source, sm.Dest, concat.Ref, concat.Total)
	}
	return p, key, total, nil
}

// recordLocked adds an accepted part and completes its message when all
// parts are in. mu must be held.
func (s *Server) recordLocked(key string, total int, p part) {
	parts := s.pendingParts[key]
	// A part sent again (its answer was lost) replaces the earlier copy.
	if i := slices.IndexFunc(parts, func(q part) bool { return q.seq == p.seq }); i >= 0 {
		parts[i] = p
	} else {
		parts = append(parts, p)
	}
	if len(parts) < total {
		s.pendingParts[key] = parts
		return
	}
	delete(s.pendingParts, key)
	slices.SortFunc(parts, func(a, b part) int { return int(a.seq) - int(b.seq) })
	var all []byte
	m := Submitted{From: p.sm.Source, To: p.sm.Dest, Coding: smpp.Coding(p.sm.DataCoding), RegisteredDelivery: p.sm.RegisteredDelivery}
	for i, q := range parts {
		if int(q.seq) != i+1 {
			s.t.Errorf("smsctest: message %s has parts %v", key, parts)
		}
		all = append(all, q.data...)
		m.IDs = append(m.IDs, q.id)
		m.Parts = append(m.Parts, q.raw)
	}
	text, err := smpp.DecodeText(m.Coding, all)
	if err != nil {
		s.t.Errorf("smsctest: submitted message %s does not decode: %v", key, err)
	}
	m.Text = text
	s.messages = append(s.messages, m)
}

func (c *conn) write(p *smpp.PDU) error {
	b, err := p.Encode(nil)
	if err != nil {
		c.s.t.Errorf("smsctest: encode %s: %v", p.Command, err)
		return err
	}
	return c.writeRaw(b)
}

func (c *conn) writeRaw(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, err := c.nc.Write(b)
	return err
}

// request sends p to the client and waits for its response.
func (c *conn) request(ctx context.Context, p *smpp.PDU) (*smpp.PDU, error) {
	ch := make(chan *smpp.PDU, 1)
	c.mu.Lock()
	c.seq++
	p.Seq = c.seq
	c.pending[p.Seq] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pending, p.Seq)
		c.mu.Unlock()
	}()
	if err := c.write(p); err != nil {
		return nil, fmt.Errorf("smsctest: send %s: %w", p.Command, err)
	}
	select {
	case r := <-ch:
		return r, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("smsctest: waiting for %s response: %w", p.Command, ctx.Err())
	}
}
