package gateway

import "sync"

// Streams may handle the entries of a batch side by side, but a citizen's
// messages must still be routed in the order they came: a second message
// may continue the case the first one opened. Lanes keep that order.

// Conversation is m's conversation: its portal and thread key, or ""
// when it has no thread key, which orders it with nothing.
func (m Message) Conversation() string {
	if m.ThreadKey == "" {
		return ""
	}
	return m.Portal + "\x00" + m.ThreadKey
}

// lanes groups the indexes 0…n-1 by conversation, each lane in index
// order; an index whose conversation is "" has a lane of its own.
func lanes(n int, conversation func(i int) string) [][]int {
	var out [][]int
	at := map[string]int{}
	for i := range n {
		key := conversation(i)
		if key == "" {
			out = append(out, []int{i})
			continue
		}
		if l, ok := at[key]; ok {
			out[l] = append(out[l], i)
			continue
		}
		at[key] = len(out)
		out = append(out, []int{i})
	}
	return out
}

// RunByConversation calls run for each index 0…n-1, up to concurrency at
// once, those of one conversation one after another in index order. With
// concurrency ≤ 1 it calls them one by one in index order.
func RunByConversation(n, concurrency int, conversation func(i int) string, run func(i int)) {
	if concurrency <= 1 || n <= 1 {
		for i := range n {
			run(i)
		}
		return
	}
	slots := make(chan struct{}, concurrency)
	var wg sync.WaitGroup
	for _, lane := range lanes(n, conversation) {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			for _, i := range lane {
				run(i)
			}
		})
	}
	wg.Wait()
}
