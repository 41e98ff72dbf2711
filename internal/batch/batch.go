// Package batch runs concurrent calls together. A caller hands in one
// request and waits; a runner takes every request that is waiting (up to a
// bound) and serves them with one function call, so a database sees one
// statement and one commit where it would have seen many. Nothing waits
// for a batch to fill: a lone request runs at once, and requests that
// arrive while a batch runs make up the next one, so batches grow with
// load and latency stays that of a single call when it is quiet.
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
	run  RunFunc[In, Out]
	max  int
	reqs chan *call[In, Out]

	ctx    context.Context // the runners' context, ended by Close
	cancel context.CancelFunc
	quit   chan struct{}
	wg     sync.WaitGroup
	once   sync.Once
}

type call[In, Out any] struct {
	in   In
	done chan Result[Out] // buffered: a runner never waits for a caller
}

// New starts runners goroutines that serve batches of at most max requests.
// Several runners let batches overlap (one commits while the next is
// built), which a database with more than one core turns into throughput.
func New[In, Out any](runners, max int, run RunFunc[In, Out]) *Batcher[In, Out] {
	runners, max = clamp(runners), clamp(max)
	ctx, cancel := context.WithCancel(context.Background())
	b := &Batcher[In, Out]{run: run, max: max, reqs: make(chan *call[In, Out]), ctx: ctx, cancel: cancel,
		quit: make(chan struct{})}
	b.wg.Add(runners)
	for range runners {
		go b.loop()
	}
	return b
}

func clamp(n int) int { return max(n, 1) }

// Do hands in in and waits for its result. If ctx ends before a runner has
// taken the request, Do returns ctx.Err() and the request never runs; once
// taken, Do waits for the outcome whatever ctx does, so a caller never has
// to guess whether its write happened.
func (b *Batcher[In, Out]) Do(ctx context.Context, in In) (Out, error) {
	c := &call[In, Out]{in: in, done: make(chan Result[Out], 1)}
	var zero Out
	select {
	case b.reqs <- c:
	case <-b.quit:
		return zero, ErrClosed
	case <-ctx.Done():
		return zero, ctx.Err()
	}
	r := <-c.done
	return r.Out, r.Err
}

func (b *Batcher[In, Out]) loop() {
	defer b.wg.Done()
	for {
		var batch []*call[In, Out]
		select {
		case c := <-b.reqs:
			batch = append(batch, c)
		case <-b.quit:
			return
		}
	fill:
		for len(batch) < b.max {
			select {
			case c := <-b.reqs:
				batch = append(batch, c)
			default:
				break fill
			}
		}
		b.serve(batch)
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
// once every runner has stopped. Calls waiting to be taken get ErrClosed.
func (b *Batcher[In, Out]) Close() {
	b.once.Do(func() { close(b.quit) })
	b.wg.Wait()
	b.cancel()
}
