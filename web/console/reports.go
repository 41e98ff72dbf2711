package console

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/cases/statsapi"
	"github.com/dargah137/dargah/cases/workcal"
)

// reportDays is the default range: the last 30 days, today included.
const reportDays = 30

// bar is one row of a horizontal bar chart. Positions are in percent of
// the chart's width. In RTL the chart is mirrored: labels on the right,
// bars growing leftwards.
type bar struct {
	Label, Text                string // Text is the value as shown
	Value                      float64
	LabelX, BarX, Width, TextX float64
	TrackX                     float64 // the full-scale track behind the bar
	LabelAnchor                string
	Y                          int
}

// chart is one inline SVG bar chart with its heading.
type chart struct {
	ID, Title string
	Bars      []bar
	Height    int
	// Track draws the full scale (100%) behind each bar, for shares.
	Track bool
}

// gauge is a headline figure with a one-bar gauge of Share (0–1).
type gauge struct {
	ID, Title, Figure, Note string
	Width, X                float64 // of the filled part, in percent
}

// reportRange is the range form's state.
type reportRange struct {
	From, To   string // as the user typed, or the default (Jalali)
	from, to   time.Time
	ErrorKey   string
	ErrorValue string
}

// parseRange reads ?from=&to= as Jalali days in Asia/Tehran, to inclusive:
// the range is [from 00:00, to+1 00:00). Empty values default to the last
// reportDays days ending today.
func (c *Console) parseRange(r *http.Request, lang string) reportRange {
	q := r.URL.Query()
	today := c.now().In(workcal.Tehran())
	today = time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, today.Location())
	rg := reportRange{From: strings.TrimSpace(q.Get("from")), To: strings.TrimSpace(q.Get("to"))}
	for _, s := range []string{rg.From, rg.To} {
		if len(s) > 40 { // no date is this long; do not echo a page of it
			rg.ErrorKey, rg.ErrorValue = "report_bad_date", string([]rune(s)[:12])+"…"
			rg.From, rg.To = "", ""
			return rg
		}
	}
	end := today
	if rg.To != "" {
		t, err := workcal.ParseJalaliDate(rg.To)
		if err != nil {
			rg.ErrorKey, rg.ErrorValue = "report_bad_date", rg.To
			return rg
		}
		end = t
	} else {
		rg.To = digits(lang, workcal.FormatJalali(end, false))
	}
	start := end.AddDate(0, 0, -(reportDays - 1))
	if rg.From != "" {
		t, err := workcal.ParseJalaliDate(rg.From)
		if err != nil {
			rg.ErrorKey, rg.ErrorValue = "report_bad_date", rg.From
			return rg
		}
		start = t
	} else {
		rg.From = digits(lang, workcal.FormatJalali(start, false))
	}
	if end.Before(start) {
		rg.ErrorKey = "report_to_before_from"
		return rg
	}
	rg.from, rg.to = start, end.AddDate(0, 0, 1)
	return rg
}

// statsStore is the case store's statistics, or nil when it has none.
func (c *Console) statsStore() cases.StatsStore {
	s, _ := c.cases.(cases.StatsStore)
	return s
}

// reports shows the center's figures over a Jalali range as inline SVG:
// no script and no CDN, so it prints and works offline.
func (c *Console) reports(w http.ResponseWriter, r *http.Request, p *principal) {
	lang := c.lang(w, r)
	rg := c.parseRange(r, lang)
	data := reportPage{Range: rg}
	if rg.ErrorKey != "" {
		msg := translate(lang, rg.ErrorKey)
		if rg.ErrorValue != "" {
			msg = fmt.Sprintf(msg, rg.ErrorValue)
		}
		c.render(w, r, p, http.StatusUnprocessableEntity, "reports", "reports", view{Error: msg, Data: data})
		return
	}
	ss := c.statsStore()
	if ss == nil {
		data.NoStats = true
		c.render(w, r, p, http.StatusOK, "reports", "reports", view{Data: data})
		return
	}
	st, err := ss.Stats(r.Context(), rg.from, rg.to)
	if err != nil {
		c.log.Error("console: reports", "err", err)
		c.fail(w, r, p, http.StatusInternalServerError, "server_error")
		return
	}
	data = c.reportPage(lang, rg, st)
	c.render(w, r, p, http.StatusOK, "reports", "reports", view{Data: data})
}

// reportPage is what the reports template draws.
type reportPage struct {
	Range   reportRange
	CSVURL  string
	NoStats bool
	Stats   cases.Stats
	Gauges  []gauge
	Charts  []chart
}

