package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/cases/casepg"
	"github.com/dargah137/dargah/cases/casesqlite"
	"github.com/dargah137/dargah/cases/org" // console: districts map
	"github.com/dargah137/dargah/cases/process"
	"github.com/dargah137/dargah/channels"
	"github.com/dargah137/dargah/configs"
	"github.com/dargah137/dargah/gateway"
	"github.com/dargah137/dargah/gateway/redisannounce"
	"github.com/dargah137/dargah/gateway/redisstream"
	"github.com/dargah137/dargah/gateway/sqlitestream"
	"github.com/dargah137/dargah/internal/lease"
	"github.com/dargah137/dargah/routing"
	"github.com/dargah137/dargah/routing/acd"
	"github.com/dargah137/dargah/web/console"
	"github.com/dargah137/dargah/web/console/users"
	"github.com/dargah137/dargah/web/console/users/userdb"
)

// Options are what the caller injects besides the config.
type Options struct {
	Logger *slog.Logger
	Now    func() time.Time
}

// App is one assembled Dargah instance.
type App struct {
	cfg      Config
	log      *slog.Logger
	now      func() time.Time
	Store    cases.Store
	Users    users.Store // staff accounts, sessions, audit (web/console)
	Stream   gateway.Stream
	Router   *routing.Router
	Pipeline *gateway.Pipeline
	Portals  []channels.Portal
	Registry *prometheus.Registry
	Process  *process.Engine // process: the 137 process (process.go); nil before Start

	mux       *http.ServeMux
	leases    channels.Leaser
	announcer *redisannounce.Announcer // nil unless the stream is Redis
	closers   []func() error

	runCancel context.CancelFunc
	runDone   chan struct{}

	mu       sync.Mutex
	started  []channels.Portal
	repliers map[string]channels.Replier // by portal name; fixed once Start returns
}

// Build opens storage and the stream and decodes every portal, without
// starting anything. On error everything opened so far is closed.
func Build(ctx context.Context, cfg Config, opts Options) (_ *App, err error) {
	cfg, err = cfg.WithDefaults()
	if err != nil {
		return nil, err
	}
	a := &App{cfg: cfg, log: opts.Logger, now: opts.Now, mux: http.NewServeMux(), Registry: prometheus.NewRegistry()}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.now == nil {
		a.now = time.Now
	}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()

	rules, err := loadRules(cfg.Routing)
	if err != nil {
		return nil, err
	}
	if a.Portals, err = channels.DecodePortals(cfg.File, &cfg.Portals); err != nil {
		return nil, err
	}
	if a.Store, err = openStore(ctx, cfg.Storage, a.log, a.now); err != nil {
		return nil, err
	}
	a.closers = append(a.closers, a.Store.Close)
	// Staff accounts live beside the cases, in the same database.
	if a.Users, err = userdb.Open(ctx, cfg.Storage.Driver, cfg.Storage.DSN, cfg.Storage.Path); err != nil {
		return nil, fmt.Errorf("open console users: %w", err)
	}
	a.closers = append(a.closers, a.Users.Close)
	var rdb *redis.Client
	if a.Stream, rdb, err = openStream(ctx, cfg.Stream, cfg.Workers, a.log, a.now); err != nil {
		return nil, err
	}
	a.closers = append(a.closers, a.Stream.Close)
	var announcer gateway.Announcer // stays nil on the embedded default: one process
	if rdb != nil {
		a.leases = lease.NewRedis(rdb, cfg.Stream.Name+":lease:")
		// Several instances share the stream: whichever decides a message
		// tells the one that accepted it, where a caller may be waiting.
		a.announcer = redisannounce.New(rdb, cfg.Stream.Name+":decided:", a.log.With("component", "announce"))
		a.closers = append(a.closers, func() error { a.announcer.Close(); return nil })
		announcer = a.announcer
	} // else adapters lease through the embedded store's KV (one process)

	a.Router = routing.New(rules, a.Store, routing.Options{})
	a.Pipeline, err = gateway.NewPipeline(gateway.PipelineConfig{
		Ledger:      a.Store,
		Stream:      a.Stream,
		Router:      a.Router,
		Normalize:   routing.Normalize,
		Reply:       a.reply,
		MaxAttempts: cfg.Stream.MaxAttempts,
		Instance:    cfg.Instance,
		Announcer:   announcer,
		Now:         a.now,
		Logger:      a.log.With("component", "pipeline"),
		Metrics:     gateway.NewMetrics(a.Registry),
	})
	if err != nil {
		return nil, err
	}
	a.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return a, nil
}

