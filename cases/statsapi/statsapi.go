// Package statsapi serves the center's figures: the JSON statistics API,
// the CSV export of case classifications (also behind `dargah export`) and
// Prometheus gauges, all over a cases.StatsStore.
//
//	GET /api/v1/stats?from=1405-01-01&to=1405-06-31[&calendar=jalali|gregorian]
//	GET /api/v1/stats/export?from=…&to=…[&calendar=…][&lang=fa|en|ar]   text/csv
//
// from and to are whole days, both included, in the Jalali calendar
// (default; Persian or ASCII digits, "-" or "/") or the Gregorian one, and
// days start at midnight in Asia/Tehran. When the config names tokens,
// every request needs "Authorization: Bearer <token>" (401 otherwise).
// Errors are JSON {"error": "...", "message": {"fa", "en", "ar"}}: 400 for
// a bad range, 401, 500.
package statsapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/dargah137/dargah/internal/digits"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/cases/workcal"
)

// Calendars of a range.
const (
	Jalali    = "jalali"
	Gregorian = "gregorian"
)

// MaxRange bounds a request's range: ten years is any report anyone asks
// for, and a typo like 1450 should not scan the whole future.
const MaxRange = 10 * 366 * 24 * time.Hour

// ErrRange is wrapped by ParseRange's errors.
var ErrRange = errors.New("bad date range")

// ParseRange turns the inclusive days from and to, in calendar (Jalali
// when empty), into the half-open range [from's midnight, the midnight
// after to) in Asia/Tehran.
func ParseRange(from, to, calendar string) (time.Time, time.Time, error) {
	parse := workcal.ParseJalaliDate
	switch strings.ToLower(strings.TrimSpace(calendar)) {
	case "", Jalali:
	case Gregorian:
		parse = parseGregorian
	default:
		return time.Time{}, time.Time{}, fmt.Errorf("%w: calendar %q is not jalali or gregorian", ErrRange, calendar)
	}
	if strings.TrimSpace(from) == "" || strings.TrimSpace(to) == "" {
		return time.Time{}, time.Time{}, fmt.Errorf("%w: from and to are required", ErrRange)
	}
	f, err := parse(from)
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("%w: from: %w", ErrRange, err)
	}
	t, err := parse(to)
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("%w: to: %w", ErrRange, err)
	}
	t = t.AddDate(0, 0, 1)
	if !f.Before(t) {
		return time.Time{}, time.Time{}, fmt.Errorf("%w: to (%s) is before from (%s)", ErrRange, to, from)
	}
	if t.Sub(f) > MaxRange {
		return time.Time{}, time.Time{}, fmt.Errorf("%w: more than ten years", ErrRange)
	}
	return f, t, nil
}

// parseGregorian parses "2026-03-21" (also with "/" and Persian digits)
// as midnight in Asia/Tehran.
func parseGregorian(s string) (time.Time, error) {
	norm := strings.ReplaceAll(strings.TrimSpace(digits.ToASCII(s)), "/", "-")
	d, err := time.ParseInLocation(time.DateOnly, norm, workcal.Tehran())
	if err != nil {
		return time.Time{}, fmt.Errorf("gregorian date %q: want YYYY-MM-DD", s)
	}
	if d.Year() < 1921 || d.Year() > 2121 {
		return time.Time{}, fmt.Errorf("gregorian date %q: year outside 1921–2121", s)
	}
	return d, nil
}

// Config configures the handlers.
type Config struct {
	Store cases.StatsStore
	// Tokens, when any, are the bearer tokens allowed in; none leaves the
	// API open (aggregates only, but say so in the logs).
	Tokens []string
	Logger *slog.Logger
}

// API serves the routes.
type API struct {
	store  cases.StatsStore
	tokens [][sha256.Size]byte
	log    *slog.Logger
}

// New checks c and returns the API.
func New(c Config) (*API, error) {
	if c.Store == nil {
		return nil, errors.New("statsapi: Store is required")
	}
	a := &API{store: c.Store, log: c.Logger}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	for _, t := range c.Tokens {
		if t = strings.TrimSpace(t); t != "" {
			a.tokens = append(a.tokens, sha256.Sum256([]byte(t)))
		}
	}
	return a, nil
}

// Handler is what Register needs of a mux.
type Handler interface {
	Handle(pattern string, h http.Handler)
}

// Register adds the routes to mux.
func (a *API) Register(mux Handler) {
	mux.Handle("GET /api/v1/stats", a.guard(a.stats))
	mux.Handle("GET /api/v1/stats/export", a.guard(a.export))
}

