package ari_test

import (
	"bytes"
	"errors"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dargah137/dargah/channels/asterisk/ari"
	"github.com/dargah137/dargah/channels/asterisk/aritest"
)

// TestCitizenCall drives an incoming call through the IVR operations and
// checks both the events the client decodes and the state the double saw.
func TestCitizenCall(t *testing.T) {
	t.Parallel()
	h := start(t, aritest.Config{}, nil)
	ctx, c, srv := h.ctx, h.c, h.srv

	call := srv.NewCall("09151234567", "ivr", "fa")
	ss := waitEvent(t, h.ev, onChannel[*ari.StasisStart](call.ID()))
	if ss.Channel.Caller.Number != "09151234567" || ss.Channel.State != ari.StateRing || !slices.Equal(ss.Args, []string{"ivr", "fa"}) {
		t.Fatalf("StasisStart = %+v", ss)
	}
	if ss.Server != "ast1" || ss.AsteriskID != srv.AsteriskID() || ss.Application != srv.App() || ss.Timestamp.IsZero() {
		t.Fatalf("base = %+v", ss.EventBase)
	}
	id := call.ID()

	must(t, c.ChannelRing(ctx, id))
	if !call.State().Ringing {
		t.Error("ring not recorded")
	}
	must(t, c.ChannelRingStop(ctx, id))
	must(t, c.ChannelAnswer(ctx, id))
	sc := waitEvent(t, h.ev, onChannel[*ari.ChannelStateChange](id))
	if sc.Channel.State != ari.StateUp {
		t.Fatalf("state = %s", sc.Channel.State)
	}

	pb, err := c.ChannelPlay(ctx, id, ari.PlayRequest{Media: []string{"sound:welcome", "sound:menu"}, Lang: "fa", PlaybackID: "pb-welcome"})
	must(t, err)
	if pb.ID != "pb-welcome" || pb.TargetURI != "channel:"+id || pb.MediaURI != "sound:welcome" {
		t.Fatalf("playback = %+v", pb)
	}
	ps := waitEvent(t, h.ev, func(e *ari.PlaybackStarted) bool { return e.Playback.ID == "pb-welcome" })
	pf := waitEvent(t, h.ev, func(e *ari.PlaybackFinished) bool { return e.Playback.ID == "pb-welcome" })
	if ps.Playback.State != ari.PlaybackStatePlaying || pf.Playback.State != ari.PlaybackStateDone || pf.Playback.Language != "fa" {
		t.Fatalf("playback events %+v %+v", ps.Playback, pf.Playback)
	}
	if got := call.State().Played; !slices.Equal(got, []string{"sound:welcome", "sound:menu"}) {
		t.Fatalf("played = %v", got)
	}

	call.SendDTMF("1#")
	d1 := waitEvent(t, h.ev, onChannel[*ari.ChannelDtmfReceived](id))
	d2 := waitEvent(t, h.ev, onChannel[*ari.ChannelDtmfReceived](id))
	if d1.Digit != "1" || d2.Digit != "#" || d1.DurationMS == 0 {
		t.Fatalf("dtmf %+v %+v", d1, d2)
	}

	must(t, c.ChannelSetVar(ctx, id, "CASE_ID", "137-42"))
	vs := waitEvent(t, h.ev, onChannel[*ari.ChannelVarset](id))
	if vs.Variable != "CASE_ID" || vs.Value != "137-42" {
		t.Fatalf("varset = %+v", vs)
	}
	if v, err := c.ChannelVar(ctx, id, "CASE_ID"); err != nil || v != "137-42" {
		t.Fatalf("var = %q %v", v, err)
	}
	if v, err := c.ChannelVar(ctx, id, "CALLERID(num)"); err != nil || v != "09151234567" {
		t.Fatalf("callerid = %q %v", v, err)
	}
	if _, err := c.ChannelVar(ctx, id, "NOPE"); !ari.IsNotFound(err) {
		t.Fatalf("missing var err = %v", err)
	}

	must(t, c.ChannelHold(ctx, id))
	if !call.State().Hold {
		t.Error("hold not recorded")
	}
	must(t, c.ChannelUnhold(ctx, id))
	must(t, c.ChannelMOHStart(ctx, id, "persian"))
	if st := call.State(); !st.MOH || st.MOHClass != "persian" {
		t.Errorf("moh = %+v", st)
	}
	must(t, c.ChannelMOHStop(ctx, id))
	must(t, c.ChannelSilenceStart(ctx, id))
	if !call.State().Silence {
		t.Error("silence not recorded")
	}
	must(t, c.ChannelSilenceStop(ctx, id))
	must(t, c.ChannelMute(ctx, id, ari.DirectionIn))
	if call.State().Muted != "in" {
		t.Error("mute not recorded")
	}
	must(t, c.ChannelUnmute(ctx, id, ""))
	must(t, c.ChannelProgress(ctx, id))
	must(t, c.ChannelSendDTMF(ctx, id, ari.DTMFRequest{DTMF: "123", Duration: 100}))
	if st := call.State(); st.SentDTMF != "123" || st.Hold || st.MOH || st.Silence || st.Muted != "" || st.Ringing {
		t.Errorf("state = %+v", st)
	}

	// Record with terminateOn: the citizen's # ends it.
	lr, err := c.ChannelRecord(ctx, id, ari.RecordRequest{Name: "case-42-msg", Format: "wav", Beep: true, TerminateOn: "#", MaxDurationSeconds: 60})
	must(t, err)
	if lr.Name != "case-42-msg" || lr.TargetURI != "channel:"+id {
		t.Fatalf("live = %+v", lr)
	}
	waitEvent(t, h.ev, func(e *ari.RecordingStarted) bool { return e.Recording.Name == "case-42-msg" })
	if got, err := c.LiveRecordingGet(ctx, "case-42-msg"); err != nil || got.State != "recording" {
		t.Fatalf("live get = %+v %v", got, err)
	}
	call.SendDTMF("#")
	rf := waitEvent(t, h.ev, func(e *ari.RecordingFinished) bool { return e.Recording.Name == "case-42-msg" })
	if rf.Recording.State != "done" || rf.Recording.Duration < 1 || ari.ChannelOf(rf) != id {
		t.Fatalf("finished = %+v", rf.Recording)
	}

	// The citizen hangs up.
	call.Hangup()
	hr := waitEvent(t, h.ev, onChannel[*ari.ChannelHangupRequest](id))
	if hr.Soft || hr.Cause != 16 {
		t.Fatalf("hangup request = %+v", hr)
	}
	waitEvent(t, h.ev, onChannel[*ari.StasisEnd](id))
	if _, err := c.ChannelGet(ctx, id); !ari.IsNotFound(err) {
		t.Fatalf("get after hangup: %v", err)
	}
}

