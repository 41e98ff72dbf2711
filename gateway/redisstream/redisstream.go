// Package redisstream is the gateway.Stream on Redis Streams (go-redis v9),
// for deployments where several Dargah instances share one Redis.
//
// Layout, for Config.Name N:
//
//	N              the stream; entry fields m (message JSON) and, on a
//	               replayed entry, g (the only group it is meant for)
//	N:retry:GROUP  hash entry id → unix ms before which a failed entry must
//	               not be retried
//	N:dead         the dead letters, a stream, oldest first
//
// Every group is a Redis consumer group created at "0", so it sees every
// retained entry, including those published before its first consumer ran.
// A delivered entry stays in the group's pending list until it is
// acknowledged; the list's delivery counter is the attempt number, so it
// survives a consumer changing hands. A failed entry is left pending with
// its idle time set (XCLAIM IDLE) so that it becomes claimable exactly when
// its retry delay ends; consumers periodically claim entries idle for longer
// than the claim timeout, which covers both retries and consumers that
// vanished. Decisions that must not race (retry, dead-letter, claim, replay,
// trim) run as Lua scripts.
//
// For Redis Cluster put a hash tag in Name (e.g. "dargah:{messages}") so
// the keys share a slot.
package redisstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/dargah137/dargah/gateway"
	"github.com/dargah137/dargah/internal/batch"
)

// ErrClosed is returned by a handle after Close.
var ErrClosed = errors.New("redisstream: stream closed")

// Config configures a Stream.
type Config struct {
	// Name is the key prefix, e.g. "dargah:messages"; required.
	Name string
	// Options are the shared stream options; zero fields get defaults.
	Options gateway.StreamOptions
	// Logger; discarded when nil.
	Logger *slog.Logger
	// BatchSize is how many new entries one read fetches (default 16).
	BatchSize int
	// Concurrency is how many entries of a read one consumer handles at
	// once (default 1). Entries of one conversation (same portal and
	// thread key) are still handled one after another, in stream order.
	// Handlers that mostly wait (for a batched commit, say) make more
	// progress side by side, and a read then serves several entries where
	// as many consumers would each read one.
	Concurrency int
}

// Validate reports settings that cannot work.
func (c Config) Validate() error {
	var errs []error
	if c.Name == "" {
		errs = append(errs, errors.New("name (the key prefix) is required"))
	}
	if c.BatchSize < 0 {
		errs = append(errs, fmt.Errorf("batch size %d is negative", c.BatchSize))
	}
	if c.Concurrency < 0 {
		errs = append(errs, fmt.Errorf("concurrency %d is negative", c.Concurrency))
	}
	if c.Options.MaxAttempts < 0 || c.Options.RetryDelay < 0 || c.Options.ClaimTimeout < 0 || c.Options.MaxLen < 0 {
		errs = append(errs, errors.New("stream options must not be negative"))
	}
	return errors.Join(errs...)
}

// Stream is a gateway.Stream on Redis. It is safe for concurrent use, and
// any number of handles (in any number of processes) may share one Name.
type Stream struct {
	rdb  redis.UniversalClient
	name string
	dead string
	opts gateway.StreamOptions
	log  *slog.Logger

	batch       int64
	concurrency int
	block       time.Duration // XREADGROUP BLOCK: bounds how late a cancel is noticed
	claimEvery  time.Duration // how often a consumer looks for claimable entries
	trimEvery   time.Duration
	// nextTrim (unix ns) makes trimming stream-wide: with dozens of
	// consumers, one trim per interval, not one per consumer.
	nextTrim atomic.Int64

	// Concurrent publishes and acks share round trips: under load the
	// syscalls of one command per message dominate the CPU.
	adds *batch.Batcher[[]byte, struct{}]
	acks *batch.Batcher[ackReq, struct{}]

	mu      sync.Mutex
	closed  bool
	life    context.Context // cancelled by Close
	stopAll context.CancelFunc
	running sync.WaitGroup
}

