package webform_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/gateway"
	"github.com/dargah137/dargah/internal/app/apptest"
)

// These tests run against a whole Dargah (SQLite store, embedded stream,
// built-in routing rules) started by apptest; nothing is mocked.

// client bounds every request, so a server that hangs fails the test
// with the request named instead of stalling the run. It has its own
// transport: httptest.Server.Close closes http.DefaultTransport's idle
// connections, which can break a parallel test's POST in flight.
var client = &http.Client{Timeout: 30 * time.Second, Transport: http.DefaultTransport.(*http.Transport).Clone()}

const (
	caseText = "چراغ برق کوچه ما سه شب است خاموش است"
	faqText  = "ساعت کاری ۱۳۷ چیست؟"
)

func start(t *testing.T, settings string) *apptest.Harness {
	t.Helper()
	yml := "- name: web\n  type: webform\n"
	for _, l := range strings.Split(strings.TrimSpace(settings), "\n") {
		if l != "" {
			yml += "  " + l + "\n"
		}
	}
	return apptest.Start(t, apptest.Options{Portals: yml})
}

type outcome struct {
	MessageID    string `json:"message_id"`
	Status       string `json:"status"`
	Outcome      string `json:"outcome"`
	Reply        string `json:"reply"`
	TrackingCode string `json:"tracking_code"`
}

type apiErr struct {
	Error struct {
		Code, Message, Field string
	} `json:"error"`
}

func do(t *testing.T, method, u, ctype, key string, body io.Reader) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func postMessage(t *testing.T, h *apptest.Harness, key string, body any) (*http.Response, outcome) {
	t.Helper()
	raw, _ := json.Marshal(body)
	resp, b := do(t, "POST", h.URL+"/api/v1/messages", "application/json", key, bytes.NewReader(raw))
	var o outcome
	if err := json.Unmarshal(b, &o); err != nil {
		t.Fatalf("%d %s: %v", resp.StatusCode, b, err)
	}
	return resp, o
}

func getBody(t *testing.T, u string) (*http.Response, string) {
	t.Helper()
	resp, b := do(t, "GET", u, "", "", nil)
	return resp, string(b)
}

