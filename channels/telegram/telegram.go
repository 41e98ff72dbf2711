// Package telegram is the Telegram portal, also used for Bale, whose Bot
// API is the same protocol at another base URL (api_endpoint).
//
// The bot talks with citizens in Persian first (Arabic and English on
// request): a main menu for a new request (text, photos, voice notes,
// files, a location, then the citizen's own phone number), tracking a
// request by its code, questions, and how to reach 137 by phone. Each
// finished request becomes one gateway.Message submitted to intake; the
// decision comes back through Reply. Case notices arrive through Notify;
// a rating request shows 1–5 buttons whose press is submitted to intake
// as a message with Metadata kind=rating.
//
// Updates arrive by long polling (one instance at a time, under a lease)
// or by webhook. Both are idempotent by update id, the polling offset is
// kept in KV, and dialog state lives in KV with the dialog timeout as TTL,
// so a restart neither loses nor repeats anything.
//
// A portal in dargah.yaml:
//
//	portals:
//	  - name: telegram-137
//	    type: telegram
//	    token_env: TELEGRAM_TOKEN
//	    phone_number: "137"
//	    hours: "شنبه تا پنجشنبه ۷ تا ۲۲"
//	  - name: bale-137
//	    type: telegram
//	    token_env: BALE_TOKEN
//	    api_endpoint: https://tapi.bale.ai/bot%s/%s
//	    mode: webhook
//	    webhook_path: /hooks/bale
//	    webhook_url: https://dargah.example.ir/hooks/bale
//	    webhook_secret_env: BALE_WEBHOOK_SECRET
package telegram

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/dargah137/dargah/channels"
)

func init() {
	channels.Register("telegram", func() channels.Adapter { return New() })
}

// Settings are a telegram portal's YAML settings.
type Settings struct {
	// Token is the bot token; prefer TokenEnv, which names an environment
	// variable holding it. Exactly one is required.
	Token    string `yaml:"token"`
	TokenEnv string `yaml:"token_env"`
	// APIEndpoint is the Bot API URL pattern with two %s for token and
	// method (default https://api.telegram.org/bot%s/%s; Bale:
	// https://tapi.bale.ai/bot%s/%s).
	APIEndpoint string `yaml:"api_endpoint"`
	// FileEndpoint is the download URL pattern with %s for token and file
	// path; derived from APIEndpoint ("/bot" → "/file/bot") when empty.
	FileEndpoint string `yaml:"file_endpoint"`
	// Mode is polling (default) or webhook.
	Mode string `yaml:"mode"`
	// WebhookPath is mounted on Dargah's HTTP server in webhook mode.
	WebhookPath string `yaml:"webhook_path"`
	// WebhookURL, when set, is registered with setWebhook at start: the
	// public URL that reaches WebhookPath.
	WebhookURL string `yaml:"webhook_url"`
	// WebhookSecret (or WebhookSecretEnv) is the secret_token Telegram
	// sends in X-Telegram-Bot-Api-Secret-Token; required in webhook mode.
	WebhookSecret    string `yaml:"webhook_secret"`
	WebhookSecretEnv string `yaml:"webhook_secret_env"`
	// PhoneNumber and Hours are shown under "talk to 137".
	PhoneNumber string `yaml:"phone_number"`
	Hours       string `yaml:"hours"`
	// MaxFileBytes bounds each downloaded file (default 10 MiB).
	MaxFileBytes int64 `yaml:"max_file_bytes"`
	// DialogTimeout is how long an unfinished dialog is kept (default 30m).
	DialogTimeout time.Duration `yaml:"dialog_timeout"`
	// PollTimeout is the getUpdates long-poll timeout (default 25s).
	PollTimeout time.Duration `yaml:"poll_timeout"`
	// RetryDelay is the first backoff after a failed poll, webhook
	// registration or update; it doubles up to 30s (default 1s).
	RetryDelay time.Duration `yaml:"retry_delay"`
}

