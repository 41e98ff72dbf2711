package escalation

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dargah137/dargah/cases/org"
	"github.com/dargah137/dargah/cases/workcal"
	"gopkg.in/yaml.v3"
)

// duration is a time.Duration in YAML: Go syntax ("72h", "1h30m") or whole
// days ("3d"). Days are 24 h of the ladder's time mode, not calendar days.
type duration time.Duration

func (d *duration) UnmarshalYAML(n *yaml.Node) error {
	s := strings.TrimSpace(n.Value)
	if n.Kind != yaml.ScalarNode || s == "" {
		return fmt.Errorf("line %d: want a duration like 72h or 3d", n.Line)
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		v, err := strconv.Atoi(days)
		if err != nil || v < 0 || v > 3650 {
			return fmt.Errorf("line %d: %q is not a duration like 3d", n.Line, s)
		}
		*d = duration(time.Duration(v) * 24 * time.Hour)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration like 72h", n.Line, s)
	}
	*d = duration(v)
	return nil
}

type fileLevel struct {
	Name        string      `yaml:"name"`
	Recipients  []Recipient `yaml:"recipients"`
	Notify      []Medium    `yaml:"notify"`
	After       *duration   `yaml:"after"`
	RemindEvery *duration   `yaml:"remind_every"`
}

type fileLadder struct {
	Time   TimeMode    `yaml:"time"`
	Levels []fileLevel `yaml:"levels"`
}

type fileOverride struct {
	Time   TimeMode             `yaml:"time"`
	Levels map[string]fileLevel `yaml:"levels"` // by level name; set fields replace
}

type fileProcess struct {
	Time             TimeMode  `yaml:"time"`
	FollowUpDeadline *duration `yaml:"follow_up_deadline"`
	FeedbackTimeout  *duration `yaml:"feedback_timeout"`
	DuplicateRadiusM *float64  `yaml:"duplicate_radius_m"`
}

type file struct {
	Calendar workcal.Config          `yaml:"calendar"`
	Process  fileProcess             `yaml:"process"`
	Ladder   fileLadder              `yaml:"ladder"`
	Services map[string]fileOverride `yaml:"services"`
}

// Defaults for the process section.
const (
	DefaultFollowUpDeadline = 72 * time.Hour
	DefaultFeedbackTimeout  = 72 * time.Hour
	DefaultDuplicateRadiusM = 50
)

