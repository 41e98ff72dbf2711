package acd

import (
	"errors"
	"fmt"
	"maps"
	"time"
)

// State is an agent's presence state.
type State string

// Agent states. The legal moves are:
//
//	logged_out → available                      (Login)
//	available  → ringing                        (Claim)
//	ringing    → on_call                        (SetState on_call: the agent answered)
//	ringing    → available                      (Release: the caller hung up; MissedRing)
//	ringing    → paused "missed calls"          (MissedRing, the Nth miss in a row)
//	on_call    → wrap_up | available            (Release, with or without wrap-up time)
//	wrap_up    → available                      (WrapUpDone, or by itself when wrap-up time ends)
//	available, wrap_up, paused → paused         (Pause; a paused agent may change reason)
//	paused     → available                      (SetState available)
//	available, wrap_up, paused → logged_out     (Logout)
//
// Anything else fails with an error wrapping ErrInvalidState.
const (
	Available State = "available"
	Ringing   State = "ringing"
	OnCall    State = "on_call"
	WrapUp    State = "wrap_up"
	Paused    State = "paused"
	LoggedOut State = "logged_out"
)

// States lists every state, in the order consoles show them.
var States = []State{Available, Ringing, OnCall, WrapUp, Paused, LoggedOut}

// ReasonMissedCalls is the pause reason MissedRing sets after too many
// missed rings in a row, so a supervisor can tell it from a chosen break.
const ReasonMissedCalls = "missed calls"

// MaxLevel and MinLevel bound a skill level.
const (
	MinLevel = 1
	MaxLevel = 5
)

var (
	// ErrInvalidState wraps every refused state change.
	ErrInvalidState = errors.New("acd: invalid agent state change")
	// ErrNotAvailable is returned by Claim when the agent is not (or no
	// longer) available; it wraps ErrInvalidState.
	ErrNotAvailable = fmt.Errorf("%w: agent is not available", ErrInvalidState)
	// ErrNotFound is returned for an agent that never logged in.
	ErrNotFound = errors.New("acd: agent not found")
)

// Agent is one agent's presence as an AgentPool stores it. Values are
// copies: changing one changes nothing in the pool.
type Agent struct {
	ID string `json:"id"`
	// Endpoint is what the telephony adapter dials, e.g. "PJSIP/agent101".
	Endpoint string `json:"endpoint"`
	// Skills maps a skill (language "fa", domain "asphalt"...) to a level 1–5.
	Skills map[string]int `json:"skills"`
	State  State          `json:"state"`
	// Since is when State began.
	Since time.Time `json:"since"`
	// IdleSince is when the agent last became available; the longest idle
	// agent gets the next call. A ring cut short by the caller keeps it; a
	// missed ring restarts it.
	IdleSince   time.Time `json:"idle_since"`
	PauseReason string    `json:"pause_reason,omitempty"`
	// CallID is the call the agent is ringing for, talking on, or wrapping up.
	CallID string `json:"call_id,omitempty"`
	// WrapUpUntil is when wrap-up ends by itself.
	WrapUpUntil time.Time `json:"wrap_up_until,omitzero"`
	// Misses counts missed rings in a row; answering resets it.
	Misses int `json:"misses"`
}

// Clone returns a copy that shares no map with a.
func (a Agent) Clone() Agent {
	a.Skills = maps.Clone(a.Skills)
	return a
}

// Effective returns a as it stands at now: an agent whose wrap-up time has
// passed is available, idle since the end of wrap-up. Pools store states
// lazily this way, so wrap-up ends on time without a timer in any process.
func (a Agent) Effective(now time.Time) Agent {
	if a.State == WrapUp && !now.Before(a.WrapUpUntil) {
		a.State = Available
		a.Since = a.WrapUpUntil
		a.IdleSince = a.WrapUpUntil
		a.WrapUpUntil = time.Time{}
		a.CallID = ""
	}
	return a
}

// LoggedIn reports whether the agent is logged in.
func (a Agent) LoggedIn() bool { return a.State != LoggedOut && a.State != "" }

