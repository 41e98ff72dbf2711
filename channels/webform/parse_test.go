package webform

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"github.com/dargah137/dargah/channels/phone"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/channels"
)

func TestNormalizePhone(t *testing.T) {
	t.Parallel()
	ok := []struct{ in, want string }{
		{"09121234567", "+989121234567"},
		{"9121234567", "+989121234567"},
		{"989121234567", "+989121234567"},
		{"+989121234567", "+989121234567"},
		{"00989121234567", "+989121234567"},
		{"+98 (0)912 123 4567", "+989121234567"},
		{"0912-123-4567", "+989121234567"},
		{"۰۹۱۲۱۲۳۴۵۶۷", "+989121234567"},
		{"٠٩١٢١٢٣٤٥٦٧", "+989121234567"},
		{"+۹۸۹۱۲۱۲۳۴۵۶۷", "+989121234567"},
		{" 0912 123 4567 ", "+989121234567"},
		{"05131234567", "+985131234567"},     // Mashhad landline
		{"+9647712345678", "+9647712345678"}, // Iraqi pilgrim
		{"00923001234567", "+923001234567"},  // Pakistani pilgrim
	}
	for _, c := range ok {
		got, err := phone.Normalize(c.in)
		if err != nil || got != c.want {
			t.Errorf("phone.Normalize(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	bad := []string{"", "abc", "12345", "0912123456", "091212345678", "+98912", "+980121234567",
		"00000000000", "0012", "+1", "9+121234567", "0912123456x", "+98912123456789012345678",
		"0012345678901234567"}
	for _, in := range bad {
		if got, err := phone.Normalize(in); !errors.Is(err, phone.ErrInvalid) {
			t.Errorf("phone.Normalize(%q) = %q, %v; want phone.ErrInvalid", in, got, err)
		}
	}
}

var testServices = map[string]bool{"lighting": true, "other": true}

func TestDecodeMessage(t *testing.T) {
	t.Parallel()
	good, err := DecodeMessage([]byte(`{"text":" چراغ کوچه خاموش است ","contact":{"phone":"09121234567","email":"a@b.ir","name":"علی"},
		"location":{"lat":36.3,"long":59.6,"address":"وکیل‌آباد"},"service_code":"lighting","language":"FA"}`), testServices)
	if err != nil {
		t.Fatal(err)
	}
	if good.Text != "چراغ کوچه خاموش است" || good.Contact.Phone != "+989121234567" || good.Contact.Email != "a@b.ir" ||
		good.Location.Lat != 36.3 || good.Location.Address != "وکیل‌آباد" || good.ServiceCode != "lighting" || good.Language != "fa" {
		t.Fatalf("decoded %+v", good)
	}
	if _, err := DecodeMessage([]byte(`{"text":"x","location":{"address":"میدان شهدا"}}`), testServices); err != nil {
		t.Fatalf("address-only location: %v", err)
	}

	cases := []struct {
		name, body, code, field string
	}{
		{"not json", `{"text":`, "invalid_json", ""},
		{"array", `[1]`, "invalid_json", ""},
		{"empty", ``, "invalid_json", ""},
		{"trailing", `{"text":"a"} {"text":"b"}`, "invalid_json", ""},
		{"unknown field", `{"text":"a","txet":"b"}`, "unknown_field", "txet"},
		{"unknown nested", `{"text":"a","contact":{"fax":"1"}}`, "unknown_field", "fax"},
		{"missing text", `{"contact":{"phone":"09121234567"}}`, "missing_field", "text"},
		{"blank text", `{"text":"   "}`, "missing_field", "text"},
		{"text type", `{"text":5}`, "invalid_type", "text"},
		{"bad phone", `{"text":"a","contact":{"phone":"12"}}`, "invalid_phone", "contact.phone"},
		{"bad email", `{"text":"a","contact":{"email":"nope"}}`, "invalid_email", "contact.email"},
		{"invalid utf8", "{\"text\":\"\xff\xfe\"}", "invalid_utf8", ""},
		{"unknown service", `{"text":"a","service_code":"pothole"}`, "unknown_service_code", "service_code"},
		{"bad language", `{"text":"a","language":"de"}`, "invalid_language", "language"},
		{"lat without long", `{"text":"a","location":{"lat":36}}`, "invalid_location", "location"},
		{"lat out of range", `{"text":"a","location":{"lat":136,"long":59}}`, "invalid_location", "location.lat"},
		{"empty location", `{"text":"a","location":{}}`, "invalid_location", "location"},
		{"too long", `{"text":"` + strings.Repeat("a", 16<<10+1) + `"}`, "text_too_long", "text"},
	}
	for _, c := range cases {
		_, err := DecodeMessage([]byte(c.body), testServices)
		var ae *apiError
		if !errors.As(err, &ae) {
			t.Errorf("%s: err = %v, want apiError", c.name, err)
			continue
		}
		if ae.Code != c.code || ae.Field != c.field || ae.Status != http.StatusBadRequest {
			t.Errorf("%s: got %s/%s/%d, want %s/%s/400", c.name, ae.Code, ae.Field, ae.Status, c.code, c.field)
		}
	}
}

func FuzzDecodeMessage(f *testing.F) {
	for _, s := range []string{
		`{"text":"سلام","contact":{"phone":"۰۹۱۲۱۲۳۴۵۶۷"},"location":{"lat":36.29,"long":59.6}}`,
		`{"text":"a","service_code":"lighting","language":"ar"}`,
		`{"text":null}`, `{}`, `[]`, `"x"`, `{"text":"a","location":{"lat":1e400,"long":0}}`,
		"{\"text\":\"\xc3\x28\"}", `{"text":"a"}garbage`, `{"contact":{"phone":"+"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := DecodeMessage(body, testServices)
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) || ae.Status < 400 || ae.Status > 499 || ae.Code == "" {
				t.Fatalf("error %v is not a 4xx apiError", err)
			}
			return
		}
		if strings.TrimSpace(in.Text) == "" || len(in.Text) > 16<<10 {
			t.Fatalf("accepted text %q", in.Text)
		}
		if in.Contact.Phone != "" && !strings.HasPrefix(in.Contact.Phone, "+") {
			t.Fatalf("phone %q not E.164", in.Contact.Phone)
		}
		if in.ServiceCode != "" && !testServices[in.ServiceCode] {
			t.Fatalf("unknown service %q accepted", in.ServiceCode)
		}
		if l := in.Location; l != nil && (l.Lat < -90 || l.Lat > 90 || l.Long < -180 || l.Long > 180) {
			t.Fatalf("location %+v out of range", l)
		}
	})
}

func TestCheckContentType(t *testing.T) {
	t.Parallel()
	for _, ct := range []string{"application/json", "application/json; charset=utf-8", "application/json;charset=UTF-8"} {
		if e := checkContentType(ct); e != nil {
			t.Errorf("%q refused: %v", ct, e)
		}
	}
	for _, ct := range []string{"", "text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin1", "application/json;;"} {
		if e := checkContentType(ct); e == nil || e.Status != http.StatusUnsupportedMediaType {
			t.Errorf("%q accepted or wrong status: %v", ct, e)
		}
	}
}

func TestParseOpen311Post(t *testing.T) {
	t.Parallel()
	v := url.Values{
		"api_key": {"k"}, "service_code": {"lighting"}, "lat": {"36.2970"}, "long": {"59.6062"},
		"description": {"چراغ خاموش"}, "email": {"x@y.ir"}, "phone": {"0912 123 4567"},
		"first_name": {"مریم"}, "last_name": {"رضایی"}, "media_url": {"https://example.org/a.jpg"},
		"attribute[WHISPER]": {"x"},
	}
	p, e := ParseOpen311Post(v, testServices)
	if e != nil {
		t.Fatal(e.Description)
	}
	in := p.Input
	if in.ServiceCode != "lighting" || in.Location.Lat != 36.297 || in.Contact.Phone != "+989121234567" ||
		in.Contact.Name != "مریم رضایی" || in.Text != "چراغ خاموش" || p.Metadata["open311_media_url"] != "https://example.org/a.jpg" {
		t.Fatalf("parsed %+v %+v", in, p.Metadata)
	}
	p, e = ParseOpen311Post(url.Values{"service_code": {"other"}, "address_string": {"بلوار سجاد"}}, testServices)
	if e != nil || p.Input.Location.Address != "بلوار سجاد" || p.Input.Location.HasPoint() {
		t.Fatalf("address only: %+v %v", p, e)
	}

	bad := []url.Values{
		{"lat": {"36"}, "long": {"59"}},                                      // no service_code
		{"service_code": {"pothole"}, "lat": {"36"}, "long": {"59"}},         // unknown
		{"service_code": {"other"}},                                          // no location
		{"service_code": {"other"}, "address_id": {"17"}},                    // unsupported
		{"service_code": {"other"}, "lat": {"36"}},                           // half a point
		{"service_code": {"other"}, "lat": {"x"}, "long": {"59"}},            // not a number
		{"service_code": {"other"}, "lat": {"NaN"}, "long": {"59"}},          // not a number
		{"service_code": {"other"}, "lat": {"96"}, "long": {"59"}},           // out of range
		{"service_code": {"other"}, "address_string": {"a"}, "phone": {"1"}}, // phone
		{"service_code": {"other"}, "address_string": {"a"}, "email": {"@"}}, // email
		{"service_code": {"other"}, "address_string": {"\xff"}},              // utf-8
		{"service_code": {"other"}, "address_string": {"a"}, "description": {strings.Repeat("x", 17000)}},
	}
	for i, v := range bad {
		if _, e := ParseOpen311Post(v, testServices); e == nil || e.Code != 400 {
			t.Errorf("case %d (%v): want 400, got %+v", i, v, e)
		}
	}
}

func TestParseOpen311Query(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	q, e := ParseOpen311Query(url.Values{}, now)
	if e != nil || !q.From.Equal(now.Add(-90*24*time.Hour)) || !q.To.IsZero() || q.Limit != 1000 {
		t.Fatalf("default window: %+v %v", q, e)
	}
	q, e = ParseOpen311Query(url.Values{"service_code": {"lighting"}, "status": {"Open"},
		"start_date": {"2026-11-01T00:00:00Z"}, "end_date": {"2026-11-20T00:00:00+03:30"}}, now)
	if e != nil || q.ServiceCode != "lighting" || q.Status != "open" || q.From.Day() != 1 || q.To.IsZero() {
		t.Fatalf("filters: %+v %v", q, e)
	}
	q, e = ParseOpen311Query(url.Values{"end_date": {"2026-06-01"}}, now)
	if e != nil || !q.From.Equal(time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("end only: %+v %v", q, e)
	}
	// A list overrides everything else, per the spec.
	code := validCode(t)
	q, e = ParseOpen311Query(url.Values{"service_request_id": {code + "," + persianDigits(code)}, "status": {"bogus"}}, now)
	if e != nil || len(q.TrackingCodes) != 2 || q.Status != "" || !q.From.IsZero() {
		t.Fatalf("id list: %+v %v", q, e)
	}
	for _, v := range []url.Values{
		{"status": {"pending"}},
		{"start_date": {"yesterday"}},
		{"end_date": {"2026-13-01"}},
		{"start_date": {"2026-11-20T00:00:00Z"}, "end_date": {"2026-11-01T00:00:00Z"}},
		{"service_request_id": {"12345"}},
	} {
		if _, e := ParseOpen311Query(v, now); e == nil || e.Code != 400 {
			t.Errorf("%v: want 400, got %+v", v, e)
		}
	}
}

func validCode(t *testing.T) string {
	t.Helper()
	c, err := cases.NewTrackingCode()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestOpen311Encoding(t *testing.T) {
	t.Parallel()
	post := []o311Request{{ServiceRequestID: "1234567890", ServiceNotice: "ثبت شد", postAnswer: true}}
	rec := httptest.NewRecorder()
	writeO311(rec, 200, "json", post, o311Requests{Requests: post})
	var got []map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if v, ok := got[0]["account_id"]; !ok || v != nil || got[0]["service_request_id"] != "1234567890" || got[0]["service_notice"] != "ثبت شد" {
		t.Fatalf("json post answer: %s", rec.Body)
	}
	rec = httptest.NewRecorder()
	writeO311(rec, 200, "xml", post, o311Requests{Requests: post})
	body := rec.Body.String()
	if !strings.HasPrefix(body, `<?xml version="1.0" encoding="UTF-8"?>`) || rec.Header().Get("Content-Type") != "text/xml; charset=utf-8" {
		t.Fatalf("xml header: %q", body)
	}
	var x struct {
		XMLName  xml.Name `xml:"service_requests"`
		Requests []struct {
			ID        string  `xml:"service_request_id"`
			Notice    string  `xml:"service_notice"`
			AccountID *string `xml:"account_id"`
		} `xml:"request"`
	}
	if err := xml.Unmarshal(rec.Body.Bytes(), &x); err != nil {
		t.Fatalf("%v\n%s", err, body)
	}
	if len(x.Requests) != 1 || x.Requests[0].ID != "1234567890" || x.Requests[0].Notice != "ثبت شد" || x.Requests[0].AccountID == nil {
		t.Fatalf("xml post answer: %s", body)
	}

	// A listing has no account_id, and zero coordinates are left out.
	list := []o311Request{{ServiceRequestID: "1", Status: "open", Address: "a & <b>"}}
	rec = httptest.NewRecorder()
	writeO311(rec, 200, "json", list, o311Requests{Requests: list})
	if strings.Contains(rec.Body.String(), "account_id") || strings.Contains(rec.Body.String(), `"lat"`) {
		t.Fatalf("listing: %s", rec.Body)
	}
	rec = httptest.NewRecorder()
	writeO311(rec, 200, "xml", list, o311Requests{Requests: list})
	if !strings.Contains(rec.Body.String(), "<address>a &amp; &lt;b&gt;</address>") || strings.Contains(rec.Body.String(), "account_id") {
		t.Fatalf("listing xml: %s", rec.Body)
	}

	rec = httptest.NewRecorder()
	writeO311Error(rec, "xml", 403, "api_key is missing or invalid")
	if rec.Code != 403 || !strings.Contains(rec.Body.String(), "<errors>\n  <error>\n    <code>403</code>\n    <description>api_key is missing or invalid</description>") {
		t.Fatalf("xml error: %s", rec.Body)
	}
	rec = httptest.NewRecorder()
	writeO311Error(rec, "json", 400, "bad")
	if strings.TrimSpace(rec.Body.String()) != `[{"code":400,"description":"bad"}]` {
		t.Fatalf("json error: %s", rec.Body)
	}

	svc := []o311Service{{ServiceCode: "lighting", ServiceName: "روشنایی", Type: "realtime", Keywords: "چراغ,لامپ", Group: "city"}}
	rec = httptest.NewRecorder()
	writeO311(rec, 200, "xml", svc, o311Services{Services: svc})
	if !strings.Contains(rec.Body.String(), "<services>\n  <service>\n    <service_code>lighting</service_code>") ||
		!strings.Contains(rec.Body.String(), "<metadata>false</metadata>") {
		t.Fatalf("services xml: %s", rec.Body)
	}
	rec = httptest.NewRecorder()
	writeO311(rec, 200, "json", svc, o311Services{Services: svc})
	if !strings.Contains(rec.Body.String(), `"metadata":false,"type":"realtime","keywords":"چراغ,لامپ","group":"city"`) {
		t.Fatalf("services json: %s", rec.Body)
	}
}

func TestLimiter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	l := NewLimiter(3, time.Minute, 4, clock)
	for i := 0; i < 3; i++ {
		if ok, _ := l.Allow("a"); !ok {
			t.Fatalf("request %d refused", i)
		}
	}
	ok, wait := l.Allow("a")
	if ok || wait != 20*time.Second {
		t.Fatalf("4th: ok=%v wait=%v, want refused, 20s", ok, wait)
	}
	if ok, _ := l.Allow("b"); !ok {
		t.Fatal("other key limited")
	}
	now = now.Add(20 * time.Second)
	if ok, _ := l.Allow("a"); !ok {
		t.Fatal("refill did not happen")
	}
	if ok, _ := l.Allow("a"); ok {
		t.Fatal("more than one token after 20s")
	}
	// Bounded memory: many keys never grow it past max.
	for i := 0; i < 100; i++ {
		l.Allow(string(rune('A' + i)))
		if n := l.Len(); n > 4 {
			t.Fatalf("limiter holds %d keys, max 4", n)
		}
	}
}

func TestClientIP(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.0.0.9:5555"
	r.Header.Set("X-Forwarded-For", "1.2.3.4, 5.6.7.8")
	if ip := clientIP(r, false); ip != "10.0.0.9" {
		t.Fatalf("untrusted: %s", ip)
	}
	if ip := clientIP(r, true); ip != "5.6.7.8" {
		t.Fatalf("trusted: %s", ip)
	}
}

// Minimal valid headers of each type, enough for content sniffing.
var (
	jpegBytes = append([]byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, 'J', 'F', 'I', 'F', 0}, bytes.Repeat([]byte{1}, 100)...)
	pngBytes  = append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0}, 100)...)
	webpBytes = append([]byte("RIFF\x24\x00\x00\x00WEBPVP8 "), bytes.Repeat([]byte{0}, 100)...)
	gifBytes  = append([]byte("GIF89a"), bytes.Repeat([]byte{0}, 100)...)
	svgBytes  = []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`)
)

func TestCheckPhoto(t *testing.T) {
	t.Parallel()
	ok := []struct {
		declared string
		data     []byte
		want     string
	}{
		{"image/jpeg", jpegBytes, "image/jpeg"},
		{"image/jpg", jpegBytes, "image/jpeg"},
		{"", pngBytes, "image/png"},
		{"application/octet-stream", webpBytes, "image/webp"},
		{"image/webp", webpBytes, "image/webp"},
	}
	for _, c := range ok {
		got, err := CheckPhoto(c.declared, c.data, 1000)
		if err != nil || got != c.want {
			t.Errorf("%s/%q: %q %v", c.declared, c.data[:4], got, err)
		}
	}
	bad := []struct {
		declared string
		data     []byte
		want     error
	}{
		{"image/png", jpegBytes, ErrPhotoType}, // lies about its type
		{"image/jpeg", []byte("MZ\x90\x00 not an image at all"), ErrPhotoType},
		{"image/gif", gifBytes, ErrPhotoType},
		{"image/svg+xml", svgBytes, ErrPhotoType},
		{"image/jpeg", svgBytes, ErrPhotoType},
		{"image/jpeg", nil, ErrPhotoEmpty},
		{"image/jpeg", append(jpegBytes, make([]byte, 1000)...), ErrPhotoSize},
		{"image/jpeg;;", jpegBytes, ErrPhotoType},
	}
	for _, c := range bad {
		if _, err := CheckPhoto(c.declared, c.data, 1000); !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.declared, err, c.want)
		}
	}
}

