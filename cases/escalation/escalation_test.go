package escalation

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dargah137/dargah/cases/org"
	"github.com/dargah137/dargah/cases/workcal"
)

func shipped(t testing.TB) (*Ladder, *org.Org) {
	t.Helper()
	l, err := Load("../../configs/escalation.yaml")
	if err != nil {
		t.Fatalf("Load escalation: %v", err)
	}
	o, err := org.Load("../../configs/org.yaml")
	if err != nil {
		t.Fatalf("Load org: %v", err)
	}
	if err := l.Validate(o); err != nil {
		t.Fatalf("Validate shipped: %v", err)
	}
	return l, o
}

func at(y int, m time.Month, d, hh, mm int) time.Time {
	return time.Date(y, m, d, hh, mm, 0, 0, workcal.Tehran())
}

func TestShippedPlanDeadlines(t *testing.T) {
	t.Parallel()
	l, _ := shipped(t)
	wed := at(2026, 11, 25, 20, 0) // Wednesday evening; Friday the 27th is closed
	cases := []struct {
		service string
		level   int
		start   time.Time
		want    time.Time
	}{
		{"asphalt", 0, wed, at(2026, 11, 29, 20, 0)},                     // 72 working hours
		{"asphalt", 1, at(2026, 11, 29, 20, 0), at(2026, 11, 30, 20, 0)}, // +24h
		{"asphalt", 2, at(2026, 11, 30, 20, 0), at(2026, 12, 1, 20, 0)},  // reminder 24h
		{"asphalt", 7, at(2026, 11, 26, 20, 0), at(2026, 11, 28, 20, 0)}, // past the top = final; skips Friday
		{"street_lighting", 0, wed, at(2026, 11, 28, 20, 0)},             // 48h override
		{"traffic", 0, wed, at(2026, 11, 26, 20, 0)},                     // 24h
		{"traffic", 1, at(2026, 11, 26, 20, 0), at(2026, 11, 28, 8, 0)},  // 12h, over Friday
		{"no_such_service", 0, wed, at(2026, 11, 29, 20, 0)},             // default
		{"asphalt", 0, at(2026, 3, 19, 10, 0), at(2026, 3, 28, 10, 0)},   // across Nowruz: Thu 14h, Wed 24h, Thu 24h, Sat 10h
	}
	for _, c := range cases {
		p := l.For(c.service)
		if got := p.DueAt(c.start, c.level, nil); !got.Equal(c.want) {
			t.Errorf("%s level %d from %v: DueAt = %v, want %v", c.service, c.level, c.start, got, c.want)
		}
	}
}

func TestPlanShape(t *testing.T) {
	t.Parallel()
	l, _ := shipped(t)
	p := l.For("asphalt")
	if p.Len() != 3 || p.Service != "asphalt" || p.Overridden || p.Time != Working {
		t.Fatalf("plan = %+v", p)
	}
	if p.Final(0) || p.Final(1) || !p.Final(2) || !p.Final(9) {
		t.Error("Final")
	}
	if p.Level(-1).Name != "head" || p.Level(1).Name != "deputy" || p.Level(9).Name != "final" {
		t.Error("Level clamping")
	}
	if p.Period(0) != 72*time.Hour || p.Period(1) != 24*time.Hour || p.Period(2) != 24*time.Hour {
		t.Errorf("periods %v %v %v", p.Period(0), p.Period(1), p.Period(2))
	}
	sl := l.For("street_lighting")
	if !sl.Overridden || sl.Period(0) != 48*time.Hour || sl.Period(1) != 24*time.Hour {
		t.Errorf("street_lighting = %+v", sl)
	}
	// An override does not leak into the default plan.
	if l.For("asphalt").Period(0) != 72*time.Hour {
		t.Error("override leaked")
	}
	if got := l.Services(); len(got) != 2 {
		t.Errorf("Services = %v", got)
	}
}

