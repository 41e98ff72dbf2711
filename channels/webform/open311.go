package webform

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"github.com/dargah137/dargah/channels/phone"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/channels"
	"github.com/dargah137/dargah/gateway"
)

// Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2/).
//
// service_request_id is the case's tracking code. A POST goes through the
// same intake and router as every other message, so three things can
// happen within decide_timeout, and each answer stays a valid GeoReport
// response (which needs a service_request_id or a token):
//
//   - a case was opened (or the message joined an existing case): the
//     tracking code as service_request_id and the router's reply as
//     service_notice;
//   - the router resolved it on the spot (e.g. an FAQ answer): there is no
//     service request to track, so no service_request_id; the answer is the
//     service_notice and the message id is the token, whose tokens/{token}
//     lookup then has no service_request_id either;
//   - no decision yet: the message id as token; GET tokens/{token} gives the
//     service_request_id once the case exists, per the spec's token flow.

// o311Service is one entry of services.json|xml.
type o311Service struct {
	XMLName     xml.Name `json:"-" xml:"service"`
	ServiceCode string   `json:"service_code" xml:"service_code"`
	ServiceName string   `json:"service_name" xml:"service_name"`
	Description string   `json:"description" xml:"description"`
	Metadata    bool     `json:"metadata" xml:"metadata"`
	Type        string   `json:"type" xml:"type"`
	Keywords    string   `json:"keywords" xml:"keywords"`
	Group       string   `json:"group" xml:"group"`
}

type o311Services struct {
	XMLName  xml.Name      `xml:"services"`
	Services []o311Service `xml:"service"`
}

type o311Definition struct {
	XMLName     xml.Name   `json:"-" xml:"service_definition"`
	ServiceCode string     `json:"service_code" xml:"service_code"`
	Attributes  []struct{} `json:"attributes" xml:"attributes"`
}

// o311Request is one service request, in POST answers (id, token, notice,
// account) and GET listings (the rest).
type o311Request struct {
	XMLName           xml.Name `json:"-" xml:"request"`
	ServiceRequestID  string   `json:"service_request_id,omitempty" xml:"service_request_id,omitempty"`
	Token             string   `json:"token,omitempty" xml:"token,omitempty"`
	Status            string   `json:"status,omitempty" xml:"status,omitempty"`
	StatusNotes       string   `json:"status_notes,omitempty" xml:"status_notes,omitempty"`
	ServiceName       string   `json:"service_name,omitempty" xml:"service_name,omitempty"`
	ServiceCode       string   `json:"service_code,omitempty" xml:"service_code,omitempty"`
	Description       string   `json:"description,omitempty" xml:"description,omitempty"`
	AgencyResponsible string   `json:"agency_responsible,omitempty" xml:"agency_responsible,omitempty"`
	ServiceNotice     string   `json:"service_notice,omitempty" xml:"service_notice,omitempty"`
	RequestedDatetime string   `json:"requested_datetime,omitempty" xml:"requested_datetime,omitempty"`
	UpdatedDatetime   string   `json:"updated_datetime,omitempty" xml:"updated_datetime,omitempty"`
	Address           string   `json:"address,omitempty" xml:"address,omitempty"`
	Lat               float64  `json:"lat,omitempty" xml:"lat,omitempty"`
	Long              float64  `json:"long,omitempty" xml:"long,omitempty"`
	// postAnswer makes account_id appear (null / empty element) in POST
	// answers, as the spec shows it, and nowhere else.
	postAnswer bool
}

// MarshalJSON adds "account_id": null to POST answers.
func (r o311Request) MarshalJSON() ([]byte, error) {
	type plain o311Request
	if !r.postAnswer {
		return json.Marshal(plain(r))
	}
	return json.Marshal(struct {
		plain
		AccountID *string `json:"account_id"`
	}{plain: plain(r)})
}

// MarshalXML adds an empty <account_id/> to POST answers.
func (r o311Request) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	type plain o311Request
	if !r.postAnswer {
		return e.EncodeElement(plain(r), start)
	}
	return e.EncodeElement(struct {
		plain
		AccountID string `xml:"account_id"`
	}{plain: plain(r)}, start)
}

type o311Requests struct {
	XMLName  xml.Name      `xml:"service_requests"`
	Requests []o311Request `xml:"request"`
}

// o311Error is one entry of the spec's error array.
type o311Error struct {
	XMLName     xml.Name `json:"-" xml:"error"`
	Code        int      `json:"code" xml:"code"`
	Description string   `json:"description" xml:"description"`
}

