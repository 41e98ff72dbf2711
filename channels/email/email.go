// Package email is the email portal: every configured mailbox is a portal.
// It reads mail over IMAP (IDLE, or polling when the server lacks it),
// turns each mail into one gateway.Message, and answers the citizen over
// SMTP submission.
//
// Path of a mail: IMAP FETCH by UID from a cursor in channels.KV → Parse
// (MIME, charsets, HTML to text) → loop and abuse checks → attachments to
// channels.Attachments → Intake.Submit, idempotent by Message-ID → the mail
// is flagged \Seen and $Dargah (or moved to processed_folder) and the
// cursor advances. Mail that cannot be parsed is moved to the dead-letter
// folder (Dargah-Dead), never dropped.
//
// A new portal (no cursor in KV yet) reads every mail already in the
// folder; point it at a mailbox or folder meant for Dargah.
//
// Threading: for email a ThreadKey always exists. It is the conversation
// root (the first id of References, else In-Reply-To, else the mail's own
// Message-ID) followed by a space and the sender's address:
//
//	<root-message-id> <sender@example.com>
//
// A fresh mail opens a case whose thread key is its own Message-ID plus
// sender. Dargah's reply carries In-Reply-To/References pointing at that
// Message-ID, so the citizen's answer to the reply has the same root and
// the router links it to the open case. The sender is part of the key so
// a stranger who learns a Message-ID cannot attach mail to someone else's
// case. Mail clients that keep only In-Reply-To are covered too: every
// Message-ID Dargah sends is remembered in KV with the thread key it
// answered, and a mail referring to one of them takes that key.
//
// Config:
//
//   - name: email-137
//     type: email
//     imap: imap.example.ir:993
//     smtp: smtp.example.ir:587
//     username: 137@example.ir
//     password_env: DARGAH_EMAIL_PASSWORD
//     tls: implicit          # IMAP: implicit|starttls|none (none only on loopback)
//     smtp_tls: starttls     # defaults to tls
//     from: "سامانه ۱۳۷ <137@example.ir>"
//     folder: INBOX
//     processed_folder: ""   # empty: flag \Seen + $Dargah instead of moving
//     max_message_bytes: 26214400
//     max_attachment_bytes: 10485760
//     rate_per_sender: 20    # mails per sender per hour
//     poll_interval: 1m      # only when the server lacks IDLE
package email

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/dargah137/dargah/channels"
)

func init() {
	channels.Register("email", func() channels.Adapter { return New() })
}

// TLS modes for the IMAP and SMTP connections.
const (
	TLSImplicit = "implicit"
	TLSStartTLS = "starttls"
	TLSNone     = "none"
)

// DefaultDeadFolder receives mail that cannot be parsed or submitted.
const DefaultDeadFolder = "Dargah-Dead"

// Keyword flags a mail Dargah has handled, when no processed_folder is set.
const Keyword = "$Dargah"

// Settings are a mailbox portal's YAML settings.
type Settings struct {
	IMAP               string        `yaml:"imap"`
	SMTP               string        `yaml:"smtp"`
	Username           string        `yaml:"username"`
	Password           string        `yaml:"password"`
	PasswordEnv        string        `yaml:"password_env"`
	TLS                string        `yaml:"tls"`
	SMTPTLS            string        `yaml:"smtp_tls"`
	InsecureSkipVerify bool          `yaml:"insecure_skip_verify"`
	Folder             string        `yaml:"folder"`
	ProcessedFolder    string        `yaml:"processed_folder"`
	DeadFolder         string        `yaml:"dead_folder"`
	From               string        `yaml:"from"`
	MaxAttachmentBytes int64         `yaml:"max_attachment_bytes"`
	MaxMessageBytes    int64         `yaml:"max_message_bytes"`
	RatePerSender      int           `yaml:"rate_per_sender"`
	PollInterval       time.Duration `yaml:"poll_interval"`
}