func TestFormatDate(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 27, 9, 50, 0, 0, time.UTC) // 13:20 in Tehran, 6 Azar 1405
	if got := FormatDate(at, "fa"); got != "۶ آذر ۱۴۰۵، ۱۳:۲۰" {
		t.Errorf("fa: %q", got)
	}
	if got := FormatDate(at, "en"); got != "27 Nov 2026, 13:20 (Tehran)" {
		t.Errorf("en: %q", got)
	}
	if got := FormatDate(at, "ar"); got != "٢٧ نوفمبر ٢٠٢٦، ١٣:٢٠" {
		t.Errorf("ar: %q", got)
	}
	if FormatDate(time.Time{}, "fa") != "" {
		t.Error("zero time shown")
	}
}

func TestPickUILang(t *testing.T) {
	t.Parallel()
	cases := []struct{ query, accept, want string }{
		{"", "", "fa"},
		{"lang=en", "ar", "en"},
		{"lang=xx", "", "fa"},
		{"", "ar-IQ,ar;q=0.9,en;q=0.5", "ar"},
		{"", "en-US,en;q=0.9", "en"},
		{"", "de-DE", "fa"},
		{"", "fa-IR", "fa"},
	}
	for _, c := range cases {
		r := httptest.NewRequest("GET", "/?"+c.query, nil)
		if c.accept != "" {
			r.Header.Set("Accept-Language", c.accept)
		}
		if got := pickUILang(r); got != c.want {
			t.Errorf("%q/%q: %s, want %s", c.query, c.accept, got, c.want)
		}
	}
}

