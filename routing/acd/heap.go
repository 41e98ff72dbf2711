package acd

// iheap is a binary min-heap whose items know their index, so an item can
// be removed or re-sorted in O(log n) (an agent leaving every bucket it is
// in, a caller hanging up mid-queue). It avoids container/heap's interface
// calls on the routing hot path.
type iheap[T any] struct {
	items  []T
	less   func(a, b T) bool
	setIdx func(T, int)
}

func (h *iheap[T]) Len() int { return len(h.items) }

func (h *iheap[T]) Top() T { return h.items[0] }

func (h *iheap[T]) Push(x T) {
	h.items = append(h.items, x)
	i := len(h.items) - 1
	h.setIdx(x, i)
	h.up(i)
}

// Remove takes out the item at index i.
func (h *iheap[T]) Remove(i int) T {
	n := len(h.items) - 1
	x := h.items[i]
	if i != n {
		h.swap(i, n)
	}
	var zero T
	h.items[n] = zero
	h.items = h.items[:n]
	if i != n {
		if !h.down(i) {
			h.up(i)
		}
	}
	h.setIdx(x, -1)
	return x
}

func (h *iheap[T]) swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	h.setIdx(h.items[i], i)
	h.setIdx(h.items[j], j)
}

func (h *iheap[T]) up(j int) {
	for j > 0 {
		i := (j - 1) / 2
		if !h.less(h.items[j], h.items[i]) {
			break
		}
		h.swap(i, j)
		j = i
	}
}

func (h *iheap[T]) down(i0 int) bool {
	i, n := i0, len(h.items)
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		j := l
		if r := l + 1; r < n && h.less(h.items[r], h.items[l]) {
			j = r
		}
		if !h.less(h.items[j], h.items[i]) {
			break
		}
		h.swap(i, j)
		i = j
	}
	return i > i0
}