// reportPage lays out st as gauges and bar charts in lang.
func (c *Console) reportPage(lang string, rg reportRange, st cases.Stats) reportPage {
	v := view{c: c, Lang: lang}
	pg := reportPage{Range: rg}
	pg.Stats = st
	pg.CSVURL = c.cfg.Prefix + "/reports.csv?" + url.Values{"from": {rg.From}, "to": {rg.To}}.Encode()
	rtl := dir(lang) == "rtl"
	pg.Gauges = []gauge{
		newGauge("g-resolved", v.T("rep_resolved"), percent(lang, st.ResolvedShare),
			v.Tf("rep_of_messages", st.MessagesResolved, st.MessagesDecided), st.ResolvedShare, rtl),
		newGauge("g-result", v.T("rep_result3d"), percent(lang, st.ResultShare),
			v.Tf("rep_of_cases", st.ResultWithinCount, st.CasesOpened)+" — "+v.Tf("rep_mean_hours", decimal(lang, st.MeanHoursToResult)), st.ResultShare, rtl),
		newGauge("g-satisfaction", v.T("rep_satisfaction"), v.Tf("rep_of_5", decimal(lang, st.MeanSatisfaction)),
			v.Tf("rep_rated", st.Rated), st.MeanSatisfaction/5, rtl),
	}
	var comp []bar
	for _, d := range st.Compliance {
		comp = append(comp, bar{Label: v.Dept(d.Department), Value: d.Share,
			Text: percent(lang, d.Share) + " (" + digits(lang, fmt.Sprintf("%d/%d", d.OnTime, d.Due)) + ")"})
	}
	var esc []bar
	for _, l := range st.Escalations {
		esc = append(esc, bar{Label: v.Tf("rep_level_n", l.Level), Value: float64(l.Cases), Text: v.Num(l.Cases)})
	}
	counts := func(cs []cases.Count, name func(string) string) []bar {
		var out []bar
		for _, k := range cs {
			if len(out) == 15 {
				break
			}
			label := k.Key
			if name != nil {
				label = name(k.Key)
			}
			if label == "" {
				label = v.T("rep_unknown")
			}
			out = append(out, bar{Label: label, Value: float64(k.Count), Text: v.Num(k.Count)})
		}
		return out
	}
	pg.Charts = []chart{
		newChart("c-compliance", v.T("rep_compliance"), comp, 1, true, rtl),
		newChart("c-escalations", v.T("rep_escalations"), esc, 0, false, rtl),
		newChart("c-msg-portal", v.T("rep_messages_portal"), counts(st.MessagesByPortal, nil), 0, false, rtl),
		newChart("c-portal", v.T("rep_cases_portal"), counts(st.CasesByPortal, nil), 0, false, rtl),
		newChart("chart", v.T("by_service"), counts(st.CasesByService, v.Service), 0, false, rtl),
		newChart("c-district", v.T("rep_cases_district"), counts(st.CasesByDistrict, v.District), 0, false, rtl),
	}
	return pg
}

// reportsCSV downloads the classification of every case opened in the
// range, as `dargah export` writes it (BOM, header in the reader's
// language, one row per case). Each download is audited: it is bulk data.
func (c *Console) reportsCSV(w http.ResponseWriter, r *http.Request, p *principal) {
	lang := c.lang(w, r)
	rg := c.parseRange(r, lang)
	if rg.ErrorKey != "" {
		msg := translate(lang, rg.ErrorKey)
		if rg.ErrorValue != "" {
			msg = fmt.Sprintf(msg, rg.ErrorValue)
		}
		http.Error(w, msg, http.StatusBadRequest)
		return
	}
	ss := c.statsStore()
	if ss == nil {
		http.Error(w, translate(lang, "rep_no_stats"), http.StatusNotImplemented)
		return
	}
	from, to := workcal.FormatJalali(rg.from, false), workcal.FormatJalali(rg.to.AddDate(0, 0, -1), false)
	name := "dargah-cases-" + strings.ReplaceAll(from, "/", "") + "-" + strings.ReplaceAll(to, "/", "") + ".csv"
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Cache-Control", "no-store")
	n, err := statsapi.WriteCSV(r.Context(), w, ss, rg.from, rg.to, lang)
	// Audited after writing so the entry says how many rows left; the
	// download already happened even if the audit write fails.
	c.audit(r.Context(), r, p.user.Username, "report_export", from+"–"+to, "rows="+strconv.Itoa(n))
	if err != nil {
		// Headers are gone; the truncated file is all the client gets.
		c.log.Error("console: reports csv", "err", err, "rows", n)
	}
}

// newChart positions bars for a chart scaled to top (the largest value
// when 0), mirrored for RTL.
func newChart(id, title string, bars []bar, top float64, track, rtl bool) chart {
	if top == 0 {
		for _, b := range bars {
			top = max(top, b.Value)
		}
	}
	for i := range bars {
		b := &bars[i]
		if top > 0 {
			b.Width = 42 * b.Value / top
		}
		b.Y = i * 32
		if rtl {
			// With direction=rtl, "start" is the right edge of the text.
			b.LabelX, b.LabelAnchor, b.BarX, b.TextX, b.TrackX = 99, "start", 70-b.Width, 69-b.Width, 28
		} else {
			b.LabelX, b.LabelAnchor, b.BarX, b.TextX, b.TrackX = 29, "end", 30, 31+b.Width, 30
		}
	}
	return chart{ID: id, Title: title, Bars: bars, Height: len(bars)*32 + 8, Track: track}
}

func newGauge(id, title, figure, note string, share float64, rtl bool) gauge {
	share = min(max(share, 0), 1)
	g := gauge{ID: id, Title: title, Figure: figure, Note: note, Width: 100 * share}
	if rtl {
		g.X = 100 - g.Width
	}
	return g
}

// percent writes a share (0–1) as a percentage with one decimal when it
// is not whole: "۶۶٫۷٪" in fa and ar, "66.7%" in en.
func percent(lang string, f float64) string {
	s := decimal(lang, 100*f)
	if lang == "en" {
		return s + "%"
	}
	return s + "٪"
}

// decimal writes f with at most one decimal in the reader's digits and
// decimal separator.
func decimal(lang string, f float64) string {
	s := strconv.FormatFloat(f, 'f', 1, 64)
	s = strings.TrimSuffix(s, ".0")
	if lang == "en" {
		return s
	}
	return digits(lang, strings.ReplaceAll(s, ".", "٫"))
}
