package app

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/cases/statsapi"
)

// Statistics (cases/statsapi): the JSON API and CSV export under
// /api/v1/stats, Prometheus gauges over the last 30 days, and the archive:
// closed cases are copied with their classification, and their personal
// data is erased once archive_retention has passed since closing.
//
// Tokens: DARGAH_TOKEN_STATS and DARGAH_TOKEN_STAFF may read statistics;
// with neither set the API is open (aggregates and tracking codes only).

// statsEvery is how often the gauges, the archive and the purge run.
const statsEvery = time.Minute

// archiveBatch bounds one archive or purge statement; a sweep repeats
// until a batch comes back short.
const archiveBatch = 1000

// startStats mounts the statistics API and gauges and returns the loop
// that keeps them (and the archive) current. A store without statistics
// support gets none of it.
func (a *App) startStats() (func(context.Context), error) {
	ss, ok := a.Store.(cases.StatsStore)
	if !ok {
		a.log.Warn("case store has no statistics support; /api/v1/stats is off")
		return func(context.Context) {}, nil
	}
	var tokens []string
	for _, name := range []string{"DARGAH_TOKEN_STATS", "DARGAH_TOKEN_STAFF"} {
		if v, ok := os.LookupEnv(name); ok && v != "" {
			tokens = append(tokens, v)
		}
	}
	log := a.log.With("component", "stats")
	if len(tokens) == 0 {
		log.Warn("statistics API is open: set DARGAH_TOKEN_STATS to require a token")
	}
	api, err := statsapi.New(statsapi.Config{Store: ss, Tokens: tokens, Logger: log})
	if err != nil {
		return nil, err
	}
	mux := &guardedMux{mux: a.mux}
	api.Register(mux)
	if mux.err != nil {
		return nil, fmt.Errorf("stats api: %w", mux.err)
	}
	col := statsapi.NewCollector(ss, statsapi.CollectorOptions{Now: a.now, Logger: log})
	if err := a.Registry.Register(col); err != nil {
		return nil, fmt.Errorf("stats gauges: %w", err)
	}
	retention := a.cfg.ArchiveRetention
	return func(ctx context.Context) {
		t := time.NewTicker(statsEvery)
		defer t.Stop()
		for {
			a.archiveSweep(ctx, ss, retention)
			if err := col.Refresh(ctx); err != nil && ctx.Err() == nil {
				log.Error("refresh stats gauges", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}, nil
}

// archiveSweep archives every closed case and, with a retention, purges
// the personal data of those closed longer ago than it.
func (a *App) archiveSweep(ctx context.Context, ss cases.StatsStore, retention time.Duration) {
	log := a.log.With("component", "archive")
	now := a.now()
	total := 0
	for ctx.Err() == nil {
		n, err := ss.ArchiveClosed(ctx, now, archiveBatch)
		if err != nil {
			if ctx.Err() == nil {
				log.Error("archive closed cases", "err", err)
			}
			return
		}
		total += n
		if n < archiveBatch {
			break
		}
	}
	if total > 0 {
		log.Info("archived closed cases", "cases", total)
	}
	if retention <= 0 {
		return
	}
	total = 0
	for ctx.Err() == nil {
		n, err := ss.ArchivePurge(ctx, now.Add(-retention), archiveBatch)
		if err != nil {
			if ctx.Err() == nil {
				log.Error("purge personal data of archived cases", "err", err)
			}
			return
		}
		total += n
		if n < archiveBatch {
			break
		}
	}
	if total > 0 {
		log.Info("purged personal data of archived cases", "cases", total, "retention", retention)
	}
}
