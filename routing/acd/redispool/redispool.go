// Package redispool is the acd.AgentPool on Redis (go-redis v9), shared by
// every Dargah instance of a deployment, so that no agent is ever given two
// calls, whichever instance routes them.
//
// Layout, for Config.Prefix P:
//
//	P agent:ID   string: the agent as JSON
//	P agents     set: every agent ID that ever logged in
//
// Every change is an optimistic read-modify-write: the new state is
// computed by the same acd.Op functions the in-memory pool uses, then
// written by a Lua compare-and-set that succeeds only if the stored JSON is
// still byte for byte what was read; otherwise the change is decided again
// on the current value (two round trips when uncontended). Two instances claiming one available agent
// therefore see exactly one success; the other retry reads "ringing" and
// gets acd.ErrNotAvailable. Wrap-up expiry is computed on read
// (acd.Agent.Effective) from the injected clock, so no instance needs a
// timer for it.
//
// For Redis Cluster put a hash tag in Prefix (e.g. "dargah:{acd}:") so the
// keys of one transaction share a slot.
package redispool

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/dargah137/dargah/routing/acd"
)

// Config configures a Pool.
type Config struct {
	// Prefix goes before every key, e.g. "dargah:"; required.
	Prefix string
	// Now is the clock; time.Now when nil. Instances sharing a pool
	// should have synchronized clocks (wrap-up ends are absolute times).
	Now func() time.Time
}

// Validate reports settings that cannot work.
func (c Config) Validate() error {
	if c.Prefix == "" {
		return errors.New("prefix is required (e.g. \"dargah:acd:\")")
	}
	return nil
}

// Pool is an acd.AgentPool on Redis, safe for concurrent use.
type Pool struct {
	rdb    redis.UniversalClient
	prefix string
	now    func() time.Time
}

// maxTxRetries bounds optimistic retries of one change under contention.
const maxTxRetries = 64

// New returns a pool on client. The client stays the caller's.
func New(client redis.UniversalClient, cfg Config) (*Pool, error) {
	if client == nil {
		return nil, errors.New("redispool: client is required")
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("redispool config: %w", err)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Pool{rdb: client, prefix: cfg.Prefix, now: cfg.Now}, nil
}

func (p *Pool) key(id string) string { return p.prefix + "agent:" + id }
func (p *Pool) setKey() string       { return p.prefix + "agents" }

func decode(id string, raw []byte) (acd.Agent, error) {
	var a acd.Agent
	if err := json.Unmarshal(raw, &a); err != nil {
		return acd.Agent{}, fmt.Errorf("redispool: decode agent %s: %w", id, err)
	}
	return a, nil
}

// casScript replaces the agent's JSON only if it is still exactly what
// the caller read (ARGV[1]; "" for "no such key"), and adds the ID to the
// set. On a mismatch it returns the current value so the caller can retry
// without another read. One round trip, no connection pinned by WATCH.
var casScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur == false then cur = '' end
if cur ~= ARGV[1] then return {0, cur} end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
return {1, ''}
`)

func (p *Pool) apply(ctx context.Context, id string, create bool, op acd.Op) (acd.Agent, error) {
	key := p.key(id)
	raw, err := p.rdb.Get(ctx, key).Result()
	if errors.Is(err, redis.Nil) {
		raw, err = "", nil
	}
	if err != nil {
		return acd.Agent{}, fmt.Errorf("redispool: read agent %s: %w", id, err)
	}
	for range maxTxRetries {
		now := p.now()
		var a acd.Agent
		if raw == "" {
			if !create {
				return acd.Agent{}, fmt.Errorf("agent %s: %w", id, acd.ErrNotFound)
			}
			a = acd.Agent{ID: id}
		} else if a, err = decode(id, []byte(raw)); err != nil {
			return acd.Agent{}, err
		}
		a = a.Effective(now)
		if err := op(&a, now); err != nil {
			return acd.Agent{}, err
		}
		b, err := json.Marshal(a)
		if err != nil {
			return acd.Agent{}, fmt.Errorf("redispool: encode agent %s: %w", id, err)
		}
		res, err := casScript.Run(ctx, p.rdb, []string{key, p.setKey()}, raw, b, id).Slice()
		if err != nil {
			return acd.Agent{}, fmt.Errorf("redispool: change agent %s: %w", id, err)
		}
		if ok, _ := res[0].(int64); ok == 1 {
			return a, nil
		}
		// Someone changed the agent since we read it: decide again on
		// what is there now.
		raw, _ = res[1].(string)
	}
	return acd.Agent{}, fmt.Errorf("redispool: change agent %s: gave up after %d conflicting writers", id, maxTxRetries)
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
	raw, err := p.rdb.Get(ctx, p.key(agentID)).Bytes()
	if errors.Is(err, redis.Nil) {
		return acd.Agent{}, fmt.Errorf("agent %s: %w", agentID, acd.ErrNotFound)
	}
	if err != nil {
		return acd.Agent{}, fmt.Errorf("redispool: get agent %s: %w", agentID, err)
	}
	a, err := decode(agentID, raw)
	if err != nil {
		return acd.Agent{}, err
	}
	return a.Effective(p.now()), nil
}

// List implements acd.AgentPool.
func (p *Pool) List(ctx context.Context) ([]acd.Agent, error) {
	ids, err := p.rdb.SMembers(ctx, p.setKey()).Result()
	if err != nil {
		return nil, fmt.Errorf("redispool: list agents: %w", err)
	}
	slices.Sort(ids)
	out := make([]acd.Agent, 0, len(ids))
	const batch = 500
	now := p.now()
	for start := 0; start < len(ids); start += batch {
		part := ids[start:min(start+batch, len(ids))]
		keys := make([]string, len(part))
		for i, id := range part {
			keys[i] = p.key(id)
		}
		vals, err := p.rdb.MGet(ctx, keys...).Result()
		if err != nil {
			return nil, fmt.Errorf("redispool: list agents: %w", err)
		}
		for i, v := range vals {
			s, ok := v.(string)
			if !ok {
				continue // listed but deleted by an operator
			}
			a, err := decode(part[i], []byte(s))
			if err != nil {
				return nil, err
			}
			out = append(out, a.Effective(now))
		}
	}
	slices.SortFunc(out, func(a, b acd.Agent) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

var _ acd.AgentPool = (*Pool)(nil)
