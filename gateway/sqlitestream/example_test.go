package sqlitestream_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/dargah137/dargah/gateway"
	"github.com/dargah137/dargah/gateway/sqlitestream"
)

func Example() {
	dir, _ := os.MkdirTemp("", "dargah")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	s, err := sqlitestream.Open(ctx, filepath.Join(dir, "data", "stream.db"), sqlitestream.Config{
		Options: gateway.StreamOptions{MaxAttempts: 5, RetryDelay: time.Second},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()

	_ = s.Publish(ctx, gateway.Message{ID: "m1", Portal: "web", PortalKind: "webform", PortalMessageID: "42", Text: "سلام"})

	ctx, cancel := context.WithCancel(ctx)
	err = s.Consume(ctx, "router", "worker-1", func(ctx context.Context, d gateway.Delivery) error {
		fmt.Println(d.Message.ID, d.Attempt, d.Message.Text)
		cancel() // a real worker keeps going until shutdown
		return nil
	})
	fmt.Println(err)
	// Output:
	// m1 1 سلام
	// context canceled
}
