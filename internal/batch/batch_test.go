package batch

import (
	"context"
	"errors"
	"fmt"
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