func TestSettings(t *testing.T) {
	t.Parallel()
	decode := func(src string) error {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(src), &n); err != nil {
			t.Fatal(err)
		}
		_, err := channels.DecodePortals("test.yaml", n.Content[0])
		return err
	}
	if err := decode("- name: web\n  type: webform\n  prefix: /137\n  open311_keys: [a, b]\n  decide_timeout: 500ms\n  track_rate: 10\n"); err != nil {
		t.Fatal(err)
	}
	for src, want := range map[string]string{
		"- name: web\n  type: webform\n  prefx: /x\n":            `unknown key "prefx"`,
		"- name: web\n  type: webform\n  prefix: 137/\n":         "prefix",
		"- name: web\n  type: webform\n  decide_timeout: 0s\n":   "decide_timeout",
		"- name: web\n  type: webform\n  track_rate: -1\n":       "track_rate",
		"- name: web\n  type: webform\n  open311_keys: ['']\n":   "open311_keys[0]",
		"- name: web\n  type: webform\n  jurisdiction_id: ' '\n": "jurisdiction_id",
		"- name: web\n  type: webform\n  max_body_bytes: 0\n":    "max_body_bytes",
	} {
		err := decode(src)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want it to mention %s", src, err, want)
		}
	}
}

func TestPagesRender(t *testing.T) {
	t.Parallel()
	pg, err := loadPages()
	if err != nil {
		t.Fatal(err)
	}
	p := New()
	p.pages = pg
	p.now = time.Now
	p.env.Services = []channels.Service{{Code: "lighting", Name: map[string]string{"fa": "روشنایی معابر", "en": "Street lighting"}}}
	p.log = slog.New(slog.DiscardHandler)
	for _, lang := range []string{"fa", "en", "ar"} {
		r := httptest.NewRequest("GET", "/?lang="+lang, nil)
		rec := httptest.NewRecorder()
		p.render(rec, 200, "form", p.formPage(r, formValues{Text: "<script>x</script>"}))
		body := rec.Body.String()
		wantDir := map[string]string{"fa": "rtl", "en": "ltr", "ar": "rtl"}[lang]
		if !strings.Contains(body, `<html lang="`+lang+`" dir="`+wantDir+`">`) {
			t.Errorf("%s: no html lang/dir: %.200s", lang, body)
		}
		if strings.Contains(body, "<script>x</script>") || !strings.Contains(body, "&lt;script&gt;x&lt;/script&gt;") {
			t.Errorf("%s: form value not escaped", lang)
		}
		if strings.Contains(body, "http://") || strings.Contains(body, "https://") {
			t.Errorf("%s: page refers to an external URL", lang)
		}
	}
}

func TestUITextComplete(t *testing.T) {
	t.Parallel()
	for key := range uiText["fa"] {
		for _, lang := range []string{"en", "ar"} {
			if uiText[lang][key] == "" {
				t.Errorf("%s: %q missing", lang, key)
			}
		}
	}
	for _, lang := range []string{"en", "ar"} {
		if len(uiText[lang]) != len(uiText["fa"]) {
			t.Errorf("%s has %d strings, fa %d", lang, len(uiText[lang]), len(uiText["fa"]))
		}
	}
}

func TestHumanBytes(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		n          int64
		lang, want string
	}{
		{5 << 20, "fa", "۵ مگابایت"},
		{5 << 20, "en", "5 MB"},
		{1536 << 10, "ar", "١.٥ ميغابايت"},
		{2000, "en", "2 KB"},
	} {
		if got := humanBytes(c.n, c.lang); got != c.want {
			t.Errorf("humanBytes(%d, %s) = %q, want %q", c.n, c.lang, got, c.want)
		}
	}
}