func loadRules(path string) (*routing.Rules, error) {
	if path == "" {
		return routing.ParseRules("configs/routing.yaml (built in)", configs.Routing)
	}
	return routing.LoadRules(path)
}

func openStore(ctx context.Context, c StorageConfig, log *slog.Logger, now func() time.Time) (cases.Store, error) {
	switch c.Driver {
	case "postgres":
		s, err := casepg.Open(ctx, c.DSN, casepg.Options{Now: now, Logger: log.With("component", "store"), MaxConns: c.MaxConns})
		if err != nil {
			return nil, fmt.Errorf("open PostgreSQL store: %w", err)
		}
		return s, nil
	default:
		if err := ensureDir(c.Path); err != nil {
			return nil, err
		}
		s, err := casesqlite.Open(ctx, c.Path, casesqlite.Options{Now: now, Logger: log.With("component", "store")})
		if err != nil {
			return nil, fmt.Errorf("open SQLite store %s: %w", c.Path, err)
		}
		return s, nil
	}
}

// openStream opens the configured stream; for Redis it also returns the
// client, which the app shares for leases.
func openStream(ctx context.Context, c StreamConfig, workers int, log *slog.Logger, now func() time.Time) (gateway.Stream, *redis.Client, error) {
	opts := gateway.StreamOptions{
		MaxAttempts: c.MaxAttempts, RetryDelay: c.RetryDelay, ClaimTimeout: c.ClaimTimeout, MaxLen: c.MaxLen, Now: now,
	}
	switch c.Driver {
	case "redis":
		ro, err := redis.ParseURL(c.URL)
		if err != nil {
			return nil, nil, fmt.Errorf("stream url: %w", err)
		}
		// Every routing worker holds a connection in a blocking read; the
		// pool must have room for them plus the publishers, or intake
		// would wait for a worker's read to time out.
		if need := workers + 10*runtime.GOMAXPROCS(0); ro.PoolSize < need {
			ro.PoolSize = need
		}
		client := redis.NewClient(ro)
		if err := client.Ping(ctx).Err(); err != nil {
			client.Close()
			return nil, nil, fmt.Errorf("connect to Redis at %s: %w", ro.Addr, err)
		}
		s, err := redisstream.New(client, redisstream.Config{Name: c.Name, Options: opts, Logger: log.With("component", "stream"),
			Concurrency: c.Concurrency})
		if err != nil {
			client.Close()
			return nil, nil, err
		}
		return closeBoth{s, client}, client, nil
	default:
		if err := ensureDir(c.Path); err != nil {
			return nil, nil, err
		}
		s, err := sqlitestream.Open(ctx, c.Path, sqlitestream.Config{Options: opts, Logger: log.With("component", "stream"),
			Concurrency: c.Concurrency})
		if err != nil {
			return nil, nil, fmt.Errorf("open embedded stream %s: %w", c.Path, err)
		}
		return s, nil, nil
	}
}

// closeBoth closes the Redis client the app made along with the stream.
type closeBoth struct {
	gateway.Stream
	client *redis.Client
}

func (c closeBoth) Close() error { return errors.Join(c.Stream.Close(), c.client.Close()) }

