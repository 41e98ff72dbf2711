package telegram

import (
	"strings"
	"testing"
)

func TestFindTrackingCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want string
	}{
		{"1234567890", "1234567890"},
		{"۱۲۳۴۵۶۷۸۹۰", "1234567890"},
		{"١٢٣٤٥٦٧٨٩٠", "1234567890"},
		{"کد پیگیری: ۱۲۳ ۴۵۶ ۷۸۹۰ لطفاً", "1234567890"},
		{"123-456-7890", "1234567890"},
		{"1234567891", ""},  // wrong check digit
		{"12345678901", ""}, // 11 digits is a phone, not a code
		{"09121234567", ""},
		{"no digits", ""},
		{"", ""},
	}
	for _, tc := range tests {
		got, ok := findTrackingCode(tc.in)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("findTrackingCode(%q) = %q, %v; want %q", tc.in, got, ok, tc.want)
		}
	}
}

func TestNormalizePhone(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"989121234567", "+989121234567"},
		{"+989121234567", "+989121234567"},
		{"+98 912 123 4567", "+989121234567"},
		{"09121234567", "+989121234567"},
		{"۰۹۱۲۱۲۳۴۵۶۷", "+989121234567"},
		{"00989121234567", "+989121234567"},
		{"+1 (202) 555-0100", "+12025550100"},
		{"12", ""},
		{"0123456", ""},
		{"98912abc", ""},
		{"+98+912", ""},
		{"", ""},
	}
	for _, tc := range tests {
		got, err := normalizePhone(tc.in)
		if got != tc.want || (err == nil) != (tc.want != "") {
			t.Errorf("normalizePhone(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestParseRateData(t *testing.T) {
	t.Parallel()
	if code, n, ok := parseRateData(rateData("1234567890", 4)); !ok || code != "1234567890" || n != 4 {
		t.Fatalf("round trip: %q %d %v", code, n, ok)
	}
	for _, bad := range []string{"rate:1234567890:0", "rate:1234567890:6", "rate:1234567891:3", "rate:1234567890:", "rated", "rate:1234567890:33", "x"} {
		if _, _, ok := parseRateData(bad); ok {
			t.Errorf("parseRateData(%q) accepted", bad)
		}
	}
}

func TestDecodeUpdate(t *testing.T) {
	t.Parallel()
	u, err := decodeUpdate(strings.NewReader(`{"update_id":7,"message":{"message_id":1,"date":1,"chat":{"id":5,"type":"private"},"from":{"id":5,"is_bot":false,"first_name":"a"},"text":"سلام"}}`))
	if err != nil || u.UpdateID != 7 || u.Message.Text != "سلام" {
		t.Fatalf("decode: %+v %v", u, err)
	}
	for _, bad := range []string{``, `{}`, `{"update_id":0}`, `[1]`, `{"update_id":"x"}`} {
		if _, err := decodeUpdate(strings.NewReader(bad)); err == nil {
			t.Errorf("decodeUpdate(%q) accepted", bad)
		}
	}
}

func FuzzFindTrackingCode(f *testing.F) {
	for _, s := range []string{"1234567890", "۱۲۳ ۴۵۶ ۷۸۹۰", "x1234567890y", "12345678901", "--1-2-3", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		code, ok := findTrackingCode(s)
		if ok && len(code) != 10 {
			t.Fatalf("code %q from %q", code, s)
		}
	})
}

func FuzzNormalizePhone(f *testing.F) {
	for _, s := range []string{"+989121234567", "09121234567", "۰۹۱۲", "00 98 (912) 123-4567", "+"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := normalizePhone(s)
		if err != nil {
			return
		}
		if p[0] != '+' || len(p) < 9 || len(p) > 16 || p[1] == '0' {
			t.Fatalf("normalizePhone(%q) = %q", s, p)
		}
		for _, r := range p[1:] {
			if r < '0' || r > '9' {
				t.Fatalf("normalizePhone(%q) = %q", s, p)
			}
		}
		if again, err := normalizePhone(p); err != nil || again != p {
			t.Fatalf("not idempotent: %q → %q → %q, %v", s, p, again, err)
		}
	})
}

func FuzzParseRateData(f *testing.F) {
	for _, s := range []string{"rate:1234567890:4", "rate::", "rate:1234567890:9", "rated"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		code, n, ok := parseRateData(s)
		if ok && (n < 1 || n > 5 || rateData(code, n) != s) {
			t.Fatalf("parseRateData(%q) = %q %d", s, code, n)
		}
	})
}

func FuzzDecodeUpdate(f *testing.F) {
	f.Add(`{"update_id":7,"message":{"message_id":1,"date":1,"chat":{"id":5,"type":"private"},"text":"x"}}`)
	f.Add(`{"update_id":8,"callback_query":{"id":"c","from":{"id":1},"data":"rate:1234567890:1"}}`)
	f.Add(`{"update_id":9,"edited_message":null}`)
	f.Fuzz(func(t *testing.T, body string) {
		u, err := decodeUpdate(strings.NewReader(body))
		if err == nil && u.UpdateID <= 0 {
			t.Fatalf("accepted update without id: %q", body)
		}
		_ = chatOf(u) // must not panic on any shape
	})
}

func TestClip(t *testing.T) {
	t.Parallel()
	if got := clip("کوتاه"); got != "کوتاه" {
		t.Fatalf("short text changed: %q", got)
	}
	long := strings.Repeat("ب", maxMessageRunes+10)
	if got := []rune(clip(long)); len(got) != maxMessageRunes || got[len(got)-1] != '…' {
		t.Fatalf("clipped to %d runes", len(got))
	}
}
