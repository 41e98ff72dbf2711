package smpp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// BindMode is how the client binds to the SMSC.
type BindMode string

// Bind modes.
const (
	// ModeTransceiver uses one bind_transceiver session for both directions.
	ModeTransceiver BindMode = "transceiver"
	// ModeReceiverTransmitter uses two sessions: bind_transmitter for
	// submits and bind_receiver for incoming messages and receipts.
	ModeReceiverTransmitter BindMode = "receiver+transmitter"
)

// Config is a Client's settings. Zero fields take the defaults listed.
type Config struct {
	// Addr is the SMSC's host:port. Required.
	Addr string
	// SystemID and Password identify us to the SMSC (bind). SystemID is
	// required; at most 15 and 8 characters.
	SystemID, Password string
	SystemType         string
	// BindMode defaults to ModeTransceiver.
	BindMode BindMode
	// SourceAddr is the sender of submitted messages (the short code, e.g.
	// "137"), with its type of number and numbering plan.
	SourceAddr           string
	SourceTON, SourceNPI byte
	// DestTON/DestNPI qualify destination numbers (zero: unknown; 1/1 for
	// international E.164 numbers).
	DestTON, DestNPI byte
	// EnquireLinkInterval is the keep-alive period (default 30s).
	EnquireLinkInterval time.Duration
	// RequestTimeout bounds the wait for each response (default 10s).
	RequestTimeout time.Duration
	// ConnectTimeout bounds dialing and binding, and each write (default 10s).
	ConnectTimeout time.Duration
	// WindowSize is the most requests outstanding on a session (default 10).
	WindowSize int
	// Rate is submit_sm PDUs per second (token bucket; 0 means no limit).
	// Burst is the bucket size (default 1).
	Rate  float64
	Burst int
	// ReconnectMin/Max bound the backoff between connection attempts
	// (default 1s and 1m).
	ReconnectMin, ReconnectMax time.Duration
	// RetryMin/Max bound the backoff after a throttling answer
	// (ESME_RTHROTTLED, ESME_RMSGQFUL) or a lost response (default 500ms
	// and 30s). MaxRetries bounds those retries per part (default 10).
	RetryMin, RetryMax time.Duration
	MaxRetries         int
	// ReassemblyTimeout is how long parts of a concatenated message wait
	// for the rest before what came is delivered (default 10m).
	ReassemblyTimeout time.Duration
	// PartStore keeps pending parts (default: in memory).
	PartStore PartStore
	// OnMessage receives each complete incoming message. An error answers
	// the SMSC with ESME_RX_T_APPN so it delivers again later. Nil drops
	// incoming messages (after acknowledging them).
	OnMessage func(ctx context.Context, m Incoming) error
	// OnReceipt receives delivery receipts; errors as for OnMessage.
	OnReceipt func(ctx context.Context, r Receipt) error
	// ReceiptLocation is the time zone of receipt dates (default UTC).
	ReceiptLocation *time.Location
	// MaxPDULen bounds incoming PDUs (default DefaultMaxPDULen).
	MaxPDULen int
	Logger    *slog.Logger
	Now       func() time.Time
}

// Validate checks the settings without touching the network.
func (c *Config) Validate() error {
	var errs []error
	if c.Addr == "" {
		errs = append(errs, errors.New("addr is required"))
	}
	if c.SystemID == "" {
		errs = append(errs, errors.New("system_id is required"))
	}
	for _, f := range []struct {
		name, v string
		max     int
	}{{"system_id", c.SystemID, 15}, {"password", c.Password, 8}, {"system_type", c.SystemType, 12}, {"source_addr", c.SourceAddr, 20}} {
		if len(f.v) > f.max {
			errs = append(errs, fmt.Errorf("%s is longer than %d characters", f.name, f.max))
		}
	}
	switch c.BindMode {
	case "", ModeTransceiver, ModeReceiverTransmitter:
	default:
		errs = append(errs, fmt.Errorf("bind mode %q is not %q or %q", c.BindMode, ModeTransceiver, ModeReceiverTransmitter))
	}
	if c.WindowSize < 0 || c.Rate < 0 || c.Burst < 0 || c.MaxRetries < 0 {
		errs = append(errs, errors.New("window size, rate, burst and max retries must not be negative"))
	}
	if c.ReconnectMax > 0 && c.ReconnectMin > c.ReconnectMax {
		errs = append(errs, errors.New("reconnect min is over reconnect max"))
	}
	if c.RetryMax > 0 && c.RetryMin > c.RetryMax {
		errs = append(errs, errors.New("retry min is over retry max"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("smpp config: %w", err)
	}
	return nil
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if c.BindMode == "" {
		c.BindMode = ModeTransceiver
	}
	def(&c.EnquireLinkInterval, 30*time.Second)
	def(&c.RequestTimeout, 10*time.Second)
	def(&c.ConnectTimeout, 10*time.Second)
	def(&c.ReconnectMin, time.Second)
	def(&c.ReconnectMax, time.Minute)
	def(&c.RetryMin, 500*time.Millisecond)
	def(&c.RetryMax, 30*time.Second)
	def(&c.ReassemblyTimeout, 10*time.Minute)
	if c.ReconnectMax < c.ReconnectMin {
		c.ReconnectMax = c.ReconnectMin
	}
	if c.RetryMax < c.RetryMin {
		c.RetryMax = c.RetryMin
	}
	if c.WindowSize == 0 {
		c.WindowSize = 10
	}
	if c.Burst == 0 {
		c.Burst = 1
	}
	if c.MaxRetries == 0 {
		c.MaxRetries = 10
	}
	if c.MaxPDULen <= 0 {
		c.MaxPDULen = DefaultMaxPDULen
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.PartStore == nil {
		c.PartStore = NewMemoryStore()
	}
	return c
}
