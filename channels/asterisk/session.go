package asterisk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/dargah137/dargah/channels/asterisk/ari"
	"github.com/dargah137/dargah/routing/acd"
)

// App args that mark the legs Dargah originates; the second arg is the call id.
const (
	argAgent    = "agent"
	argCallback = "callback"
	// legMark is in the id of every originated leg, so a leg found after a
	// restart is recognised even when its args are unknown.
	legMark = "-leg-"
)

var (
	errHangup    = errors.New("caller hung up")
	errTimeout   = errors.New("no input in time")
	errFallback  = errors.New("input kept failing")
	errHandedOff = errors.New("left on hold for the next Dargah")
)

// Internal messages a session receives besides ARI events.
type (
	msgGone     struct{} // the caller's channel is gone (found on reconnect)
	msgLegState struct {
		id        string
		alive, up bool
	}
	msgRingTimeout struct{ leg string }
	msgOverdue     struct{}
	msgAssigned    struct{ a acd.Assignment }
)

// inbox is an unbounded FIFO, so the event loop never waits for a call.
type inbox struct {
	mu     sync.Mutex
	items  []any
	signal chan struct{}
}

func newInbox() *inbox { return &inbox{signal: make(chan struct{}, 1)} }

func (b *inbox) put(m any) {
	b.mu.Lock()
	b.items = append(b.items, m)
	b.mu.Unlock()
	select {
	case b.signal <- struct{}{}:
	default:
	}
}

func (b *inbox) take() (any, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.items) == 0 {
		return nil, false
	}
	m := b.items[0]
	b.items[0] = nil
	b.items = b.items[1:]
	return m, true
}

// session is one call: the caller's channel, its IVR state and, once
// queued, its queue entry and legs. Only its own goroutine touches its
// fields (the inbox is the exception).
type session struct {
	p      *Portal
	cli    *ari.Client
	id     string
	caller string
	lang   string
	path   []string
	queue  string
	log    *slog.Logger
	inbox  *inbox

	pending []any  // messages set aside while a prompt played
	digits  []byte // DTMF typed and not yet consumed
	swallow byte   // a terminator to drop if it is the next digit
	gone    bool
	// inMenu: the caller is in the menu (answered, not yet queued or
	// leaving a voicemail); a stop hands them off to hear it again.
	inMenu  bool
	playN   int
	legN    int
	started time.Time
	born    uint64 // Portal.gen when the session began

	cbTask   bool // the caller hung up keeping their place
	cbNumber string
	since    time.Time  // when the call entered its queue (its place)
	mu       sync.Mutex // guards cbTask for reconcile
}

func newSession(p *Portal, cli *ari.Client, ch ari.Channel) *session {
	return &session{p: p, cli: cli, id: ch.ID, caller: ch.Caller.Number, lang: p.set.DefaultLanguage,
		log: p.log.With("call", ch.ID), inbox: newInbox(), started: p.now()}
}

func (s *session) callbackTask() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cbTask
}

// next returns the next message, waiting at most d (d <= 0: no limit).
// It keeps the digit buffer and the hung-up flag up to date.
func (s *session) next(ctx context.Context, d time.Duration) (any, error) {
	var timer <-chan time.Time
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timer = t.C
	}
	for {
		if len(s.pending) > 0 {
			m := s.pending[0]
			s.pending = s.pending[1:]
			return m, nil
		}
		if m, ok := s.inbox.take(); ok {
			s.note(m)
			return m, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-timer:
			return nil, errTimeout
		case <-s.inbox.signal:
		}
	}
}

// note updates digits and gone from m.
func (s *session) note(m any) {
	switch e := m.(type) {
	case *ari.ChannelDtmfReceived:
		if e.Channel.ID != s.id || len(e.Digit) != 1 {
			return
		}
		d := e.Digit[0]
		if s.swallow != 0 {
			sw := s.swallow
			s.swallow = 0
			if d == sw {
				return
			}
		}
		if len(s.digits) < 64 { // a stuck key must not grow memory
			s.digits = append(s.digits, d)
		}
	case msgGone:
		s.gone = true
	default:
		if ev, ok := m.(ari.Event); ok && ends(ev, s.id) {
			s.gone = true
		}
	}
}

// ends reports whether ev says channel id is hanging up or gone.
func ends(ev ari.Event, id string) bool {
	switch e := ev.(type) {
	case *ari.StasisEnd:
		return e.Channel.ID == id
	case *ari.ChannelDestroyed:
		return e.Channel.ID == id
	case *ari.ChannelHangupRequest:
		return e.Channel.ID == id
	}
	return false
}

