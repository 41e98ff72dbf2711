// Package acd is Dargah's automatic call distribution for the 137 phone
// line: skill-based routing of queued calls to agents, and agent presence.
// Asterisk's own queue application cannot be driven through ARI and knows
// no skills, so the Asterisk adapter queues calls here instead.
//
// Agents have skills with levels 1–5 (languages fa, ar, ur, en; domains
// such as asphalt, green_space, pilgrims, general), a phone endpoint, and a
// State. Their presence lives behind AgentPool: mempool for one process,
// redispool when several Dargah instances share agents. Claim is atomic in
// both, so an agent never gets two calls.
//
// A Dispatcher holds one instance's waiting calls in memory (the instance
// that owns the caller's channel owns its queue entry) and routes them:
// head-of-line calls in priority, then entry-time order get the longest
// idle available agent that has every required skill at the required
// level, the requirement widening as the call waits (QueueConfig.Widen).
//
// The adapter's loop, roughly:
//
//	d.Enqueue(acd.Call{ID: ch, Queue: "asphalt", Language: "fa", Caller: num})
//	for _, a := range d.Dispatch(ctx) { ring a.Agent.Endpoint for a.RingTimeout }
//	on answer: d.Answered(ctx, ch); on hangup after it: d.Completed(ctx, ch)
//	on ring timeout: d.Missed(ctx, ch); caller hangs up: d.Abandon(ctx, ch)
//	periodically: d.Sync(ctx) (agents changed elsewhere), d.Overdue(), d.Dispatch(ctx)
package acd