func TestE2EFormPage(t *testing.T) {
	t.Parallel()
	h := start(t, "")
	resp, body := getBody(t, h.URL+"/")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{`<html lang="fa" dir="rtl">`, "ثبت درخواست", `<option value="street_lighting">`,
		"آسفالت و چاله معابر", `name="phone"`, `type="file"`, `name="lat"`, `id="locate"`, `name="nonce"`} {
		if !strings.Contains(body, want) {
			t.Errorf("form page lacks %q", want)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("CSP %q", csp)
	}
	_, en := getBody(t, h.URL+"/?lang=en")
	if !strings.Contains(en, `<html lang="en" dir="ltr">`) || !strings.Contains(en, "Asphalt and potholes") {
		t.Errorf("English page: %.300s", en)
	}
	req, _ := http.NewRequest("GET", h.URL+"/", nil)
	req.Header.Set("Accept-Language", "ar-IQ,ar;q=0.9")
	r2, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	ar, _ := io.ReadAll(r2.Body)
	r2.Body.Close()
	if !strings.Contains(string(ar), `<html lang="ar" dir="rtl">`) || !strings.Contains(string(ar), "الإسفلت والحفر") {
		t.Errorf("Arabic page by Accept-Language: %.300s", ar)
	}
	for _, asset := range []string{"/static/style.css", "/static/app.js"} {
		if resp, _ := getBody(t, h.URL+asset); resp.StatusCode != 200 {
			t.Errorf("%s: %d", asset, resp.StatusCode)
		}
	}
	if resp, _ := getBody(t, h.URL+"/api/v1/attachments/x"); resp.StatusCode != 404 && resp.StatusCode != 405 {
		t.Errorf("attachments must not be public: %d", resp.StatusCode)
	}
}

func TestE2EMessageOpensCase(t *testing.T) {
	t.Parallel()
	h := start(t, "")
	resp, o := postMessage(t, h, "", map[string]any{
		"text":     caseText,
		"contact":  map[string]string{"phone": "۰۹۱۲۱۲۳۴۵۶۷", "name": "زهرا"},
		"location": map[string]any{"lat": 36.2970, "long": 59.6062, "address": "بلوار وکیل‌آباد"},
	})
	if resp.StatusCode != 200 || o.Outcome != "case_opened" || !cases.ValidTrackingCode(o.TrackingCode) || o.Reply == "" || o.MessageID == "" {
		t.Fatalf("%d %+v", resp.StatusCode, o)
	}
	c, err := h.Store.CaseGetByTracking(context.Background(), o.TrackingCode)
	if err != nil {
		t.Fatal(err)
	}
	if c.Contact.Phone != "+989121234567" || c.Location == nil || c.Location.Address != "بلوار وکیل‌آباد" || c.Portal != "web" {
		t.Fatalf("stored case %+v", c)
	}

	// Public status: no contact details.
	resp, body := getBody(t, h.URL+"/api/v1/cases/"+o.TrackingCode)
	if resp.StatusCode != 200 {
		t.Fatalf("case status %d %s", resp.StatusCode, body)
	}
	var cs struct {
		TrackingCode string                  `json:"tracking_code"`
		Status       string                  `json:"status"`
		Timeline     []struct{ Kind string } `json:"timeline"`
	}
	if err := json.Unmarshal([]byte(body), &cs); err != nil || cs.TrackingCode != o.TrackingCode || cs.Status == "" {
		t.Fatalf("case status %s: %v", body, err)
	}
	if strings.Contains(body, "1234567") || strings.Contains(body, "زهرا") {
		t.Fatalf("public status leaks contact: %s", body)
	}
	// Persian digits in the path work too.
	if resp, _ := getBody(t, h.URL+"/api/v1/cases/"+url.PathEscape(toPersian(o.TrackingCode))); resp.StatusCode != 200 {
		t.Fatalf("Persian-digit code: %d", resp.StatusCode)
	}
	if resp, _ := getBody(t, h.URL+"/api/v1/cases/123"); resp.StatusCode != 400 {
		t.Fatalf("bad code: %d", resp.StatusCode)
	}
	if resp, _ := getBody(t, h.URL+"/api/v1/cases/"+otherCode(t, o.TrackingCode)); resp.StatusCode != 404 {
		t.Fatalf("unknown code: %d", resp.StatusCode)
	}

	// The tracking page, in Persian with Jalali dates.
	resp, page := getBody(t, h.URL+"/track?code="+o.TrackingCode)
	if resp.StatusCode != 200 || !strings.Contains(page, o.TrackingCode) || !strings.Contains(page, "روند رسیدگی") ||
		!regexp.MustCompile(`[۰-۹]+ (فروردین|اردیبهشت|خرداد|تیر|مرداد|شهریور|مهر|آبان|آذر|دی|بهمن|اسفند) ۱۴[۰-۹]{2}`).MatchString(page) {
		t.Fatalf("track page %d: %s", resp.StatusCode, page)
	}
	if strings.Contains(page, "1234567") {
		t.Fatal("track page leaks the phone")
	}
	if resp, page := getBody(t, h.URL+"/track?code=12"); resp.StatusCode != 400 || !strings.Contains(page, "۱۰ رقم") {
		t.Fatalf("bad code page %d", resp.StatusCode)
	}

	// GET by id gives the same outcome.
	resp, b := do(t, "GET", h.URL+"/api/v1/messages/"+o.MessageID, "", "", nil)
	var again outcome
	_ = json.Unmarshal(b, &again)
	if resp.StatusCode != 200 || again != o {
		t.Fatalf("GET message: %d %+v want %+v", resp.StatusCode, again, o)
	}
	if resp, _ := getBody(t, h.URL+"/api/v1/messages/NOPE"); resp.StatusCode != 404 {
		t.Fatalf("unknown message: %d", resp.StatusCode)
	}
}

func TestE2EFAQResolved(t *testing.T) {
	t.Parallel()
	h := start(t, "")
	resp, o := postMessage(t, h, "", map[string]any{"text": faqText})
	if resp.StatusCode != 200 || o.Outcome != "resolved" || o.TrackingCode != "" || !strings.Contains(o.Reply, "۱۳۷") {
		t.Fatalf("%d %+v", resp.StatusCode, o)
	}
	list, err := h.Store.CaseSearch(context.Background(), cases.Filter{})
	if err != nil || len(list) != 0 {
		t.Fatalf("FAQ opened a case: %v %v", list, err)
	}
	resp, o = postMessage(t, h, "", map[string]any{"text": "what are the working hours of 137?", "language": "en"})
	if resp.StatusCode != 200 || o.Outcome != "resolved" || !strings.Contains(o.Reply, "around the clock") {
		t.Fatalf("English FAQ: %d %+v", resp.StatusCode, o)
	}
}

func TestE2EIdempotency(t *testing.T) {
	t.Parallel()
	h := start(t, "")
	body := map[string]any{"text": caseText, "contact": map[string]string{"phone": "09151234567"}}
	_, first := postMessage(t, h, "kiosk-7-000123", body)
	_, second := postMessage(t, h, "kiosk-7-000123", body)
	if first.TrackingCode == "" || first != second {
		t.Fatalf("repeat differs: %+v vs %+v", first, second)
	}

	const n = 12
	var wg sync.WaitGroup
	got := make([]outcome, n)
	status := make([]int, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			raw, _ := json.Marshal(body)
			req, _ := http.NewRequest("POST", h.URL+"/api/v1/messages", bytes.NewReader(raw))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Idempotency-Key", "app-concurrent-1")
			resp, err := client.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			status[i] = resp.StatusCode
			_ = json.NewDecoder(resp.Body).Decode(&got[i])
		}()
	}
	wg.Wait()
	for i := range n {
		if status[i] != 200 || got[i] != got[0] || got[0].TrackingCode == "" {
			t.Fatalf("concurrent %d: %d %+v vs %+v", i, status[i], got[i], got[0])
		}
	}
	list, err := h.Store.CaseSearch(context.Background(), cases.Filter{})
	if err != nil || len(list) != 2 {
		t.Fatalf("want 2 cases (one per key), got %d: %v", len(list), err)
	}
}

