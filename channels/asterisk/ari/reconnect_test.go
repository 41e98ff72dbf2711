package ari_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/dargah137/dargah/channels/asterisk/ari"
	"github.com/dargah137/dargah/channels/asterisk/aritest"
)

// TestReconnectRebuildsState: the socket drops while calls are up, an
// event is lost meanwhile, and after Reconnected the client rebuilds from
// GET /channels and /bridges: the live call kept its id, the one that
// ended is gone, and the app goes on driving the live call.
func TestReconnectRebuildsState(t *testing.T) {
	t.Parallel()
	h := start(t, aritest.Config{}, nil)
	ctx, c, srv := h.ctx, h.c, h.srv
	a := srv.NewCall("09110000001")
	b := srv.NewCall("09110000002")
	waitEvent(t, h.ev, onChannel[*ari.StasisStart](a.ID()))
	waitEvent(t, h.ev, onChannel[*ari.StasisStart](b.ID()))
	_, err := c.BridgeCreate(ctx, ari.BridgeCreateRequest{ID: "hold-1", Type: []string{ari.BridgeHolding}})
	must(t, err)
	must(t, c.BridgeAddChannel(ctx, "hold-1", ari.AddChannelRequest{Channels: []string{a.ID()}}))
	waitEvent(t, h.ev, onChannel[*ari.ChannelEnteredBridge](a.ID()))

	srv.SetUnavailable(true) // drops the socket and refuses handshakes
	d := waitEvent[*ari.Disconnected](t, h.ev, nil)
	if d.Err == nil || d.Server != "ast1" {
		t.Fatalf("disconnected = %+v", d)
	}
	// While down: b's caller hangs up. Asterisk has no socket to tell.
	b.Hangup()
	evs := srv.Events()
	last := evs[len(evs)-1]
	if last.Type != "StasisEnd" || last.Channel != b.ID() || last.Delivered {
		t.Fatalf("last server event = %+v", last)
	}
	// The client keeps retrying against 503s until the server is back.
	srv.Wait("a refused handshake", func() bool {
		for _, r := range srv.Requests() {
			if r.Status == 503 && r.Path == "/events" {
				return true
			}
		}
		return false
	})
	srv.SetUnavailable(false)
	rc := waitEvent[*ari.Reconnected](t, h.ev, nil)
	if rc.Attempts < 2 || rc.Down <= 0 || rc.Server != "ast1" {
		t.Fatalf("reconnected = %+v", rc)
	}
	if !c.Connected() || srv.Connects() != 2 {
		t.Fatalf("connected=%v connects=%d", c.Connected(), srv.Connects())
	}

	st, err := c.Snapshot(ctx)
	must(t, err)
	chans, bridges := st.Channels, st.Bridges
	if len(chans) != 1 || chans[0].ID != a.ID() {
		t.Fatalf("channels after reconnect = %+v", chans)
	}
	if len(bridges) != 1 || !slices.Equal(bridges[0].Channels, []string{a.ID()}) || bridges[0].BridgeType != "holding" {
		t.Fatalf("bridges after reconnect = %+v", bridges)
	}
	for _, ev := range h.ev.all() {
		if e, ok := ev.(*ari.StasisEnd); ok && e.Channel.ID == b.ID() {
			t.Fatal("client got an event sent while it was disconnected")
		}
	}
	// Nothing lost for the live call: it is still driven by id.
	must(t, c.ChannelAnswer(ctx, a.ID()))
	sc := waitEvent(t, h.ev, onChannel[*ari.ChannelStateChange](a.ID()))
	if sc.Channel.State != ari.StateUp {
		t.Fatalf("state %s", sc.Channel.State)
	}
}

func TestDropWebSocketReconnects(t *testing.T) {
	t.Parallel()
	h := start(t, aritest.Config{}, nil)
	for i := range 3 {
		h.srv.DropWebSocket()
		waitEvent[*ari.Disconnected](t, h.ev, nil)
		waitEvent[*ari.Reconnected](t, h.ev, nil)
		call := h.srv.NewCall("0912")
		waitEvent(t, h.ev, onChannel[*ari.StasisStart](call.ID()))
		if got := h.srv.Connects(); got != i+2 {
			t.Fatalf("connects = %d", got)
		}
	}
}

