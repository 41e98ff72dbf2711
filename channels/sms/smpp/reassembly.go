package smpp

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Incoming is one complete message from a citizen (mobile originated),
// reassembled from its parts.
type Incoming struct {
	From, To string
	Text     string
	// PartsIDs are stable ids of the parts, in order, derived from the
	// parts' content (SMPP 3.4 gives mobile-originated messages no id). An
	// SMSC redelivering a part yields the same id, so they serve as
	// idempotency keys; a citizen sending the very same text twice in the
	// same single SMS also yields the same id, which callers who care can
	// tell apart by time.
	PartsIDs []string
	// ReceivedAt is when the first part arrived.
	ReceivedAt time.Time
	// Partial is set when the reassembly timeout passed before every part
	// came: Text holds what did come, with "…" where parts are missing.
	Partial bool

	key string // pending-parts key; empty for single-part messages
}

// Part is one stored segment of a concatenated incoming message.
type Part struct {
	From, To   string
	Ref        uint16
	Total, Seq uint8
	Coding     Coding
	// Data is the message octets after any UDH.
	Data       []byte
	ReceivedAt time.Time
}

// ID is the part's stable content-derived id.
func (p Part) ID() string {
	h := sha256.New()
	for _, s := range []string{p.From, p.To} {
		h.Write(binary.BigEndian.AppendUint16(nil, uint16(len(s))))
		h.Write([]byte(s))
	}
	h.Write([]byte{byte(p.Ref >> 8), byte(p.Ref), p.Total, p.Seq, byte(p.Coding)})
	h.Write(p.Data)
	return hex.EncodeToString(h.Sum(nil)[:12])
}

func (p Part) key() string {
	return fmt.Sprintf("%s|%s|%d|%d", p.From, p.To, p.Ref, p.Total)
}

// PartStore keeps the parts of messages still being reassembled. The SMS
// adapter can persist them (so a restart loses nothing); MemoryStore keeps
// them in memory. Implementations must be safe for concurrent use, and
// PartPut must be atomic: two parts of one message arriving together must
// both be in the result of the later call.
type PartStore interface {
	// PartPut stores p under key, replacing a stored part with the same
	// Seq, and returns every part now stored under key.
	PartPut(ctx context.Context, key string, p Part) ([]Part, error)
	// PartDelete forgets key; unknown keys are not an error.
	PartDelete(ctx context.Context, key string) error
	// PartsBefore returns, by key, the pending messages whose earliest part
	// arrived before t.
	PartsBefore(ctx context.Context, t time.Time) (map[string][]Part, error)
}

// ErrUndecodable wraps text that cannot be decoded in its data_coding
// (odd-length UCS-2, lone surrogate, non-GSM octet…). Retrying will not
// help; the SMSC should be told so.
var ErrUndecodable = errors.New("smpp: undecodable message text")

// Reassembler joins the parts of concatenated messages (UDH with 8- or
// 16-bit references, or SAR TLVs) arriving in any order. Parts stay in the
// store until Done is called for the complete message, so a failed hand-off
// can be retried when the SMSC redelivers a part.
type Reassembler struct {
	store   PartStore
	timeout time.Duration
	now     func() time.Time
}

// NewReassembler returns a Reassembler over store (a new MemoryStore when
// nil). Messages still incomplete timeout after their first part are
// returned by Expired. now defaults to time.Now.
func NewReassembler(store PartStore, timeout time.Duration, now func() time.Time) *Reassembler {
	if store == nil {
		store = NewMemoryStore()
	}
	if now == nil {
		now = time.Now
	}
	return &Reassembler{store: store, timeout: timeout, now: now}
}

// Add records one part. It returns the complete message when p was the
// single part or the last missing one, and nil while parts are missing. A
// complete message whose text cannot be decoded is forgotten and reported
// with an error wrapping ErrUndecodable.
func (r *Reassembler) Add(ctx context.Context, p Part, c *Concat) (*Incoming, error) {
	if p.ReceivedAt.IsZero() {
		p.ReceivedAt = r.now()
	}
	if c == nil || c.Total == 1 {
		p.Total, p.Seq = 1, 1
		text, err := DecodeText(p.Coding, p.Data)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrUndecodable, err)
		}
		return &Incoming{From: p.From, To: p.To, Text: text, PartsIDs: []string{p.ID()}, ReceivedAt: p.ReceivedAt}, nil
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	p.Ref, p.Total, p.Seq = c.Ref, c.Total, c.Seq
	key := p.key()
	parts, err := r.store.PartPut(ctx, key, p)
	if err != nil {
		return nil, fmt.Errorf("store part %d/%d from %s: %w", p.Seq, p.Total, p.From, err)
	}
	if len(parts) < int(p.Total) {
		return nil, nil
	}
	in, err := assemble(key, parts, false)
	if err != nil {
		if derr := r.store.PartDelete(ctx, key); derr != nil {
			err = errors.Join(err, derr)
		}
		return nil, err
	}
	return in, nil
}

