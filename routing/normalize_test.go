package routing

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestNormalize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"only spaces", " \t\n ", ""},
		{"arabic yeh and kaf", "كوچه ي خياباني", "کوچه ی خیابانی"},
		{"alef maksura", "مصطفى", "مصطفی"},
		{"urdu yeh barree", "کے", "کی"},
		{"teh marbuta", "حديقة", "حدیقه"},
		{"heh with yeh above", "خانۀ ما", "خانه ما"},
		{"heh doachashmee and goal", "ھہ", "هه"},
		{"hamza alef", "أإٱ", "ااا"},
		{"waw hamza", "مسؤول", "مسوول"},
		{"alef madda kept", "آسفالت", "آسفالت"},
		{"decomposed madda composed", "ا\u0653سفالت", "آسفالت"},
		{"decomposed yeh hamza composed", "پاي\u0654ين", "پائین"},
		{"persian digits", "کد ۱۲۳۴۵۶۷۸۹۰", "کد 1234567890"},
		{"arabic-indic digits", "٠١٢٣٤٥٦٧٨٩", "0123456789"},
		{"tatweel", "خیـــابان", "خیابان"},
		{"harakat", "مَدْرَسَةٌ", "مدرسه"},
		{"superscript alef", "رحمٰن", "رحمن"},
		{"shadda and tanwin", "حتماً محلّه", "حتما محله"},
		{"zwnj kept between letters", "می\u200cخواهم", "می\u200cخواهم"},
		{"zwnj repeats collapse", "می\u200c\u200c\u200cخواهم", "می\u200cخواهم"},
		{"zwnj at word start and end", "\u200cچاله\u200c", "چاله"},
		{"zwnj next to space", "چاله \u200c ها", "چاله ها"},
		{"zwnj before space", "چاله\u200c ها", "چاله ها"},
		{"zwnj after space", "چاله \u200cها", "چاله ها"},
		{"zwnj before digit", "خط\u200c12", "خط12"},
		{"zero width space as zwnj", "پیاده\u200bرو", "پیاده\u200cرو"},
		{"direction marks removed", "\u200fسلام\u200e \u202bخیابان\u202c", "سلام خیابان"},
		{"zwj and bom removed", "\ufeffچا\u200dله", "چاله"},
		{"whitespace collapsed", "  خیابان \t\n\r  چاله   داره  ", "خیابان چاله داره"},
		{"nbsp and ideographic space", "a\u00a0b\u3000c", "a b c"},
		{"latin lowercased", "Pothole ON Main STREET", "pothole on main street"},
		{"fullwidth latin folded", "ＡＢＣ１２", "abc12"},
		{"presentation forms folded", "ﻛﻮﭼﻪ ﻻ", "کوچه لا"},
		{"control chars dropped", "a\x00b\x07c", "abc"},
		{"invalid utf8 replaced", "a\xffb", "a\ufffdb"},
		{"mixed persian sentence", "خيابانِ ما چالۀ بزرگي داره!!", "خیابان ما چاله بزرگی داره!!"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Normalize(tt.in)
			if got != tt.want {
				t.Errorf("Normalize(%+q) = %+q, want %+q", tt.in, got, tt.want)
			}
			if again := Normalize(got); again != got {
				t.Errorf("not idempotent: Normalize(%+q) = %+q", got, again)
			}
		})
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{
		"", "خيابانِ ما چالۀ بزرگي داره", "می\u200c\u200cخواهم", "\u200c \u200c", "ا\u0653", "ا\u200c\u0653",
		"ی\u0654", "ﷲ ﷺ ﱞ ﹰ", "ＡＢＣ", "a\xff\xfeb", "İstanbul ǅ ẞ", "e\u200e\u0301", "۱۲۳-۴۵۶ ٧٨٩",
		"\ufdfd", "\ufd3e\ufd3f", "\t\n\u0085\u2028", "A\u0301\u0654",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Normalize(s)
		if !utf8.ValidString(got) {
			t.Fatalf("Normalize(%+q) = %+q is not valid UTF-8", s, got)
		}
		if again := Normalize(got); again != got {
			t.Fatalf("not idempotent: Normalize(%+q) = %+q, again %+q", s, got, again)
		}
		if strings.TrimSpace(got) != got || strings.Contains(got, "  ") {
			t.Fatalf("Normalize(%+q) = %+q: untrimmed or uncollapsed spaces", s, got)
		}
		if strings.HasPrefix(got, "\u200c") || strings.HasSuffix(got, "\u200c") || strings.Contains(got, "\u200c\u200c") {
			t.Fatalf("Normalize(%+q) = %+q: stray ZWNJ", s, got)
		}
	})
}

func TestDetectLanguage(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"", "fa"},
		{"1234567890", "fa"},
		{"خیابان ما چاله بزرگی داره", "fa"},
		{"سلام، چراغ کوچه خاموشه", "fa"},
		{"پارک", "fa"},
		{"زباله", "fa"}, // no telling letters: default
		{"الشارع فيه حفرة كبيرة", "ar"},
		{"أين مكتب المفقودات في الحرم؟", "ar"},
		{"متى يفتح المكتب", "ar"},
		{"من اين نذهب", "fa"},        // Arabic without Arabic-only letters reads as the default
		{"خيابان ما خراب است", "fa"}, // Persian on an Arabic keyboard
		{"میں حرم کا راستہ پوچھنا چاہتا ہوں", "ur"},
		{"سڑک پر بڑا گڑھا ہے", "ur"},
		{"There is a pothole on our street", "en"},
		{"Where can I park near the shrine? حرم", "en"},
		{"لامپ LED خیابان خاموشه", "fa"},
		{"چاله street", "en"},
	}
	for _, tt := range tests {
		if got := DetectLanguage(tt.in); got != tt.want {
			t.Errorf("DetectLanguage(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// The hand-written fast paths must agree with package unicode.
func TestWordRuneFastPaths(t *testing.T) {
	t.Parallel()
	for r := rune(0); r < 0x10000; r++ {
		if isWordRune(r) != (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			t.Errorf("isWordRune(%U) disagrees with package unicode", r)
		}
		if r >= 0x0600 && r <= 0x06ff && isArabicLetter(r) != unicode.IsLetter(r) {
			t.Errorf("isArabicLetter(%U) disagrees with package unicode", r)
		}
	}
}

func BenchmarkNormalize(b *testing.B) {
	const text = "سلام، خيابانِ ما چالۀ بزرگي داره و آسفالتش از ۳ ماه پیش خراب شده؛ لطفاً رسیدگی کنید."
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		Normalize(text)
	}
}