// TestAgentBridge: a citizen call is bridged with an originated agent
// phone, with announcements and MOH in the bridge.
func TestAgentBridge(t *testing.T) {
	t.Parallel()
	h := start(t, aritest.Config{}, nil)
	ctx, c, srv := h.ctx, h.c, h.srv

	citizen := srv.NewCall("09151234567")
	waitEvent(t, h.ev, onChannel[*ari.StasisStart](citizen.ID()))
	must(t, c.ChannelAnswer(ctx, citizen.ID()))

	agentCh, err := c.ChannelOriginate(ctx, ari.OriginateRequest{
		Endpoint: "PJSIP/1001", ChannelID: "agent-1001-1", AppArgs: "agent,case-42", CallerID: `"137" <137>`,
		Timeout: 20, Variables: map[string]string{"CASE": "42"},
	})
	must(t, err)
	if agentCh.ID != "agent-1001-1" || agentCh.State != ari.StateDown {
		t.Fatalf("originated = %+v", agentCh)
	}
	agent := srv.WaitOriginated("PJSIP/1001")
	if agent.ID() != "agent-1001-1" || agent.State().Vars["CASE"] != "42" {
		t.Fatalf("double saw %+v", agent.State())
	}
	d0 := waitEvent(t, h.ev, onChannel[*ari.Dial]("agent-1001-1"))
	d1 := waitEvent(t, h.ev, onChannel[*ari.Dial]("agent-1001-1"))
	if d0.DialStatus != "" || d1.DialStatus != ari.DialRinging {
		t.Fatalf("dial statuses %q %q", d0.DialStatus, d1.DialStatus)
	}
	agent.Answer()
	da := waitEvent(t, h.ev, onChannel[*ari.Dial]("agent-1001-1"))
	if da.DialStatus != ari.DialAnswer {
		t.Fatalf("dial = %q", da.DialStatus)
	}
	as := waitEvent(t, h.ev, onChannel[*ari.StasisStart]("agent-1001-1"))
	if !slices.Equal(as.Args, []string{"agent", "case-42"}) || as.Channel.State != ari.StateUp || as.Channel.Caller.Number != "137" {
		t.Fatalf("agent StasisStart = %+v", as)
	}

	br, err := c.BridgeCreate(ctx, ari.BridgeCreateRequest{ID: "case-42", Type: []string{ari.BridgeMixing, ari.BridgeDTMFEvents}, Name: "case 42"})
	must(t, err)
	if br.ID != "case-42" || br.BridgeType != "mixing" {
		t.Fatalf("bridge = %+v", br)
	}
	waitEvent(t, h.ev, func(e *ari.BridgeCreated) bool { return e.Bridge.ID == "case-42" })
	must(t, c.BridgeAddChannel(ctx, "case-42", ari.AddChannelRequest{Channels: []string{citizen.ID(), "agent-1001-1"}, Role: "participant"}))
	e1 := waitEvent(t, h.ev, onChannel[*ari.ChannelEnteredBridge](citizen.ID()))
	e2 := waitEvent(t, h.ev, onChannel[*ari.ChannelEnteredBridge]("agent-1001-1"))
	if len(e1.Bridge.Channels) != 1 || len(e2.Bridge.Channels) != 2 || e2.Bridge.Technology != "simple_bridge" {
		t.Fatalf("entered: %+v / %+v", e1.Bridge, e2.Bridge)
	}
	got, err := c.BridgeGet(ctx, "case-42")
	must(t, err)
	if !slices.Equal(got.Channels, []string{citizen.ID(), "agent-1001-1"}) {
		t.Fatalf("members = %v", got.Channels)
	}
	if st := citizen.State(); st.Bridge != "case-42" || st.Role != "participant" {
		t.Fatalf("citizen state %+v", st)
	}
	list, err := c.BridgeList(ctx)
	must(t, err)
	if len(list) != 1 {
		t.Fatalf("bridges = %+v", list)
	}

	pb, err := c.BridgePlay(ctx, "case-42", ari.PlayRequest{Media: []string{"sound:call-recorded"}})
	must(t, err)
	if pb.TargetURI != "bridge:case-42" {
		t.Fatalf("bridge playback = %+v", pb)
	}
	waitEvent(t, h.ev, func(e *ari.PlaybackFinished) bool { return e.Playback.ID == pb.ID })
	if got, _ := c.BridgeGet(ctx, "case-42"); got.Technology != "softmix" {
		t.Errorf("technology after announcer = %s", got.Technology)
	}
	must(t, c.BridgeMOHStart(ctx, "case-42", ""))
	if b, _ := srv.Bridge("case-42"); !b.MOH || b.MOHClass != "default" {
		t.Errorf("bridge moh = %+v", b)
	}
	must(t, c.BridgeMOHStop(ctx, "case-42"))

	must(t, c.BridgeRemoveChannel(ctx, "case-42", citizen.ID()))
	waitEvent(t, h.ev, onChannel[*ari.ChannelLeftBridge](citizen.ID()))
	if err := c.BridgeRemoveChannel(ctx, "case-42", citizen.ID()); !ari.IsUnprocessable(err) {
		t.Fatalf("remove twice: %v", err)
	}
	must(t, c.BridgeDestroy(ctx, "case-42"))
	waitEvent(t, h.ev, onChannel[*ari.ChannelLeftBridge]("agent-1001-1"))
	waitEvent(t, h.ev, func(e *ari.BridgeDestroyed) bool { return e.Bridge.ID == "case-42" })
	if _, err := c.BridgeGet(ctx, "case-42"); !ari.IsNotFound(err) {
		t.Fatalf("get destroyed bridge: %v", err)
	}

	// The app hangs the agent up: soft hangup, StasisEnd, ChannelDestroyed.
	must(t, c.ChannelHangup(ctx, "agent-1001-1", ari.HangupNormal))
	hr := waitEvent(t, h.ev, onChannel[*ari.ChannelHangupRequest]("agent-1001-1"))
	if !hr.Soft || hr.Cause != 32 {
		t.Fatalf("soft hangup = %+v", hr)
	}
	waitEvent(t, h.ev, onChannel[*ari.StasisEnd]("agent-1001-1"))
	cd := waitEvent(t, h.ev, onChannel[*ari.ChannelDestroyed]("agent-1001-1"))
	if cd.Cause != 16 || cd.CauseTxt != "Normal Clearing" {
		t.Fatalf("destroyed = %+v", cd)
	}
	if st := agent.State(); !st.Gone || st.HangupReason != "normal" {
		t.Fatalf("agent state = %+v", st)
	}
}