type o311Errors struct {
	XMLName xml.Name    `xml:"errors"`
	Errors  []o311Error `xml:"error"`
}

// formatOf is "json" or "xml" from a path's extension; "" when neither.
func formatOf(path string) (base, format string) {
	for _, f := range []string{".json", ".xml"} {
		if b, ok := strings.CutSuffix(path, f); ok {
			return b, f[1:]
		}
	}
	return path, ""
}

// writeO311 encodes v as JSON (jv) or XML (xv) per format.
func writeO311(w http.ResponseWriter, status int, format string, jv, xv any) {
	w.Header().Set("Cache-Control", "no-store")
	if format == "xml" {
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(xml.Header))
		enc := xml.NewEncoder(w)
		enc.Indent("", "  ")
		_ = enc.Encode(xv)
		return
	}
	writeJSON(w, status, jv)
}

func writeO311Error(w http.ResponseWriter, format string, status int, desc string) {
	e := []o311Error{{Code: status, Description: desc}}
	if format == "" {
		format = "json"
	}
	writeO311(w, status, format, e, o311Errors{Errors: e})
}

// locale picks the language of service names: ?locale= or ?lang=, fa by default.
func o311Locale(r *http.Request) string {
	l := r.URL.Query().Get("locale")
	if l == "" {
		l = r.URL.Query().Get("lang")
	}
	l = strings.ToLower(l)
	if i := strings.IndexAny(l, "-_"); i > 0 {
		l = l[:i]
	}
	if !gateway.SupportedLanguage(l) {
		return "fa"
	}
	return l
}

// checkJurisdiction answers 404 for a jurisdiction_id this portal does not serve.
func (p *Portal) checkJurisdiction(w http.ResponseWriter, format string, v url.Values) bool {
	if j := v.Get("jurisdiction_id"); j != "" && j != p.cfg.JurisdictionID {
		writeO311Error(w, format, http.StatusNotFound, fmt.Sprintf("jurisdiction_id %q is not served here", j))
		return false
	}
	return true
}

func (p *Portal) handleO311Services(w http.ResponseWriter, r *http.Request) {
	_, format := formatOf(r.URL.Path)
	if !p.checkJurisdiction(w, format, r.URL.Query()) {
		return
	}
	lang := o311Locale(r)
	list := make([]o311Service, 0, len(p.env.Services))
	for _, s := range p.env.Services {
		list = append(list, o311Service{
			ServiceCode: s.Code,
			ServiceName: pickLang(s.Name, lang, s.Code),
			Description: pickLang(s.Description, lang, ""),
			Type:        "realtime",
			Keywords:    strings.Join(s.Keywords, ","),
			Group:       s.Group,
		})
	}
	writeO311(w, http.StatusOK, format, list, o311Services{Services: list})
}

func (p *Portal) handleO311Definition(w http.ResponseWriter, r *http.Request) {
	code, format := formatOf(r.PathValue("file"))
	if format == "" {
		writeO311Error(w, "json", http.StatusNotFound, "use services/{service_code}.json or .xml")
		return
	}
	if !p.checkJurisdiction(w, format, r.URL.Query()) {
		return
	}
	if _, ok := p.services[code]; !ok {
		writeO311Error(w, format, http.StatusNotFound, fmt.Sprintf("service_code %q not found", code))
		return
	}
	d := o311Definition{ServiceCode: code, Attributes: []struct{}{}}
	writeO311(w, http.StatusOK, format, d, d)
}

func (p *Portal) handleO311Discovery(w http.ResponseWriter, r *http.Request) {
	_, format := formatOf(r.URL.Path)
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	type endpoint struct {
		Specification string   `json:"specification" xml:"specification"`
		URL           string   `json:"url" xml:"url"`
		Type          string   `json:"type" xml:"type"`
		Formats       []string `json:"formats" xml:"formats>format"`
	}
	type discovery struct {
		XMLName   xml.Name   `json:"-" xml:"discovery"`
		Contact   string     `json:"contact" xml:"contact"`
		KeyNotice string     `json:"key_service" xml:"key_service"`
		Endpoints []endpoint `json:"endpoints" xml:"endpoints>endpoint"`
	}
	d := discovery{
		Contact:   "137",
		KeyNotice: "api_key is issued by the city's 137 center",
		Endpoints: []endpoint{{
			Specification: "http://wiki.open311.org/GeoReport_v2",
			URL:           scheme + "://" + r.Host + p.cfg.Prefix + "/open311/v2",
			Type:          "production",
			Formats:       []string{"text/xml", "application/json"},
		}},
	}
	writeO311(w, http.StatusOK, format, d, d)
}

