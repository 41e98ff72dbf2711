package sms

import (
	"net/url"
	"testing"
)

// FuzzWebhookBody feeds webhook bodies of any shape through parsing and
// field extraction: nothing may panic, and whatever is accepted is UTF-8.
func FuzzWebhookBody(f *testing.F) {
	for _, s := range []struct{ ct, body string }{
		{"application/json", `{"from":"09121234567","to":"137","message":"سلام","messageid":12,"date":1764230400}`},
		{"application/json", `[{"from":"+989121234567","message":"x","messageid":"a"}]`},
		{"application/json", `{"data":{"from":"0912","message":["a"]}}`},
		{"application/x-www-form-urlencoded", "from=09121234567&message=%D8%B3%D9%84%D8%A7%D9%85&messageid=9"},
		{"text/plain", "from=%zz"},
		{"application/json", `{"from":1e999}`},
		{"", ""},
	} {
		f.Add(s.ct, []byte(s.body))
	}
	fields := Fields{From: "from", To: "to", Text: "message", ID: "messageid", Timestamp: "date"}
	dotted := Fields{From: "data.from", Text: "data.message.0", ID: "data.id"}
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		recs, err := parseBody("POST", url.Values{"messageid": {"q"}}, ct, "", body)
		if err != nil {
			return
		}
		for _, rec := range recs {
			for _, fl := range []Fields{fields, dotted} {
				in, err := readIncoming(rec, fl)
				if err != nil {
					continue
				}
				if in.From == "" || len(in.ID) > 128 {
					t.Fatalf("accepted %+v", in)
				}
				_, _ = NormalizePhone(in.From)
				_ = asciiDigits(in.Text)
			}
		}
	})
}

// FuzzNormalizePhone: any sender address gives E.164 or ErrPhone.
func FuzzNormalizePhone(f *testing.F) {
	for _, s := range []string{"09121234567", "+98 912 123 4567", "۰۹۱۲۱۲۳۴۵۶۷", "00964770", "MCI", "+", "98"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := NormalizePhone(s)
		if err != nil {
			return
		}
		if len(got) < 9 || len(got) > 16 || got[0] != '+' || got[1] == '0' {
			t.Fatalf("NormalizePhone(%q) = %q", s, got)
		}
		for _, r := range got[1:] {
			if r < '0' || r > '9' {
				t.Fatalf("NormalizePhone(%q) = %q", s, got)
			}
		}
		if again, err := NormalizePhone(got); err != nil || again != got {
			t.Fatalf("not idempotent: %q → %q → %q %v", s, got, again, err)
		}
	})
}
