package casepg

import (
	"github.com/dargah137/dargah/internal/migrate"
	"testing"
	"time"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/cases/storetest"
	"github.com/dargah137/dargah/internal/testenv"
)

func open(t testing.TB, now func() time.Time, maxConns int32) *Store {
	t.Helper()
	s, err := Open(t.Context(), testenv.PostgresURL(t), Options{Now: now, MaxConns: maxConns})
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
	storetest.Run(t, func(t *testing.T, now func() time.Time) cases.Store { return open(t, now, 4) })
}

func BenchmarkAcceptDecide(b *testing.B) {
	s := open(b, time.Now, benchConns)
	defer s.Close()
	storetest.BenchAcceptDecide(b, s, int(benchConns)/2)
}

var _ storetest.CaseWriter = (*Store)(nil)

// Several instances starting at once on one database: the advisory lock
// lets one migrate while the others wait, and none fails.
func TestMigrateConcurrent(t *testing.T) {
	t.Parallel()
	url := testenv.PostgresURL(t)
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			s, err := Open(t.Context(), url, Options{})
			if err != nil {
				errs <- err
				return
			}
			defer s.Close()
			errs <- s.Migrate(t.Context())
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatalf("migrate: %v", err)
		}
	}
	s, err := Open(t.Context(), url, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var n int
	if err := s.pool.QueryRow(t.Context(), `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if want, _ := migrate.Read(migrationFS, "migrations"); n != len(want) {
		t.Errorf("schema_migrations has %d rows, want %d", n, len(want))
	}
}

func TestOpenBadDSN(t *testing.T) {
	t.Parallel()
	if _, err := Open(t.Context(), "postgres://127.0.0.1:1/x?connect_timeout=2", Options{}); err == nil {
		t.Fatal("Open of an unreachable server succeeded")
	}
	if _, err := Open(t.Context(), "::not a dsn::", Options{}); err == nil {
		t.Fatal("Open of a malformed dsn succeeded")
	}
}

// benchConns is the pool size of the benchmark, and the number of
// goroutines deciding at once: commits wait for the WAL flush, so
// throughput grows with concurrency until the CPU is full.
var benchConns int32 = 32

func TestTrackingCollision(t *testing.T) {
	t.Parallel()
	var s *Store
	e := storetest.NewEnv(t, func(t *testing.T, now func() time.Time) cases.Store {
		s = open(t, now, 4)
		return s
	})
	storetest.TrackingCollision(t, e, func(gen func() (string, error)) { s.newCode = gen })
}

// Expired rows go with the next put that has a ttl.
func TestKVPurge(t *testing.T) {
	t.Parallel()
	var s *Store
	e := storetest.NewEnv(t, func(t *testing.T, now func() time.Time) cases.Store {
		s = open(t, now, 2)
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
	if err := s.pool.QueryRow(e.Ctx, `SELECT count(*) FROM kv`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("kv has %d rows, want 2 (keep, c)", n)
	}
}
