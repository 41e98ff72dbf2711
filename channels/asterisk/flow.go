package asterisk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/channels/asterisk/ari"
	"github.com/dargah137/dargah/gateway"
	"github.com/dargah137/dargah/routing/acd"
)

// Channel variables that carry a queued call's state on the channel
// itself, so a restarted Dargah can put it back in its queue.
const (
	varQueue = "DARGAH_QUEUE"
	varLang  = "DARGAH_LANG"
	varPath  = "DARGAH_PATH"
	varSince = "DARGAH_SINCE"
	// varAbsTimeout is Asterisk's TIMEOUT(absolute): the channel is hung
	// up that many seconds after it is set; 0 clears it. A graceful stop
	// sets it on the callers it leaves on hold, so that nobody waits
	// forever if no Dargah comes back.
	varAbsTimeout = "TIMEOUT(absolute)"
	// varTalk marks a caller in conversation: "agent leg,agent id".
	varTalk = "DARGAH_TALK"
)

// run is the whole life of a call.
func (s *session) run(ctx context.Context, resumed bool) {
	defer s.p.endSession(s)
	err := s.flow(ctx, resumed)
	switch {
	case errors.Is(err, errHangup):
		s.log.Debug("caller hung up", "path", s.path)
	case errors.Is(err, errHandedOff):
		s.log.Info("stopping: call left for the next Dargah", "queue", s.queue, "for", s.p.set.HandoffWait)
	case ctx.Err() != nil && s.inMenu && !s.gone && s.p.isStopping():
		// The menu starts again for them at the next Dargah; meanwhile
		// they hear music, not silence.
		mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		err := s.cli.ChannelMOHStart(mctx, s.id, s.p.set.MOHClass)
		cancel()
		if err == nil {
			err = s.handOff()
		}
		if errors.Is(err, errHandedOff) {
			s.log.Info("stopping: caller in the menu left for the next Dargah", "for", s.p.set.HandoffWait)
		} else {
			s.hangup(ari.HangupCongestion)
		}
	case ctx.Err() != nil:
		s.hangup(ari.HangupCongestion) // Dargah is stopping
	case err != nil:
		s.log.Warn("call failed", "err", err, "path", s.path)
		s.hangup(ari.HangupNormal)
	default:
		s.hangup(ari.HangupNormal)
	}
}

// hold puts the queue's state on the caller's channel and the caller in
// the holding bridge. Both are done even if Dargah starts stopping
// meanwhile: a caller handed off on stop must carry the state and hear
// the music.
func (s *session) hold(ctx context.Context, since time.Time) {
	setup, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	for k, v := range map[string]string{varQueue: s.queue, varLang: s.lang, varPath: strings.Join(s.path, "/"), varSince: since.Format(time.RFC3339Nano)} {
		if err := s.cli.ChannelSetVar(setup, s.id, k, v); err != nil {
			s.log.Debug("set channel variable", "name", k, "err", err)
		}
	}
	for try := 0; try < 2; try++ {
		hold, err := s.p.holdingBridge(setup, s.cli)
		if err == nil {
			err = s.cli.BridgeAddChannel(setup, hold, ari.AddChannelRequest{Channels: []string{s.id}, Role: "participant"})
		}
		if err == nil {
			return
		}
		if ari.IsNotFound(err) {
			// The bridge went with an Asterisk restart we have not
			// reconciled yet (or the caller is gone): make it again.
			s.p.forgetHolding(s.cli, hold)
		}
		s.log.Warn("holding bridge", "err", err)
	}
}

// handOff leaves a queued caller on hold when this Dargah stops, with
// Asterisk's absolute timeout as the bound on how long they wait to be
// taken back. If the timeout cannot be set the caller is hung up: better
// than music that might never end.
func (s *session) handOff(legs ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	secs := strconv.FormatFloat(s.p.set.HandoffWait.Seconds(), 'f', -1, 64)
	if err := s.cli.ChannelSetVar(ctx, s.id, varAbsTimeout, secs); err != nil {
		if ari.IsNotFound(err) {
			s.gone = true
			return errHangup
		}
		return fmt.Errorf("set the hand-off deadline: %w", err)
	}
	for _, leg := range legs {
		if err := s.cli.ChannelSetVar(ctx, leg, varAbsTimeout, secs); err != nil && !ari.IsNotFound(err) {
			s.log.Warn("set the hand-off deadline", "channel", leg, "err", err)
		}
	}
	return errHandedOff
}

