package casesqlite

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/cases/process"
	"github.com/dargah137/dargah/cases/storetest"
)

// BenchmarkFire is the embedded runtime's scheduler pass over 10,000 due
// deadlines among DARGAH_BENCH_CASES open cases (default 100,000).
//
//	go test -run '^$' -bench BenchmarkFire -benchtime 3x ./cases/casesqlite/
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
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(b.TempDir(), "bench.db"), Options{Now: clock.Now})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
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
	js, _ := json.Marshal(codes)
	start, past := storetest.Epoch.Add(-100*time.Hour).UnixNano(), storetest.Epoch.Add(-time.Minute).UnixNano()
	if _, err := s.w.ExecContext(ctx, `INSERT INTO cases (tracking_code, status, service_code, portal, portal_kind,
			department, escalation_level, due_at, timer_kind, level_started_at, description, opened_at, updated_at)
		SELECT value, 'assigned', 'street_lighting', 'web', 'webform', 'street_lighting', 0,
			CASE WHEN key < ? THEN ? ELSE ? END, 'escalate', ?, 'seed', ?, ?
		FROM json_each(?)`, due, past, past+int64(3650*24*time.Hour), start, start, start, string(js)); err != nil {
		b.Fatal(err)
	}
	eng, err := process.New(process.Config{Store: s, Org: storetest.Org(b), Ladder: storetest.Ladder(b), Now: clock.Now, Batch: 1000})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		n, err := eng.Fire(ctx)
		if err != nil || n != due {
			b.Fatalf("fired %d, %v", n, err)
		}
		b.StopTimer()
		for _, q := range []string{`UPDATE cases SET escalation_level = 0, due_at = ` + strconv.FormatInt(past, 10) + ` WHERE id <= ` + strconv.Itoa(due),
			`DELETE FROM outbox`, `DELETE FROM case_events`} {
			if _, err := s.w.ExecContext(ctx, q); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(due)/b.Elapsed().Seconds()*float64(b.N), "deadlines/s")
	b.ReportMetric(float64(open), "open_cases")
}
