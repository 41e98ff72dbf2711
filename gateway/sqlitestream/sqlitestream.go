// Package sqlitestream is the embedded, durable gateway.Stream of the
// zero-install runtime: one SQLite file (modernc.org/sqlite, pure Go) in WAL
// mode holds the entries, each consumer group's delivery state and the dead
// letters.
//
// Delivery works by leases: a consumer claims a small batch of entries in one
// write transaction, which records for each (group, entry) the consumer, the
// attempt count and visible_at, the moment the entry may be claimed again. A
// successful handler deletes that row; a failure pushes visible_at out by
// the retry delay; a consumer that dies simply lets its lease run out after
// the claim timeout. Because the state lives in the file, a restarted
// process (or a second one on the same file) carries on where it stopped.
//
// Publish wakes a consumer of the same handle at once; other processes on
// the same file are noticed by a short poll.
package sqlitestream

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dargah137/dargah/gateway"
	"github.com/dargah137/dargah/internal/batch"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// ErrClosed is returned by a handle after Close.
var ErrClosed = errors.New("sqlitestream: stream closed")

// Config configures a Stream.
type Config struct {
	// Options are the shared stream options; zero fields get defaults.
	Options gateway.StreamOptions
	// Logger; discarded when nil.
	Logger *slog.Logger
	// BatchSize is how many entries a consumer claims per transaction
	// (default 32). Larger batches mean fewer transactions.
	BatchSize int
	// PollInterval is how often an idle consumer looks for work that another
	// process published (default 100ms). Publishes on the same handle wake
	// consumers immediately.
	PollInterval time.Duration
	// Concurrency is how many entries of its batch one consumer handles at
	// once (default 1). Entries of one conversation (same portal and thread
	// key) are still handled one after another, in stream order. Handlers
	// that mostly wait (for a group commit, say) make more progress side by
	// side than one by one, without the claim transactions of as many
	// consumers.
	Concurrency int
	// BusyTimeout is how long a statement waits for another process's write
	// lock (default 10s).
	BusyTimeout time.Duration
}