// Load reads and checks an escalation file. Check it against the
// organization with Validate before use.
func Load(path string) (*Ladder, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load escalation: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes and checks an escalation file; name prefixes every error.
// Decoding is strict (unknown keys fail). Sections:
//
//   - calendar: workcal.Config (timezone, weekend, holidays, office_hours,
//     short_days) over workcal.DefaultConfig: keys left out keep the default.
//   - process: time, follow_up_deadline, feedback_timeout, duplicate_radius_m.
//   - ladder: time (working|wall) and levels, each with name, recipients,
//     notify, after (not on level 0, required after it) and remind_every
//     (final level only, required there).
//   - services: per service code, time and/or levels by name whose set
//     fields replace the default level's.
func Parse(name string, data []byte) (*Ladder, error) {
	// The calendar section is decoded over the defaults: a file that only
	// changes the weekend keeps the shipped holidays ("holidays: []" drops them).
	f := file{Calendar: workcal.DefaultConfig()}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: empty escalation file", name)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s: %s", name, key, fmt.Sprintf(format, args...)))
	}

	cal, err := workcal.New(f.Calendar)
	if err != nil {
		bad("calendar", "%v", err)
	}

	l := &Ladder{Name: name, Calendar: cal, services: map[string]Plan{}}
	l.Process = Process{
		Time:             f.Process.Time,
		FollowUpDeadline: DefaultFollowUpDeadline,
		FeedbackTimeout:  DefaultFeedbackTimeout,
		DuplicateRadiusM: DefaultDuplicateRadiusM,
	}
	if !checkMode(bad, "process.time", &l.Process.Time) {
		l.Process.Time = Working
	}
	if p := f.Process.FollowUpDeadline; p != nil {
		l.Process.FollowUpDeadline = time.Duration(*p)
		if *p <= 0 {
			bad("process.follow_up_deadline", "must be positive")
		}
	}
	if p := f.Process.FeedbackTimeout; p != nil {
		l.Process.FeedbackTimeout = time.Duration(*p)
		if *p <= 0 {
			bad("process.feedback_timeout", "must be positive")
		}
	}
	if p := f.Process.DuplicateRadiusM; p != nil {
		l.Process.DuplicateRadiusM = *p
		if !(*p >= 0 && *p <= 10_000) {
			bad("process.duplicate_radius_m", "%v is not between 0 and 10000", *p)
		}
	}

	l.def = Plan{Time: f.Ladder.Time, cal: cal}
	checkMode(bad, "ladder.time", &l.def.Time)
	if len(f.Ladder.Levels) == 0 {
		bad("ladder.levels", "at least one level is required")
	}
	for _, fl := range f.Ladder.Levels {
		lv := Level{Name: fl.Name, Recipients: fl.Recipients, Notify: fl.Notify}
		if fl.After != nil {
			lv.After = time.Duration(*fl.After)
		}
		if fl.RemindEvery != nil {
			lv.RemindEvery = time.Duration(*fl.RemindEvery)
		}
		l.def.Levels = append(l.def.Levels, lv)
	}
	checkPlan(bad, "ladder", l.def)

	for _, svc := range slices.Sorted(maps.Keys(f.Services)) {
		o := f.Services[svc]
		key := "services." + svc
		p := Plan{Time: l.def.Time, cal: cal, Overridden: true, Levels: slices.Clone(l.def.Levels)}
		if o.Time != "" {
			p.Time = o.Time
			checkMode(bad, key+".time", &p.Time)
		}
		for lname, ol := range o.Levels {
			i := slices.IndexFunc(p.Levels, func(x Level) bool { return x.Name == lname })
			if i < 0 {
				bad(key+".levels."+lname, "no level %q in the default ladder", lname)
				continue
			}
			if ol.Name != "" && ol.Name != lname {
				bad(key+".levels."+lname+".name", "levels cannot be renamed")
			}
			lv := p.Levels[i]
			if ol.Recipients != nil {
				lv.Recipients = ol.Recipients
			}
			if ol.Notify != nil {
				lv.Notify = ol.Notify
			}
			if ol.After != nil {
				lv.After = time.Duration(*ol.After)
			}
			if ol.RemindEvery != nil {
				lv.RemindEvery = time.Duration(*ol.RemindEvery)
			}
			p.Levels[i] = lv
		}
		checkPlan(bad, key, p)
		l.services[svc] = p
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return l, nil
}

func checkMode(bad func(key, format string, args ...any), key string, m *TimeMode) bool {
	switch *m {
	case "":
		*m = Working
	case Working, Wall:
	default:
		bad(key, "%q is not working or wall", *m)
		return false
	}
	return true
}

