package webform

import (
	"github.com/dargah137/dargah/channels/phone"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dargah137/dargah/cases"
)

func FuzzNormalizePhone(f *testing.F) {
	for _, s := range []string{"09121234567", "+98 912 123 4567", "۰۹۱۲۱۲۳۴۵۶۷", "00964771234567", "+", "0098", "98"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := phone.Normalize(s)
		if err != nil {
			return
		}
		if len(got) < 9 || len(got) > 16 || got[0] != '+' || strings.Trim(got[1:], "0123456789") != "" {
			t.Fatalf("phone.Normalize(%q) = %q, not E.164", s, got)
		}
		if again, err := phone.Normalize(got); err != nil || again != got {
			t.Fatalf("not idempotent: %q → %q → %q %v", s, got, again, err)
		}
	})
}

// FuzzOpen311 feeds raw query strings (as a form body would arrive) to both
// Open311 parsers.
func FuzzOpen311(f *testing.F) {
	for _, s := range []string{
		"api_key=k&service_code=lighting&lat=36.3&long=59.6&description=%D8%B3%D9%84%D8%A7%D9%85",
		"service_code=other&address_string=x&phone=0912&email=a@b",
		"service_request_id=1234567890,abc&status=open&start_date=2026-01-01&end_date=2026-02-01T00:00:00Z",
		"lat=NaN&long=Inf&service_code=other", "%zz", "service_code=other&lat=1e400&long=1",
	} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		if p, e := ParseOpen311Post(v, testServices); e == nil {
			if !testServices[p.Input.ServiceCode] || p.Input.Location == nil {
				t.Fatalf("accepted %+v", p.Input)
			}
			if l := p.Input.Location; l.Lat < -90 || l.Lat > 90 || l.Long < -180 || l.Long > 180 {
				t.Fatalf("location %+v", l)
			}
		} else if e.Code != 400 {
			t.Fatalf("code %d", e.Code)
		}
		if q, e := ParseOpen311Query(v, now); e == nil {
			for _, c := range q.TrackingCodes {
				if !cases.ValidTrackingCode(c) {
					t.Fatalf("invalid code %q passed", c)
				}
			}
			if q.Status != "" && q.Status != "open" && q.Status != "closed" {
				t.Fatalf("status %q", q.Status)
			}
		}
	})
}

func FuzzCheckPhoto(f *testing.F) {
	f.Add("image/jpeg", jpegBytes)
	f.Add("", pngBytes)
	f.Add("image/webp", webpBytes)
	f.Add("image/svg+xml", svgBytes)
	f.Fuzz(func(t *testing.T, declared string, data []byte) {
		ct, err := CheckPhoto(declared, data, 4096)
		if err != nil {
			return
		}
		if _, ok := photoTypes[ct]; !ok || len(data) > 4096 {
			t.Fatalf("accepted %q (%d bytes)", ct, len(data))
		}
	})
}

func BenchmarkDecodeMessage(b *testing.B) {
	body := []byte(`{"text":"چراغ برق کوچه ما سه شب است خاموش است","contact":{"phone":"09121234567","name":"زهرا"},"location":{"lat":36.297,"long":59.606,"address":"بلوار وکیل‌آباد"},"service_code":"lighting","language":"fa"}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeMessage(body, testServices); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNormalizePhone(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := phone.Normalize("+۹۸ ۹۱۲ ۱۲۳ ۴۵۶۷"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLimiterAllow(b *testing.B) {
	l := NewLimiter(30, time.Minute, 10000, nil)
	keys := make([]string, 50000)
	for i := range keys {
		keys[i] = "10.0." + itoa(i/256) + "." + itoa(i%256)
	}
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		l.Allow(keys[i%len(keys)])
		i++
	}
}