// New returns a stream on client. The client stays the caller's: Close does
// not close it, but does stop the stream's goroutines.
func New(client redis.UniversalClient, cfg Config) (*Stream, error) {
	if client == nil {
		return nil, errors.New("redisstream: client is required")
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("redisstream config: %w", err)
	}
	opts := cfg.Options.WithDefaults()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = 16
	}
	claimEvery := min(opts.RetryDelay, opts.ClaimTimeout) / 4
	claimEvery = min(max(claimEvery, 10*time.Millisecond), time.Second)
	life, stop := context.WithCancel(context.Background())
	s := &Stream{
		rdb: client, name: cfg.Name, dead: cfg.Name + ":dead", opts: opts,
		log:   cfg.Logger.With("stream", cfg.Name),
		batch: int64(cfg.BatchSize), concurrency: cfg.Concurrency, block: min(100*time.Millisecond, claimEvery),
		claimEvery: claimEvery, trimEvery: 100 * time.Millisecond,
		life: life, stopAll: stop,
	}
	// Redis runs one command at a time, so a few pipelines in flight are
	// enough to keep it busy: while one is on the wire the next one fills.
	// Each runner holds a pool connection only while it sends. The bound
	// keeps a pipeline of message bodies to a few hundred KB, and one
	// slow batch from holding up more callers than that.
	s.adds = batch.New(4, 128, s.addAll)
	// An ack is a few bytes and each consumer has at most one outstanding,
	// so two runners already gather every consumer's ack of the moment.
	s.acks = batch.New(2, 256, s.ackAll)
	return s, nil
}

func (s *Stream) retryKey(group string) string { return s.name + ":retry:" + group }

func (s *Stream) nowMS() int64 { return s.opts.Now().UnixMilli() }

func (s *Stream) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Publish appends m with XADD; it is as durable as the Redis persistence
// configuration (use appendonly yes) once Publish returns nil. Concurrent
// calls share one pipeline. If ctx ends while the call waits for its turn,
// nothing is written; once its XADD is on its way, Publish waits for the
// reply whatever ctx does (up to 10s): a ctx ending mid-call cannot turn
// a write that happened into an error.
//
// Publish does not trim with MAXLEN: that would drop entries a lagging group
// has not handled yet. Consumers trim acknowledged entries instead.
func (s *Stream) Publish(ctx context.Context, m gateway.Message) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("publish message %s: %w", m.ID, err)
	}
	if s.isClosed() {
		return fmt.Errorf("publish message %s: %w", m.ID, ErrClosed)
	}
	body, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode message %s: %w", m.ID, err)
	}
	if _, err := s.adds.Do(ctx, body); err != nil {
		if errors.Is(err, batch.ErrClosed) {
			err = ErrClosed // Close ran since the check above
		}
		return fmt.Errorf("publish message %s: %w", m.ID, err)
	}
	return nil
}

// addAll sends one XADD per body in a single pipeline; each caller gets
// its own command's error.
func (s *Stream) addAll(ctx context.Context, bodies [][]byte) []batch.Result[struct{}] {
	ctx, cancel := context.WithTimeout(ctx, bookkeepingTimeout)
	defer cancel()
	cmds := make([]*redis.StringCmd, len(bodies))
	// Pipelined's error is the first command's; each command keeps its own.
	_, _ = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, body := range bodies {
			cmds[i] = p.XAdd(ctx, &redis.XAddArgs{Stream: s.name, Values: []any{"m", body}})
		}
		return nil
	})
	out := make([]batch.Result[struct{}], len(bodies))
	for i, cmd := range cmds {
		out[i].Err = cmd.Err()
	}
	return out
}

// ackReq is one handled entry to acknowledge.
type ackReq struct {
	group, id string
}

