// Command dargah runs the Dargah gateway.
//
//	dargah serve    [-config FILE]   run (embedded default without -config)
//	dargah migrate  [-config FILE]   bring the database schema up to date
//	dargah validate  -config FILE    check a config without starting anything
//	dargah deadletters [-config FILE] [-limit N]   list messages that kept failing
//	dargah replay   [-config FILE] (-all | ID...)  put dead letters back on the stream
//	dargah user     [-config FILE] add|list|passwd|disable|enable|roles …  staff accounts
//	dargah export   [-config FILE] -from 1405-01-01 -to 1405-06-31 [-gregorian] [-out FILE]  cases as CSV
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/dargah137/dargah/internal/app"
	"github.com/dargah137/dargah/web/console/users"

	_ "github.com/dargah137/dargah/channels/all"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "dargah:", err)
		os.Exit(1)
	}
}

const usage = `usage: dargah <command> [flags]

commands:
  serve        run Dargah (embedded SQLite + stream in ./data unless -config says otherwise)
  migrate      bring the database schema up to date
  validate     check a config file without starting anything
  deadletters  list messages in the dead-letter place
  replay       put dead letters back on the stream (-all, or ids)
  user         manage staff accounts of the consoles (add, list, passwd, disable, enable, roles)
` + exportUsage + `

Run 'dargah <command> -h' for a command's flags.`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return errors.New("no command given")
	}
	cmd, args := args[0], args[1:]
	fs := flag.NewFlagSet("dargah "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "config file (YAML); none means the embedded default")
	switch cmd {
	case "serve":
		listen := fs.String("listen", "", "listen address, overrides the config (default :8137)")
		if err := fs.Parse(args); err != nil {
			return err
		}
		cfg, err := loadConfig(*configPath)
		if err != nil {
			return err
		}
		if *listen != "" {
			cfg.Listen = *listen
		}
		return serve(ctx, cfg, stderr)
	case "migrate":
		if err := fs.Parse(args); err != nil {
			return err
		}
		a, err := build(ctx, *configPath, stderr)
		if err != nil {
			return err
		}
		defer a.Close()
		if err := a.Migrate(ctx); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "migrations are up to date")
		return nil
	case "validate":
		if err := fs.Parse(args); err != nil {
			return err
		}
		if *configPath == "" {
			return errors.New("validate needs -config FILE")
		}
		return validate(*configPath, stdout)
	case "deadletters":
		limit := fs.Int("limit", 100, "how many to list")
		asJSON := fs.Bool("json", false, "print JSON lines")
		if err := fs.Parse(args); err != nil {
			return err
		}
		a, err := build(ctx, *configPath, stderr)
		if err != nil {
			return err
		}
		defer a.Close()
		list, err := a.Stream.DeadLetters(ctx, *limit)
		if err != nil {
			return fmt.Errorf("list dead letters: %w", err)
		}
		enc := json.NewEncoder(stdout)
		for _, d := range list {
			if *asJSON {
				if err := enc.Encode(d); err != nil {
					return err
				}
				continue
			}
			fmt.Fprintf(stdout, "%s\t%s\tportal=%s\tattempts=%d\t%s\t%q\n", d.ID, d.FailedAt.Format(time.RFC3339),
				d.Message.Portal, d.Attempts, d.Reason, truncate(d.Message.Text, 60))
		}
		if len(list) == 0 && !*asJSON {
			fmt.Fprintln(stdout, "no dead letters")
		}
		return nil
	case "replay":
		all := fs.Bool("all", false, "replay every dead letter")
		if err := fs.Parse(args); err != nil {
			return err
		}
		a, err := build(ctx, *configPath, stderr)
		if err != nil {
			return err
		}
		defer a.Close()
		ids := fs.Args()
		if *all {
			list, err := a.Stream.DeadLetters(ctx, 100000)
			if err != nil {
				return fmt.Errorf("list dead letters: %w", err)
			}
			for _, d := range list {
				ids = append(ids, d.ID)
			}
		}
		if len(ids) == 0 {
			return errors.New("replay needs dead-letter ids or -all")
		}
		for _, id := range ids {
			if err := a.Stream.Replay(ctx, id); err != nil {
				return fmt.Errorf("replay %s: %w", id, err)
			}
			fmt.Fprintln(stdout, "replayed", id)
		}
		return nil
	case "export": // stats: cmd/dargah/export.go
		return runExport(ctx, args, stdout, stderr)
	case "user": // staff accounts of the consoles: web/console/users
		if err := fs.Parse(args); err != nil {
			return err
		}
		a, err := build(ctx, *configPath, stderr)
		if err != nil {
			return err
		}
		defer a.Close()
		if err := a.Migrate(ctx); err != nil {
			return err
		}
		return users.Command(ctx, a.Users, fs.Args(), stdout)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	default:
		fmt.Fprintln(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
}

func loadConfig(path string) (app.Config, error) {
	if path == "" {
		return app.Config{}, nil
	}
	return app.Load(path)
}

func newLogger(cfg app.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(strings.ToUpper(defaultString(cfg.LogLevel, "info"))))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func build(ctx context.Context, configPath string, logOut io.Writer) (*app.App, error) {
	cfg, err := loadConfig(configPath)
	if err != nil {
		return nil, err
	}
	return app.Build(ctx, cfg, app.Options{Logger: newLogger(cfg, logOut)})
}

func validate(path string, stdout io.Writer) error {
	cfg, err := app.Load(path)
	if err != nil {
		return err
	}
	n, err := app.Validate(cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: ok (%d portals)\n", path, n)
	return nil
}

func serve(ctx context.Context, cfg app.Config, logOut io.Writer) error {
	log := newLogger(cfg, logOut)
	a, err := app.Build(ctx, cfg, app.Options{Logger: log})
	if err != nil {
		return err
	}
	eff := a.Config()
	if err := a.Start(ctx); err != nil {
		a.Close()
		return err
	}
	if eff.DebugListen != "" {
		// Profiles only on an operator's own address, never on the public one.
		dbg := http.NewServeMux()
		dbg.HandleFunc("/debug/pprof/", pprof.Index)
		dbg.HandleFunc("/debug/pprof/profile", pprof.Profile)
		dbg.HandleFunc("/debug/pprof/trace", pprof.Trace)
		go func() {
			if err := http.ListenAndServe(eff.DebugListen, dbg); err != nil {
				log.Error("debug listener", "err", err)
			}
		}()
	}
	ln, err := net.Listen("tcp", eff.Listen)
	if err != nil {
		_ = a.Shutdown(context.Background())
		return fmt.Errorf("listen on %s: %w", eff.Listen, err)
	}
	srv := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	log.Info("dargah is serving", "addr", ln.Addr().String(), "storage", eff.Storage.Driver, "stream", eff.Stream.Driver,
		"portals", len(a.Portals), "url", "http://"+displayAddr(ln.Addr().String())+"/")
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		_ = a.Shutdown(context.Background())
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: draining in-flight messages")
	sctx, cancel := context.WithTimeout(context.Background(), eff.ShutdownTimeout)
	defer cancel()
	err = errors.Join(srv.Shutdown(sctx), a.Shutdown(sctx))
	if err == nil {
		log.Info("stopped cleanly")
	}
	return err
}

func displayAddr(addr string) string {
	if strings.HasPrefix(addr, "[::]") {
		return "localhost" + strings.TrimPrefix(addr, "[::]")
	}
	if strings.HasPrefix(addr, "0.0.0.0") {
		return "localhost" + strings.TrimPrefix(addr, "0.0.0.0")
	}
	return addr
}

func defaultString(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