// Defaults.
const (
	DefaultAPIEndpoint   = tgbotapi.APIEndpoint
	DefaultMaxFileBytes  = 10 << 20
	DefaultDialogTimeout = 30 * time.Minute
	DefaultPollTimeout   = 25 * time.Second
	seenTTL              = 48 * time.Hour
)

// Bot is the telegram portal adapter. Construct it with New (or through
// the channels registry), decode settings into Settings(), Validate,
// Start and Stop.
type Bot struct {
	cfg Settings
	// Leaser decides which instance polls; env.Leases when nil, or
	// KVLeaser over env.KV when the host gives no leases.
	Leaser Leaser
	// HTTPClient is used for every Bot API call and download; its
	// timeout must exceed PollTimeout. A default is made when nil.
	HTTPClient *http.Client

	retryBase time.Duration // cfg.RetryDelay

	env      channels.Env
	log      *slog.Logger
	now      func() time.Time
	api      *tgbotapi.BotAPI
	token    string
	secret   string
	instance string
	out      *outbox
	locks    keyedMutex

	mu       sync.Mutex
	started  bool
	stopping bool
	cancel   context.CancelFunc // ends polling and webhook handling
	cancelIO context.CancelFunc // ends sends and retries, after draining
	inflight sync.WaitGroup
}

// New returns a Bot with default settings and no side effects.
func New() *Bot {
	return &Bot{
		cfg: Settings{
			APIEndpoint:   DefaultAPIEndpoint,
			Mode:          "polling",
			PhoneNumber:   "137",
			MaxFileBytes:  DefaultMaxFileBytes,
			DialogTimeout: DefaultDialogTimeout,
			PollTimeout:   DefaultPollTimeout,
		},
	}
}

// Settings implements channels.Adapter.
func (b *Bot) Settings() any { return &b.cfg }

// secretRe is Telegram's rule for secret_token.
var secretRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)

// Validate implements channels.Adapter; it touches no network.
func (b *Bot) Validate() error {
	c := &b.cfg
	var errs []error
	if (c.Token == "") == (c.TokenEnv == "") {
		errs = append(errs, errors.New("exactly one of token and token_env is required"))
	}
	if strings.Count(c.APIEndpoint, "%s") != 2 {
		errs = append(errs, fmt.Errorf("api_endpoint %q must contain %%s twice (token, method)", c.APIEndpoint))
	}
	if c.FileEndpoint != "" && strings.Count(c.FileEndpoint, "%s") != 2 {
		errs = append(errs, fmt.Errorf("file_endpoint %q must contain %%s twice (token, path)", c.FileEndpoint))
	}
	if c.FileEndpoint == "" && !strings.Contains(c.APIEndpoint, "/bot%s/") {
		errs = append(errs, errors.New("file_endpoint is required when api_endpoint has no /bot%s/ part"))
	}
	switch c.Mode {
	case "", "polling":
	case "webhook":
		if !strings.HasPrefix(c.WebhookPath, "/") {
			errs = append(errs, errors.New("webhook mode needs webhook_path starting with /"))
		}
		if (c.WebhookSecret == "") == (c.WebhookSecretEnv == "") {
			errs = append(errs, errors.New("webhook mode needs exactly one of webhook_secret and webhook_secret_env"))
		}
		if c.WebhookSecret != "" && !secretRe.MatchString(c.WebhookSecret) {
			errs = append(errs, errors.New("webhook_secret may hold only A-Z, a-z, 0-9, _ and -, at most 256"))
		}
		if c.WebhookURL != "" && !strings.HasPrefix(c.WebhookURL, "https://") && !strings.HasPrefix(c.WebhookURL, "http://") {
			errs = append(errs, fmt.Errorf("webhook_url %q must be an http(s) URL", c.WebhookURL))
		}
	default:
		errs = append(errs, fmt.Errorf("mode %q is not polling or webhook", c.Mode))
	}
	if c.MaxFileBytes < 0 || c.DialogTimeout < 0 || c.PollTimeout < 0 || c.RetryDelay < 0 {
		errs = append(errs, errors.New("max_file_bytes, dialog_timeout, poll_timeout and retry_delay must not be negative"))
	}
	if c.PollTimeout > 0 && c.PollTimeout < time.Second {
		errs = append(errs, errors.New("poll_timeout is in whole seconds; use at least 1s"))
	}
	return errors.Join(errs...)
}