// Validate reports settings that cannot work.
func (c Config) Validate() error {
	var errs []error
	if c.BatchSize < 0 {
		errs = append(errs, fmt.Errorf("batch size %d is negative", c.BatchSize))
	}
	if c.Concurrency < 0 {
		errs = append(errs, fmt.Errorf("concurrency %d is negative", c.Concurrency))
	}
	if c.PollInterval < 0 {
		errs = append(errs, fmt.Errorf("poll interval %s is negative", c.PollInterval))
	}
	if c.BusyTimeout < 0 {
		errs = append(errs, fmt.Errorf("busy timeout %s is negative", c.BusyTimeout))
	}
	if c.Options.MaxAttempts < 0 || c.Options.RetryDelay < 0 || c.Options.ClaimTimeout < 0 || c.Options.MaxLen < 0 {
		errs = append(errs, errors.New("stream options must not be negative"))
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	c.Options = c.Options.WithDefaults()
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.BatchSize == 0 {
		c.BatchSize = 32
	}
	if c.PollInterval == 0 {
		c.PollInterval = 100 * time.Millisecond
	}
	if c.BusyTimeout == 0 {
		c.BusyTimeout = 10 * time.Second
	}
	return c
}

// Stream is a gateway.Stream stored in one SQLite file. It is safe for
// concurrent use; several handles (in one or several processes) may share
// the file.
type Stream struct {
	db    *sql.DB
	stmts map[string]*sql.Stmt // hot statements, prepared in Open; read-only after
	cfg   Config
	opts  gateway.StreamOptions
	log   *slog.Logger

	pubs *batch.Batcher[[]byte, struct{}] // concurrent publishes, one transaction each batch

	mu     sync.Mutex
	wakes  map[string]chan struct{} // per group: a token when there may be new entries
	closed bool

	life    context.Context // cancelled by Close; stops every Consume
	stopAll context.CancelFunc
	running sync.WaitGroup // Consume calls in progress
}

const schema = `
CREATE TABLE IF NOT EXISTS entries (
	-- AUTOINCREMENT: ids are never reused after a trim, so group cursors
	-- stay meaningful.
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	body       BLOB    NOT NULL,
	-- only_group is set on a replayed entry: it goes back to the group that
	-- dead-lettered it, not to groups that already handled it.
	only_group TEXT,
	created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS groups (
	name   TEXT PRIMARY KEY,
	-- cursor is the highest entry id handed to this group.
	cursor INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS pending (
	grp        TEXT    NOT NULL,
	entry_id   INTEGER NOT NULL,
	consumer   TEXT    NOT NULL,
	attempts   INTEGER NOT NULL,
	-- visible_at (unix ms) ends a lease or a retry delay: from then on any
	-- consumer of the group may claim the entry.
	visible_at INTEGER NOT NULL,
	PRIMARY KEY (grp, entry_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS pending_due ON pending (grp, visible_at);
CREATE TABLE IF NOT EXISTS dead_letters (
	id        INTEGER PRIMARY KEY AUTOINCREMENT,
	grp       TEXT    NOT NULL,
	entry_id  INTEGER NOT NULL,
	body      BLOB    NOT NULL,
	reason    TEXT    NOT NULL,
	attempts  INTEGER NOT NULL,
	failed_at INTEGER NOT NULL
);
`

// Statements of the hot path, prepared once per handle: parsing SQL costs
// more than running it here.
const (
	qPublish = `INSERT INTO entries (body, created_at) VALUES (?, ?)`
	// Acknowledged and leased entries travel as a JSON array of ids, so a
	// whole batch is one prepared statement.
	qAck = `DELETE FROM pending WHERE grp = ? AND entry_id IN (SELECT value FROM json_each(?))`
	// Retry, release and dead-letter act only while the entry is still
	// ours: if our lease ran out and another consumer took over, its
	// outcome counts.
	qRetry = `UPDATE pending SET visible_at = ?
		WHERE grp = ? AND entry_id = ? AND consumer = ? AND attempts = ?`
	qRelease = `UPDATE pending SET visible_at = ?, attempts = attempts - 1
		WHERE grp = ? AND entry_id = ? AND consumer = ? AND attempts = ?`
	qDeadPending = `DELETE FROM pending WHERE grp = ? AND entry_id = ? AND consumer = ? AND attempts = ?`
	qDeadInsert  = `INSERT INTO dead_letters (grp, entry_id, body, reason, attempts, failed_at)
		VALUES (?, ?, ?, ?, ?, ?)`
	// qTrim deletes the oldest entries beyond MaxLen, but only those every
	// group has acknowledged: up to each group's cursor and below its oldest
	// pending entry. With no group yet nothing is trimmed.
	qTrim = `DELETE FROM entries
		WHERE id <= (SELECT MAX(id) FROM entries) - ?1
		  AND id < (SELECT MIN(safe) FROM (
				SELECT cursor + 1 AS safe FROM groups
				UNION ALL
				SELECT MIN(entry_id) FROM pending))`
	// qDue finds retries whose delay passed and leases that ran out.
	qDue = `SELECT p.entry_id, p.attempts, e.body
		FROM pending p LEFT JOIN entries e ON e.id = p.entry_id
		WHERE p.grp = ? AND p.visible_at <= ? ORDER BY p.visible_at LIMIT ?`
	qDropLost = `DELETE FROM pending WHERE grp = ? AND entry_id = ?`
	qReclaim  = `UPDATE pending SET consumer = ?, attempts = ?, visible_at = ? WHERE grp = ? AND entry_id = ?`
	qNew      = `SELECT e.id, e.body FROM entries e, groups g
		WHERE g.name = ?1 AND e.id > g.cursor AND (e.only_group IS NULL OR e.only_group = ?1)
		ORDER BY e.id LIMIT ?2`
	qLease = `INSERT INTO pending (grp, entry_id, consumer, attempts, visible_at)
		SELECT ?1, value, ?2, 1, ?3 FROM json_each(?4)`
	qCursor   = `UPDATE groups SET cursor = ? WHERE name = ?`
	qNextDue  = `SELECT MIN(visible_at) FROM pending WHERE grp = ?`
	qAddGroup = `INSERT OR IGNORE INTO groups (name, cursor) VALUES (?, 0)`
)

var hotQueries = []string{qPublish, qAck, qRetry, qRelease, qDeadPending, qDeadInsert, qTrim,
	qDue, qDropLost, qReclaim, qNew, qLease, qCursor, qNextDue, qAddGroup}

// idList encodes ids as a JSON array for json_each.
func idList(ids []int64) string {
	b := make([]byte, 0, 8*len(ids)+2)
	b = append(b, '[')
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, id, 10)
	}
	return string(append(b, ']'))
}

