package casepg

import (
	"context"
	"errors"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/cases/process"
	"github.com/dargah137/dargah/cases/storetest"
	"github.com/dargah137/dargah/gateway"
	"github.com/dargah137/dargah/internal/testenv"
)

// seedCases inserts open cases with generate_series, the first due of
// them with a deadline at past and the rest far in the future: the shape
// of a busy city, seeded in seconds rather than through the API.
func seedCases(tb testing.TB, s *Store, open, due int, start, past time.Time) {
	tb.Helper()
	codes := make([]string, open)
	for i := range codes {
		body := strconv.Itoa(100_000_000 + i + 1)
		for d := '0'; d <= '9'; d++ {
			if cases.ValidTrackingCode(body + string(d)) {
				codes[i] = body + string(d)
				break
			}
		}
	}
	_, err := s.pool.Exec(context.Background(), `INSERT INTO cases (tracking_code, status, service_code, portal,
			portal_kind, department, escalation_level, due_at, timer_kind, level_started_at, description,
			lat, long, opened_at, updated_at)
		SELECT code, 'assigned', 'street_lighting', 'web', 'webform', 'street_lighting', 0,
			CASE WHEN g <= $2 THEN $3::timestamptz ELSE $3::timestamptz + interval '3650 days' END,
			'escalate', $4, 'چراغ خاموش ' || g, 36.2 + (g % 1000) * 0.0002, 59.5 + (g / 1000 % 1000) * 0.0002, $4, $4
		FROM unnest($5::text[]) WITH ORDINALITY AS u(code, g) WHERE g <= $1`, open, due, past, start, codes)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := s.pool.Exec(context.Background(), `ANALYZE cases`); err != nil {
		tb.Fatal(err)
	}
}

func engine(tb testing.TB, s *Store, now func() time.Time, batch int) *process.Engine {
	tb.Helper()
	e, err := process.New(process.Config{Store: s, Org: storetest.Org(tb), Ladder: storetest.Ladder(tb), Now: now, Batch: batch,
		Secret: func(string) (string, bool) { return "x", true }})
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

// Three instances on one database fire the same due deadlines at once:
// SKIP LOCKED gives each case to exactly one of them, and an instance
// that dies inside its transaction loses nothing.
func TestThreeSchedulersFireOnce(t *testing.T) {
	t.Parallel()
	url := testenv.PostgresURL(t)
	clock := storetest.NewClock(storetest.Epoch)
	var stores []*Store
	for range 3 {
		s, err := Open(t.Context(), url, Options{Now: clock.Now, MaxConns: 4})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		if err := s.Migrate(t.Context()); err != nil {
			t.Fatal(err)
		}
		stores = append(stores, s)
	}
	const n = 3000
	seedCases(t, stores[0], n+500, n, storetest.Epoch.Add(-100*time.Hour), storetest.Epoch.Add(-time.Minute))

	// An instance crashes mid-pass: its transaction rolls back, its
	// claimed deadlines are free again.
	crash := errors.New("instance died")
	if _, err := stores[0].TimersFire(t.Context(), clock.Now(), 500, func(c *cases.Case, st *cases.State) (cases.Effects, error) {
		c.EscalationLevel = 99
		return cases.Effects{}, crash
	}); !errors.Is(err, crash) {
		t.Fatalf("crashing pass: %v", err)
	}

	var wg sync.WaitGroup
	fired := make([]int, 3)
	for i, s := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			eng := engine(t, s, clock.Now, 100)
			for {
				n, err := eng.Fire(t.Context())
				if err != nil {
					t.Error(err)
					return
				}
				if n == 0 {
					return
				}
				fired[i] += n
			}
		}()
	}
	wg.Wait()
	if total := fired[0] + fired[1] + fired[2]; total != n {
		t.Fatalf("fired %v = %d, want %d", fired, total, n)
	}
	t.Logf("fired per instance: %v", fired)
	var bad, events, levels int
	err := stores[0].pool.QueryRow(t.Context(), `SELECT
		(SELECT count(*) FROM (SELECT case_id FROM case_events WHERE kind = 'escalated' GROUP BY case_id HAVING count(*) <> 1) x),
		(SELECT count(*) FROM case_events WHERE kind = 'escalated'),
		(SELECT count(*) FROM cases WHERE escalation_level = 1)`).Scan(&bad, &events, &levels)
	if err != nil {
		t.Fatal(err)
	}
	if bad != 0 || events != n || levels != n {
		t.Fatalf("cases escalated other than once: %d; escalated events %d, cases at level 1 %d, want %d", bad, events, levels, n)
	}
}

