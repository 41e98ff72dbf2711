// Package escalation is the escalation ladder of the 137 process as data:
// ordered levels, who each level notifies and how, and how long each level
// has before the next one starts. The shipped ladder (configs/escalation.yaml):
//
//	level 0  department head (or the district office)  — 72 h
//	level 1  department deputy                         — 24 h more
//	level 2  department manager AND the inspection org — final, reminded every 24 h
//
// Services may override single levels (street_lighting: 48 h for the head).
// Durations count working time on the calendar in the same file (Friday
// and holidays do not count) unless a ladder says `time: wall`.
//
// # How a scheduler uses it
//
//	plan := ladder.For(c.ServiceCode)
//	due := plan.DueAt(levelStart, c.EscalationLevel, nil)  // store with the case
//	// when now >= due:
//	if plan.Final(level) { remind plan.Targets(org, a, level); next due = plan.DueAt(due, level, nil) }
//	else { level++; levelStart = due; notify plan.Targets(org, a, level); next due = plan.DueAt(levelStart, level, nil) }
//
// Passing the due time (not "now") as the next levelStart keeps a late
// scheduler run from stretching the ladder.
//
// A *Ladder is read-only after Load/Parse and safe for concurrent use.
package escalation

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dargah137/dargah/cases/org"
	"github.com/dargah137/dargah/cases/workcal"
)

// Role is who a recipient is relative to the case.
type Role string

// Roles a level can address. A recipient is one of these or "contact:NAME"
// for a named contact of the organization's contacts section.
const (
	// RoleDepartmentHead is the department's office in the case's district
	// when it has one, otherwise the department head (org.Assignment.Office).
	RoleDepartmentHead    Role = "department_head"
	RoleDepartmentDeputy  Role = "department_deputy"
	RoleDepartmentManager Role = "department_manager"
	RoleInspection        Role = "inspection"
	RoleFollowUp          Role = "follow_up"
	RoleFeedback          Role = "feedback"
	// RoleContact is a named contact; the recipient is written "contact:NAME".
	RoleContact Role = "contact"
)

const contactPrefix = "contact:"

// Recipient is a role name or "contact:NAME".
type Recipient string

// Role returns the recipient's role and, for RoleContact, the contact name.
func (r Recipient) Role() (Role, string) {
	if name, ok := strings.CutPrefix(string(r), contactPrefix); ok {
		return RoleContact, name
	}
	return Role(r), ""
}

func (r Recipient) known() bool {
	role, name := r.Role()
	switch role {
	case RoleDepartmentHead, RoleDepartmentDeputy, RoleDepartmentManager, RoleInspection, RoleFollowUp, RoleFeedback:
		return true
	case RoleContact:
		return name != ""
	}
	return false
}

// Medium is how a level notifies.
type Medium string

const (
	// MediumWebhook posts the event once per level to the case department's
	// office automation (cases/officeauto); it does not depend on the recipients.
	MediumWebhook Medium = "webhook"
	// MediumEmail and MediumSMS go to every recipient of the level.
	MediumEmail Medium = "email"
	MediumSMS   Medium = "sms"
)

// TimeMode says how a ladder's durations count.
type TimeMode string

const (
	// Working counts only working time on the calendar (the default).
	Working TimeMode = "working"
	// Wall counts every hour.
	Wall TimeMode = "wall"
)

// Level is one step of a plan.
type Level struct {
	// Name identifies the level in overrides and logs (head, deputy, final).
	Name       string
	Recipients []Recipient
	Notify     []Medium
	// After is how long after the previous level started this one starts;
	// 0 for level 0, which starts when the case is assigned.
	After time.Duration
	// RemindEvery is the final level's reminder period; 0 on other levels.
	RemindEvery time.Duration
}

// Notifies reports whether the level uses medium m.
func (l Level) Notifies(m Medium) bool {
	for _, x := range l.Notify {
		if x == m {
			return true
		}
	}
	return false
}

// Plan is the ladder that applies to one service code. Get it from
// Ladder.For; the zero Plan has no levels and its methods panic.
type Plan struct {
	// Service is the code For was asked about; Overridden reports whether a
	// services: entry changed the default ladder for it.
	Service    string
	Overridden bool
	Time       TimeMode
	Levels     []Level
	cal        *workcal.Calendar
}

// Len is the number of levels (at least 1).
func (p Plan) Len() int { return len(p.Levels) }

// Level returns level i. An index past the last level returns the final
// level (a case stays at the top once it gets there); a negative one level 0.
func (p Plan) Level(i int) Level {
	return p.Levels[p.clamp(i)]
}

func (p Plan) clamp(i int) int {
	if i < 0 {
		return 0
	}
	if i >= len(p.Levels) {
		return len(p.Levels) - 1
	}
	return i
}

// Final reports whether level is the last one: its deadline sends a
// reminder to the same recipients instead of escalating.
func (p Plan) Final(level int) bool { return level >= len(p.Levels)-1 }

// Period is how long level has before its deadline: the next level's After,
// or the final level's RemindEvery.
func (p Plan) Period(level int) time.Duration {
	i := p.clamp(level)
	if p.Final(i) {
		return p.Levels[i].RemindEvery
	}
	return p.Levels[i+1].After
}

// DueAt returns when level, started at levelStart, runs out: the moment to
// escalate to level+1 or, on the final level, to remind. With Time ==
// Working it counts on cal, or on the ladder's own calendar when cal is
// nil; with Wall (or no calendar at all) it adds plain time.
func (p Plan) DueAt(levelStart time.Time, level int, cal *workcal.Calendar) time.Time {
	d := p.Period(level)
	if p.Time == Wall {
		return levelStart.Add(d)
	}
	if cal == nil {
		cal = p.cal
	}
	if cal == nil {
		return levelStart.Add(d)
	}
	return cal.Add(levelStart, d)
}