func TestE2EAcceptedThenPoll(t *testing.T) {
	t.Parallel()
	h := start(t, "decide_timeout: 1ns")
	// With a 1ns bound the answer is almost always 202; a worker that wins
	// the race gives 200, which is also correct, so send a few.
	var pending []outcome
	for i := range 5 {
		resp, o := postMessage(t, h, fmt.Sprintf("slow-%d", i), map[string]any{"text": caseText})
		switch resp.StatusCode {
		case 202:
			if o.Status != "accepted" || o.MessageID == "" || resp.Header.Get("Location") != "/api/v1/messages/"+o.MessageID {
				t.Fatalf("202 body %+v, Location %q", o, resp.Header.Get("Location"))
			}
			pending = append(pending, o)
		case 200:
		default:
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	if len(pending) == 0 {
		t.Fatal("no 202 in 5 tries with a 1ns decide_timeout")
	}
	for _, p := range pending {
		o := pollMessage(t, h, p.MessageID)
		if o.Outcome != "case_opened" || !cases.ValidTrackingCode(o.TrackingCode) {
			t.Fatalf("polled %+v", o)
		}
	}
}

// pollMessage GETs a message until it is decided; the router decides in
// milliseconds, the bound only stops a broken build from hanging.
func pollMessage(t *testing.T, h *apptest.Harness, id string) outcome {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, b := do(t, "GET", h.URL+"/api/v1/messages/"+id, "", "", nil)
		var o outcome
		_ = json.Unmarshal(b, &o)
		if resp.StatusCode == 200 {
			return o
		}
		if resp.StatusCode != 202 || time.Now().After(deadline) {
			t.Fatalf("GET message %s: %d %s", id, resp.StatusCode, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestE2EBadInput(t *testing.T) {
	t.Parallel()
	h := start(t, "max_body_bytes: 2048")
	tests := []struct {
		name, ctype, body string
		status            int
		code, field       string
	}{
		{"invalid json", "application/json", `{"text":`, 400, "invalid_json", ""},
		{"unknown field", "application/json", `{"text":"x","priority":"high"}`, 400, "unknown_field", "priority"},
		{"missing text", "application/json", `{"contact":{"phone":"09121234567"}}`, 400, "missing_field", "text"},
		{"bad phone", "application/json", `{"text":"x","contact":{"phone":"0912"}}`, 400, "invalid_phone", "contact.phone"},
		{"oversized", "application/json", `{"text":"` + strings.Repeat("ا", 2000) + `"}`, 413, "body_too_large", ""},
		{"content type", "text/plain", `{"text":"x"}`, 415, "unsupported_media_type", ""},
		{"no content type", "", `{"text":"x"}`, 415, "unsupported_media_type", ""},
		{"invalid utf-8", "application/json", "{\"text\":\"\xff\"}", 400, "invalid_utf8", ""},
		{"unknown service", "application/json", `{"text":"x","service_code":"teleport"}`, 400, "unknown_service_code", "service_code"},
		{"bad language", "application/json", `{"text":"x","language":"klingon"}`, 400, "invalid_language", "language"},
		{"bad location", "application/json", `{"text":"x","location":{"lat":300,"long":1}}`, 400, "invalid_location", "location.lat"},
	}
	for i, c := range tests {
		key := fmt.Sprintf("bad-%d", i)
		resp, b := do(t, "POST", h.URL+"/api/v1/messages", c.ctype, key, strings.NewReader(c.body))
		var e apiErr
		if err := json.Unmarshal(b, &e); err != nil {
			t.Errorf("%s: body %s: %v", c.name, b, err)
			continue
		}
		if resp.StatusCode != c.status || e.Error.Code != c.code || e.Error.Field != c.field || e.Error.Message == "" {
			t.Errorf("%s: %d %+v, want %d %s/%s", c.name, resp.StatusCode, e.Error, c.status, c.code, c.field)
		}
		if _, err := h.Store.MessageGetByPortalID(context.Background(), "web", "api:"+key); !errors.Is(err, gateway.ErrUnknownMessage) && !errors.Is(err, cases.ErrNotFound) {
			t.Errorf("%s: message stored (err %v)", c.name, err)
		}
	}
	resp, b := do(t, "POST", h.URL+"/api/v1/messages", "application/json", strings.Repeat("k", 201), strings.NewReader(`{"text":"x"}`))
	if resp.StatusCode != 400 || !strings.Contains(string(b), "invalid_idempotency_key") {
		t.Errorf("long key: %d %s", resp.StatusCode, b)
	}
	assertNoCases(t, h)
}

func assertNoCases(t *testing.T, h *apptest.Harness) {
	t.Helper()
	list, err := h.Store.CaseSearch(context.Background(), cases.Filter{})
	if err != nil || len(list) != 0 {
		t.Fatalf("cases stored: %d %v", len(list), err)
	}
}

// Minimal images: enough for content sniffing, which is what is checked.
var (
	jpegBytes = append([]byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, 'J', 'F', 'I', 'F', 0}, bytes.Repeat([]byte{7}, 500)...)
	pngBytes  = append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0}, 500)...)
)

type formFile struct {
	name, ctype string
	data        []byte
}

func postForm(t *testing.T, h *apptest.Harness, fields map[string]string, file *formFile) (*http.Response, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	if file != nil {
		hdr := textproto.MIMEHeader{}
		hdr.Set("Content-Disposition", fmt.Sprintf(`form-data; name="photo"; filename=%q`, file.name))
		hdr.Set("Content-Type", file.ctype)
		w, _ := mw.CreatePart(hdr)
		_, _ = w.Write(file.data)
	}
	_ = mw.Close()
	resp, b := do(t, "POST", h.URL+"/send", mw.FormDataContentType(), "", &buf)
	return resp, string(b)
}

var codeRE = regexp.MustCompile(`<output id="tracking-code"[^>]*>([0-9]{10})</output>`)

func TestE2EFormSubmit(t *testing.T) {
	t.Parallel()
	h := start(t, "max_attachment_bytes: 2000")
	ctx := context.Background()

	// A case with a photo and a location; the redirect lands on the outcome.
	resp, page := postForm(t, h, map[string]string{
		"text": caseText, "phone": "+98 915 123 4567", "lat": "۳۶٫۲۹۷", "long": "59.606",
		"address": "میدان شهدا", "service_code": "street_lighting", "nonce": "01JDX0000000000000000000AB",
	}, &formFile{"lamp.jpg", "image/jpeg", jpegBytes})
	m := codeRE.FindStringSubmatch(page)
	if resp.StatusCode != 200 || m == nil || !strings.Contains(page, `dir="rtl"`) || !strings.Contains(page, "/track?code="+m[1]) {
		t.Fatalf("form outcome %d: %s", resp.StatusCode, page)
	}
	c, err := h.Store.CaseGetByTracking(ctx, m[1])
	if err != nil {
		t.Fatal(err)
	}
	if c.ServiceCode != "street_lighting" || c.Contact.Phone != "+989151234567" || c.Location == nil || c.Location.Lat != 36.297 || len(c.Attachments) != 1 {
		t.Fatalf("case %+v", c)
	}
	a, data, err := h.Store.AttachmentGet(ctx, c.Attachments[0])
	if err != nil || a.ContentType != "image/jpeg" || !bytes.Equal(data, jpegBytes) {
		t.Fatalf("attachment %+v %v", a, err)
	}
	// The same form sent again (double click, reload) gives the same case.
	_, again := postForm(t, h, map[string]string{"text": caseText, "phone": "09151234567", "nonce": "01JDX0000000000000000000AB"},
		&formFile{"lamp.jpg", "image/jpeg", jpegBytes})
	if m2 := codeRE.FindStringSubmatch(again); m2 == nil || m2[1] != m[1] {
		t.Fatalf("resubmission opened another case: %v", m2)
	}

	// An FAQ question shows the answer, in English when the form was English.
	resp, page = postForm(t, h, map[string]string{"text": "working hours of 137", "phone": "09151234567", "lang": "en"}, nil)
	if resp.StatusCode != 200 || !strings.Contains(page, `data-outcome="resolved"`) || !strings.Contains(page, "around the clock") {
		t.Fatalf("FAQ form %d: %s", resp.StatusCode, page)
	}

	// A urlencoded form (an old browser, a script) works as well.
	resp, b := do(t, "POST", h.URL+"/send", "application/x-www-form-urlencoded", "",
		strings.NewReader(url.Values{"text": {caseText}, "phone": {"09151234567"}, "lang": {"ar"}}.Encode()))
	if m := codeRE.FindStringSubmatch(string(b)); resp.StatusCode != 200 || m == nil || !strings.Contains(string(b), `<html lang="ar" dir="rtl">`) {
		t.Fatalf("urlencoded form %d: %s", resp.StatusCode, b)
	}

	before, _ := h.Store.CaseSearch(ctx, cases.Filter{})
	bad := []struct {
		name   string
		fields map[string]string
		file   *formFile
		status int
		want   string
	}{
		{"no text", map[string]string{"phone": "09121234567"}, nil, 422, "لطفاً متن درخواست را بنویسید"},
		{"bad phone", map[string]string{"text": caseText, "phone": "12"}, nil, 422, "شمارهٔ تلفن درست نیست"},
		{"no phone", map[string]string{"text": caseText}, nil, 422, "شمارهٔ تلفن درست نیست"},
		{"bad category", map[string]string{"text": caseText, "phone": "09121234567", "service_code": "x"}, nil, 422, "این موضوع در فهرست نیست"},
		{"png as jpeg", map[string]string{"text": caseText, "phone": "09121234567"}, &formFile{"a.jpg", "image/jpeg", pngBytes}, 422, "عکس باید"},
		{"not an image", map[string]string{"text": caseText, "phone": "09121234567"}, &formFile{"a.jpg", "image/jpeg", []byte("<html><script>alert(1)</script></html>")}, 422, "عکس باید"},
		{"photo too big", map[string]string{"text": caseText, "phone": "09121234567"}, &formFile{"a.jpg", "image/jpeg", append(jpegBytes, make([]byte, 3000)...)}, 422, "حجم عکس"},
		{"body too big", map[string]string{"text": caseText, "phone": "09121234567"}, &formFile{"a.jpg", "image/jpeg", append(jpegBytes, make([]byte, 300<<10)...)}, 413, "حجم ارسال"},
		{"bad coords", map[string]string{"text": caseText, "phone": "09121234567", "lat": "north"}, nil, 422, "مختصات درست نیست"},
	}
	for _, c := range bad {
		resp, page := postForm(t, h, c.fields, c.file)
		if resp.StatusCode != c.status || !strings.Contains(page, c.want) {
			t.Errorf("%s: %d, want %d and %q", c.name, resp.StatusCode, c.status, c.want)
		}
		if strings.Contains(page, `href="/send?`) {
			t.Errorf("%s: language links point at the POST", c.name)
		}
		// What the citizen wrote is still in the form.
		if txt := c.fields["text"]; txt != "" && resp.StatusCode == 422 && !strings.Contains(page, txt) {
			t.Errorf("%s: text lost", c.name)
		}
	}
	after, _ := h.Store.CaseSearch(ctx, cases.Filter{})
	if len(after) != len(before) {
		t.Fatalf("bad forms opened cases: %d → %d", len(before), len(after))
	}
}

func TestE2EOpen311(t *testing.T) {
	t.Setenv("DARGAH_OPEN311_KEYS", "env-key, second-key")
	h := start(t, "open311_keys: [cfg-key]")
	base := h.URL + "/open311/v2"

	// services
	resp, body := getBody(t, base+"/services.json")
	var svcs []map[string]any
	if err := json.Unmarshal([]byte(body), &svcs); err != nil || resp.StatusCode != 200 || len(svcs) < 5 {
		t.Fatalf("services.json %d: %s", resp.StatusCode, body)
	}
	var lighting map[string]any
	for _, s := range svcs {
		if s["service_code"] == "street_lighting" {
			lighting = s
		}
	}
	if lighting == nil || lighting["metadata"] != false || lighting["type"] != "realtime" || lighting["service_name"] == "" || lighting["keywords"] == "" {
		t.Fatalf("street_lighting entry %v", lighting)
	}
	resp, body = getBody(t, base+"/services.xml?locale=en")
	var sx struct {
		Services []struct {
			Code string `xml:"service_code"`
			Name string `xml:"service_name"`
			Meta string `xml:"metadata"`
		} `xml:"service"`
	}
	if err := xml.Unmarshal([]byte(body), &sx); err != nil || resp.Header.Get("Content-Type") != "text/xml; charset=utf-8" || len(sx.Services) != len(svcs) || sx.Services[0].Name != "Asphalt and potholes" {
		t.Fatalf("services.xml: %v %s", err, body)
	}
	if resp, body := getBody(t, base+"/services/street_lighting.json"); resp.StatusCode != 200 || !strings.Contains(body, `"attributes":[]`) {
		t.Fatalf("definition %d %s", resp.StatusCode, body)
	}
	if resp, body := getBody(t, base+"/services/nope.xml"); resp.StatusCode != 404 || !strings.Contains(body, "<errors>") {
		t.Fatalf("unknown definition %d %s", resp.StatusCode, body)
	}

	post := func(format string, v url.Values) (*http.Response, string) {
		resp, b := do(t, "POST", base+"/requests."+format, "application/x-www-form-urlencoded", "", strings.NewReader(v.Encode()))
		return resp, string(b)
	}
	form := url.Values{"service_code": {"street_lighting"}, "lat": {"36.2970"}, "long": {"59.6062"},
		"description": {caseText}, "phone": {"09121234567"}, "first_name": {"Reza"}, "media_url": {"https://example.org/p.jpg"}}

	// Without a key, or a wrong one: the spec's 403 error array.
	for _, key := range []string{"", "wrong"} {
		v := url.Values{}
		for k, vals := range form {
			v[k] = vals
		}
		if key != "" {
			v.Set("api_key", key)
		}
		resp, body := post("json", v)
		if resp.StatusCode != 403 || !strings.HasPrefix(body, `[{"code":403,"description":`) {
			t.Fatalf("key %q: %d %s", key, resp.StatusCode, body)
		}
	}
	resp, body = post("xml", form)
	if resp.StatusCode != 403 || !strings.Contains(body, "<errors>") || !strings.Contains(body, "<code>403</code>") {
		t.Fatalf("xml 403: %s", body)
	}
	assertNoCases(t, h)

	// With a config key and with an environment key.
	var ids []string
	for _, key := range []string{"cfg-key", "second-key"} {
		form.Set("api_key", key)
		resp, body := post("json", form)
		var out []map[string]any
		if err := json.Unmarshal([]byte(body), &out); err != nil || resp.StatusCode != 200 || len(out) != 1 {
			t.Fatalf("post %s: %d %s", key, resp.StatusCode, body)
		}
		id, _ := out[0]["service_request_id"].(string)
		if acc, ok := out[0]["account_id"]; !cases.ValidTrackingCode(id) || out[0]["service_notice"] == "" || !ok || acc != nil {
			t.Fatalf("post answer %s", body)
		}
		ids = append(ids, id)
	}
	c, err := h.Store.CaseGetByTracking(context.Background(), ids[0])
	if err != nil || c.ServiceCode != "street_lighting" || c.Contact.Name != "Reza" {
		t.Fatalf("stored %+v %v", c, err)
	}
	// XML post, address only.
	resp, body = post("xml", url.Values{"api_key": {"env-key"}, "service_code": {"asphalt"}, "address_string": {"بلوار سجاد، سجاد ۱۰"}, "description": {"چاله بزرگ وسط خیابان"}})
	var px struct {
		Requests []struct {
			ID      string    `xml:"service_request_id"`
			Notice  string    `xml:"service_notice"`
			Account *struct{} `xml:"account_id"`
		} `xml:"request"`
	}
	if err := xml.Unmarshal([]byte(body), &px); err != nil || resp.StatusCode != 200 || len(px.Requests) != 1 || !cases.ValidTrackingCode(px.Requests[0].ID) || px.Requests[0].Account == nil {
		t.Fatalf("xml post %d: %v %s", resp.StatusCode, err, body)
	}
	asphaltID := px.Requests[0].ID
	// Bad posts.
	for _, v := range []url.Values{
		{"api_key": {"cfg-key"}, "lat": {"36"}, "long": {"59"}},
		{"api_key": {"cfg-key"}, "service_code": {"asphalt"}},
		{"api_key": {"cfg-key"}, "service_code": {"nope"}, "address_string": {"x"}},
		{"api_key": {"cfg-key"}, "service_code": {"asphalt"}, "address_string": {"x"}, "phone": {"1"}},
	} {
		if resp, body := post("json", v); resp.StatusCode != 400 || !strings.HasPrefix(body, `[{"code":400`) {
			t.Errorf("bad post %v: %d %s", v, resp.StatusCode, body)
		}
	}
	if resp, _ := post("json", url.Values{"api_key": {"cfg-key"}, "jurisdiction_id": {"tehran.ir"}, "service_code": {"asphalt"}, "address_string": {"x"}}); resp.StatusCode != 404 {
		t.Errorf("foreign jurisdiction: %d", resp.StatusCode)
	}

	// GET requests with filters.
	type reqJSON struct {
		ID          string  `json:"service_request_id"`
		Status      string  `json:"status"`
		ServiceCode string  `json:"service_code"`
		ServiceName string  `json:"service_name"`
		Requested   string  `json:"requested_datetime"`
		Lat         float64 `json:"lat"`
	}
	list := func(q string) []reqJSON {
		t.Helper()
		resp, body := getBody(t, base+"/requests.json?"+q)
		var out []reqJSON
		if err := json.Unmarshal([]byte(body), &out); err != nil || resp.StatusCode != 200 {
			t.Fatalf("requests.json?%s: %d %s", q, resp.StatusCode, body)
		}
		return out
	}
	if all := list(""); len(all) != 3 {
		t.Fatalf("all: %+v", all)
	}
	lit := list("service_code=street_lighting&status=open")
	if len(lit) != 2 || lit[0].Status != "open" || lit[0].ServiceName == "" || lit[0].Lat == 0 {
		t.Fatalf("lighting open: %+v", lit)
	}
	if _, err := time.Parse(time.RFC3339, lit[0].Requested); err != nil {
		t.Fatalf("requested_datetime %q", lit[0].Requested)
	}
	if closed := list("status=closed"); len(closed) != 0 {
		t.Fatalf("closed: %+v", closed)
	}
	if old := list("end_date=2020-01-01T00:00:00Z"); len(old) != 0 {
		t.Fatalf("old window: %+v", old)
	}
	now := time.Now().UTC()
	if win := list("start_date=" + url.QueryEscape(now.Add(-time.Hour).Format(time.RFC3339)) + "&end_date=" + url.QueryEscape(now.Add(time.Hour).Format(time.RFC3339))); len(win) != 3 {
		t.Fatalf("window: %+v", win)
	}
	if byID := list("service_request_id=" + ids[0] + "," + asphaltID + "&status=closed"); len(byID) != 2 {
		t.Fatalf("by id list (overrides status): %+v", byID)
	}
	if resp, body := getBody(t, base+"/requests.json?status=pending"); resp.StatusCode != 400 || !strings.Contains(body, `"code":400`) {
		t.Fatalf("bad status %d %s", resp.StatusCode, body)
	}

	// One request.
	resp, body = getBody(t, base+"/requests/"+asphaltID+".xml")
	var one struct {
		Requests []struct {
			ID      string `xml:"service_request_id"`
			Status  string `xml:"status"`
			Address string `xml:"address"`
		} `xml:"request"`
	}
	if err := xml.Unmarshal([]byte(body), &one); err != nil || resp.StatusCode != 200 || len(one.Requests) != 1 || one.Requests[0].Address != "بلوار سجاد، سجاد ۱۰" || one.Requests[0].Status != "open" {
		t.Fatalf("requests/{id}.xml %d %s", resp.StatusCode, body)
	}
	if resp, _ := getBody(t, base+"/requests/"+otherCode(t, asphaltID)+".json"); resp.StatusCode != 404 {
		t.Fatalf("unknown id: %d", resp.StatusCode)
	}
	if strings.Contains(body, "1234567") {
		t.Fatal("Open311 listing leaks the phone")
	}
}

func TestE2ERateLimit(t *testing.T) {
	t.Parallel()
	h := start(t, "track_rate: 2")
	_, o := postMessage(t, h, "", map[string]any{"text": caseText})
	for i := range 2 {
		if resp, _ := getBody(t, h.URL+"/api/v1/cases/"+o.TrackingCode); resp.StatusCode != 200 {
			t.Fatalf("lookup %d: %d", i, resp.StatusCode)
		}
	}
	resp, body := getBody(t, h.URL+"/api/v1/cases/"+o.TrackingCode)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, "rate_limited") {
		t.Fatalf("third lookup: %d %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	resp, body = getBody(t, h.URL+"/track?code="+o.TrackingCode)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, "تعداد دفعات پیگیری زیاد بود") {
		t.Fatalf("track page: %d", resp.StatusCode)
	}
	// The form itself is not limited.
	if resp, _ := getBody(t, h.URL+"/track"); resp.StatusCode != 200 {
		t.Fatalf("empty track page: %d", resp.StatusCode)
	}
}

func TestE2EPrefix(t *testing.T) {
	t.Parallel()
	h := start(t, "prefix: /137")
	if resp, body := getBody(t, h.URL+"/137/"); resp.StatusCode != 200 || !strings.Contains(body, `action="/137/send"`) || !strings.Contains(body, `href="/137/static/style.css"`) {
		t.Fatalf("prefixed form: %d", resp.StatusCode)
	}
	if resp, body := getBody(t, h.URL+"/137"); resp.StatusCode != 200 || !strings.Contains(body, `action="/137/send"`) {
		t.Fatalf("prefix without slash: %d", resp.StatusCode)
	}
	if resp, _ := getBody(t, h.URL+"/"); resp.StatusCode != 404 {
		t.Fatalf("root outside the prefix: %d", resp.StatusCode)
	}
	if resp, _ := getBody(t, h.URL+"/137/static/app.js"); resp.StatusCode != 200 {
		t.Fatalf("prefixed static: %d", resp.StatusCode)
	}
	resp, o := postMessage(t, &apptest.Harness{URL: h.URL + "/137"}, "", map[string]any{"text": faqText})
	if resp.StatusCode != 200 || o.Outcome != "resolved" {
		t.Fatalf("prefixed API: %d %+v", resp.StatusCode, o)
	}
}

func toPersian(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return '۰' + r - '0'
		}
		return r
	}, s)
}

