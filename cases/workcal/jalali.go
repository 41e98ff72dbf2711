package workcal

import (
	"errors"
	"fmt"
	"github.com/dargah137/dargah/internal/digits"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jalaali/go-jalaali"
)

// tehran is loaded once: the zone never changes while the process runs.
var tehran = sync.OnceValue(Tehran)

// FormatJalali formats t in Asia/Tehran as a Jalali date "1405/01/01", or
// "1405/01/01 14:30" when withTime is set, with ASCII digits. Wrap it in
// PersianDigits for text shown to Persian readers (FormatJalaliFa does both).
func FormatJalali(t time.Time, withTime bool) string {
	return formatJalali(t.In(tehran()), withTime)
}

// FormatJalaliFa is FormatJalali with Persian digits (۱۴۰۵/۰۱/۰۱).
func FormatJalaliFa(t time.Time, withTime bool) string {
	return PersianDigits(FormatJalali(t, withTime))
}

// FormatJalali formats t like the package function, in the calendar's zone.
func (c *Calendar) FormatJalali(t time.Time, withTime bool) string {
	return formatJalali(t.In(c.loc), withTime)
}

func formatJalali(t time.Time, withTime bool) string {
	jy, jm, jd, err := jalaali.ToJalaali(t.Year(), t.Month(), t.Day())
	if err != nil {
		// Outside the Jalali algorithm's range (years before -61 or after
		// 3177): show the Gregorian date rather than nothing.
		if withTime {
			return t.Format("2006-01-02 15:04")
		}
		return t.Format("2006-01-02")
	}
	s := fmt.Sprintf("%04d/%02d/%02d", jy, int(jm), jd)
	if withTime {
		s += fmt.Sprintf(" %02d:%02d", t.Hour(), t.Minute())
	}
	return s
}

// PersianDigits replaces ASCII digits in s with Persian ones (۰–۹).
func PersianDigits(s string) string { return digits.ToPersian(s) }

// ParseJalaliDate parses a Jalali date "1405-01-01" (also "1405/1/1", with
// Persian or Arabic-Indic digits) and returns local midnight of that day in
// Asia/Tehran.
func ParseJalaliDate(s string) (time.Time, error) {
	return parseJalaliIn(s, tehran())
}

// ParseJalaliDate parses like the package function, in the calendar's zone.
func (c *Calendar) ParseJalaliDate(s string) (time.Time, error) {
	return parseJalaliIn(s, c.loc)
}

func parseJalaliIn(s string, loc *time.Location) (time.Time, error) {
	parts := strings.FieldsFunc(strings.TrimSpace(digits.ToASCII(s)), func(r rune) bool { return r == '-' || r == '/' })
	if len(parts) != 3 {
		return time.Time{}, fmt.Errorf("jalali date %q: want YYYY-MM-DD", s)
	}
	y, m, d, err := parseYMD(parts)
	if err != nil {
		return time.Time{}, fmt.Errorf("jalali date %q: %w", s, err)
	}
	gy, gm, gd, err := jalaali.ToGregorian(y, jalaali.Month(m), d)
	if err != nil {
		return time.Time{}, fmt.Errorf("jalali date %q: %w", s, err)
	}
	return time.Date(gy, gm, gd, 0, 0, 0, 0, loc), nil
}

func atoi(s string, max int) (int, error) {
	if s == "" || len(s) > max {
		return 0, errors.New("bad number")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("%q is not a number", s)
		}
	}
	return strconv.Atoi(s)
}

func monthDay(ms, ds string) (int, int, error) {
	m, err := atoi(ms, 2)
	if err != nil {
		return 0, 0, fmt.Errorf("month: %w", err)
	}
	d, err := atoi(ds, 2)
	if err != nil {
		return 0, 0, fmt.Errorf("day: %w", err)
	}
	// 30 Esfand exists only in leap years; a yearly holiday on it is fine.
	if m < 1 || m > 12 || d < 1 || d > 31 || (m > 6 && d > 30) {
		return 0, 0, fmt.Errorf("no Jalali day %02d-%02d", m, d)
	}
	return m, d, nil
}

// Accepted Jalali years (1921–2121 in Gregorian terms).
const (
	minYear = 1300
	maxYear = 1500
)

func parseYMD(parts []string) (int, int, int, error) {
	y, err := atoi(parts[0], 4)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("year: %w", err)
	}
	// Municipal dates are recent; the conversion library is not exact for
	// ancient years, and a typo like "405" is better refused than accepted.
	if y < minYear || y > maxYear {
		return 0, 0, 0, fmt.Errorf("year %d outside %d–%d", y, minYear, maxYear)
	}
	m, d, err := monthDay(parts[1], parts[2])
	if err != nil {
		return 0, 0, 0, err
	}
	if !jalaali.IsValidDate(y, m, d) {
		return 0, 0, 0, fmt.Errorf("no Jalali day %04d-%02d-%02d", y, m, d)
	}
	return y, m, d, nil
}
