package gateway_test

import (
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dargah137/dargah/gateway"
)

func TestConversation(t *testing.T) {
	a := gateway.Message{Portal: "telegram", ThreadKey: "chat:1"}.Conversation()
	b := gateway.Message{Portal: "bale", ThreadKey: "chat:1"}.Conversation()
	if a == "" || a == b {
		t.Errorf("conversations %q and %q: want distinct, non-empty keys for two portals' chat:1", a, b)
	}
	if k := (gateway.Message{Portal: "web"}).Conversation(); k != "" {
		t.Errorf("no thread key: got %q, want none", k)
	}
}

// RunByConversation runs conversations side by side (every one waits
// until all have started) and each one in order.
func TestRunByConversation(t *testing.T) {
	keys := []string{"a", "b", "c", "a", "b", "c"}
	conversation := func(i int) string { return keys[i] }
	lanes := [][]int{{0, 3}, {1, 4}, {2, 5}}
	var started sync.WaitGroup
	started.Add(len(lanes))
	allIn := make(chan struct{})
	go func() { started.Wait(); close(allIn) }()
	var mu sync.Mutex
	var order []int
	var apart atomic.Bool
	gateway.RunByConversation(len(keys), len(lanes), conversation, func(i int) {
		if i < len(lanes) {
			started.Done()
			select {
			case <-allIn:
			case <-time.After(time.Second): // one at a time, the first waits in vain
				apart.Store(true)
			}
		}
		mu.Lock()
		order = append(order, i)
		mu.Unlock()
	})
	if apart.Load() {
		t.Fatal("lanes did not run side by side")
	}
	pos := map[int]int{}
	for p, i := range order {
		pos[i] = p
	}
	for _, lane := range lanes {
		if pos[lane[0]] > pos[lane[1]] {
			t.Errorf("lane %v ran out of order: %v", lane, order)
		}
	}
	order = nil
	gateway.RunByConversation(len(keys), 1, conversation, func(i int) { order = append(order, i) }) // no lock: one by one
	if want := []int{0, 1, 2, 3, 4, 5}; !reflect.DeepEqual(order, want) {
		t.Errorf("one at a time ran %v, want index order %v", order, want)
	}
}