// Done forgets the parts of a message that has been handed off.
func (r *Reassembler) Done(ctx context.Context, in *Incoming) error {
	if in == nil || in.key == "" {
		return nil
	}
	return r.store.PartDelete(ctx, in.key)
}

// Expired returns the messages still incomplete Timeout after their first
// part, with what came (Partial set). Call Done after handing each off.
func (r *Reassembler) Expired(ctx context.Context) ([]*Incoming, error) {
	pending, err := r.store.PartsBefore(ctx, r.now().Add(-r.timeout))
	if err != nil {
		return nil, fmt.Errorf("list expired parts: %w", err)
	}
	keys := make([]string, 0, len(pending))
	for k := range pending {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]*Incoming, 0, len(keys))
	for _, k := range keys {
		in, err := assemble(k, pending[k], true)
		if err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	return out, nil
}

// assemble orders parts and decodes their text. The octets of all parts
// are joined before decoding, because a sender may cut a surrogate pair or
// an escape sequence across parts. A partial message is decoded part by
// part instead, leniently, so that what came is not lost.
func assemble(key string, parts []Part, partial bool) (*Incoming, error) {
	if len(parts) == 0 {
		return nil, fmt.Errorf("no parts stored for %s", key)
	}
	parts = slices.Clone(parts)
	slices.SortFunc(parts, func(a, b Part) int { return int(a.Seq) - int(b.Seq) })
	in := &Incoming{From: parts[0].From, To: parts[0].To, ReceivedAt: parts[0].ReceivedAt, Partial: partial, key: key}
	for _, p := range parts {
		in.PartsIDs = append(in.PartsIDs, p.ID())
		if p.ReceivedAt.Before(in.ReceivedAt) {
			in.ReceivedAt = p.ReceivedAt
		}
	}
	if partial {
		var sb strings.Builder
		next := uint8(1)
		for _, p := range parts {
			if p.Seq != next {
				sb.WriteString("…")
			}
			t, err := DecodeText(p.Coding, p.Data)
			if err != nil {
				t = "\uFFFD"
			}
			sb.WriteString(t)
			next = p.Seq + 1
		}
		if int(next) <= int(parts[0].Total) {
			sb.WriteString("…")
		}
		in.Text = sb.String()
		return in, nil
	}
	same := true
	var all []byte
	for _, p := range parts {
		same = same && p.Coding == parts[0].Coding
		all = append(all, p.Data...)
	}
	if same {
		t, err := DecodeText(parts[0].Coding, all)
		if err != nil {
			return nil, fmt.Errorf("%w: message from %s: %w", ErrUndecodable, in.From, err)
		}
		in.Text = t
		return in, nil
	}
	var sb strings.Builder
	for _, p := range parts {
		t, err := DecodeText(p.Coding, p.Data)
		if err != nil {
			return nil, fmt.Errorf("%w: part %d from %s: %w", ErrUndecodable, p.Seq, in.From, err)
		}
		sb.WriteString(t)
	}
	in.Text = sb.String()
	return in, nil
}

// MemoryStore is a PartStore in memory: parts are lost on restart.
type MemoryStore struct {
	mu sync.Mutex
	m  map[string][]Part
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return &MemoryStore{m: map[string][]Part{}} }

// PartPut implements PartStore.
func (s *MemoryStore) PartPut(_ context.Context, key string, p Part) ([]Part, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p.Data = slices.Clone(p.Data) // the PDU buffer is not ours to keep
	parts := s.m[key]
	i := slices.IndexFunc(parts, func(q Part) bool { return q.Seq == p.Seq })
	if i >= 0 {
		parts[i] = p
	} else {
		parts = append(parts, p)
	}
	s.m[key] = parts
	return slices.Clone(parts), nil
}

// PartDelete implements PartStore.
func (s *MemoryStore) PartDelete(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
	return nil
}

// PartsBefore implements PartStore.
func (s *MemoryStore) PartsBefore(_ context.Context, t time.Time) (map[string][]Part, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string][]Part{}
	for k, parts := range s.m {
		for _, p := range parts {
			if p.ReceivedAt.Before(t) {
				out[k] = slices.Clone(parts)
				break
			}
		}
	}
	return out, nil
}

// Len reports how many messages are pending.
func (s *MemoryStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

var _ PartStore = (*MemoryStore)(nil)
