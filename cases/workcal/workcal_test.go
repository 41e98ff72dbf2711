package workcal

import (
	"math/rand/v2"
	"testing"
	"time"
)

func tehranAt(t *testing.T, y int, m time.Month, d, hh, mm int) time.Time {
	t.Helper()
	return time.Date(y, m, d, hh, mm, 0, 0, Tehran())
}

func mustNew(t *testing.T, c Config) *Calendar {
	t.Helper()
	cal, err := New(c)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return cal
}

func officeConfig() Config {
	c := DefaultConfig()
	c.OfficeHours = &OfficeHours{Start: "07:30", End: "14:30"}
	c.ShortDays = map[string]string{"thursday": "12:30"}
	return c
}

func TestJalaliAnchors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		jalali string
		y      int
		m      time.Month
		d      int
	}{
		{"1405-01-01", 2026, time.March, 21},
		{"1404-12-29", 2026, time.March, 20},
		{"۱۴۰۵/۰۱/۱۳", 2026, time.April, 2},
		{"1405/9/6", 2026, time.November, 27},
		{"١٤٠٣-١٢-٣٠", 2025, time.March, 20}, // 1403 is a leap year
	}
	for _, c := range cases {
		got, err := ParseJalaliDate(c.jalali)
		if err != nil {
			t.Fatalf("ParseJalaliDate(%q): %v", c.jalali, err)
		}
		want := tehranAt(t, c.y, c.m, c.d, 0, 0)
		if !got.Equal(want) {
			t.Errorf("ParseJalaliDate(%q) = %v, want %v", c.jalali, got, want)
		}
	}
	for _, bad := range []string{"", "1405", "1405-13-01", "1404-12-30", "1405-07-31", "14055-01-01", "1405-01-01-01", "x-01-01", "1405--01"} {
		if _, err := ParseJalaliDate(bad); err == nil {
			t.Errorf("ParseJalaliDate(%q): want error", bad)
		}
	}
}

func TestFormatJalali(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, time.November, 27, 11, 0, 0, 0, time.UTC) // 14:30 in Tehran
	if got := FormatJalali(at, false); got != "1405/09/06" {
		t.Errorf("date = %q", got)
	}
	if got := FormatJalali(at, true); got != "1405/09/06 14:30" {
		t.Errorf("date+time = %q", got)
	}
	if got := FormatJalaliFa(at, true); got != "۱۴۰۵/۰۹/۰۶ ۱۴:۳۰" {
		t.Errorf("fa = %q", got)
	}
	if got := mustNew(t, DefaultConfig()).FormatJalali(at, true); got != "1405/09/06 14:30" {
		t.Errorf("calendar = %q", got)
	}
}

func TestAdd(t *testing.T) {
	t.Parallel()
	whole := mustNew(t, DefaultConfig())
	office := mustNew(t, officeConfig())
	thursdayOff := DefaultConfig()
	thursdayOff.Weekend = []string{"thursday", "Friday"}
	twoDay := mustNew(t, thursdayOff)

	cases := []struct {
		name  string
		cal   *Calendar
		start time.Time
		d     time.Duration
		want  time.Time
	}{
		{"72h from Wednesday evening skips Friday", whole,
			tehranAt(t, 2026, 11, 25, 20, 0), 72 * time.Hour, tehranAt(t, 2026, 11, 29, 20, 0)},
		{"72h with Thursday off too", twoDay,
			tehranAt(t, 2026, 11, 25, 20, 0), 72 * time.Hour, tehranAt(t, 2026, 11, 30, 20, 0)},
		{"started on Friday begins Saturday", whole,
			tehranAt(t, 2026, 11, 27, 9, 0), 24 * time.Hour, tehranAt(t, 2026, 11, 29, 0, 0)},
		{"exact end of day stays on that day", whole,
			tehranAt(t, 2026, 11, 26, 0, 0), 24 * time.Hour, tehranAt(t, 2026, 11, 27, 0, 0)},
		{"across Nowruz", whole, // Thu 1404-12-28 10:00; 29 Esfand and 1–4 Farvardin closed
			tehranAt(t, 2026, 3, 19, 10, 0), 48 * time.Hour, tehranAt(t, 2026, 3, 26, 10, 0)},
		{"across 12–13 Farvardin and Friday", whole, // Tue 1405-01-11 12:00
			tehranAt(t, 2026, 3, 31, 12, 0), 24 * time.Hour, tehranAt(t, 2026, 4, 4, 12, 0)},
		{"office hours with short Thursday", office, // Wed 13:00: 1.5h + Thu 5h + Sat 3.5h
			tehranAt(t, 2026, 11, 25, 13, 0), 10 * time.Hour, tehranAt(t, 2026, 11, 28, 11, 0)},
		{"office hours started at night", office,
			tehranAt(t, 2026, 11, 24, 22, 0), 2 * time.Hour, tehranAt(t, 2026, 11, 25, 9, 30)},
		{"office hours ends exactly at closing", office,
			tehranAt(t, 2026, 11, 24, 7, 30), 7 * time.Hour, tehranAt(t, 2026, 11, 24, 14, 30)},
		{"office hours 72h", office, // Thu 5 + Sat–Wed 35 + Thu 5 + Sat–Mon 21 + Tue 6
			tehranAt(t, 2026, 11, 25, 20, 0), 72 * time.Hour, tehranAt(t, 2026, 12, 8, 13, 30)},
		{"zero duration", office, tehranAt(t, 2026, 11, 27, 3, 0), 0, tehranAt(t, 2026, 11, 27, 3, 0)},
		{"UTC input", whole,
			time.Date(2026, 11, 25, 16, 30, 0, 0, time.UTC), 72 * time.Hour, tehranAt(t, 2026, 11, 29, 20, 0)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got := c.cal.Add(c.start, c.d)
			if !got.Equal(c.want) {
				t.Errorf("Add(%v, %v) = %v, want %v", c.start, c.d, got, c.want)
			}
			if c.d > 0 {
				if w := c.cal.Working(c.start, got); w != c.d {
					t.Errorf("Working back = %v, want %v", w, c.d)
				}
			}
		})
	}
}

