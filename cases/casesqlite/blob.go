package casesqlite

import (
	"context"
	"database/sql"
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
		a.ID = gateway.NewID(fromNanos(now))
	}
	if data == nil {
		data = []byte{}
	}
	a.Size = int64(len(data))
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := s.exec(ctx, tx, qAttachmentSave, a.ID, a.ContentType, a.Filename, a.Size, data, now)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: id taken", cases.ErrConflict)
		}
		return nil
	})
	if err != nil {
		return a, fmt.Errorf("save attachment %s: %w", a.ID, err)
	}
	return a, nil
}

// AttachmentGet returns attachment id and its bytes.
func (s *Store) AttachmentGet(ctx context.Context, id string) (gateway.Attachment, []byte, error) {
	a := gateway.Attachment{ID: id}
	var data []byte
	err := s.readRow(ctx, `SELECT content_type, filename, size, data FROM attachments WHERE id = ?`, id).
		Scan(&a.ContentType, &a.Filename, &a.Size, &data)
	if err != nil {
		return gateway.Attachment{}, nil, fmt.Errorf("get attachment %s: %w", id, translate(err, cases.ErrNotFound))
	}
	if data == nil {
		data = []byte{}
	}
	return a, data, nil
}

// KVGet returns the value under key; ok is false when it is missing or
// expired by the store's clock. Readers never see an expired row; rows
// are removed by the next KVPut with a ttl (see qKVPurge).
func (s *Store) KVGet(ctx context.Context, key string) ([]byte, bool, error) {
	var v []byte
	err := s.readRow(ctx, `SELECT value FROM kv WHERE key = ? AND (expires_at IS NULL OR expires_at > ?)`,
		key, s.clock()).Scan(&v)
	if err == sql.ErrNoRows {
		return nil, false, nil
	}
	if err != nil {
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
	var expires sql.NullInt64
	if ttl > 0 {
		expires = sql.NullInt64{Int64: s.clock() + int64(ttl), Valid: true}
	}
	if value == nil {
		value = []byte{}
	}
	if err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if ttl > 0 {
			if _, err := s.exec(ctx, tx, qKVPurge, s.clock()); err != nil {
				return err
			}
		}
		_, err := s.exec(ctx, tx, qKVPut, key, value, expires)
		return err
	}); err != nil {
		return fmt.Errorf("kv put %s: %w", key, err)
	}
	return nil
}

// KVDelete removes key; a missing key is not an error.
func (s *Store) KVDelete(ctx context.Context, key string) error {
	if err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := s.exec(ctx, tx, qKVDelete, key)
		return err
	}); err != nil {
		return fmt.Errorf("kv delete %s: %w", key, err)
	}
	return nil
}

// Fixed attachment and kv writes (prepared once, see writeQueries).
const (
	qAttachmentSave = `INSERT INTO attachments (id, content_type, filename, size, data, created_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`
	qKVPut = `INSERT INTO kv (key, value, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`
	qKVDelete = `DELETE FROM kv WHERE key = ?`
	// qKVPurge runs with every KVPut that has a ttl: whoever writes
	// expiring keys also sweeps them, a bounded number at a time.
	qKVPurge = `DELETE FROM kv WHERE rowid IN (SELECT rowid FROM kv WHERE expires_at <= ? LIMIT 100)`
)

var _ cases.Store = (*Store)(nil)