// Response is the JSON of GET /api/v1/stats: the figures and the range
// in both calendars (To is the last day included).
type Response struct {
	Calendar string `json:"calendar"`
	Jalali   Days   `json:"jalali"`
	Greg     Days   `json:"gregorian"`
	cases.Stats
}

// Days is an inclusive range of calendar days.
type Days struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// RangeDays names [from, to) as inclusive days in both calendars.
func RangeDays(from, to time.Time) (jalali, gregorian Days) {
	loc := workcal.Tehran()
	last := to.Add(-time.Nanosecond).In(loc)
	jalali = Days{From: workcal.FormatJalali(from, false), To: workcal.FormatJalali(last, false)}
	gregorian = Days{From: from.In(loc).Format(time.DateOnly), To: last.Format(time.DateOnly)}
	return jalali, gregorian
}

func (a *API) stats(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	from, to, err := ParseRange(q.Get("from"), q.Get("to"), q.Get("calendar"))
	if err != nil {
		badRange(w, err)
		return
	}
	st, err := a.store.Stats(r.Context(), from, to)
	if err != nil {
		a.internal(w, r, err)
		return
	}
	cal := Jalali
	if strings.EqualFold(strings.TrimSpace(q.Get("calendar")), Gregorian) {
		cal = Gregorian
	}
	resp := Response{Calendar: cal, Stats: st}
	resp.Jalali, resp.Greg = RangeDays(from, to)
	writeJSON(w, http.StatusOK, resp)
}

func (a *API) export(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	from, to, err := ParseRange(q.Get("from"), q.Get("to"), q.Get("calendar"))
	if err != nil {
		badRange(w, err)
		return
	}
	lang := q.Get("lang")
	if _, ok := headers[lang]; !ok && lang != "" {
		badRange(w, fmt.Errorf("%w: lang %q is not fa, en or ar", ErrRange, lang))
		return
	}
	j, _ := RangeDays(from, to)
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="dargah-cases-%s-%s.csv"`,
		strings.ReplaceAll(j.From, "/", "-"), strings.ReplaceAll(j.To, "/", "-")))
	// Once rows are streaming the status is sent; a failure midway can
	// only cut the body, which the log records.
	if _, err := WriteCSV(r.Context(), w, a.store, from, to, lang); err != nil {
		a.log.Error("stats export", "err", err)
	}
}

// guard checks the bearer token when tokens are configured.
func (a *API) guard(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(a.tokens) > 0 {
			tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			sum := sha256.Sum256([]byte(strings.TrimSpace(tok)))
			allowed := 0
			for _, t := range a.tokens {
				allowed |= subtle.ConstantTimeCompare(sum[:], t[:])
			}
			if !ok || allowed == 0 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="dargah stats"`)
				writeErr(w, http.StatusUnauthorized, "unauthorized", msgUnauthorized)
				return
			}
		}
		h(w, r)
	})
}

func (a *API) internal(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) {
		writeErr(w, http.StatusServiceUnavailable, "request cancelled", msgInternal)
		return
	}
	a.log.Error("stats api", "path", r.URL.Path, "err", err)
	writeErr(w, http.StatusInternalServerError, "internal error", msgInternal)
}

// Messages shown to people, Persian first.
var (
	msgBadRange = map[string]string{
		"fa": "بازهٔ تاریخ نادرست است؛ نمونه: from=1405-01-01&to=1405-06-31",
		"en": "The date range is not valid; for example from=1405-01-01&to=1405-06-31",
		"ar": "نطاق التاريخ غير صالح؛ مثال: from=1405-01-01&to=1405-06-31",
	}
	msgUnauthorized = map[string]string{
		"fa": "برای دیدن آمار، توکن معتبر لازم است.",
		"en": "A valid token is needed to see statistics.",
		"ar": "يلزم رمز صالح لعرض الإحصاءات.",
	}
	msgInternal = map[string]string{
		"fa": "خطای داخلی؛ لطفاً دوباره تلاش کنید.",
		"en": "Internal error; please try again.",
		"ar": "خطأ داخلي؛ يرجى المحاولة مرة أخرى.",
	}
)

func badRange(w http.ResponseWriter, err error) {
	writeErr(w, http.StatusBadRequest, err.Error(), msgBadRange)
}

func writeErr(w http.ResponseWriter, status int, err string, msg map[string]string) {
	writeJSON(w, status, map[string]any{"error": err, "message": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
