// Package workcal is the working-time calendar of the city's offices: which
// days are weekends or holidays (Jalali dates), optional office hours, and
// deadline arithmetic that counts only working time. The escalation ladder
// uses it so that "72 hours" given to a department does not run out over a
// Friday or Nowruz.
//
// A Calendar is immutable after New and safe for concurrent use.
package workcal

import (
	"errors"
	"fmt"
	"github.com/dargah137/dargah/internal/digits"
	"strings"
	"time"
	_ "time/tzdata" // Asia/Tehran must resolve on hosts without a zoneinfo database

	"github.com/jalaali/go-jalaali"
)

// Config describes a calendar. The zero value is usable: Asia/Tehran,
// Friday weekend, no holidays, whole days (no office hours).
type Config struct {
	// Timezone is an IANA name; default Asia/Tehran.
	Timezone string `yaml:"timezone"`
	// Weekend lists closed weekdays by English name (friday, thursday…);
	// default [friday].
	Weekend []string `yaml:"weekend"`
	// Holidays are Jalali dates: "1405-01-01" for one day of one year
	// (lunar holidays move every year) or "01-01" for every year (Nowruz).
	Holidays []string `yaml:"holidays"`
	// OfficeHours, when set, counts only that window of each working day.
	// When nil, every non-weekend, non-holiday day counts whole (24 h).
	OfficeHours *OfficeHours `yaml:"office_hours"`
	// ShortDays closes the office early on a weekday ("thursday": "12:30");
	// it applies only with OfficeHours.
	ShortDays map[string]string `yaml:"short_days"`
}

// OfficeHours is a daily window in local time, "HH:MM" each, Start < End.
type OfficeHours struct {
	Start string `yaml:"start"`
	End   string `yaml:"end"`
}

// DefaultHolidays are Iran's fixed solar-calendar public holidays as
// recurring "MM-DD" Jalali dates: Nowruz (1–4 Farvardin), Islamic Republic
// Day (12 Farvardin), Sizdah Bedar (13 Farvardin), 14–15 Khordad,
// 22 Bahman and oil nationalization day (29 Esfand). Lunar holidays
// (Tasua, Ashura, Eid al-Fitr…) move every year and must be listed per
// year as "YYYY-MM-DD".
func DefaultHolidays() []string {
	return []string{"01-01", "01-02", "01-03", "01-04", "01-12", "01-13",
		"03-14", "03-15", "11-22", "12-29"}
}

// DefaultConfig is the shipped calendar of Mashhad's municipality: Friday
// weekend, the fixed holidays, whole days.
func DefaultConfig() Config {
	return Config{Timezone: "Asia/Tehran", Weekend: []string{"friday"}, Holidays: DefaultHolidays()}
}

type jdate struct{ y, m, d int }

// Calendar answers working-time questions. Build it with New.
type Calendar struct {
	loc       *time.Location
	weekend   [7]bool
	once      map[jdate]bool   // YYYY-MM-DD holidays
	yearly    map[[2]int]bool  // MM-DD holidays
	hours     bool             // office hours on
	start     time.Duration    // offset from local midnight
	end       [7]time.Duration // per weekday closing offset
	maxPerDay time.Duration
}

// Tehran returns the Asia/Tehran location, or a fixed +03:30 zone named
// "IRST" if the zone database cannot be read (Iran has had no DST since 2022).
func Tehran() *time.Location {
	if loc, err := time.LoadLocation("Asia/Tehran"); err == nil {
		return loc
	}
	return time.FixedZone("IRST", 3*3600+1800)
}

var weekdays = map[string]time.Weekday{
	"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday,
	"wednesday": time.Wednesday, "thursday": time.Thursday, "friday": time.Friday,
	"saturday": time.Saturday,
}

// New validates c and builds a Calendar.
func New(c Config) (*Calendar, error) {
	cal := &Calendar{once: map[jdate]bool{}, yearly: map[[2]int]bool{}}
	switch c.Timezone {
	case "", "Asia/Tehran":
		cal.loc = Tehran()
	default:
		loc, err := time.LoadLocation(c.Timezone)
		if err != nil {
			return nil, fmt.Errorf("timezone %q: %w", c.Timezone, err)
		}
		cal.loc = loc
	}
	weekend := c.Weekend
	if weekend == nil {
		weekend = []string{"friday"}
	}
	for _, name := range weekend {
		wd, ok := weekdays[strings.ToLower(strings.TrimSpace(name))]
		if !ok {
			return nil, fmt.Errorf("weekend: unknown weekday %q", name)
		}
		cal.weekend[wd] = true
	}
	if cal.weekend == [7]bool{true, true, true, true, true, true, true} {
		return nil, errors.New("weekend: every day is a weekend, no deadline could ever pass")
	}
	for _, h := range c.Holidays {
		if err := cal.addHoliday(h); err != nil {
			return nil, fmt.Errorf("holidays: %w", err)
		}
	}
	cal.maxPerDay = 24 * time.Hour
	if c.OfficeHours != nil {
		start, err := clock(c.OfficeHours.Start)
		if err != nil {
			return nil, fmt.Errorf("office_hours.start: %w", err)
		}
		end, err := clock(c.OfficeHours.End)
		if err != nil {
			return nil, fmt.Errorf("office_hours.end: %w", err)
		}
		if end <= start {
			return nil, fmt.Errorf("office_hours: end %s is not after start %s", c.OfficeHours.End, c.OfficeHours.Start)
		}
		cal.hours, cal.start, cal.maxPerDay = true, start, end-start
		for i := range cal.end {
			cal.end[i] = end
		}
		for name, at := range c.ShortDays {
			wd, ok := weekdays[strings.ToLower(strings.TrimSpace(name))]
			if !ok {
				return nil, fmt.Errorf("short_days: unknown weekday %q", name)
			}
			e, err := clock(at)
			if err != nil {
				return nil, fmt.Errorf("short_days.%s: %w", name, err)
			}
			if e <= start || e > end {
				return nil, fmt.Errorf("short_days.%s: %s is not within office hours", name, at)
			}
			cal.end[wd] = e
		}
	} else if len(c.ShortDays) > 0 {
		return nil, errors.New("short_days needs office_hours")
	}
	return cal, nil
}

