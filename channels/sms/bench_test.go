package sms_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/dargah137/dargah/channels/sms/smpp/smsctest"
	"github.com/dargah137/dargah/internal/app/apptest"
)

// BenchmarkSMPPMessageToReply measures the whole path for one-part SMS on
// the embedded runtime: deliver_sm → intake → stream → router → case →
// reply submit_sm accepted by the SMSC double, one message at a time
// (latency, not throughput).
func BenchmarkSMPPMessageToReply(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	srv := smsctest.New(b, smsctest.Config{})
	apptest.Start(b, apptest.Options{Portals: smppPortal(srv)})
	n := 0
	for b.Loop() {
		n++
		from := fmt.Sprintf("98912%07d", n)
		if err := srv.SendMO(ctx, from, "137", fmt.Sprintf("چاله بزرگ در خیابان شماره %d", n), smsctest.MOOptions{}); err != nil {
			b.Fatal(err)
		}
		if _, err := srv.WaitMessagesTo(ctx, from, 1); err != nil {
			b.Fatal(err)
		}
	}
}
