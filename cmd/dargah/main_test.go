package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/configs"
	"github.com/dargah137/dargah/gateway"
	"github.com/dargah137/dargah/internal/app"
	"github.com/dargah137/dargah/internal/testenv"
)

func runCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, &out, &errOut)
	return out.String() + errOut.String(), err
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"../../configs/dargah.yaml", "../../configs/portals.yaml"} {
		t.Run(filepath.Base(f), func(t *testing.T) {
			for k, v := range map[string]string{
				"DARGAH_DATABASE_URL": "postgres://x@127.0.0.1/none", "DARGAH_REDIS_URL": "redis://127.0.0.1:1/0",
				"DARGAH_SMPP_PASSWORD": "x", "DARGAH_SMS_PANEL_SECRET": "x", "DARGAH_SMS_PANEL_TOKEN": "x",
			} {
				t.Setenv(k, v)
			}
			out, err := runCmd(t, "validate", "-config", f)
			if err != nil {
				t.Fatalf("validate %s: %v\n%s", f, err, out)
			}
			if f == "../../configs/portals.yaml" && !strings.Contains(out, "(13 portals)") {
				t.Errorf("the 137 center has 13 portals: %s", out)
			}
		})
	}
	bad := []struct{ name, yaml, want string }{
		{"unknown top-level key", "listen: :1\nlisten_port: 2\n", "listen_port"},
		{"unknown portal type", "portals:\n  - name: a\n    type: carrier-pigeon\n", `unknown type "carrier-pigeon"`},
		{"unknown portal key", "portals:\n  - name: web\n    type: webform\n    colour: blue\n", `unknown key "colour"`},
		{"duplicate portal", "portals:\n  - name: web\n    type: webform\n  - name: web\n    type: webform\n    prefix: /b\n", "name already used"},
		{"missing name", "portals:\n  - type: webform\n", "name is required"},
		{"bad storage", "storage:\n  driver: oracle\n", "oracle"},
		{"missing org file", "org: /nonexistent/org.yaml\n", "org.yaml"},
		{"bad ladder", "escalation: " + mustAbs(t, "../../configs/routing.yaml") + "\n", "routing.yaml"},
		{"postgres without dsn", "storage:\n  driver: postgres\n  dsn_env: DARGAH_TEST_UNSET_DSN\n", "DARGAH_TEST_UNSET_DSN"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			p := writeFile(t, dir, strings.ReplaceAll(c.name, " ", "_")+".yaml", c.yaml)
			out, err := runCmd(t, "validate", "-config", p)
			if err == nil {
				t.Fatalf("validate accepted it:\n%s", out)
			}
			if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), p) {
				t.Errorf("error %q should name %q and the file", err, c.want)
			}
		})
	}
}