// sqlRunner is what *sql.DB, *sql.Tx and *sql.Stmt share.
type sqlRunner interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// stmt returns q's prepared statement, bound to tx when tx is not nil, or
// nil when q is not one of the prepared hot queries.
func (s *Stream) stmt(ctx context.Context, tx *sql.Tx, q string) *sql.Stmt {
	st, ok := s.stmts[q]
	if !ok || tx == nil {
		return st
	}
	return tx.StmtContext(ctx, st)
}

func (s *Stream) runner(tx *sql.Tx) sqlRunner {
	if tx != nil {
		return tx
	}
	return s.db
}

func (s *Stream) exec(ctx context.Context, tx *sql.Tx, q string, args ...any) (sql.Result, error) {
	if st := s.stmt(ctx, tx, q); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return s.runner(tx).ExecContext(ctx, q, args...)
}

func (s *Stream) query(ctx context.Context, tx *sql.Tx, q string, args ...any) (*sql.Rows, error) {
	if st := s.stmt(ctx, tx, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return s.runner(tx).QueryContext(ctx, q, args...)
}

func (s *Stream) queryRow(ctx context.Context, tx *sql.Tx, q string, args ...any) *sql.Row {
	if st := s.stmt(ctx, tx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return s.runner(tx).QueryRowContext(ctx, q, args...)
}

// Open opens the stream stored at path, e.g. data/stream.db, creating the
// file and its directory if needed. The file should not be shared with other
// stores. Open checks ctx only while it sets the file up.
func Open(ctx context.Context, path string, cfg Config) (*Stream, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("sqlitestream config: %w", err)
	}
	if path == "" {
		return nil, errors.New("sqlitestream: path is required")
	}
	if strings.ContainsAny(path, "?#") {
		// The driver would read what follows as connection parameters.
		return nil, fmt.Errorf("sqlitestream: path %q must not contain ? or #", path)
	}
	// The zero-install runtime starts from an empty directory: create data/.
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("create directory for stream %s: %w", path, err)
	}
	cfg = cfg.withDefaults()
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", cfg.BusyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	// NORMAL in WAL mode: a commit survives a process crash; only an OS
	// crash or power cut may lose the last transactions.
	q.Add("_pragma", "synchronous(NORMAL)")
	// Write transactions take the write lock up front, so two processes
	// never deadlock upgrading read locks; busy_timeout then just waits.
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open stream %s: %w", path, err)
	}
	// One connection: SQLite has one writer anyway, and queuing in the pool
	// is cheaper than spinning on SQLITE_BUSY inside this process.
	db.SetMaxOpenConns(1)
	db.SetConnMaxIdleTime(0)
	if _, err := db.ExecContext(ctx, schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("create stream schema in %s: %w", path, err)
	}
	stmts := make(map[string]*sql.Stmt, len(hotQueries))
	for _, q := range hotQueries {
		st, err := db.PrepareContext(ctx, q)
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("prepare stream statement in %s: %w", path, err)
		}
		stmts[q] = st
	}
	life, stop := context.WithCancel(context.Background())
	s := &Stream{
		db: db, stmts: stmts, cfg: cfg, opts: cfg.Options, log: cfg.Logger.With("stream", path),
		wakes: map[string]chan struct{}{}, life: life, stopAll: stop,
	}
	// One runner: the file has one writer, and publishes that arrive while
	// a batch commits make up the next one.
	s.pubs = batch.New(1, 128, s.publishAll)
	return s, nil
}

func (s *Stream) nowMS() int64 { return s.opts.Now().UnixMilli() }

// signal wakes one waiting consumer of each group on this handle. Waking
// them all would have every idle consumer run a claim transaction for an
// entry only one of them gets; a consumer that claims a full batch passes
// the token on instead (see Consume).
func (s *Stream) signal() {
	s.mu.Lock()
	for _, ch := range s.wakes {
		wakeOne(ch)
	}
	s.mu.Unlock()
}