// Adapter is one mailbox portal. Construct with New; the zero value is not
// usable. Leaser may be set before Start (default: a KVLeaser over Env.KV).
type Adapter struct {
	s Settings

	// Leaser grants this instance the mailbox; nil uses Env.Leases, or a
	// KVLeaser over Env.KV when the host provides none.
	Leaser Leaser

	// Tuning for tests; New sets production values.
	backoffMin, backoffMax time.Duration
	leaseTTL               time.Duration
	idleRefresh            time.Duration
	noIdle                 bool // poll even when the server has IDLE

	env      channels.Env
	log      *slog.Logger
	now      func() time.Time
	password string
	from     *mail.Address
	holder   string
	limiter  *rateLimiter

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// New returns an adapter with default settings.
func New() *Adapter {
	return &Adapter{
		s: Settings{
			TLS:           TLSImplicit,
			Folder:        "INBOX",
			DeadFolder:    DefaultDeadFolder,
			RatePerSender: 20,
			PollInterval:  time.Minute,
		},
		backoffMin:  time.Second,
		backoffMax:  time.Minute,
		leaseTTL:    30 * time.Second,
		idleRefresh: 5 * time.Minute,
	}
}

// Settings implements channels.Adapter.
func (a *Adapter) Settings() any { return &a.s }

// Validate implements channels.Adapter. It checks the settings without
// touching the network; password_env is resolved at Start.
func (a *Adapter) Validate() error {
	s := &a.s
	var errs []error
	if s.SMTPTLS == "" {
		s.SMTPTLS = s.TLS
	}
	if s.Folder == "" {
		s.Folder = "INBOX"
	}
	if s.DeadFolder == "" {
		s.DeadFolder = DefaultDeadFolder
	}
	checkAddr := func(key, addr, mode string) {
		host, port, err := net.SplitHostPort(addr)
		if err != nil || host == "" || port == "" {
			errs = append(errs, fmt.Errorf("%s must be host:port, got %q", key, addr))
			return
		}
		switch mode {
		case TLSImplicit, TLSStartTLS:
		case TLSNone:
			if !loopback(host) {
				errs = append(errs, fmt.Errorf("%s: tls none is allowed only for a loopback host, not %q", key, host))
			}
		default:
			errs = append(errs, fmt.Errorf("%s: tls must be implicit, starttls or none, got %q", key, mode))
		}
		if s.InsecureSkipVerify && !loopback(host) {
			errs = append(errs, fmt.Errorf("%s: insecure_skip_verify is allowed only for a loopback host, not %q", key, host))
		}
	}
	if s.IMAP == "" {
		errs = append(errs, errors.New("imap (host:port) is required"))
	} else {
		checkAddr("imap", s.IMAP, s.TLS)
	}
	if s.SMTP != "" {
		checkAddr("smtp", s.SMTP, s.SMTPTLS)
	}
	if s.Username == "" {
		errs = append(errs, errors.New("username is required"))
	}
	if (s.Password == "") == (s.PasswordEnv == "") {
		errs = append(errs, errors.New("exactly one of password and password_env is required"))
	}
	if s.SMTP != "" || s.From != "" {
		if s.From == "" {
			errs = append(errs, errors.New("from is required when smtp is set"))
		} else if _, err := mail.ParseAddress(s.From); err != nil {
			errs = append(errs, fmt.Errorf("from %q is not an address: %v", s.From, err))
		}
	}
	if s.ProcessedFolder != "" && s.ProcessedFolder == s.Folder {
		errs = append(errs, errors.New("processed_folder must differ from folder"))
	}
	if s.DeadFolder == s.Folder {
		errs = append(errs, errors.New("dead_folder must differ from folder"))
	}
	if s.MaxAttachmentBytes < 0 || s.MaxMessageBytes < 0 {
		errs = append(errs, errors.New("max_attachment_bytes and max_message_bytes must not be negative"))
	}
	if s.RatePerSender < 0 {
		errs = append(errs, errors.New("rate_per_sender must not be negative (0 means the default, 20)"))
	}
	if s.RatePerSender == 0 {
		s.RatePerSender = 20
	}
	if s.PollInterval < 0 {
		errs = append(errs, errors.New("poll_interval must not be negative"))
	}
	if s.PollInterval == 0 {
		s.PollInterval = time.Minute
	}
	return errors.Join(errs...)
}

func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Start implements channels.Adapter: it resolves the password and starts
// the mailbox loop, which runs until Stop.
func (a *Adapter) Start(ctx context.Context, env channels.Env) error {
	if err := a.Validate(); err != nil {
		return err
	}
	if env.Intake == nil || env.KV == nil || env.Attachments == nil {
		return errors.New("email portal needs Intake, KV and Attachments in its environment")
	}
	a.password = a.s.Password
	if a.s.PasswordEnv != "" {
		a.password = os.Getenv(a.s.PasswordEnv)
		if a.password == "" {
			return fmt.Errorf("environment variable %s (password_env) is empty", a.s.PasswordEnv)
		}
	}
	if a.s.From != "" {
		from, err := mail.ParseAddress(a.s.From)
		if err != nil {
			return fmt.Errorf("from: %w", err)
		}
		a.from = from
	}
	a.env = env
	a.log = env.Logger
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	a.now = env.Now
	if a.now == nil {
		a.now = time.Now
	}
	if a.Leaser == nil {
		if env.Leases != nil {
			a.Leaser = env.Leases
		} else {
			a.Leaser = KVLeaser{KV: env.KV}
		}
	}
	// The instance name says who holds the mailbox; the random part keeps
	// two adapters of one process apart. A crashed holder's lease expires
	// after leaseTTL.
	var b [4]byte
	_, _ = rand.Read(b[:])
	a.holder = env.Instance + "/" + hex.EncodeToString(b[:])
	a.limiter = newRateLimiter(a.s.RatePerSender, time.Hour)

	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	a.mu.Lock()
	a.cancel, a.done = cancel, make(chan struct{})
	a.mu.Unlock()
	go func() {
		defer close(a.done)
		a.run(runCtx)
	}()
	return nil
}

// Stop implements channels.Adapter: it ends the mailbox loop and releases
// the lease, bounded by ctx. A mail interrupted in hand was not yet under
// the cursor, so the next start reads it again, and intake's idempotency
// by Message-ID makes that harmless.
func (a *Adapter) Stop(ctx context.Context) error {
	a.mu.Lock()
	cancel, done := a.cancel, a.done
	a.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("email portal %s: stop: %w", a.env.Portal, ctx.Err())
	}
}