func (c *Calendar) addHoliday(s string) error {
	s = strings.TrimSpace(digits.ToASCII(s))
	parts := strings.FieldsFunc(s, func(r rune) bool { return r == '-' || r == '/' })
	switch len(parts) {
	case 2:
		m, d, err := monthDay(parts[0], parts[1])
		if err != nil {
			return fmt.Errorf("%q: %w", s, err)
		}
		c.yearly[[2]int{m, d}] = true
	case 3:
		y, m, d, err := parseYMD(parts)
		if err != nil {
			return fmt.Errorf("%q: %w", s, err)
		}
		c.once[jdate{y, m, d}] = true
	default:
		return fmt.Errorf("%q: want YYYY-MM-DD or MM-DD (Jalali)", s)
	}
	return nil
}

func clock(s string) (time.Duration, error) {
	t, err := time.Parse("15:04", strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("%q: want HH:MM", s)
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}

// Location is the calendar's timezone.
func (c *Calendar) Location() *time.Location { return c.loc }

// Holiday reports whether the local day of t is a listed holiday.
func (c *Calendar) Holiday(t time.Time) bool {
	t = t.In(c.loc)
	jy, jm, jd, err := jalaali.ToJalaali(t.Year(), t.Month(), t.Day())
	if err != nil {
		return false
	}
	return c.once[jdate{jy, int(jm), jd}] || c.yearly[[2]int{int(jm), jd}]
}

// WorkingDay reports whether the local day of t is neither a weekend nor a holiday.
func (c *Calendar) WorkingDay(t time.Time) bool {
	return !c.weekend[t.In(c.loc).Weekday()] && !c.Holiday(t)
}

// window returns the working interval of the local day starting at midnight
// day0; ok is false on a closed day.
func (c *Calendar) window(day0 time.Time) (from, to time.Time, ok bool) {
	if !c.WorkingDay(day0) {
		return time.Time{}, time.Time{}, false
	}
	y, m, d := day0.Date()
	if !c.hours {
		return day0, time.Date(y, m, d+1, 0, 0, 0, 0, c.loc), true
	}
	return day0.Add(c.start), day0.Add(c.end[day0.Weekday()]), true
}

func (c *Calendar) midnight(t time.Time) time.Time {
	y, m, d := t.In(c.loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, c.loc)
}

func nextMidnight(day0 time.Time) time.Time {
	y, m, d := day0.Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, day0.Location())
}

// maxScanDays bounds the day loop; a year of holidays in a row is a
// configuration mistake, not a calendar.
const maxScanDays = 366 * 50

// Add returns the moment when d of working time has passed since start.
// Time outside working windows (nights with office hours, weekends,
// holidays) does not count, so a deadline never falls on a closed day; a
// deadline that uses up a day's window exactly is that window's end. With
// office hours off, each working day counts as 24 h from local midnight.
// d <= 0 returns start unchanged. The result is in the calendar's zone.
func (c *Calendar) Add(start time.Time, d time.Duration) time.Time {
	if d <= 0 {
		return start
	}
	cursor := start.In(c.loc)
	day0 := c.midnight(cursor)
	for range maxScanDays {
		if from, to, ok := c.window(day0); ok {
			if cursor.Before(from) {
				cursor = from
			}
			if cursor.Before(to) {
				avail := to.Sub(cursor)
				if d <= avail {
					return cursor.Add(d)
				}
				d -= avail
			}
		}
		day0 = nextMidnight(day0)
		cursor = day0
	}
	// Unreachable with a valid config (New refuses an all-weekend week);
	// fall back to wall time rather than looping forever.
	return cursor.Add(d)
}

// Working returns the working time between from and to (0 when to is not
// after from). It is the inverse of Add: Working(s, Add(s, d)) == d.
func (c *Calendar) Working(from, to time.Time) time.Duration {
	if !to.After(from) {
		return 0
	}
	from, to = from.In(c.loc), to.In(c.loc)
	var sum time.Duration
	for day0 := c.midnight(from); day0.Before(to); day0 = nextMidnight(day0) {
		// Whole working weeks could be skipped arithmetically, but holidays
		// make that error-prone and a year is only 366 iterations.
		a, b, ok := c.window(day0)
		if !ok {
			continue
		}
		if a.Before(from) {
			a = from
		}
		if b.After(to) {
			b = to
		}
		if b.After(a) {
			sum += b.Sub(a)
		}
	}
	return sum
}
