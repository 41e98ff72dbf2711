package officeauto

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/dargah137/dargah/cases"
)

var secret = []byte("department-secret")

func trackingCode(t testing.TB) string {
	t.Helper()
	c, err := cases.NewTrackingCode()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func sampleEvent(t testing.TB) Event {
	t.Helper()
	id, err := NewEventID()
	if err != nil {
		t.Fatal(err)
	}
	return Event{
		ID: id, Kind: KindAssigned, TrackingCode: trackingCode(t), ServiceCode: "asphalt",
		Department: "civil_works", District: "samen", Level: 0, LevelName: "head",
		DueAt:      time.Date(2026, 11, 29, 16, 30, 0, 0, time.UTC),
		Summary:    "چاله بزرگ در خیابان امام رضا",
		Links:      []Link{{Rel: "case", Href: "https://137.mashhad.example/staff/cases/1"}},
		OccurredAt: time.Date(2026, 11, 25, 16, 30, 0, 0, time.UTC),
	}
}

func TestSignVerify(t *testing.T) {
	t.Parallel()
	body := []byte(`{"event_id":"x"}`)
	good := Sign(secret, body)
	if !strings.HasPrefix(good, "sha256=") || len(good) != len("sha256=")+64 {
		t.Fatalf("Sign = %q", good)
	}
	other := Sign([]byte("old-secret"), body)
	cases := []struct {
		name   string
		secret []byte
		body   []byte
		header string
		want   error
	}{
		{"good", secret, body, good, nil},
		{"upper-case hex", secret, body, "SHA256=" + strings.ToUpper(good[7:]), nil},
		{"rotation: second matches", secret, body, other + ", " + good, nil},
		{"spaces", secret, body, "  " + good + "  ", nil},
		{"unknown scheme beside ours", secret, body, "sha512=abcd, " + good, nil},
		{"tampered body", secret, []byte(`{"event_id":"y"}`), good, ErrSignatureMismatch},
		{"wrong secret", []byte("other"), body, good, ErrSignatureMismatch},
		{"empty header", secret, body, "", ErrNoSignature},
		{"only unknown scheme", secret, body, "sha1=abcd", ErrNoSignature},
		{"no equals sign", secret, body, "sha256", ErrMalformedHeader},
		{"short hex", secret, body, "sha256=abcd", ErrMalformedHeader},
		{"not hex", secret, body, "sha256=" + strings.Repeat("zz", 32), ErrMalformedHeader},
		{"huge header", secret, body, strings.Repeat(good+",", 40), ErrMalformedHeader},
		{"empty secret", nil, body, good, ErrEmptySecret},
	}
	for _, c := range cases {
		if err := Verify(c.secret, c.body, c.header); !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
			t.Errorf("%s: Verify = %v, want %v", c.name, err, c.want)
		}
	}
}

func TestEventBody(t *testing.T) {
	t.Parallel()
	e := sampleEvent(t)
	b, err := e.Body()
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{
		"event_id": e.ID, "kind": "assigned", "tracking_code": e.TrackingCode, "department": "civil_works",
		"level": float64(0), "due_at": "2026-11-29T16:30:00Z", "due_at_jalali": "1405/09/08 20:00",
		"summary": e.Summary, "occurred_at": "2026-11-25T16:30:00Z",
	} {
		if m[k] != want {
			t.Errorf("%s = %v, want %v", k, m[k], want)
		}
	}
	closed := e
	closed.Kind, closed.DueAt, closed.Outcome = KindClosed, time.Time{}, "answered"
	if b, err := closed.Body(); err != nil || strings.Contains(string(b), "due_at") {
		t.Errorf("closed body = %s, %v", b, err)
	}
	for name, edit := range map[string]func(*Event){
		"no id":         func(e *Event) { e.ID = "" },
		"bad kind":      func(e *Event) { e.Kind = "exploded" },
		"bad tracking":  func(e *Event) { e.TrackingCode = "12345" },
		"no department": func(e *Event) { e.Department = "" },
		"negative":      func(e *Event) { e.Level = -1 },
		"no due":        func(e *Event) { e.DueAt = time.Time{} },
		"no occurred":   func(e *Event) { e.OccurredAt = time.Time{} },
		"long summary":  func(e *Event) { e.Summary = strings.Repeat("x", MaxSummaryBytes+1) },
	} {
		bad := sampleEvent(t)
		edit(&bad)
		if _, err := bad.Body(); err == nil {
			t.Errorf("%s: want error", name)
		}
	}
}

