package sms

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/dargah137/dargah/channels/sms/smpp"
)

// Settings is an SMS portal's YAML block (every key but name and type).
type Settings struct {
	// Provider is "smpp" (straight to the operator's SMSC) or "http" (an
	// SMS panel's web API).
	Provider string `yaml:"provider"`
	// SourceAddr is our number: the short code (137) or the panel's line
	// (3000137). Outgoing messages are sent from it.
	SourceAddr string `yaml:"source_addr"`
	// Language of notices when the citizen's is unknown (default fa).
	Language string `yaml:"language"`
	// RatingTTL is how long a rating request waits for its digit (default 7 days).
	RatingTTL time.Duration `yaml:"rating_ttl"`
	// SendTimeout bounds one send attempt (default 30s); RetryMin/RetryMax
	// bound the outbox's backoff (default 2s and 5m); MaxAttempts is how
	// often a message is tried before it is given up (default 30).
	SendTimeout time.Duration `yaml:"send_timeout"`
	RetryMin    time.Duration `yaml:"retry_min"`
	RetryMax    time.Duration `yaml:"retry_max"`
	MaxAttempts int           `yaml:"max_attempts"`
	// SenderLease is how long the instance that binds and sends holds
	// the portal before another may take over if it dies (default 15s;
	// renewed every third of it).
	SenderLease time.Duration `yaml:"sender_lease"`

	// SMPP provider.
	Addr        string `yaml:"addr"`
	SystemID    string `yaml:"system_id"`
	Password    string `yaml:"password"`
	PasswordEnv string `yaml:"password_env"`
	SystemType  string `yaml:"system_type"`
	// BindMode is "transceiver" (default) or "receiver+transmitter".
	BindMode string `yaml:"bind_mode"`
	// Rate is submit_sm PDUs per second (0: no limit); Window is the most
	// requests outstanding (default 10).
	Rate   float64 `yaml:"rate"`
	Window int     `yaml:"window"`
	// SourceTON/NPI qualify SourceAddr (a short code is often 3/0 or 0/1).
	SourceTON byte `yaml:"source_ton"`
	SourceNPI byte `yaml:"source_npi"`
	// DestFormat is how destinations are written: international (default
	// for SMPP, TON/NPI 1/1), national or e164.
	DestFormat string `yaml:"dest_format"`
	// ReassemblyTimeout is how long parts of a long message wait for the
	// rest before what came is delivered (default 10m).
	ReassemblyTimeout time.Duration `yaml:"reassembly_timeout"`
	// ReconnectMin/Max bound the backoff between connection attempts
	// (default 1s and 1m).
	ReconnectMin time.Duration `yaml:"reconnect_min"`
	ReconnectMax time.Duration `yaml:"reconnect_max"`

	// HTTP provider.
	// WebhookPath receives incoming messages (e.g. /sms/panel/in).
	WebhookPath string `yaml:"webhook_path"`
	// Auth is how the panel proves itself on webhooks: "header" or "query"
	// (the secret in AuthName), "hmac" (hex or base64 HMAC-SHA256 of the
	// body in header AuthName, "sha256=" prefix allowed) or "none" (only
	// with AllowIPs).
	Auth      string `yaml:"auth"`
	AuthName  string `yaml:"auth_name"`
	SecretEnv string `yaml:"secret_env"`
	// AllowIPs are the CIDRs (or addresses) webhooks may come from; empty
	// allows any.
	AllowIPs []string `yaml:"allow_ips"`
	Incoming Fields   `yaml:"incoming"`
	Send     Send     `yaml:"send"`
	DLR      DLR      `yaml:"dlr"`

	secret   []byte
	password string
	prefixes []netip.Prefix
}

// Fields names the fields of an incoming webhook body (form, query or JSON;
// a dotted name reaches into nested JSON objects).
type Fields struct {
	// Format is "form", "json" or empty to go by Content-Type.
	Format    string `yaml:"format"`
	From      string `yaml:"from"`
	To        string `yaml:"to"`
	Text      string `yaml:"text"`
	ID        string `yaml:"id"`
	Timestamp string `yaml:"timestamp"`
}