func TestOriginateNoAnswerBusy(t *testing.T) {
	t.Parallel()
	h := start(t, aritest.Config{}, nil)
	for _, tc := range []struct {
		name   string
		act    func(*aritest.Call)
		status string
		cause  int
	}{
		{"no answer", (*aritest.Call).NoAnswer, ari.DialNoAnswer, 19},
		{"busy", (*aritest.Call).Busy, ari.DialBusy, 17},
	} {
		ch, err := h.c.ChannelOriginate(h.ctx, ari.OriginateRequest{Endpoint: "PJSIP/1002"})
		must(t, err)
		call := h.srv.WaitOriginated("PJSIP/1002")
		if call.ID() != ch.ID {
			t.Fatalf("%s: double has %s, client %s", tc.name, call.ID(), ch.ID)
		}
		tc.act(call)
		var last *ari.Dial
		for range 3 {
			last = waitEvent(t, h.ev, onChannel[*ari.Dial](ch.ID))
		}
		if last.DialStatus != tc.status {
			t.Fatalf("%s: dial status %q", tc.name, last.DialStatus)
		}
		cd := waitEvent(t, h.ev, onChannel[*ari.ChannelDestroyed](ch.ID))
		if cd.Cause != tc.cause {
			t.Fatalf("%s: cause %d", tc.name, cd.Cause)
		}
	}
	// Cancelling a ringing originate: Dial CANCEL then ChannelDestroyed.
	ch, err := h.c.ChannelOriginate(h.ctx, ari.OriginateRequest{Endpoint: "PJSIP/1003"})
	must(t, err)
	h.srv.WaitOriginated("PJSIP/1003")
	must(t, h.c.ChannelHangup(h.ctx, ch.ID, ari.HangupNoAnswer))
	var last *ari.Dial
	for range 3 {
		last = waitEvent(t, h.ev, onChannel[*ari.Dial](ch.ID))
	}
	if last.DialStatus != ari.DialCancel {
		t.Fatalf("cancel dial status %q", last.DialStatus)
	}
	waitEvent(t, h.ev, onChannel[*ari.ChannelDestroyed](ch.ID))
}