// Open311Post is a parsed POST requests form.
type Open311Post struct {
	APIKey         string
	JurisdictionID string
	Input          Input
	Metadata       map[string]string
}

// ParseOpen311Post reads a POST requests form (already parsed into v). It
// checks everything but the api_key's validity; an error is an o311Error
// with the HTTP status to answer.
func ParseOpen311Post(v url.Values, services map[string]bool) (Open311Post, *o311Error) {
	bad := func(desc string) *o311Error { return &o311Error{Code: http.StatusBadRequest, Description: desc} }
	for k, vals := range v {
		for _, s := range vals {
			if !validText(k) || !validText(s) {
				return Open311Post{}, bad("parameters must be valid UTF-8")
			}
		}
	}
	out := Open311Post{APIKey: v.Get("api_key"), JurisdictionID: v.Get("jurisdiction_id"), Metadata: map[string]string{}}
	code := strings.TrimSpace(v.Get("service_code"))
	if code == "" {
		return out, bad("service_code is required")
	}
	if !services[code] {
		return out, bad(fmt.Sprintf("service_code %q not found", code))
	}
	in := Input{ServiceCode: code, Text: strings.TrimSpace(v.Get("description"))}
	if len(in.Text) > gateway.MaxTextBytes {
		return out, bad(fmt.Sprintf("description must be at most %d bytes", gateway.MaxTextBytes))
	}
	lat, err1 := parseCoord(v.Get("lat"))
	long, err2 := parseCoord(v.Get("long"))
	if err1 != nil || err2 != nil {
		return out, bad("lat and long must be decimal degrees (WGS84)")
	}
	addr := v.Get("address_string")
	if lat == nil && long == nil && strings.TrimSpace(addr) == "" {
		if v.Get("address_id") != "" {
			return out, bad("address_id is not supported here; send lat/long or address_string")
		}
		return out, bad("a location is required: lat and long, or address_string")
	}
	loc, aerr := checkLocation(lat, long, addr)
	if aerr != nil {
		return out, bad(strings.ReplaceAll(aerr.Message, "location", "lat/long"))
	}
	in.Location = loc
	if ph := strings.TrimSpace(v.Get("phone")); ph != "" {
		n, err := phone.Normalize(ph)
		if err != nil {
			return out, bad("phone is not a valid phone number")
		}
		in.Contact.Phone = n
	}
	if e := strings.TrimSpace(v.Get("email")); e != "" {
		a, err := checkEmail(e)
		if err != nil {
			return out, bad("email is not a valid address")
		}
		in.Contact.Email = a
	}
	in.Contact.Name = limitString(strings.TrimSpace(strings.TrimSpace(v.Get("first_name"))+" "+strings.TrimSpace(v.Get("last_name"))), 200)
	if l := o311Lang(v.Get("locale")); l != "" {
		in.Language, in.Contact.Language = l, l
	}
	// Kept for staff; the spec's media_url points at the client's own
	// storage, which Dargah does not fetch.
	for _, k := range []string{"media_url", "device_id", "account_id", "address_id"} {
		if s := strings.TrimSpace(v.Get(k)); s != "" {
			out.Metadata["open311_"+k] = limitString(s, 1000)
		}
	}
	out.Input = in
	return out, nil
}

func o311Lang(l string) string {
	l = strings.ToLower(l)
	if i := strings.IndexAny(l, "-_"); i > 0 {
		l = l[:i]
	}
	if gateway.SupportedLanguage(l) {
		return l
	}
	return ""
}