func TestWorking(t *testing.T) {
	t.Parallel()
	whole := mustNew(t, DefaultConfig())
	office := mustNew(t, officeConfig())
	cases := []struct {
		name     string
		cal      *Calendar
		from, to time.Time
		want     time.Duration
	}{
		{"Friday counts nothing", whole, tehranAt(t, 2026, 11, 27, 0, 0), tehranAt(t, 2026, 11, 28, 0, 0), 0},
		{"Wed noon to Sat noon", whole, tehranAt(t, 2026, 11, 25, 12, 0), tehranAt(t, 2026, 11, 28, 12, 0), 48 * time.Hour},
		{"reversed", whole, tehranAt(t, 2026, 11, 28, 0, 0), tehranAt(t, 2026, 11, 25, 0, 0), 0},
		{"one office week", office, tehranAt(t, 2026, 11, 28, 0, 0), tehranAt(t, 2026, 12, 5, 0, 0), 5*7*time.Hour + 5*time.Hour},
		{"Nowruz week", whole, tehranAt(t, 2026, 3, 20, 0, 0), tehranAt(t, 2026, 3, 25, 0, 0), 0},
	}
	for _, c := range cases {
		if got := c.cal.Working(c.from, c.to); got != c.want {
			t.Errorf("%s: Working = %v, want %v", c.name, got, c.want)
		}
	}
}

// Add and Working are inverses and Add never lands inside closed time.
func TestAddWorkingInverse(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	base := tehranAt(t, 2026, 1, 1, 0, 0)
	for _, cal := range []*Calendar{mustNew(t, DefaultConfig()), mustNew(t, officeConfig())} {
		for range 500 {
			start := base.Add(time.Duration(r.Int64N(int64(400 * 24 * time.Hour))))
			d := time.Duration(r.Int64N(int64(200*time.Hour))) + time.Minute
			end := cal.Add(start, d)
			if got := cal.Working(start, end); got != d {
				t.Fatalf("Working(%v, Add(.., %v)=%v) = %v", start, d, end, got)
			}
			if !cal.WorkingDay(end.Add(-time.Nanosecond)) {
				t.Fatalf("Add(%v, %v) = %v ends in closed time", start, d, end)
			}
		}
	}
}

func TestNewErrors(t *testing.T) {
	t.Parallel()
	bad := []Config{
		{Weekend: []string{"fryday"}},
		{Weekend: []string{"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"}},
		{Holidays: []string{"13-01"}},
		{Holidays: []string{"1405-12-30"}}, // 1405 is not leap
		{Holidays: []string{"first of spring"}},
		{OfficeHours: &OfficeHours{Start: "14:30", End: "07:30"}},
		{OfficeHours: &OfficeHours{Start: "7.30", End: "14:30"}},
		{OfficeHours: &OfficeHours{Start: "07:30", End: "14:30"}, ShortDays: map[string]string{"thursday": "15:00"}},
		{ShortDays: map[string]string{"thursday": "12:00"}},
		{Timezone: "Mars/Olympus"},
	}
	for i, c := range bad {
		if _, err := New(c); err == nil {
			t.Errorf("case %d (%+v): want error", i, c)
		}
	}
	cal, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if cal.WorkingDay(tehranAt(t, 2026, 11, 27, 12, 0)) {
		t.Error("zero Config: Friday should be a weekend")
	}
}

func FuzzParseJalaliDate(f *testing.F) {
	for _, s := range []string{"1405-01-01", "۱۴۰۵/۰۱/۰۱", "1403-12-30", "0-0-0", "-1-1-1", "9999-99-99", "1405/1/1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseJalaliDate(s)
		if err != nil {
			return
		}
		// A parsed date formats back to the same day.
		again, err := ParseJalaliDate(FormatJalali(got, false))
		if err != nil || !again.Equal(got) {
			t.Fatalf("%q → %v → %q → %v, %v", s, got, FormatJalali(got, false), again, err)
		}
	})
}

func BenchmarkAdd72hOffice(b *testing.B) {
	cal, _ := New(officeConfig())
	start := time.Date(2026, 11, 25, 20, 0, 0, 0, Tehran())
	for b.Loop() {
		cal.Add(start, 72*time.Hour)
	}
}