func TestDueAtModes(t *testing.T) {
	t.Parallel()
	l, err := Parse("wall.yaml", []byte(strings.Replace(minimalLadder, "time: working", "time: wall", 1)))
	if err != nil {
		t.Fatal(err)
	}
	wed := at(2026, 11, 25, 20, 0)
	if got := l.For("x").DueAt(wed, 0, nil); !got.Equal(wed.Add(72 * time.Hour)) {
		t.Errorf("wall DueAt = %v", got)
	}
	// An explicit calendar replaces the ladder's own one.
	l2, err := Parse("min.yaml", []byte(minimalLadder))
	if err != nil {
		t.Fatal(err)
	}
	office := workcal.DefaultConfig()
	office.OfficeHours = &workcal.OfficeHours{Start: "07:30", End: "14:30"}
	cal, err := workcal.New(office)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := l2.For("x").DueAt(wed, 0, cal), cal.Add(wed, 72*time.Hour); !got.Equal(want) {
		t.Errorf("office DueAt = %v, want %v", got, want)
	}
	if got := l2.For("x").DueAt(wed, 0, nil); !got.Equal(at(2026, 11, 29, 20, 0)) {
		t.Errorf("own calendar DueAt = %v", got)
	}
}

func TestCalendarSectionKeepsDefaults(t *testing.T) {
	t.Parallel()
	l, err := Parse("cal.yaml", []byte(minimalLadder+"calendar: {weekend: [thursday, friday]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !l.Calendar.Holiday(at(2026, 3, 21, 12, 0)) || l.Calendar.WorkingDay(at(2026, 11, 26, 12, 0)) {
		t.Error("weekend change should keep Nowruz and close Thursday")
	}
	l, err = Parse("cal.yaml", []byte(minimalLadder+"calendar: {holidays: []}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if l.Calendar.Holiday(at(2026, 3, 21, 12, 0)) {
		t.Error("holidays: [] should drop the defaults")
	}
}

func TestProcess(t *testing.T) {
	t.Parallel()
	l, _ := shipped(t)
	p := l.Process
	if p.FollowUpDeadline != 72*time.Hour || p.FeedbackTimeout != 72*time.Hour || p.DuplicateRadiusM != 50 || p.Time != Working {
		t.Errorf("process = %+v", p)
	}
	wed := at(2026, 11, 25, 20, 0)
	if got := l.FollowUpDue(wed); !got.Equal(at(2026, 11, 29, 20, 0)) {
		t.Errorf("FollowUpDue = %v", got)
	}
	if got := l.FeedbackDue(wed); !got.Equal(at(2026, 11, 28, 20, 0)) {
		t.Errorf("FeedbackDue = %v (wall time)", got)
	}
	d, err := Parse("min.yaml", []byte(minimalLadder))
	if err != nil {
		t.Fatal(err)
	}
	if d.Process.DuplicateRadiusM != DefaultDuplicateRadiusM || d.Process.FeedbackTimeout != DefaultFeedbackTimeout {
		t.Errorf("defaults = %+v", d.Process)
	}
}

func TestTargets(t *testing.T) {
	t.Parallel()
	l, o := shipped(t)
	a, err := o.Route("asphalt", 36.2880, 59.6157, true) // Samen: civil works has an office there
	if err != nil {
		t.Fatal(err)
	}
	p := l.For("asphalt")
	got, err := p.Targets(o, a, 0)
	if err != nil || len(got) != 1 || got[0].Contact.Email != "civil.samen@mashhad.example" ||
		len(got[0].Notify) != 2 || got[0].Title.FA != a.Department.Name.FA {
		t.Fatalf("level 0 = %+v, %v", got, err)
	}
	got, err = p.Targets(o, a, 1)
	if err != nil || len(got) != 1 || got[0].Contact.Email != "civil.deputy@mashhad.example" {
		t.Fatalf("level 1 = %+v, %v", got, err)
	}
	got, err = p.Targets(o, a, 2)
	if err != nil || len(got) != 2 || got[0].Contact.Email != "civil.manager@mashhad.example" ||
		got[1].Contact.Email != "inspection@mashhad.example" || got[1].Title.FA != o.Inspection.Title.FA {
		t.Fatalf("level 2 = %+v, %v", got, err)
	}
	if w, ok := p.Webhook(a, 2); !ok || w.SecretEnv != "DARGAH_OA_SECRET_CIVIL_WORKS" {
		t.Errorf("Webhook = %+v %v", w, ok)
	}
	// No point: the head himself.
	b, _ := o.Route("asphalt", 0, 0, false)
	got, _ = p.Targets(o, b, 0)
	if got[0].Contact.Email != "civil.head@mashhad.example" {
		t.Errorf("head = %+v", got[0])
	}
	// A department missing from the org cannot resolve its deputy.
	_, err = p.Targets(o, org.Assignment{Department: org.Department{Code: "ghost"}}, 1)
	if !errors.Is(err, ErrUnresolved) {
		t.Errorf("ghost: %v", err)
	}
}

const minimalLadder = `
ladder:
  time: working
  levels:
    - name: head
      recipients: [department_head]
      notify: [email]
    - name: deputy
      after: 3d
      recipients: [department_deputy]
      notify: [email]
    - name: final
      after: 24h
      recipients: [department_manager, inspection]
      notify: [email]
      remind_every: 24h
`

func TestParseErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		edit func(string) string
		want []string
	}{
		{"unknown key", func(s string) string { return s + "colour: blue\n" }, []string{"min.yaml", "colour"}},
		{"empty", func(string) string { return "" }, []string{"min.yaml: empty"}},
		{"no levels", func(string) string { return "ladder: {time: wall}\n" }, []string{"ladder.levels: at least one"}},
		{"after on level 0", func(s string) string {
			return strings.Replace(s, "recipients: [department_head]", "after: 1h\n      recipients: [department_head]", 1)
		}, []string{"ladder.levels[0] (head).after: level 0"}},
		{"missing after", func(s string) string { return strings.Replace(s, "      after: 3d\n", "", 1) },
			[]string{"ladder.levels[1] (deputy).after: must be positive"}},
		{"missing reminder", func(s string) string { return strings.Replace(s, "      remind_every: 24h\n", "", 1) },
			[]string{"levels[2] (final).remind_every: the final level needs"}},
		{"reminder not on final", func(s string) string { return strings.Replace(s, "after: 3d", "after: 3d\n      remind_every: 1h", 1) },
			[]string{"levels[1] (deputy).remind_every: only the final"}},
		{"unknown role", func(s string) string { return strings.Replace(s, "[department_deputy]", "[mayor]", 1) },
			[]string{`"mayor" is not a role`}},
		{"empty contact name", func(s string) string { return strings.Replace(s, "[department_deputy]", `["contact:"]`, 1) },
			[]string{`"contact:" is not a role`}},
		{"unknown medium", func(s string) string { return strings.Replace(s, "notify: [email]", "notify: [fax]", 1) },
			[]string{`"fax" is not webhook, email or sms`}},
		{"bad duration", func(s string) string { return strings.Replace(s, "after: 3d", "after: three days", 1) },
			[]string{"min.yaml", "three days"}},
		{"bare number duration", func(s string) string { return strings.Replace(s, "after: 3d", "after: 72", 1) },
			[]string{"not a duration"}},
		{"bad time mode", func(s string) string { return strings.Replace(s, "time: working", "time: lunar", 1) },
			[]string{`ladder.time: "lunar"`}},
		{"duplicate level", func(s string) string { return strings.Replace(s, "name: deputy", "name: head", 1) },
			[]string{`duplicate level "head"`}},
		{"override unknown level", func(s string) string { return s + "services:\n  asphalt:\n    levels:\n      boss: {after: 1h}\n" },
			[]string{`services.asphalt.levels.boss: no level "boss"`}},
		{"override breaks shape", func(s string) string { return s + "services:\n  asphalt:\n    levels:\n      head: {after: 1h}\n" },
			[]string{"services.asphalt.levels[0] (head).after: level 0"}},
		{"bad calendar", func(s string) string { return s + "calendar: {weekend: [fryday]}\n" },
			[]string{"min.yaml: calendar: weekend"}},
		{"bad process", func(s string) string { return s + "process: {feedback_timeout: -1h, duplicate_radius_m: -5}\n" },
			[]string{"process.feedback_timeout: must be positive", "process.duplicate_radius_m"}},
	}
	for _, c := range cases {
		_, err := Parse("min.yaml", []byte(c.edit(minimalLadder)))
		if err == nil {
			t.Errorf("%s: want error", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", c.name, err, w)
			}
		}
	}
}