// wakeOne leaves a token in ch unless one is waiting already.
func wakeOne(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// wakeFor returns group's token channel. A token left while nobody
// waits is kept, so a publish during a claim is never missed.
func (s *Stream) wakeFor(group string) chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.wakes[group]
	if ch == nil {
		ch = make(chan struct{}, 1)
		s.wakes[group] = ch
	}
	return ch
}

func (s *Stream) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Publish appends m; it is durable once Publish returns nil.
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
	if _, err := s.pubs.Do(ctx, body); err != nil {
		if errors.Is(err, batch.ErrClosed) {
			err = ErrClosed
		}
		return fmt.Errorf("publish message %s: %w", m.ID, err)
	}
	s.signal()
	return nil
}

// publishAll appends concurrent publishes in one transaction: one commit,
// and one write of the entries' last page, for the lot.
func (s *Stream) publishAll(ctx context.Context, bodies [][]byte) []batch.Result[struct{}] {
	out := make([]batch.Result[struct{}], len(bodies))
	if len(bodies) == 1 { // alone: a statement commits itself, without BEGIN and COMMIT
		_, out[0].Err = s.exec(ctx, nil, qPublish, bodies[0], s.nowMS())
		return out
	}
	fail := func(err error) []batch.Result[struct{}] {
		for i := range out {
			if out[i].Err == nil {
				out[i].Err = err
			}
		}
		return out
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fail(fmt.Errorf("begin: %w", err))
	}
	defer tx.Rollback()
	now := s.nowMS()
	for i, body := range bodies {
		// A failed INSERT undoes only itself; the others still commit.
		_, out[i].Err = s.exec(ctx, tx, qPublish, body, now)
	}
	if err := tx.Commit(); err != nil {
		return fail(fmt.Errorf("commit: %w", err))
	}
	return out
}

// entry is one claimed delivery.
type entry struct {
	id       int64
	attempts int
	body     []byte
	// msg is body decoded (see decode), once for its conversation and
	// its handler; undecodable says why it could not be.
	msg         gateway.Message
	undecodable error
}

func (e *entry) decode() { e.undecodable = json.Unmarshal(e.body, &e.msg) }

type outcomeKind int

const (
	ack     outcomeKind = iota // handled: forget it
	retry                      // failed: due again after RetryDelay
	dead                       // failed for good: move to dead letters
	release                    // never attempted (batch cut short): due now, attempt not counted
)

type outcome struct {
	kind   outcomeKind
	e      entry
	reason string
}

// Consume implements gateway.Stream. Each Consume call runs up to
// Config.Concurrency handlers at once (one at a time by default), messages
// of one conversation in order; run several Consume calls for more
// parallelism. When ctx is done,
// Consume cancels the running handlers' context, waits for them to return,
// and returns ctx.Err(); a handler that returns because of that is neither
// acknowledged nor counted as failed, so its lease simply runs out.
func (s *Stream) Consume(ctx context.Context, group, consumer string, h gateway.Handler) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if group == "" || consumer == "" {
		return errors.New("sqlitestream: consume needs a group and a consumer name")
	}
	if h == nil {
		return errors.New("sqlitestream: consume needs a handler")
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
	log := s.log.With("group", group, "consumer", consumer)

	if _, err := s.exec(cctx, nil, qAddGroup, group); err != nil {
		if cctx.Err() != nil {
			return s.stopErr(ctx)
		}
		return fmt.Errorf("create consumer group %s: %w", group, err)
	}

	var (
		outcomes []outcome
		lastTrim time.Time
		acked    bool // something acknowledged since the last trim
		backoff  time.Duration
	)
	wake := s.wakeFor(group)
	for {
		claim := cctx.Err() == nil
		for _, o := range outcomes {
			acked = acked || o.kind == ack
		}
		trim := acked && time.Since(lastTrim) >= s.cfg.PollInterval
		batch, nextDue, err := s.cycle(group, consumer, outcomes, trim, claim)
		if err != nil {
			if !claim {
				log.Error("record outcomes before stopping", "err", err)
				return s.stopErr(ctx)
			}
			// Keep the outcomes and try again: they are still owed.
			backoff = min(max(2*backoff, 10*time.Millisecond), time.Second)
			log.Warn("stream transaction failed", "err", err, "retry_in", backoff)
			select {
			case <-time.After(backoff):
			case <-cctx.Done():
			}
			continue
		}
		backoff = 0
		outcomes = outcomes[:0]
		if trim {
			lastTrim, acked = time.Now(), false
		}
		if !claim {
			return s.stopErr(ctx)
		}
		if len(batch) == 0 {
			wait := s.cfg.PollInterval
			if nextDue > 0 {
				wait = min(wait, max(time.Duration(nextDue-s.nowMS())*time.Millisecond, time.Millisecond))
			}
			t := time.NewTimer(wait)
			select {
			case <-wake:
			case <-t.C:
			case <-cctx.Done():
			}
			t.Stop()
			continue
		}
		if len(batch) == s.cfg.BatchSize {
			wakeOne(wake) // there may be more: let an idle consumer look too
		}
		outcomes = s.handleBatch(cctx, log, h, batch, outcomes)
	}
}

