package sms

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/dargah137/dargah/channels"
	"github.com/dargah137/dargah/channels/sms/smpp"
)

// partsTTL bounds how long stray parts linger in KV if the index that
// points at them is lost; the reassembly timeout is far shorter.
const partsTTL = 7 * 24 * time.Hour

// KVPartStore is an smpp.PartStore over the portal's durable KV, so the
// parts of a long message survive a restart. KV has no listing, so an
// index key holds the pending messages and when each began; parts live
// under one key per message. Every change runs under a lock (the host's
// lease across instances), which makes PartPut atomic.
type KVPartStore struct {
	kv     channels.KV
	prefix string // "sms:<portal>:"
	lock   *kvLock
}

// NewKVPartStore returns a store keeping parts under "sms:<portal>:part…".
// leases (nil for a single process) locks changes for holder.
func NewKVPartStore(kv channels.KV, leases channels.Leaser, portal, holder string) *KVPartStore {
	prefix := "sms:" + portal + ":"
	return &KVPartStore{kv: kv, prefix: prefix, lock: &kvLock{leases: leases, key: prefix + "parts-lock", holder: holder}}
}

// partIndex maps a pending message's reassembly key to its first arrival.
type partIndex map[string]time.Time

func (s *KVPartStore) indexKey() string { return s.prefix + "parts" }

func (s *KVPartStore) partsKey(key string) string {
	h := sha256.Sum256([]byte(key))
	return s.prefix + "part:" + hex.EncodeToString(h[:12])
}

func (s *KVPartStore) loadIndex(ctx context.Context) (partIndex, error) {
	v, found, err := s.kv.KVGet(ctx, s.indexKey())
	if err != nil {
		return nil, fmt.Errorf("sms parts index: %w", err)
	}
	idx := partIndex{}
	if found && len(v) > 0 {
		if err := json.Unmarshal(v, &idx); err != nil {
			return nil, fmt.Errorf("sms parts index: %w", err)
		}
	}
	return idx, nil
}

func (s *KVPartStore) saveIndex(ctx context.Context, idx partIndex) error {
	if len(idx) == 0 {
		return s.kv.KVDelete(ctx, s.indexKey())
	}
	b, err := json.Marshal(idx)
	if err != nil {
		return err
	}
	return s.kv.KVPut(ctx, s.indexKey(), b, 0)
}

func (s *KVPartStore) loadParts(ctx context.Context, key string) ([]smpp.Part, error) {
	v, found, err := s.kv.KVGet(ctx, s.partsKey(key))
	if err != nil || !found {
		return nil, err
	}
	var parts []smpp.Part
	if err := json.Unmarshal(v, &parts); err != nil {
		return nil, fmt.Errorf("sms parts of %q: %w", key, err)
	}
	return parts, nil
}

// PartPut implements smpp.PartStore.
func (s *KVPartStore) PartPut(ctx context.Context, key string, p smpp.Part) (out []smpp.Part, err error) {
	err = s.lock.do(ctx, func() error {
		out, err = s.partPut(ctx, key, p)
		return err
	})
	return out, err
}

func (s *KVPartStore) partPut(ctx context.Context, key string, p smpp.Part) ([]smpp.Part, error) {
	parts, err := s.loadParts(ctx, key)
	if err != nil {
		return nil, err
	}
	if i := slices.IndexFunc(parts, func(q smpp.Part) bool { return q.Seq == p.Seq }); i >= 0 {
		parts[i] = p
	} else {
		parts = append(parts, p)
	}
	b, err := json.Marshal(parts)
	if err != nil {
		return nil, err
	}
	// Parts first, index second: a crash in between leaves parts that the
	// next part of the same message indexes again, never an index entry
	// without parts.
	if err := s.kv.KVPut(ctx, s.partsKey(key), b, partsTTL); err != nil {
		return nil, fmt.Errorf("sms store part: %w", err)
	}
	idx, err := s.loadIndex(ctx)
	if err != nil {
		return nil, err
	}
	first := p.ReceivedAt
	for _, q := range parts {
		if q.ReceivedAt.Before(first) {
			first = q.ReceivedAt
		}
	}
	if t, ok := idx[key]; !ok || !t.Equal(first) {
		idx[key] = first
		if err := s.saveIndex(ctx, idx); err != nil {
			return nil, fmt.Errorf("sms store parts index: %w", err)
		}
	}
	return parts, nil
}

// PartDelete implements smpp.PartStore.
func (s *KVPartStore) PartDelete(ctx context.Context, key string) error {
	return s.lock.do(ctx, func() error { return s.partDelete(ctx, key) })
}

func (s *KVPartStore) partDelete(ctx context.Context, key string) error {
	idx, err := s.loadIndex(ctx)
	if err != nil {
		return err
	}
	if _, ok := idx[key]; ok {
		delete(idx, key)
		if err := s.saveIndex(ctx, idx); err != nil {
			return fmt.Errorf("sms delete parts index entry: %w", err)
		}
	}
	if err := s.kv.KVDelete(ctx, s.partsKey(key)); err != nil {
		return fmt.Errorf("sms delete parts: %w", err)
	}
	return nil
}

// PartsBefore implements smpp.PartStore.
func (s *KVPartStore) PartsBefore(ctx context.Context, t time.Time) (out map[string][]smpp.Part, err error) {
	err = s.lock.do(ctx, func() error {
		out, err = s.partsBefore(ctx, t)
		return err
	})
	return out, err
}

func (s *KVPartStore) partsBefore(ctx context.Context, t time.Time) (map[string][]smpp.Part, error) {
	idx, err := s.loadIndex(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string][]smpp.Part{}
	changed := false
	for key, first := range idx {
		if !first.Before(t) {
			continue
		}
		parts, err := s.loadParts(ctx, key)
		if err != nil {
			return nil, err
		}
		if len(parts) == 0 { // expired or deleted behind our back
			delete(idx, key)
			changed = true
			continue
		}
		out[key] = parts
	}
	if changed {
		if err := s.saveIndex(ctx, idx); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Pending reports how many messages wait for parts.
func (s *KVPartStore) Pending(ctx context.Context) (int, error) {
	idx, err := s.loadIndex(ctx)
	return len(idx), err
}

var _ smpp.PartStore = (*KVPartStore)(nil)
