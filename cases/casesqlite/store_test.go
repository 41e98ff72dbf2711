package casesqlite

import (
	"github.com/dargah137/dargah/internal/migrate"
	"path/filepath"
	"testing"
	"time"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/cases/storetest"
)

func open(t testing.TB, path string, now func() time.Time) *Store {
	t.Helper()
	s, err := Open(t.Context(), path, Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(t.Context()); err != nil {
		s.Close()
		t.Fatal(err)
	}
	return s
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now func() time.Time) cases.Store {
		return open(t, filepath.Join(t.TempDir(), "dargah.db"), now)
	})
}

func BenchmarkAcceptDecide(b *testing.B) {
	s := open(b, filepath.Join(b.TempDir(), "dargah.db"), time.Now)
	defer s.Close()
	storetest.BenchAcceptDecide(b, s, 8)
}

var _ storetest.CaseWriter = (*Store)(nil)

// Two stores on one file (a second process, dargah migrate beside a
// running server) migrating at once: the write lock orders them.
func TestMigrateConcurrent(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "dargah.db")
	errs := make(chan error, 3)
	for range 3 {
		go func() {
			s, err := Open(t.Context(), path, Options{})
			if err != nil {
				errs <- err
				return
			}
			defer s.Close()
			errs <- s.Migrate(t.Context())
		}()
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatalf("migrate: %v", err)
		}
	}
	s := open(t, path, time.Now)
	defer s.Close()
	var n int
	if err := s.r.QueryRowContext(t.Context(), `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if want, _ := migrate.Read(migrationFS, "migrations"); n != len(want) {
		t.Errorf("schema_migrations has %d rows, want %d", n, len(want))
	}
}

// Data outlives the process: reopening the file finds it.
func TestReopen(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "dargah.db")
	s := open(t, path, time.Now)
	if err := s.KVPut(t.Context(), "k", []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, path, time.Now)
	defer s.Close()
	if v, ok, err := s.KVGet(t.Context(), "k"); err != nil || !ok || string(v) != "v" {
		t.Errorf("after reopen = %q, %v, %v", v, ok, err)
	}
}

func TestOpenBadPath(t *testing.T) {
	t.Parallel()
	if _, err := Open(t.Context(), "", Options{}); err == nil {
		t.Error("Open with an empty path succeeded")
	}
	if _, err := Open(t.Context(), filepath.Join(t.TempDir(), "missing-dir", "x.db"), Options{}); err == nil {
		t.Error("Open in a missing directory succeeded")
	}
}

func TestTrackingCollision(t *testing.T) {
	t.Parallel()
	var s *Store
	e := storetest.NewEnv(t, func(t *testing.T, now func() time.Time) cases.Store {
		s = open(t, filepath.Join(t.TempDir(), "dargah.db"), now)
		return s
	})
	storetest.TrackingCollision(t, e, func(gen func() (string, error)) { s.newCode = gen })
}

// After Close, writes fail instead of waiting for a writer that is gone.
func TestWriteAfterClose(t *testing.T) {
	t.Parallel()
	s := open(t, filepath.Join(t.TempDir(), "dargah.db"), time.Now)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.KVPut(t.Context(), "k", []byte("v"), 0); err == nil {
		t.Error("write after Close succeeded")
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// Expired rows go with the next put that has a ttl.
func TestKVPurge(t *testing.T) {
	t.Parallel()
	var s *Store
	e := storetest.NewEnv(t, func(t *testing.T, now func() time.Time) cases.Store {
		s = open(t, filepath.Join(t.TempDir(), "dargah.db"), now)
		return s
	})
	for _, k := range []string{"a", "b"} {
		if err := s.KVPut(e.Ctx, k, []byte("v"), time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.KVPut(e.Ctx, "keep", []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	e.Clock.Advance(2 * time.Minute)
	if err := s.KVPut(e.Ctx, "c", []byte("v"), time.Minute); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.r.QueryRowContext(e.Ctx, `SELECT count(*) FROM kv`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("kv has %d rows, want 2 (keep, c)", n)
	}
}
