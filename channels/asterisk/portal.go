// Package asterisk is the 137 telephony portal: Dargah drives Asterisk
// through ARI (channels/asterisk/ari) and does the queueing itself with the
// skill-based ACD of routing/acd.
//
// A call: StasisStart → answer → greeting → language menu (the choice is
// the caller's language skill) → service menu tree (queue, case status by
// tracking code, voicemail, FAQ playback). Queued callers wait in a holding
// bridge with music on hold and hear their position; the Dispatcher picks
// the longest idle agent with the skills, whose endpoint is originated; on
// answer caller and agent share a mixing bridge. An agent who does not
// answer is skipped (a miss) and the next one tried. After the queue's max
// wait the caller may leave a voicemail (a gateway.Message with the audio
// attached, so a case) or ask for a callback that keeps their place. Outside
// working hours callers go to voicemail.
//
// Agents work through a REST API under /api/v1/agents (login, logout, state,
// call outcome) and a WebSocket feed per agent with the screen pop; queue
// numbers are at GET /api/v1/queues. Both need the bearer token named by
// agent_token_env.
//
//	portals:
//	  - name: phone-137
//	    type: asterisk
//	    url: http://127.0.0.1:8088
//	    username: dargah
//	    password_env: DARGAH_ARI_PASSWORD
//	    app: dargah
//	    agent_token_env: DARGAH_AGENT_TOKEN
//	    sounds: "sound:dargah/"
//	    languages: {"1": fa, "2": ar, "3": ur, "4": en}
//	    callback_endpoint: "PJSIP/{number}@trunk"
//	    menu:
//	      prompt: main-menu
//	      options:
//	        "1": {queue: asphalt}
//	        "2": {case_status: true}
//	        "3": {voicemail: true}
//	        "4": {faq: faq-hours}
//	    queues:
//	      - name: asphalt
//	        skills: {asphalt: 1}
//	        language_level: 1
//	        ring_timeout: 20s
//	        max_wait: 5m
//	        on_max_wait: callback
//	    agents:
//	      - {id: a101, name: Zahra, endpoint: PJSIP/101, skills: {fa: 5, asphalt: 3}}
//	    hours:
//	      timezone: Asia/Tehran
//	      open:
//	        - {days: [sat, sun, mon, tue, wed], from: "07:00", to: "22:00"}
//
// Prompts are sound files under the sounds prefix, in the caller's language
// (Asterisk picks the file by the playback's lang): welcome, language-menu,
// the menu prompts and faq sounds named in config, invalid, enter-code,
// code-invalid, code-unknown, status-intro, status-<case status> (e.g.
// status-open), try-later, queue-position (followed by number:N),
// max-wait-offer ("1 callback, 2 voicemail"), callback-ok, voicemail-intro,
// voicemail-saved (followed by digits:<tracking code>) and closed. Tracking
// codes are read back with "digits:NNN".
//
// Faults: when the event WebSocket comes back (a network cut or an Asterisk
// restart) the portal lists channels and bridges again: calls whose channel
// is gone end (abandoned, their agent released), callers still in the
// holding bridge stay queued, agent legs that were answered meanwhile are
// bridged, and Stasis channels of this app nobody owns are taken in as new
// calls.
package asterisk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/dargah137/dargah/channels"
	"github.com/dargah137/dargah/channels/asterisk/ari"
	"github.com/dargah137/dargah/routing/acd"
	"github.com/dargah137/dargah/routing/acd/mempool"
	"github.com/dargah137/dargah/routing/acd/redispool"
)

func init() {
	channels.Register("asterisk", func() channels.Adapter { return &Portal{} })
}

// claimPool makes the agent pool under prefix this portal's. Every
// instance of the portal shares it; another phone portal (a second line,
// on its own Asterisk) must not, or both lines would ring the same agents
// at endpoints only one of them can reach.
func claimPool(ctx context.Context, rdb *redis.Client, prefix, portal string) error {
	key := prefix + "line"
	if err := rdb.SetNX(ctx, key, portal, 0).Err(); err != nil {
		return fmt.Errorf("claim %s: %w", key, err)
	}
	owner, err := rdb.Get(ctx, key).Result()
	if err != nil {
		return fmt.Errorf("claim %s: %w", key, err)
	}
	if owner != portal {
		return fmt.Errorf("prefix %q is the agent pool of portal %q; give each phone portal a prefix of its own "+
			"(if %q was renamed to %q, delete the Redis key %s)", prefix, owner, owner, portal, key)
	}
	return nil
}