// BenchmarkFire is one scheduler pass over 10,000 due deadlines among
// DARGAH_BENCH_CASES open cases (default 100,000): escalation, timeline
// event and signed webhook outbox row for each, in batches of 1000.
//
//	go test -run '^$' -bench BenchmarkFire -benchtime 3x ./cases/casepg/
//	DARGAH_BENCH_CASES=1000000 go test -run '^$' -bench BenchmarkFire -benchtime 3x ./cases/casepg/
func BenchmarkFire(b *testing.B) {
	open := 100_000
	if v := os.Getenv("DARGAH_BENCH_CASES"); v != "" {
		var err error
		if open, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	const due = 10_000
	clock := storetest.NewClock(storetest.Epoch)
	s := open1(b, clock.Now)
	seedCases(b, s, open, due, storetest.Epoch.Add(-100*time.Hour), storetest.Epoch.Add(-time.Minute))
	eng := engine(b, s, clock.Now, 1000)
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		n, err := eng.Fire(ctx)
		if err != nil || n != due {
			b.Fatalf("fired %d, %v", n, err)
		}
		b.StopTimer()
		// Put the same deadlines back for the next round.
		if _, err := s.pool.Exec(ctx, `UPDATE cases SET escalation_level = 0, due_at = $1 WHERE id <= $2`,
			storetest.Epoch.Add(-time.Minute), due); err != nil {
			b.Fatal(err)
		}
		for _, q := range []string{`DELETE FROM outbox`, `DELETE FROM case_events`, `VACUUM ANALYZE cases`} {
			if _, err := s.pool.Exec(ctx, q); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(due)/b.Elapsed().Seconds()*float64(b.N), "deadlines/s")
	b.ReportMetric(float64(open), "open_cases")
}

func open1(b *testing.B, now func() time.Time) *Store {
	b.Helper()
	s, err := Open(context.Background(), testenv.PostgresURL(b), Options{Now: now, MaxConns: 4})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	if err := s.Migrate(context.Background()); err != nil {
		b.Fatal(err)
	}
	return s
}

// Cases opened by a batch are inserted already assigned (batch.go); the
// statistics columns the UPDATE trigger keeps must be right for them too.
func TestBatchedOpeningKeepsStatsColumns(t *testing.T) {
	e := storetest.NewEnv(t, func(t *testing.T, now func() time.Time) cases.Store { return open(t, now, 8) })
	e.Engine(t, nil)
	s := e.Store.(*Store)
	const n = 40
	ms := make([]gateway.Message, n)
	for i := range ms {
		ms[i] = storetest.Lighting(e.Clock.Now())
		ms[i].Location.Long += 0.01 * float64(i) // no duplicates
		e.Accept(t, ms[i])
	}
	var wg sync.WaitGroup
	for _, m := range ms {
		wg.Go(func() {
			if _, err := s.MessageDecide(e.Ctx, m.ID, gateway.Decision{Outcome: gateway.OutcomeCaseOpened, Rule: "r"}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	var total, withDue, wrong int
	err := s.pool.QueryRow(e.Ctx, `SELECT count(*), count(due_at),
		count(*) FILTER (WHERE stats_due_at IS DISTINCT FROM due_at OR stats_max_level <> escalation_level
			OR stats_result_at IS NOT NULL)
		FROM cases`).Scan(&total, &withDue, &wrong)
	if err != nil {
		t.Fatal(err)
	}
	if total != n || withDue != n || wrong != 0 {
		t.Fatalf("%d cases, %d with a deadline, %d with wrong statistics columns", total, withDue, wrong)
	}
}
