package acd_test

import (
	"context"
	"fmt"
	"time"

	"github.com/dargah137/dargah/routing/acd"
	"github.com/dargah137/dargah/routing/acd/acdtest"
	"github.com/dargah137/dargah/routing/acd/mempool"
)

// A telephony adapter's view: queue a caller, ring the agent the
// dispatcher picks, report the answer and the hang-up.
func Example() {
	ctx := context.Background()
	clk := acdtest.NewClock() // time.Now in production
	d, err := acd.New(acd.Options{
		Pool: mempool.New(clk.Now), // redispool.New(client, ...) with several instances
		Now:  clk.Now,
		Config: acd.Config{Queues: []acd.QueueConfig{{
			Name: "asphalt", Skills: map[string]int{"asphalt": 2}, LanguageLevel: 2,
			Widen: []acd.WidenStep{{After: 60 * time.Second, LanguageLevel: 1}, {After: 120 * time.Second}},
		}}},
	})
	if err != nil {
		panic(err)
	}
	_, _ = d.Login(ctx, "agent101", map[string]int{"fa": 5, "asphalt": 3}, "PJSIP/agent101")
	_, _ = d.Enqueue(acd.Call{ID: "chan-1", Queue: "asphalt", Language: "fa", Caller: "09151234567"})
	_, _ = d.Enqueue(acd.Call{ID: "chan-2", Queue: "asphalt", Language: "fa"})
	pos, _ := d.Position("chan-2")
	fmt.Println("chan-2 is number", pos, "in line")

	as, _ := d.Dispatch(ctx)
	for _, a := range as {
		fmt.Printf("ring %s for %s (up to %s)\n", a.Agent.Endpoint, a.Call.ID, a.RingTimeout)
	}
	clk.Advance(8 * time.Second)
	agent, _ := d.Answered(ctx, "chan-1")
	fmt.Println("agent101 is", agent.State)
	clk.Advance(3 * time.Minute)
	agent, _ = d.Completed(ctx, "chan-1")
	fmt.Println("agent101 is", agent.State, "until", agent.WrapUpUntil.Sub(clk.Now()))

	s := d.Stats().Queues["asphalt"]
	fmt.Printf("waiting %d, answered %d, service level %.0f%%\n", s.Waiting, s.Answered, 100*s.ServiceLevel)
	// Output:
	// chan-2 is number 2 in line
	// ring PJSIP/agent101 for chan-1 (up to 20s)
	// agent101 is on_call
	// agent101 is wrap_up until 10s
	// waiting 1, answered 1, service level 100%
}
