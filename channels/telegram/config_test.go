package telegram_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/dargah137/dargah/cases/casesqlite"
	"github.com/dargah137/dargah/channels"
	"github.com/dargah137/dargah/channels/telegram"
)

func decode(t *testing.T, src string) ([]channels.Portal, error) {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	return channels.DecodePortals("dargah.yaml", doc.Content[0])
}

func TestSettings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, yaml, wantErr string
	}{
		{"minimal", "token_env: TG_TOKEN", ""},
		{"bale", "token_env: BALE_TOKEN\n  api_endpoint: https://tapi.bale.ai/bot%s/%s\n  dialog_timeout: 45m\n  max_file_bytes: 5242880", ""},
		{"webhook", "token_env: T\n  mode: webhook\n  webhook_path: /tg\n  webhook_secret_env: TG_SECRET", ""},
		{"no token", "mode: polling", "exactly one of token and token_env"},
		{"both tokens", "token: a\n  token_env: B", "exactly one of token and token_env"},
		{"bad mode", "token_env: T\n  mode: push", `mode "push"`},
		{"webhook without secret", "token_env: T\n  mode: webhook\n  webhook_path: /tg", "webhook_secret"},
		{"webhook without path", "token_env: T\n  mode: webhook\n  webhook_secret: abc", "webhook_path"},
		{"bad secret", "token_env: T\n  mode: webhook\n  webhook_path: /tg\n  webhook_secret: a b", "webhook_secret may hold"},
		{"bad endpoint", "token_env: T\n  api_endpoint: https://x/%s", "api_endpoint"},
		{"unknown key", "token_env: T\n  tokn: x", `unknown key "tokn"`},
		{"negative size", "token_env: T\n  max_file_bytes: -1", "must not be negative"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ps, err := decode(t, "- name: tg\n  type: telegram\n  "+tc.yaml+"\n")
			if tc.wantErr == "" {
				if err != nil || len(ps) != 1 {
					t.Fatalf("valid config rejected: %v", err)
				}
				if _, ok := ps[0].Adapter.(*telegram.Bot); !ok {
					t.Fatalf("adapter is %T", ps[0].Adapter)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want it to mention %q", err, tc.wantErr)
			}
		})
	}
}

func TestStartNeedsTokenFromEnv(t *testing.T) {
	b := telegram.New()
	s := b.Settings().(*telegram.Settings)
	s.TokenEnv = "DARGAH_TEST_UNSET_TELEGRAM_TOKEN"
	err := b.Start(context.Background(), channels.Env{Portal: "tg", KV: openStore(t)})
	if err == nil || !strings.Contains(err.Error(), "DARGAH_TEST_UNSET_TELEGRAM_TOKEN is empty") {
		t.Fatalf("start with an empty token variable: %v", err)
	}
}

func openStore(t *testing.T) *casesqlite.Store {
	t.Helper()
	st, err := casesqlite.Open(context.Background(), filepath.Join(t.TempDir(), "d.db"), casesqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestKVLeaser runs the lease over the real embedded store.
func TestKVLeaser(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := telegram.KVLeaser{KV: openStore(t)}
	const key = "telegram:tg:lease"
	if ok, err := l.Acquire(ctx, key, "a", time.Minute); !ok || err != nil {
		t.Fatalf("a could not take a free lease: %v %v", ok, err)
	}
	if ok, _ := l.Acquire(ctx, key, "b", time.Minute); ok {
		t.Fatal("b took a's lease")
	}
	if ok, _ := l.Acquire(ctx, key, "a", time.Minute); !ok {
		t.Fatal("a could not renew")
	}
	if err := l.Release(ctx, key, "b"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := l.Acquire(ctx, key, "b", time.Minute); ok {
		t.Fatal("b released a's lease")
	}
	if err := l.Release(ctx, key, "a"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := l.Acquire(ctx, key, "b", time.Minute); !ok {
		t.Fatal("b could not take a released lease")
	}
}