// ackAll acknowledges a batch with one XACK per group, all in one
// pipeline; each caller gets its group's command's error.
func (s *Stream) ackAll(ctx context.Context, reqs []ackReq) []batch.Result[struct{}] {
	ctx, cancel := context.WithTimeout(ctx, bookkeepingTimeout)
	defer cancel()
	ids := map[string][]string{}
	var groups []string // in order of arrival, for a deterministic pipeline
	for _, r := range reqs {
		if _, ok := ids[r.group]; !ok {
			groups = append(groups, r.group)
		}
		ids[r.group] = append(ids[r.group], r.id)
	}
	cmds := make(map[string]*redis.IntCmd, len(groups))
	_, _ = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, g := range groups {
			cmds[g] = p.XAck(ctx, s.name, g, ids[g]...)
		}
		return nil
	})
	out := make([]batch.Result[struct{}], len(reqs))
	for i, r := range reqs {
		out[i].Err = cmds[r.group].Err()
	}
	return out
}

// entry is one delivery of a stream entry.
type entry struct {
	id      string
	body    string
	only    string // the group a replayed entry is meant for
	attempt int
	readAt  time.Time
	// msg is body decoded (see decode), once for its conversation and
	// its handler; undecodable says why it could not be.
	msg         gateway.Message
	undecodable error
}

func (e *entry) decode() { e.undecodable = json.Unmarshal([]byte(e.body), &e.msg) }

// Consume implements gateway.Stream. Each Consume call runs up to
// Config.Concurrency handlers at once, messages of one conversation in
// order; run several Consume calls for more parallelism. When ctx is done,
// Consume cancels the running handlers' context, waits for them to return,
// and returns ctx.Err(); a handler that returns because of that is neither
// acknowledged nor counted as failed, so its entry is claimed by another
// consumer after the claim timeout.
func (s *Stream) Consume(ctx context.Context, group, consumer string, h gateway.Handler) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if group == "" || consumer == "" {
		return errors.New("redisstream: consume needs a group and a consumer name")
	}
	if h == nil {
		return errors.New("redisstream: consume needs a handler")
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.running.Add(1)
	s.mu.Unlock()
	defer s.running.Done()

	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(s.life, cancel)()
	c := &consumerLoop{s: s, group: group, name: consumer, h: h,
		log: s.log.With("group", group, "consumer", consumer)}

	err := s.rdb.XGroupCreateMkStream(cctx, s.name, group, "0").Err()
	if err != nil && !isBusyGroup(err) {
		if cctx.Err() != nil {
			return s.stopErr(ctx)
		}
		return fmt.Errorf("create consumer group %s on %s: %w", group, s.name, err)
	}
	c.run(cctx)
	return s.stopErr(ctx)
}

func isNoGroup(err error) bool {
	return err != nil && strings.HasPrefix(err.Error(), "NOGROUP")
}

func isBusyGroup(err error) bool {
	return err != nil && strings.HasPrefix(err.Error(), "BUSYGROUP")
}

func (s *Stream) stopErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return ErrClosed
}

type consumerLoop struct {
	s          *Stream
	group      string
	name       string
	h          gateway.Handler
	log        *slog.Logger
	lastClaim  time.Time
	acked      atomic.Bool // acknowledged something since the last trim
	failStreak int
}

// bookkeeping is the context for recording outcomes: not the consumer's, so
// a handler that succeeded just as shutdown began is still acknowledged.
func bookkeeping() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), bookkeepingTimeout)
}

// bookkeepingTimeout bounds a write that no caller's context does.
const bookkeepingTimeout = 10 * time.Second

func (c *consumerLoop) run(ctx context.Context) {
	s := c.s
	for ctx.Err() == nil {
		if time.Since(c.lastClaim) >= s.claimEvery {
			c.lastClaim = time.Now()
			batch, err := c.claim()
			if c.check(ctx, "claim", err) {
				continue
			}
			c.handleBatch(ctx, batch)
			if int64(len(batch)) == s.batch {
				c.lastClaim = time.Time{} // there may be more
				continue
			}
		}
		if c.acked.Load() && s.trimTurn() {
			c.acked.Store(false)
			c.check(ctx, "trim", s.trim())
		}
		batch, err := c.read()
		if isNoGroup(err) {
			// The stream key was deleted (FLUSHDB, an operator): start over
			// rather than fail forever.
			err = c.s.rdb.XGroupCreateMkStream(ctx, s.name, c.group, "0").Err()
			if isBusyGroup(err) {
				err = nil
			}
			c.log.Warn("consumer group was missing; created it again", "err", err)
		}
		if c.check(ctx, "read", err) {
			continue
		}
		c.handleBatch(ctx, batch)
	}
}