const smallOrg = `
departments:
  - code: works
    name: {fa: عمران}
    head: {name: رئیس, email: head@x.example}
    deputy: {name: معاون, phone: "+985131110002"}
  - code: parks
    name: {fa: فضای سبز}
    head: {name: رئیس, email: parks@x.example}
    deputy: {name: معاون, email: pd@x.example}
    manager: {name: مدیر, email: pm@x.example}
inspection: {title: {fa: بازرسی}, email: insp@x.example}
follow_up: {title: {fa: پیگیری}, email: fu@x.example}
feedback: {title: {fa: بازخورد}, email: fb@x.example}
contacts:
  boss: {name: سرپرست, email: boss@x.example}
services: {other: works, green_space: parks}
`

func TestValidate(t *testing.T) {
	t.Parallel()
	o, err := org.Parse("org.yaml", []byte(smallOrg))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		edit func(string) string
		want []string // empty: valid
	}{
		{"default reaches works without manager and deputy without email", func(s string) string { return s },
			[]string{
				"min.yaml: ladder.levels[1] (deputy): department_deputy (معاون) has no email",
				"min.yaml: ladder.levels[2] (final): department_manager of department works is not set in org.yaml",
			}},
		{"override for a parks-only service is fine", func(s string) string {
			return strings.Replace(s, "[department_manager, inspection]", "[contact:boss, inspection]", 1) +
				"services:\n  green_space:\n    levels:\n      deputy: {after: 48h}\n"
		}, []string{"ladder.levels[1] (deputy): department_deputy (معاون) has no email"}},
		{"named contact missing", func(s string) string {
			return strings.Replace(s, "[department_manager, inspection]", "[contact:mayor]", 1)
		}, []string{`contact:mayor: no contact "mayor" in org.yaml`}},
		{"override for a service the org lacks", func(s string) string { return s + "services:\n  asphalt:\n    time: wall\n" },
			[]string{`services.asphalt: service "asphalt" is not in org.yaml`}},
		{"webhook without endpoint", func(s string) string { return strings.Replace(s, "notify: [email]", "notify: [webhook, email]", 1) },
			[]string{"ladder.levels[0] (head).notify: webhook, but department works has no webhook"}},
		{"sms or email is enough", func(s string) string {
			return strings.Replace(strings.Replace(s, "[department_manager, inspection]", "[inspection]", 1),
				"recipients: [department_deputy]\n      notify: [email]", "recipients: [department_deputy]\n      notify: [email, sms]", 1)
		}, nil},
	}
	for _, c := range cases {
		l, err := Parse("min.yaml", []byte(c.edit(minimalLadder)))
		if err != nil {
			t.Fatalf("%s: Parse: %v", c.name, err)
		}
		err = l.Validate(o)
		if len(c.want) == 0 {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: want error", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", c.name, err, w)
			}
		}
		if strings.Count(err.Error(), "\n")+1 > 10 {
			t.Errorf("%s: too many errors (dedupe?): %v", c.name, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(minimalLadder))
	f.Add([]byte("ladder: {levels: [{name: a, recipients: [contact:x], notify: [sms], remind_every: 1d}]}"))
	f.Add([]byte("services: {a: {levels: {x: {after: 1h}}}}\nprocess: {duplicate_radius_m: .nan}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := Parse("fuzz.yaml", data)
		if err != nil {
			return
		}
		// A valid ladder always yields a usable plan.
		p := l.For("anything")
		if p.Len() == 0 {
			t.Fatal("empty plan")
		}
		p.DueAt(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), p.Len(), nil)
	})
}

func BenchmarkForDueAt(b *testing.B) {
	l, _ := shipped(b)
	start := at(2026, 11, 25, 20, 0)
	for b.Loop() {
		l.For("street_lighting").DueAt(start, 0, nil)
	}
}