func (b *Bot) fillDefaults() {
	c := &b.cfg
	if c.Mode == "" {
		c.Mode = "polling"
	}
	if c.APIEndpoint == "" {
		c.APIEndpoint = DefaultAPIEndpoint
	}
	if c.FileEndpoint == "" {
		c.FileEndpoint = strings.Replace(c.APIEndpoint, "/bot%s/", "/file/bot%s/", 1)
	}
	if c.MaxFileBytes == 0 {
		c.MaxFileBytes = DefaultMaxFileBytes
	}
	if c.DialogTimeout == 0 {
		c.DialogTimeout = DefaultDialogTimeout
	}
	if c.PollTimeout == 0 {
		c.PollTimeout = DefaultPollTimeout
	}
	if c.PhoneNumber == "" {
		c.PhoneNumber = "137"
	}
	if c.RetryDelay <= 0 {
		c.RetryDelay = time.Second
	}
	b.retryBase = c.RetryDelay
}

func secretFrom(value, envName, what string) (string, error) {
	if value != "" {
		return value, nil
	}
	v := strings.TrimSpace(os.Getenv(envName))
	if v == "" {
		return "", fmt.Errorf("%s: environment variable %s is empty", what, envName)
	}
	return v, nil
}

// Start implements channels.Adapter. It returns at once; polling or
// webhook registration runs in the background until Stop or ctx ends.
func (b *Bot) Start(ctx context.Context, env channels.Env) error {
	if err := b.Validate(); err != nil {
		return fmt.Errorf("telegram portal %s: %w", env.Portal, err)
	}
	b.fillDefaults()
	token, err := secretFrom(b.cfg.Token, b.cfg.TokenEnv, "token_env")
	if err != nil {
		return fmt.Errorf("telegram portal %s: %w", env.Portal, err)
	}
	if env.Intake == nil || env.KV == nil {
		return fmt.Errorf("telegram portal %s: env needs Intake and KV", env.Portal)
	}
	if b.cfg.Mode == "webhook" && env.Mux == nil {
		return fmt.Errorf("telegram portal %s: webhook mode needs env.Mux", env.Portal)
	}
	if b.cfg.Mode == "webhook" {
		if b.secret, err = secretFrom(b.cfg.WebhookSecret, b.cfg.WebhookSecretEnv, "webhook_secret_env"); err != nil {
			return fmt.Errorf("telegram portal %s: %w", env.Portal, err)
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.started {
		return fmt.Errorf("telegram portal %s: already started", env.Portal)
	}
	b.env, b.token = env, token
	b.log = env.Logger
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	b.log = b.log.With("portal", env.Portal, "type", "telegram")
	b.now = env.Now
	if b.now == nil {
		b.now = time.Now
	}
	if b.Leaser == nil && env.Leases != nil {
		b.Leaser = env.Leases // shared by every instance (Redis in production)
	}
	if b.Leaser == nil {
		b.Leaser = KVLeaser{KV: env.KV}
	}
	if b.HTTPClient == nil {
		b.HTTPClient = &http.Client{Timeout: b.cfg.PollTimeout + 30*time.Second}
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	host, _ := os.Hostname()
	b.instance = host + "-" + hex.EncodeToString(rnd[:])

	// The library's NewBotAPI calls getMe, which would make Start depend on
	// the network; build the client directly and call getMe when polling.
	b.api = &tgbotapi.BotAPI{Token: token, Client: b.HTTPClient, Buffer: 100}
	b.api.SetAPIEndpoint(b.cfg.APIEndpoint)

	ioCtx, cancelIO := context.WithCancel(context.WithoutCancel(ctx))
	runCtx, cancel := context.WithCancel(ctx)
	b.cancel, b.cancelIO = cancel, cancelIO
	b.out = newOutbox(ioCtx, b.now, b.log)
	b.started = true

	switch b.cfg.Mode {
	case "webhook":
		env.Mux.Handle(b.cfg.WebhookPath, http.HandlerFunc(b.serveWebhook))
		if b.cfg.WebhookURL != "" {
			b.goRun(func() { b.registerWebhook(runCtx) })
		}
	default:
		b.goRun(func() { b.pollLoop(runCtx) })
	}
	go func() {
		// ctx ending stops the bot as Stop would, minus the wait.
		<-runCtx.Done()
		b.mu.Lock()
		b.stopping = true
		b.mu.Unlock()
	}()
	return nil
}

func (b *Bot) goRun(f func()) {
	b.inflight.Add(1)
	go func() {
		defer b.inflight.Done()
		f()
	}()
}

// Stop implements channels.Adapter: it stops taking updates, waits for
// those in flight, drains queued replies and releases the polling lease,
// all bounded by ctx.
func (b *Bot) Stop(ctx context.Context) error {
	b.mu.Lock()
	if !b.started {
		b.mu.Unlock()
		return nil
	}
	b.stopping = true
	cancel, cancelIO := b.cancel, b.cancelIO
	b.mu.Unlock()
	defer cancelIO()
	cancel()

	done := make(chan struct{})
	go func() { b.inflight.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("stop telegram portal %s: %w", b.env.Portal, ctx.Err())
	}
	if err := b.out.wait(ctx); err != nil {
		return fmt.Errorf("stop telegram portal %s: drain replies: %w", b.env.Portal, err)
	}
	if b.cfg.Mode != "webhook" {
		if err := b.Leaser.Release(ctx, b.key("lease"), b.instance); err != nil {
			b.log.Warn("release polling lease", "err", err)
		}
	}
	return nil
}

// key scopes a KV key to this portal, e.g. telegram:<portal>:offset.
func (b *Bot) key(parts ...string) string {
	return "telegram:" + b.env.Portal + ":" + strings.Join(parts, ":")
}

// apiWith returns a client whose requests end with ctx. The library takes
// no contexts, so a shallow copy carries one in its HTTP client.
func (b *Bot) apiWith(ctx context.Context) *tgbotapi.BotAPI {
	api := *b.api
	api.Client = ctxDoer{ctx: ctx, c: b.HTTPClient}
	return &api
}

type ctxDoer struct {
	ctx context.Context
	c   *http.Client
}

func (d ctxDoer) Do(r *http.Request) (*http.Response, error) { return d.c.Do(r.WithContext(d.ctx)) }

// keyedMutex serializes work per chat while different chats proceed in
// parallel.
type keyedMutex struct {
	mu sync.Mutex
	m  map[int64]*keyedEntry
}

type keyedEntry struct {
	mu   sync.Mutex
	refs int
}

func (k *keyedMutex) lock(id int64) func() {
	k.mu.Lock()
	if k.m == nil {
		k.m = map[int64]*keyedEntry{}
	}
	e := k.m[id]
	if e == nil {
		e = &keyedEntry{}
		k.m[id] = e
	}
	e.refs++
	k.mu.Unlock()
	e.mu.Lock()
	return func() {
		e.mu.Unlock()
		k.mu.Lock()
		if e.refs--; e.refs == 0 {
			delete(k.m, id)
		}
		k.mu.Unlock()
	}
}

var (
	_ channels.Adapter  = (*Bot)(nil)
	_ channels.Replier  = (*Bot)(nil)
	_ channels.Notifier = (*Bot)(nil)
)