func TestCreateThenDial(t *testing.T) {
	t.Parallel()
	h := start(t, aritest.Config{}, nil)
	citizen := h.srv.NewCall("09120000000")
	waitEvent(t, h.ev, onChannel[*ari.StasisStart](citizen.ID()))
	ch, err := h.c.ChannelCreate(h.ctx, ari.CreateRequest{Endpoint: "PJSIP/1004", ChannelID: "agent-1004", AppArgs: "agent"})
	must(t, err)
	if ch.ID != "agent-1004" {
		t.Fatalf("created %+v", ch)
	}
	if err := h.c.ChannelAnswer(h.ctx, ch.ID); !ari.IsConflict(err) {
		t.Fatalf("answer before dial: %v", err)
	}
	must(t, h.c.ChannelDial(h.ctx, ch.ID, citizen.ID(), 15))
	if err := h.c.ChannelDial(h.ctx, ch.ID, "", 0); !ari.IsConflict(err) {
		t.Fatalf("dial twice: %v", err)
	}
	d := waitEvent(t, h.ev, onChannel[*ari.Dial](ch.ID))
	if d.Caller == nil || d.Caller.ID != citizen.ID() {
		t.Fatalf("dial caller = %+v", d.Caller)
	}
	h.srv.WaitOriginated("PJSIP/1004").Answer()
	ss := waitEvent(t, h.ev, onChannel[*ari.StasisStart](ch.ID))
	if !slices.Equal(ss.Args, []string{"agent"}) {
		t.Fatalf("args %v", ss.Args)
	}
	if _, err := h.c.ChannelCreate(h.ctx, ari.CreateRequest{Endpoint: "PJSIP/1004", ChannelID: "agent-1004"}); !ari.IsConflict(err) {
		t.Fatalf("duplicate id: %v", err)
	}
}

func TestSnoopContinueMoveRedirect(t *testing.T) {
	t.Parallel()
	h := start(t, aritest.Config{}, nil)
	ctx, c := h.ctx, h.c
	call := h.srv.NewCall("09130000000")
	waitEvent(t, h.ev, onChannel[*ari.StasisStart](call.ID()))

	sn, err := c.ChannelSnoop(ctx, call.ID(), ari.SnoopRequest{Spy: "in", AppArgs: "snoop", SnoopID: "snoop-1"})
	must(t, err)
	ss := waitEvent(t, h.ev, onChannel[*ari.StasisStart]("snoop-1"))
	if sn.ID != "snoop-1" || !strings.HasPrefix(ss.Channel.Name, "Snoop/") || ss.Channel.State != ari.StateUp || !slices.Equal(ss.Args, []string{"snoop"}) {
		t.Fatalf("snoop %+v / %+v", sn, ss)
	}

	must(t, c.ChannelRedirect(ctx, call.ID(), "PJSIP/1005"))
	must(t, c.ChannelMove(ctx, call.ID(), "elsewhere", "x"))
	mf := waitEvent(t, h.ev, onChannel[*ari.ApplicationMoveFailed](call.ID()))
	if mf.Destination != "elsewhere" || !slices.Equal(mf.Args, []string{"x"}) {
		t.Fatalf("move failed = %+v", mf)
	}
	must(t, c.ChannelContinue(ctx, call.ID(), "after-ivr", "s", 1, ""))
	waitEvent(t, h.ev, onChannel[*ari.StasisEnd](call.ID()))
	if st := call.State(); st.InApp || st.ContinuedTo != "after-ivr,s,1" {
		t.Fatalf("continued state %+v", st)
	}
	if err := c.ChannelAnswer(ctx, call.ID()); !ari.IsConflict(err) {
		t.Fatalf("answer after continue: %v", err)
	}
	// The watched channel goes; the snoop goes with it.
	call.Hangup()
	waitEvent(t, h.ev, onChannel[*ari.ChannelDestroyed]("snoop-1"))
}

func TestPlaybackControlAndManualFinish(t *testing.T) {
	t.Parallel()
	h := start(t, aritest.Config{ManualPlaybacks: true}, nil)
	ctx, c := h.ctx, h.c
	call := h.srv.NewCall("09140000000")
	waitEvent(t, h.ev, onChannel[*ari.StasisStart](call.ID()))
	pb, err := c.ChannelPlay(ctx, call.ID(), ari.PlayRequest{Media: []string{"sound:long-menu"}, SkipMS: 5000})
	must(t, err)
	waitEvent(t, h.ev, func(e *ari.PlaybackStarted) bool { return e.Playback.ID == pb.ID })
	got, err := c.PlaybackGet(ctx, pb.ID)
	must(t, err)
	if got.State != ari.PlaybackStatePlaying {
		t.Fatalf("state %s", got.State)
	}
	for _, op := range []string{ari.PlaybackPause, ari.PlaybackUnpause, ari.PlaybackForward, ari.PlaybackReverse, ari.PlaybackRestart} {
		must(t, c.PlaybackControl(ctx, pb.ID, op))
	}
	if st, _ := h.srv.Playback(pb.ID); len(st.Controls) != 5 {
		t.Fatalf("controls %v", st.Controls)
	}
	must(t, c.PlaybackStop(ctx, pb.ID))
	waitEvent(t, h.ev, func(e *ari.PlaybackFinished) bool { return e.Playback.ID == pb.ID })
	if _, err := c.PlaybackGet(ctx, pb.ID); !ari.IsNotFound(err) {
		t.Fatalf("get stopped: %v", err)
	}

	pb2, err := c.ChannelPlay(ctx, call.ID(), ari.PlayRequest{Media: []string{"digits:137"}})
	must(t, err)
	waitEvent(t, h.ev, func(e *ari.PlaybackStarted) bool { return e.Playback.ID == pb2.ID })
	h.srv.FinishPlayback(pb2.ID)
	waitEvent(t, h.ev, func(e *ari.PlaybackFinished) bool { return e.Playback.ID == pb2.ID })
}