// Send describes the panel's send API.
type Send struct {
	URL    string `yaml:"url"`
	Method string `yaml:"method"` // POST (default) or GET (parameters in the query)
	Format string `yaml:"format"` // form (default) or json
	// To, From and Text are the parameter names.
	To   string `yaml:"to"`
	From string `yaml:"from"`
	Text string `yaml:"text"`
	// ToFormat is how the destination is written: national (default),
	// international or e164.
	ToFormat string `yaml:"to_format"`
	// AuthHeader and AuthValueEnv put a token in a header (e.g.
	// Authorization: "Bearer …" — the env value is sent as is);
	// BasicUser and BasicPasswordEnv use basic auth instead.
	AuthHeader       string `yaml:"auth_header"`
	AuthValueEnv     string `yaml:"auth_value_env"`
	BasicUser        string `yaml:"basic_user"`
	BasicPasswordEnv string `yaml:"basic_password_env"`
	// IDPath is the dotted path of the message id in the JSON answer
	// ("return.messageid", "entries.0.messageid"); empty if it has none.
	IDPath string `yaml:"id_path"`

	authValue, basicPassword string
}

// DLR describes the panel's delivery-report webhook (same auth as incoming).
type DLR struct {
	Path   string `yaml:"path"`
	ID     string `yaml:"id"`
	Status string `yaml:"status"`
}

// Validate checks the settings without touching the network and resolves
// secrets from the environment.
func (s *Settings) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if s.Language == "" {
		s.Language = "fa"
	}
	if _, ok := texts[s.Language]; !ok {
		bad("language %q is not one of fa, en, ar", s.Language)
	}
	if s.RatingTTL < 0 || s.SendTimeout < 0 || s.RetryMin < 0 || s.RetryMax < 0 || s.MaxAttempts < 0 || s.ReassemblyTimeout < 0 ||
		s.ReconnectMin < 0 || s.ReconnectMax < 0 {
		bad("durations and max_attempts must not be negative")
	}
	if s.SenderLease != 0 && s.SenderLease < 300*time.Millisecond {
		bad("sender_lease must be at least 300ms")
	}
	if s.RetryMax > 0 && s.RetryMin > s.RetryMax {
		bad("retry_min is over retry_max")
	}
	if strings.TrimSpace(s.SourceAddr) == "" {
		bad("source_addr is required (the short number, e.g. 137)")
	}
	switch s.Provider {
	case "smpp":
		s.validateSMPP(bad)
	case "http":
		s.validateHTTP(bad)
	case "":
		bad("provider is required (smpp or http)")
	default:
		bad("provider %q is not smpp or http", s.Provider)
	}
	return errors.Join(errs...)
}

func (s *Settings) validateSMPP(bad func(string, ...any)) {
	if s.WebhookPath != "" || s.Send.URL != "" || s.DLR.Path != "" || s.Auth != "" {
		bad("webhook_path, auth, send and dlr are for provider http")
	}
	s.password = s.Password
	if s.PasswordEnv != "" {
		if s.Password != "" {
			bad("password and password_env are both set")
		}
		s.password = os.Getenv(s.PasswordEnv)
		if s.password == "" {
			bad("password_env %s is empty or unset", s.PasswordEnv)
		}
	}
	switch s.DestFormat {
	case "", FormatInternational, FormatNational, FormatE164:
	default:
		bad("dest_format %q is not international, national or e164", s.DestFormat)
	}
	if s.Addr != "" {
		if _, _, err := net.SplitHostPort(s.Addr); err != nil {
			bad("addr %q: %v", s.Addr, err)
		}
	}
	cfg := s.smppConfig()
	if err := cfg.Validate(); err != nil {
		bad("%v", err)
	}
}

func (s *Settings) smppConfig() smpp.Config {
	c := smpp.Config{
		Addr: s.Addr, SystemID: s.SystemID, Password: s.password, SystemType: s.SystemType,
		BindMode: smpp.BindMode(s.BindMode), SourceAddr: s.SourceAddr, SourceTON: s.SourceTON, SourceNPI: s.SourceNPI,
		WindowSize: s.Window, Rate: s.Rate, ReassemblyTimeout: s.ReassemblyTimeout,
		ReconnectMin: s.ReconnectMin, ReconnectMax: s.ReconnectMax,
	}
	if s.DestFormat == "" || s.DestFormat == FormatInternational {
		c.DestTON, c.DestNPI = 1, 1
	}
	return c
}

