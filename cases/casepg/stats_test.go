package casepg

import (
	"os"
	"strconv"
	"testing"
	"time"
)

// BenchmarkStatsYear times Stats over a year of cases (100,000 by default;
// DARGAH_STATS_BENCH_CASES=1000000 for the full-size check) and 2.5
// messages per case, seeded by one INSERT … SELECT generate_series each.
//
//	DARGAH_STATS_BENCH_CASES=1000000 go test -run '^$' -bench StatsYear -benchtime 10x ./cases/casepg
func BenchmarkStatsYear(b *testing.B) {
	n := 100_000
	if v := os.Getenv("DARGAH_STATS_BENCH_CASES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			b.Fatalf("DARGAH_STATS_BENCH_CASES=%q: want a positive number", v)
		}
	}
	s := open(b, time.Now, 4)
	defer s.Close()
	ctx := b.Context()
	from := time.Date(2025, 3, 21, 0, 0, 0, 0, time.UTC)
	to := from.AddDate(1, 0, 0)
	step := to.Sub(from).Seconds() / float64(n)
	start := time.Now()
	// Shapes of a real year: 80% closed, 90% with a result spread over
	// 0–99 hours, 1 in 17 escalated, a third rated, 200 services, 40
	// departments, 13 districts, 5 portals.
	if _, err := s.pool.Exec(ctx, `INSERT INTO cases (tracking_code, status, service_code, portal, portal_kind,
			department, district, escalation_level, stats_max_level, rating, outcome, opened_at, updated_at,
			closed_at, stats_result_at, stats_due_at)
		SELECT lpad(g::text, 10, '0'), CASE WHEN g % 10 < 8 THEN 'closed' ELSE 'assigned' END,
			'svc' || (g % 200), p, p, 'dept' || (g % 40), (1 + g % 13)::text,
			CASE WHEN g % 17 = 0 THEN 1 + g % 3 ELSE 0 END, CASE WHEN g % 17 = 0 THEN 1 + g % 3 ELSE 0 END,
			CASE WHEN g % 3 = 0 THEN 1 + g % 5 ELSE 0 END, CASE WHEN g % 10 < 8 THEN 'resolved' ELSE '' END,
			t, t, CASE WHEN g % 10 < 8 THEN t + interval '100 hours' END,
			CASE WHEN g % 10 < 9 THEN t + (g % 100) * interval '1 hour' END, t + interval '48 hours'
		FROM generate_series(1, $1::int) g,
			LATERAL (SELECT $2::timestamptz + (g - 1) * $3::float8 * interval '1 second',
				(ARRAY['web', 'telegram', 'sms', 'phone', 'email'])[1 + g % 5]) x(t, p)`, n, from, step); err != nil {
		b.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO messages (id, portal, portal_message_id, payload, status, outcome,
			accepted_at, decided_at)
		SELECT 'm' || g, p, g::text, '{}', 'decided', CASE WHEN g % 5 < 3 THEN 'resolved' ELSE 'case_opened' END, t, t
		FROM generate_series(1, $1::int) g,
			LATERAL (SELECT $2::timestamptz + (g - 1) * $3::float8 * interval '1 second',
				(ARRAY['web', 'telegram', 'sms', 'phone', 'email'])[1 + g % 5]) x(t, p)`, n*5/2, from, step*2/5); err != nil {
		b.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, `VACUUM ANALYZE cases`); err != nil {
		b.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, `VACUUM ANALYZE messages`); err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d cases and %d messages in %v", n, n*5/2, time.Since(start).Round(time.Millisecond))
	start = time.Now()
	days, err := s.StatsRefresh(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("first refresh: %d days in %v", days, time.Since(start).Round(time.Millisecond))
	// What autovacuum does within a minute in production: the dirty list
	// held a row per seeded case and message.
	if _, err := s.pool.Exec(ctx, `VACUUM ANALYZE stats_dirty, stats_days, stats_days_msg`); err != nil {
		b.Fatal(err)
	}
	if os.Getenv("DARGAH_STATS_EXPLAIN") != "" {
		d1, d2, b1, b2 := statsSpan(from, to)
		rows, err := s.pool.Query(ctx, "EXPLAIN (ANALYZE) "+qStatsCases, 259200.0, d1, d2, from, b1, b2, to, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				b.Fatal(err)
			}
			b.Log(line)
		}
		rows.Close()
	}
	check := func() {
		st, err := s.Stats(ctx, from, to)
		if err != nil {
			b.Fatal(err)
		}
		if st.CasesOpened != int64(n) {
			b.Fatalf("stats counted %d cases, want %d", st.CasesOpened, n)
		}
	}
	b.Run("steady", func(b *testing.B) {
		for b.Loop() {
			check()
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/stats")
	})
	// A busy day's worth of changes first: 1,000 cases of the last 30 days
	// rated, so 30 days are recomputed inside the timed Stats.
	b.Run("after-1000-changes-over-30-days", func(b *testing.B) {
		round := 0
		for b.Loop() {
			b.StopTimer()
			round++
			if _, err := s.pool.Exec(ctx, `UPDATE cases SET rating = 1 + ($1 + id) % 5
				WHERE id IN (SELECT id FROM cases WHERE opened_at >= $2 ORDER BY id DESC LIMIT 1000)`,
				round, to.AddDate(0, 0, -30)); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			check()
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/stats")
	})
}
