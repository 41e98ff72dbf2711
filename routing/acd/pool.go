package acd

import (
	"context"
	"time"
)

// AgentPool holds agent presence. Every method changes or reads one agent
// atomically, so two Dispatchers (in one process or in several Dargah
// instances sharing one backend) can never both Claim the same agent.
// Every returned Agent is its effective state (see Agent.Effective).
//
// Implementations: mempool (one process, the embedded default) and
// redispool (shared by all instances, production). Both pass
// acdtest.RunPool.
type AgentPool interface {
	// Login logs the agent in as available with these skills (levels 1–5)
	// and phone endpoint; if already logged in it only replaces skills and
	// endpoint.
	Login(ctx context.Context, agentID string, skills map[string]int, endpoint string) (Agent, error)
	// Logout logs out an agent that is available, wrapping up or paused.
	Logout(ctx context.Context, agentID string) (Agent, error)
	// SetState moves the agent to available (from paused or wrap-up),
	// on_call (from ringing: answered) or logged_out; see SetStateOp.
	SetState(ctx context.Context, agentID string, to State) (Agent, error)
	// Pause pauses the agent with a (required) reason.
	Pause(ctx context.Context, agentID, reason string) (Agent, error)
	// Claim makes an available agent ring for callID; it fails with an
	// error wrapping ErrNotAvailable otherwise. Exactly one of any number
	// of concurrent claims on one available agent succeeds.
	Claim(ctx context.Context, agentID, callID string) (Agent, error)
	// Release ends the agent's part in callID (see ReleaseOp): ringing →
	// available, on_call → wrap_up for wrapUp (or available when 0).
	Release(ctx context.Context, agentID, callID string, wrapUp time.Duration) (Agent, error)
	// MissedRing records an unanswered ring: the agent is available, idle
	// from now, except that miss number maxMisses in a row pauses it with
	// ReasonMissedCalls (see MissedRingOp).
	MissedRing(ctx context.Context, agentID, callID string, maxMisses int) (Agent, error)
	// WrapUpDone ends wrap-up early.
	WrapUpDone(ctx context.Context, agentID string) (Agent, error)
	// Get returns one agent, or an error wrapping ErrNotFound.
	Get(ctx context.Context, agentID string) (Agent, error)
	// List returns every agent that ever logged in (logged-out ones
	// included), ordered by ID.
	List(ctx context.Context) ([]Agent, error)
}