func TestRecordings(t *testing.T) {
	t.Parallel()
	h := start(t, aritest.Config{}, nil)
	ctx, c, srv := h.ctx, h.c, h.srv
	call := srv.NewCall("09150000000")
	waitEvent(t, h.ev, onChannel[*ari.StasisStart](call.ID()))

	_, err := c.ChannelRecord(ctx, call.ID(), ari.RecordRequest{Name: "r1", Format: "wav"})
	must(t, err)
	waitEvent(t, h.ev, func(e *ari.RecordingStarted) bool { return e.Recording.Name == "r1" })
	must(t, c.LiveRecordingStop(ctx, "r1"))
	waitEvent(t, h.ev, func(e *ari.RecordingFinished) bool { return e.Recording.Name == "r1" })

	// Name taken and ifExists=fail (the default): 409.
	if _, err := c.ChannelRecord(ctx, call.ID(), ari.RecordRequest{Name: "r1", Format: "wav"}); !ari.IsConflict(err) {
		t.Fatalf("record over existing: %v", err)
	}
	if _, err := c.ChannelRecord(ctx, call.ID(), ari.RecordRequest{Name: "r9", Format: "flac"}); !ari.IsUnprocessable(err) {
		t.Fatalf("unknown format: %v", err)
	}

	_, err = c.ChannelRecord(ctx, call.ID(), ari.RecordRequest{Name: "r2", Format: "wav"})
	must(t, err)
	must(t, c.LiveRecordingCancel(ctx, "r2"))
	rc := waitEvent(t, h.ev, func(e *ari.RecordingFinished) bool { return e.Recording.Name == "r2" })
	if rc.Recording.State != "canceled" {
		t.Fatalf("cancel state %s", rc.Recording.State)
	}
	_, err = c.ChannelRecord(ctx, call.ID(), ari.RecordRequest{Name: "r3", Format: "wav"})
	must(t, err)
	srv.FailRecording("r3", "disk full")
	rf := waitEvent(t, h.ev, func(e *ari.RecordingFailed) bool { return e.Recording.Name == "r3" })
	if rf.Recording.Cause != "disk full" {
		t.Fatalf("failed = %+v", rf.Recording)
	}

	list, err := c.StoredRecordingList(ctx)
	must(t, err)
	if len(list) != 1 || list[0].Name != "r1" || list[0].Format != "wav" {
		t.Fatalf("stored = %+v", list)
	}
	sr, err := c.StoredRecordingCopy(ctx, "r1", "r1-copy")
	must(t, err)
	if sr.Name != "r1-copy" {
		t.Fatalf("copy = %+v", sr)
	}
	if _, err := c.StoredRecordingCopy(ctx, "r1", "r1-copy"); !ari.IsConflict(err) {
		t.Fatalf("copy onto existing: %v", err)
	}
	if got, err := c.StoredRecordingGet(ctx, "r1-copy"); err != nil || got.Format != "wav" {
		t.Fatalf("get = %+v %v", got, err)
	}
	var buf bytes.Buffer
	n, ct, err := c.StoredRecordingFile(ctx, "r1", &buf)
	must(t, err)
	_, want, _ := srv.StoredRecording("r1")
	if n != int64(len(want)) || !bytes.Equal(buf.Bytes(), want) || ct != "audio/wav" {
		t.Fatalf("file %d bytes %q ct %q", n, buf.Bytes(), ct)
	}
	must(t, c.StoredRecordingDelete(ctx, "r1-copy"))
	if _, err := c.StoredRecordingGet(ctx, "r1-copy"); !ari.IsNotFound(err) {
		t.Fatalf("get deleted: %v", err)
	}
	if _, _, err := c.StoredRecordingFile(ctx, "nope", &buf); !ari.IsNotFound(err) {
		t.Fatalf("file of missing: %v", err)
	}
	// Hanging up ends a live recording and stores it.
	_, err = c.ChannelRecord(ctx, call.ID(), ari.RecordRequest{Name: "r4", Format: "gsm", IfExists: "overwrite"})
	must(t, err)
	call.Hangup()
	waitEvent(t, h.ev, func(e *ari.RecordingFinished) bool { return e.Recording.Name == "r4" })
	if f, _, ok := srv.StoredRecording("r4"); !ok || f != "gsm" {
		t.Fatalf("r4 not stored")
	}
}