// Portal is one configured telephony portal.
type Portal struct {
	set Settings

	env   channels.Env
	log   *slog.Logger
	now   func() time.Time
	pool  *ari.Pool
	disp  *acd.Dispatcher
	agnts acd.AgentPool
	rdb   *redis.Client // the agent pool's, when in Redis
	feeds *hub
	token string

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	kick   chan struct{}

	holdMu sync.Mutex // serializes making holding bridges
	mu     sync.Mutex
	calls  map[string]*session // caller channel id (= call id) → session
	legs   map[string]*session // agent and callback channel id → session
	// gen orders sessions and legs against snapshots: only what existed
	// before a snapshot was asked for can be missing from it.
	gen      atomic.Uint64
	legBorn  map[string]uint64
	holding  map[string]string // server name → holding bridge id
	parked   []parkedCallback  // callback tasks a stop keeps for the next Dargah
	records  map[string]callRecord
	stopping bool
}

// Settings implements channels.Adapter.
func (p *Portal) Settings() any { return &p.set }

// Validate implements channels.Adapter.
func (p *Portal) Validate() error { return p.set.Validate() }

// Start connects to every Asterisk server in the background (Asterisk may
// be down; calls arrive once it is up), mounts the agents' API and starts
// routing.
func (p *Portal) Start(ctx context.Context, env channels.Env) error {
	if err := p.set.Validate(); err != nil {
		return err
	}
	p.env = env
	p.log = env.Logger
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	p.now = env.Now
	if p.now == nil {
		p.now = time.Now
	}
	if env.Intake == nil {
		return errors.New("asterisk: env.Intake is required")
	}
	if p.set.AgentTokenEnv != "" {
		p.token = os.Getenv(p.set.AgentTokenEnv)
		if p.token == "" {
			return fmt.Errorf("agent_token_env: environment variable %s is empty", p.set.AgentTokenEnv)
		}
	}
	var clients []*ari.Client
	for _, sv := range p.set.Servers {
		pw, err := sv.password()
		if err != nil {
			return err
		}
		c, err := ari.New(ari.Config{URL: sv.URL, Username: sv.Username, Password: pw, App: p.set.App,
			Name: sv.Name, Logger: p.log.With("asterisk", sv.Name), EventBuffer: 1024})
		if err != nil {
			return fmt.Errorf("server %s: %w", sv.Name, err)
		}
		clients = append(clients, c)
	}
	pool, err := ari.NewPool(clients...)
	if err != nil {
		return err
	}
	if ap := p.set.AgentPool; ap != nil {
		u := ap.RedisURL
		if ap.RedisURLEnv != "" {
			if u = os.Getenv(ap.RedisURLEnv); u == "" {
				return fmt.Errorf("agent_pool.redis_url_env: environment variable %s is empty", ap.RedisURLEnv)
			}
		}
		opt, err := redis.ParseURL(u)
		if err != nil {
			return fmt.Errorf("agent_pool: %w", err)
		}
		p.rdb = redis.NewClient(opt)
		if err := claimPool(ctx, p.rdb, ap.Prefix, env.Portal); err != nil {
			p.rdb.Close()
			return fmt.Errorf("agent_pool: %w", err)
		}
		if p.agnts, err = redispool.New(p.rdb, redispool.Config{Prefix: ap.Prefix, Now: p.now}); err != nil {
			p.rdb.Close()
			return fmt.Errorf("agent_pool: %w", err)
		}
	} else {
		p.agnts = mempool.New(p.now)
	}
	p.disp, err = acd.New(acd.Options{Pool: p.agnts, Now: p.now, Logger: p.log,
		Config: acd.Config{DefaultLanguage: p.set.DefaultLanguage, Queues: p.set.Queues}})
	if err != nil {
		if p.rdb != nil {
			p.rdb.Close()
		}
		return fmt.Errorf("queues: %w", err)
	}
	p.pool = pool
	p.feeds = newHub()
	p.calls, p.legs, p.holding, p.records = map[string]*session{}, map[string]*session{}, map[string]string{}, map[string]callRecord{}
	p.legBorn = map[string]uint64{}
	p.kick = make(chan struct{}, 1)
	p.mountAPI(env.Mux)
	p.ctx, p.cancel = context.WithCancel(context.WithoutCancel(ctx))
	if err := pool.Start(); err != nil {
		p.cancel()
		return fmt.Errorf("start ari: %w", err)
	}
	p.wg.Add(3)
	go p.eventLoop()
	go p.dispatchLoop()
	go p.adoptLoop()
	return nil
}