// check logs err and backs off; it reports whether err was not nil.
func (c *consumerLoop) check(ctx context.Context, what string, err error) bool {
	if err == nil {
		c.failStreak = 0
		return false
	}
	if ctx.Err() != nil {
		return true
	}
	c.failStreak++
	wait := min(time.Duration(c.failStreak)*50*time.Millisecond, 2*time.Second)
	c.log.Warn("redis stream "+what+" failed", "err", err, "retry_in", wait)
	select {
	case <-time.After(wait):
	case <-ctx.Done():
	}
	return true
}

// read fetches new entries for the group. BLOCK is short and the command
// does not take ctx, so entries Redis hands over are never lost in a
// cancelled read; a cancel is noticed within one block.
func (c *consumerLoop) read() ([]entry, error) {
	s := c.s
	ctx, cancel := bookkeeping()
	defer cancel()
	res, err := s.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
		Group: c.group, Consumer: c.name, Streams: []string{s.name, ">"},
		Count: s.batch, Block: s.block,
	}).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	now := time.Now()
	var batch []entry
	for _, st := range res {
		for _, m := range st.Messages {
			e := entry{id: m.ID, attempt: 1, readAt: now}
			e.body, _ = m.Values["m"].(string)
			e.only, _ = m.Values["g"].(string)
			batch = append(batch, e)
		}
	}
	return batch, nil
}

// claimScript takes over entries of the group idle for at least the claim
// timeout: retries whose delay ended, and entries of consumers that
// vanished. A retry still inside its delay (possible when RetryDelay >
// ClaimTimeout) gets its idle time adjusted so it comes up again when due.
// It returns {id, fields, attempt} for each entry claimed.
//
// KEYS: stream, retry hash. ARGV: group, consumer, claim timeout ms, count, now ms.
var claimScript = redis.NewScript(`
local now = tonumber(ARGV[5])
local timeout = tonumber(ARGV[3])
local pend = redis.call('XPENDING', KEYS[1], ARGV[1], 'IDLE', timeout, '-', '+', tonumber(ARGV[4]))
local out = {}
for _, p in ipairs(pend) do
	local id, owner, count = p[1], p[2], tonumber(p[4])
	local due = redis.call('HGET', KEYS[2], id)
	if due and tonumber(due) > now then
		local idle = timeout - (tonumber(due) - now)
		if idle < 0 then idle = 0 end
		redis.call('XCLAIM', KEYS[1], ARGV[1], owner, 0, id, 'IDLE', idle, 'JUSTID')
	else
		if due then redis.call('HDEL', KEYS[2], id) end
		local c = redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], timeout, id)
		if c[1] then
			out[#out + 1] = {id, c[1][2], count + 1}
		end
	end
end
return out
`)

func (c *consumerLoop) claim() ([]entry, error) {
	s := c.s
	ctx, cancel := bookkeeping()
	defer cancel()
	res, err := claimScript.Run(ctx, s.rdb, []string{s.name, s.retryKey(c.group)},
		c.group, c.name, s.opts.ClaimTimeout.Milliseconds(), s.batch, s.nowMS()).Slice()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	var batch []entry
	for _, r := range res {
		row, ok := r.([]any)
		if !ok || len(row) != 3 {
			return nil, fmt.Errorf("unexpected claim reply %v", r)
		}
		e := entry{readAt: now}
		e.id, _ = row[0].(string)
		n, _ := row[2].(int64)
		e.attempt = int(n)
		fields, _ := row[1].([]any)
		for i := 0; i+1 < len(fields); i += 2 {
			k, _ := fields[i].(string)
			v, _ := fields[i+1].(string)
			switch k {
			case "m":
				e.body = v
			case "g":
				e.only = v
			}
		}
		batch = append(batch, e)
	}
	return batch, nil
}

