package aritest

import (
	"cmp"
	"slices"
	"strings"
)

// Call is the test's handle on one channel: a citizen's incoming call
// (NewCall) or a channel the app originated (WaitOriginated).
type Call struct {
	s  *Server
	id string
}

// ID is the channel id.
func (c *Call) ID() string { return c.id }

// NewCall delivers an incoming call from callerNumber into the app, as if
// the dialplan ran Stasis(app,args...): a channel in state Ring and a
// StasisStart event carrying args. The app must have a socket registered
// (as in Asterisk, where Stasis() fails otherwise); if not, the test fails.
func (s *Server) NewCall(callerNumber string, args ...string) *Call {
	s.t.Helper()
	return s.NewCallFrom(Incoming{CallerNumber: callerNumber, Args: args})
}

// Incoming describes an incoming call for NewCallFrom. Zero fields get
// NewCall's defaults.
type Incoming struct {
	CallerNumber string
	CallerName   string
	Exten        string // dialed number; default "137"
	Context      string // default "from-trunk"
	Language     string // default Config.Language
	Trunk        string // channel name prefix; default "PJSIP/trunk"
	Args         []string
	Vars         map[string]string // channel variables set by the dialplan
}

// NewCallFrom is NewCall with every detail chosen.
func (s *Server) NewCallFrom(in Incoming) *Call {
	s.t.Helper()
	s.mu.Lock()
	defer func() {
		s.touch()
		s.mu.Unlock()
	}()
	if !s.registered(s.cfg.App) {
		s.t.Errorf("aritest: NewCall(%s): no WebSocket registered for app %q; Stasis() would fail", in.CallerNumber, s.cfg.App)
	}
	trunk := cmp.Or(in.Trunk, "PJSIP/trunk")
	ch := s.newChannel(trunk)
	ch.state = "Ring"
	ch.callerNum, ch.callerName = in.CallerNumber, in.CallerName
	ch.context, ch.exten, ch.priority = cmp.Or(in.Context, "from-trunk"), cmp.Or(in.Exten, "137"), 2
	ch.language = cmp.Or(in.Language, ch.language)
	for k, v := range in.Vars {
		ch.vars[k] = v
	}
	args := in.Args
	if args == nil {
		args = []string{}
	}
	ch.appName, ch.appData = "Stasis", strings.Join(append([]string{s.cfg.App}, args...), ",")
	ch.app, ch.appArgs, ch.inApp = s.cfg.App, args, true
	s.addChannel(ch)
	s.chEvent(ch, "StasisStart", map[string]any{"args": args})
	return &Call{s: s, id: ch.id}
}

// WaitOriginated waits for the next channel the app originated (or
// created and dialed) to endpoint ("" = any) that the test has not taken
// yet, and returns it ringing.
func (s *Server) WaitOriginated(endpoint string) *Call {
	s.t.Helper()
	var id string
	s.Wait("a call originated to "+endpoint, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		for i, cid := range s.originated {
			ch := s.channels[cid]
			if ch == nil {
				ch = s.gone[cid]
			}
			if ch != nil && (endpoint == "" || ch.endpoint == endpoint) {
				id = cid
				s.originated = slices.Delete(s.originated, i, i+1)
				return true
			}
		}
		return false
	})
	return &Call{s: s, id: id}
}

// with runs f on the live channel, failing the test if it is gone.
func (c *Call) with(what string, f func(*channel)) {
	c.s.t.Helper()
	s := c.s
	s.mu.Lock()
	defer func() {
		s.touch()
		s.mu.Unlock()
	}()
	ch := s.channels[c.id]
	if ch == nil {
		s.t.Errorf("aritest: %s on channel %s, which is gone", what, c.id)
		return
	}
	f(ch)
}

// SendDTMF presses digits on the citizen's phone: one ChannelDtmfReceived
// per digit. A digit matching a recording's terminateOn stops it.
func (c *Call) SendDTMF(digits string) {
	c.s.t.Helper()
	c.with("SendDTMF", func(ch *channel) {
		s := c.s
		for _, d := range digits {
			s.chEvent(ch, "ChannelDtmfReceived", map[string]any{"digit": string(d), "duration_ms": 100})
			for _, r := range s.live {
				if r.target == "channel:"+ch.id && (r.terminateOn == "any" || r.terminateOn == string(d)) {
					s.finishRecording(r, "done", "")
				}
			}
		}
	})
}

// Hangup hangs up from the far end (the citizen or agent put the phone
// down): ChannelHangupRequest, ChannelLeftBridge if bridged, StasisEnd,
// and ChannelDestroyed for channels the app originated.
func (c *Call) Hangup() {
	c.s.t.Helper()
	c.with("Hangup", func(ch *channel) { c.s.endChannel(ch, false, 16, "Normal Clearing") })
}

