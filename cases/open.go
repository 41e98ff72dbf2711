package cases

import (
	"time"

	"github.com/dargah137/dargah/gateway"
)

// FromMessage is the case that decision d opens for message m, with
// tracking code code, opened at now, before the process assigns it: what
// every store writes when it opens a case. A decision without a service
// code keeps the one the citizen chose; the message's language wins over
// the contact's.
func FromMessage(m gateway.Message, d gateway.Decision, code string, now time.Time) Case {
	c := Case{
		TrackingCode: code, Status: StatusOpen, ServiceCode: d.ServiceCode, Portal: m.Portal, PortalKind: m.PortalKind,
		SourceMessageID: m.ID, ThreadKey: m.ThreadKey, Contact: m.Contact, Description: m.Text,
		Language: m.Language, Rule: d.Rule, OpenedAt: now, UpdatedAt: now,
	}
	if c.ServiceCode == "" {
		c.ServiceCode = m.ServiceCode
	}
	if c.Language == "" {
		c.Language = m.Contact.Language
	}
	if m.Location != nil {
		l := *m.Location
		c.Location = &l
	}
	for _, a := range m.Attachments {
		c.Attachments = append(c.Attachments, a.ID)
	}
	return c
}

// FindsDuplicates reports whether a case being opened is checked for an
// open case it duplicates: there is an Opened hook to mark it, a radius,
// and a point to measure from.
func (h *Hooks) FindsDuplicates(c Case) bool {
	return h != nil && h.Opened != nil && h.DuplicateRadiusM > 0 && c.Location.HasPoint()
}

// OpenedEffects runs h's Opened hook on c and st, the case decision d
// opens for message m, before the store writes it, so the case is written
// once, already assigned. It returns what to write with the case: the
// "opened" event first, then the hook's events and outbox rows, and its
// Duplicates for the store to act on. A hook that reports Unchanged leaves
// c and st as they were; without an Opened hook only the event comes back.
func OpenedEffects(h *Hooks, c *Case, st *State, m gateway.Message, d gateway.Decision, now time.Time) (Effects, error) {
	opened := Event{At: now, Kind: "opened", Public: true, Data: map[string]string{"message_id": m.ID, "rule": d.Rule}}
	if h == nil || h.Opened == nil {
		return Effects{Events: []Event{opened}}, nil
	}
	hc, hst := *c, *st
	eff, err := h.Opened(&hc, &hst, m)
	if err != nil {
		return Effects{}, err
	}
	if eff.Unchanged {
		return Effects{Events: []Event{opened}}, nil
	}
	*c, *st = hc, hst
	c.UpdatedAt = now
	eff.Events = append([]Event{opened}, eff.Events...)
	return eff, nil
}