func (c *consumerLoop) handleBatch(ctx context.Context, batch []entry) {
	run := func(i int) {
		// The rest of the batch is pending on us while earlier handlers run;
		// hand it back rather than have another consumer take entries we
		// still hold.
		if e := batch[i]; ctx.Err() != nil || time.Since(e.readAt) > c.s.opts.ClaimTimeout/2 {
			if err := c.release(e); err != nil {
				c.log.Warn("release entry", "entry", e.id, "err", err)
			}
			return
		}
		c.handle(ctx, batch[i])
	}
	for i := range batch {
		batch[i].decode()
	}
	gateway.RunByConversation(len(batch), c.s.concurrency,
		func(i int) string { return batch[i].msg.Conversation() }, run)
}

func (c *consumerLoop) handle(ctx context.Context, e entry) {
	s := c.s
	if e.only != "" && e.only != c.group {
		// A replay meant for another group.
		c.ack(e)
		return
	}
	m := e.msg
	if err := e.undecodable; err != nil {
		// Not written by Publish; keep it for an operator.
		c.deadLetter(e, "undecodable entry: "+err.Error())
		return
	}
	if e.attempt > s.opts.MaxAttempts {
		// Every earlier delivery was abandoned (consumer crashed or hung):
		// a message that kills its consumers must not circulate forever.
		c.log.Warn("message dead-lettered after abandoned deliveries", "message", m.ID, "attempt", e.attempt)
		c.deadLetter(e, abandonedReason(e.attempt-1))
		return
	}
	err := call(ctx, c.h, gateway.Delivery{Message: m, Attempt: e.attempt})
	switch {
	case err == nil:
		c.ack(e)
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		// The handler gave up because we are shutting down: the entry
		// stays pending and is claimed later. (A real failure returned
		// during shutdown is still recorded below.)
	case gateway.IsPermanent(err) || e.attempt >= s.opts.MaxAttempts:
		c.log.Warn("message dead-lettered", "message", m.ID, "attempt", e.attempt, "err", err)
		c.deadLetter(e, err.Error())
	default:
		c.log.Info("message will be retried", "message", m.ID, "attempt", e.attempt, "err", err)
		if err := c.retry(e); err != nil {
			c.log.Warn("schedule retry; the claim timeout will bring it back", "entry", e.id, "err", err)
		}
	}
}

func abandonedReason(n int) string {
	return fmt.Sprintf("abandoned: %d deliveries were never finished (consumer crashed, hung or timed out)", n)
}

// call runs h, turning a panic into an error so one bad message cannot take
// the consumer down.
func call(ctx context.Context, h gateway.Handler, d gateway.Delivery) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("handler panicked: %v\n%s", r, debug.Stack())
		}
	}()
	return h(ctx, d)
}

func (c *consumerLoop) ack(e entry) {
	ctx, cancel := bookkeeping()
	defer cancel()
	// Whoever holds it now, the message was handled. Concurrent consumers'
	// acks share one round trip.
	if _, err := c.s.acks.Do(ctx, ackReq{group: c.group, id: e.id}); err != nil {
		c.log.Warn("acknowledge entry; it will be delivered again", "entry", e.id, "err", err)
		return
	}
	c.acked.Store(true)
}

// ownedScript prefix: act only if the entry is still pending on this
// consumer at this attempt; if our lease ran out and another consumer took
// over, its outcome counts. KEYS[1] stream; ARGV[1] group, ARGV[2]
// consumer, ARGV[3] id, ARGV[4] attempt.
const ownedCheck = `
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)
if #p == 0 or p[1][2] ~= ARGV[2] or tonumber(p[1][4]) ~= tonumber(ARGV[4]) then return 0 end
`

// retryScript: KEYS stream, retry hash; ARGV ..., ARGV[5] due ms, ARGV[6] idle ms.
var retryScript = redis.NewScript(ownedCheck + `
redis.call('HSET', KEYS[2], ARGV[3], ARGV[5])
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3], 'IDLE', tonumber(ARGV[6]), 'JUSTID')
return 1
`)