// otherCode returns a valid tracking code different from code.
func otherCode(t *testing.T, code string) string {
	t.Helper()
	for {
		c, err := cases.NewTrackingCode()
		if err != nil {
			t.Fatal(err)
		}
		if c != code {
			return c
		}
	}
}

// BenchmarkE2EMessage measures one JSON message through the whole app:
// intake, ledger, stream, router, case opened, answer.
func BenchmarkE2EMessage(b *testing.B) {
	h := apptest.Start(b, apptest.Options{Portals: "- name: web\n  type: webform\n"})
	raw, _ := json.Marshal(map[string]any{"text": caseText, "contact": map[string]string{"phone": "09121234567"}})
	b.ReportAllocs()
	for b.Loop() {
		resp, err := client.Post(h.URL+"/api/v1/messages", "application/json", bytes.NewReader(raw))
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}

// TestE2EProduction runs the main paths on PostgreSQL and Redis Streams,
// the backends of a real deployment.
func TestE2EProduction(t *testing.T) {
	t.Parallel()
	h := apptest.Start(t, apptest.Options{Runtime: apptest.Production,
		Portals: "- name: web\n  type: webform\n  open311_keys: [k]\n"})
	resp, o := postMessage(t, h, "", map[string]any{"text": caseText, "contact": map[string]string{"phone": "09121234567"}})
	if resp.StatusCode != 200 || o.Outcome != "case_opened" || !cases.ValidTrackingCode(o.TrackingCode) {
		t.Fatalf("%d %+v", resp.StatusCode, o)
	}
	// A new case goes straight to its department (the 137 process), so the page says it is being handled.
	if resp, body := getBody(t, h.URL+"/track?code="+o.TrackingCode); resp.StatusCode != 200 || !strings.Contains(body, "در دست رسیدگی") {
		t.Fatalf("track %d", resp.StatusCode)
	}
	if resp, o := postMessage(t, h, "", map[string]any{"text": faqText}); resp.StatusCode != 200 || o.Outcome != "resolved" {
		t.Fatalf("FAQ %d %+v", resp.StatusCode, o)
	}
	var wg sync.WaitGroup
	got := make([]outcome, 8)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			raw, _ := json.Marshal(map[string]any{"text": caseText})
			req, _ := http.NewRequest("POST", h.URL+"/api/v1/messages", bytes.NewReader(raw))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Idempotency-Key", "prod-1")
			resp, err := client.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			_ = json.NewDecoder(resp.Body).Decode(&got[i])
		}()
	}
	wg.Wait()
	for i := range got {
		if got[i] != got[0] || got[0].TrackingCode == "" {
			t.Fatalf("concurrent %d: %+v vs %+v", i, got[i], got[0])
		}
	}
	resp, b := do(t, "POST", h.URL+"/open311/v2/requests.json", "application/x-www-form-urlencoded", "",
		strings.NewReader(url.Values{"api_key": {"k"}, "service_code": {"asphalt"}, "address_string": {"بلوار سجاد"}}.Encode()))
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"service_request_id":"`) {
		t.Fatalf("open311 post %d %s", resp.StatusCode, b)
	}
	if resp, body := getBody(t, h.URL+"/open311/v2/requests.json?service_code=asphalt"); resp.StatusCode != 200 || strings.Count(body, "service_request_id") != 1 {
		t.Fatalf("open311 list %d %s", resp.StatusCode, body)
	}
	list, err := h.Store.CaseSearch(context.Background(), cases.Filter{})
	if err != nil || len(list) != 3 {
		t.Fatalf("want 3 cases, got %d %v", len(list), err)
	}
}