func TestAsteriskAndApplications(t *testing.T) {
	t.Parallel()
	h := start(t, aritest.Config{AsteriskID: "52:54:00:aa:bb:cc"}, nil)
	ctx, c := h.ctx, h.c
	p, err := c.Ping(ctx)
	must(t, err)
	if p.Ping != "pong" || p.AsteriskID != "52:54:00:aa:bb:cc" {
		t.Fatalf("ping %+v", p)
	}
	info, err := c.Info(ctx, "system", "build")
	must(t, err)
	if info.System == nil || info.System.Version == "" || info.Build == nil || info.Config != nil {
		t.Fatalf("info %+v", info)
	}
	full, err := c.Info(ctx)
	must(t, err)
	if full.Config == nil || full.Status == nil || full.Status.StartupTime.IsZero() {
		t.Fatalf("full info %+v", full)
	}
	apps, err := c.ApplicationList(ctx)
	must(t, err)
	if len(apps) != 1 || apps[0].Name != "dargah" {
		t.Fatalf("apps %+v", apps)
	}
	call := h.srv.NewCall("0911")
	waitEvent(t, h.ev, onChannel[*ari.StasisStart](call.ID()))
	app, err := c.ApplicationSubscribe(ctx, "endpoint:PJSIP/1001", "channel:"+call.ID())
	must(t, err)
	if !slices.Contains(app.EndpointIDs, "PJSIP/1001") || !slices.Contains(app.ChannelIDs, call.ID()) {
		t.Fatalf("subscribed app %+v", app)
	}
	if _, err := c.ApplicationSubscribe(ctx, "channel:missing"); !ari.IsUnprocessable(err) {
		t.Fatalf("subscribe missing: %v", err)
	}
	_, err = c.ApplicationUnsubscribe(ctx, "endpoint:PJSIP/1001")
	must(t, err)
	if _, err := c.ApplicationUnsubscribe(ctx, "endpoint:PJSIP/1001"); !ari.IsConflict(err) {
		t.Fatalf("unsubscribe twice: %v", err)
	}
	got, err := c.ApplicationGet(ctx, "")
	must(t, err)
	if got.Name != "dargah" || len(got.EndpointIDs) != 0 {
		t.Fatalf("app %+v", got)
	}
	if _, err := c.ApplicationGet(ctx, "ghost"); !ari.IsNotFound(err) {
		t.Fatalf("ghost app: %v", err)
	}
}