func TestNextAttempt(t *testing.T) {
	t.Parallel()
	s, err := NewSender(Config{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[int]time.Duration{
		0: 30 * time.Second, 1: 30 * time.Second, 2: time.Minute, 3: 2 * time.Minute, 4: 4 * time.Minute,
		7: 32 * time.Minute, 8: time.Hour, 9: time.Hour, 1000: time.Hour,
	}
	for attempt, w := range want {
		if got := s.NextAttempt(attempt); got != w {
			t.Errorf("NextAttempt(%d) = %v, want %v", attempt, got, w)
		}
	}
	if _, err := NewSender(Config{BaseDelay: time.Hour, MaxDelay: time.Minute}); err == nil {
		t.Error("max below base: want error")
	}
	if _, err := NewSender(Config{Timeout: -1}); err == nil {
		t.Error("negative timeout: want error")
	}
}

// received is what the test receiver saw.
type received struct {
	header http.Header
	body   []byte
	err    error // Verify's verdict
}

func TestDeliver(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	got := make(chan received, 1)
	accept := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- received{header: r.Header.Clone(), body: body, err: Verify(secret, body, r.Header.Get(HeaderSignature))}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(accept.Close)
	status := func(code int, h map[string]string) *httptest.Server {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			for k, v := range h {
				w.Header().Set(k, v)
			}
			w.WriteHeader(code)
			io.WriteString(w, "receiver says "+strconv.Itoa(code))
		}))
		t.Cleanup(srv.Close)
		return srv
	}
	// slow never answers; it returns when the sender gives up and hangs up
	// (the server sees that only once the body is read) or, at the latest,
	// when the test ends.
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(release) }) // runs before slow.Close
	gone := httptest.NewServer(http.NotFoundHandler())
	goneURL := gone.URL
	gone.Close() // connection refused from now on

	s, err := NewSender(Config{Timeout: 200 * time.Millisecond, MaxAttempts: 5, BaseDelay: time.Minute, MaxDelay: time.Hour,
		Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	body, err := sampleEvent(t).Body()
	if err != nil {
		t.Fatal(err)
	}
	d := func(url string, attempt int) Delivery {
		return Delivery{EventID: "ev1", URL: url, Secret: secret, Body: body, Attempt: attempt}
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()

	type want struct {
		done, permanent bool
		retryAfter      time.Duration
		status          int
		errIs           error
		errHas          string
	}
	cases := []struct {
		name string
		ctx  context.Context
		d    Delivery
		want want
	}{
		{"accepted", context.Background(), d(accept.URL, 1), want{done: true, status: 204}},
		{"500 retries with backoff", context.Background(), d(status(500, nil).URL, 3), want{retryAfter: 4 * time.Minute, status: 500, errHas: "receiver says 500"}},
		{"503 honours Retry-After seconds", context.Background(), d(status(503, map[string]string{"Retry-After": "7"}).URL, 1), want{retryAfter: 7 * time.Second, status: 503}},
		{"429 honours Retry-After date", context.Background(),
			d(status(429, map[string]string{"Retry-After": now.Add(90 * time.Second).Format(http.TimeFormat)}).URL, 1), want{retryAfter: 90 * time.Second, status: 429}},
		{"Retry-After is capped", context.Background(), d(status(503, map[string]string{"Retry-After": "999999999"}).URL, 1), want{retryAfter: time.Hour, status: 503}},
		{"408 retries", context.Background(), d(status(408, nil).URL, 1), want{retryAfter: time.Minute, status: 408}},
		{"400 is permanent", context.Background(), d(status(400, nil).URL, 1), want{permanent: true, status: 400, errHas: "HTTP 400: receiver says 400"}},
		{"404 is permanent", context.Background(), d(status(404, nil).URL, 1), want{permanent: true, status: 404}},
		{"redirect is not followed", context.Background(), d(status(302, map[string]string{"Location": accept.URL}).URL, 1), want{permanent: true, status: 302}},
		{"slow receiver times out, retryable", context.Background(), d(slow.URL, 1), want{retryAfter: time.Minute, errIs: context.DeadlineExceeded}},
		{"connection refused, retryable", context.Background(), d(goneURL, 2), want{retryAfter: 2 * time.Minute}},
		{"last attempt is dead-lettered", context.Background(), d(status(502, nil).URL, 5), want{permanent: true, status: 502, errIs: ErrExhausted}},
		{"cancelled ctx does not count", cancelled, d(accept.URL, 5), want{errIs: context.Canceled}},
		{"invalid url", context.Background(), d("ftp://oa.example/x", 1), want{permanent: true, errIs: ErrInvalidDelivery}},
		{"no secret", context.Background(), Delivery{EventID: "e", URL: accept.URL, Body: body, Attempt: 1}, want{permanent: true, errIs: ErrInvalidDelivery}},
		{"attempt 0", context.Background(), d(accept.URL, 0), want{permanent: true, errIs: ErrInvalidDelivery}},
	}
	for _, c := range cases {
		r := s.Deliver(c.ctx, c.d)
		w := c.want
		if r.Done != w.done || r.Permanent != w.permanent || r.RetryAfter != w.retryAfter || r.Status != w.status {
			t.Errorf("%s: result = %+v, want %+v", c.name, r, w)
		}
		if w.done != (r.Err == nil) {
			t.Errorf("%s: err = %v", c.name, r.Err)
		}
		if w.errIs != nil && !errors.Is(r.Err, w.errIs) {
			t.Errorf("%s: err = %v, want %v", c.name, r.Err, w.errIs)
		}
		if w.errHas != "" && (r.Err == nil || !strings.Contains(r.Err.Error(), w.errHas)) {
			t.Errorf("%s: err = %v, want it to mention %q", c.name, r.Err, w.errHas)
		}
		if c.name == "accepted" {
			rec := <-got
			if rec.err != nil {
				t.Errorf("receiver Verify: %v", rec.err)
			}
			if string(rec.body) != string(body) {
				t.Error("body changed in transit")
			}
			h := rec.header
			if h.Get(HeaderEventID) != "ev1" || h.Get(HeaderTimestamp) != strconv.FormatInt(now.Unix(), 10) ||
				h.Get(HeaderAttempt) != "1" || h.Get("Content-Type") != "application/json" {
				t.Errorf("headers = %v", h)
			}
		}
	}
}

func TestRenderNotice(t *testing.T) {
	t.Parallel()
	due := time.Date(2026, 11, 29, 16, 30, 0, 0, time.UTC) // 1405/09/08 20:00 Tehran
	d := NoticeData{Kind: KindEscalated, TrackingCode: "1234567895", Department: "معاونت فنی و عمرانی",
		Recipient: "معاون امور عمرانی", Level: 1, DueAt: due, Summary: "چاله در خیابان", Link: "https://137.example/c/1"}
	fa := RenderNotice("fa", d)
	for _, w := range []string{"1234567895", "۱۴۰۵/۰۹/۰۸ ۲۰:۰۰", "معاون امور عمرانی گرامی", "سطح ارجاع: ۱", "چاله در خیابان", "https://137.example/c/1"} {
		if !strings.Contains(fa.Subject+fa.Body, w) {
			t.Errorf("fa notice lacks %q:\n%s\n%s", w, fa.Subject, fa.Body)
		}
	}
	d.Department = "Technical and Civil Works"
	d.Recipient = ""
	en := RenderNotice("en", d)
	if en.Subject != "137: unanswered case 1234567895 escalated" || !strings.Contains(en.Body, "1405/09/08 20:00 (2026-11-29 20:00)") ||
		strings.HasPrefix(en.Body, "Dear") {
		t.Errorf("en notice:\n%s\n%s", en.Subject, en.Body)
	}
	ar := RenderNotice("ar", NoticeData{Kind: KindClosed, TrackingCode: "1234567895", Department: "x", DueAt: due, Outcome: "تم الحل"})
	if !strings.Contains(ar.Subject, "إغلاق") || strings.Contains(ar.Body, "موعد") || !strings.Contains(ar.Body, "تم الحل") {
		t.Errorf("ar close notice:\n%s\n%s", ar.Subject, ar.Body)
	}
	if ur := RenderNotice("ur", d); ur.Subject != RenderNotice("fa", d).Subject {
		t.Error("unknown language should fall back to Persian")
	}
	for _, k := range []Kind{KindAssigned, KindEscalated, KindReminder, KindClosed} {
		for _, lang := range []string{"fa", "en", "ar"} {
			n := RenderNotice(lang, NoticeData{Kind: k, TrackingCode: "1234567895", Department: "d", DueAt: due})
			if !strings.Contains(n.Subject, "1234567895") || !strings.Contains(n.Body, "1234567895") || strings.Contains(n.Subject+n.Body, "%!") {
				t.Errorf("%s/%s: %q %q", k, lang, n.Subject, n.Body)
			}
		}
	}
}

func FuzzVerify(f *testing.F) {
	body := []byte(`{"event_id":"x"}`)
	good := Sign(secret, body)
	for _, h := range []string{good, "", "sha256=", "sha256=zz", "=", ",,,", "sha256=" + strings.Repeat("0", 64) + "," + good,
		"SHA256=" + strings.ToUpper(good[7:]), "sha1=abc, sha256=abc", strings.Repeat("a", 2000)} {
		f.Add(h, body)
	}
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		err := Verify(secret, body, header)
		if err == nil && !strings.Contains(strings.ToLower(header), Sign(secret, body)[7:]) {
			t.Fatalf("accepted %q without the right signature", header)
		}
		if err := Verify(secret, body, Sign(secret, body)); err != nil {
			t.Fatalf("own signature rejected: %v", err)
		}
	})
}

