package routing

import (
	"slices"
	"strings"
	"testing"

	"github.com/dargah137/dargah/cases"
)

func TestKeywordMatching(t *testing.T) {
	t.Parallel()
	tests := []struct {
		keyword, text string
		want          bool
	}{
		{"راه", "راه بسته است", true},
		{"راه", "همراه من", false}, // not at a word start
		{"چاله", "چاله‌های زیادی", true},
		{"چاله", "چالههای زیادی", true}, // suffix without ZWNJ
		{"پیاده‌رو", "پیاده رو خراب", true},
		{"پیاده رو", "پیاده‌رو خراب", true},
		{"=پارک", "پارک ملت", true},
		{"=پارک", "پارکینگ حرم", false},
		{"=پارک", "پارک‌ها", true},
		{"حفرة", "في الشارع حفرة", true},
		{"اسفلت", "الاسفلت مكسور", true}, // after the Arabic article
		{"اسفلت", "بالاسفلت", false},
		{"street light", "The Street  Light is out", true},
		{"lamp", "lamppost", true},
		{"=dark", "darker", false},
		{"137", "ساعت کار ۱۳۷", true},
		{"137", "1137", false},
		{"آسفالت", "(آسفالت)", true},
	}
	for _, tt := range tests {
		data := strings.Replace(minimalRules, "keywords: [چاله, آسفالت]", "keywords: [\""+tt.keyword+"\"]", 1)
		r, err := ParseRules("kw.yaml", []byte(data))
		if err != nil {
			t.Fatal(err)
		}
		f := r.match.find(matchForm(Normalize(tt.text)))
		if got := f.any(r.services[0].keywords); got != tt.want {
			t.Errorf("keyword %q in %q: %v, want %v", tt.keyword, tt.text, got, tt.want)
		}
	}
}

func TestFindCodes(t *testing.T) {
	t.Parallel()
	valid, err := cases.NewTrackingCode()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		text string
		want []string
	}{
		{"", nil},
		{valid, []string{valid}},
		{"کد " + valid[:5] + " " + valid[5:] + " است", []string{valid}},
		{valid[:3] + "-" + valid[3:6] + "-" + valid[6:], []string{valid}},
		{"09151234567", nil},    // a phone number is not cut up
		{"0923456781", nil},     // never starts with 0 (national ids do)
		{"12345678901234", nil}, // too long
		{"123  4567890", nil},   // two spaces: two numbers
		{"پلاک 12 و 1234567891", []string{"1234567891"}},
		{"0915 123 4567", nil}, // 11 digits in groups
		{"1234567891 و 9876543210", []string{"1234567891", "9876543210"}},
	}
	for _, tt := range tests {
		var got []string
		for _, c := range findCodes(tt.text) {
			got = append(got, c.code)
			if c.valid != cases.ValidTrackingCode(c.code) {
				t.Errorf("%q: %s valid=%v", tt.text, c.code, c.valid)
			}
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("findCodes(%q) = %v, want %v", tt.text, got, tt.want)
		}
	}
}

// FuzzRoute checks that no text breaks the matching: codes found are 10
// digits inside the text, and classification names a known service.
func FuzzRoute(f *testing.F) {
	for _, s := range []string{"", "خیابان چاله داره", "کد 123 456-7890", "1-2-3-4-5-6-7-8-9-0", "ال", "الال", "=پارک", "۱۲۳۴۵۶۷۸۹۰"} {
		f.Add(s)
	}
	r, err := LoadRules("../configs/routing.yaml")
	if err != nil {
		f.Fatal(err)
	}
	router := New(r, nil, Options{})
	f.Fuzz(func(t *testing.T, s string) {
		tx := matchForm(Normalize(s))
		for _, c := range findCodes(tx) {
			if len(c.code) != cases.TrackingCodeLen || c.start < 0 || c.end > len(tx) || c.start >= c.end {
				t.Fatalf("findCodes(%q) gave %+v", tx, c)
			}
		}
		found := r.match.find(tx)
		if _, ok := r.Service(router.classify(found)); !ok {
			t.Fatalf("classified %q into an unknown service", s)
		}
		_ = DetectLanguage(s)
	})
}