func (p *Portal) handleO311Post(w http.ResponseWriter, r *http.Request) {
	_, format := formatOf(r.URL.Path)
	r.Body = http.MaxBytesReader(w, r.Body, p.cfg.MaxBodyBytes)
	var err error
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		err = r.ParseMultipartForm(p.cfg.MaxBodyBytes)
		if r.MultipartForm != nil {
			defer func() { _ = r.MultipartForm.RemoveAll() }()
		}
	} else {
		err = r.ParseForm()
	}
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeO311Error(w, format, http.StatusRequestEntityTooLarge, "request is too large")
			return
		}
		writeO311Error(w, format, http.StatusBadRequest, "send the parameters as application/x-www-form-urlencoded")
		return
	}
	v := r.Form
	if key := v.Get("api_key"); key == "" || !p.keys[key] {
		writeO311Error(w, format, http.StatusForbidden, "api_key is missing or invalid")
		return
	}
	if !p.checkJurisdiction(w, format, v) {
		return
	}
	post, perr := ParseOpen311Post(v, p.serviceSet())
	if perr != nil {
		writeO311Error(w, format, perr.Code, perr.Description)
		return
	}
	key := strings.TrimSpace(r.Header.Get("Idempotency-Key"))
	if len(key) > maxIdempotencyKey || strings.ContainsFunc(key, isControl) || !validText(key) {
		writeO311Error(w, format, http.StatusBadRequest, "Idempotency-Key must be at most 200 printable characters")
		return
	}
	if key != "" {
		key = "open311:" + key
	}
	m := p.newMessage(key, "open311")
	post.Input.apply(&m)
	for k, s := range post.Metadata {
		m.Metadata[k] = s
	}
	rc, err := p.submit(r.Context(), m)
	if err != nil {
		if errors.Is(err, gateway.ErrInvalid) {
			writeO311Error(w, format, http.StatusBadRequest, strings.TrimPrefix(err.Error(), gateway.ErrInvalid.Error()+": "))
			return
		}
		p.log.Error("open311 submit", "err", err)
		writeO311Error(w, format, http.StatusServiceUnavailable, "could not accept the request now; try again")
		return
	}
	if rc.Status == gateway.StatusDead {
		writeO311Error(w, format, http.StatusInternalServerError, "the request could not be processed; the 137 center has been told")
		return
	}
	req := o311Request{postAnswer: true}
	switch {
	case rc.Status == gateway.StatusDecided && rc.Decision.TrackingCode != "":
		req.ServiceRequestID = rc.Decision.TrackingCode
		req.ServiceNotice = rc.Decision.Reply
	case rc.Status == gateway.StatusDecided:
		req.Token = rc.MessageID
		req.ServiceNotice = rc.Decision.Reply
	default:
		req.Token = rc.MessageID
	}
	list := []o311Request{req}
	writeO311(w, http.StatusOK, format, list, o311Requests{Requests: list})
}

func (p *Portal) handleO311Token(w http.ResponseWriter, r *http.Request) {
	token, format := formatOf(r.PathValue("file"))
	if format == "" {
		writeO311Error(w, "json", http.StatusNotFound, "use tokens/{token}.json or .xml")
		return
	}
	rc, err := p.env.Intake.Lookup(r.Context(), token)
	if err != nil || !p.ownReceipt(rc) {
		writeO311Error(w, format, http.StatusNotFound, "token not found")
		return
	}
	req := o311Request{Token: token, ServiceRequestID: rc.Decision.TrackingCode}
	list := []o311Request{req}
	writeO311(w, http.StatusOK, format, list, o311Requests{Requests: list})
}

// maxO311IDs bounds a service_request_id list.
const maxO311IDs = 100

// ParseOpen311Query turns GET requests parameters into a case query. now
// anchors the default window (the last 90 days).
func ParseOpen311Query(v url.Values, now time.Time) (channels.CaseQuery, *o311Error) {
	bad := func(desc string) *o311Error { return &o311Error{Code: http.StatusBadRequest, Description: desc} }
	q := channels.CaseQuery{Limit: 1000}
	if ids := strings.TrimSpace(v.Get("service_request_id")); ids != "" {
		// The spec: a service_request_id list overrides every other argument.
		for _, id := range strings.Split(ids, ",") {
			id = normalizeTrackingCode(id)
			if id == "" {
				continue
			}
			if !cases.ValidTrackingCode(id) {
				return q, bad(fmt.Sprintf("service_request_id %q is not a tracking code", id))
			}
			q.TrackingCodes = append(q.TrackingCodes, id)
		}
		if len(q.TrackingCodes) > maxO311IDs {
			return q, bad(fmt.Sprintf("at most %d service_request_id values", maxO311IDs))
		}
		return q, nil
	}
	q.ServiceCode = strings.TrimSpace(v.Get("service_code"))
	switch s := strings.ToLower(strings.TrimSpace(v.Get("status"))); s {
	case "", "open", "closed":
		q.Status = s
	default:
		return q, bad("status must be open or closed")
	}
	var err error
	if s := v.Get("start_date"); s != "" {
		if q.From, err = parseW3CDate(s); err != nil {
			return q, bad("start_date must be an ISO 8601 date-time, e.g. 2026-11-01T00:00:00Z")
		}
	}
	if s := v.Get("end_date"); s != "" {
		if q.To, err = parseW3CDate(s); err != nil {
			return q, bad("end_date must be an ISO 8601 date-time, e.g. 2026-11-30T00:00:00Z")
		}
	}
	switch {
	case q.From.IsZero() && q.To.IsZero():
		q.From = now.Add(-90 * 24 * time.Hour)
	case q.From.IsZero():
		q.From = q.To.Add(-90 * 24 * time.Hour)
	}
	if !q.To.IsZero() && !q.From.Before(q.To) {
		return q, bad("start_date must be before end_date")
	}
	return q, nil
}