func TestRestartLosesCalls(t *testing.T) {
	t.Parallel()
	h := start(t, aritest.Config{}, func(c *ari.Config) { c.SubscribeAll = true })
	if q := h.srv.RequestsFor("events.eventWebsocket")[0].Query; q.Get("subscribeAll") != "true" || q.Get("app") != "dargah" {
		t.Fatalf("handshake query %v", q)
	}
	call := h.srv.NewCall("0913")
	waitEvent(t, h.ev, onChannel[*ari.StasisStart](call.ID()))
	h.srv.AddStoredRecording("greeting", "wav", []byte("RIFF"))
	h.srv.Restart()
	waitEvent[*ari.Reconnected](t, h.ev, nil)
	chans, err := h.c.ChannelList(h.ctx)
	must(t, err)
	if len(chans) != 0 {
		t.Fatalf("channels after restart %+v", chans)
	}
	if _, err := h.c.ChannelGet(h.ctx, call.ID()); !ari.IsNotFound(err) {
		t.Fatalf("old call: %v", err)
	}
	if _, err := h.c.StoredRecordingGet(h.ctx, "greeting"); err != nil {
		t.Fatalf("stored recording lost on restart: %v", err)
	}
}

func TestApplicationReplaced(t *testing.T) {
	t.Parallel()
	h := start(t, aritest.Config{}, nil)
	c2, err := ari.New(ari.Config{URL: h.srv.URL(), Username: "dargah", Password: "secret", App: "dargah", Name: "second"})
	must(t, err)
	must(t, c2.Connect(h.ctx))
	t.Cleanup(func() { _ = c2.Close() })
	ev2 := collect(c2.Events())
	ar := waitEvent[*ari.ApplicationReplaced](t, h.ev, nil)
	if ar.Application != "dargah" {
		t.Fatalf("replaced = %+v", ar)
	}
	call := h.srv.NewCall("0914")
	ss := waitEvent(t, ev2, onChannel[*ari.StasisStart](call.ID()))
	if ss.Server != "second" {
		t.Fatalf("server %q", ss.Server)
	}
}

func TestCloseAndConnectTwice(t *testing.T) {
	t.Parallel()
	h := start(t, aritest.Config{}, nil)
	if err := h.c.Connect(h.ctx); err == nil {
		t.Fatal("second Connect accepted")
	}
	must(t, h.c.Close())
	must(t, h.c.Close()) // idempotent
	if err := h.c.Connect(h.ctx); !errors.Is(err, ari.ErrClosed) {
		t.Fatalf("connect after close: %v", err)
	}
	h.srv.Wait("socket closed", func() bool { return h.srv.Connections() == 0 })
	for range h.c.Events() {
	}
	// REST still works after Close.
	_, err := h.c.Ping(h.ctx)
	must(t, err)

	// A client never connected closes cleanly too.
	c, err := ari.New(ari.Config{URL: h.srv.URL(), Username: "a", Password: "b", App: "x"})
	must(t, err)
	must(t, c.Close())
	if _, ok := <-c.Events(); ok {
		t.Fatal("events open")
	}
}

func TestConnectGivesUpWithContext(t *testing.T) {
	t.Parallel()
	srv := aritest.New(t, aritest.Config{})
	srv.SetUnavailable(true)
	c, err := ari.New(ari.Config{URL: srv.URL(), Username: "dargah", Password: "secret", App: "dargah",
		ReconnectMin: time.Millisecond, ReconnectMax: 5 * time.Millisecond})
	must(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		srv.Wait("three refused handshakes", func() bool {
			n := 0
			for _, r := range srv.Requests() {
				if r.Status == 503 {
					n++
				}
			}
			return n >= 3
		})
		cancel()
	}()
	if err := c.Connect(ctx); err == nil {
		t.Fatal("connect succeeded against an unavailable server")
	}
}

