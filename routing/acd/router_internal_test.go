package acd

import (
	"testing"
	"time"
)

func TestWakeAt(t *testing.T) {
	t.Parallel()
	cfg := Config{Queues: []QueueConfig{{
		Name: "q", Skills: map[string]int{"asphalt": 3}, LanguageLevel: 2,
		Widen: []WidenStep{{After: time.Minute, LanguageLevel: 1}, {After: 2 * time.Minute}},
	}}}.WithDefaults()
	r := newRouter(cfg)
	t0 := time.Date(2026, 3, 21, 8, 0, 0, 0, time.UTC)
	if got := r.wakeAt(t0); !got.IsZero() {
		t.Fatalf("empty router wakes at %v", got)
	}
	if err := r.add(Call{ID: "c", Queue: "q", Language: "fa", EnqueuedAt: t0}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ now, want time.Duration }{
		{0, time.Minute}, {59 * time.Second, time.Minute}, {time.Minute, 2 * time.Minute}, {2 * time.Minute, -1},
	} {
		got := r.wakeAt(t0.Add(tc.now))
		if tc.want < 0 {
			if !got.IsZero() {
				t.Errorf("at %v: wake %v, want none", tc.now, got)
			}
			continue
		}
		if !got.Equal(t0.Add(tc.want)) {
			t.Errorf("at %v: wake %v, want +%v", tc.now, got.Sub(t0), tc.want)
		}
	}
	r.setAgent(Agent{ID: "a", State: WrapUp, WrapUpUntil: t0.Add(3 * time.Minute), Skills: map[string]int{"fa": 1}}, t0.Add(2*time.Minute))
	if got := r.wakeAt(t0.Add(2 * time.Minute)); !got.Equal(t0.Add(3 * time.Minute)) {
		t.Errorf("wrap-up wake %v", got.Sub(t0))
	}
	// The wrap-up ends: the agent is routed to without being told.
	a, ok := r.next(t0.Add(3 * time.Minute))
	if !ok || a.Agent.ID != "a" || a.Call.ID != "c" {
		t.Fatalf("after wrap-up: %+v %v", a, ok)
	}
}

func TestHeap(t *testing.T) {
	t.Parallel()
	type item struct{ v, idx int }
	h := iheap[*item]{less: func(a, b *item) bool { return a.v < b.v }, setIdx: func(x *item, i int) { x.idx = i }}
	items := []*item{}
	for _, v := range []int{5, 3, 8, 1, 9, 2, 7, 4, 6, 0} {
		x := &item{v: v}
		items = append(items, x)
		h.Push(x)
	}
	// Remove from the middle, then drain in order.
	h.Remove(items[2].idx) // 8
	h.Remove(items[3].idx) // 1
	if items[2].idx != -1 {
		t.Fatal("removed item keeps an index")
	}
	var got []int
	for h.Len() > 0 {
		got = append(got, h.Remove(0).v)
	}
	want := []int{0, 2, 3, 4, 5, 6, 7, 9}
	if len(got) != len(want) {
		t.Fatalf("%v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("%v, want %v", got, want)
		}
	}
}