// TestE2EOpen311Notices covers the answers without a new case: an FAQ
// resolved on the spot, and a decision still pending (the token flow).
func TestE2EOpen311Notices(t *testing.T) {
	t.Parallel()
	h := start(t, "open311_keys: [k]")
	post := func(h *apptest.Harness, v url.Values) []map[string]any {
		t.Helper()
		resp, b := do(t, "POST", h.URL+"/open311/v2/requests.json", "application/x-www-form-urlencoded", "", strings.NewReader(v.Encode()))
		var out []map[string]any
		if err := json.Unmarshal(b, &out); err != nil || resp.StatusCode != 200 || len(out) != 1 {
			t.Fatalf("post %d %s", resp.StatusCode, b)
		}
		return out
	}
	out := post(h, url.Values{"api_key": {"k"}, "service_code": {"other"}, "address_string": {"مشهد"}, "description": {faqText}})
	if _, ok := out[0]["service_request_id"]; ok || out[0]["token"] == "" || !strings.Contains(out[0]["service_notice"].(string), "۱۳۷") {
		t.Fatalf("resolved answer %v", out)
	}
	resp, body := getBody(t, h.URL+"/open311/v2/tokens/"+out[0]["token"].(string)+".json")
	if resp.StatusCode != 200 || strings.Contains(body, "service_request_id") {
		t.Fatalf("token of a resolved request %d %s", resp.StatusCode, body)
	}
	assertNoCases(t, h)

	slow := start(t, "open311_keys: [k]\ndecide_timeout: 1ns")
	var token string
	for range 5 {
		out := post(slow, url.Values{"api_key": {"k"}, "service_code": {"asphalt"}, "address_string": {"بلوار سجاد"}})
		if _, ok := out[0]["service_request_id"]; !ok {
			token, _ = out[0]["token"].(string)
			break
		}
	}
	if token == "" {
		t.Fatal("no pending answer in 5 tries with a 1ns decide_timeout")
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, body := getBody(t, slow.URL+"/open311/v2/tokens/"+token+".xml")
		var x struct {
			Requests []struct {
				ID    string `xml:"service_request_id"`
				Token string `xml:"token"`
			} `xml:"request"`
		}
		if err := xml.Unmarshal([]byte(body), &x); err != nil || resp.StatusCode != 200 || len(x.Requests) != 1 || x.Requests[0].Token != token {
			t.Fatalf("token %d %s", resp.StatusCode, body)
		}
		if cases.ValidTrackingCode(x.Requests[0].ID) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("token never resolved to a service_request_id")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if resp, _ := getBody(t, slow.URL+"/open311/v2/tokens/NOPE.json"); resp.StatusCode != 404 {
		t.Fatalf("unknown token %d", resp.StatusCode)
	}
}

// TestE2EStop: after shutdown the portal refuses new work with 503 rather
// than half-handling it.
func TestE2EStop(t *testing.T) {
	t.Parallel()
	h := start(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.App.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	resp, _ := do(t, "POST", h.URL+"/api/v1/messages", "application/json", "", strings.NewReader(`{"text":"x"}`))
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("after stop: %d", resp.StatusCode)
	}
}