// Answer picks up a ringing originated channel: Dial ANSWER, state Up,
// and StasisStart with the originate appArgs when it was sent to an app.
func (c *Call) Answer() {
	c.s.t.Helper()
	c.with("Answer", func(ch *channel) {
		s := c.s
		if !ch.dialing {
			s.t.Errorf("aritest: Answer on channel %s, which is not ringing", c.id)
			return
		}
		ch.dialing = false
		ch.state = "Up"
		s.chEvent(ch, "ChannelStateChange", nil)
		s.emit(ch.app, "Dial", ch.id, s.dialFields(ch, "ANSWER"))
		if ch.app != "" {
			ch.inApp = true
			s.chEvent(ch, "StasisStart", map[string]any{"args": ch.appArgs})
		}
	})
}

// NoAnswer ends a ringing originated channel as if its ring timeout ran
// out: Dial NOANSWER, then ChannelDestroyed (cause 19).
func (c *Call) NoAnswer() { c.reject("NOANSWER", 19, "No answer") }

// Busy ends a ringing originated channel as busy: Dial BUSY, then
// ChannelDestroyed (cause 17).
func (c *Call) Busy() { c.reject("BUSY", 17, "User busy") }

func (c *Call) reject(status string, cause int, txt string) {
	c.s.t.Helper()
	c.with(status, func(ch *channel) {
		s := c.s
		if !ch.dialing {
			s.t.Errorf("aritest: %s on channel %s, which is not ringing", status, c.id)
			return
		}
		ch.dialing = false
		s.emit(ch.app, "Dial", ch.id, s.dialFields(ch, status))
		s.endChannel(ch, false, cause, txt)
	})
}

// State returns the channel's current (or last, once gone) state.
func (c *Call) State() ChannelState {
	st, _ := c.s.Channel(c.id)
	return st
}

// Channel returns a snapshot of channel id, live or gone.
func (s *Server) Channel(id string) (ChannelState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ch := s.channels[id]; ch != nil {
		return ch.snapshot(false), true
	}
	if ch := s.gone[id]; ch != nil {
		return ch.snapshot(true), true
	}
	return ChannelState{}, false
}

// Channels returns the live channels in creation order.
func (s *Server) Channels() []ChannelState {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ChannelState, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, s.channels[id].snapshot(false))
	}
	return out
}

// Bridge returns a snapshot of bridge id.
func (s *Server) Bridge(id string) (BridgeState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.bridges[id]
	if b == nil {
		return BridgeState{}, false
	}
	return BridgeState{ID: b.id, Name: b.name, Type: b.typ, Members: slices.Clone(b.members), MOH: b.moh,
		MOHClass: b.mohClass, Played: slices.Clone(b.played)}, true
}

// Bridges returns the ids of live bridges in creation order.
func (s *Server) Bridges() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.bridgeOrder)
}

// Playback returns a playback in progress.
func (s *Server) Playback(id string) (PlaybackState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.playbacks[id]
	if p == nil {
		return PlaybackState{}, false
	}
	return PlaybackState{ID: p.id, Media: slices.Clone(p.media), Target: p.target, State: p.state,
		Controls: slices.Clone(p.controls)}, true
}

// Playbacks returns the ids of playbacks in progress, sorted.
func (s *Server) Playbacks() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for id := range s.playbacks {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// FinishPlayback ends a playback (with Config.ManualPlaybacks):
// PlaybackFinished with state done.
func (s *Server) FinishPlayback(id string) {
	s.t.Helper()
	s.mu.Lock()
	defer func() {
		s.touch()
		s.mu.Unlock()
	}()
	p := s.playbacks[id]
	if p == nil {
		s.t.Errorf("aritest: FinishPlayback(%s): no such playback", id)
		return
	}
	s.finishPlayback(p)
}

// FinishRecording ends a live recording as if maxDuration/maxSilence ran
// out: RecordingFinished, and a stored recording appears.
func (s *Server) FinishRecording(name string) { s.endRecording(name, "done", "") }

// FailRecording ends a live recording with RecordingFailed and cause.
func (s *Server) FailRecording(name, cause string) { s.endRecording(name, "failed", cause) }

func (s *Server) endRecording(name, state, cause string) {
	s.t.Helper()
	s.mu.Lock()
	defer func() {
		s.touch()
		s.mu.Unlock()
	}()
	r := s.live[name]
	if r == nil {
		s.t.Errorf("aritest: no live recording %q", name)
		return
	}
	s.finishRecording(r, state, cause)
}

// LiveRecording reports whether a recording named name is in progress
// and its state.
func (s *Server) LiveRecording(name string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.live[name]
	if r == nil {
		return "", false
	}
	return r.state, true
}

// StoredRecording returns a stored recording's format and bytes.
func (s *Server) StoredRecording(name string) (format string, data []byte, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.stored[name]
	if r == nil {
		return "", nil, false
	}
	return r.format, slices.Clone(r.data), true
}

// AddStoredRecording puts a recording file on the "server".
func (s *Server) AddStoredRecording(name, format string, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stored[name] = &storedRec{format: format, data: slices.Clone(data)}
	s.touch()
}
