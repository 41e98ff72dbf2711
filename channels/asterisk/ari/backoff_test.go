package ari

import (
	"testing"
	"time"
)

func TestBackoffBounds(t *testing.T) {
	t.Parallel()
	c, err := New(Config{URL: "http://127.0.0.1:1", Username: "a", Password: "b", App: "x",
		ReconnectMin: 100 * time.Millisecond, ReconnectMax: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for attempt := 1; attempt <= 20; attempt++ {
		ceil := min(100*time.Millisecond<<(attempt-1), 2*time.Second)
		if attempt > 10 {
			ceil = 2 * time.Second
		}
		for range 50 {
			d := c.backoff(attempt)
			if d < ceil/2 || d > ceil {
				t.Fatalf("attempt %d: %s outside [%s, %s]", attempt, d, ceil/2, ceil)
			}
		}
	}
}