func (c *consumerLoop) retry(e entry) error {
	s := c.s
	ctx, cancel := bookkeeping()
	defer cancel()
	// Idle so that the claim timeout ends exactly when the retry delay does.
	idle := max(s.opts.ClaimTimeout-s.opts.RetryDelay, 0)
	return retryScript.Run(ctx, s.rdb, []string{s.name, s.retryKey(c.group)},
		c.group, c.name, e.id, e.attempt, s.nowMS()+s.opts.RetryDelay.Milliseconds(), idle.Milliseconds()).Err()
}

// releaseScript gives back an entry that was never attempted: immediately
// claimable, delivery count as before. ARGV[5] claim timeout ms.
var releaseScript = redis.NewScript(ownedCheck + `
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3], 'IDLE', tonumber(ARGV[5]), 'RETRYCOUNT', tonumber(ARGV[4]) - 1, 'JUSTID')
return 1
`)

func (c *consumerLoop) release(e entry) error {
	s := c.s
	ctx, cancel := bookkeeping()
	defer cancel()
	return releaseScript.Run(ctx, s.rdb, []string{s.name},
		c.group, c.name, e.id, e.attempt, s.opts.ClaimTimeout.Milliseconds()).Err()
}

// deadScript: KEYS stream, retry hash, dead stream; ARGV ..., ARGV[5] body,
// ARGV[6] reason, ARGV[7] failed-at ms.
var deadScript = redis.NewScript(ownedCheck + `
redis.call('XADD', KEYS[3], '*', 'm', ARGV[5], 'g', ARGV[1], 'r', ARGV[6], 'a', ARGV[4], 't', ARGV[7], 'e', ARGV[3])
redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
redis.call('HDEL', KEYS[2], ARGV[3])
return 1
`)

func (c *consumerLoop) deadLetter(e entry, reason string) {
	s := c.s
	ctx, cancel := bookkeeping()
	defer cancel()
	err := deadScript.Run(ctx, s.rdb, []string{s.name, s.retryKey(c.group), s.dead},
		c.group, c.name, e.id, e.attempt, e.body, reason, s.nowMS()).Err()
	if err != nil {
		c.log.Error("dead-letter entry; it will be delivered again", "entry", e.id, "err", err)
		return
	}
	c.acked.Store(true)
}

// trimScript deletes the oldest entries beyond MaxLen, but only those that
// every group has acknowledged: below each group's oldest pending entry and
// not after its last delivered one. With no group nothing is trimmed. At
// most ARGV[2] entries go per call, so a call stays short.
var trimScript = redis.NewScript(`
local function parse(id)
	local ms, seq = string.match(id, '^(%d+)-(%d+)$')
	return {tonumber(ms), tonumber(seq)}
end
local function less(a, b)
	return a[1] < b[1] or (a[1] == b[1] and a[2] < b[2])
end
local len = redis.call('XLEN', KEYS[1])
local excess = len - tonumber(ARGV[1])
if excess <= 0 then return 0 end
local groups = redis.call('XINFO', 'GROUPS', KEYS[1])
if #groups == 0 then return 0 end
local safe = nil
for _, g in ipairs(groups) do
	local name, last
	for i = 1, #g, 2 do
		if g[i] == 'name' then name = g[i + 1] elseif g[i] == 'last-delivered-id' then last = g[i + 1] end
	end
	local cand
	local pend = redis.call('XPENDING', KEYS[1], name)
	if tonumber(pend[1]) > 0 then
		cand = parse(pend[2])
	else
		cand = parse(last)
		cand[2] = cand[2] + 1
	end
	if safe == nil or less(cand, safe) then safe = cand end
end
local e = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', math.min(excess, tonumber(ARGV[2])))
local cut = parse(e[#e][1])
cut[2] = cut[2] + 1
if less(safe, cut) then cut = safe end
return redis.call('XTRIM', KEYS[1], 'MINID', string.format('%d-%d', cut[1], cut[2]))
`)