// handleBatch runs h on a claimed batch, up to cfg.Concurrency entries at
// once, and appends what to record to outcomes in the batch's order.
// Entries of one conversation (same portal and thread key) run one after
// another in stream order, so a citizen's second message is routed after
// their first, as with a single handler.
func (s *Stream) handleBatch(ctx context.Context, log *slog.Logger, h gateway.Handler, batch []entry, outcomes []outcome) []outcome {
	claimedAt := time.Now()
	results := make([]outcome, len(batch))
	oks := make([]bool, len(batch))
	run := func(i int) {
		// Leases of the rest of the batch are running out while earlier
		// handlers work; hand them back rather than risk a second consumer
		// taking them while we still hold them.
		if ctx.Err() != nil || time.Since(claimedAt) > s.opts.ClaimTimeout/2 {
			results[i], oks[i] = outcome{kind: release, e: batch[i]}, true
			return
		}
		results[i], oks[i] = s.handle(ctx, log, h, batch[i])
	}
	for i := range batch {
		batch[i].decode()
	}
	gateway.RunByConversation(len(batch), s.cfg.Concurrency,
		func(i int) string { return batch[i].msg.Conversation() }, run)
	for i, o := range results {
		if oks[i] {
			outcomes = append(outcomes, o)
		}
	}
	return outcomes
}

// stopErr is what Consume returns when it stops.
func (s *Stream) stopErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return ErrClosed
}

