package app

import (
	"context"
	"fmt"
	"time"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/channels"
)

// caseView is the public, read-only face of the case store that portals
// use to answer citizens: only what the citizen who holds the tracking code
// may see — never contact details, never staff-only events.
type caseView struct {
	store cases.Store
}

func (v caseView) CaseStatus(ctx context.Context, code string) (channels.CaseStatus, error) {
	c, err := v.store.CaseGetByTracking(ctx, code)
	if err != nil {
		return channels.CaseStatus{}, fmt.Errorf("case %s: %w", code, err)
	}
	return v.public(ctx, c, true)
}

func (v caseView) CaseSearch(ctx context.Context, q channels.CaseQuery) ([]channels.CaseStatus, error) {
	f := cases.Filter{TrackingCodes: q.TrackingCodes, ServiceCode: q.ServiceCode, OpenedFrom: q.From, OpenedTo: q.To, Limit: q.Limit}
	switch q.Status {
	case "open":
		f.Statuses = []cases.Status{cases.StatusOpen, cases.StatusAssigned, cases.StatusAnswered, cases.StatusVerified, cases.StatusWaiting, cases.StatusFollowUp}
	case "closed":
		f.Statuses = []cases.Status{cases.StatusClosed}
	}
	list, err := v.store.CaseSearch(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("search cases: %w", err)
	}
	out := make([]channels.CaseStatus, 0, len(list))
	for _, c := range list {
		s, err := v.public(ctx, c, false)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// CasesByPhone lists the newest cases a caller opened, for the screen pop
// an agent sees when the phone rings (staff only: the telephony portal's
// agent API sits behind the agents' token).
func (v caseView) CasesByPhone(ctx context.Context, phone string, limit int) ([]channels.CaseStatus, error) {
	list, err := v.store.CaseSearch(ctx, cases.Filter{Phone: phone, Limit: limit})
	if err != nil {
		return nil, fmt.Errorf("cases of %s: %w", phone, err)
	}
	out := make([]channels.CaseStatus, 0, len(list))
	for _, c := range list {
		s, err := v.public(ctx, c, false)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func (v caseView) public(ctx context.Context, c cases.Case, timeline bool) (channels.CaseStatus, error) {
	s := channels.CaseStatus{
		TrackingCode: c.TrackingCode,
		Status:       string(c.Status),
		ServiceCode:  c.ServiceCode,
		Portal:       c.PortalKind,
		Description:  c.Description,
		Department:   c.Department,
		Answer:       c.Answer,
		OpenedAt:     c.OpenedAt,
		UpdatedAt:    c.UpdatedAt,
		Timeline:     []channels.TimelineEntry{},
	}
	if c.Location != nil {
		s.Address, s.Lat, s.Long = c.Location.Address, c.Location.Lat, c.Location.Long
	}
	if !timeline {
		return s, nil
	}
	events, err := v.store.CaseEvents(ctx, c.ID, true)
	if err != nil {
		return s, fmt.Errorf("timeline of case %s: %w", c.TrackingCode, err)
	}
	for _, e := range events {
		s.Timeline = append(s.Timeline, channels.TimelineEntry{At: e.At, Kind: e.Kind, Note: e.Note})
	}
	return s, nil
}

// caseNotes implements channels.Timeline over the process store: a note is
// one more staff-only event, written under the case's lock like any step.
type caseNotes struct {
	store cases.ProcessStore
	now   func() time.Time
}

func (n caseNotes) CaseNote(ctx context.Context, code, kind, note string) error {
	_, _, err := n.store.CaseStep(ctx, code, func(c *cases.Case, st *cases.State) (cases.Effects, error) {
		return cases.Effects{Events: []cases.Event{{At: n.now(), Kind: kind, Note: note, Actor: "portal"}}}, nil
	})
	if err != nil {
		return fmt.Errorf("note %s on case %s: %w", kind, code, err)
	}
	return nil
}
