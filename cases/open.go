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
