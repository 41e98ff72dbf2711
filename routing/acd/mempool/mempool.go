// Package mempool is the in-memory acd.AgentPool: the embedded default for
// a single Dargah instance. Its state lives and dies with the process.
package mempool

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/dargah137/dargah/routing/acd"
)

// Pool is an in-memory acd.AgentPool, safe for concurrent use.
type Pool struct {
	now    func() time.Time
	mu     sync.Mutex
	agents map[string]acd.Agent
}

// New returns an empty pool; now is the clock (time.Now when nil).
func New(now func() time.Time) *Pool {
	if now == nil {
		now = time.Now
	}
	return &Pool{now: now, agents: map[string]acd.Agent{}}
}

func (p *Pool) apply(ctx context.Context, id string, create bool, op acd.Op) (acd.Agent, error) {
	if err := ctx.Err(); err != nil {
		return acd.Agent{}, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	a, ok := p.agents[id]
	if !ok {
		if !create {
			return acd.Agent{}, fmt.Errorf("agent %s: %w", id, acd.ErrNotFound)
		}
		a = acd.Agent{ID: id}
	}
	a = a.Effective(now).Clone()
	if err := op(&a, now); err != nil {
		return acd.Agent{}, err
	}
	p.agents[id] = a
	return a.Clone(), nil
}

// Login implements acd.AgentPool.
func (p *Pool) Login(ctx context.Context, agentID string, skills map[string]int, endpoint string) (acd.Agent, error) {
	if err := acd.ValidateLogin(agentID, skills, endpoint); err != nil {
		return acd.Agent{}, err
	}
	return p.apply(ctx, agentID, true, acd.LoginOp(skills, endpoint))
}

// Logout implements acd.AgentPool.
func (p *Pool) Logout(ctx context.Context, agentID string) (acd.Agent, error) {
	return p.apply(ctx, agentID, false, acd.LogoutOp())
}

// SetState implements acd.AgentPool.
func (p *Pool) SetState(ctx context.Context, agentID string, to acd.State) (acd.Agent, error) {
	return p.apply(ctx, agentID, false, acd.SetStateOp(to))
}

// Pause implements acd.AgentPool.
func (p *Pool) Pause(ctx context.Context, agentID, reason string) (acd.Agent, error) {
	return p.apply(ctx, agentID, false, acd.PauseOp(reason))
}

// Claim implements acd.AgentPool.
func (p *Pool) Claim(ctx context.Context, agentID, callID string) (acd.Agent, error) {
	return p.apply(ctx, agentID, false, acd.ClaimOp(callID))
}

// Release implements acd.AgentPool.
func (p *Pool) Release(ctx context.Context, agentID, callID string, wrapUp time.Duration) (acd.Agent, error) {
	return p.apply(ctx, agentID, false, acd.ReleaseOp(callID, wrapUp))
}

// MissedRing implements acd.AgentPool.
func (p *Pool) MissedRing(ctx context.Context, agentID, callID string, maxMisses int) (acd.Agent, error) {
	return p.apply(ctx, agentID, false, acd.MissedRingOp(callID, maxMisses))
}

// WrapUpDone implements acd.AgentPool.
func (p *Pool) WrapUpDone(ctx context.Context, agentID string) (acd.Agent, error) {
	return p.apply(ctx, agentID, false, acd.WrapUpDoneOp())
}

// Get implements acd.AgentPool.
func (p *Pool) Get(ctx context.Context, agentID string) (acd.Agent, error) {
	if err := ctx.Err(); err != nil {
		return acd.Agent{}, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	a, ok := p.agents[agentID]
	if !ok {
		return acd.Agent{}, fmt.Errorf("agent %s: %w", agentID, acd.ErrNotFound)
	}
	return a.Effective(p.now()).Clone(), nil
}

// List implements acd.AgentPool.
func (p *Pool) List(ctx context.Context) ([]acd.Agent, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	out := make([]acd.Agent, 0, len(p.agents))
	for _, a := range p.agents {
		out = append(out, a.Effective(now).Clone())
	}
	slices.SortFunc(out, func(a, b acd.Agent) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

var _ acd.AgentPool = (*Pool)(nil)
