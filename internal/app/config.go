// Package app assembles Dargah from its config: storage, stream, router,
// pipeline, portals and the HTTP server. cmd/dargah is a thin shell over it,
// and internal/app/apptest starts the same assembly for end-to-end tests.
package app

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/dargah137/dargah/web/console"
)

// Config is the whole config file. A file that names only portals runs on
// the embedded default: SQLite and the embedded stream under DataDir.
type Config struct {
	// File is where the config came from (for error messages); not in YAML.
	File string `yaml:"-"`

	Listen string `yaml:"listen"` // default ":8137"
	// DebugListen, when set (e.g. 127.0.0.1:6060), serves Go's pprof
	// profiles there for an operator; empty turns it off.
	DebugListen string `yaml:"debug_listen"`
	DataDir     string `yaml:"data_dir"` // default "./data"
	Instance    string `yaml:"instance"` // consumer name; default hostname-pid
	Workers     int    `yaml:"workers"`  // concurrent routing consumers; default 4
	// Routing is the path of the routing rules, relative to the config
	// file; empty uses the rules built into the binary (configs/routing.yaml).
	Routing string `yaml:"routing"`
	// Org and Escalation are the organization (departments, districts) and
	// the escalation ladder, relative to the config file; empty uses the
	// built-in configs/org.yaml and configs/escalation.yaml.
	Org             string        `yaml:"org"`
	Escalation      string        `yaml:"escalation"`
	LogLevel        string        `yaml:"log_level"`  // debug|info|warn|error
	LogFormat       string        `yaml:"log_format"` // text|json
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// SweepAfter is how old an undecided message must be before the sweeper
	// republishes it (default 2m).
	SweepAfter time.Duration `yaml:"sweep_after"`
	// ArchiveRetention is how long after closing a case keeps its personal
	// data (contact, description, location, attachments, message texts);
	// then it is erased and only its classification stays for statistics
	// (stats: internal/app/stats.go). Zero keeps everything.
	ArchiveRetention time.Duration `yaml:"archive_retention"`

	Storage StorageConfig `yaml:"storage"`
	Stream  StreamConfig  `yaml:"stream"`
	// Console configures the staff consoles under /console (web/console).
	Console console.Config `yaml:"console"`

	// Portals is decoded by channels.DecodePortals, each block by its type.
	Portals yaml.Node `yaml:"portals"`
}

// StorageConfig selects the case store.
type StorageConfig struct {
	Driver string `yaml:"driver"` // sqlite (default) | postgres
	// DSN for postgres; DSNEnv names an environment variable holding it
	// (default DARGAH_DATABASE_URL), so secrets stay out of files.
	DSN    string `yaml:"dsn"`
	DSNEnv string `yaml:"dsn_env"`
	// Path of the SQLite file (default DataDir/dargah.db).
	Path     string `yaml:"path"`
	MaxConns int32  `yaml:"max_conns"`
}

// StreamConfig selects the message stream.
type StreamConfig struct {
	Driver string `yaml:"driver"` // embedded (default) | redis
	// URL for redis (redis://host:port/db); URLEnv defaults to DARGAH_REDIS_URL.
	URL    string `yaml:"url"`
	URLEnv string `yaml:"url_env"`
	// Name is the Redis key prefix of the stream (default "dargah:messages").
	Name string `yaml:"name"`
	// Path of the embedded stream file (default DataDir/stream.db).
	Path         string        `yaml:"path"`
	MaxAttempts  int           `yaml:"max_attempts"`
	RetryDelay   time.Duration `yaml:"retry_delay"`
	ClaimTimeout time.Duration `yaml:"claim_timeout"`
	MaxLen       int64         `yaml:"max_len"`
	// Concurrency is how many messages each routing worker routes at once
	// (default 32: the most one read of the embedded stream claims, so a
	// whole read is routed together). Decisions wait for a batched commit,
	// so more in flight make bigger batches; a conversation's messages
	// stay in order.
	Concurrency int `yaml:"concurrency"`
}

// DefaultPortals is used when a config names no portals at all: the web
// portal, so `dargah serve` on a fresh machine has something to talk to.
const DefaultPortals = `
- name: web
  type: webform
`