func (s *session) media(names []string) []string {
	out := make([]string, 0, len(names))
	for _, n := range names {
		if strings.Contains(n, ":") {
			out = append(out, n)
		} else {
			out = append(out, s.p.set.Sounds+n)
		}
	}
	return out
}

// play plays prompts and waits until they end, the caller presses a key
// (barge-in: the prompt stops) or hangs up. Typed-ahead digits skip it.
// Messages that are not about this playback are kept for later.
func (s *session) play(ctx context.Context, names ...string) error {
	if s.gone {
		return errHangup
	}
	if len(s.digits) > 0 {
		return nil
	}
	s.playN++
	pb := fmt.Sprintf("%s-pb-%d", s.id, s.playN)
	if _, err := s.cli.ChannelPlay(ctx, s.id, ari.PlayRequest{Media: s.media(names), Lang: s.lang, PlaybackID: pb}); err != nil {
		if ari.IsNotFound(err) || ari.IsConflict(err) {
			s.gone = true
			return errHangup
		}
		return fmt.Errorf("play %v: %w", names, err)
	}
	var kept []any
	defer func() { s.pending = append(kept, s.pending...) }()
	for {
		m, err := s.next(ctx, 10*time.Minute)
		if s.gone {
			return errHangup
		}
		if err != nil {
			return err
		}
		switch e := m.(type) {
		case *ari.PlaybackFinished:
			if e.Playback.ID == pb {
				return nil
			}
		case *ari.PlaybackStarted, *ari.PlaybackContinuing:
		case *ari.ChannelDtmfReceived:
			if len(s.digits) > 0 {
				if err := s.cli.PlaybackStop(ctx, pb); err != nil && !ari.IsNotFound(err) {
					s.log.Debug("stop playback", "err", err)
				}
				return nil
			}
		default:
			kept = append(kept, m)
		}
	}
}

// announce starts a prompt without waiting for it (position in queue).
func (s *session) announce(ctx context.Context, names ...string) {
	s.playN++
	pb := fmt.Sprintf("%s-pb-%d", s.id, s.playN)
	if _, err := s.cli.ChannelPlay(ctx, s.id, ari.PlayRequest{Media: s.media(names), Lang: s.lang, PlaybackID: pb}); err != nil && !ari.IsNotFound(err) {
		s.log.Debug("announce", "err", err)
	}
}

// collect plays a prompt and reads up to max digits, ending early on term
// (not returned). With no digit in input_timeout it returns errTimeout and
// what it has.
func (s *session) collect(ctx context.Context, prompt []string, max int, term byte) (string, error) {
	if err := s.play(ctx, prompt...); err != nil {
		return "", err
	}
	var got []byte
	for {
		for len(s.digits) > 0 {
			d := s.digits[0]
			s.digits = s.digits[1:]
			if term != 0 && d == term {
				return string(got), nil
			}
			got = append(got, d)
			if len(got) >= max {
				if term != 0 {
					if len(s.digits) > 0 && s.digits[0] == term {
						s.digits = s.digits[1:]
					} else {
						s.swallow = term // "#" after a full code is no menu choice
					}
				}
				return string(got), nil
			}
		}
		m, err := s.next(ctx, s.p.set.InputTimeout)
		if s.gone {
			return "", errHangup
		}
		if err != nil {
			return string(got), err
		}
		if _, ok := m.(*ari.ChannelDtmfReceived); !ok {
			if _, ok := m.(ari.Event); !ok {
				s.pending = append(s.pending, m)
				return string(got), nil
			}
		}
	}
}

// choose asks for one digit among valid; invalid input or silence repeats
// the prompt, max_retries times, then errFallback.
func (s *session) choose(ctx context.Context, prompt string, valid func(string) bool) (string, error) {
	for try := 0; ; try++ {
		d, err := s.collect(ctx, []string{prompt}, 1, 0)
		if err != nil && !errors.Is(err, errTimeout) {
			return "", err
		}
		if d != "" && valid(d) {
			return d, nil
		}
		if try >= s.p.set.MaxRetries {
			return "", errFallback
		}
		s.digits = s.digits[:0] // garbage typed ahead is no answer to the repeated prompt
		if d != "" {
			if err := s.play(ctx, "invalid"); err != nil {
				return "", err
			}
		}
	}
}