func ensureDir(file string) error {
	dir := file[:max(strings.LastIndex(file, string(os.PathSeparator)), 0)]
	if dir == "" {
		return nil
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	return nil
}

// Migrate brings the store's schema up to date.
func (a *App) Migrate(ctx context.Context) error {
	if err := a.Store.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if err := a.Users.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate console users: %w", err)
	}
	return nil
}

// Handler serves everything: health, metrics and the portals' routes.
func (a *App) Handler() http.Handler { return a.mux }

// Config returns the effective config.
func (a *App) Config() Config { return a.cfg }

// Start migrates, starts every portal and the routing workers. It returns
// once all have started; Shutdown stops them.
func (a *App) Start(ctx context.Context) error {
	if err := a.Migrate(ctx); err != nil {
		return err
	}
	a.mux.HandleFunc("GET /healthz", a.healthz)
	a.mux.Handle("GET /metrics", promhttp.HandlerFor(a.Registry, promhttp.HandlerOpts{Registry: a.Registry}))

	services, faqs := a.Router.Services(), a.Router.FAQs()
	lookup := caseView{store: a.Store}
	var timeline channels.Timeline
	if ps, ok := a.Store.(cases.ProcessStore); ok {
		timeline = caseNotes{store: ps, now: a.now}
	}
	for _, p := range a.Portals {
		log := a.log.With("portal", p.Name, "type", p.Kind)
		mux := &guardedMux{mux: a.mux}
		env := channels.Env{
			Portal: p.Name, Kind: p.Kind, Logger: log, Now: a.now,
			Intake: a.Pipeline, Attachments: a.Store, KV: a.Store, Mux: mux,
			Cases: lookup, Services: services, FAQs: faqs, Leases: a.leases, Instance: a.cfg.Instance,
			Timeline: timeline,
		}
		err := p.Adapter.Start(ctx, env)
		if err == nil {
			err = mux.err
		}
		if err != nil {
			a.stopPortals(ctx)
			return fmt.Errorf("start portal %q (type %s): %w", p.Name, p.Kind, err)
		}
		a.mu.Lock()
		a.started = append(a.started, p)
		a.mu.Unlock()
		if q, ok := p.Adapter.(queueMetrics); ok && q.Dispatcher() != nil {
			if err := q.Dispatcher().Register(a.Registry); err != nil {
				log.Warn("queue metrics not registered", "err", err)
			}
		}
		log.Info("portal started")
	}
	a.repliers = map[string]channels.Replier{}
	for _, p := range a.Portals {
		if rep, ok := p.Adapter.(channels.Replier); ok {
			a.repliers[p.Name] = rep
		}
	}

	runProcess, err := a.startProcess(ctx) // process: hooks before the workers decide
	if err != nil {
		a.stopPortals(ctx)
		return err
	}
	var actions console.CaseActions // a nil *process.Engine must stay a nil interface
	if a.Process != nil {
		actions = a.Process
	}
	// console: the agent desktop drives this process's phone portals
	// (asterisk), an agent picking the line at queue login, and the case
	// map draws org.yaml's districts.
	var phones []console.PhoneLine
	for _, p := range a.Portals {
		if t, ok := p.Adapter.(console.Telephony); ok && t.Dispatcher() != nil {
			phones = append(phones, console.PhoneLine{Name: p.Name, Telephony: t})
		}
	}
	var districts []org.District // console:
	var departments []org.Department
	codes := make([]string, 0, len(services))
	for _, s := range services {
		codes = append(codes, s.Code)
	}
	if o, _, err := loadProcessConfig(a.cfg, codes); err == nil {
		districts, departments = o.Districts, o.Departments
	} else {
		a.log.Warn("console: no district map", "err", err)
	}
	con, err := console.New(a.cfg.Console, console.Deps{Users: a.Users, Cases: a.Store, Intake: a.Pipeline, Actions: actions,
		Services: services, Logger: a.log.With("component", "console"), Now: a.now,
		Phones: phones, Districts: districts, Departments: departments}) // console: Phones, Districts, Departments
	if err != nil {
		a.stopPortals(ctx)
		return err
	}
	con.Mount(a.mux)
	runStats, err := a.startStats() // stats: API, gauges, archive
	if err != nil {
		a.stopPortals(ctx)
		return err
	}
	var decisions *redisannounce.Listener
	if a.announcer != nil {
		if decisions, err = a.announcer.Subscribe(ctx, a.cfg.Instance, a.Pipeline.Deliver); err != nil {
			a.stopPortals(ctx)
			return err
		}
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	a.runCancel = cancel
	a.runDone = make(chan struct{})
	var wg sync.WaitGroup
	if decisions != nil {
		wg.Go(func() { decisions.Run(runCtx) })
	}
	wg.Add(4)
	go func() { defer wg.Done(); runProcess(runCtx) }() // process: deadlines and outbox
	go func() { defer wg.Done(); runStats(runCtx) }()   // stats: gauges, archive, purge
	go func() {
		defer wg.Done()
		if err := a.Pipeline.Run(runCtx, a.cfg.Instance, a.cfg.Workers); err != nil {
			a.log.Error("routing workers stopped", "err", err)
		}
	}()
	go func() {
		defer wg.Done()
		a.sweepLoop(runCtx)
	}()
	go func() { wg.Wait(); close(a.runDone) }()
	return nil
}

func (a *App) sweepLoop(ctx context.Context) {
	t := time.NewTicker(a.cfg.SweepAfter / 2)
	defer t.Stop()
	for {
		if _, err := a.Pipeline.Sweep(ctx, a.cfg.SweepAfter); err != nil && ctx.Err() == nil {
			a.log.Error("sweep", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Shutdown stops intake first (portals drain), then the routing workers
// after they finish the messages in hand, then closes storage.
func (a *App) Shutdown(ctx context.Context) error {
	err := a.stopPortals(ctx)
	if a.runCancel != nil {
		a.runCancel()
		select {
		case <-a.runDone:
		case <-ctx.Done():
			err = errors.Join(err, fmt.Errorf("routing workers did not stop in time: %w", ctx.Err()))
		}
	}
	return errors.Join(err, a.Close())
}

func (a *App) stopPortals(ctx context.Context) error {
	a.mu.Lock()
	started := a.started
	a.started = nil
	a.mu.Unlock()
	var errs []error
	for i := len(started) - 1; i >= 0; i-- {
		p := started[i]
		if err := p.Adapter.Stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop portal %q: %w", p.Name, err))
		}
	}
	return errors.Join(errs...)
}

// Close releases storage and the stream; safe to call twice.
func (a *App) Close() error {
	var errs []error
	for i := len(a.closers) - 1; i >= 0; i-- {
		errs = append(errs, a.closers[i]())
	}
	a.closers = nil
	return errors.Join(errs...)
}

func (a *App) reply(ctx context.Context, m gateway.Message, r gateway.Receipt) error {
	if rep, ok := a.repliers[m.Portal]; ok {
		return rep.Reply(ctx, m, r)
	}
	return nil
}

func (a *App) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	status, code := "ok", http.StatusOK
	if _, _, err := a.Store.KVGet(ctx, "healthz"); err != nil {
		status, code = "storage: "+err.Error(), http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	fmt.Fprintf(w, "{\"status\":%q}\n", status)
}

// queueMetrics is implemented by portals that queue calls (asterisk): the
// app registers their queue numbers on its Prometheus registry.
type queueMetrics interface {
	Dispatcher() *acd.Dispatcher
}

// guardedMux turns ServeMux's panic on a conflicting pattern into an error
// for the portal that asked for it, so a bad config cannot crash serve.
type guardedMux struct {
	mux *http.ServeMux
	err error
}

func (g *guardedMux) Handle(pattern string, h http.Handler) {
	defer func() {
		if r := recover(); r != nil && g.err == nil {
			g.err = fmt.Errorf("route %q: %v", pattern, r)
		}
	}()
	g.mux.Handle(pattern, h)
}