func (s *session) hangup(reason string) {
	if s.gone {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.cli.ChannelHangup(ctx, s.id, reason); err != nil && !ari.IsNotFound(err) {
		s.log.Warn("hang up", "err", err)
	}
}

func (s *session) flow(ctx context.Context, resumed bool) error {
	if resumed {
		if t, err := s.cli.ChannelVar(ctx, s.id, varTalk); err == nil && t != "" {
			return s.talkOn(ctx, t)
		}
		if q, err := s.cli.ChannelVar(ctx, s.id, varQueue); err == nil && q != "" {
			if _, ok := s.p.disp.Queue(q); ok {
				if l, err := s.cli.ChannelVar(ctx, s.id, varLang); err == nil && gateway.SupportedLanguage(l) {
					s.lang = l
				}
				if p, err := s.cli.ChannelVar(ctx, s.id, varPath); err == nil && p != "" {
					s.path = strings.Split(p, "/")
				}
				var since time.Time
				if v, err := s.cli.ChannelVar(ctx, s.id, varSince); err == nil {
					since, _ = time.Parse(time.RFC3339Nano, v)
				}
				// A Dargah that stopped may have left the caller with a
				// deadline for being taken back: taken back now.
				if err := s.cli.ChannelSetVar(ctx, s.id, varAbsTimeout, "0"); err != nil {
					s.log.Warn("clear the hand-off deadline", "err", err)
				}
				return s.queueCall(ctx, q, since)
			}
		}
		// Left in the menu by a Dargah that stopped: music off, deadline
		// cleared, and the menu from the start.
		if err := s.cli.ChannelMOHStop(ctx, s.id); err != nil && !ari.IsNotFound(err) && !ari.IsConflict(err) {
			s.log.Debug("stop music on hold", "err", err)
		}
		if err := s.cli.ChannelSetVar(ctx, s.id, varAbsTimeout, "0"); err != nil && !ari.IsNotFound(err) {
			s.log.Warn("clear the hand-off deadline", "err", err)
		}
	}
	if err := s.cli.ChannelAnswer(ctx, s.id); err != nil {
		if ari.IsNotFound(err) {
			s.gone = true
			return errHangup
		}
		if !ari.IsPreconditionFailed(err) && !ari.IsConflict(err) { // already answered
			return fmt.Errorf("answer: %w", err)
		}
	}
	if !s.p.set.Hours.IsOpen(s.p.now()) {
		s.path = append(s.path, "after_hours")
		// Not inMenu: a voicemail cannot be handed off.
		if err := s.play(ctx, "closed"); err != nil {
			return err
		}
		return s.voicemail(ctx, "after_hours")
	}
	s.inMenu = true
	if err := s.play(ctx, "welcome"); err != nil {
		return err
	}
	langs := s.p.set.Languages
	d, err := s.choose(ctx, "language-menu", func(d string) bool { return langs[d] != "" })
	switch {
	case errors.Is(err, errFallback):
		s.path = append(s.path, "lang=default", "fallback")
		return s.queueCall(ctx, s.p.set.FallbackQueue, time.Time{})
	case err != nil:
		return err
	}
	s.lang = langs[d]
	s.path = append(s.path, "lang="+s.lang)
	return s.menu(ctx, s.p.set.Menu)
}

// menu walks the service menu tree from root.
func (s *session) menu(ctx context.Context, root *MenuNode) error {
	node := root
	for steps := 0; steps < 100; steps++ { // a caller cannot loop forever
		switch {
		case node.Queue != "":
			s.path = append(s.path, "queue="+node.Queue)
			return s.queueCall(ctx, node.Queue, time.Time{})
		case node.Voicemail:
			s.path = append(s.path, "voicemail")
			return s.voicemail(ctx, "menu")
		case node.CaseStatus:
			s.path = append(s.path, "case_status")
			if err := s.caseStatus(ctx); err != nil {
				if errors.Is(err, errFallback) {
					s.path = append(s.path, "fallback")
					return s.queueCall(ctx, s.p.set.FallbackQueue, time.Time{})
				}
				return err
			}
			node = root
			continue
		case node.FAQ != "":
			s.path = append(s.path, "faq="+node.FAQ)
			if err := s.play(ctx, node.FAQ); err != nil {
				return err
			}
			node = root
			continue
		}
		d, err := s.choose(ctx, node.Prompt, func(d string) bool { return node.Options[d] != nil })
		if errors.Is(err, errFallback) {
			s.path = append(s.path, "fallback")
			return s.queueCall(ctx, s.p.set.FallbackQueue, time.Time{})
		}
		if err != nil {
			return err
		}
		s.path = append(s.path, d)
		node = node.Options[d]
	}
	return s.queueCall(ctx, s.p.set.FallbackQueue, time.Time{})
}

// caseStatus reads a tracking code and plays the case's status.
func (s *session) caseStatus(ctx context.Context) error {
	for try := 0; ; try++ {
		code, err := s.collect(ctx, []string{"enter-code"}, cases.TrackingCodeLen, '#')
		if err != nil && !errors.Is(err, errTimeout) {
			return err
		}
		if cases.ValidTrackingCode(code) {
			if s.p.env.Cases == nil {
				return s.play(ctx, "try-later")
			}
			st, err := s.p.env.Cases.CaseStatus(ctx, code)
			switch {
			case err == nil:
				s.path = append(s.path, "status="+st.Status)
				return s.play(ctx, "status-intro", "digits:"+code, "status-"+st.Status)
			case errors.Is(err, cases.ErrNotFound):
				s.path = append(s.path, "status=unknown")
				return s.play(ctx, "code-unknown", "digits:"+code)
			default:
				s.log.Error("case status by phone", "err", err)
				return s.play(ctx, "try-later")
			}
		}
		if try >= s.p.set.MaxRetries {
			return errFallback
		}
		s.digits = s.digits[:0]
		if err := s.play(ctx, "code-invalid"); err != nil {
			return err
		}
	}
}

// ringing is an agent (or callback) leg being dialed.
type ringing struct {
	leg    string
	agent  acd.Agent
	timer  *time.Timer
	isCall bool // the callback leg to the citizen, not an agent
}

// queueCall puts the caller in queue q and stays with them until they talk
// to an agent, leave a voicemail, ask for a callback (then until the
// callback is connected) or hang up.
func (s *session) queueCall(ctx context.Context, q string, since time.Time) error {
	s.inMenu = false
	qc, ok := s.p.disp.Queue(q)
	if !ok {
		return fmt.Errorf("queue %q is not configured", q)
	}
	s.queue = q
	call := acd.Call{ID: s.id, Queue: q, Language: s.lang, Caller: s.caller, EnqueuedAt: since}
	if s.cbTask {
		// A callback task another Dargah parked: no channel, a promise
		// to dial back, in its old place.
		call.Callback, call.CallbackNumber = true, s.cbNumber
	}
	c, err := s.p.disp.Enqueue(call)
	if err != nil {
		return fmt.Errorf("enqueue: %w", err)
	}
	s.since = c.EnqueuedAt
	s.p.remember(s, "", func(r *callRecord) { r.Queue = q })
	// The queue's state goes on the channel and the caller on hold even
	// if Dargah starts stopping meanwhile: a caller handed off on stop
	// must carry it and hear the music.
	if !s.cbTask { // a parked callback task has no channel
		s.hold(ctx, c.EnqueuedAt)
	}
	s.p.kickDispatch()

	var (
		ring     *ringing
		offering time.Time // when the max-wait offer times out; zero if none
	)
	stopRing := func() {
		if ring != nil {
			ring.timer.Stop()
			s.p.dropLeg(ring.leg)
			ring = nil
		}
	}
	// missed gives the call back its place and skips the agent.
	missed := func(why string) {
		r := ring
		stopRing()
		s.hangupLeg(r.leg)
		if _, err := s.p.disp.Missed(ctx, s.id); err != nil {
			s.log.Warn("acd missed", "err", err)
		}
		s.p.feeds.send(r.agent.ID, feedEvent{Type: "missed", Call: s.id, Reason: why})
		s.p.kickDispatch()
	}
	nextPos := s.p.set.PositionEvery
	if pos, err := s.p.disp.Position(s.id); err == nil && !s.cbTask {
		s.announce(ctx, "queue-position", fmt.Sprintf("number:%d", pos))
	}
	for {
		wait := nextPos
		if !offering.IsZero() {
			wait = min(wait, time.Until(offering))
		}
		m, err := s.next(ctx, wait)
		if s.gone && !s.cbTask {
			if ring != nil {
				// Stop ringing the agent; Abandon releases them.
				l := ring.leg
				stopRing()
				s.hangupLeg(l)
			}
			waited, aerr := s.p.disp.Abandon(context.WithoutCancel(ctx), s.id)
			if aerr != nil {
				s.log.Warn("acd abandon", "err", aerr)
			}
			s.p.recordAbandon(s, waited)
			return errHangup
		}
		if err != nil && !errors.Is(err, errTimeout) {
			if ring != nil {
				l := ring.leg
				stopRing()
				s.hangupLeg(l)
			}
			if ctx.Err() != nil && s.p.isStopping() {
				_, _ = s.p.disp.Remove(context.WithoutCancel(ctx), s.id)
				if s.cbTask {
					// The promise is parked for the next Dargah (Stop
					// saves it), keeping its place.
					s.p.park(s)
					return errHandedOff
				}
				// A graceful stop: the caller keeps waiting on hold, and
				// the Dargah that finds the channel next puts them back
				// in their place (the queue and entry time are on it).
				return s.handOff()
			}
			_, _ = s.p.disp.Abandon(context.WithoutCancel(ctx), s.id)
			return err
		}
		if errors.Is(err, errTimeout) {
			if !offering.IsZero() && !time.Now().Before(offering) {
				offering = time.Time{}
				if done, err := s.maxWait(ctx, qc.OnMaxWait); done || err != nil {
					return err
				}
				continue
			}
			if !s.cbTask && ring == nil {
				if pos, err := s.p.disp.Position(s.id); err == nil {
					s.announce(ctx, "queue-position", fmt.Sprintf("number:%d", pos))
				}
			}
			continue
		}
		switch e := m.(type) {
		case msgAssigned:
			offering = time.Time{}
			s.digits = s.digits[:0]
			ring = s.ring(ctx, e.a)
		case msgOverdue:
			if ring != nil || s.cbTask {
				continue
			}
			s.digits = s.digits[:0]
			s.announce(ctx, "max-wait-offer")
			offering = time.Now().Add(2 * s.p.set.InputTimeout)
		case *ari.ChannelDtmfReceived:
			if offering.IsZero() || len(s.digits) == 0 {
				s.digits = s.digits[:0] // keys pressed while waiting mean nothing
				continue
			}
			d := s.digits[0]
			s.digits = s.digits[:0]
			choice := map[byte]string{'1': "callback", '2': "voicemail"}[d]
			if choice == "" {
				continue
			}
			offering = time.Time{}
			if done, err := s.maxWait(ctx, choice); done || err != nil {
				return err
			}
		case *ari.Dial:
			if ring == nil || e.Peer.ID != ring.leg {
				continue
			}
			switch e.DialStatus {
			case ari.DialBusy, ari.DialNoAnswer, ari.DialCancel, ari.DialCongestion, ari.DialChanUnavail:
				missed(strings.ToLower(e.DialStatus))
			}
		case msgRingTimeout:
			if ring != nil && e.leg == ring.leg {
				missed("ring timeout")
			}
		case msgLegState:
			if ring == nil || e.id != ring.leg {
				continue
			}
			switch {
			case !e.alive:
				missed("gone during reconnect")
			case e.up:
				r := ring
				ring.timer.Stop()
				return s.answered(ctx, r)
			}
		case *ari.StasisStart:
			if ring != nil && e.Channel.ID == ring.leg {
				r := ring
				ring.timer.Stop()
				return s.answered(ctx, r)
			}
		default:
			if ev, ok := m.(ari.Event); ok && ring != nil && ends(ev, ring.leg) {
				missed("agent hung up")
			}
		}
	}
}

// maxWait carries out the caller's choice after the max wait; done is true
// when the call's queue part is over.
func (s *session) maxWait(ctx context.Context, choice string) (done bool, err error) {
	if choice == "callback" && (s.p.set.CallbackEndpoint == "" || digitsOnly(s.caller) == "") {
		// No way to call back (no trunk configured, or a hidden number).
		choice = "voicemail"
	}
	if choice == "voicemail" {
		waited, _ := s.p.disp.Abandon(ctx, s.id)
		s.p.recordAbandon(s, waited)
		if hold := s.p.holdingID(s.cli); hold != "" {
			_ = s.cli.BridgeRemoveChannel(ctx, hold, s.id)
		}
		s.path = append(s.path, "max_wait=voicemail")
		return true, s.voicemail(ctx, "max_wait")
	}
	number := s.caller
	if _, err := s.p.disp.RequestCallback(s.id, number); err != nil {
		s.log.Warn("callback request", "err", err)
		return false, nil
	}
	s.mu.Lock()
	s.cbTask, s.cbNumber = true, number
	s.mu.Unlock()
	s.path = append(s.path, "max_wait=callback")
	if err := s.play(ctx, "callback-ok"); err != nil && !errors.Is(err, errHangup) {
		return true, err
	}
	s.hangup(ari.HangupNormal)
	s.gone = true
	return false, nil
}

// ring originates the agent's endpoint for assignment a.
func (s *session) ring(ctx context.Context, a acd.Assignment) *ringing {
	s.legN++
	leg := fmt.Sprintf("%s%sa%d", s.id, legMark, s.legN)
	s.p.addLeg(leg, s)
	s.p.pool.Remember(s.cli, leg)
	secs := max(1, int((a.RingTimeout+time.Second-1)/time.Second))
	_, err := s.cli.ChannelOriginate(ctx, ari.OriginateRequest{Endpoint: a.Agent.Endpoint, ChannelID: leg,
		App: s.p.set.App, AppArgs: argAgent + "," + s.id, CallerID: fmt.Sprintf("%q <%s>", s.p.set.CallerID, digitsOnly(s.caller)), Timeout: secs})
	if err != nil {
		s.log.Warn("dial agent", "agent", a.Agent.ID, "endpoint", a.Agent.Endpoint, "err", err)
		// The request may have reached Asterisk although its answer did
		// not reach us (a timeout, or a stop): end the leg by the id we
		// chose, or the agent's phone would ring for nobody.
		s.hangupLeg(leg)
		s.p.dropLeg(leg)
		if _, err := s.p.disp.Missed(ctx, s.id); err != nil {
			s.log.Warn("acd missed", "err", err)
		}
		s.p.kickDispatch()
		return nil
	}
	r := &ringing{leg: leg, agent: a.Agent}
	r.timer = time.AfterFunc(a.RingTimeout, func() { s.inbox.put(msgRingTimeout{leg: leg}) })
	s.p.remember(s, a.Agent.ID, nil)
	s.p.feeds.send(a.Agent.ID, feedEvent{Type: "ring", Call: s.id, Pop: s.p.screenPop(ctx, s)})
	return r
}

func (s *session) hangupLeg(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.cli.ChannelHangup(ctx, id, ari.HangupNormal); err != nil && !ari.IsNotFound(err) {
		s.log.Debug("hang up leg", "leg", id, "err", err)
	}
}

// answered: the agent picked up. For a waiting caller both go into a
// mixing bridge; for a callback task the citizen is dialed now.
func (s *session) answered(ctx context.Context, r *ringing) error {
	if _, err := s.p.disp.Answered(ctx, s.id); err != nil {
		s.log.Warn("acd answered", "err", err)
	}
	s.p.remember(s, r.agent.ID, func(c *callRecord) { c.AnsweredAt = s.p.now() })
	s.p.feeds.send(r.agent.ID, feedEvent{Type: "answered", Call: s.id})
	other := s.id
	if s.cbTask {
		var err error
		if other, err = s.dialBack(ctx, r); err != nil {
			s.hangupLeg(r.leg)
			s.complete(r.agent.ID)
			return err
		}
	}
	// Connecting the two is finished even if Dargah starts stopping
	// meanwhile: a conversation handed off on stop must be whole.
	setup, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if !s.cbTask {
		// On the channel, so that the Dargah that finds this call after
		// a stop or a crash knows it is a conversation (talkOn).
		if err := s.cli.ChannelSetVar(setup, s.id, varTalk, r.leg+","+r.agent.ID); err != nil {
			s.log.Debug("set channel variable", "name", varTalk, "err", err)
		}
		if hold := s.p.holdingID(s.cli); hold != "" {
			if err := s.cli.BridgeRemoveChannel(setup, hold, s.id); err != nil && !ari.IsUnprocessable(err) && !ari.IsNotFound(err) {
				s.log.Debug("leave holding bridge", "err", err)
			}
		}
	}
	br := "call-" + s.id
	_, err := s.cli.BridgeCreate(setup, ari.BridgeCreateRequest{ID: br, Type: []string{ari.BridgeMixing}, Name: "dargah call " + s.id})
	if err == nil {
		err = s.cli.BridgeAddChannel(setup, br, ari.AddChannelRequest{Channels: []string{other, r.leg}})
	}
	if err != nil {
		s.log.Warn("bridge caller and agent", "err", err)
	}
	return s.talk(ctx, r.leg, other, r.agent.ID)
}

// talk waits until either side hangs up, then ends the other, the bridge
// and the agent's part. On a graceful stop a caller's conversation goes on
// in Asterisk, for the next Dargah to look after (handOff).
func (s *session) talk(ctx context.Context, leg, other, agent string) error {
	for !(s.gone && !s.cbTask) {
		m, err := s.next(ctx, 0)
		if err != nil {
			if ctx.Err() != nil && !s.cbTask && s.p.isStopping() {
				return s.handOff(leg)
			}
			break
		}
		if ls, ok := m.(msgLegState); ok && (ls.id == leg || ls.id == other) && !ls.alive {
			break
		}
		if ev, ok := m.(ari.Event); ok && (ends(ev, leg) || ends(ev, other)) {
			break
		}
	}
	s.hangupLeg(leg)
	s.hangupLeg(other)
	s.gone = true
	dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.cli.BridgeDestroy(dctx, "call-"+s.id); err != nil && !ari.IsNotFound(err) {
		s.log.Debug("destroy bridge", "err", err)
	}
	s.complete(agent)
	return nil
}

// talkOn takes over a conversation a stopped (or crashed) Dargah left in
// Asterisk: the agent's leg is watched like one this process dialled, and
// the end of the call frees the agent as usual. A leg already gone means
// the conversation ended meanwhile.
func (s *session) talkOn(ctx context.Context, talk string) error {
	leg, agent, _ := strings.Cut(talk, ",")
	s.queue, _ = s.cli.ChannelVar(ctx, s.id, varQueue)
	s.p.disp.TakeOver(s.id, agent, s.queue)
	s.p.addLeg(leg, s)
	s.p.pool.Remember(s.cli, leg)
	s.p.remember(s, agent, func(r *callRecord) { r.Queue, r.AnsweredAt = s.queue, s.p.now() })
	ch, err := s.cli.ChannelGet(ctx, leg)
	if err != nil && !ari.IsNotFound(err) {
		s.complete(agent)
		return fmt.Errorf("take over the conversation with agent leg %s: %w", leg, err)
	}
	if err != nil || ch.State != ari.StateUp {
		s.log.Info("conversation ended while no Dargah watched it", "leg", leg)
		s.hangupLeg(leg)
		s.complete(agent)
		return nil
	}
	for _, id := range []string{s.id, leg} {
		if err := s.cli.ChannelSetVar(ctx, id, varAbsTimeout, "0"); err != nil && !ari.IsNotFound(err) {
			s.log.Warn("clear the hand-off deadline", "channel", id, "err", err)
		}
	}
	s.log.Info("taking over a conversation", "agent", agent, "leg", leg)
	s.p.feeds.send(agent, feedEvent{Type: "answered", Call: s.id})
	return s.talk(ctx, leg, s.id, agent)
}

func (s *session) complete(agent string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := s.p.disp.Completed(ctx, s.id); err != nil {
		s.log.Warn("acd completed", "err", err)
	}
	s.p.remember(s, agent, func(c *callRecord) { c.EndedAt = s.p.now() })
	s.p.feeds.send(agent, feedEvent{Type: "ended", Call: s.id})
	s.p.kickDispatch()
}

// dialBack calls the citizen of a callback task once the agent is on the
// line, and returns the citizen's channel when they answer.
func (s *session) dialBack(ctx context.Context, r *ringing) (string, error) {
	s.legN++
	leg := fmt.Sprintf("%s%scb%d", s.id, legMark, s.legN)
	s.p.addLeg(leg, s)
	s.p.pool.Remember(s.cli, leg)
	endpoint := strings.ReplaceAll(s.p.set.CallbackEndpoint, "{number}", digitsOnly(s.cbNumber))
	if _, err := s.cli.ChannelOriginate(ctx, ari.OriginateRequest{Endpoint: endpoint, ChannelID: leg, App: s.p.set.App,
		AppArgs: argCallback + "," + s.id, CallerID: fmt.Sprintf("%q <%s>", s.p.set.CallerID, s.p.set.CallerID), Timeout: 30}); err != nil {
		return "", fmt.Errorf("dial citizen back: %w", err)
	}
	timeout := time.After(40 * time.Second)
	for {
		var m any
		var err error
		select {
		case <-timeout:
			s.hangupLeg(leg)
			return "", errors.New("citizen did not answer the callback")
		default:
			m, err = s.next(ctx, time.Second)
		}
		if errors.Is(err, errTimeout) {
			continue
		}
		if err != nil {
			return "", err
		}
		switch e := m.(type) {
		case *ari.StasisStart:
			if e.Channel.ID == leg {
				return leg, nil
			}
		case *ari.Dial:
			if e.Peer.ID == leg && e.DialStatus != "" && e.DialStatus != ari.DialAnswer && e.DialStatus != ari.DialRinging && e.DialStatus != ari.DialProgress {
				return "", fmt.Errorf("callback: %s", e.DialStatus)
			}
		default:
			if ev, ok := m.(ari.Event); ok {
				if ends(ev, leg) {
					return "", errors.New("callback: citizen's channel ended")
				}
				if ends(ev, r.leg) {
					s.hangupLeg(leg)
					return "", errors.New("callback: agent hung up first")
				}
			}
		}
	}
}

// voicemail records a message and submits it with the audio attached.
func (s *session) voicemail(ctx context.Context, reason string) error {
	s.inMenu = false
	if err := s.play(ctx, "voicemail-intro"); err != nil {
		return err
	}
	s.digits = s.digits[:0]
	name := "dargah-vm-" + strings.NewReplacer("/", "_", ":", "_").Replace(s.id)
	// Started even if Dargah starts stopping meanwhile, so that the stop
	// below finds a recording to keep, not one it cannot see.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	_, err := s.cli.ChannelRecord(rctx, s.id, ari.RecordRequest{Name: name, Format: "wav",
		MaxDurationSeconds: int(s.p.set.VoicemailMax / time.Second), MaxSilenceSeconds: 5,
		IfExists: "overwrite", Beep: true, TerminateOn: "#"})
	cancel()
	if err != nil {
		if ari.IsNotFound(err) || ari.IsConflict(err) {
			s.gone = true
			return errHangup
		}
		return fmt.Errorf("record voicemail: %w", err)
	}
	// Wait for the end; a hang-up ends the recording too, and what was
	// said before it is still worth keeping.
	var limit = s.p.set.VoicemailMax + 30*time.Second
	deadline := time.Now().Add(limit)
	finished := false
	for !finished {
		wait := time.Until(deadline)
		if s.gone {
			wait = min(wait, 10*time.Second)
		}
		m, err := s.next(ctx, wait)
		if err != nil {
			// Past the limit, or Dargah is stopping: what the caller
			// said so far is kept.
			if errors.Is(err, errTimeout) || (ctx.Err() != nil && s.p.isStopping()) {
				_ = s.cli.LiveRecordingStop(context.WithoutCancel(ctx), name)
				break
			}
			return err
		}
		switch e := m.(type) {
		case *ari.RecordingFinished:
			finished = e.Recording.Name == name
		case *ari.RecordingFailed:
			if e.Recording.Name == name {
				return fmt.Errorf("voicemail recording failed: %s", e.Recording.Cause)
			}
		}
	}
	s.digits = s.digits[:0] // the "#" that ended the recording
	// A recorded voicemail is kept even if Dargah starts stopping now.
	// Only that: the confirmation below waits for ARI events, which stop
	// with Dargah, so it keeps ctx.
	keep := context.WithoutCancel(ctx)
	var buf bytes.Buffer
	n, ctype, err := s.cli.StoredRecordingFile(keep, name, &buf)
	if err != nil {
		return fmt.Errorf("fetch voicemail %s: %w", name, err)
	}
	if ctype == "" || strings.HasPrefix(ctype, "application/octet-stream") {
		ctype = "audio/wav"
	}
	att, err := s.p.env.Attachments.AttachmentSave(keep, gateway.Attachment{ContentType: ctype, Filename: name + ".wav", Size: n}, buf.Bytes())
	if err != nil {
		return fmt.Errorf("save voicemail %s: %w", name, err)
	}
	msg := s.p.message(s.record(), "vm:"+s.id, voicemailText[s.lang])
	msg.Attachments = []gateway.Attachment{att}
	msg.Metadata["kind"] = "voicemail"
	msg.Metadata["reason"] = reason
	rcpt, err := s.p.env.Intake.Submit(keep, msg)
	if err != nil {
		return fmt.Errorf("submit voicemail: %w", err)
	}
	if err := s.cli.StoredRecordingDelete(keep, name); err != nil {
		s.log.Debug("delete stored voicemail", "err", err)
	}
	if s.gone {
		return errHangup
	}
	actx, cancel := context.WithTimeout(ctx, 5*time.Second)
	rcpt, err = s.p.env.Intake.Await(actx, rcpt.MessageID)
	cancel()
	if err == nil && rcpt.Decision.TrackingCode != "" {
		return s.play(ctx, "voicemail-saved", "digits:"+rcpt.Decision.TrackingCode)
	}
	return s.play(ctx, "voicemail-saved")
}

// voicemailText is the message text of a voicemail: the audio is the content.
var voicemailText = map[string]string{
	"fa": "پیام صوتی تماس‌گیرنده با ۱۳۷",
	"ar": "رسالة صوتية من المتصل بـ ۱۳۷",
	"ur": "۱۳۷ پر کال کرنے والے کا صوتی پیغام",
	"en": "Voicemail left on the 137 line",
}

// digitsOnly keeps digits and a leading + of a phone number.
func digitsOnly(n string) string {
	var b strings.Builder
	for i, r := range n {
		if r >= '0' && r <= '9' || (r == '+' && i == 0) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// e164 turns an Iranian caller id into E.164 (+98…); other forms are kept
// as digits, or "" when there are none.
func e164(n string) string {
	d := digitsOnly(n)
	switch {
	case strings.HasPrefix(d, "+"):
		return d
	case strings.HasPrefix(d, "00") && len(d) > 4:
		return "+" + d[2:]
	case strings.HasPrefix(d, "98") && len(d) == 12:
		return "+" + d
	case strings.HasPrefix(d, "0") && len(d) == 11:
		return "+98" + d[1:]
	}
	return d
}