// parseW3CDate reads the W3C subset of ISO 8601 the spec requires, plus a
// bare date (taken as UTC midnight).
func parseW3CDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04Z07:00", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("date %q is not ISO 8601", s)
}

func (p *Portal) handleO311Requests(w http.ResponseWriter, r *http.Request) {
	_, format := formatOf(r.URL.Path)
	v := r.URL.Query()
	if !p.checkJurisdiction(w, format, v) {
		return
	}
	if p.rateLimited(w, r) {
		writeO311Error(w, format, http.StatusTooManyRequests, "too many requests; try again later")
		return
	}
	q, qerr := ParseOpen311Query(v, p.now())
	if qerr != nil {
		writeO311Error(w, format, qerr.Code, qerr.Description)
		return
	}
	list, err := p.env.Cases.CaseSearch(r.Context(), q)
	if err != nil {
		p.log.Error("open311 case search", "err", err)
		writeO311Error(w, format, http.StatusInternalServerError, "could not list requests")
		return
	}
	if len(list) > 1000 {
		list = list[:1000]
	}
	lang := o311Locale(r)
	out := make([]o311Request, 0, len(list))
	for _, cs := range list {
		out = append(out, p.o311FromCase(cs, lang))
	}
	writeO311(w, http.StatusOK, format, out, o311Requests{Requests: out})
}

func (p *Portal) handleO311Request(w http.ResponseWriter, r *http.Request) {
	id, format := formatOf(r.PathValue("file"))
	if format == "" {
		writeO311Error(w, "json", http.StatusNotFound, "use requests/{service_request_id}.json or .xml")
		return
	}
	if !p.checkJurisdiction(w, format, r.URL.Query()) {
		return
	}
	if p.rateLimited(w, r) {
		writeO311Error(w, format, http.StatusTooManyRequests, "too many requests; try again later")
		return
	}
	id = normalizeTrackingCode(id)
	if !cases.ValidTrackingCode(id) {
		writeO311Error(w, format, http.StatusNotFound, "service_request_id not found")
		return
	}
	cs, err := p.env.Cases.CaseStatus(r.Context(), id)
	if err != nil {
		if errors.Is(err, cases.ErrNotFound) {
			writeO311Error(w, format, http.StatusNotFound, "service_request_id not found")
			return
		}
		p.log.Error("open311 case status", "err", err)
		writeO311Error(w, format, http.StatusInternalServerError, "could not look up the request")
		return
	}
	list := []o311Request{p.o311FromCase(cs, o311Locale(r))}
	writeO311(w, http.StatusOK, format, list, o311Requests{Requests: list})
}

// o311FromCase maps a public case status onto a GeoReport request.
func (p *Portal) o311FromCase(cs channels.CaseStatus, lang string) o311Request {
	status := "open"
	if cs.Status == string(cases.StatusClosed) || cs.Status == "closed" {
		status = "closed"
	}
	req := o311Request{
		ServiceRequestID:  cs.TrackingCode,
		Status:            status,
		StatusNotes:       cs.Answer,
		ServiceCode:       cs.ServiceCode,
		Description:       cs.Description,
		AgencyResponsible: cs.Department,
		Address:           cs.Address,
		Lat:               cs.Lat,
		Long:              cs.Long,
	}
	if s, ok := p.services[cs.ServiceCode]; ok {
		req.ServiceName = pickLang(s.Name, lang, s.Code)
	}
	if !cs.OpenedAt.IsZero() {
		req.RequestedDatetime = cs.OpenedAt.UTC().Format(time.RFC3339)
	}
	if !cs.UpdatedAt.IsZero() {
		req.UpdatedDatetime = cs.UpdatedAt.UTC().Format(time.RFC3339)
	}
	return req
}

// pickLang returns names[lang], else fa, else any (sorted for stability), else def.
func pickLang(names map[string]string, lang, def string) string {
	if s := names[lang]; s != "" {
		return s
	}
	if s := names["fa"]; s != "" {
		return s
	}
	keys := make([]string, 0, len(names))
	for k := range names {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if names[k] != "" {
			return names[k]
		}
	}
	return def
}
