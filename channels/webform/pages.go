package webform

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"github.com/dargah137/dargah/channels/phone"
	"html/template"
	"io"
	"io/fs"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/channels"
	"github.com/dargah137/dargah/gateway"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// staticHandler serves the embedded CSS and JS under /static/.
func staticHandler() http.Handler {
	sub, _ := fs.Sub(staticFS, "static")
	files := http.StripPrefix("/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		files.ServeHTTP(w, r)
	})
}

// pages are the parsed templates, one set per page sharing the layout.
type pages struct{ t map[string]*template.Template }

func loadPages() (*pages, error) {
	funcs := template.FuncMap{
		"digits": localDigits,
	}
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("parse layout: %w", err)
	}
	out := &pages{t: map[string]*template.Template{}}
	for _, name := range []string{"form", "result", "track"} {
		c, err := base.Clone()
		if err != nil {
			return nil, err
		}
		if _, err := c.ParseFS(templateFS, "templates/"+name+".html"); err != nil {
			return nil, fmt.Errorf("parse %s page: %w", name, err)
		}
		out.t[name] = c
	}
	return out, nil
}

// csp allows nothing from outside: no CDN, no inline script.
const csp = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"

// render writes a page; rendering into a buffer first means a template
// error becomes a clean 500 rather than half a page.
func (p *Portal) render(w http.ResponseWriter, status int, page string, d *pageData) {
	var buf bytes.Buffer
	if err := p.pages.t[page].ExecuteTemplate(&buf, "layout.html", d); err != nil {
		p.log.Error("render page", "page", page, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", csp)
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Language", d.Lang)
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// pageData is what every template sees.
type pageData struct {
	Lang, Dir string
	T         map[string]string
	Prefix    string
	Title     string
	Langs     []langLink
	// RefreshSeconds, when set, makes the page reload itself (pending result).
	RefreshSeconds int

	// form
	Services  []serviceOption
	Form      formValues
	Errors    map[string]string
	Summary   string
	PhotoHint string
	Nonce     string

	// result
	Result *resultView

	// track
	Code  string
	Case  *caseView
	Error string
}

type langLink struct {
	Code, Name, Href string
	Current          bool
}

type serviceOption struct {
	Code, Name string
	Selected   bool
}

type formValues struct {
	Text, ServiceCode, Phone, Name, Lat, Long, Address string
}

type resultView struct {
	MessageID    string
	Outcome      string // resolved, case_opened, pending, failed
	Reply        string
	TrackingCode string
}

type caseView struct {
	TrackingCode string
	Status       string
	Service      string
	Department   string
	Answer       string
	OpenedAt     string
	UpdatedAt    string
	Timeline     []timelineView
}

type timelineView struct{ At, Kind, Note string }

func (p *Portal) newPage(r *http.Request, title string) *pageData {
	lang := pickUILang(r)
	t := uiText[lang]
	d := &pageData{Lang: lang, Dir: dirOf(lang), T: t, Prefix: p.cfg.Prefix, Title: t[title]}
	// Language links reload the same page; after a POST (a form with
	// errors) they lead to a fresh form, since the POST cannot be linked.
	path, q := r.URL.Path, r.URL.Query()
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		path, q = p.cfg.Prefix+"/", url.Values{}
	}
	for _, l := range []string{"fa", "en", "ar"} {
		q.Set("lang", l)
		d.Langs = append(d.Langs, langLink{Code: l, Name: uiText[l]["lang_name"], Href: path + "?" + q.Encode(), Current: l == lang})
	}
	return d
}

func (p *Portal) serviceOptions(lang, selected string) []serviceOption {
	out := make([]serviceOption, 0, len(p.env.Services))
	for _, s := range p.env.Services {
		out = append(out, serviceOption{Code: s.Code, Name: pickLang(s.Name, lang, s.Code), Selected: s.Code == selected})
	}
	return out
}

func (p *Portal) formPage(r *http.Request, f formValues) *pageData {
	d := p.newPage(r, "title_form")
	d.Form = f
	d.Services = p.serviceOptions(d.Lang, f.ServiceCode)
	d.PhotoHint = fmt.Sprintf(d.T["hint_photo"], humanBytes(p.cfg.MaxAttachmentBytes, d.Lang))
	// A fresh nonce per rendering makes a double click or a browser
	// resubmission land on the same message instead of a second case.
	d.Nonce = gateway.NewID(p.now())
	d.Errors = map[string]string{}
	return d
}

func (p *Portal) handleFormPage(w http.ResponseWriter, r *http.Request) {
	p.render(w, http.StatusOK, "form", p.formPage(r, formValues{}))
}

// nonceRE matches the ids formPage issues.
var nonceRE = regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{26}$`)

// formSlack is room for the text fields next to the photo in one body.
const formSlack = 256 << 10

func (p *Portal) handleFormPost(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, p.cfg.MaxAttachmentBytes+formSlack)
	var err error
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		// Small memory bound: a photo beyond it goes to a temp file that
		// MultipartForm.RemoveAll deletes.
		err = r.ParseMultipartForm(1 << 20)
		if r.MultipartForm != nil {
			defer func() { _ = r.MultipartForm.RemoveAll() }()
		}
	} else {
		err = r.ParseForm()
	}
	f := formValues{
		Text:        strings.TrimSpace(r.PostForm.Get("text")),
		ServiceCode: strings.TrimSpace(r.PostForm.Get("service_code")),
		Phone:       strings.TrimSpace(r.PostForm.Get("phone")),
		Name:        strings.TrimSpace(r.PostForm.Get("name")),
		Lat:         strings.TrimSpace(r.PostForm.Get("lat")),
		Long:        strings.TrimSpace(r.PostForm.Get("long")),
		Address:     strings.TrimSpace(r.PostForm.Get("address")),
	}
	d := p.formPage(r, f)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			d.Summary = d.T["err_too_large"]
			p.render(w, http.StatusRequestEntityTooLarge, "form", d)
			return
		}
		d.Summary = d.T["err_summary"]
		p.render(w, http.StatusBadRequest, "form", d)
		return
	}
	in, photo, fieldErrs := p.checkForm(r, f)
	if len(fieldErrs) > 0 {
		for k, v := range fieldErrs {
			d.Errors[k] = d.T[v]
		}
		d.Summary = d.T["err_summary"]
		if r.MultipartForm != nil && len(r.MultipartForm.File["photo"]) > 0 && fieldErrs["photo"] == "" {
			d.Errors["photo"] = d.T["err_photo_again"]
		}
		p.render(w, http.StatusUnprocessableEntity, "form", d)
		return
	}
	in.Language = d.Lang
	in.Contact.Language = d.Lang

	nonce := r.PostForm.Get("nonce")
	key := ""
	if nonceRE.MatchString(nonce) {
		key = "form:" + nonce
		// A resubmission of the same rendering: show the first outcome,
		// and do not store its photo twice.
		if rc, err := p.env.Intake.LookupByPortalID(r.Context(), p.env.Portal, key); err == nil {
			p.redirectResult(w, r, rc.MessageID, d.Lang)
			return
		}
	}
	m := p.newMessage(key, "form")
	in.apply(&m)
	if err := m.Validate(); err != nil {
		d.Summary = d.T["err_summary"]
		p.render(w, http.StatusUnprocessableEntity, "form", d)
		return
	}
	if photo != nil {
		if p.env.Attachments == nil {
			d.Summary = d.T["err_unavailable"]
			p.render(w, http.StatusServiceUnavailable, "form", d)
			return
		}
		a, err := p.env.Attachments.AttachmentSave(r.Context(), photo.att, photo.data)
		if err != nil {
			p.log.Error("save photo", "err", err)
			d.Summary = d.T["err_unavailable"]
			p.render(w, http.StatusServiceUnavailable, "form", d)
			return
		}
		m.Attachments = []gateway.Attachment{a}
	}
	rc, err := p.env.Intake.Submit(r.Context(), m)
	if err != nil && !acceptedDespite(rc, err) {
		p.log.Error("submit form message", "err", err)
		d.Summary = d.T["err_unavailable"]
		if errors.Is(err, gateway.ErrInvalid) {
			d.Summary = d.T["err_summary"]
			p.render(w, http.StatusUnprocessableEntity, "form", d)
			return
		}
		p.render(w, http.StatusServiceUnavailable, "form", d)
		return
	}
	// The result page waits for the decision, so a reload of it (not of
	// this POST) is what a slow decision costs.
	p.redirectResult(w, r, rc.MessageID, d.Lang)
}

func (p *Portal) redirectResult(w http.ResponseWriter, r *http.Request, id, lang string) {
	http.Redirect(w, r, p.cfg.Prefix+"/result/"+url.PathEscape(id)+"?lang="+lang, http.StatusSeeOther)
}

type photoUpload struct {
	att  gateway.Attachment
	data []byte
}

// checkForm validates the form fields, returning message keys of errors by field.
func (p *Portal) checkForm(r *http.Request, f formValues) (Input, *photoUpload, map[string]string) {
	errs := map[string]string{}
	var in Input
	for _, s := range []string{f.Text, f.ServiceCode, f.Phone, f.Name, f.Lat, f.Long, f.Address} {
		if !validText(s) {
			errs["text"] = "err_text"
			return in, nil, errs
		}
	}
	switch {
	case f.Text == "":
		errs["text"] = "err_text"
	case len(f.Text) > gateway.MaxTextBytes:
		errs["text"] = "err_text_long"
	}
	in.Text = f.Text
	if f.ServiceCode != "" {
		if _, ok := p.services[f.ServiceCode]; !ok {
			errs["service_code"] = "err_category"
		}
		in.ServiceCode = f.ServiceCode
	}
	if ph, err := phone.Normalize(f.Phone); err != nil {
		errs["phone"] = "err_phone"
	} else {
		in.Contact.Phone = ph
	}
	in.Contact.Name = limitString(f.Name, 200)
	lat, err1 := parseCoord(f.Lat)
	long, err2 := parseCoord(f.Long)
	if err1 != nil || err2 != nil {
		errs["location"] = "err_location"
	} else if lat != nil || long != nil || f.Address != "" {
		loc, err := checkLocation(lat, long, f.Address)
		if err != nil {
			errs["location"] = "err_location"
		}
		in.Location = loc
	}
	var photo *photoUpload
	if r.MultipartForm != nil {
		if fhs := r.MultipartForm.File["photo"]; len(fhs) > 0 && fhs[0].Size > 0 {
			up, key := p.readPhoto(fhs[0])
			if key != "" {
				errs["photo"] = key
			}
			photo = up
		}
	}
	return in, photo, errs
}

func (p *Portal) readPhoto(fh *multipart.FileHeader) (*photoUpload, string) {
	if fh.Size > p.cfg.MaxAttachmentBytes {
		return nil, "err_photo_size"
	}
	f, err := fh.Open()
	if err != nil {
		return nil, "err_photo_type"
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, p.cfg.MaxAttachmentBytes+1))
	if err != nil {
		return nil, "err_photo_type"
	}
	ct, err := CheckPhoto(fh.Header.Get("Content-Type"), data, p.cfg.MaxAttachmentBytes)
	switch {
	case errors.Is(err, ErrPhotoSize):
		return nil, "err_photo_size"
	case err != nil:
		return nil, "err_photo_type"
	}
	name := limitString(strings.TrimSpace(fh.Filename), 200)
	if !validText(name) {
		name = ""
	}
	return &photoUpload{
		att:  gateway.Attachment{ContentType: ct, Filename: name, Size: int64(len(data))},
		data: data,
	}, ""
}

func (p *Portal) handleResultPage(w http.ResponseWriter, r *http.Request) {
	d := p.newPage(r, "title_result")
	id := r.PathValue("id")
	rc, err := p.env.Intake.Lookup(r.Context(), id)
	if err != nil || !p.ownReceipt(rc) {
		d.Error = d.T["err_not_found"]
		p.render(w, http.StatusNotFound, "result", d)
		return
	}
	if rc.Status == gateway.StatusAccepted {
		ctx := r.Context()
		actx, cancel := context.WithTimeout(ctx, p.cfg.DecideTimeout)
		if got, err := p.env.Intake.Await(actx, id); err == nil {
			rc = got
		}
		cancel()
	}
	res := &resultView{MessageID: rc.MessageID}
	switch rc.Status {
	case gateway.StatusDecided:
		res.Outcome = string(rc.Decision.Outcome)
		res.Reply = rc.Decision.Reply
		res.TrackingCode = rc.Decision.TrackingCode
	case gateway.StatusDead:
		res.Outcome = "failed"
	default:
		res.Outcome = "pending"
		d.RefreshSeconds = 3
	}
	d.Result = res
	p.render(w, http.StatusOK, "result", d)
}

func (p *Portal) handleTrackPage(w http.ResponseWriter, r *http.Request) {
	d := p.newPage(r, "title_track")
	raw := r.URL.Query().Get("code")
	if strings.TrimSpace(raw) == "" {
		p.render(w, http.StatusOK, "track", d)
		return
	}
	d.Code = limitString(raw, 40)
	if p.rateLimited(w, r) {
		d.Error = d.T["err_rate"]
		p.render(w, http.StatusTooManyRequests, "track", d)
		return
	}
	code := normalizeTrackingCode(raw)
	if !cases.ValidTrackingCode(code) {
		d.Error = d.T["err_code"]
		p.render(w, http.StatusBadRequest, "track", d)
		return
	}
	cs, err := p.env.Cases.CaseStatus(r.Context(), code)
	if err != nil {
		if errors.Is(err, cases.ErrNotFound) {
			d.Error = d.T["err_no_case"]
			p.render(w, http.StatusNotFound, "track", d)
			return
		}
		p.log.Error("case status", "err", err)
		d.Error = d.T["err_unavailable"]
		p.render(w, http.StatusServiceUnavailable, "track", d)
		return
	}
	d.Code = code
	d.Case = p.caseView(cs, d.Lang)
	p.render(w, http.StatusOK, "track", d)
}

func (p *Portal) caseView(cs channels.CaseStatus, lang string) *caseView {
	t := uiText[lang]
	v := &caseView{
		TrackingCode: cs.TrackingCode,
		Status:       orKey(t, "st_"+cs.Status, cs.Status),
		Service:      cs.ServiceCode,
		Department:   cs.Department,
		Answer:       cs.Answer,
		OpenedAt:     FormatDate(cs.OpenedAt, lang),
		UpdatedAt:    FormatDate(cs.UpdatedAt, lang),
	}
	if s, ok := p.services[cs.ServiceCode]; ok {
		v.Service = pickLang(s.Name, lang, s.Code)
	}
	for _, e := range cs.Timeline {
		v.Timeline = append(v.Timeline, timelineView{At: FormatDate(e.At, lang), Kind: orKey(t, "ev_"+e.Kind, e.Kind), Note: e.Note})
	}
	return v
}

func orKey(t map[string]string, key, def string) string {
	if s, ok := t[key]; ok {
		return s
	}
	return def
}