// TestEveryOperationCovered checks, across one scripted session, that
// each operation the client offers reaches the double as the operation
// the description names, with no violation.
func TestEveryOperationCovered(t *testing.T) {
	t.Parallel()
	h := start(t, aritest.Config{ManualPlaybacks: true}, nil)
	ctx, c, srv := h.ctx, h.c, h.srv
	call := srv.NewCall("0912")
	waitEvent(t, h.ev, onChannel[*ari.StasisStart](call.ID()))
	id := call.ID()
	steps := []func() error{
		func() error { _, err := c.ChannelList(ctx); return err },
		func() error { _, err := c.ChannelGet(ctx, id); return err },
		func() error { return c.ChannelAnswer(ctx, id) },
		func() error { return c.ChannelRing(ctx, id) },
		func() error { return c.ChannelRingStop(ctx, id) },
		func() error { return c.ChannelProgress(ctx, id) },
		func() error { return c.ChannelHold(ctx, id) },
		func() error { return c.ChannelUnhold(ctx, id) },
		func() error { return c.ChannelMOHStart(ctx, id, "") },
		func() error { return c.ChannelMOHStop(ctx, id) },
		func() error { return c.ChannelSilenceStart(ctx, id) },
		func() error { return c.ChannelSilenceStop(ctx, id) },
		func() error { return c.ChannelMute(ctx, id, "") },
		func() error { return c.ChannelUnmute(ctx, id, ari.DirectionOut) },
		func() error {
			return c.ChannelSendDTMF(ctx, id, ari.DTMFRequest{DTMF: "9", Before: 10, Between: 10, After: 10})
		},
		func() error {
			_, err := c.ChannelPlay(ctx, id, ari.PlayRequest{Media: []string{"sound:x"}, PlaybackID: "p1"})
			return err
		},
		func() error { _, err := c.PlaybackGet(ctx, "p1"); return err },
		func() error { return c.PlaybackControl(ctx, "p1", ari.PlaybackPause) },
		func() error { return c.PlaybackStop(ctx, "p1") },
		func() error {
			_, err := c.ChannelRecord(ctx, id, ari.RecordRequest{Name: "rec", Format: "wav"})
			return err
		},
		func() error { _, err := c.LiveRecordingGet(ctx, "rec"); return err },
		func() error { return c.LiveRecordingStop(ctx, "rec") },
		func() error {
			_, err := c.ChannelRecord(ctx, id, ari.RecordRequest{Name: "rec2", Format: "wav"})
			return err
		},
		func() error { return c.LiveRecordingCancel(ctx, "rec2") },
		func() error { _, err := c.StoredRecordingList(ctx); return err },
		func() error { _, err := c.StoredRecordingGet(ctx, "rec"); return err },
		func() error { _, err := c.StoredRecordingCopy(ctx, "rec", "rec-b"); return err },
		func() error { _, _, err := c.StoredRecordingFile(ctx, "rec", &bytes.Buffer{}); return err },
		func() error { return c.StoredRecordingDelete(ctx, "rec-b") },
		func() error { return c.ChannelSetVar(ctx, id, "A", "1") },
		func() error { _, err := c.ChannelVar(ctx, id, "A"); return err },
		func() error { _, err := c.ChannelSnoop(ctx, id, ari.SnoopRequest{Whisper: "out"}); return err },
		func() error { return c.ChannelRedirect(ctx, id, "PJSIP/1") },
		func() error { return c.ChannelMove(ctx, id, "other", "") },
		func() error {
			_, err := c.ChannelOriginate(ctx, ari.OriginateRequest{Endpoint: "PJSIP/2", Context: "agents", Extension: "2", Priority: 1})
			return err
		},
		func() error {
			_, err := c.ChannelOriginate(ctx, ari.OriginateRequest{Endpoint: "PJSIP/3", ChannelID: "o3"})
			return err
		},
		func() error {
			_, err := c.ChannelCreate(ctx, ari.CreateRequest{Endpoint: "PJSIP/4", ChannelID: "c4"})
			return err
		},
		func() error { return c.ChannelDial(ctx, "c4", id, 0) },
		func() error {
			_, err := c.BridgeCreate(ctx, ari.BridgeCreateRequest{Type: []string{ari.BridgeHolding}, Name: "q"})
			return err
		},
		func() error { _, err := c.BridgeCreate(ctx, ari.BridgeCreateRequest{ID: "b1"}); return err },
		func() error { _, err := c.BridgeList(ctx); return err },
		func() error { _, err := c.BridgeGet(ctx, "b1"); return err },
		func() error {
			return c.BridgeAddChannel(ctx, "b1", ari.AddChannelRequest{Channels: []string{id}, AbsorbDTMF: new(true), Mute: new(false)})
		},
		func() error { return c.BridgeMOHStart(ctx, "b1", "x") },
		func() error { return c.BridgeMOHStop(ctx, "b1") },
		func() error {
			_, err := c.BridgePlay(ctx, "b1", ari.PlayRequest{Media: []string{"tone:ring"}})
			return err
		},
		func() error {
			_, err := c.BridgeRecord(ctx, "b1", ari.RecordRequest{Name: "brec", Format: "wav"})
			return err
		},
		func() error { return c.BridgeRemoveChannel(ctx, "b1", id) },
		func() error { return c.BridgeDestroy(ctx, "b1") },
		func() error { _, err := c.Ping(ctx); return err },
		func() error { _, err := c.Info(ctx); return err },
		func() error { _, err := c.ApplicationList(ctx); return err },
		func() error { _, err := c.ApplicationGet(ctx, ""); return err },
		func() error { _, err := c.ApplicationSubscribe(ctx, "bridge:"+"nope"); _ = err; return nil },
		func() error { _, err := c.ApplicationSubscribe(ctx, "deviceState:Stasis:x"); return err },
		func() error { _, err := c.ApplicationUnsubscribe(ctx, "deviceState:Stasis:x"); return err },
		func() error { return c.ChannelContinue(ctx, id, "", "", 0, "") },
		func() error { return c.ChannelHangup(ctx, id, "") },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	if v := srv.Violations(); len(v) != 0 {
		t.Fatalf("violations: %v", v)
	}
	seen := map[string]bool{}
	for _, r := range srv.Requests() {
		seen[r.Op] = true
	}
	want := []string{
		"channels.list", "channels.get", "channels.originate", "channels.originateWithId", "channels.create",
		"channels.dial", "channels.hangup", "channels.answer", "channels.ring", "channels.ringStop",
		"channels.progress", "channels.hold", "channels.unhold", "channels.startMoh", "channels.stopMoh",
		"channels.startSilence", "channels.stopSilence", "channels.mute", "channels.unmute", "channels.sendDTMF",
		"channels.play", "channels.record", "channels.getChannelVar", "channels.setChannelVar",
		"channels.snoopChannel", "channels.continueInDialplan", "channels.move", "channels.redirect",
		"bridges.list", "bridges.create", "bridges.createWithId", "bridges.get", "bridges.destroy",
		"bridges.addChannel", "bridges.removeChannel", "bridges.startMoh", "bridges.stopMoh", "bridges.play",
		"bridges.record", "playbacks.get", "playbacks.stop", "playbacks.control", "recordings.getLive",
		"recordings.stop", "recordings.cancel", "recordings.listStored", "recordings.getStored",
		"recordings.deleteStored", "recordings.copyStored", "recordings.getStoredFile", "asterisk.ping",
		"asterisk.getInfo", "applications.list", "applications.get", "applications.subscribe",
		"applications.unsubscribe", "events.eventWebsocket",
	}
	var missing []string
	for _, op := range want {
		if !seen[op] {
			missing = append(missing, op)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatalf("operations never exercised: %v", missing)
	}
}

// TestValidatorCatchesForbiddenRequests proves the double fails a test
// whose client sends what the description forbids: the violations are
// recorded through the hook instead of t.Errorf here.
func TestValidatorCatchesForbiddenRequests(t *testing.T) {
	t.Parallel()
	var (
		mu  sync.Mutex
		got []aritest.Violation
	)
	h := start(t, aritest.Config{OnViolation: func(v aritest.Violation) {
		mu.Lock()
		got = append(got, v)
		mu.Unlock()
	}}, nil)
	call := h.srv.NewCall("0913")
	waitEvent(t, h.ev, onChannel[*ari.StasisStart](call.ID()))
	take := func() []aritest.Violation {
		mu.Lock()
		defer mu.Unlock()
		out := got
		got = nil
		return out
	}
	t.Run("hangup reason outside allowableValues", func(t *testing.T) {
		err := h.c.ChannelHangup(h.ctx, call.ID(), "because")
		if !ari.IsBadRequest(err) {
			t.Fatalf("err = %v", err)
		}
		vs := take()
		if len(vs) != 1 || vs[0].Op != "channels.hangup" || !strings.Contains(vs[0].Reason, `"reason"="because"`) {
			t.Fatalf("violations %+v", vs)
		}
	})
	t.Run("negative skipms", func(t *testing.T) {
		_, err := h.c.ChannelPlay(h.ctx, call.ID(), ari.PlayRequest{Media: []string{"sound:x"}, SkipMS: -1})
		if err != nil {
			t.Fatalf("err = %v", err)
		}
		// channels.json gives no range for skipms on channels (only on
		// bridges), so this one is Asterisk-valid: no violation.
		if vs := take(); len(vs) != 0 {
			t.Fatalf("violations %+v", vs)
		}
	})
	t.Run("bridge play negative skipms", func(t *testing.T) {
		_, err := h.c.BridgeCreate(h.ctx, ari.BridgeCreateRequest{ID: "bv"})
		must(t, err)
		_, err = h.c.BridgePlay(h.ctx, "bv", ari.PlayRequest{Media: []string{"sound:x"}, SkipMS: -1})
		if !ari.IsBadRequest(err) {
			t.Fatalf("err = %v", err)
		}
		vs := take()
		if len(vs) != 1 || !strings.Contains(vs[0].Reason, "below minimum 0") {
			t.Fatalf("violations %+v", vs)
		}
	})
	t.Run("record without format", func(t *testing.T) {
		_, err := h.c.ChannelRecord(h.ctx, call.ID(), ari.RecordRequest{Name: "x"})
		if !ari.IsBadRequest(err) {
			t.Fatalf("err = %v", err)
		}
		vs := take()
		if len(vs) != 1 || !strings.Contains(vs[0].Reason, `missing required parameter "format"`) {
			t.Fatalf("violations %+v", vs)
		}
	})
	t.Run("unknown bridge type", func(t *testing.T) {
		_, err := h.c.BridgeCreate(h.ctx, ari.BridgeCreateRequest{Type: []string{"karaoke"}})
		if !ari.IsBadRequest(err) {
			t.Fatalf("err = %v", err)
		}
		if vs := take(); len(vs) != 1 {
			t.Fatalf("violations %+v", vs)
		}
	})
}

func TestErrorsAndAuth(t *testing.T) {
	t.Parallel()
	h := start(t, aritest.Config{}, nil)
	_, err := h.c.ChannelGet(h.ctx, "no-such")
	var e *ari.Error
	if !errors.As(err, &e) || e.Status != 404 || e.Message != "Channel not found" || !ari.IsNotFound(err) {
		t.Fatalf("err = %#v", err)
	}
	if !strings.Contains(err.Error(), "GET /channels/no-such: 404 Channel not found") {
		t.Fatalf("message %q", err)
	}
	// Ids are path-escaped.
	if _, err := h.c.ChannelGet(h.ctx, "a/b c"); !ari.IsNotFound(err) {
		t.Fatalf("escaped id: %v", err)
	}
	if r := h.srv.Requests(); r[len(r)-1].Path != "/channels/a/b c" {
		t.Fatalf("path seen %q", r[len(r)-1].Path)
	}

	bad, err := ari.New(ari.Config{URL: h.srv.URL(), Username: "dargah", Password: "wrong", App: "dargah"})
	must(t, err)
	if _, err := bad.Ping(h.ctx); !ari.IsUnauthorized(err) {
		t.Fatalf("rest with bad password: %v", err)
	}
	if err := bad.Connect(h.ctx); !ari.IsUnauthorized(err) {
		t.Fatalf("connect with bad password: %v", err)
	}
	if _, ok := <-bad.Events(); ok {
		t.Fatal("events open after failed connect")
	}
	for _, cfg := range []ari.Config{
		{},
		{URL: "ftp://x", Username: "a", Password: "b", App: "c"},
		{URL: "http://x:8088", Password: "b", App: "c"},
		{URL: "http://x:8088", Username: "a", Password: "b"},
		{URL: "http://x:8088", Username: "a", Password: "b", App: "c", ReconnectMin: time.Second, ReconnectMax: time.Millisecond},
	} {
		if _, err := ari.New(cfg); err == nil {
			t.Errorf("config %+v accepted", cfg)
		}
	}
}

func TestDebugLogging(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	h := start(t, aritest.Config{}, func(c *ari.Config) {
		c.Logger = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	_, err := h.c.ChannelList(h.ctx)
	must(t, err)
	out := buf.String()
	if !strings.Contains(out, "ari request") || !strings.Contains(out, "path=/channels") || !strings.Contains(out, "status=200") {
		t.Fatalf("log = %s", out)
	}
	if strings.Contains(out, h.srv.Password()) {
		t.Fatal("password in log")
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
