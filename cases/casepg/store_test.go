package casepg

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/cases/storetest"
	"github.com/dargah137/dargah/gateway"
	"github.com/dargah137/dargah/internal/migrate"
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

// A batch whose new tracking code is taken fails as a whole (its
// transaction rolls back, across both of its round trips) and every
// message in it is decided alone, with a fresh code: with and without the
// process folded into the batch.
func TestBatchCollisionRedoneAlone(t *testing.T) {
	for _, withProcess := range []bool{false, true} {
		t.Run(fmt.Sprintf("process=%v", withProcess), func(t *testing.T) {
			var s *Store
			e := storetest.NewEnv(t, func(t *testing.T, now func() time.Time) cases.Store {
				s = open(t, now, 8)
				return s
			})
			if withProcess {
				e.Engine(t, nil)
			}
			_, first := e.OpenCase(t, storetest.NewMessage(e.Clock.Now()))
			// Every fourth code, a dozen times, is the taken one: lone decides
			// retry, and some batch gets one.
			var mu sync.Mutex
			calls := 0
			s.newCode = func() (string, error) {
				mu.Lock()
				defer mu.Unlock()
				if calls++; calls%4 == 2 && calls < 48 {
					return first.TrackingCode, nil
				}
				return cases.NewTrackingCode()
			}
			const n = 30
			ms := make([]gateway.Message, n)
			for i := range ms {
				ms[i] = storetest.NewMessage(e.Clock.Now())
				e.Accept(t, ms[i])
			}
			codes := make([]string, n)
			var wg sync.WaitGroup
			for i, m := range ms {
				wg.Go(func() {
					r, err := s.MessageDecide(e.Ctx, m.ID, gateway.Decision{Outcome: gateway.OutcomeCaseOpened, Rule: "r", Reply: "{tracking_code}"})
					if err != nil {
						t.Errorf("decide %d: %v", i, err)
					}
					codes[i] = r.Decision.TrackingCode
				})
			}
			wg.Wait()
			seen := map[string]bool{first.TrackingCode: true}
			for i, c := range codes {
				if seen[c] || !cases.ValidTrackingCode(c) {
					t.Fatalf("message %d: code %q (taken or invalid)", i, c)
				}
				seen[c] = true
				cs, err := s.CaseGetByTracking(e.Ctx, c)
				if err != nil || cs.SourceMessageID != ms[i].ID {
					t.Fatalf("message %d: case %+v, %v", i, cs, err)
				}
			}
			var count, events int
			if err := s.pool.QueryRow(e.Ctx, `SELECT (SELECT count(*) FROM cases), (SELECT count(*) FROM case_events WHERE kind = 'opened')`).Scan(&count, &events); err != nil {
				t.Fatal(err)
			}
			if count != n+1 || events != n+1 {
				t.Fatalf("%d cases and %d opened events, want %d of each: a rolled-back batch left something", count, events, n+1)
			}
		})
	}
}