// trimTurn reports whether the caller should trim now, at most once per
// trimEvery across all the stream's consumers.
func (s *Stream) trimTurn() bool {
	now := time.Now().UnixNano()
	next := s.nextTrim.Load()
	return now >= next && s.nextTrim.CompareAndSwap(next, now+s.trimEvery.Nanoseconds())
}

func (s *Stream) trim() error {
	ctx, cancel := bookkeeping()
	defer cancel()
	return trimScript.Run(ctx, s.rdb, []string{s.name}, s.opts.MaxLen, 1000).Err()
}

// DeadLetters lists up to limit dead letters (all groups), oldest first. A
// limit of zero or less means 100.
func (s *Stream) DeadLetters(ctx context.Context, limit int) ([]gateway.DeadLetter, error) {
	if limit <= 0 {
		limit = 100
	}
	msgs, err := s.rdb.XRangeN(ctx, s.dead, "-", "+", int64(limit)).Result()
	if err != nil {
		return nil, fmt.Errorf("list dead letters of %s: %w", s.name, err)
	}
	out := make([]gateway.DeadLetter, 0, len(msgs))
	for _, m := range msgs {
		d := gateway.DeadLetter{ID: m.ID}
		body, _ := m.Values["m"].(string)
		d.Reason, _ = m.Values["r"].(string)
		a, _ := m.Values["a"].(string)
		d.Attempts, _ = strconv.Atoi(a)
		t, _ := m.Values["t"].(string)
		ms, _ := strconv.ParseInt(t, 10, 64)
		d.FailedAt = time.UnixMilli(ms).UTC()
		if err := json.Unmarshal([]byte(body), &d.Message); err != nil {
			d.Reason += " (message undecodable: " + err.Error() + ")"
		}
		out = append(out, d)
	}
	return out, nil
}

// replayScript moves a dead letter back onto the stream for its group.
// KEYS dead, stream; ARGV id. Returns the new entry id, or false when the
// dead letter does not exist.
var replayScript = redis.NewScript(`
local e = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
if #e == 0 then return false end
local f = e[1][2]
local body, group
for i = 1, #f, 2 do
	if f[i] == 'm' then body = f[i + 1] elseif f[i] == 'g' then group = f[i + 1] end
end
local id = redis.call('XADD', KEYS[2], '*', 'm', body, 'g', group)
redis.call('XDEL', KEYS[1], ARGV[1])
return id
`)

var entryID = regexp.MustCompile(`^[0-9]{1,20}-[0-9]{1,20}$`)

// Replay moves dead letter id back onto the stream for the group that
// dead-lettered it, with a fresh attempt count; other groups skip it.
func (s *Stream) Replay(ctx context.Context, id string) error {
	if !entryID.MatchString(id) {
		return fmt.Errorf("replay %q: %w", id, gateway.ErrUnknownDeadLetter)
	}
	err := replayScript.Run(ctx, s.rdb, []string{s.dead, s.name}, id).Err()
	if errors.Is(err, redis.Nil) {
		return fmt.Errorf("replay %s: %w", id, gateway.ErrUnknownDeadLetter)
	}
	if err != nil {
		return fmt.Errorf("replay %s: %w", id, err)
	}
	return nil
}

// Len reports how many entries the stream retains.
func (s *Stream) Len(ctx context.Context) (int64, error) {
	n, err := s.rdb.XLen(ctx, s.name).Result()
	if err != nil {
		return 0, fmt.Errorf("length of %s: %w", s.name, err)
	}
	return n, nil
}

// Close stops this handle's consumers (their handlers' contexts are
// cancelled) and waits for them to record what they finished, and for
// publishes already on their way. It deletes nothing and leaves the client
// open. Closing twice is harmless.
func (s *Stream) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.stopAll()
	s.running.Wait()
	// Only now: a stopping consumer still acknowledges what it finished.
	// No consumer can start any more, and Publish checks closed first, so
	// nothing but a Publish racing this Close still comes; it gets
	// ErrClosed or, if already taken, its result before Close returns.
	s.acks.Close()
	s.adds.Close()
	return nil
}

var _ gateway.Stream = (*Stream)(nil)