// Stop leaves callers waiting in a queue on hold, conversations with
// agents connected and callers in the menu listening to music, for the
// next Dargah to take over (Settings.HandoffWait bounds how long they wait
// for one), and parks callback tasks in the KV (callbacks.go); it hangs
// up the other calls in progress (a voicemail being recorded is kept),
// closes the ARI connections and waits for the call goroutines, bounded
// by ctx.
func (p *Portal) Stop(ctx context.Context) error {
	if p.cancel == nil {
		return nil
	}
	p.mu.Lock()
	p.stopping = true
	p.mu.Unlock()
	p.cancel()
	done := make(chan struct{})
	go func() { p.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = fmt.Errorf("asterisk: calls did not end in time: %w", ctx.Err())
	}
	err = errors.Join(err, p.saveParked(ctx))
	err = errors.Join(err, p.pool.Close())
	if p.rdb != nil {
		err = errors.Join(err, p.rdb.Close())
	}
	return err
}

// isStopping reports whether Stop has begun.
func (p *Portal) isStopping() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stopping
}

// Dispatcher exposes the ACD, e.g. to register its Prometheus collector
// (Dispatcher().Register(reg)) where the host has a registry.
func (p *Portal) Dispatcher() *acd.Dispatcher { return p.disp }

func (p *Portal) kickDispatch() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// eventLoop hands every ARI event to the call it belongs to. It never
// blocks on a call: each session has an unbounded inbox.
func (p *Portal) eventLoop() {
	defer p.wg.Done()
	connected := map[string]bool{}
	events := p.pool.Events()
	for {
		var ev ari.Event
		select {
		case <-p.ctx.Done():
			return
		case e, ok := <-events:
			if !ok {
				return
			}
			ev = e
		}
		server := ev.Base().Server
		switch e := ev.(type) {
		case *ari.Connected:
			// A first connection may follow an earlier life of this
			// process (or another instance) with calls still up.
			if !connected[server] {
				connected[server] = true
				p.spawn(func() { p.reconcile(server) })
			}
		case *ari.Reconnected:
			p.log.Warn("ari reconnected; rebuilding call state", "server", server, "down", e.Down)
			p.spawn(func() { p.reconcile(server) })
		case *ari.StasisStart:
			p.stasisStart(server, e)
		default:
			id := ari.ChannelOf(ev)
			if id == "" {
				continue
			}
			p.mu.Lock()
			s := p.calls[id]
			if s == nil {
				s = p.legs[id]
			}
			p.mu.Unlock()
			if s != nil {
				s.inbox.put(ev)
			}
		}
	}
}

func (p *Portal) spawn(f func()) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer func() {
			if r := recover(); r != nil {
				p.log.Error("asterisk: panic in call handling", "panic", r)
			}
		}()
		f()
	}()
}

// stasisStart starts a call for a channel entering the app, or hands an
// answered agent/callback leg to its call.
func (p *Portal) stasisStart(server string, e *ari.StasisStart) {
	id := e.Channel.ID
	if len(e.Args) >= 2 && (e.Args[0] == argAgent || e.Args[0] == argCallback) {
		p.mu.Lock()
		s := p.legs[id]
		p.mu.Unlock()
		if s != nil {
			s.inbox.put(e)
			return
		}
		// A leg of a call this process no longer knows: nobody to talk to.
		p.hangupOn(server, id, ari.HangupNormal)
		return
	}
	p.adopt(server, e.Channel, false)
}

// adopt starts a session for an incoming channel. resumed marks one taken
// in after a reconnect (it may have been answered already).
func (p *Portal) adopt(server string, ch ari.Channel, resumed bool) {
	cli := p.pool.Client(server)
	if cli == nil {
		return
	}
	p.mu.Lock()
	if p.calls[ch.ID] != nil || p.stopping {
		stopping := p.stopping
		p.mu.Unlock()
		if stopping {
			p.hangupOn(server, ch.ID, ari.HangupCongestion)
		}
		return
	}
	s := newSession(p, cli, ch)
	s.born = p.gen.Add(1)
	p.calls[ch.ID] = s
	p.mu.Unlock()
	p.pool.Remember(cli, ch.ID)
	p.spawn(func() { s.run(p.ctx, resumed) })
}

func (p *Portal) hangupOn(server, id, reason string) {
	if cli := p.pool.Client(server); cli != nil {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(p.ctx), 5*time.Second)
		defer cancel()
		if err := cli.ChannelHangup(ctx, id, reason); err != nil && !ari.IsNotFound(err) {
			p.log.Warn("hang up stray channel", "channel", id, "err", err)
		}
	}
}

// endSession forgets a call and its legs.
func (p *Portal) endSession(s *session) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.calls[s.id] == s {
		delete(p.calls, s.id)
	}
	for id, o := range p.legs {
		if o == s {
			delete(p.legs, id)
			delete(p.legBorn, id)
		}
	}
}

