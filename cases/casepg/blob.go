package casepg

import (
	"context"
	"fmt"
	"time"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/gateway"
)

// AttachmentSave stores data under a.ID, or under a fresh id when a.ID is
// empty, and returns a with ID and Size set. Ids are never reused: saving
// under a taken id is ErrConflict and keeps the first file.
func (s *Store) AttachmentSave(ctx context.Context, a gateway.Attachment, data []byte) (gateway.Attachment, error) {
	now := s.clock()
	if a.ID == "" {
		a.ID = gateway.NewID(now)
	}
	if data == nil {
		data = []byte{}
	}
	a.Size = int64(len(data))
	tag, err := s.pool.Exec(ctx, `INSERT INTO attachments (id, content_type, filename, size, data, created_at)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING`,
		a.ID, a.ContentType, a.Filename, a.Size, data, now)
	if err != nil {
		return a, fmt.Errorf("save attachment %s: %w", a.ID, err)
	}
	if tag.RowsAffected() == 0 {
		return a, fmt.Errorf("save attachment %s: %w: id taken", a.ID, cases.ErrConflict)
	}
	return a, nil
}

// AttachmentGet returns attachment id and its bytes.
func (s *Store) AttachmentGet(ctx context.Context, id string) (gateway.Attachment, []byte, error) {
	a := gateway.Attachment{ID: id}
	var data []byte
	err := s.pool.QueryRow(ctx, `SELECT content_type, filename, size, data FROM attachments WHERE id = $1`, id).
		Scan(&a.ContentType, &a.Filename, &a.Size, &data)
	if err != nil {
		return gateway.Attachment{}, nil, fmt.Errorf("get attachment %s: %w", id, translate(err, cases.ErrNotFound))
	}
	return a, data, nil
}

// KVGet returns the value under key; ok is false when it is missing or
// expired by the store's clock. Readers never see an expired row; rows
// are removed by the next KVPut with a ttl (see kvPurge).
func (s *Store) KVGet(ctx context.Context, key string) ([]byte, bool, error) {
	var v []byte
	err := s.pool.QueryRow(ctx, `SELECT value FROM kv WHERE key = $1 AND (expires_at IS NULL OR expires_at > $2)`,
		key, s.clock()).Scan(&v)
	if err != nil {
		if err := translate(err, cases.ErrNotFound); err == cases.ErrNotFound {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("kv get %s: %w", key, err)
	}
	if v == nil {
		v = []byte{}
	}
	return v, true, nil
}

// KVPut stores value under key, replacing what was there; a zero ttl
// keeps it until deleted.
func (s *Store) KVPut(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if ttl < 0 {
		return fmt.Errorf("kv put %s: negative ttl %v", key, ttl)
	}
	var expires *time.Time
	if ttl > 0 {
		t := s.clock().Add(ttl)
		expires = &t
	}
	if value == nil {
		value = []byte{}
	}
	q := `INSERT INTO kv (key, value, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`
	args := []any{key, value, expires}
	if ttl > 0 {
		q, args = `WITH `+kvPurge+` `+q, append(args, s.clock())
	}
	if _, err := s.pool.Exec(ctx, q, args...); err != nil {
		return fmt.Errorf("kv put %s: %w", key, err)
	}
	return nil
}

// kvPurge deletes a bounded number of expired rows ($4 is now) in the
// statement of a KVPut with a ttl: whoever writes expiring keys also
// sweeps them, without a timer. SKIP LOCKED: concurrent puts share the
// work instead of waiting on each other.
const kvPurge = `purge AS (DELETE FROM kv WHERE key IN (
	SELECT key FROM kv WHERE expires_at <= $4 AND key <> $1 LIMIT 100 FOR UPDATE SKIP LOCKED))`

// KVDelete removes key; a missing key is not an error.
func (s *Store) KVDelete(ctx context.Context, key string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM kv WHERE key = $1`, key); err != nil {
		return fmt.Errorf("kv delete %s: %w", key, err)
	}
	return nil
}

var _ cases.Store = (*Store)(nil)