func (s *Settings) validateHTTP(bad func(string, ...any)) {
	if s.Addr != "" || s.SystemID != "" || s.Password != "" || s.PasswordEnv != "" || s.BindMode != "" {
		bad("addr, system_id, password and bind_mode are for provider smpp")
	}
	checkPath := func(key, p string) {
		if !strings.HasPrefix(p, "/") || strings.ContainsAny(p, " {}\t\n") {
			bad("%s %q must be a plain path starting with /", key, p)
		}
	}
	if s.WebhookPath == "" {
		bad("webhook_path is required")
	} else {
		checkPath("webhook_path", s.WebhookPath)
	}
	if s.DLR.Path != "" {
		checkPath("dlr.path", s.DLR.Path)
		if s.DLR.Path == s.WebhookPath {
			bad("dlr.path is the same as webhook_path")
		}
		if s.DLR.ID == "" || s.DLR.Status == "" {
			bad("dlr.id and dlr.status name the report's fields and are required with dlr.path")
		}
	}
	switch s.Auth {
	case "header", "query", "hmac":
		if s.AuthName == "" {
			bad("auth_name (the header or parameter carrying the secret) is required with auth %s", s.Auth)
		}
		if s.SecretEnv == "" {
			bad("secret_env is required with auth %s", s.Auth)
		} else if s.secret = []byte(os.Getenv(s.SecretEnv)); len(s.secret) == 0 {
			bad("secret_env %s is empty or unset", s.SecretEnv)
		}
	case "none":
		if len(s.AllowIPs) == 0 {
			bad("auth none needs allow_ips")
		}
	case "":
		bad("auth is required (header, query, hmac or none with allow_ips)")
	default:
		bad("auth %q is not header, query, hmac or none", s.Auth)
	}
	s.prefixes = s.prefixes[:0]
	for _, c := range s.AllowIPs {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			a, aerr := netip.ParseAddr(c)
			if aerr != nil {
				bad("allow_ips %q is not a CIDR or an address", c)
				continue
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		s.prefixes = append(s.prefixes, p.Masked())
	}
	in := &s.Incoming
	switch in.Format {
	case "", "form", "json":
	default:
		bad("incoming.format %q is not form or json", in.Format)
	}
	if in.From == "" || in.Text == "" {
		bad("incoming.from and incoming.text name the webhook's fields and are required")
	}
	snd := &s.Send
	if snd.URL == "" {
		bad("send.url is required")
	} else if u, err := url.Parse(snd.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("send.url %q is not an http(s) URL", snd.URL)
	}
	if snd.Method == "" {
		snd.Method = http.MethodPost
	}
	snd.Method = strings.ToUpper(snd.Method)
	if snd.Method != http.MethodPost && snd.Method != http.MethodGet && snd.Method != http.MethodPut {
		bad("send.method %q is not POST, GET or PUT", snd.Method)
	}
	if snd.Format == "" {
		snd.Format = "form"
	}
	if snd.Format != "form" && snd.Format != "json" {
		bad("send.format %q is not form or json", snd.Format)
	}
	if snd.Method == http.MethodGet && snd.Format == "json" {
		bad("send.method GET carries form parameters, not json")
	}
	if snd.To == "" || snd.Text == "" {
		bad("send.to and send.text name the send API's parameters and are required")
	}
	if snd.ToFormat == "" {
		snd.ToFormat = FormatNational
	}
	switch snd.ToFormat {
	case FormatInternational, FormatNational, FormatE164:
	default:
		bad("send.to_format %q is not national, international or e164", snd.ToFormat)
	}
	if snd.AuthHeader != "" || snd.AuthValueEnv != "" {
		if snd.AuthHeader == "" || snd.AuthValueEnv == "" {
			bad("send.auth_header and send.auth_value_env go together")
		} else if snd.authValue = os.Getenv(snd.AuthValueEnv); snd.authValue == "" {
			bad("send.auth_value_env %s is empty or unset", snd.AuthValueEnv)
		}
	}
	if snd.BasicUser != "" || snd.BasicPasswordEnv != "" {
		if snd.BasicUser == "" || snd.BasicPasswordEnv == "" {
			bad("send.basic_user and send.basic_password_env go together")
		} else if snd.basicPassword = os.Getenv(snd.BasicPasswordEnv); snd.basicPassword == "" {
			bad("send.basic_password_env %s is empty or unset", snd.BasicPasswordEnv)
		}
	}
}

func (s *Settings) withDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&s.RatingTTL, 7*24*time.Hour)
	def(&s.SenderLease, 15*time.Second)
	def(&s.SendTimeout, 30*time.Second)
	def(&s.RetryMin, 2*time.Second)
	def(&s.RetryMax, 5*time.Minute)
	if s.RetryMax < s.RetryMin {
		s.RetryMax = s.RetryMin
	}
	if s.MaxAttempts == 0 {
		s.MaxAttempts = 30
	}
}
