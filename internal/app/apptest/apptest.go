// Package apptest starts a whole Dargah — store, stream, router, pipeline,
// portals and HTTP server — for end-to-end tests, exactly as `dargah serve`
// assembles it.
//
//	h := apptest.Start(t, apptest.Options{Portals: `
//	- name: web
//	  type: webform
//	`})
//	resp, _ := http.Post(h.URL+"/api/v1/messages", ...)
//
// The embedded runtime (default) keeps its SQLite files in t.TempDir(); the
// production runtime uses a fresh PostgreSQL schema and Redis key prefix
// from internal/testenv. Everything stops when the test ends.
package apptest

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/internal/app"
	"github.com/dargah137/dargah/internal/testenv"

	// The default portal. Tests of other adapters link their own package;
	// linking channels/all here would make an import cycle with their
	// in-package tests.
	_ "github.com/dargah137/dargah/channels/webform"
)

// Runtime selects the backends.
type Runtime string

const (
	Embedded   Runtime = "embedded"   // SQLite + embedded stream
	Production Runtime = "production" // PostgreSQL + Redis Streams
)

// Options configure a harness. Zero values give the embedded runtime with
// the built-in routing rules and one webform portal named "web".
type Options struct {
	Runtime Runtime
	// Portals is the YAML of the `portals:` list.
	Portals string
	// Config is extra top-level YAML merged before defaults (e.g. workers: 1).
	Config string
	Now    func() time.Time
	// Verbose logs to the test log instead of discarding.
	Verbose bool
}

// Harness is a running Dargah.
type Harness struct {
	URL    string // base URL, no trailing slash
	App    *app.App
	Store  cases.Store
	Config app.Config
}

// Start builds and starts Dargah; it fails the test on any error.
func Start(t testing.TB, o Options) *Harness {
	t.Helper()
	cfg := Prepare(t, o)
	return StartConfig(t, cfg, o)
}

// Prepare returns the config Start would use, so a test can start two
// instances on the same backends (StartConfig twice).
func Prepare(t testing.TB, o Options) app.Config {
	t.Helper()
	var cfg app.Config
	if o.Config != "" {
		var err error
		if cfg, err = app.Parse("apptest", []byte(o.Config)); err != nil {
			t.Fatalf("apptest config: %v", err)
		}
	}
	cfg.File = "apptest"
	cfg.DataDir = t.TempDir()
	cfg.Listen = "127.0.0.1:0"
	if cfg.SweepAfter == 0 {
		cfg.SweepAfter = 10 * time.Second
	}
	if cfg.Stream.RetryDelay == 0 {
		cfg.Stream.RetryDelay = 100 * time.Millisecond
	}
	if cfg.Stream.ClaimTimeout == 0 {
		cfg.Stream.ClaimTimeout = 2 * time.Second
	}
	if o.Runtime == Production {
		cfg.Storage = app.StorageConfig{Driver: "postgres", DSN: testenv.PostgresURL(t)}
		redisURL, prefix := testenv.RedisURL(t)
		cfg.Stream.Driver, cfg.Stream.URL, cfg.Stream.Name = "redis", redisURL, prefix+"messages"
	}
	portals := o.Portals
	if portals == "" {
		portals = app.DefaultPortals
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(portals), &doc); err != nil {
		t.Fatalf("apptest portals YAML: %v", err)
	}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		cfg.Portals = *doc.Content[0]
	}
	return cfg
}

// StartConfig starts Dargah from a prepared config.
func StartConfig(t testing.TB, cfg app.Config, o Options) *Harness {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	if o.Verbose || os.Getenv("DARGAH_TEST_VERBOSE") != "" {
		log = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	ctx := context.Background()
	a, err := app.Build(ctx, cfg, app.Options{Logger: log, Now: o.Now})
	if err != nil {
		t.Fatalf("apptest: build: %v", err)
	}
	if err := a.Start(ctx); err != nil {
		a.Close()
		t.Fatalf("apptest: start: %v", err)
	}
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(func() {
		srv.Close()
		sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := a.Shutdown(sctx); err != nil {
			t.Errorf("apptest: shutdown: %v", err)
		}
	})
	return &Harness{URL: srv.URL, App: a, Store: a.Store, Config: a.Config()}
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}