func BenchmarkSignVerify1KiB(b *testing.B) {
	body := []byte(strings.Repeat("x", 1024))
	for b.Loop() {
		if err := Verify(secret, body, Sign(secret, body)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDeliverLoopback(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	s, _ := NewSender(Config{})
	body, _ := sampleEvent(b).Body()
	d := Delivery{EventID: "ev", URL: srv.URL, Secret: secret, Body: body, Attempt: 1}
	for b.Loop() {
		if r := s.Deliver(context.Background(), d); !r.Done {
			b.Fatal(r.Err)
		}
	}
}

func TestRenderSMS(t *testing.T) {
	t.Parallel()
	due := time.Date(2026, 11, 29, 16, 30, 0, 0, time.UTC) // 1405/09/08 20:00 Tehran
	d := NoticeData{Kind: KindEscalated, TrackingCode: "1234567895", Department: "معاونت فنی و عمرانی",
		Recipient: "معاون امور عمرانی", Level: 1, DueAt: due, Summary: strings.Repeat("چاله در خیابان ", 40)}
	fa := RenderSMS("fa", d)
	for _, w := range []string{"1234567895", "معاونت فنی و عمرانی", "۱۴۰۵/۰۹/۰۸ ۲۰:۰۰"} {
		if !strings.Contains(fa, w) {
			t.Errorf("fa text lacks %q: %s", w, fa)
		}
	}
	// Short: no greeting, no summary; two SMS parts at most.
	if strings.Contains(fa, "چاله") || strings.Contains(fa, "گرامی") || utf8.RuneCountInString(fa) > 134 {
		t.Errorf("fa text is not short (%d runes): %s", utf8.RuneCountInString(fa), fa)
	}
	if closed := RenderSMS("en", NoticeData{Kind: KindClosed, TrackingCode: "1234567895", DueAt: due}); closed != "137: case 1234567895 closed" {
		t.Errorf("en close text: %q", closed)
	}
	if RenderSMS("ur", d) != fa {
		t.Error("unknown language should fall back to Persian")
	}
}

func TestEventFor(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 16, 30, 0, 0, time.UTC)
	c := cases.Case{TrackingCode: trackingCode(t), ServiceCode: "asphalt", Department: "civil_works", District: "d01",
		EscalationLevel: 1, DueAt: now.Add(24 * time.Hour), Description: strings.Repeat("چاله ", 1000)}
	e, err := EventFor(KindEscalated, c, "deputy", now, Link{Rel: "case", Href: "https://137.example/c/1"})
	if err != nil {
		t.Fatal(err)
	}
	if e.Level != 1 || e.LevelName != "deputy" || !e.DueAt.Equal(c.DueAt) || e.District != "d01" || len(e.ID) != 32 ||
		len(e.Summary) > MaxSummaryBytes || !utf8.ValidString(e.Summary) || len(e.Links) != 1 {
		t.Errorf("event = %+v", e)
	}
	c.Outcome = "answered"
	if e, err := EventFor(KindClosed, c, "", now); err != nil || !e.DueAt.IsZero() || e.Outcome != "answered" {
		t.Errorf("closed = %+v, %v", e, err)
	}
	c.Department = ""
	if _, err := EventFor(KindAssigned, c, "", now); err == nil {
		t.Error("case without department: want error")
	}
}
