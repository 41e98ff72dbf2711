package gateway

import (
	"context"
	"errors"

	"time"
)

// Stream carries accepted messages from intake to the routing workers with
// at-least-once delivery. Implementations: Redis Streams (gateway/redisstream)
// and the embedded SQLite-backed stream (gateway/sqlitestream); both pass
// gateway/streamtest.
type Stream interface {
	// Publish appends m durably; when it returns nil, m survives a restart.
	Publish(ctx context.Context, m Message) error
	// Consume delivers messages to h as member consumer of group until ctx is
	// done, then returns ctx's error. Several consumers of one group share
	// the work; each message goes to one of them at a time. A message whose
	// handler returned nil is acknowledged. A handler error makes it due
	// again after the retry delay; a message that failed MaxAttempts times,
	// or whose error is Permanent, moves to the dead letters. A message left
	// unacknowledged by a consumer that vanished is redelivered to another
	// after the claim timeout. A handler that returns ctx's error after ctx
	// ended gave up and its message stays due; any other error it returns
	// is an outcome like any other, even during shutdown.
	Consume(ctx context.Context, group, consumer string, h Handler) error
	// DeadLetters lists what is in the dead-letter place, oldest first.
	DeadLetters(ctx context.Context, limit int) ([]DeadLetter, error)
	// Replay moves dead letter id back onto the stream with a fresh attempt
	// count; an unknown id gives an error wrapping ErrUnknownDeadLetter.
	Replay(ctx context.Context, id string) error
	// Close releases resources; it does not delete anything.
	Close() error
}

// Handler processes one delivery. Return nil to acknowledge.
type Handler func(ctx context.Context, d Delivery) error

// Delivery is one attempt to process a message.
type Delivery struct {
	Message Message
	// Attempt counts from 1.
	Attempt int
}

// DeadLetter is a message that kept failing, kept for an operator to see
// and replay.
type DeadLetter struct {
	ID       string    `json:"id"`
	Message  Message   `json:"message"`
	Reason   string    `json:"reason"`
	Attempts int       `json:"attempts"`
	FailedAt time.Time `json:"failed_at"`
}

// StreamOptions are shared by the stream implementations.
type StreamOptions struct {
	// MaxAttempts before a message is dead-lettered (default 5).
	MaxAttempts int
	// RetryDelay before a failed message is delivered again (default 1s).
	RetryDelay time.Duration
	// ClaimTimeout after which a delivered but unacknowledged message is
	// taken over by another consumer (default 30s).
	ClaimTimeout time.Duration
	// MaxLen bounds the stream length where the backend supports trimming
	// (default 1,000,000 entries).
	MaxLen int64
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// WithDefaults fills zero fields.
func (o StreamOptions) WithDefaults() StreamOptions {
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 5
	}
	if o.RetryDelay <= 0 {
		o.RetryDelay = time.Second
	}
	if o.ClaimTimeout <= 0 {
		o.ClaimTimeout = 30 * time.Second
	}
	if o.MaxLen <= 0 {
		o.MaxLen = 1_000_000
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// ErrUnknownDeadLetter is wrapped by Replay for an id it does not hold.
var ErrUnknownDeadLetter = errors.New("unknown dead letter")

// permanentError marks an error that retrying cannot fix.
type permanentError struct{ err error }

func (e permanentError) Error() string { return "permanent: " + e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent wraps err so the stream dead-letters the message at once.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

// IsPermanent reports whether err, or an error it wraps, was made Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}
