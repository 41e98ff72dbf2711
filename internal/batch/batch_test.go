package batch

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestResultsGoToTheirCallers(t *testing.T) {
	var mu sync.Mutex
	sizes := map[int]int{}
	b := New(2, 16, func(ctx context.Context, ins []int) []Result[string] {
		mu.Lock()
		sizes[len(ins)]++
		mu.Unlock()
		time.Sleep(time.Millisecond) // let others queue up
		out := make([]Result[string], len(ins))
		for i, in := range ins {
			if in%7 == 0 {
				out[i].Err = fmt.Errorf("seven divides %d", in)
				continue
			}
			out[i].Out = fmt.Sprint(in * 2)
		}
		return out
	})
	defer b.Close()
	var wg sync.WaitGroup
	for i := 1; i <= 400; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := b.Do(context.Background(), i)
			if i%7 == 0 {
				if err == nil {
					t.Errorf("%d: no error", i)
				}
				return
			}
			if err != nil || out != fmt.Sprint(i*2) {
				t.Errorf("%d: got %q, %v", i, out, err)
			}
		}()
	}
	wg.Wait()
	batched := 0
	for size, n := range sizes {
		if size > 16 {
			t.Errorf("batch of %d exceeds the bound 16", size)
		}
		if size > 1 {
			batched += n
		}
	}
	if batched == 0 {
		t.Errorf("400 concurrent calls never ran together: %v", sizes)
	}
}

func TestCallerLeavingBeforeTakenNeverRuns(t *testing.T) {
	release := make(chan struct{})
	ran := make(chan int, 10)
	b := New(1, 1, func(ctx context.Context, ins []int) []Result[int] {
		ran <- ins[0]
		<-release
		return []Result[int]{{Out: ins[0]}}
	})
	defer b.Close()
	go func() { _, _ = b.Do(context.Background(), 1) }()
	<-ran // the only runner is busy
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := b.Do(ctx, 2); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want deadline exceeded", err)
	}
	close(release)
	if out, err := b.Do(context.Background(), 3); err != nil || out != 3 {
		t.Fatalf("got %d, %v", out, err)
	}
	if got := <-ran; got != 3 {
		t.Fatalf("ran %d after 1: the abandoned request 2 ran", got)
	}
}

func TestPanicAndShortResultsAnswerEveryone(t *testing.T) {
	b := New(1, 8, func(ctx context.Context, ins []int) []Result[int] {
		if ins[0] < 0 {
			panic("negative")
		}
		return nil
	})
	defer b.Close()
	if _, err := b.Do(context.Background(), -1); err == nil {
		t.Fatal("panic: no error")
	}
	if _, err := b.Do(context.Background(), 1); err == nil {
		t.Fatal("missing result: no error")
	}
}

func TestClose(t *testing.T) {
	b := New(3, 8, func(ctx context.Context, ins []int) []Result[int] {
		return make([]Result[int], len(ins))
	})
	b.Close()
	b.Close() // twice is fine
	if _, err := b.Do(context.Background(), 1); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v, want ErrClosed", err)
	}
}

// A lone call runs in its caller's goroutine: no hand-off to pay for.
func TestLoneCallRunsInCaller(t *testing.T) {
	var inDo bool
	b := New(2, 8, func(ctx context.Context, ins []int) []Result[int] {
		pcs := make([]uintptr, 32)
		frames := runtime.CallersFrames(pcs[:runtime.Callers(1, pcs)])
		for {
			f, more := frames.Next()
			if strings.Contains(f.Function, "batch.(*Batcher[...]).Do") {
				inDo = true
			}
			if !more {
				break
			}
		}
		return make([]Result[int], len(ins))
	})
	defer b.Close()
	if _, err := b.Do(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	if !inDo {
		t.Fatal("a lone call was served by another goroutine")
	}
}

// A caller that runs a batch returns once its own request is served; the
// requests still waiting are served by another goroutine, not by it.
func TestCallerDoesNotServeOthers(t *testing.T) {
	first, second := make(chan struct{}), make(chan struct{})
	started := make(chan int, 16)
	b := New(1, 1, func(ctx context.Context, ins []int) []Result[int] {
		started <- ins[0]
		switch ins[0] {
		case 0:
			<-first
		case 1:
			<-second
		}
		return []Result[int]{{Out: ins[0]}}
	})
	defer b.Close()
	done0 := make(chan struct{})
	go func() {
		_, _ = b.Do(context.Background(), 0)
		close(done0)
	}()
	<-started // 0 runs, holding the only slot
	done1 := make(chan struct{})
	go func() {
		_, _ = b.Do(context.Background(), 1)
		close(done1)
	}()
	for { // wait until 1 is queued
		b.mu.Lock()
		n := len(b.queue)
		b.mu.Unlock()
		if n == 1 {
			break
		}
		runtime.Gosched()
	}
	close(first)
	<-done0 // returns while 1 is still being served (blocked on second)
	if got := <-started; got != 1 {
		t.Fatalf("served %d", got)
	}
	close(second)
	<-done1
}

// Callers that give up while queued are never run; all others run exactly
// once and get their own result.
func TestWithdrawUnderLoad(t *testing.T) {
	var mu sync.Mutex
	runs := map[int]int{}
	b := New(2, 4, func(ctx context.Context, ins []int) []Result[int] {
		time.Sleep(50 * time.Microsecond)
		mu.Lock()
		defer mu.Unlock()
		out := make([]Result[int], len(ins))
		for i, in := range ins {
			runs[in]++
			out[i].Out = in
		}
		return out
	})
	defer b.Close()
	const n = 2000
	gaveUp := make([]bool, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ctx, cancel := context.WithCancel(context.Background())
			if i%3 == 0 {
				cancel() // some leave at once, some while queued
			} else if i%3 == 1 {
				go func() { time.Sleep(time.Duration(i%50) * time.Microsecond); cancel() }()
			}
			out, err := b.Do(ctx, i)
			cancel()
			switch {
			case err != nil && errors.Is(err, context.Canceled):
				gaveUp[i] = true
			case err != nil || out != i:
				t.Errorf("%d: got %d, %v", i, out, err)
			}
		})
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	for i := range n {
		if want := map[bool]int{true: 0, false: 1}[gaveUp[i]]; runs[i] != want {
			t.Fatalf("request %d ran %d times; gave up: %v", i, runs[i], gaveUp[i])
		}
	}
}
