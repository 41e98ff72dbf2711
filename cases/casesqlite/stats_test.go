package casesqlite

import (
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkStatsYear times Stats over a year of 100,000 cases and 250,000
// messages in the embedded store, which reads them live (no rollups; ~0.75 s here):
//
//	go test -run '^$' -bench StatsYear ./cases/casesqlite
func BenchmarkStatsYear(b *testing.B) {
	const n = 100_000
	ctx := b.Context()
	s, err := Open(ctx, filepath.Join(b.TempDir(), "bench.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	from := time.Date(2025, 3, 21, 0, 0, 0, 0, time.UTC)
	to := from.AddDate(1, 0, 0)
	step := int64(to.Sub(from)) / n
	// Same shapes as casepg's benchmark.
	if _, err := s.w.ExecContext(ctx, `WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < ?1)
		INSERT INTO cases (tracking_code, status, service_code, portal, portal_kind, department, district,
			escalation_level, stats_max_level, rating, outcome, opened_at, updated_at, closed_at, stats_result_at, stats_due_at)
		SELECT printf('%010d', i), CASE WHEN i % 10 < 8 THEN 'closed' ELSE 'assigned' END, 'svc' || (i % 200),
			p, p, 'dept' || (i % 40), CAST(1 + i % 13 AS TEXT),
			CASE WHEN i % 17 = 0 THEN 1 + i % 3 ELSE 0 END, CASE WHEN i % 17 = 0 THEN 1 + i % 3 ELSE 0 END,
			CASE WHEN i % 3 = 0 THEN 1 + i % 5 ELSE 0 END, CASE WHEN i % 10 < 8 THEN 'resolved' ELSE '' END,
			t, t, CASE WHEN i % 10 < 8 THEN t + 360000000000000 END,
			CASE WHEN i % 10 < 9 THEN t + (i % 100) * 3600000000000 END, t + 172800000000000
		FROM (SELECT i, ?2 + (i - 1) * ?3 AS t,
			CASE i % 5 WHEN 0 THEN 'web' WHEN 1 THEN 'telegram' WHEN 2 THEN 'sms' WHEN 3 THEN 'phone' ELSE 'email' END AS p FROM g)`,
		n, from.UnixNano(), step); err != nil {
		b.Fatal(err)
	}
	if _, err := s.w.ExecContext(ctx, `WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < ?1)
		INSERT INTO messages (id, portal, portal_message_id, payload, status, outcome, accepted_at, decided_at)
		SELECT 'm' || i, CASE i % 5 WHEN 0 THEN 'web' WHEN 1 THEN 'telegram' ELSE 'sms' END, CAST(i AS TEXT), '{}',
			'decided', CASE WHEN i % 5 < 3 THEN 'resolved' ELSE 'case_opened' END, ?2 + (i - 1) * ?3, ?2 + (i - 1) * ?3
		FROM g`, n*5/2, from.UnixNano(), step*2/5); err != nil {
		b.Fatal(err)
	}
	if _, err := s.w.ExecContext(ctx, `ANALYZE`); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		st, err := s.Stats(ctx, from, to)
		if err != nil {
			b.Fatal(err)
		}
		if st.CasesOpened != n {
			b.Fatalf("stats counted %d cases, want %d", st.CasesOpened, n)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/stats")
}