// checkPlan checks the shape of a plan (what needs no organization).
func checkPlan(bad func(key, format string, args ...any), key string, p Plan) {
	seen := map[string]bool{}
	for i, lv := range p.Levels {
		k := fmt.Sprintf("%s.levels[%d]", key, i)
		if lv.Name == "" {
			bad(k+".name", "missing")
		} else if seen[lv.Name] {
			bad(k+".name", "duplicate level %q", lv.Name)
		}
		seen[lv.Name] = true
		k = fmt.Sprintf("%s.levels[%d] (%s)", key, i, lv.Name)
		if len(lv.Recipients) == 0 {
			bad(k+".recipients", "at least one recipient is required")
		}
		for _, r := range lv.Recipients {
			if !r.known() {
				bad(k+".recipients", "%q is not a role (department_head, department_deputy, department_manager, inspection, follow_up, feedback) or contact:NAME", r)
			}
		}
		if len(lv.Notify) == 0 {
			bad(k+".notify", "at least one of webhook, email, sms is required")
		}
		for _, m := range lv.Notify {
			if m != MediumWebhook && m != MediumEmail && m != MediumSMS {
				bad(k+".notify", "%q is not webhook, email or sms", m)
			}
		}
		switch {
		case i == 0 && lv.After != 0:
			bad(k+".after", "level 0 starts at assignment; give its time as levels[1].after")
		case i > 0 && lv.After <= 0:
			bad(k+".after", "must be positive (how long after the previous level started this one starts)")
		}
		final := i == len(p.Levels)-1
		switch {
		case final && lv.RemindEvery <= 0:
			bad(k+".remind_every", "the final level needs a positive reminder period")
		case !final && lv.RemindEvery != 0:
			bad(k+".remind_every", "only the final level has a reminder period")
		}
	}
}

// Validate checks the ladder against an organization: every recipient of
// every plan resolves to a contact for every department that plan can
// reach, each contact has what its level's media need (email address,
// phone), webhook levels reach departments with a webhook, and every
// override names a service the organization has. All problems are
// reported, joined, each naming the file, the plan, the level and the
// department.
func (l *Ladder) Validate(o *org.Org) error {
	var errs []error
	seen := map[string]bool{} // a unit's missing phone shows once, not per department
	bad := func(key, format string, args ...any) {
		e := fmt.Sprintf("%s: %s: %s", l.Name, key, fmt.Sprintf(format, args...))
		if !seen[e] {
			seen[e] = true
			errs = append(errs, errors.New(e))
		}
	}
	// The default plan reaches every department some service maps to.
	var all []string
	for _, d := range o.Departments {
		if slices.Contains(slices.Collect(maps.Values(o.Services)), d.Code) {
			all = append(all, d.Code)
		}
	}
	validatePlan(bad, "ladder", l.def, o, all)
	for _, svc := range slices.Sorted(maps.Keys(l.services)) {
		dept, ok := o.Services[svc]
		if !ok {
			bad("services."+svc, "service %q is not in %s", svc, o.Name)
			continue
		}
		validatePlan(bad, "services."+svc, l.services[svc], o, []string{dept})
	}
	return errors.Join(errs...)
}

func validatePlan(bad func(key, format string, args ...any), key string, p Plan, o *org.Org, depts []string) {
	for i, lv := range p.Levels {
		k := fmt.Sprintf("%s.levels[%d] (%s)", key, i, lv.Name)
		for _, code := range depts {
			d, _ := o.Department(code)
			if lv.Notifies(MediumWebhook) && d.Webhook == nil {
				bad(k+".notify", "webhook, but department %s has no webhook in %s", code, o.Name)
			}
			for _, r := range lv.Recipients {
				// department_head reaches the head and every district office.
				offices := []org.Contact{d.Head}
				if role, _ := r.Role(); role == RoleDepartmentHead {
					for _, dc := range slices.Sorted(maps.Keys(d.Offices)) {
						offices = append(offices, d.Offices[dc])
					}
				}
				for _, office := range offices {
					_, c, err := resolve(o, d, office, r)
					if err != nil {
						bad(k, "%v", err)
						continue
					}
					if lv.Notifies(MediumEmail) && c.Email == "" && lv.Notifies(MediumSMS) && c.Phone == "" {
						bad(k, "%s (%s) has neither email nor phone", r, c.Name)
					} else if lv.Notifies(MediumEmail) && !lv.Notifies(MediumSMS) && c.Email == "" {
						bad(k, "%s (%s) has no email", r, c.Name)
					} else if lv.Notifies(MediumSMS) && !lv.Notifies(MediumEmail) && c.Phone == "" {
						bad(k, "%s (%s) has no phone", r, c.Name)
					}
				}
			}
		}
	}
}