// Target is one resolved recipient of a level.
type Target struct {
	Recipient Recipient
	// Title names the recipient's body for messages ("سازمان بازرسی…",
	// the department's name); empty for named contacts.
	Title   org.Names
	Contact org.Contact
	// Notify lists the level's person-addressed media this contact can
	// receive (email needs an address, sms a phone); webhook is left out,
	// see Plan.Webhook.
	Notify []Medium
}

// Targets resolves the recipients of level for a case assigned as a.
// Validate against the same org makes errors here impossible except for an
// assignment whose department was not in the validated org.
func (p Plan) Targets(o *org.Org, a org.Assignment, level int) ([]Target, error) {
	l := p.Level(level)
	out := make([]Target, 0, len(l.Recipients))
	for _, r := range l.Recipients {
		title, c, err := resolve(o, a.Department, a.Office, r)
		if err != nil {
			return nil, fmt.Errorf("level %d (%s): %w", p.clamp(level), l.Name, err)
		}
		t := Target{Recipient: r, Title: title, Contact: c}
		for _, m := range l.Notify {
			if (m == MediumEmail && c.Email != "") || (m == MediumSMS && c.Phone != "") {
				t.Notify = append(t.Notify, m)
			}
		}
		out = append(out, t)
	}
	return out, nil
}

// Webhook returns the department's office automation endpoint when level
// notifies by webhook and the department has one.
func (p Plan) Webhook(a org.Assignment, level int) (org.Webhook, bool) {
	if !p.Level(level).Notifies(MediumWebhook) || a.Department.Webhook == nil {
		return org.Webhook{}, false
	}
	return *a.Department.Webhook, true
}

// ErrUnresolved is wrapped when a recipient has no contact in the organization.
var ErrUnresolved = errors.New("unresolved recipient")

func resolve(o *org.Org, d org.Department, office org.Contact, r Recipient) (org.Names, org.Contact, error) {
	role, name := r.Role()
	var (
		title org.Names
		c     org.Contact
	)
	switch role {
	case RoleDepartmentHead:
		title, c = d.Name, office
		if c.IsZero() {
			c = d.Head
		}
	case RoleDepartmentDeputy:
		title, c = d.Name, d.Deputy
	case RoleDepartmentManager:
		title, c = d.Name, d.Manager
	case RoleInspection:
		title, c = o.Inspection.Title, o.Inspection.Contact
	case RoleFollowUp:
		title, c = o.FollowUp.Title, o.FollowUp.Contact
	case RoleFeedback:
		title, c = o.Feedback.Title, o.Feedback.Contact
	case RoleContact:
		var ok bool
		if c, ok = o.Contact(name); !ok {
			return title, c, fmt.Errorf("%s: no contact %q in %s: %w", r, name, o.Name, ErrUnresolved)
		}
	default:
		return title, c, fmt.Errorf("%s: unknown role: %w", r, ErrUnresolved)
	}
	if c.IsZero() {
		who := string(role)
		if d.Code != "" && strings.HasPrefix(who, "department_") {
			who += " of department " + d.Code
		}
		return title, c, fmt.Errorf("%s is not set in %s: %w", who, o.Name, ErrUnresolved)
	}
	return title, c, nil
}

// Process holds the timings of the 137 process outside the ladder.
type Process struct {
	// Time is how FollowUpDeadline counts (default Working).
	Time TimeMode
	// FollowUpDeadline is how long the follow-up unit has for an answer
	// the citizen found unconvincing.
	FollowUpDeadline time.Duration
	// FeedbackTimeout: no rating from the citizen within it closes the case
	// as "no feedback". Always wall time: the citizen's evening counts.
	FeedbackTimeout time.Duration
	// DuplicateRadiusM is how close (metres) a new report of the same
	// service must be to an open case to be offered as its duplicate.
	DuplicateRadiusM float64
}

// Ladder is a loaded escalation file: the default plan, per-service
// overrides, the process timings and the working calendar.
type Ladder struct {
	// Name is the file name or the name given to Parse, used in errors.
	Name     string
	Process  Process
	Calendar *workcal.Calendar
	def      Plan
	services map[string]Plan
}

// For returns the plan for a service code: the default ladder with that
// service's overrides applied. Unknown codes get the default. Plans share
// memory with the Ladder: read them, do not modify their slices.
func (l *Ladder) For(serviceCode string) Plan {
	p, ok := l.services[serviceCode]
	if !ok {
		p = l.def
	}
	p.Service = serviceCode
	return p
}

// FollowUpDue is when the follow-up unit's time, started at start, runs out.
func (l *Ladder) FollowUpDue(start time.Time) time.Time {
	if l.Process.Time == Wall {
		return start.Add(l.Process.FollowUpDeadline)
	}
	return l.Calendar.Add(start, l.Process.FollowUpDeadline)
}

// FeedbackDue is when a case told to the citizen at start closes as "no
// feedback" if no rating arrived.
func (l *Ladder) FeedbackDue(start time.Time) time.Time {
	return start.Add(l.Process.FeedbackTimeout)
}

// Services lists the service codes that have overrides.
func (l *Ladder) Services() []string {
	out := make([]string, 0, len(l.services))
	for s := range l.services {
		out = append(out, s)
	}
	return out
}