// handle runs h on e and says what to record; ok is false when the handler
// was interrupted by shutdown, which leaves the lease to expire.
func (s *Stream) handle(ctx context.Context, log *slog.Logger, h gateway.Handler, e entry) (o outcome, ok bool) {
	o.e = e
	m := e.msg
	if err := e.undecodable; err != nil {
		// Cannot happen for entries Publish wrote; keep it for an operator.
		return outcome{kind: dead, e: e, reason: "undecodable entry: " + err.Error()}, true
	}
	if e.attempts > s.opts.MaxAttempts {
		// Every earlier delivery was abandoned (consumer crashed or hung):
		// a message that kills its consumers must not circulate forever.
		log.Warn("message dead-lettered after abandoned deliveries", "message", m.ID, "attempt", e.attempts)
		return outcome{kind: dead, e: e, reason: fmt.Sprintf(
			"abandoned: %d deliveries were never finished (consumer crashed, hung or timed out)", e.attempts-1)}, true
	}
	err := call(ctx, h, gateway.Delivery{Message: m, Attempt: e.attempts})
	switch {
	case err == nil:
		o.kind = ack
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		// Gave up because we are stopping: neither done nor failed. A
		// real failure returned during shutdown is still recorded.
		return o, false
	case gateway.IsPermanent(err) || e.attempts >= s.opts.MaxAttempts:
		o.kind, o.reason = dead, err.Error()
		log.Warn("message dead-lettered", "message", m.ID, "attempt", e.attempts, "err", err)
	default:
		o.kind, o.reason = retry, err.Error()
		log.Info("message will be retried", "message", m.ID, "attempt", e.attempts, "err", err)
	}
	return o, true
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

// cycle is one write transaction: record the previous batch's outcomes,
// trim if asked, and (if claim) claim the next batch. When the batch is
// empty nextDue is the earliest visible_at of the group's pending entries
// (0 when none), so the consumer knows when to look again.
func (s *Stream) cycle(group, consumer string, outcomes []outcome, trim, claim bool) (batch []entry, nextDue int64, err error) {
	if len(outcomes) == 0 && !trim && !claim {
		return nil, 0, nil
	}
	// Not the consumer's context: outcomes must be recorded even while it
	// shuts down. The busy timeout bounds the wait.
	ctx := context.Background()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	now := s.nowMS()
	if err := s.record(ctx, tx, group, consumer, outcomes, now); err != nil {
		return nil, 0, err
	}
	if trim {
		if _, err := s.exec(ctx, tx, qTrim, s.opts.MaxLen); err != nil {
			return nil, 0, fmt.Errorf("trim: %w", err)
		}
	}
	if claim {
		batch, nextDue, err = s.claim(ctx, tx, group, consumer, now)
		if err != nil {
			return nil, 0, err
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, 0, fmt.Errorf("commit: %w", err)
	}
	return batch, nextDue, nil
}

func (s *Stream) record(ctx context.Context, tx *sql.Tx, group, consumer string, outcomes []outcome, now int64) error {
	var acks []int64
	for _, o := range outcomes {
		var err error
		switch o.kind {
		case ack:
			acks = append(acks, o.e.id)
		case retry:
			// Only while still ours: if our lease ran out and another
			// consumer took over, its outcome counts.
			_, err = s.exec(ctx, tx, qRetry, now+s.opts.RetryDelay.Milliseconds(), group, o.e.id, consumer, o.e.attempts)
		case release:
			_, err = s.exec(ctx, tx, qRelease, now, group, o.e.id, consumer, o.e.attempts)
		case dead:
			var res sql.Result
			res, err = s.exec(ctx, tx, qDeadPending, group, o.e.id, consumer, o.e.attempts)
			if err == nil {
				if n, _ := res.RowsAffected(); n == 1 {
					_, err = s.exec(ctx, tx, qDeadInsert, group, o.e.id, o.e.body, o.reason, o.e.attempts, now)
				}
			}
		}
		if err != nil {
			return fmt.Errorf("record outcome of entry %d: %w", o.e.id, err)
		}
	}
	if len(acks) > 0 {
		// Whoever holds them now, the messages were handled.
		if _, err := s.exec(ctx, tx, qAck, group, idList(acks)); err != nil {
			return fmt.Errorf("acknowledge %d entries: %w", len(acks), err)
		}
	}
	return nil
}

func (s *Stream) claim(ctx context.Context, tx *sql.Tx, group, consumer string, now int64) ([]entry, int64, error) {
	lease := now + s.opts.ClaimTimeout.Milliseconds()
	limit := s.cfg.BatchSize
	var batch []entry

	// First what is due again: retries whose delay passed and leases of
	// consumers that vanished.
	rows, err := s.query(ctx, tx, qDue, group, now, limit)
	if err != nil {
		return nil, 0, fmt.Errorf("find due entries: %w", err)
	}
	var lost []int64
	for rows.Next() {
		var e entry
		if err := rows.Scan(&e.id, &e.attempts, &e.body); err != nil {
			rows.Close()
			return nil, 0, fmt.Errorf("scan due entry: %w", err)
		}
		if e.body == nil {
			lost = append(lost, e.id)
			continue
		}
		e.attempts++
		batch = append(batch, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("find due entries: %w", err)
	}
	for _, id := range lost {
		// Trimming never removes pending entries; this is a damaged file.
		s.log.Error("pending entry has no body; dropping it", "group", group, "entry", id)
		if _, err := s.exec(ctx, tx, qDropLost, group, id); err != nil {
			return nil, 0, fmt.Errorf("drop lost entry %d: %w", id, err)
		}
	}
	for _, e := range batch {
		if _, err := s.exec(ctx, tx, qReclaim, consumer, e.attempts, lease, group, e.id); err != nil {
			return nil, 0, fmt.Errorf("claim entry %d: %w", e.id, err)
		}
	}

	// Then new entries past the group's cursor.
	if len(batch) < limit {
		rows, err := s.query(ctx, tx, qNew, group, limit-len(batch))
		if err != nil {
			return nil, 0, fmt.Errorf("find new entries: %w", err)
		}
		var fresh []entry
		for rows.Next() {
			e := entry{attempts: 1}
			if err := rows.Scan(&e.id, &e.body); err != nil {
				rows.Close()
				return nil, 0, fmt.Errorf("scan new entry: %w", err)
			}
			fresh = append(fresh, e)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, 0, fmt.Errorf("find new entries: %w", err)
		}
		if len(fresh) > 0 {
			ids := make([]int64, len(fresh))
			for i, e := range fresh {
				ids[i] = e.id
			}
			if _, err := s.exec(ctx, tx, qLease, group, consumer, lease, idList(ids)); err != nil {
				return nil, 0, fmt.Errorf("lease %d new entries: %w", len(ids), err)
			}
			if _, err := s.exec(ctx, tx, qCursor, fresh[len(fresh)-1].id, group); err != nil {
				return nil, 0, fmt.Errorf("advance cursor of group %s: %w", group, err)
			}
		}
		batch = append(batch, fresh...)
	}

	var nextDue int64
	if len(batch) == 0 {
		var due sql.NullInt64
		if err := s.queryRow(ctx, tx, qNextDue, group).Scan(&due); err != nil {
			return nil, 0, fmt.Errorf("next due entry: %w", err)
		}
		nextDue = due.Int64
	}
	return batch, nextDue, nil
}

// DeadLetters lists up to limit dead letters (all groups), oldest first. A
// limit of zero or less means 100.
func (s *Stream) DeadLetters(ctx context.Context, limit int) ([]gateway.DeadLetter, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, body, reason, attempts, failed_at
		FROM dead_letters ORDER BY id LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("list dead letters: %w", err)
	}
	defer rows.Close()
	var out []gateway.DeadLetter
	for rows.Next() {
		var (
			id       int64
			body     []byte
			failedAt int64
			d        gateway.DeadLetter
		)
		if err := rows.Scan(&id, &body, &d.Reason, &d.Attempts, &failedAt); err != nil {
			return nil, fmt.Errorf("scan dead letter: %w", err)
		}
		d.ID = strconv.FormatInt(id, 10)
		d.FailedAt = time.UnixMilli(failedAt).UTC()
		if err := json.Unmarshal(body, &d.Message); err != nil {
			d.Reason += " (message undecodable: " + err.Error() + ")"
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list dead letters: %w", err)
	}
	return out, nil
}

// Replay moves dead letter id back onto the stream for the group that
// dead-lettered it, with a fresh attempt count.
func (s *Stream) Replay(ctx context.Context, id string) error {
	n, err := strconv.ParseInt(strings.TrimSpace(id), 10, 64)
	if err != nil {
		return fmt.Errorf("replay %q: %w", id, gateway.ErrUnknownDeadLetter)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("replay %s: %w", id, err)
	}
	defer tx.Rollback()
	var (
		group string
		body  []byte
	)
	err = tx.QueryRowContext(ctx, `SELECT grp, body FROM dead_letters WHERE id = ?`, n).Scan(&group, &body)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("replay %s: %w", id, gateway.ErrUnknownDeadLetter)
	}
	if err != nil {
		return fmt.Errorf("replay %s: %w", id, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO entries (body, only_group, created_at) VALUES (?, ?, ?)`,
		body, group, s.nowMS()); err != nil {
		return fmt.Errorf("replay %s: %w", id, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM dead_letters WHERE id = ?`, n); err != nil {
		return fmt.Errorf("replay %s: %w", id, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("replay %s: %w", id, err)
	}
	s.signal()
	return nil
}

// Len reports how many entries the stream retains.
func (s *Stream) Len(ctx context.Context) (int64, error) {
	var n int64
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM entries`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count entries: %w", err)
	}
	return n, nil
}

// Close stops this handle's consumers (their handlers' contexts are
// cancelled), waits for them to record what they finished, and closes the
// file. Nothing is deleted. Closing twice is harmless.
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
	s.pubs.Close() // after the consumers: nothing waits on a publish then
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close stream: %w", err)
	}
	return nil
}

var _ gateway.Stream = (*Stream)(nil)