// TestDeadLetterAndReplay: a message the router cannot handle (a service
// code the rules do not know) is dead-lettered, shown by `dargah
// deadletters`, and — once an admin adds the service — replayed by
// `dargah replay` into a case.
func TestDeadLetterAndReplay(t *testing.T) {
	dir := t.TempDir()
	cfgPath := writeFile(t, dir, "dargah.yaml", fmt.Sprintf("data_dir: %s\nstream:\n  retry_delay: 50ms\n", dir))
	ctx := context.Background()
	start := func(cfg app.Config) *app.App {
		a, err := app.Build(ctx, cfg, app.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Start(ctx); err != nil {
			t.Fatal(err)
		}
		return a
	}
	cfg, err := app.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	a := start(cfg)
	r, err := a.Pipeline.Submit(ctx, gateway.Message{
		Portal: "web", PortalKind: "webform", PortalMessageID: "snow-1",
		Text: "برف کوچه را پاک نکرده‌اند", ServiceCode: "snow_removal",
	})
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if r, err = a.Pipeline.Await(wctx, r.MessageID); err != nil || r.Status != gateway.StatusDead {
		t.Fatalf("receipt = %+v, %v; want dead", r, err)
	}
	if err := a.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	out, err := runCmd(t, "deadletters", "-config", cfgPath)
	if err != nil || !strings.Contains(out, "snow_removal") || !strings.Contains(out, "portal=web") {
		t.Fatalf("deadletters: %v\n%s", err, out)
	}

	// The admin adds the service to the rules and replays.
	rules := strings.Replace(string(configs.Routing), "services:\n", `services:
  - code: snow_removal
    name:
      fa: برف‌روبی
    keywords:
      - برف
`, 1)
	rulesPath := writeFile(t, dir, "routing.yaml", rules)
	// …and tells the organization which department clears snow.
	orgPath := writeFile(t, dir, "org.yaml", strings.Replace(string(configs.Org), "services:\n", "services:\n  snow_removal: civil_works\n", 1))
	cfgPath = writeFile(t, dir, "dargah.yaml", fmt.Sprintf("data_dir: %s\nrouting: %s\norg: %s\n", dir, rulesPath, orgPath))
	out, err = runCmd(t, "replay", "-config", cfgPath, "-all")
	if err != nil || !strings.Contains(out, "replayed") {
		t.Fatalf("replay: %v\n%s", err, out)
	}
	if cfg, err = app.Load(cfgPath); err != nil {
		t.Fatal(err)
	}
	a = start(cfg)
	defer a.Shutdown(ctx)
	// The ledger still says dead until the replayed delivery is decided.
	for r.Status != gateway.StatusDecided {
		if r, err = a.Pipeline.Await(wctx, r.MessageID); err != nil || wctx.Err() != nil {
			t.Fatalf("after replay: %+v, %v", r, err)
		}
		if r.Status == gateway.StatusDead {
			time.Sleep(20 * time.Millisecond)
		}
	}
	if r.Decision.Outcome != gateway.OutcomeCaseOpened || r.Decision.ServiceCode != "snow_removal" {
		t.Errorf("decision after replay = %+v", r.Decision)
	}
	if out, _ := runCmd(t, "deadletters", "-config", cfgPath); !strings.Contains(out, "no dead letters") {
		t.Errorf("dead letters remain after replay:\n%s", out)
	}
}

// TestKillNineLosesNothing runs the real binary, kills it with SIGKILL in
// the middle of a burst of messages, starts it again on the same data, and
// checks that every message the API accepted is decided exactly once: one
// case per case-worthy message, none lost, none doubled. Both runtimes.
func TestKillNineLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := filepath.Join(t.TempDir(), "dargah")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	for _, rt := range []string{"embedded", "production"} {
		t.Run(rt, func(t *testing.T) {
			dir := t.TempDir()
			cfg := fmt.Sprintf("data_dir: %s\nsweep_after: 2s\nstream:\n  claim_timeout: 1s\n  retry_delay: 100ms\n", dir)
			if rt == "production" {
				redisURL, prefix := testenv.RedisURL(t)
				cfg += fmt.Sprintf("  driver: redis\n  url: %s\n  name: %smessages\nstorage:\n  driver: postgres\n  dsn: %s\n", redisURL, prefix, testenv.PostgresURL(t))
			}
			cfgPath := writeFile(t, dir, "dargah.yaml", cfg)

			srv := startBinary(t, bin, cfgPath)
			accepted := burst(t, srv.url, 300, func(i int) {
				if i == 150 {
					_ = srv.cmd.Process.Signal(syscall.SIGKILL)
				}
			})
			_ = srv.cmd.Wait()
			if len(accepted) == 0 {
				t.Fatal("nothing was accepted before the kill")
			}

			srv2 := startBinary(t, bin, cfgPath)
			defer srv2.stop(t)
			// Every accepted message gets decided after the restart.
			deadline := time.Now().Add(30 * time.Second)
			codes := map[string]string{}
			for id := range accepted {
				for {
					var got struct {
						Outcome      string `json:"outcome"`
						TrackingCode string `json:"tracking_code"`
					}
					resp, err := http.Get(srv2.url + "/api/v1/messages/" + id)
					if err == nil {
						_ = json.NewDecoder(resp.Body).Decode(&got)
						resp.Body.Close()
					}
					if err == nil && resp.StatusCode == http.StatusOK && got.Outcome != "" {
						if got.Outcome == "case_opened" {
							codes[id] = got.TrackingCode
						}
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("message %s accepted before the kill was never decided", id)
					}
					time.Sleep(50 * time.Millisecond)
				}
			}
			srv2.stop(t)
			// Exactly one case per case-opening message.
			a, err := app.Build(context.Background(), mustLoad(t, cfgPath), app.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			list, err := a.Store.CaseSearch(context.Background(), cases.Filter{Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			bySource := map[string]int{}
			for _, c := range list {
				bySource[c.SourceMessageID]++
			}
			for id, code := range codes {
				if bySource[id] != 1 {
					t.Errorf("message %s (case %s) has %d cases", id, code, bySource[id])
				}
			}
			t.Logf("%s: %d accepted before SIGKILL, all decided after restart, %d cases", rt, len(accepted), len(codes))
		})
	}
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	abs, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

func mustLoad(t *testing.T, path string) app.Config {
	t.Helper()
	c, err := app.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type server struct {
	cmd *exec.Cmd
	url string
	log *bytes.Buffer
}

func startBinary(t *testing.T, bin, cfgPath string) *server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var log bytes.Buffer
	cmd := exec.Command(bin, "serve", "-config", cfgPath, "-listen", addr)
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, url: "http://" + addr, log: &log}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		if t.Failed() {
			t.Logf("server log:\n%s", log.String())
		}
	})
	for i := 0; i < 300; i++ {
		if resp, err := http.Get(s.url + "/healthz"); err == nil {
			resp.Body.Close()
			return s
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("server did not come up:\n%s", log.String())
	return nil
}

func (s *server) stop(t *testing.T) {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	_ = s.cmd.Wait()
}

// burst posts n messages with 16 senders and returns the ids of those
// the API accepted (200 or 202); each is retried until the server is gone.
func burst(t *testing.T, url string, n int, onSend func(i int)) map[string]bool {
	t.Helper()
	var mu sync.Mutex
	accepted := map[string]bool{}
	jobs := make(chan int)
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 5 * time.Second}
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				text := "جدول خیابان شماره " + fmt.Sprint(i) + " شکسته است"
				if i%3 == 0 {
					text = "ساعت کاری ۱۳۷ چیست"
				}
				body := fmt.Sprintf(`{"text":%q,"contact":{"phone":"0912%07d"}}`, text, i)
				req, _ := http.NewRequest(http.MethodPost, url+"/api/v1/messages", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Idempotency-Key", fmt.Sprintf("kill-%d", i))
				resp, err := client.Do(req)
				if err != nil {
					continue
				}
				var out struct {
					MessageID string `json:"message_id"`
				}
				_ = json.NewDecoder(resp.Body).Decode(&out)
				resp.Body.Close()
				if (resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusAccepted) && out.MessageID != "" {
					mu.Lock()
					accepted[out.MessageID] = true
					mu.Unlock()
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		onSend(i)
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	return accepted
}