// TestPool: two Asterisk servers; events carry their server, and calls
// about a channel are routed to the server that owns it.
func TestPool(t *testing.T) {
	t.Parallel()
	s1 := aritest.New(t, aritest.Config{AsteriskID: "52:54:00:00:00:01", SystemName: "ast-a"})
	s2 := aritest.New(t, aritest.Config{AsteriskID: "52:54:00:00:00:02", SystemName: "ast-b"})
	mk := func(s *aritest.Server, name string) *ari.Client {
		c, err := ari.New(ari.Config{URL: s.URL(), Username: s.Username(), Password: s.Password(), App: s.App(), Name: name,
			ReconnectMin: time.Millisecond, ReconnectMax: 10 * time.Millisecond})
		must(t, err)
		return c
	}
	c1, c2 := mk(s1, "ast1"), mk(s2, "ast2")
	if _, err := ari.NewPool(c1, mk(s2, "ast1")); err == nil {
		t.Fatal("duplicate names accepted")
	}
	p, err := ari.NewPool(c1, c2)
	must(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	must(t, p.Connect(ctx))
	ev := collect(p.Events())

	x := s1.NewCall("09150000001")
	y := s2.NewCall("09150000002")
	ex := waitEvent(t, ev, onChannel[*ari.StasisStart](x.ID()))
	ey := waitEvent(t, ev, onChannel[*ari.StasisStart](y.ID()))
	if ex.Server != "ast1" || ey.Server != "ast2" || ey.AsteriskID != "52:54:00:00:00:02" {
		t.Fatalf("servers %s/%s %s", ex.Server, ey.Server, ey.AsteriskID)
	}
	for _, tc := range []struct {
		id   string
		want *ari.Client
	}{{x.ID(), c1}, {y.ID(), c2}} {
		owner, err := p.ForChannel(ctx, tc.id)
		must(t, err)
		if owner != tc.want {
			t.Fatalf("%s routed to %s", tc.id, owner.Name())
		}
		must(t, owner.ChannelAnswer(ctx, tc.id))
	}
	if len(s1.RequestsFor("channels.answer")) != 1 || len(s2.RequestsFor("channels.answer")) != 1 {
		t.Fatal("answers not routed to the owning servers")
	}
	// A channel no event told us about: found by asking each server.
	made, err := c2.ChannelCreate(ctx, ari.CreateRequest{Endpoint: "PJSIP/2001"})
	must(t, err)
	owner, err := p.ForChannel(ctx, made.ID)
	must(t, err)
	if owner != c2 {
		t.Fatalf("probe found %s", owner.Name())
	}
	if _, err := p.ForChannel(ctx, "nowhere"); !ari.IsNotFound(err) {
		t.Fatalf("unknown channel: %v", err)
	}
	_, err = c1.BridgeCreate(ctx, ari.BridgeCreateRequest{ID: "b-on-1"})
	must(t, err)
	waitEvent(t, ev, func(e *ari.BridgeCreated) bool { return e.Bridge.ID == "b-on-1" })
	if bo, err := p.ForBridge(ctx, "b-on-1"); err != nil || bo != c1 {
		t.Fatalf("bridge owner %v %v", bo, err)
	}
	p.Remember(c1, "pre-known")
	if o, _ := p.ForChannel(ctx, "pre-known"); o != c1 {
		t.Fatal("Remember ignored")
	}
	// Pick spreads new calls over connected servers.
	if a, b := p.Pick(), p.Pick(); a == b {
		t.Fatal("Pick did not alternate")
	}
	if p.Client("ast2") != c2 || len(p.Clients()) != 2 {
		t.Fatal("lookup")
	}
	// One server's socket drops: its Reconnected says which server.
	s2.DropWebSocket()
	rc := waitEvent[*ari.Reconnected](t, ev, nil)
	if rc.Server != "ast2" {
		t.Fatalf("reconnected %s", rc.Server)
	}
	y.Hangup()
	waitEvent(t, ev, onChannel[*ari.StasisEnd](y.ID()))
	must(t, p.Close())
	for range p.Events() {
	}
}

// TestStartWhileServerDown: Start returns at once; Connected arrives when
// Asterisk comes up, and a pool keeps serving from the servers that are up.
func TestStartWhileServerDown(t *testing.T) {
	t.Parallel()
	up := aritest.New(t, aritest.Config{SystemName: "up"})
	down := aritest.New(t, aritest.Config{SystemName: "down"})
	down.SetUnavailable(true)
	mk := func(s *aritest.Server, name string) *ari.Client {
		c, err := ari.New(ari.Config{URL: s.URL(), Username: s.Username(), Password: s.Password(), App: s.App(), Name: name,
			ReconnectMin: time.Millisecond, ReconnectMax: 5 * time.Millisecond})
		must(t, err)
		return c
	}
	cu, cd := mk(up, "up"), mk(down, "down")
	p, err := ari.NewPool(cu, cd)
	must(t, err)
	must(t, p.Start())
	t.Cleanup(func() { _ = p.Close() })
	if err := p.Start(); err == nil {
		t.Fatal("second Start accepted")
	}
	ev := collect(p.Events())
	c := waitEvent[*ari.Connected](t, ev, nil)
	if c.Server != "up" {
		t.Fatalf("first connected %s", c.Server)
	}
	for range 4 {
		if p.Pick() != cu {
			t.Fatal("Pick chose a server that is down")
		}
	}
	call := up.NewCall("0917")
	waitEvent(t, ev, onChannel[*ari.StasisStart](call.ID()))
	down.Wait("refused handshakes", func() bool { return len(down.Requests()) >= 2 })
	down.SetUnavailable(false)
	c = waitEvent[*ari.Connected](t, ev, nil)
	if c.Server != "down" || !cd.Connected() {
		t.Fatalf("second connected %s", c.Server)
	}
}