func (p *Portal) addLeg(id string, s *session) {
	p.mu.Lock()
	p.legs[id] = s
	p.legBorn[id] = p.gen.Add(1)
	p.mu.Unlock()
}

func (p *Portal) dropLeg(id string) {
	p.mu.Lock()
	delete(p.legs, id)
	delete(p.legBorn, id)
	p.mu.Unlock()
}

// reconcile rebuilds the view of one server after its WebSocket came back:
// events in between were lost, the channels and bridges are the truth.
func (p *Portal) reconcile(server string) {
	cli := p.pool.Client(server)
	if cli == nil {
		return
	}
	ctx, cancel := context.WithTimeout(p.ctx, 15*time.Second)
	defer cancel()
	cut := p.gen.Add(1)
	st, err := cli.Snapshot(ctx)
	if err != nil {
		p.log.Error("snapshot after reconnect", "server", server, "err", err)
		return
	}
	live := map[string]ari.Channel{}
	for _, ch := range st.Channels {
		live[ch.ID] = ch
	}
	bridges := map[string]bool{}
	for _, b := range st.Bridges {
		bridges[b.ID] = true
	}
	p.mu.Lock()
	if h, ok := p.holding[server]; ok && !bridges[h] {
		delete(p.holding, server) // Asterisk restarted: made again on demand
	}
	var gone []*session
	for id, s := range p.calls {
		if s.cli == cli && s.born < cut && !s.callbackTask() {
			if _, ok := live[id]; !ok {
				gone = append(gone, s)
			}
		}
	}
	type legState struct {
		s  *session
		id string
		ch ari.Channel
		ok bool
	}
	var legs []legState
	for id, s := range p.legs {
		if s.cli == cli && p.legBorn[id] < cut {
			ch, ok := live[id]
			legs = append(legs, legState{s, id, ch, ok})
		}
	}
	var strays []ari.Channel
	for id, ch := range live {
		if p.calls[id] == nil && p.legs[id] == nil {
			strays = append(strays, ch)
		}
	}
	p.mu.Unlock()

	for _, s := range gone {
		s.inbox.put(msgGone{})
	}
	for _, l := range legs {
		l.s.inbox.put(msgLegState{id: l.id, alive: l.ok, up: l.ok && l.ch.State == ari.StateUp})
	}
	for _, ch := range strays {
		app, args, _ := strings.Cut(ch.Dialplan.AppData, ",")
		if ch.Dialplan.AppName != "Stasis" || app != p.set.App {
			continue // not ours: another application's channel
		}
		if strings.HasPrefix(args, argAgent+",") || strings.HasPrefix(args, argCallback+",") || strings.Contains(ch.ID, legMark) {
			if call, ok := strings.CutPrefix(args, argAgent+","); ok && live[call].ID != "" {
				// An agent in conversation with a caller still here: the
				// caller's session takes the leg over (talkOn).
				if t, err := cli.ChannelVar(ctx, call, varTalk); err == nil && strings.HasPrefix(t, ch.ID+",") {
					continue
				}
			}
			p.hangupOn(server, ch.ID, ari.HangupNormal) // a leg whose call is gone
			continue
		}
		p.log.Info("taking in a call found after reconnect", "channel", ch.ID)
		p.adopt(server, ch, true)
	}
}

// dispatchLoop matches queued calls to agents whenever something changed,
// and at least every 250 ms (widening and max wait depend on time).
func (p *Portal) dispatchLoop() {
	defer p.wg.Done()
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	n := 0
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-p.kick:
		case <-t.C:
			n++
			if n%8 == 0 {
				if err := p.disp.Sync(p.ctx); err != nil && p.ctx.Err() == nil {
					p.log.Warn("acd sync", "err", err)
				}
			}
		}
		as, err := p.disp.Dispatch(p.ctx)
		if err != nil && p.ctx.Err() == nil {
			p.log.Warn("acd dispatch", "err", err)
		}
		for _, a := range as {
			p.mu.Lock()
			s := p.calls[a.Call.ID]
			p.mu.Unlock()
			if s == nil {
				// The call ended between Enqueue and now: free the agent.
				_, _ = p.disp.Abandon(p.ctx, a.Call.ID)
				continue
			}
			s.inbox.put(msgAssigned{a})
		}
		for _, c := range p.disp.Overdue() {
			p.mu.Lock()
			s := p.calls[c.ID]
			p.mu.Unlock()
			if s != nil {
				s.inbox.put(msgOverdue{})
			}
		}
	}
}

var _ channels.Adapter = (*Portal)(nil)