// Load reads and strictly decodes a config file; environment references are
// resolved by WithDefaults.
func Load(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read config: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes config bytes strictly: an unknown key fails and names it.
func Parse(file string, data []byte) (Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	// An empty file decodes as io.EOF and means "all defaults".
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, fmt.Errorf("%s: %w", file, err)
	}
	c.File = file
	// Files named in a config are relative to the config's own folder, so
	// `-config configs/dargah.yaml` finds configs/routing.yaml from anywhere.
	for _, p := range []*string{&c.Routing, &c.Org, &c.Escalation} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(filepath.Dir(file), *p)
		}
	}
	return c, nil
}

// WithDefaults fills everything left empty and resolves environment
// variables. It does not touch the network or the disk.
func (c Config) WithDefaults() (Config, error) {
	if c.File == "" {
		c.File = "(built-in defaults)"
	}
	if c.Listen == "" {
		c.Listen = ":8137"
	}
	if c.DataDir == "" {
		c.DataDir = "./data"
	}
	if c.Instance == "" {
		host, _ := os.Hostname()
		c.Instance = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	if c.Workers <= 0 {
		c.Workers = 4
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = 15 * time.Second
	}
	if c.SweepAfter <= 0 {
		c.SweepAfter = 2 * time.Minute
	}
	var errs []error
	switch c.Storage.Driver {
	case "", "sqlite":
		c.Storage.Driver = "sqlite"
		if c.Storage.Path == "" {
			c.Storage.Path = filepath.Join(c.DataDir, "dargah.db")
		}
	case "postgres":
		if c.Storage.DSNEnv == "" {
			c.Storage.DSNEnv = "DARGAH_DATABASE_URL"
		}
		if c.Storage.DSN == "" {
			c.Storage.DSN = os.Getenv(c.Storage.DSNEnv)
		}
		if c.Storage.DSN == "" {
			errs = append(errs, fmt.Errorf("storage: postgres needs dsn or the environment variable %s", c.Storage.DSNEnv))
		}
	default:
		errs = append(errs, fmt.Errorf("storage.driver %q is not one of sqlite, postgres", c.Storage.Driver))
	}
	switch {
	case c.Stream.Concurrency < 0:
		errs = append(errs, fmt.Errorf("stream.concurrency %d is negative", c.Stream.Concurrency))
	case c.Stream.Concurrency == 0:
		c.Stream.Concurrency = 32
	}
	switch c.Stream.Driver {
	case "", "embedded":
		c.Stream.Driver = "embedded"
		if c.Stream.Path == "" {
			c.Stream.Path = filepath.Join(c.DataDir, "stream.db")
		}
	case "redis":
		if c.Stream.URLEnv == "" {
			c.Stream.URLEnv = "DARGAH_REDIS_URL"
		}
		if c.Stream.URL == "" {
			c.Stream.URL = os.Getenv(c.Stream.URLEnv)
		}
		if c.Stream.URL == "" {
			errs = append(errs, fmt.Errorf("stream: redis needs url or the environment variable %s", c.Stream.URLEnv))
		}
		if c.Stream.Name == "" {
			c.Stream.Name = "dargah:messages"
		}
	default:
		errs = append(errs, fmt.Errorf("stream.driver %q is not one of embedded, redis", c.Stream.Driver))
	}
	switch strings.ToLower(c.LogLevel) {
	case "", "info", "debug", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log_level %q is not one of debug, info, warn, error", c.LogLevel))
	}
	switch c.LogFormat {
	case "", "text", "json":
	default:
		errs = append(errs, fmt.Errorf("log_format %q is not one of text, json", c.LogFormat))
	}
	if c.Portals.Kind == 0 {
		if err := yaml.Unmarshal([]byte(DefaultPortals), &c.Portals); err != nil {
			errs = append(errs, err)
		}
		if c.Portals.Kind == yaml.DocumentNode && len(c.Portals.Content) == 1 {
			c.Portals = *c.Portals.Content[0]
		}
	}
	if err := errors.Join(errs...); err != nil {
		return c, fmt.Errorf("%s: %w", c.File, err)
	}
	return c, nil
}