// ValidateLogin checks what Login is given.
func ValidateLogin(agentID string, skills map[string]int, endpoint string) error {
	var errs []error
	if agentID == "" {
		errs = append(errs, errors.New("agent id is required"))
	}
	if endpoint == "" {
		errs = append(errs, errors.New("endpoint is required"))
	}
	for s, l := range skills {
		if s == "" {
			errs = append(errs, errors.New("skill name is empty"))
		}
		if l < MinLevel || l > MaxLevel {
			errs = append(errs, fmt.Errorf("skill %q level %d is outside %d–%d", s, l, MinLevel, MaxLevel))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("acd: login %q: %w", agentID, err)
	}
	return nil
}

// Op is one state change. AgentPool implementations apply it atomically to
// the agent's effective state (see Effective); a is the zero Agent (with ID
// set) when the agent is unknown, and only LoginOp accepts that.
type Op func(a *Agent, now time.Time) error

func invalid(a *Agent, what string) error {
	state := a.State
	if state == "" {
		state = LoggedOut
	}
	return fmt.Errorf("%w: %s: agent %s is %s", ErrInvalidState, what, a.ID, state)
}

func (a *Agent) become(s State, now time.Time) {
	a.State = s
	a.Since = now
	if s == Available {
		a.IdleSince = now
	}
	if s != Paused {
		a.PauseReason = ""
	}
	if s != WrapUp {
		a.WrapUpUntil = time.Time{}
	}
	if s == Available || s == Paused || s == LoggedOut {
		a.CallID = ""
	}
}

// LoginOp logs the agent in as available. Logging in again while logged in
// only replaces skills and endpoint (a supervisor's edit, a console restart)
// and keeps the state.
func LoginOp(skills map[string]int, endpoint string) Op {
	skills = maps.Clone(skills)
	return func(a *Agent, now time.Time) error {
		a.Skills = maps.Clone(skills)
		a.Endpoint = endpoint
		if !a.LoggedIn() {
			a.Misses = 0
			a.become(Available, now)
		}
		return nil
	}
}

// LogoutOp logs out an agent that is not ringing or on a call.
func LogoutOp() Op {
	return func(a *Agent, now time.Time) error {
		switch a.State {
		case Available, WrapUp, Paused:
			a.become(LoggedOut, now)
			return nil
		}
		return invalid(a, "log out")
	}
}

// PauseOp pauses an available, wrapping-up or paused agent.
func PauseOp(reason string) Op {
	return func(a *Agent, now time.Time) error {
		if reason == "" {
			return fmt.Errorf("%w: pause agent %s: a reason is required", ErrInvalidState, a.ID)
		}
		switch a.State {
		case Available, WrapUp, Paused:
			a.become(Paused, now)
			a.PauseReason = reason
			return nil
		}
		return invalid(a, "pause")
	}
}

// SetStateOp moves to available (from paused or wrap_up), on_call (from
// ringing: the agent answered) or logged_out (as LogoutOp). Ringing,
// wrap_up and paused need Claim, Release and Pause, which carry a call or
// a reason.
func SetStateOp(to State) Op {
	return func(a *Agent, now time.Time) error {
		switch {
		case to == Available && (a.State == Paused || a.State == WrapUp):
			a.Misses = 0
			a.become(Available, now)
			return nil
		case to == OnCall && a.State == Ringing:
			a.Misses = 0
			a.become(OnCall, now)
			return nil
		case to == LoggedOut:
			return LogoutOp()(a, now)
		}
		return invalid(a, "set state "+string(to))
	}
}

// ClaimOp reserves an available agent for callID: the agent starts ringing.
// It fails with ErrNotAvailable in any other state.
func ClaimOp(callID string) Op {
	return func(a *Agent, now time.Time) error {
		if callID == "" {
			return fmt.Errorf("%w: claim agent %s: call id is required", ErrInvalidState, a.ID)
		}
		if a.State != Available {
			return fmt.Errorf("claim agent %s for call %s: %w (%s)", a.ID, callID, ErrNotAvailable, stateName(a.State))
		}
		a.become(Ringing, now)
		a.CallID = callID
		return nil
	}
}

func stateName(s State) State {
	if s == "" {
		return LoggedOut
	}
	return s
}

func (a *Agent) checkCall(callID, what string) error {
	if callID != "" && a.CallID != callID {
		return fmt.Errorf("%w: %s: agent %s has call %q, not %q", ErrInvalidState, what, a.ID, a.CallID, callID)
	}
	return nil
}

// ReleaseOp ends the agent's part in callID (empty matches any call). A
// ringing agent (the caller hung up) is available again and keeps its idle
// time; an agent on the call goes to wrap-up for wrapUp, or straight to
// available when wrapUp is 0.
func ReleaseOp(callID string, wrapUp time.Duration) Op {
	return func(a *Agent, now time.Time) error {
		if err := a.checkCall(callID, "release"); err != nil {
			return err
		}
		switch a.State {
		case Ringing:
			idle := a.IdleSince
			a.become(Available, now)
			a.IdleSince = idle
			return nil
		case OnCall:
			if wrapUp <= 0 {
				a.become(Available, now)
				return nil
			}
			call := a.CallID
			a.become(WrapUp, now)
			a.CallID = call
			a.WrapUpUntil = now.Add(wrapUp)
			return nil
		}
		return invalid(a, "release")
	}
}

// MissedRingOp records that the agent let callID ring out (or declined).
// The agent is available again, idle from now, unless this is miss
// number maxMisses in a row (maxMisses > 0): then it is paused with
// ReasonMissedCalls.
func MissedRingOp(callID string, maxMisses int) Op {
	return func(a *Agent, now time.Time) error {
		if err := a.checkCall(callID, "missed ring"); err != nil {
			return err
		}
		if a.State != Ringing {
			return invalid(a, "missed ring")
		}
		a.Misses++
		if maxMisses > 0 && a.Misses >= maxMisses {
			a.become(Paused, now)
			a.PauseReason = ReasonMissedCalls
			return nil
		}
		// Available again from now: the agent goes behind those who
		// waited, so the requeued caller is offered to someone else first
		// rather than ringing the same phone again.
		a.become(Available, now)
		return nil
	}
}

// WrapUpDoneOp ends wrap-up early: the agent is available now.
func WrapUpDoneOp() Op {
	return func(a *Agent, now time.Time) error {
		if a.State != WrapUp {
			return invalid(a, "end wrap-up")
		}
		a.become(Available, now)
		return nil
	}
}
