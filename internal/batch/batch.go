// Package batch runs concurrent calls together. A caller hands in one
// request and waits; whoever runs the next batch takes every request that
// is waiting (up to a bound) and serves them with one function call, so a
// database sees one statement and one commit where it would have seen
// many. Nothing waits for a batch to fill: a lone request runs at once, and
// requests that arrive while a batch runs make up the next one, so batches
// grow with load and latency stays that of a single call when it is quiet.
//
// A caller that finds a runner slot free runs the batch itself, in its own
// goroutine: at moderate load most calls then cost no hand-off to another
// goroutine (a wake-up, often a futex, per direction). Once its own
// request is served it returns, and if requests are still waiting a new
// goroutine carries on with its slot, so no caller serves others for long.
package batch

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// ErrClosed is returned by Do after Close.
var ErrClosed = errors.New("batch: closed")

// Result is one request's outcome.
type Result[Out any] struct {
	Out Out
	Err error
}

// RunFunc serves a batch: it returns one Result per input, in order. Its
// ctx is not any caller's: a batch must not fail because one caller left.
type RunFunc[In, Out any] func(ctx context.Context, ins []In) []Result[Out]

// Batcher collects concurrent Do calls into batches for RunFunc.
type Batcher[In, Out any] struct {
	run RunFunc[In, Out]
	max int

	mu     sync.Mutex
	queue  []*call[In, Out] // waiting to be taken, oldest first
	free   int              // runner slots not in use
	closed bool
	active sync.WaitGroup // slots in use

	ctx    context.Context // the batches' context, ended by Close
	cancel context.CancelFunc
}

type call[In, Out any] struct {
	in   In
	done chan Result[Out] // buffered: a runner never waits for a caller
}

// New returns a Batcher that runs at most runners batches at a time, each
// of at most max requests. Several runners let batches overlap (one
// commits while the next is built), which a database with more than one
// core turns into throughput.
func New[In, Out any](runners, max int, run RunFunc[In, Out]) *Batcher[In, Out] {
	ctx, cancel := context.WithCancel(context.Background())
	return &Batcher[In, Out]{run: run, max: clamp(max), free: clamp(runners), ctx: ctx, cancel: cancel}
}

func clamp(n int) int { return max(n, 1) }

// Do hands in in and waits for its result. If ctx ends before a runner has
// taken the request, Do returns ctx.Err() and the request never runs; once
// taken, Do waits for the outcome whatever ctx does, so a caller never has
// to guess whether its write happened.
func (b *Batcher[In, Out]) Do(ctx context.Context, in In) (Out, error) {
	var zero Out
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	c := &call[In, Out]{in: in, done: make(chan Result[Out], 1)}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return zero, ErrClosed
	}
	b.queue = append(b.queue, c)
	drive := b.free > 0
	if drive {
		b.free--
		b.active.Add(1)
	}
	b.mu.Unlock()
	if drive {
		b.drive(c)
	}
	select {
	case r := <-c.done:
		return r.Out, r.Err
	case <-ctx.Done():
		if b.withdraw(c) {
			return zero, ctx.Err()
		}
		r := <-c.done // taken: wait for the outcome
		return r.Out, r.Err
	}
}

// withdraw takes c off the queue if no runner has taken it yet.
func (b *Batcher[In, Out]) withdraw(c *call[In, Out]) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, q := range b.queue {
		if q == c {
			b.queue = append(b.queue[:i], b.queue[i+1:]...)
			return true
		}
	}
	return false
}

// drive holds a runner slot and serves batches. With own set (a caller's
// request) it stops once own is served, handing the slot to a new
// goroutine if requests are still waiting; with own nil it serves until
// the queue is empty. The slot is released with the queue seen empty under
// the lock, so a request queued behind busy runners is never stranded.
func (b *Batcher[In, Out]) drive(own *call[In, Out]) {
	for {
		b.mu.Lock()
		n := min(len(b.queue), b.max)
		if n == 0 {
			b.free++
			b.mu.Unlock()
			b.active.Done()
			return
		}
		batch := make([]*call[In, Out], n)
		copy(batch, b.queue)
		b.queue = append(b.queue[:0], b.queue[n:]...)
		b.mu.Unlock()
		b.serve(batch)
		// own's result, once in its buffered channel, is read only after
		// drive returns: whoever served it, a full channel means done.
		if own != nil && len(own.done) > 0 {
			// Our answer is in: release the slot, or, if requests are
			// waiting, let another goroutine go on with it.
			b.mu.Lock()
			if len(b.queue) == 0 {
				b.free++
				b.mu.Unlock()
				b.active.Done()
				return
			}
			b.mu.Unlock()
			go b.drive(nil)
			return
		}
	}
}

// serve runs one batch and answers every caller, also when run panics or
// returns the wrong number of results: callers must never hang on a bug.
func (b *Batcher[In, Out]) serve(batch []*call[In, Out]) {
	ins := make([]In, len(batch))
	for i, c := range batch {
		ins[i] = c.in
	}
	var results []Result[Out]
	func() {
		defer func() {
			if p := recover(); p != nil {
				results = nil
				err := fmt.Errorf("batch: run panicked: %v", p)
				for range batch {
					results = append(results, Result[Out]{Err: err})
				}
			}
		}()
		results = b.run(b.ctx, ins)
	}()
	for i, c := range batch {
		if i < len(results) {
			c.done <- results[i]
		} else {
			c.done <- Result[Out]{Err: fmt.Errorf("batch: run returned %d results for %d requests", len(results), len(batch))}
		}
	}
}

// Close stops taking requests, lets running batches finish and returns
// once none runs. Calls still waiting to be taken get ErrClosed.
func (b *Batcher[In, Out]) Close() {
	b.mu.Lock()
	b.closed = true
	waiting := b.queue
	b.queue = nil
	b.mu.Unlock()
	for _, c := range waiting {
		c.done <- Result[Out]{Err: ErrClosed}
	}
	b.active.Wait()
	b.cancel()
}
