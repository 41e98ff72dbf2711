package console

import (
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/cases/org"
	"github.com/dargah137/dargah/configs"
	"github.com/dargah137/dargah/gateway"
	"github.com/dargah137/dargah/routing/acd"
	"github.com/dargah137/dargah/web/console/users"
)

// BenchmarkRenderCase renders a case page with a 20-event timeline: the
// template cost of the page officials open most.
func BenchmarkRenderCase(b *testing.B) {
	pages, err := parsePages()
	if err != nil {
		b.Fatal(err)
	}
	c := &Console{cfg: Config{Prefix: "/console"}, pages: pages, now: time.Now, services: map[string]map[string]string{}}
	at := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	k := cases.Case{TrackingCode: "1234567890", Status: cases.StatusAssigned, ServiceCode: "asphalt", Department: "civil_works",
		Contact: gateway.Contact{Name: "شهروند", Phone: "+989121234567"}, Description: strings.Repeat("چاله در خیابان <b> ", 20), OpenedAt: at}
	var evs []cases.Event
	for i := range 20 {
		evs = append(evs, cases.Event{At: at.Add(time.Duration(i) * time.Minute), Kind: "assigned", Actor: "system", Note: "یادداشت", Public: i%2 == 0})
	}
	p := &principal{user: users.User{Username: "u", Roles: []users.Role{users.RoleDepartment}, Department: "civil_works"}, session: users.Session{CSRF: "t"}}
	d := caseData{Case: k, Events: evs, Actions: actionsFor(p.user, k, "")}
	r := httptest.NewRequest("GET", "/console/cases/1234567890", nil)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		c.render(w, r, p, 200, "case", "tracking", view{Data: d})
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
		_, _ = io.Discard.Write(w.Body.Bytes())
	}
}

// BenchmarkRenderPhone renders the agent desktop with the district map of
// configs/org.yaml: the page an agent reloads after every call.
func BenchmarkRenderPhone(b *testing.B) {
	pages, err := parsePages()
	if err != nil {
		b.Fatal(err)
	}
	o, err := org.Parse("org.yaml", configs.Org)
	if err != nil {
		b.Fatal(err)
	}
	c := &Console{cfg: Config{Prefix: "/console"}, pages: pages, now: time.Now, services: map[string]map[string]string{"asphalt": {"fa": "آسفالت"}},
		dmaps: map[string]*districtMap{"fa": newDistrictMap(o.Districts, "fa")}}
	p := &principal{user: users.User{Username: "zahra", Roles: []users.Role{users.RoleAgent}}, session: users.Session{CSRF: "t"}}
	d := phoneData{Agent: acd.Agent{ID: "zahra", State: acd.Available, Endpoint: "PJSIP/201", Skills: map[string]int{"fa": 5}}, In: true,
		Services: []string{"asphalt"}, Map: c.dmaps["fa"], States: map[string]string{"available": "آماده"}, Labels: map[string]string{"call_ring": "زنگ"}}
	r := httptest.NewRequest("GET", "/console/phone", nil)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		c.render(w, r, p, 200, "phone", "phone_desk", view{Data: d})
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}

// BenchmarkRenderReports lays out and renders the reports page for a
// month of a busy center: 20 departments, 3 escalation levels, 8 portals,
// 15 services and 13 districts shown.
func BenchmarkRenderReports(b *testing.B) {
	pages, err := parsePages()
	if err != nil {
		b.Fatal(err)
	}
	c := &Console{cfg: Config{Prefix: "/console"}, pages: pages, now: time.Now, services: map[string]map[string]string{"asphalt": {"fa": "آسفالت"}}}
	st := cases.Stats{MessagesDecided: 90000, MessagesResolved: 54000, ResolvedShare: 0.6, CasesOpened: 36000, ResultWithinCount: 31000, ResultShare: 0.86,
		Rated: 9000, MeanSatisfaction: 4.2, MeanHoursToResult: 30.5}
	for i := range 20 {
		st.Compliance = append(st.Compliance, cases.Compliance{Department: fmt.Sprintf("dept-%02d", i), Due: 1000, OnTime: int64(800 + i*10), Share: float64(800+i*10) / 1000})
	}
	for i := range 3 {
		st.Escalations = append(st.Escalations, cases.LevelCount{Level: i + 1, Cases: int64(900 / (i + 1))})
	}
	for i := range 20 {
		k := cases.Count{Key: fmt.Sprintf("k-%02d", i), Count: int64(5000 - i*200)}
		st.MessagesByPortal, st.CasesByPortal = append(st.MessagesByPortal, k), append(st.CasesByPortal, k)
		st.CasesByService, st.CasesByDistrict = append(st.CasesByService, k), append(st.CasesByDistrict, k)
	}
	rg := reportRange{From: "۱۴۰۵/۰۸/۰۱", To: "۱۴۰۵/۰۸/۳۰"}
	p := &principal{user: users.User{Username: "s", Roles: []users.Role{users.RoleSupervisor}}, session: users.Session{CSRF: "t"}}
	r := httptest.NewRequest("GET", "/console/reports", nil)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		c.render(w, r, p, 200, "reports", "reports", view{Data: c.reportPage("fa", rg, st)})
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}