func (a *Adapter) key(parts ...string) string {
	return "email:" + a.env.Portal + ":" + strings.Join(parts, ":")
}

func (a *Adapter) tlsConfig(addr string) *tls.Config {
	host, _, _ := net.SplitHostPort(addr)
	return &tls.Config{ServerName: host, InsecureSkipVerify: a.s.InsecureSkipVerify && loopback(host), MinVersion: tls.VersionTLS12}
}

func (a *Adapter) limits() Limits {
	return Limits{MaxMessageBytes: a.s.MaxMessageBytes, MaxAttachmentBytes: a.s.MaxAttachmentBytes}.withDefaults()
}

// rateLimiter counts mails per sender in a sliding window. It lives in
// memory: after a restart a sender starts fresh, which errs on the side of
// hearing the citizen.
type rateLimiter struct {
	mu     sync.Mutex
	max    int
	window time.Duration
	seen   map[string][]time.Time
}

func newRateLimiter(max int, window time.Duration) *rateLimiter {
	return &rateLimiter{max: max, window: window, seen: map[string][]time.Time{}}
}

// allow records one mail from sender at now and reports whether it is
// within the limit.
func (r *rateLimiter) allow(sender string, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	cut := now.Add(-r.window)
	ts := r.seen[sender]
	i := 0
	for i < len(ts) && !ts[i].After(cut) {
		i++
	}
	ts = ts[i:]
	if len(ts) >= r.max {
		r.seen[sender] = ts
		return false
	}
	r.seen[sender] = append(ts, now)
	if len(r.seen) > 10000 {
		// Forget idle senders so the map cannot grow without bound.
		for k, v := range r.seen {
			if len(v) == 0 || !v[len(v)-1].After(cut) {
				delete(r.seen, k)
			}
		}
	}
	return true
}

var _ channels.Adapter = (*Adapter)(nil)
